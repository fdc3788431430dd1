/* attest_opts.h - a network's attestation options (docs/OPTIONS.md,
 * docs/PROVISIONING.md):
 *
 *   wgvsock.attest=nitro|test|none   provision and attest the hub (off if unset)
 *   wgvsock.attest-root=PATH         trusted root PEM (default: the pinned AWS root)
 *   wgvsock.attest-pcr0..8=HEX       expected PCR values
 *   wgvsock.provision-port=N         default: the hub's WireGuard port + 1
 *
 * Parsed apart from options.c so that the attested-hub code has one file
 * to read. */
#ifndef WGVSOCK_PLUGIN_ATTEST_OPTS_H
#define WGVSOCK_PLUGIN_ATTEST_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "plugin/error.h"

#define NET_ATTEST_PCRS     9         /* wgvsock.attest-pcr0 .. 8 */
#define NET_ATTEST_PCR_MAX  64
#define NET_ATTEST_PATH_MAX 4096

enum net_attest_mode {
    NET_ATTEST_OFF = 0,      /* no provisioning: wgvsock.peerkey and keyderive peers */
    NET_ATTEST_NONE,         /* provisioning without attestation (development only) */
    NET_ATTEST_TEST,         /* documents from a test CA (wgvsock-attest test-ca) */
    NET_ATTEST_NITRO,        /* AWS Nitro Enclaves */
};

struct net_attest {
    enum net_attest_mode mode;
    char root[NET_ATTEST_PATH_MAX];          /* "" = the pinned AWS root */
    uint8_t pcr[NET_ATTEST_PCRS][NET_ATTEST_PCR_MAX];
    uint8_t pcr_len[NET_ATTEST_PCRS];        /* 0 = not checked */
    uint16_t provision_port;                 /* 0 = WireGuard port + 1 */
    bool peerkey_given;                      /* wgvsock.peerkey given: must match */
};

/* Whether an option name belongs here (for options.c's unknown-option check). */
bool net_attest_is_option(const char *name);
/* Parse the options above from the generic options object.  0, or -1 with
 * a message for a person in err. */
int net_attest_parse(struct net_attest *a, const json_t *generic, char err[NET_ERR_MAX]);

#endif
