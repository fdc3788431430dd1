/* keyderive.h - per-endpoint WireGuard keys derived from a secret seed.
 *
 *   priv = clamp(SHA3-256(seed || additional || address))
 *
 * seed and additional are raw bytes (the operator passes them base64-encoded);
 * address is the IPv4 address as 4 bytes or the IPv6 address as 16 bytes,
 * network order.  Byte-compatible with the Python driver this replaces.
 * No global state; callers own every buffer and should wipe secrets.
 */
#ifndef WGVSOCK_KEYDERIVE_H
#define WGVSOCK_KEYDERIVE_H

#include <stddef.h>
#include <stdint.h>

#define KD_KEY_LEN 32
#define KD_KEY_B64_LEN 44          /* base64 of 32 bytes, with padding, no NUL */
#define KD_SECRET_MAX 4096         /* largest decoded seed/additional accepted */
#define KD_DEFAULT_ADDITIONAL_B64 "YmVzdG92Lmlv"   /* base64("bestov.io") */

struct kd_secret {                 /* a decoded base64 secret */
    uint8_t bytes[KD_SECRET_MAX];
    size_t len;
};

struct kd_address {                /* family AF_INET (4 bytes) or AF_INET6 (16) */
    int family;
    uint8_t bytes[16];
};

/* Decode standard base64 (padding required where the length needs it,
 * surrounding whitespace/newline tolerated).  0 or -1. */
int kd_secret_from_b64(struct kd_secret *out, const char *b64);
/* Parse "A.B.C.D", "A.B.C.D/len", IPv6 text, or IPv6 "/len"; the prefix
 * length is ignored but must be valid if present.  0 or -1. */
int kd_address_parse(struct kd_address *out, const char *text);

/* The derived, clamped Curve25519 private key.  0, or -1 on a hash failure. */
int kd_derive_private(uint8_t priv[KD_KEY_LEN], const struct kd_secret *seed,
                      const struct kd_secret *additional, const struct kd_address *addr);
/* Public key for a private key (X25519 base-point multiplication). 0 or -1. */
int kd_public_from_private(uint8_t pub[KD_KEY_LEN], const uint8_t priv[KD_KEY_LEN]);
/* Both at once; the private key never leaves the function. */
int kd_derive_public(uint8_t pub[KD_KEY_LEN], const struct kd_secret *seed,
                     const struct kd_secret *additional, const struct kd_address *addr);

/* Standard base64 with padding, NUL-terminated (out: KD_KEY_B64_LEN + 1). */
void kd_key_to_b64(char out[KD_KEY_B64_LEN + 1], const uint8_t key[KD_KEY_LEN]);
/* Decode a 44-char base64 key to 32 bytes.  0 or -1. */
int kd_key_from_b64(uint8_t key[KD_KEY_LEN], const char *b64);

void kd_secret_wipe(struct kd_secret *s);

#endif
