/* cookie.c - mac1/mac2 and the cookie reply mechanism. */
#include <errno.h>
#include <string.h>
#include <sodium.h>

#include "wgcore/cookie.h"
#include "wgcore/hash.h"

/* key = HASH(label || public key) */
static void precompute_key(uint8_t key[32], const uint8_t pub[32], const char label[8])
{
    wg_hash2(key, label, 8, pub, 32);
}

void wg_cookie_checker_init(struct wg_cookie_checker *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
}

void wg_cookie_checker_destroy(struct wg_cookie_checker *c)
{
    pthread_mutex_destroy(&c->lock);
    sodium_memzero(c, sizeof(*c));
}

void wg_cookie_checker_set_key(struct wg_cookie_checker *c, const uint8_t *public_key)
{
    if (public_key) {
        precompute_key(c->message_mac1_key, public_key, WG_LABEL_MAC1);
        precompute_key(c->message_cookie_key, public_key, WG_LABEL_COOKIE);
        c->has_keys = true;
    } else {
        sodium_memzero(c->message_mac1_key, 32);
        sodium_memzero(c->message_cookie_key, 32);
        c->has_keys = false;
    }
}

/* The bytes of the source that a cookie binds to: address then port, as
 * they sit in the sockaddr (network order); a vsock source is CID + port. */
static size_t source_bytes(uint8_t out[24], const struct wg_sockaddr *src)
{
    switch (src->addr.sa.sa_family) {
    case AF_INET:
        memcpy(out, &src->addr.in.sin_addr, 4);
        memcpy(out + 4, &src->addr.in.sin_port, 2);
        return 6;
    case AF_INET6:
        memcpy(out, &src->addr.in6.sin6_addr, 16);
        memcpy(out + 16, &src->addr.in6.sin6_port, 2);
        return 18;
    case AF_VSOCK:
        memcpy(out, &src->addr.vm.svm_cid, 4);
        memcpy(out + 4, &src->addr.vm.svm_port, 4);
        return 8;
    default:
        return 0;
    }
}

/* cookie = MAC(secret, source); the secret is regenerated when older than
 * COOKIE_SECRET_MAX_AGE, so a cookie lives at most two minutes. */
static void make_cookie(uint8_t cookie[WG_COOKIE_LEN], struct wg_cookie_checker *c,
                        const struct wg_sockaddr *src, uint64_t now)
{
    uint8_t sb[24];
    size_t n = source_bytes(sb, src);

    pthread_mutex_lock(&c->lock);
    if (!c->has_secret || now >= c->secret_birthdate + WG_COOKIE_SECRET_MAX_AGE) {
        randombytes_buf(c->secret, sizeof(c->secret));
        c->secret_birthdate = now;
        c->has_secret = true;
    }
    wg_mac(cookie, c->secret, sizeof(c->secret), sb, n);
    pthread_mutex_unlock(&c->lock);
}

enum wg_cookie_mac_state wg_cookie_validate(struct wg_cookie_checker *c, const uint8_t *msg,
                                            size_t len, const struct wg_sockaddr *src,
                                            bool check_cookie, uint64_t now)
{
    uint8_t computed[WG_COOKIE_LEN], cookie[WG_COOKIE_LEN];
    enum wg_cookie_mac_state ret = WG_COOKIE_INVALID_MAC;

    if (!c->has_keys || len < sizeof(struct wg_msg_macs))
        return WG_COOKIE_INVALID_MAC;
    wg_mac(computed, c->message_mac1_key, 32, msg, WG_MSG_MAC1_OFF(len));
    if (sodium_memcmp(computed, msg + WG_MSG_MAC1_OFF(len), WG_COOKIE_LEN) != 0)
        goto out;
    ret = WG_COOKIE_VALID_MAC_NO_COOKIE;
    if (!check_cookie)
        goto out;
    make_cookie(cookie, c, src, now);
    wg_mac(computed, cookie, WG_COOKIE_LEN, msg, WG_MSG_MAC2_OFF(len));
    if (sodium_memcmp(computed, msg + WG_MSG_MAC2_OFF(len), WG_COOKIE_LEN) == 0)
        ret = WG_COOKIE_VALID_MAC_WITH_COOKIE;
out:
    sodium_memzero(cookie, sizeof(cookie));
    sodium_memzero(computed, sizeof(computed));
    return ret;
}

void wg_cookie_reply_create(struct wg_msg_cookie *dst, struct wg_cookie_checker *c,
                            const uint8_t *msg, size_t len, uint32_t sender_index,
                            const struct wg_sockaddr *src, uint64_t now)
{
    uint8_t cookie[WG_COOKIE_LEN];

    memset(dst, 0, sizeof(*dst));
    wg_put_le32(&dst->header.type, WG_MSG_COOKIE);
    wg_put_le32(&dst->receiver_index, sender_index);
    randombytes_buf(dst->nonce, sizeof(dst->nonce));
    make_cookie(cookie, c, src, now);
    /* The associated data is the mac1 of the message we answer, so only its
     * sender (who knows that mac1) can use the cookie. */
    crypto_aead_xchacha20poly1305_ietf_encrypt(dst->encrypted_cookie, NULL, cookie,
                                               WG_COOKIE_LEN, msg + WG_MSG_MAC1_OFF(len),
                                               WG_COOKIE_LEN, NULL, dst->nonce,
                                               c->message_cookie_key);
    sodium_memzero(cookie, sizeof(cookie));
}

void wg_cookie_maker_init(struct wg_cookie_maker *m, const uint8_t remote_public[32])
{
    memset(m, 0, sizeof(*m));
    precompute_key(m->message_mac1_key, remote_public, WG_LABEL_MAC1);
    precompute_key(m->cookie_decryption_key, remote_public, WG_LABEL_COOKIE);
}

void wg_cookie_add_macs(struct wg_cookie_maker *m, uint8_t *msg, size_t len, uint64_t now)
{
    uint8_t *mac1 = msg + WG_MSG_MAC1_OFF(len);
    uint8_t *mac2 = msg + WG_MSG_MAC2_OFF(len);

    wg_mac(mac1, m->message_mac1_key, 32, msg, WG_MSG_MAC1_OFF(len));
    memcpy(m->last_mac1_sent, mac1, WG_COOKIE_LEN);
    m->have_sent_mac1 = true;

    /* Use the cookie only while the responder surely still accepts it. */
    if (m->is_valid &&
        now < m->cookie_birthdate + WG_COOKIE_SECRET_MAX_AGE - WG_COOKIE_SECRET_LATENCY)
        wg_mac(mac2, m->cookie, WG_COOKIE_LEN, msg, WG_MSG_MAC2_OFF(len));
    else
        memset(mac2, 0, WG_COOKIE_LEN);
}

int wg_cookie_consume_reply(struct wg_cookie_maker *m, const struct wg_msg_cookie *src,
                            uint64_t now)
{
    uint8_t cookie[WG_COOKIE_LEN];

    if (!m->have_sent_mac1)
        return -EINVAL;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL, src->encrypted_cookie,
                                                   sizeof(src->encrypted_cookie),
                                                   m->last_mac1_sent, WG_COOKIE_LEN,
                                                   src->nonce, m->cookie_decryption_key) != 0)
        return -EINVAL;
    memcpy(m->cookie, cookie, WG_COOKIE_LEN);
    m->cookie_birthdate = now;
    m->is_valid = true;
    m->have_sent_mac1 = false;
    sodium_memzero(cookie, sizeof(cookie));
    return 0;
}
