/* test_wg_aead.c - the data-path ChaCha20-Poly1305, both backends:
 * RFC 8439 vectors (the §2.4.2 ciphertext is exactly what our nonce layout
 * 0^32 || le64(counter) produces for counter 0x4a000000), an independent
 * construction from libsodium's ChaCha20 and Poly1305 primitives checked
 * against RFC 8439 §2.8.2, agreement and interoperation of the two
 * backends on random inputs, in-place operation, tampering, and use from
 * many threads at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "wgcore/aead.h"

static const enum wg_aead_impl impls[2] = { WG_AEAD_SODIUM, WG_AEAD_OPENSSL };

static const char sunscreen[] =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one "
    "tip for the future, sunscreen would be it.";   /* 114 bytes */

/* RFC 8439 §2.4.2: key 00..1f, nonce 00000000 0000004a 00000000, block
 * counter 1 - the AEAD's first encryption block. */
static const uint8_t rfc_242_ct[114] = {
    0x6e, 0x2e, 0x35, 0x9a, 0x25, 0x68, 0xf9, 0x80, 0x41, 0xba, 0x07, 0x28, 0xdd, 0x0d, 0x69, 0x81,
    0xe9, 0x7e, 0x7a, 0xec, 0x1d, 0x43, 0x60, 0xc2, 0x0a, 0x27, 0xaf, 0xcc, 0xfd, 0x9f, 0xae, 0x0b,
    0xf9, 0x1b, 0x65, 0xc5, 0x52, 0x47, 0x33, 0xab, 0x8f, 0x59, 0x3d, 0xab, 0xcd, 0x62, 0xb3, 0x57,
    0x16, 0x39, 0xd6, 0x24, 0xe6, 0x51, 0x52, 0xab, 0x8f, 0x53, 0x0c, 0x35, 0x9f, 0x08, 0x61, 0xd8,
    0x07, 0xca, 0x0d, 0xbf, 0x50, 0x0d, 0x6a, 0x61, 0x56, 0xa3, 0x8e, 0x08, 0x8a, 0x22, 0xb6, 0x5e,
    0x52, 0xbc, 0x51, 0x4d, 0x16, 0xcc, 0xf8, 0x06, 0x81, 0x8c, 0xe9, 0x1a, 0xb7, 0x79, 0x37, 0x36,
    0x5a, 0xf9, 0x0b, 0xbf, 0x74, 0xa3, 0x5b, 0xe6, 0xb4, 0x0b, 0x8e, 0xed, 0xf2, 0x78, 0x5e, 0x42,
    0x87, 0x4d,
};
/* Its Poly1305 tag with no associated data, computed independently with
 * Python: cryptography.ChaCha20Poly1305(key).encrypt(nonce, pt, None). */
static const uint8_t rfc_242_tag[16] = {
    0x81, 0xdb, 0x63, 0xfc, 0xb1, 0x89, 0xa0, 0x31, 0x21, 0xae, 0x0a, 0xc7, 0x2a, 0x3f, 0x1f, 0x36,
};

/* RFC 8439 §2.8.2 AEAD vector (with AAD, so it checks the construction). */
static const uint8_t rfc_282_aad[12] = { 0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3,
                                         0xc4, 0xc5, 0xc6, 0xc7 };
static const uint8_t rfc_282_nonce[12] = { 0x07, 0x00, 0x00, 0x00, 0x40, 0x41, 0x42, 0x43,
                                           0x44, 0x45, 0x46, 0x47 };
static const uint8_t rfc_282_ct[114] = {
    0xd3, 0x1a, 0x8d, 0x34, 0x64, 0x8e, 0x60, 0xdb, 0x7b, 0x86, 0xaf, 0xbc, 0x53, 0xef, 0x7e, 0xc2,
    0xa4, 0xad, 0xed, 0x51, 0x29, 0x6e, 0x08, 0xfe, 0xa9, 0xe2, 0xb5, 0xa7, 0x36, 0xee, 0x62, 0xd6,
    0x3d, 0xbe, 0xa4, 0x5e, 0x8c, 0xa9, 0x67, 0x12, 0x82, 0xfa, 0xfb, 0x69, 0xda, 0x92, 0x72, 0x8b,
    0x1a, 0x71, 0xde, 0x0a, 0x9e, 0x06, 0x0b, 0x29, 0x05, 0xd6, 0xa5, 0xb6, 0x7e, 0xcd, 0x3b, 0x36,
    0x92, 0xdd, 0xbd, 0x7f, 0x2d, 0x77, 0x8b, 0x8c, 0x98, 0x03, 0xae, 0xe3, 0x28, 0x09, 0x1b, 0x58,
    0xfa, 0xb3, 0x24, 0xe4, 0xfa, 0xd6, 0x75, 0x94, 0x55, 0x85, 0x80, 0x8b, 0x48, 0x31, 0xd7, 0xbc,
    0x3f, 0xf4, 0xde, 0xf0, 0x8e, 0x4b, 0x7a, 0x9d, 0xe5, 0x76, 0xd2, 0x65, 0x86, 0xce, 0xc6, 0x4b,
    0x61, 0x16,
};
static const uint8_t rfc_282_tag[16] = { 0x1a, 0xe1, 0x0b, 0x59, 0x4f, 0x09, 0xe2, 0x6a,
                                         0x7e, 0x90, 0x2e, 0xcb, 0xd0, 0x60, 0x06, 0x91 };

/* RFC 8439 §2.8 built from primitives: one-time key = first 32 bytes of
 * ChaCha20 block 0; ciphertext from block 1; tag = Poly1305 over
 * aad | pad16 | ct | pad16 | le64(aadlen) | le64(ctlen). */
static void ref_aead(uint8_t *ct, uint8_t tag[16], const uint8_t *pt, size_t len,
                     const uint8_t *aad, size_t aadlen, const uint8_t nonce[12],
                     const uint8_t key[32])
{
    uint8_t otk[64] = {0};
    static const uint8_t zeros[16];
    uint8_t lens[16];
    crypto_onetimeauth_poly1305_state st;

    crypto_stream_chacha20_ietf_xor_ic(otk, otk, 64, nonce, 0, key);
    crypto_stream_chacha20_ietf_xor_ic(ct, pt, len, nonce, 1, key);
    crypto_onetimeauth_poly1305_init(&st, otk);
    crypto_onetimeauth_poly1305_update(&st, aad, aadlen);
    crypto_onetimeauth_poly1305_update(&st, zeros, (16 - aadlen % 16) % 16);
    crypto_onetimeauth_poly1305_update(&st, ct, len);
    crypto_onetimeauth_poly1305_update(&st, zeros, (16 - len % 16) % 16);
    for (int i = 0; i < 8; i++) {
        lens[i] = (uint8_t)((uint64_t)aadlen >> (8 * i));
        lens[8 + i] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    crypto_onetimeauth_poly1305_update(&st, lens, 16);
    crypto_onetimeauth_poly1305_final(&st, tag);
}

static void wg_nonce(uint8_t nonce[12], uint64_t counter)
{
    memset(nonce, 0, 4);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

static void test_rfc8439(void **state)
{
    uint8_t key[32], buf[256], out[256];

    /* The reference construction reproduces §2.8.2. */
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x80 + i);
    ref_aead(buf, buf + 114, (const uint8_t *)sunscreen, 114, rfc_282_aad, 12, rfc_282_nonce, key);
    assert_memory_equal(buf, rfc_282_ct, 114);
    assert_memory_equal(buf + 114, rfc_282_tag, 16);

    /* Our API, both backends, reproduces §2.4.2 with counter 0x4a000000
     * (nonce bytes 00000000 0000004a 00000000). */
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    for (int k = 0; k < 2; k++) {
        wg_aead_force(impls[k]);
        assert_int_equal(wg_aead_current(), impls[k]);
        memset(out, 0, sizeof(out));
        wg_aead_seal(out, (const uint8_t *)sunscreen, 114, 0x4a000000ull, key);
        assert_memory_equal(out, rfc_242_ct, 114);
        assert_memory_equal(out + 114, rfc_242_tag, 16);
        assert_true(wg_aead_open(buf, out, 130, 0x4a000000ull, key));
        assert_memory_equal(buf, sunscreen, 114);
        /* in place */
        memcpy(buf, sunscreen, 114);
        wg_aead_seal(buf, buf, 114, 0x4a000000ull, key);
        assert_memory_equal(buf, out, 130);
        assert_true(wg_aead_open(buf, buf, 130, 0x4a000000ull, key));
        assert_memory_equal(buf, sunscreen, 114);
    }
}

static void test_names(void **state)
{
    wg_aead_select();
    assert_string_equal(wg_aead_name(WG_AEAD_SODIUM), "sodium");
    assert_string_equal(wg_aead_name(WG_AEAD_OPENSSL), "openssl");
    wg_aead_force(WG_AEAD_OPENSSL);
    wg_aead_select();                   /* idempotent: keeps the forced one */
    assert_int_equal(wg_aead_current(), WG_AEAD_OPENSSL);
    wg_aead_force(WG_AEAD_SODIUM);
    assert_int_equal(wg_aead_current(), WG_AEAD_SODIUM);
}

#define MAXLEN 65536
static uint8_t pt[MAXLEN], ct[2][MAXLEN + 16], tmp[MAXLEN + 16], ref[MAXLEN + 16];

static size_t pick_len(int i)
{
    static const size_t fixed[] = { 0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 255, 256, 257,
                                    1420, 1440, 4096, 8192, 9000, 65535 };
    if (i < (int)(sizeof(fixed) / sizeof(fixed[0])))
        return fixed[i];
    return randombytes_uniform(i % 10 ? 2000 : MAXLEN);
}

static void test_agree_interop(void **state)
{
    uint8_t key[32], nonce[12];

    for (int i = 0; i < 400; i++) {
        size_t len = pick_len(i);
        uint64_t counter = i % 3 ? ((uint64_t)randombytes_random() << 32 | randombytes_random())
                                 : (uint64_t)i;
        randombytes_buf(key, 32);
        randombytes_buf(pt, len);

        ref_aead(ref, ref + len, pt, len, NULL, 0, (wg_nonce(nonce, counter), nonce), key);
        for (int k = 0; k < 2; k++) {
            wg_aead_force(impls[k]);
            wg_aead_seal(ct[k], pt, len, counter, key);
            assert_memory_equal(ct[k], ref, len + 16);
            /* in place gives the same bytes */
            memcpy(tmp, pt, len);
            wg_aead_seal(tmp, tmp, len, counter, key);
            assert_memory_equal(tmp, ref, len + 16);
        }
        /* each opens what the other sealed, out of place and in place */
        for (int k = 0; k < 2; k++) {
            wg_aead_force(impls[k]);
            memset(tmp, 0xa5, len + 16);
            assert_true(wg_aead_open(tmp, ct[1 - k], len + 16, counter, key));
            assert_memory_equal(tmp, pt, len);
            memcpy(tmp, ct[1 - k], len + 16);
            assert_true(wg_aead_open(tmp, tmp, len + 16, counter, key));
            assert_memory_equal(tmp, pt, len);
        }
    }
}

static void test_tamper(void **state)
{
    uint8_t key[32], key2[32];
    const size_t len = 100;

    randombytes_buf(key, 32);
    memcpy(key2, key, 32);
    key2[31] ^= 1;
    randombytes_buf(pt, len);
    for (int k = 0; k < 2; k++) {
        wg_aead_force(impls[k]);
        wg_aead_seal(ct[0], pt, len, 7, key);
        /* every single-bit flip, in ciphertext and tag, is caught */
        for (size_t i = 0; i < len + 16; i++) {
            memcpy(tmp, ct[0], len + 16);
            tmp[i] ^= (uint8_t)(1u << (i % 8));
            assert_false(wg_aead_open(tmp, tmp, len + 16, 7, key));
        }
        assert_false(wg_aead_open(tmp, ct[0], len + 16, 8, key));           /* counter */
        assert_false(wg_aead_open(tmp, ct[0], len + 16, 7 | (1ull << 63), key));
        assert_false(wg_aead_open(tmp, ct[0], len + 16, 7, key2));          /* key */
        assert_false(wg_aead_open(tmp, ct[0], len + 15, 7, key));           /* truncated */
        assert_false(wg_aead_open(tmp, ct[0], 15, 7, key));                 /* < tag */
        assert_false(wg_aead_open(tmp, ct[0], 0, 7, key));
        assert_true(wg_aead_open(tmp, ct[0], len + 16, 7, key));            /* still fine */
        /* empty plaintext (a keepalive): tag only */
        wg_aead_seal(ct[1], pt, 0, 9, key);
        assert_true(wg_aead_open(tmp, ct[1], 16, 9, key));
        ct[1][0] ^= 0x80;
        assert_false(wg_aead_open(tmp, ct[1], 16, 9, key));
        /* a failed open leaves the context usable */
        assert_true(wg_aead_open(tmp, ct[0], len + 16, 7, key));
        assert_memory_equal(tmp, pt, len);
    }
}

/* Many threads, each with its own OpenSSL contexts, sealing and opening
 * concurrently; every result checked against the reference.  Threads
 * exit, so their contexts are freed (ASan's leak check watches this). */
struct thr_arg {
    unsigned seed;
    int bad;
};

static void *thr_main(void *p)
{
    struct thr_arg *a = p;
    uint8_t key[32], nonce[12];
    static __thread uint8_t b[2048 + 16], c[2048 + 16], r[2048 + 16];

    for (int i = 0; i < 300; i++) {
        size_t len = randombytes_uniform(2048);
        uint64_t counter = a->seed * 1000ull + (uint64_t)i;
        randombytes_buf(key, 32);
        randombytes_buf(b, len);
        wg_aead_seal(c, b, len, counter, key);
        ref_aead(r, r + len, b, len, NULL, 0, (wg_nonce(nonce, counter), nonce), key);
        if (memcmp(c, r, len + 16))
            a->bad++;
        if (!wg_aead_open(c, c, len + 16, counter, key) || memcmp(c, b, len))
            a->bad++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    enum { N = 8 };
    pthread_t th[N];
    struct thr_arg args[N];

    for (int k = 0; k < 2; k++) {
        wg_aead_force(impls[k]);
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < N; i++) {
                args[i] = (struct thr_arg){ .seed = (unsigned)(i + 1) };
                assert_int_equal(pthread_create(&th[i], NULL, thr_main, &args[i]), 0);
            }
            for (int i = 0; i < N; i++) {
                assert_int_equal(pthread_join(th[i], NULL), 0);
                assert_int_equal(args[i].bad, 0);
            }
        }
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_rfc8439),
        cmocka_unit_test(test_agree_interop),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
