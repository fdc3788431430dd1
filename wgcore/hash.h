/* hash.h - the symmetric primitives of the Noise handshake on BLAKE2s
 * (libb2): HASH, MAC (keyed BLAKE2s-128), HMAC-BLAKE2s and the HKDF
 * KDF1..KDF3 of the whitepaper (section 5.4).
 */
#ifndef WGVSOCK_HASH_H
#define WGVSOCK_HASH_H

#include <stddef.h>
#include <stdint.h>

#define WG_BLAKE2S_LEN 32u
#define WG_BLAKE2S_BLOCK 64u

/* out = BLAKE2s-256(a || b); b may be NULL with blen 0. */
void wg_hash2(uint8_t out[WG_BLAKE2S_LEN], const void *a, size_t alen, const void *b, size_t blen);
/* out = keyed BLAKE2s-128 (key 1..32 bytes) of in: the whitepaper's MAC. */
void wg_mac(uint8_t out[16], const uint8_t *key, size_t keylen, const void *in, size_t inlen);
/* HMAC-BLAKE2s-256 (RFC 2104 over BLAKE2s, block 64). */
void wg_hmac(uint8_t out[WG_BLAKE2S_LEN], const uint8_t *key, size_t keylen,
             const void *in, size_t inlen);
/* HKDF (whitepaper KDF_n): t0 = HMAC(key, in), t_i = HMAC(t0, t_{i-1} || i).
 * Writes n of the outputs (a, then b, then c), n = number of non-NULL. */
void wg_kdf(uint8_t *a, uint8_t *b, uint8_t *c, const uint8_t key[WG_BLAKE2S_LEN],
            const void *in, size_t inlen);

#endif
