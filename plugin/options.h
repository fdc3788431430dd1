/* options.h - a wgvsock network's configuration, parsed and validated from
 * Docker's CreateNetwork request.
 *
 * Everything a later CreateEndpoint or Join needs is decided here, so that a
 * wrong option fails `docker network create` with a clear message instead of
 * failing every `docker run` later.  The seed itself is not decoded here
 * beyond validation: it is read again (from the option, a file, or the
 * plugin's WGVSOCK_SEED_FILE) each time a key is derived, and wiped after.
 */
#ifndef WGVSOCK_PLUGIN_OPTIONS_H
#define WGVSOCK_PLUGIN_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "keyderive/keyderive.h"
#include "plugin/attest_opts.h"
#include "plugin/error.h"
#include "plugin/seed_fp.h"
#include "plugin/tunnel.h"        /* enum tunnel_engine */
#include "wgcore/wgcore.h"
#include "wgcore/tun.h"          /* WG_TUN_MTU_MAX */

#define NET_ALLOWED_IPS_MAX 64
#define NET_DEFAULT_KEEPALIVE 25
#define NET_MTU_MIN 576                 /* IPv4 minimum; 1280 with IPv6 */
/* The engine's maximum: above it wg_device_create() refuses the MTU, and a
 * network accepting it would fail every Join instead of its create. */
#define NET_MTU_MAX WG_TUN_MTU_MAX
#define NET_SEED_B64_MAX 5600           /* base64 of KD_SECRET_MAX bytes + slack */
#define NET_PATH_MAX 4096
#define NET_ADDR_TEXT_MAX 64            /* "ffff:...:ffff/128" fits */

enum net_seed_source {
    NET_SEED_PLUGIN = 0,   /* the plugin's WGVSOCK_SEED_FILE (recommended) */
    NET_SEED_OPTION,       /* wgvsock.seed / io.bestov.wg.seed */
    NET_SEED_FILE,         /* wgvsock.seed-file */
};

#define NET_POOLS_MAX 16                      /* subnets per network (--subnet ...) */

struct net_config {
    enum wg_transport_kind transport;
    enum tunnel_engine engine_opt;            /* wgvsock.engine as given */
    enum tunnel_engine engine;                /* resolved at CreateNetwork (engine.c) */
    struct wg_sockaddr peer;
    char peer_text[WG_SOCKADDR_STR_MAX];      /* as the operator wrote it */
    uint8_t peer_key[KD_KEY_LEN];
    enum net_seed_source seed_source;
    char seed_b64[NET_SEED_B64_MAX];          /* NET_SEED_OPTION only; secret */
    char seed_file[NET_PATH_MAX];             /* NET_SEED_FILE only */
    char additional_b64[NET_SEED_B64_MAX];    /* default KD_DEFAULT_ADDITIONAL_B64 */
    uint16_t keepalive;                       /* seconds, 0 = off */
    unsigned mtu;
    /* wgvsock.stream-crc: stream framing with (default) or without the
     * CRC-32 of wireguard-go-vsock <= v0.2.3.  Unset, the plugin's
     * WGVSOCK_STREAM_CRC decides at each Join (struct plugin). */
    bool stream_crc_set;
    bool stream_no_crc;                       /* valid if stream_crc_set */
    bool allowed_ips_set;                     /* given explicitly */
    size_t n_allowed_ips;
    struct wg_allowedip allowed_ips[NET_ALLOWED_IPS_MAX];
    bool internal;                            /* docker network create --internal */
    bool ipv6;                                /* --ipv6 */
    char pool4[NET_ADDR_TEXT_MAX];            /* IPv4Data[0].Pool, CIDR */
    char gateway4[NET_ADDR_TEXT_MAX];         /* without prefix; "" if none */
    char pool6[NET_ADDR_TEXT_MAX];            /* "" if none */
    char gateway6[NET_ADDR_TEXT_MAX];
    size_t n_pools;                           /* every IPv4Data/IPv6Data Pool */
    struct wg_allowedip pools[NET_POOLS_MAX];
    struct net_attest attest;                 /* wgvsock.attest*: an attested, provisioned hub */
    /* wgvsock.seed-fingerprint (seed_fp.h): set by AllocateNetwork in a
     * swarm; every read of the seed must match it. */
    bool seed_fp_set;
    uint8_t seed_fp[SEED_FP_LEN];
};

/* Fills *cfg from a CreateNetwork request object (its "Options", "IPv4Data"
 * and "IPv6Data").  plugin_seed_file is the plugin's WGVSOCK_SEED_FILE (NULL
 * or "" if unset).  With check_seed, the seed must be available and valid
 * now (CreateNetwork); without it (reloading saved state) a missing seed
 * file is not an error yet.  0, or -1 with a message for a person in err
 * (never containing a secret). */
int net_config_parse(struct net_config *cfg, const json_t *request,
                     const char *plugin_seed_file, bool check_seed,
                     char err[NET_ERR_MAX]);

/* An endpoint's address (Docker's "A.B.C.D/len" or IPv6 text, prefix
 * ignored) must lie in one of the network's subnets of its family.  0, or -1
 * with a message in err. */
int net_check_endpoint_address(const struct net_config *cfg, const char *addr,
                               char err[NET_ERR_MAX]);

/* The network's seed and additional, decoded.  0, or -1 with err set.
 * The caller wipes both with kd_secret_wipe(). */
int net_config_secrets(const struct net_config *cfg, const char *plugin_seed_file,
                       struct kd_secret *seed, struct kd_secret *additional,
                       char err[NET_ERR_MAX]);

/* The same, in one heap block (each secret can be kilobytes: not for the
 * stack of a request thread).  NULL with err set; free with
 * net_secrets_free(), which wipes. */
struct net_secrets {
    struct kd_secret seed, additional;
};
struct net_secrets *net_secrets_load(const struct net_config *cfg, const char *plugin_seed_file,
                                     char err[NET_ERR_MAX]);
void net_secrets_free(struct net_secrets *s);

/* Reads and decodes a base64 seed file (at most 16 KiB, whitespace around
 * the base64 allowed).  0, or -1 with err naming the file (not the content). */
int net_read_seed_file(const char *path, struct kd_secret *seed, char err[NET_ERR_MAX]);

/* Parses "CIDR[,CIDR...]" into out (at most max).  0 or -1 with err set. */
int net_parse_allowed_ips(const char *text, struct wg_allowedip *out, size_t max,
                          size_t *n, char err[NET_ERR_MAX]);

/* "auto", "wgcore", "kernel"; and back (-1 if unknown). */
const char *net_engine_name(enum tunnel_engine e);
int net_engine_from_name(const char *name);

/* The network options and what they mean, for --help: the same table that
 * drives net_config_parse() and its "unknown option" message. */
void net_options_help(FILE *f);

/* Wipes the secrets a config may hold. */
void net_config_wipe(struct net_config *cfg);

#endif
