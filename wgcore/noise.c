/* noise.c - Noise_IKpsk2 handshake (whitepaper 5.4.2 - 5.4.5).
 *
 * The message layout and the order of the MixHash / MixKey steps are the
 * protocol; everything else (validation, wiping, constant-time compares)
 * follows the kernel implementation's behaviour.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sodium.h>

#include "wgcore/noise.h"
#include "wgcore/hash.h"

static uint8_t handshake_init_chaining_key[WG_HASH_LEN];
static uint8_t handshake_init_hash[WG_HASH_LEN];
static pthread_once_t noise_once = PTHREAD_ONCE_INIT;

static void noise_init_once(void)
{
    if (sodium_init() < 0)
        abort();
    wg_hash2(handshake_init_chaining_key, WG_CONSTRUCTION, strlen(WG_CONSTRUCTION), NULL, 0);
    wg_hash2(handshake_init_hash, handshake_init_chaining_key, WG_HASH_LEN,
             WG_IDENTIFIER, strlen(WG_IDENTIFIER));
}

void wg_noise_init(void)
{
    pthread_once(&noise_once, noise_init_once);
}

void wg_noise_public_from_private(uint8_t pub[32], const uint8_t priv[32])
{
    wg_noise_init();
    crypto_scalarmult_base(pub, priv);
}

/* DH that refuses all-zero results (low-order points): libsodium's
 * crypto_scalarmult returns -1 for those. */
static bool dh(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32])
{
    if (crypto_scalarmult(out, priv, pub) != 0) {
        sodium_memzero(out, 32);
        return false;
    }
    return true;
}

static void mix_hash(uint8_t hash[WG_HASH_LEN], const void *src, size_t len)
{
    wg_hash2(hash, hash, WG_HASH_LEN, src, len);
}

/* ck, key = KDF2(ck, dh) */
static bool mix_dh(uint8_t ck[WG_HASH_LEN], uint8_t key[WG_SYMMETRIC_KEY_LEN],
                   const uint8_t priv[32], const uint8_t pub[32])
{
    uint8_t shared[32];

    if (!dh(shared, priv, pub))
        return false;
    wg_kdf(ck, key, NULL, ck, shared, 32);
    sodium_memzero(shared, sizeof(shared));
    return true;
}

static bool mix_precomputed_dh(uint8_t ck[WG_HASH_LEN], uint8_t key[WG_SYMMETRIC_KEY_LEN],
                               const uint8_t precomputed[32])
{
    if (sodium_is_zero(precomputed, 32))
        return false;
    wg_kdf(ck, key, NULL, ck, precomputed, 32);
    return true;
}

static void mix_psk(uint8_t ck[WG_HASH_LEN], uint8_t hash[WG_HASH_LEN],
                    uint8_t key[WG_SYMMETRIC_KEY_LEN], const uint8_t psk[32])
{
    uint8_t tau[WG_HASH_LEN];

    wg_kdf(ck, tau, key, ck, psk, 32);
    mix_hash(hash, tau, WG_HASH_LEN);
    sodium_memzero(tau, sizeof(tau));
}

/* Handshake AEAD: ChaCha20-Poly1305 with a zero nonce (each key is used
 * once) and the running hash as associated data; the ciphertext is then
 * mixed into the hash. */
static void seal_and_hash(uint8_t *dst, const uint8_t *src, size_t len,
                          const uint8_t key[32], uint8_t hash[WG_HASH_LEN])
{
    static const uint8_t nonce[12];

    crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, src, len, hash, WG_HASH_LEN,
                                              NULL, nonce, key);
    mix_hash(hash, dst, len + WG_AUTHTAG_LEN);
}

static bool open_and_hash(uint8_t *dst, const uint8_t *src, size_t len,
                          const uint8_t key[32], uint8_t hash[WG_HASH_LEN])
{
    static const uint8_t nonce[12];

    if (crypto_aead_chacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, hash,
                                                  WG_HASH_LEN, nonce, key) != 0)
        return false;
    mix_hash(hash, src, len);
    return true;
}

/* ck = KDF1(ck, e); h = HASH(h || e) */
static void message_ephemeral(uint8_t ck[WG_HASH_LEN], uint8_t hash[WG_HASH_LEN],
                              const uint8_t ephemeral_pub[32])
{
    wg_kdf(ck, NULL, NULL, ck, ephemeral_pub, 32);
    mix_hash(hash, ephemeral_pub, 32);
}

/* A fresh ephemeral key pair for a message we send, mixed in as above. */
static void create_ephemeral(uint8_t e_priv[32], uint8_t e_pub[32],
                             uint8_t ck[WG_HASH_LEN], uint8_t hash[WG_HASH_LEN])
{
    randombytes_buf(e_priv, 32);
    crypto_scalarmult_base(e_pub, e_priv);
    message_ephemeral(ck, hash, e_pub);
}

/* The end of both messages we send: a new sender index (the old one is
 * unlinked first, so nothing still addressed to it can match), and the
 * transcript kept for the reply or for deriving the session keys. */
static void handshake_commit(struct wg_handshake *hs, struct wg_index_table *t,
                             void *sender_index, const uint8_t e_priv[32],
                             const uint8_t ck[WG_HASH_LEN], const uint8_t hash[WG_HASH_LEN],
                             enum wg_handshake_state state)
{
    wg_index_remove(t, &hs->entry);
    wg_index_insert(t, &hs->entry);
    wg_put_le32(sender_index, hs->entry.index);

    memcpy(hs->ephemeral_private, e_priv, 32);
    memcpy(hs->chaining_key, ck, WG_HASH_LEN);
    memcpy(hs->hash, hash, WG_HASH_LEN);
    hs->state = state;
}

void wg_noise_precompute_static_static(struct wg_handshake *hs,
                                       const struct wg_static_identity *id)
{
    if (!id || !id->has_identity ||
        !dh(hs->precomputed_static_static, id->private_key, hs->remote_static))
        sodium_memzero(hs->precomputed_static_static, 32);
}

void wg_noise_handshake_init(struct wg_handshake *hs, struct wg_peer *peer,
                             const uint8_t remote_static[32], const uint8_t psk[32],
                             const struct wg_static_identity *id)
{
    wg_noise_init();
    memset(hs, 0, sizeof(*hs));
    hs->entry.type = WG_INDEX_HANDSHAKE;
    hs->entry.peer = peer;
    memcpy(hs->remote_static, remote_static, 32);
    if (psk)
        memcpy(hs->preshared_key, psk, 32);
    wg_noise_precompute_static_static(hs, id);
}

void wg_noise_handshake_clear(struct wg_handshake *hs, struct wg_index_table *t)
{
    wg_index_remove(t, &hs->entry);
    hs->state = WG_HS_ZEROED;
    sodium_memzero(hs->ephemeral_private, sizeof(hs->ephemeral_private));
    sodium_memzero(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
    sodium_memzero(hs->hash, sizeof(hs->hash));
    sodium_memzero(hs->chaining_key, sizeof(hs->chaining_key));
    hs->remote_index = 0;
}

void wg_noise_handshake_wipe(struct wg_handshake *hs, struct wg_index_table *t)
{
    wg_noise_handshake_clear(hs, t);
    sodium_memzero(hs->precomputed_static_static, sizeof(hs->precomputed_static_static));
    sodium_memzero(hs->preshared_key, sizeof(hs->preshared_key));
}

bool wg_noise_create_initiation(struct wg_msg_initiation *dst, struct wg_handshake *hs,
                                const struct wg_static_identity *id, struct wg_index_table *t,
                                const uint8_t timestamp[WG_TIMESTAMP_LEN])
{
    uint8_t ck[WG_HASH_LEN], h[WG_HASH_LEN], key[32], e_priv[32];
    bool ok = false;

    wg_noise_init();
    if (!id->has_identity || sodium_is_zero(hs->precomputed_static_static, 32))
        return false;

    memcpy(ck, handshake_init_chaining_key, WG_HASH_LEN);
    memcpy(h, handshake_init_hash, WG_HASH_LEN);
    mix_hash(h, hs->remote_static, 32);

    memset(dst, 0, sizeof(*dst));
    dst->header.type = 0;
    wg_put_le32(&dst->header.type, WG_MSG_INITIATION);

    /* e */
    create_ephemeral(e_priv, dst->unencrypted_ephemeral, ck, h);

    /* es */
    if (!mix_dh(ck, key, e_priv, hs->remote_static))
        goto out;
    /* s */
    seal_and_hash(dst->encrypted_static, id->public_key, 32, key, h);
    /* ss */
    if (!mix_precomputed_dh(ck, key, hs->precomputed_static_static))
        goto out;
    /* {t} */
    seal_and_hash(dst->encrypted_timestamp, timestamp, WG_TIMESTAMP_LEN, key, h);

    handshake_commit(hs, t, &dst->sender_index, e_priv, ck, h, WG_HS_CREATED_INITIATION);
    ok = true;
out:
    sodium_memzero(ck, sizeof(ck));
    sodium_memzero(h, sizeof(h));
    sodium_memzero(key, sizeof(key));
    sodium_memzero(e_priv, sizeof(e_priv));
    return ok;
}

bool wg_noise_consume_initiation_1(const struct wg_msg_initiation *src,
                                   const struct wg_static_identity *id,
                                   struct wg_noise_initiation_tmp *tmp)
{
    uint8_t key[32];
    bool ok = false;

    wg_noise_init();
    if (!id->has_identity)
        return false;
    memcpy(tmp->chaining_key, handshake_init_chaining_key, WG_HASH_LEN);
    memcpy(tmp->hash, handshake_init_hash, WG_HASH_LEN);
    mix_hash(tmp->hash, id->public_key, 32);

    /* e */
    memcpy(tmp->remote_ephemeral, src->unencrypted_ephemeral, 32);
    message_ephemeral(tmp->chaining_key, tmp->hash, tmp->remote_ephemeral);
    /* es */
    if (!mix_dh(tmp->chaining_key, key, id->private_key, tmp->remote_ephemeral))
        goto out;
    /* s */
    if (!open_and_hash(tmp->remote_static, src->encrypted_static,
                       sizeof(src->encrypted_static), key, tmp->hash))
        goto out;
    ok = true;
out:
    sodium_memzero(key, sizeof(key));
    if (!ok)
        sodium_memzero(tmp, sizeof(*tmp));
    return ok;
}

bool wg_noise_consume_initiation_2(const struct wg_msg_initiation *src, struct wg_handshake *hs,
                                   struct wg_noise_initiation_tmp *tmp, uint64_t now)
{
    uint8_t key[32], t[WG_TIMESTAMP_LEN];
    bool ok = false, replay, flood;

    /* ss */
    if (!mix_precomputed_dh(tmp->chaining_key, key, hs->precomputed_static_static))
        goto out;
    /* {t} */
    if (!open_and_hash(t, src->encrypted_timestamp, sizeof(src->encrypted_timestamp),
                       key, tmp->hash))
        goto out;

    /* A replayed initiation carries an old timestamp; the timestamp is
     * public ordering data, so memcmp is fine here. */
    replay = memcmp(t, hs->latest_timestamp, WG_TIMESTAMP_LEN) <= 0;
    flood = hs->has_consumed_initiation &&
            now < hs->last_initiation_consumption + WG_NSEC_PER_SEC / WG_INITIATIONS_PER_SECOND;
    if (replay || flood)
        goto out;

    memcpy(hs->remote_ephemeral, tmp->remote_ephemeral, 32);
    memcpy(hs->latest_timestamp, t, WG_TIMESTAMP_LEN);
    memcpy(hs->hash, tmp->hash, WG_HASH_LEN);
    memcpy(hs->chaining_key, tmp->chaining_key, WG_HASH_LEN);
    hs->remote_index = wg_le32(&src->sender_index);
    hs->last_initiation_consumption = now;
    hs->has_consumed_initiation = true;
    hs->state = WG_HS_CONSUMED_INITIATION;
    ok = true;
out:
    sodium_memzero(key, sizeof(key));
    sodium_memzero(tmp, sizeof(*tmp));
    return ok;
}

bool wg_noise_create_response(struct wg_msg_response *dst, struct wg_handshake *hs,
                              struct wg_index_table *t)
{
    uint8_t ck[WG_HASH_LEN], h[WG_HASH_LEN], key[32], e_priv[32];
    bool ok = false;

    if (hs->state != WG_HS_CONSUMED_INITIATION)
        return false;
    memcpy(ck, hs->chaining_key, WG_HASH_LEN);
    memcpy(h, hs->hash, WG_HASH_LEN);

    memset(dst, 0, sizeof(*dst));
    wg_put_le32(&dst->header.type, WG_MSG_RESPONSE);
    wg_put_le32(&dst->receiver_index, hs->remote_index);

    /* e */
    create_ephemeral(e_priv, dst->unencrypted_ephemeral, ck, h);
    /* ee */
    if (!mix_dh(ck, NULL, e_priv, hs->remote_ephemeral))
        goto out;
    /* se */
    if (!mix_dh(ck, NULL, e_priv, hs->remote_static))
        goto out;
    /* psk */
    mix_psk(ck, h, key, hs->preshared_key);
    /* {} */
    seal_and_hash(dst->encrypted_nothing, NULL, 0, key, h);

    handshake_commit(hs, t, &dst->sender_index, e_priv, ck, h, WG_HS_CREATED_RESPONSE);
    ok = true;
out:
    sodium_memzero(ck, sizeof(ck));
    sodium_memzero(h, sizeof(h));
    sodium_memzero(key, sizeof(key));
    sodium_memzero(e_priv, sizeof(e_priv));
    return ok;
}

bool wg_noise_consume_response(const struct wg_msg_response *src, struct wg_handshake *hs,
                               const struct wg_static_identity *id)
{
    uint8_t ck[WG_HASH_LEN], h[WG_HASH_LEN], key[32], e_pub[32];
    bool ok = false;

    if (hs->state != WG_HS_CREATED_INITIATION || !id->has_identity ||
        !hs->entry.linked || hs->entry.index != wg_le32(&src->receiver_index))
        return false;
    memcpy(ck, hs->chaining_key, WG_HASH_LEN);
    memcpy(h, hs->hash, WG_HASH_LEN);
    memcpy(e_pub, src->unencrypted_ephemeral, 32);

    /* e */
    message_ephemeral(ck, h, e_pub);
    /* ee */
    if (!mix_dh(ck, NULL, hs->ephemeral_private, e_pub))
        goto out;
    /* se */
    if (!mix_dh(ck, NULL, id->private_key, e_pub))
        goto out;
    /* psk */
    mix_psk(ck, h, key, hs->preshared_key);
    /* {} */
    if (!open_and_hash(NULL, src->encrypted_nothing, sizeof(src->encrypted_nothing), key, h))
        goto out;

    memcpy(hs->remote_ephemeral, e_pub, 32);
    memcpy(hs->chaining_key, ck, WG_HASH_LEN);
    memcpy(hs->hash, h, WG_HASH_LEN);
    hs->remote_index = wg_le32(&src->sender_index);
    hs->state = WG_HS_CONSUMED_RESPONSE;
    ok = true;
out:
    sodium_memzero(ck, sizeof(ck));
    sodium_memzero(h, sizeof(h));
    sodium_memzero(key, sizeof(key));
    return ok;
}

struct wg_keypair *wg_noise_begin_session(struct wg_handshake *hs, struct wg_index_table *t,
                                          uint64_t now)
{
    struct wg_keypair *kp;
    uint8_t first[32], second[32];

    if (hs->state != WG_HS_CREATED_RESPONSE && hs->state != WG_HS_CONSUMED_RESPONSE)
        return NULL;
    kp = wg_keypair_new();
    if (!kp)
        return NULL;
    kp->i_am_initiator = hs->state == WG_HS_CONSUMED_RESPONSE;
    /* (T_send_i, T_recv_i) = KDF2(C, e) */
    wg_kdf(first, second, NULL, hs->chaining_key, NULL, 0);
    if (kp->i_am_initiator) {
        memcpy(kp->send_key, first, 32);
        memcpy(kp->recv_key, second, 32);
    } else {
        memcpy(kp->send_key, second, 32);
        memcpy(kp->recv_key, first, 32);
    }
    sodium_memzero(first, sizeof(first));
    sodium_memzero(second, sizeof(second));
    kp->birthdate = now;
    kp->remote_index = hs->remote_index;
    kp->entry.peer = hs->entry.peer;
    atomic_store(&kp->send_valid, true);
    atomic_store(&kp->recv_valid, true);
    wg_index_replace(t, &hs->entry, &kp->entry);
    wg_noise_handshake_clear(hs, t);
    return kp;
}

void wg_noise_tai64n(uint8_t out[WG_TIMESTAMP_LEN], uint64_t realtime_ns)
{
    /* TAI64 label: 2^62 + seconds, with the 10 s TAI-UTC offset the
     * reference implementations use. */
    uint64_t sec = 0x400000000000000aull + realtime_ns / WG_NSEC_PER_SEC;
    uint32_t nsec = (uint32_t)(realtime_ns % WG_NSEC_PER_SEC);
    /* largest power of two <= 1e9/50 = 20,000,000 is 2^24 */
    nsec &= ~((1u << 24) - 1);
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(sec >> (56 - 8 * i));
    for (int i = 0; i < 4; i++)
        out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}
