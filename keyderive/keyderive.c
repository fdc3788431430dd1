/* keyderive.c - per-endpoint WireGuard keys from a seed, an additional
 * string and the endpoint's address.
 *
 * The scheme is fixed by keys already deployed by the Python driver this
 * replaces:  priv = clamp(SHA3-256(seed || additional || address)).
 * SHA3 is FIPS-202 SHA3-256 (hashlib.sha3_256), *not* Keccak-256, despite
 * what the article describing the scheme calls it.
 *
 * Every function is reentrant: callers own every buffer, and intermediate
 * secrets (the hash, the private key inside kd_derive_public) are wiped
 * before returning.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "keyderive/keyderive.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/' || c == '=';
}

/* Strict standard base64 (RFC 4648 alphabet, '=' padding required, no
 * embedded whitespace, unused trailing bits must be zero) of the text
 * between surrounding whitespace.  Leading/trailing whitespace is allowed
 * because secrets usually come from files ending in a newline. */
static int b64_decode_trimmed(uint8_t *out, size_t out_max, size_t *out_len, const char *text)
{
    const char *start = text, *end;
    size_t len;

    if (!text)
        return -1;
    while (*start && is_space(*start))
        start++;
    end = start + strlen(start);
    while (end > start && is_space(end[-1]))
        end--;
    len = (size_t)(end - start);
    *out_len = 0;
    if (len == 0)
        return 0;       /* base64 of the empty string */
    /* libsodium 1.0.18 (Debian 12) maps some non-ASCII bytes (e.g. 0x9d,
     * 0xff) to alphabet values instead of rejecting them (found by
     * fuzz_keyderive), so the alphabet is enforced here first. */
    for (const char *p = start; p < end; p++)
        if (!is_b64_char(*p))
            return -1;
    /* With b64_end == NULL libsodium fails unless the whole input was
     * consumed, so trailing garbage after valid base64 is an error. */
    if (sodium_base642bin(out, out_max, start, len, NULL, out_len, NULL,
                  sodium_base64_VARIANT_ORIGINAL) != 0) {
        /* A partially decoded secret must not linger in the buffer. */
        sodium_memzero(out, out_max);
        *out_len = 0;
        return -1;
    }
    return 0;
}

int kd_secret_from_b64(struct kd_secret *out, const char *b64)
{
    size_t len;

    if (!out)
        return -1;
    if (b64_decode_trimmed(out->bytes, sizeof(out->bytes), &len, b64) != 0) {
        out->len = 0;
        return -1;
    }
    out->len = len;
    return 0;
}

/* The optional "/len" after an address: 1-3 decimal digits, no sign, no
 * leading zeros (except "0" itself), at most max. */
static int prefix_valid(const char *p, unsigned int max)
{
    unsigned int v = 0;
    size_t n = 0;

    if (p[0] == '0' && p[1] != '\0')
        return 0;
    for (; p[n]; n++) {
        if (p[n] < '0' || p[n] > '9' || n >= 3)
            return 0;
        v = v * 10 + (unsigned int)(p[n] - '0');
    }
    return n > 0 && v <= max;
}

int kd_address_parse(struct kd_address *out, const char *text)
{
    /* Long enough for any IPv6 text form plus "/128"; anything longer is
     * not an address. */
    char buf[INET6_ADDRSTRLEN + 8];
    const char *slash;
    size_t alen;

    if (!out || !text)
        return -1;
    memset(out, 0, sizeof(*out));
    slash = strchr(text, '/');
    alen = slash ? (size_t)(slash - text) : strlen(text);
    if (alen == 0 || alen >= sizeof(buf))
        return -1;
    memcpy(buf, text, alen);
    buf[alen] = '\0';

    /* inet_pton is strict: no leading zeros in IPv4 octets, no shorthand
     * like "10.1", no zone ids; exactly what a key's identity should be. */
    if (inet_pton(AF_INET, buf, out->bytes) == 1) {
        if (slash && !prefix_valid(slash + 1, 32))
            goto bad;
        out->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, out->bytes) == 1) {
        if (slash && !prefix_valid(slash + 1, 128))
            goto bad;
        out->family = AF_INET6;
        return 0;
    }
bad:
    memset(out, 0, sizeof(*out));
    return -1;
}

static size_t address_len(const struct kd_address *addr)
{
    switch (addr->family) {
    case AF_INET:
        return 4;
    case AF_INET6:
        return 16;
    default:
        return 0;
    }
}

int kd_derive_private(uint8_t priv[KD_KEY_LEN], const struct kd_secret *seed,
              const struct kd_secret *additional, const struct kd_address *addr)
{
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;
    size_t alen;
    EVP_MD_CTX *ctx;
    int ok;

    if (!priv || !seed || !additional || !addr)
        return -1;
    alen = address_len(addr);
    if (!alen || seed->len > KD_SECRET_MAX || additional->len > KD_SECRET_MAX)
        return -1;
    ctx = EVP_MD_CTX_new();
    if (!ctx)
        return -1;
    /* Streaming the three parts avoids assembling the secret message in
     * one more buffer that would need wiping. */
    ok = EVP_DigestInit_ex(ctx, EVP_sha3_256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, seed->bytes, seed->len) == 1 &&
         EVP_DigestUpdate(ctx, additional->bytes, additional->len) == 1 &&
         EVP_DigestUpdate(ctx, addr->bytes, alen) == 1 &&
         EVP_DigestFinal_ex(ctx, h, &hlen) == 1 && hlen == KD_KEY_LEN;
    /* Frees (and, in OpenSSL 3, clears) the Keccak state, which holds
     * the absorbed seed. */
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        sodium_memzero(h, sizeof(h));
        return -1;
    }
    /* Curve25519 clamping, as wg(8) genkey does: a multiple of the
     * cofactor 8, bit 254 set, bit 255 clear. */
    h[0] &= 248;
    h[31] = (h[31] & 127) | 64;
    memcpy(priv, h, KD_KEY_LEN);
    sodium_memzero(h, sizeof(h));
    return 0;
}

int kd_public_from_private(uint8_t pub[KD_KEY_LEN], const uint8_t priv[KD_KEY_LEN])
{
    /* Idempotent and thread-safe; selects libsodium's fastest X25519. */
    if (!pub || !priv || sodium_init() < 0)
        return -1;
    return crypto_scalarmult_base(pub, priv) == 0 ? 0 : -1;
}

int kd_derive_public(uint8_t pub[KD_KEY_LEN], const struct kd_secret *seed,
             const struct kd_secret *additional, const struct kd_address *addr)
{
    uint8_t priv[KD_KEY_LEN];
    int ret;

    ret = kd_derive_private(priv, seed, additional, addr);
    if (ret == 0)
        ret = kd_public_from_private(pub, priv);
    sodium_memzero(priv, sizeof(priv));
    return ret;
}

void kd_key_to_b64(char out[KD_KEY_B64_LEN + 1], const uint8_t key[KD_KEY_LEN])
{
    sodium_bin2base64(out, KD_KEY_B64_LEN + 1, key, KD_KEY_LEN,
              sodium_base64_VARIANT_ORIGINAL);
}

int kd_key_from_b64(uint8_t key[KD_KEY_LEN], const char *b64)
{
    /* Decode into a scratch buffer one byte larger, so that anything but
     * exactly 32 bytes is detected rather than silently truncated. */
    uint8_t tmp[KD_KEY_LEN + 1];
    size_t len = 0;
    int ret = -1;

    if (key && b64_decode_trimmed(tmp, sizeof(tmp), &len, b64) == 0 && len == KD_KEY_LEN) {
        memcpy(key, tmp, KD_KEY_LEN);
        ret = 0;
    }
    sodium_memzero(tmp, sizeof(tmp));
    return ret;
}

void kd_secret_wipe(struct kd_secret *s)
{
    if (s)
        sodium_memzero(s, sizeof(*s));
}
