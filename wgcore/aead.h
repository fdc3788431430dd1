/* aead.h - the data-path AEAD: ChaCha20-Poly1305 (IETF, 96-bit nonce =
 * 32 zero bits || 64-bit little-endian counter), as WireGuard transport
 * messages use it, with no associated data.
 *
 * Two implementations: libsodium and OpenSSL EVP.  wg_aead_select() picks
 * one (WGVSOCK_AEAD=sodium|openssl overrides; default the faster one as
 * measured by bench/aead, see docs/BENCHMARKS.md).  Both are thread-safe
 * (OpenSSL contexts are per thread) and allocation-free per packet.
 * In-place operation (dst == src) is supported.
 */
#ifndef WGVSOCK_AEAD_H
#define WGVSOCK_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WG_AEAD_TAG 16u

enum wg_aead_impl { WG_AEAD_SODIUM = 0, WG_AEAD_OPENSSL };

void wg_aead_select(void);                 /* idempotent; reads WGVSOCK_AEAD */
void wg_aead_force(enum wg_aead_impl impl);   /* tests and benchmarks */
enum wg_aead_impl wg_aead_current(void);
const char *wg_aead_name(enum wg_aead_impl impl);

/* dst receives len + WG_AEAD_TAG bytes. */
void wg_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
                  const uint8_t key[32]);
/* src holds len bytes including the tag (len >= WG_AEAD_TAG); dst receives
 * len - WG_AEAD_TAG bytes.  False if authentication fails (dst undefined). */
bool wg_aead_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
                  const uint8_t key[32]);

#endif
