/* hub.h - `wgvsockd --provision`: the hub's side of provisioning.  A thread
 * serves the provisioning port (WireGuard port + 1 by default); each
 * connection carries one signed offer, which is checked, applied
 * atomically to the device (tunnel address, MTU, the whole peer set) and
 * answered with the hub's WireGuard public key and an attestation document
 * over (nonce, that key, SHA-256 of the offer). */
#ifndef WGVSOCK_PROVISION_HUB_H
#define WGVSOCK_PROVISION_HUB_H

#include <stdbool.h>
#include <stdint.h>

#include "provision/proto.h"
#include "wgcore/wgcore.h"

enum prov_attester { PROV_ATTEST_NONE, PROV_ATTEST_TEST, PROV_ATTEST_NITRO };

struct attest_signer;

struct prov_hub_params {
    uint16_t wg_port;                        /* the WireGuard listen port */
    uint16_t port;                           /* provisioning port (0: wg_port + 1) */
    bool vsock;                              /* AF_VSOCK listener, else TCP */
    uint8_t provisioner_key[PROV_PUBKEY_LEN];
    enum prov_attester attester;
    struct attest_signer *signer;            /* PROV_ATTEST_TEST; owned by the hub once started */
};

/* "nitro", "none" or "test:CHAIN_PEM:KEY_PEM" -> params.  0 or -errno
 * with *why for the operator. */
int prov_hub_parse_attest(const char *spec, struct prov_hub_params *p, const char **why);

struct prov_hub;
/* Give the device a fresh private key (it never leaves this process) and
 * the WireGuard port, open the provisioning listener, start the thread.
 * 0 or -errno (*why says which step). */
int prov_hub_start(struct wg_device *dev, struct prov_hub_params *p, struct prov_hub **out,
                   const char **why);
void prov_hub_stop(struct prov_hub *hub);

#endif
