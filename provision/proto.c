/* proto.c - encode and parse provisioning messages (see proto.h and
 * docs/PROVISIONING.md).  An offer's signature is checked before a byte of
 * its body is interpreted; every count is checked against both the bound
 * and the bytes actually present. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "provision/proto.h"
#include "wgcore/tun.h"

static const uint8_t magic[4] = { 'W', 'G', 'V', 'P' };

static void put_u16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static void put_u32(uint8_t *p, uint32_t v) { put_u16(p, v >> 16); put_u16(p + 2, (uint16_t)v); }
static void put_u64(uint8_t *p, uint64_t v) { put_u32(p, v >> 32); put_u32(p + 4, (uint32_t)v); }
static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get_u32(const uint8_t *p) { return (uint32_t)get_u16(p) << 16 | get_u16(p + 2); }
static uint64_t get_u64(const uint8_t *p) { return (uint64_t)get_u32(p) << 32 | get_u32(p + 4); }

static void put_header(uint8_t *p, uint8_t type, size_t body_len)
{
    memcpy(p, magic, 4);
    p[4] = PROV_VERSION;
    p[5] = type;
    put_u16(p + 6, 0);
    put_u32(p + 8, (uint32_t)body_len);
}

int prov_header_parse(const uint8_t hdr[PROV_HDR_LEN], uint8_t *type, size_t *body_len)
{
    if (memcmp(hdr, magic, 4) != 0 || hdr[4] != PROV_VERSION || get_u16(hdr + 6) != 0)
        return -EBADMSG;
    *type = hdr[5];
    *body_len = get_u32(hdr + 8);
    size_t max = *type == PROV_TYPE_OFFER ? PROV_OFFER_MAX :
                 *type == PROV_TYPE_ANSWER ? PROV_ANSWER_MAX : 0;
    if (!max)
        return -EBADMSG;
    return *body_len <= max - PROV_HDR_LEN ? 0 : -EMSGSIZE;
}

/* Address on the wire: family 4|6, prefix, 16 bytes (IPv4 in the first 4,
 * the rest zero).  Host bits beyond the prefix are allowed for the hub's
 * own address (10.0.0.1/24), so `exact` asks for a host route (/32, /128). */
static void put_addr(uint8_t *p, const struct wg_allowedip *a)
{
    memset(p, 0, PROV_ADDR_LEN);
    p[0] = a->family == AF_INET ? 4 : 6;
    p[1] = a->cidr;
    memcpy(p + 2, a->ip, a->family == AF_INET ? 4 : 16);
}

static int get_addr(const uint8_t *p, struct wg_allowedip *a, bool host_only)
{
    static const uint8_t zero[12];
    memset(a, 0, sizeof(*a));
    if (p[0] == 4 && p[1] <= 32 && memcmp(p + 6, zero, 12) == 0) {
        a->family = AF_INET;
        memcpy(a->ip, p + 2, 4);
    } else if (p[0] == 6 && p[1] <= 128) {
        a->family = AF_INET6;
        memcpy(a->ip, p + 2, 16);
    } else {
        return -EBADMSG;
    }
    a->cidr = p[1];
    if (host_only && a->cidr != (a->family == AF_INET ? 32 : 128))
        return -EBADMSG;
    return 0;
}

static bool addr_ok(const struct wg_allowedip *a)
{
    return (a->family == AF_INET && a->cidr <= 32) || (a->family == AF_INET6 && a->cidr <= 128);
}

int prov_offer_encode(const struct prov_offer *o, const uint8_t sk[PROV_SECKEY_LEN],
                      uint8_t **out, size_t *out_len)
{
    if (o->n_peers > PROV_MAX_PEERS || !addr_ok(&o->hub_address))
        return -EINVAL;
    size_t body = PROV_OFFER_FIXED + o->n_peers * PROV_PEER_LEN + PROV_SIG_LEN;
    size_t len = PROV_HDR_LEN + body;
    uint8_t *m = calloc(1, len), *p;
    if (!m)
        return -ENOMEM;
    put_header(m, PROV_TYPE_OFFER, body);
    p = m + PROV_HDR_LEN;
    put_u64(p, o->serial);
    memcpy(p + 8, o->nonce, PROV_NONCE_LEN);
    put_u16(p + 40, o->mtu);
    put_addr(p + 42, &o->hub_address);
    put_u16(p + 60, (uint16_t)o->n_peers);
    p += PROV_OFFER_FIXED;
    for (size_t i = 0; i < o->n_peers; i++, p += PROV_PEER_LEN) {
        if (!addr_ok(&o->peers[i].ip)) {
            free(m);
            return -EINVAL;
        }
        memcpy(p, o->peers[i].public_key, WG_KEY_LEN);
        put_addr(p + WG_KEY_LEN, &o->peers[i].ip);
    }
    crypto_sign_detached(p, NULL, m, len - PROV_SIG_LEN, sk);
    *out = m;
    *out_len = len;
    return 0;
}

int prov_offer_parse(const uint8_t *msg, size_t len, const uint8_t pk[PROV_PUBKEY_LEN],
                     struct prov_offer *o, const char **why)
{
    uint8_t type;
    size_t body;
    int rc;

    memset(o, 0, sizeof(*o));
    *why = "offer larger than the bound";
    if (len > PROV_OFFER_MAX)
        return -EMSGSIZE;
    *why = "not a version-1 offer";
    if (len < PROV_HDR_LEN + PROV_OFFER_FIXED + PROV_SIG_LEN)
        return -EBADMSG;
    if ((rc = prov_header_parse(msg, &type, &body)) < 0)
        return rc;
    if (type != PROV_TYPE_OFFER || body != len - PROV_HDR_LEN)
        return -EBADMSG;
    *why = "offer not signed by the provisioning key";
    if (crypto_sign_verify_detached(msg + len - PROV_SIG_LEN, msg, len - PROV_SIG_LEN, pk) != 0)
        return -EPERM;

    const uint8_t *p = msg + PROV_HDR_LEN;
    o->serial = get_u64(p);
    memcpy(o->nonce, p + 8, PROV_NONCE_LEN);
    o->mtu = get_u16(p + 40);
    size_t n = get_u16(p + 60);
    *why = "offer MTU out of range";
    if (o->mtu < WG_TUN_MTU_MIN || o->mtu > WG_TUN_MTU_MAX)
        return -EBADMSG;
    *why = "offer hub address malformed";
    if (get_addr(p + 42, &o->hub_address, false) < 0)
        return -EBADMSG;
    *why = "offer peer count does not match its length or exceeds 1024";
    if (n > PROV_MAX_PEERS || body != PROV_OFFER_FIXED + n * PROV_PEER_LEN + PROV_SIG_LEN)
        return -EBADMSG;
    if (n && !(o->peers = calloc(n, sizeof(*o->peers))))
        return -ENOMEM;
    p += PROV_OFFER_FIXED;
    for (size_t i = 0; i < n; i++, p += PROV_PEER_LEN) {
        memcpy(o->peers[i].public_key, p, WG_KEY_LEN);
        *why = "offer peer address is not a host address";
        if (get_addr(p + WG_KEY_LEN, &o->peers[i].ip, true) < 0)
            goto bad;
        *why = "offer names a peer key twice";
        for (size_t j = 0; j < i; j++)
            if (memcmp(o->peers[j].public_key, o->peers[i].public_key, WG_KEY_LEN) == 0)
                goto bad;
    }
    o->n_peers = n;
    return 0;
bad:
    prov_offer_free(o);
    return -EBADMSG;
}

void prov_offer_free(struct prov_offer *o)
{
    free(o->peers);
    memset(o, 0, sizeof(*o));
}

int prov_answer_encode(const struct prov_answer *a, uint8_t **out, size_t *out_len)
{
    size_t msg_len = strnlen(a->message, PROV_MESSAGE_MAX);
    if (a->doc_len > PROV_DOC_MAX)
        return -EINVAL;
    size_t body = 2 + WG_KEY_LEN + 2 + a->doc_len + 2 + msg_len;
    uint8_t *m = malloc(PROV_HDR_LEN + body), *p;
    if (!m)
        return -ENOMEM;
    put_header(m, PROV_TYPE_ANSWER, body);
    p = m + PROV_HDR_LEN;
    p[0] = a->status;
    p[1] = 0;
    memcpy(p + 2, a->hub_key, WG_KEY_LEN);
    p += 2 + WG_KEY_LEN;
    put_u16(p, (uint16_t)a->doc_len);
    if (a->doc_len)
        memcpy(p + 2, a->doc, a->doc_len);
    p += 2 + a->doc_len;
    put_u16(p, (uint16_t)msg_len);
    memcpy(p + 2, a->message, msg_len);
    *out = m;
    *out_len = PROV_HDR_LEN + body;
    return 0;
}

int prov_answer_parse(const uint8_t *msg, size_t len, struct prov_answer *a)
{
    uint8_t type;
    size_t body;
    int rc;

    memset(a, 0, sizeof(*a));
    if (len < PROV_HDR_LEN + 2 + WG_KEY_LEN + 4)
        return -EBADMSG;
    if ((rc = prov_header_parse(msg, &type, &body)) < 0)
        return rc;
    if (type != PROV_TYPE_ANSWER || body != len - PROV_HDR_LEN)
        return -EBADMSG;
    const uint8_t *p = msg + PROV_HDR_LEN, *end = msg + len;
    a->status = p[0];
    if (p[1] != 0)
        return -EBADMSG;
    memcpy(a->hub_key, p + 2, WG_KEY_LEN);
    p += 2 + WG_KEY_LEN;
    a->doc_len = get_u16(p);
    p += 2;
    if (a->doc_len > PROV_DOC_MAX || (size_t)(end - p) < a->doc_len + 2)
        return -EBADMSG;
    a->doc = a->doc_len ? p : NULL;
    p += a->doc_len;
    size_t msg_len = get_u16(p);
    p += 2;
    if (msg_len > PROV_MESSAGE_MAX || (size_t)(end - p) != msg_len)
        return -EBADMSG;
    for (size_t i = 0; i < msg_len; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            return -EBADMSG;
    memcpy(a->message, p, msg_len);
    a->message[msg_len] = 0;
    return 0;
}

const char *prov_status_text(uint8_t status)
{
    switch (status) {
    case PROV_OK:            return "ok";
    case PROV_ERR_MALFORMED: return "malformed offer";
    case PROV_ERR_SIGNATURE: return "offer not signed by the hub's provisioning key";
    case PROV_ERR_STALE:     return "stale offer (serial not above the last applied one)";
    case PROV_ERR_APPLY:     return "the hub could not apply the offer";
    case PROV_ERR_ATTEST:    return "the hub could not attest";
    }
    return "unknown status";
}
