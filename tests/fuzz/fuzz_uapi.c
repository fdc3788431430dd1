/* fuzz_uapi.c - libFuzzer target for the wg(8) "set" parser and the "get"
 * formatter (wgcore/uapi.c), the text every local client can send us.
 *
 * Properties beyond "does not crash":
 *   - a rejected body leaves the config all zero (nothing half-parsed can
 *     reach the device), and the error is -EINVAL, -EPROTO or -ENOMEM;
 *   - an accepted config is sane: allowed-ips of a known family, cidr in
 *     range and no host bits set; endpoints of a known family;
 *   - format -> parse round trip: the config, reported as a device would
 *     report it and formatted as a "get" answer, parses back (minus the
 *     read-only counters) to the same keys, endpoints (vsock ones in their
 *     dotted form), keepalives and allowed-ips.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wgcore/uapi.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void check_sane(const struct wg_device_config *cfg)
{
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct wg_peer_config *p = &cfg->peers[i];

        if (p->has_endpoint) {
            int f = p->endpoint.addr.sa.sa_family;

            CHECK(f == AF_INET || f == AF_INET6 || f == AF_VSOCK);
        }
        for (size_t j = 0; j < p->n_allowed_ips; j++) {
            const struct wg_allowedip *a = &p->allowed_ips[j];
            unsigned bits = a->family == AF_INET ? 32 : 128;

            CHECK(a->family == AF_INET || a->family == AF_INET6);
            CHECK(a->cidr <= bits);
            for (unsigned b = a->cidr; b < 128; b++)
                CHECK(!(a->ip[b / 8] & (0x80 >> (b % 8))));
        }
    }
}

/* The get text without the lines a set does not take. */
static char *settable_lines(const char *get, size_t *len)
{
    static const char *const skip[] = {
        "last_handshake_time_sec=", "last_handshake_time_nsec=", "tx_bytes=", "rx_bytes=",
    };
    size_t n = strlen(get);
    char *out = malloc(n + 1), *o = out;
    const char *p = get;

    CHECK(out != NULL);
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) + 1 : strlen(p);
        int keep = 1;

        for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
            if (!strncmp(p, skip[i], strlen(skip[i])))
                keep = 0;
        if (keep) {
            memcpy(o, p, l);
            o += l;
        }
        p += l;
    }
    *o = '\0';
    *len = (size_t)(o - out);
    return out;
}

static void check_roundtrip(const struct wg_device_config *cfg)
{
    struct wg_device_info info = { 0 };
    struct wg_device_config again;
    char *text, *set;
    size_t len, slen;

    info.has_private_key = cfg->has_private_key;
    memcpy(info.private_key, cfg->private_key, WG_KEY_LEN);
    info.listen_port = cfg->listen_port;
    info.fwmark = cfg->fwmark;
    info.n_peers = cfg->n_peers;
    info.peers = calloc(cfg->n_peers + 1, sizeof(*info.peers));
    CHECK(info.peers != NULL);
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct wg_peer_config *c = &cfg->peers[i];
        struct wg_peer_info *p = &info.peers[i];

        memcpy(p->public_key, c->public_key, WG_KEY_LEN);
        p->has_preshared_key = c->has_preshared_key;
        memcpy(p->preshared_key, c->preshared_key, WG_KEY_LEN);
        p->has_endpoint = c->has_endpoint;
        p->endpoint = c->endpoint;
        p->persistent_keepalive = c->persistent_keepalive;
        p->n_allowed_ips = c->n_allowed_ips;
        p->allowed_ips = c->allowed_ips;
    }
    text = wg_uapi_format_get_reserve(&info, 16, &len);
    CHECK(text != NULL);
    CHECK(strlen(text) == len);
    memcpy(text + len, "errno=0\n\n", 10);      /* the reserve is ours */
    text[len] = '\0';
    set = settable_lines(text, &slen);
    CHECK(wg_uapi_parse_set(set, slen, &again) == 0);

    CHECK(again.has_private_key == cfg->has_private_key);
    CHECK(!memcmp(again.private_key, cfg->private_key, WG_KEY_LEN));
    CHECK(again.listen_port == cfg->listen_port);
    CHECK(again.fwmark == cfg->fwmark);
    CHECK(again.n_peers == cfg->n_peers);
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct wg_peer_config *a = &again.peers[i], *c = &cfg->peers[i];
        const struct wg_sockaddr *e = &c->endpoint;

        CHECK(!memcmp(a->public_key, c->public_key, WG_KEY_LEN));
        CHECK(a->has_preshared_key == c->has_preshared_key);
        CHECK(!memcmp(a->preshared_key, c->preshared_key, WG_KEY_LEN));
        CHECK(a->persistent_keepalive == c->persistent_keepalive);
        CHECK(a->n_allowed_ips == c->n_allowed_ips);
        if (c->n_allowed_ips)
            CHECK(!memcmp(a->allowed_ips, c->allowed_ips,
                          c->n_allowed_ips * sizeof(struct wg_allowedip)));
        CHECK(a->has_endpoint == c->has_endpoint);
        if (!c->has_endpoint)
            continue;
        if (e->addr.sa.sa_family == AF_VSOCK) {
            /* Reported dotted: the same CID and port as an IPv4 endpoint. */
            CHECK(a->endpoint.addr.sa.sa_family == AF_INET);
            CHECK(ntohl(a->endpoint.addr.in.sin_addr.s_addr) == e->addr.vm.svm_cid);
            CHECK(ntohs(a->endpoint.addr.in.sin_port) == e->addr.vm.svm_port);
        } else {
            CHECK(wg_sockaddr_equal(&a->endpoint, e));
        }
    }
    wg_uapi_config_free(&again);
    CHECK(all_zero(&again, sizeof(again)));
    free(set);
    free(text);
    free(info.peers);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);   /* libFuzzer calls it */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wg_device_config cfg;
    int err;

    /* Passed with its length, not NUL-terminated, as the socket does. */
    char *buf = malloc(size ? size : 1);

    CHECK(buf != NULL);
    memcpy(buf, data, size);
    err = wg_uapi_parse_set(buf, size, &cfg);
    if (err) {
        CHECK(err == -EINVAL || err == -EPROTO || err == -ENOMEM);
        CHECK(all_zero(&cfg, sizeof(cfg)));
    } else {
        check_sane(&cfg);
        check_roundtrip(&cfg);
        wg_uapi_config_free(&cfg);
        CHECK(all_zero(&cfg, sizeof(cfg)));
    }
    free(buf);
    return 0;
}
