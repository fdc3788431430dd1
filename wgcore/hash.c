/* hash.c - BLAKE2s HASH / MAC / HMAC / HKDF for the handshake. */
#include <string.h>
#include <blake2.h>
#include <sodium.h>

#include "wgcore/hash.h"

void wg_hash2(uint8_t out[WG_BLAKE2S_LEN], const void *a, size_t alen, const void *b, size_t blen)
{
    blake2s_state s;

    blake2s_init(&s, WG_BLAKE2S_LEN);
    blake2s_update(&s, a, alen);
    if (blen)
        blake2s_update(&s, b, blen);
    blake2s_final(&s, out, WG_BLAKE2S_LEN);
    sodium_memzero(&s, sizeof(s));
}

void wg_mac(uint8_t out[16], const uint8_t *key, size_t keylen, const void *in, size_t inlen)
{
    blake2s_state s;

    blake2s_init_key(&s, 16, key, keylen);
    blake2s_update(&s, in, inlen);
    blake2s_final(&s, out, 16);
    sodium_memzero(&s, sizeof(s));
}

void wg_hmac(uint8_t out[WG_BLAKE2S_LEN], const uint8_t *key, size_t keylen,
             const void *in, size_t inlen)
{
    uint8_t x_key[WG_BLAKE2S_BLOCK] = { 0 };
    uint8_t i_hash[WG_BLAKE2S_LEN];
    blake2s_state s;
    size_t i;

    /* Keys longer than a block are hashed first (RFC 2104); WireGuard only
     * ever uses 32-byte keys, but stay correct for any length. */
    if (keylen > WG_BLAKE2S_BLOCK) {
        wg_hash2(x_key, key, keylen, NULL, 0);
    } else {
        memcpy(x_key, key, keylen);
    }

    for (i = 0; i < WG_BLAKE2S_BLOCK; i++)
        x_key[i] ^= 0x36;
    blake2s_init(&s, WG_BLAKE2S_LEN);
    blake2s_update(&s, x_key, WG_BLAKE2S_BLOCK);
    blake2s_update(&s, in, inlen);
    blake2s_final(&s, i_hash, WG_BLAKE2S_LEN);

    for (i = 0; i < WG_BLAKE2S_BLOCK; i++)
        x_key[i] ^= 0x36 ^ 0x5c;
    blake2s_init(&s, WG_BLAKE2S_LEN);
    blake2s_update(&s, x_key, WG_BLAKE2S_BLOCK);
    blake2s_update(&s, i_hash, WG_BLAKE2S_LEN);
    blake2s_final(&s, out, WG_BLAKE2S_LEN);

    sodium_memzero(x_key, sizeof(x_key));
    sodium_memzero(i_hash, sizeof(i_hash));
    sodium_memzero(&s, sizeof(s));
}

void wg_kdf(uint8_t *a, uint8_t *b, uint8_t *c, const uint8_t key[WG_BLAKE2S_LEN],
            const void *in, size_t inlen)
{
    uint8_t secret[WG_BLAKE2S_LEN];
    uint8_t out[WG_BLAKE2S_LEN + 1];

    wg_hmac(secret, key, WG_BLAKE2S_LEN, in, inlen);

    out[0] = 1;
    wg_hmac(out, secret, WG_BLAKE2S_LEN, out, 1);
    if (a)
        memcpy(a, out, WG_BLAKE2S_LEN);
    if (b || c) {
        out[WG_BLAKE2S_LEN] = 2;
        wg_hmac(out, secret, WG_BLAKE2S_LEN, out, WG_BLAKE2S_LEN + 1);
        if (b)
            memcpy(b, out, WG_BLAKE2S_LEN);
    }
    if (c) {
        out[WG_BLAKE2S_LEN] = 3;
        wg_hmac(out, secret, WG_BLAKE2S_LEN, out, WG_BLAKE2S_LEN + 1);
        memcpy(c, out, WG_BLAKE2S_LEN);
    }
    sodium_memzero(secret, sizeof(secret));
    sodium_memzero(out, sizeof(out));
}
