/* client.h - the initiator's side of provisioning (the plugin): send a
 * signed offer to the hub, read its answer, and verify the attestation
 * before the hub's key may be used for anything. */
#ifndef WGVSOCK_PROVISION_CLIENT_H
#define WGVSOCK_PROVISION_CLIENT_H

#include <stddef.h>

#include "attest/attest.h"
#include "provision/proto.h"
#include "wgcore/sockaddr.h"

enum prov_attest_mode { PROV_MODE_NONE, PROV_MODE_TEST, PROV_MODE_NITRO };

struct prov_client_policy {
    enum prov_attest_mode mode;
    const char *root_pem;                       /* NULL: the pinned AWS root */
    uint8_t pcr[ATTEST_PCR_COUNT][ATTEST_PCR_MAX_LEN];
    size_t pcr_len[ATTEST_PCR_COUNT];
};

/* Fill in a fresh nonce, sign and send *offer to hub, check the answer.
 * On 0, hub_key is the hub's WireGuard public key, attested as policy
 * requires.  Otherwise -errno and why names the step or check that failed:
 * "provisioning connect: ...", "hub refused the offer: ...",
 * "attestation failed (pcr check): ...". */
int prov_client_exchange(const struct wg_sockaddr *hub, struct prov_offer *offer,
                         const uint8_t sk[PROV_SECKEY_LEN],
                         const struct prov_client_policy *policy,
                         uint8_t hub_key[WG_KEY_LEN], char *why, size_t why_len);

#endif
