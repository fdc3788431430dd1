/* uapi.c - text of wg(8)'s cross-platform userspace protocol <-> config.
 *
 * A "set" body is parsed completely into a wg_device_config before anything
 * is applied, so a request with one bad line changes nothing (wireguard-go
 * applies line by line and can leave a half-configured device behind).
 * Parsing is one pass over the text with amortised O(1) appends, so a
 * `wg setconf` with tens of thousands of allowed-ips stays linear.
 *
 * Secrets (private and preshared keys) are decoded and encoded without
 * data-dependent branches or table lookups, and wiped from every buffer we
 * own once we are done with them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wgcore/uapi.h"

/* Longest value we accept: an IPv6 endpoint with a scope name and port, or
 * an allowed-ip, fit easily; anything longer is malformed. */
#define VALUE_MAX 127

/* ---- small parsers ---- */

/* One hex digit -> 0..15, or a value with bit 8 set on error.  No branches
 * or lookups on the digit, so a key's text leaks nothing through timing
 * (relies on arithmetic right shifts of negative ints, as gcc and clang do). */
static unsigned hexval_ct(unsigned char ch)
{
    int c = ch;
    int num = c ^ '0';                                  /* 0..9 for '0'..'9' */
    int num_ok = (num - 10) >> 8;                       /* -1 if num < 10 */
    int alpha = (c & ~32) - 55;                         /* 10..15 for A-F/a-f */
    int alpha_ok = ((alpha - 10) ^ (alpha - 16)) >> 8;  /* -1 if 10 <= alpha < 16 */

    return (unsigned)((num_ok & num) | (alpha_ok & alpha)) |
           ((unsigned)~(num_ok | alpha_ok) & 0x100u);
}

static int parse_key(const char *v, size_t len, uint8_t out[WG_KEY_LEN])
{
    unsigned err = 0;
    uint8_t tmp[WG_KEY_LEN];

    if (len != 2 * WG_KEY_LEN)
        return -EINVAL;
    for (size_t i = 0; i < WG_KEY_LEN; i++) {
        unsigned hi = hexval_ct((unsigned char)v[2 * i]);
        unsigned lo = hexval_ct((unsigned char)v[2 * i + 1]);

        err |= (hi | lo) & 0x100;
        tmp[i] = (uint8_t)((hi << 4) | (lo & 0xf));
    }
    if (err) {
        sodium_memzero(tmp, sizeof(tmp));
        return -EINVAL;
    }
    memcpy(out, tmp, WG_KEY_LEN);
    sodium_memzero(tmp, sizeof(tmp));
    return 0;
}

/* Lower-case hex without branches on the key bytes. */
static void key_to_hex(char out[2 * WG_KEY_LEN], const uint8_t key[WG_KEY_LEN])
{
    for (size_t i = 0; i < WG_KEY_LEN; i++) {
        unsigned n[2] = { key[i] >> 4, key[i] & 0xf };

        for (int j = 0; j < 2; j++)
            /* '0'+n for n < 10, 'a'+n-10 otherwise: add 39 when n > 9. */
            out[2 * i + j] = (char)('0' + n[j] + (((9 - n[j]) >> 8) & 39));
    }
}

/* Decimal digits only (no sign, no spaces, leading zeros allowed), <= max. */
static int parse_uint(const char *v, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t n = 0;

    if (len == 0 || len > 20)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned char)v[i] - '0';

        if (d > 9 || n > (UINT64_MAX - d) / 10)
            return -EINVAL;
        n = n * 10 + d;
    }
    if (n > max)
        return -EINVAL;
    *out = n;
    return 0;
}

/* "true" sets the flag; any other value is malformed. */
static int set_true(bool *flag, const char *v, size_t len)
{
    if (len != 4 || memcmp(v, "true", 4))
        return -EINVAL;
    *flag = true;
    return 0;
}

/* A port-sized number (listen_port, persistent_keepalive) and its flag. */
static int set_u16(uint16_t *out, bool *has, const char *v, size_t len)
{
    uint64_t n;

    if (parse_uint(v, len, UINT16_MAX, &n))
        return -EINVAL;
    *has = true;
    *out = (uint16_t)n;
    return 0;
}

/* A key in hex, and the flag saying it was given. */
static int set_key(uint8_t key[WG_KEY_LEN], bool *has, const char *v, size_t len)
{
    if (parse_key(v, len, key))
        return -EINVAL;
    *has = true;
    return 0;
}

/* "a.b.c.d/n" or "x:y::z/n"; host bits are cleared (the kernel stores the
 * network, and wg showconf must print what was meant). */
static int parse_allowedip(const char *v, struct wg_allowedip *out)
{
    char addr[INET6_ADDRSTRLEN];
    const char *slash = strchr(v, '/');
    size_t alen;
    uint64_t cidr;
    unsigned bits;

    if (!slash)
        return -EINVAL;
    alen = (size_t)(slash - v);
    if (alen == 0 || alen >= sizeof(addr))
        return -EINVAL;
    memcpy(addr, v, alen);
    addr[alen] = '\0';
    memset(out, 0, sizeof(*out));
    if (memchr(addr, ':', alen)) {
        if (inet_pton(AF_INET6, addr, out->ip) != 1)
            return -EINVAL;
        out->family = AF_INET6;
        bits = 128;
    } else {
        if (inet_pton(AF_INET, addr, out->ip) != 1)
            return -EINVAL;
        out->family = AF_INET;
        bits = 32;
    }
    if (parse_uint(slash + 1, strlen(slash + 1), bits, &cidr) || strlen(slash + 1) > 3)
        return -EINVAL;
    out->cidr = (uint8_t)cidr;
    for (unsigned i = 0; i < bits / 8; i++) {
        unsigned keep = cidr >= 8 * (i + 1) ? 8 : cidr > 8 * i ? (unsigned)cidr - 8 * i : 0;

        out->ip[i] &= (uint8_t)(0xff00u >> keep);
    }
    return 0;
}

/* ---- growing arrays: capacity is implied by the count (the next power of
 * two >= max(8, n)), so the public structs need no capacity field ---- */

static int grow(void **arr, size_t n, size_t elem)
{
    size_t cap;
    void *p;

    if (n == 0)
        cap = 8;
    else if (n >= 8 && !(n & (n - 1)))
        cap = 2 * n;
    else
        return 0;
    if (cap > SIZE_MAX / elem)
        return -ENOMEM;
    p = realloc(*arr, cap * elem);
    if (!p)
        return -ENOMEM;
    *arr = p;
    return 0;
}

/* ---- set ---- */

enum key_id {
    K_PRIVATE_KEY, K_LISTEN_PORT, K_FWMARK, K_REPLACE_PEERS,
    K_PUBLIC_KEY, K_REMOVE, K_UPDATE_ONLY, K_PRESHARED_KEY, K_ENDPOINT,
    K_PERSISTENT_KEEPALIVE, K_REPLACE_ALLOWED_IPS, K_ALLOWED_IP, K_PROTOCOL_VERSION,
    K_UNKNOWN,
};

static const struct { const char *name; enum key_id id; } keys[] = {
    { "private_key", K_PRIVATE_KEY },
    { "listen_port", K_LISTEN_PORT },
    { "fwmark", K_FWMARK },
    { "replace_peers", K_REPLACE_PEERS },
    { "public_key", K_PUBLIC_KEY },
    { "remove", K_REMOVE },
    { "update_only", K_UPDATE_ONLY },
    { "preshared_key", K_PRESHARED_KEY },
    { "endpoint", K_ENDPOINT },
    { "persistent_keepalive_interval", K_PERSISTENT_KEEPALIVE },
    { "replace_allowed_ips", K_REPLACE_ALLOWED_IPS },
    { "allowed_ip", K_ALLOWED_IP },
    { "protocol_version", K_PROTOCOL_VERSION },
};

static enum key_id lookup_key(const char *k, size_t len)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strlen(keys[i].name) == len && !memcmp(keys[i].name, k, len))
            return keys[i].id;
    return K_UNKNOWN;
}

static int set_device_key(struct wg_device_config *cfg, enum key_id id, const char *v, size_t len)
{
    uint64_t n;

    switch (id) {
    case K_PRIVATE_KEY:
        return set_key(cfg->private_key, &cfg->has_private_key, v, len);
    case K_LISTEN_PORT:
        return set_u16(&cfg->listen_port, &cfg->has_listen_port, v, len);
    case K_FWMARK:
        if (parse_uint(v, len, UINT32_MAX, &n))
            return -EINVAL;
        cfg->has_fwmark = true;
        cfg->fwmark = (uint32_t)n;
        return 0;
    case K_REPLACE_PEERS:
        return set_true(&cfg->replace_peers, v, len);
    default:
        /* A peer key before any public_key: the request is malformed. */
        return -EINVAL;
    }
}

static int set_peer_key(struct wg_peer_config *p, enum key_id id, const char *v, size_t len)
{
    uint64_t n;
    int err;

    switch (id) {
    case K_REMOVE:
        return set_true(&p->remove, v, len);
    case K_UPDATE_ONLY:
        return set_true(&p->update_only, v, len);
    case K_PRESHARED_KEY:
        return set_key(p->preshared_key, &p->has_preshared_key, v, len);
    case K_ENDPOINT:
        /* IP text stays AF_INET here; a vsock device reads it as a CID.
         * The vsock names (host(2):P, vm(N):P) come out as AF_VSOCK. */
        if (wg_sockaddr_parse(&p->endpoint, v, false))
            return -EINVAL;
        p->has_endpoint = true;
        return 0;
    case K_PERSISTENT_KEEPALIVE:
        return set_u16(&p->persistent_keepalive, &p->has_persistent_keepalive, v, len);
    case K_REPLACE_ALLOWED_IPS:
        return set_true(&p->replace_allowed_ips, v, len);
    case K_ALLOWED_IP: {
        struct wg_allowedip a;

        if (parse_allowedip(v, &a))
            return -EINVAL;
        err = grow((void **)&p->allowed_ips, p->n_allowed_ips, sizeof(a));
        if (err)
            return err;
        p->allowed_ips[p->n_allowed_ips++] = a;
        return 0;
    }
    case K_PROTOCOL_VERSION:
        if (parse_uint(v, len, UINT64_MAX, &n))
            return -EINVAL;
        return n == 1 ? 0 : -EPROTO;
    default:
        /* A device key after the first public_key. */
        return -EINVAL;
    }
}

int wg_uapi_parse_set(const char *text, size_t len, struct wg_device_config *cfg)
{
    const char *p = text, *end = text + len;
    char value[VALUE_MAX + 1];
    struct wg_peer_config *peer = NULL;
    int err = 0;

    if (!cfg || (!text && len))
        return -EINVAL;
    memset(cfg, 0, sizeof(*cfg));
    if (len && memchr(text, '\0', len))
        return -EINVAL;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        const char *eq = memchr(p, '=', (size_t)(line_end - p));
        size_t klen, vlen;
        enum key_id id;

        if (line_end == p || !eq || eq == p) {
            err = -EINVAL;       /* empty line, no '=', or no key */
            break;
        }
        klen = (size_t)(eq - p);
        vlen = (size_t)(line_end - eq - 1);
        id = lookup_key(p, klen);
        if (id == K_UNKNOWN) {
            err = -EPROTO;
            break;
        }
        if (vlen > VALUE_MAX) {
            err = -EINVAL;
            break;
        }
        memcpy(value, eq + 1, vlen);
        value[vlen] = '\0';

        if (id == K_PUBLIC_KEY) {
            err = grow((void **)&cfg->peers, cfg->n_peers, sizeof(*peer));
            if (err)
                break;
            peer = &cfg->peers[cfg->n_peers];
            memset(peer, 0, sizeof(*peer));
            cfg->n_peers++;
            err = parse_key(value, vlen, peer->public_key);
        } else if (peer) {
            err = set_peer_key(peer, id, value, vlen);
        } else {
            err = set_device_key(cfg, id, value, vlen);
        }
        if (err)
            break;
        p = nl ? nl + 1 : end;
    }
    sodium_memzero(value, sizeof(value));
    if (err)
        wg_uapi_config_free(cfg);
    return err;
}

void wg_uapi_config_free(struct wg_device_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_peers; i++) {
        free(cfg->peers[i].allowed_ips);
        sodium_memzero(cfg->peers[i].preshared_key, WG_KEY_LEN);
    }
    free(cfg->peers);
    sodium_memzero(cfg, sizeof(*cfg));
}

/* ---- get ---- */

/* Generous upper bounds for one line of each kind. */
#define DEVICE_LINES_MAX 256
#define PEER_LINES_MAX (4 * 80 + 6 * 48 + WG_SOCKADDR_STR_MAX)
#define ALLOWEDIP_LINE_MAX (sizeof("allowed_ip=/128\n") + INET6_ADDRSTRLEN)

struct out {
    char *buf;
    size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
    /* The buffer was sized for the worst case; this never truncates. */
    if (o->len + n < o->cap) {
        memcpy(o->buf + o->len, s, n);
        o->len += n;
    }
}

static void put_key(struct out *o, const char *name, const uint8_t key[WG_KEY_LEN])
{
    char hex[2 * WG_KEY_LEN];

    put(o, name, strlen(name));
    put(o, "=", 1);
    key_to_hex(hex, key);
    put(o, hex, sizeof(hex));
    put(o, "\n", 1);
    sodium_memzero(hex, sizeof(hex));
}

static void put_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(struct out *o, const char *fmt, ...)
{
    char line[160];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof(line))
        put(o, line, (size_t)n);
}

char *wg_uapi_format_get_reserve(const struct wg_device_info *info, size_t reserve, size_t *len_out)
{
    struct out o = { 0 };
    size_t total_ips = 0;

    for (size_t i = 0; i < info->n_peers; i++)
        total_ips += info->peers[i].n_allowed_ips;
    o.cap = DEVICE_LINES_MAX + info->n_peers * PEER_LINES_MAX +
            total_ips * ALLOWEDIP_LINE_MAX + 1;
    o.buf = malloc(o.cap + reserve);
    if (!o.buf)
        return NULL;

    if (info->has_private_key)
        put_key(&o, "private_key", info->private_key);
    if (info->listen_port)
        put_fmt(&o, "listen_port=%u\n", info->listen_port);
    if (info->fwmark)
        put_fmt(&o, "fwmark=%u\n", info->fwmark);
    for (size_t i = 0; i < info->n_peers; i++) {
        const struct wg_peer_info *p = &info->peers[i];

        put_key(&o, "public_key", p->public_key);
        if (p->has_preshared_key)
            put_key(&o, "preshared_key", p->preshared_key);
        put_fmt(&o, "protocol_version=1\n");
        /* A peer that dialled us over vsock from a kernel-chosen port
         * (wireguard-go-vsock does) has a 32-bit port: Debian's wg fails
         * on it (`showconf`) or crashes (`show`).  Such a port is never
         * dialled back anyway, so the endpoint is left out. */
        if (p->has_endpoint && p->endpoint.addr.sa.sa_family != AF_UNSPEC &&
            !(p->endpoint.addr.sa.sa_family == AF_VSOCK && p->endpoint.addr.vm.svm_port > 65535)) {
            char ep[WG_SOCKADDR_STR_MAX];

            wg_sockaddr_format(&p->endpoint, ep);
            put_fmt(&o, "endpoint=%s\n", ep);
        }
        put_fmt(&o, "last_handshake_time_sec=%lld\n", (long long)p->last_handshake.tv_sec);
        put_fmt(&o, "last_handshake_time_nsec=%ld\n", (long)p->last_handshake.tv_nsec);
        put_fmt(&o, "tx_bytes=%llu\n", (unsigned long long)p->tx_bytes);
        put_fmt(&o, "rx_bytes=%llu\n", (unsigned long long)p->rx_bytes);
        put_fmt(&o, "persistent_keepalive_interval=%u\n", p->persistent_keepalive);
        for (size_t j = 0; j < p->n_allowed_ips; j++) {
            const struct wg_allowedip *a = &p->allowed_ips[j];
            char ip[INET6_ADDRSTRLEN];

            if ((a->family != AF_INET && a->family != AF_INET6) ||
                !inet_ntop(a->family, a->ip, ip, sizeof(ip)))
                continue;
            put_fmt(&o, "allowed_ip=%s/%u\n", ip, a->cidr);
        }
    }
    o.buf[o.len] = '\0';
    if (len_out)
        *len_out = o.len;
    return o.buf;
}

char *wg_uapi_format_get(const struct wg_device_info *info)
{
    return wg_uapi_format_get_reserve(info, 0, NULL);
}
