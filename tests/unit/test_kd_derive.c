/* test_kd_derive.c - key derivation against known answers.
 *
 * The expected keys come from outside this code base: the published vector
 * of the scheme, and for the rest private keys computed by Python's
 * hashlib.sha3_256 (the deployed driver's primitive) and public keys by
 * Debian's `wg pubkey`.  tests/cli/test_keyderive_python.sh repeats the
 * cross-check live over hundreds of random inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <sodium.h>

#include "keyderive/keyderive.h"

#define SEED_B64 "dGVzdHNlZWQK"                 /* "testseed\n" */
#define ADD_B64 "dGVzdGFkZGl0aW9uYWwK"          /* "testadditional\n" */

static void load(struct kd_secret *seed, struct kd_secret *add, const char *add_b64)
{
    assert_int_equal(kd_secret_from_b64(seed, SEED_B64), 0);
    assert_int_equal(kd_secret_from_b64(add, add_b64), 0);
}

/* priv and pub of (SEED_B64, add_b64, address) as base64. */
static void derive_b64(const char *add_b64, const char *address, char priv_b64[45], char pub_b64[45])
{
    struct kd_secret seed, add;
    struct kd_address addr;
    uint8_t priv[KD_KEY_LEN], pub[KD_KEY_LEN], pub2[KD_KEY_LEN];

    load(&seed, &add, add_b64);
    assert_int_equal(kd_address_parse(&addr, address), 0);
    assert_int_equal(kd_derive_private(priv, &seed, &add, &addr), 0);
    assert_int_equal(kd_public_from_private(pub, priv), 0);
    assert_int_equal(kd_derive_public(pub2, &seed, &add, &addr), 0);
    assert_memory_equal(pub, pub2, KD_KEY_LEN);
    kd_key_to_b64(priv_b64, priv);
    kd_key_to_b64(pub_b64, pub);
    kd_secret_wipe(&seed);
    kd_secret_wipe(&add);
}

static void expect(const char *add_b64, const char *address, const char *want_priv, const char *want_pub)
{
    char priv[KD_KEY_B64_LEN + 1], pub[KD_KEY_B64_LEN + 1];

    derive_b64(add_b64, address, priv, pub);
    if (want_priv)
        assert_string_equal(priv, want_priv);
    assert_string_equal(pub, want_pub);
}

static void test_published_vector(void **state)
{
    expect(ADD_B64, "192.168.5.2", "IJftaHjgELSRD3PXllSPn3EpiVmrEjQupVynwcfu8FE=",
           "+Pm8wi17cOoQ/QvaBq/WLcslAcgX1cCkrJA5dG57nU8=");
}

static void test_ipv4_prefix_ignored(void **state)
{
    static const char *forms[] = { "192.168.5.2/24", "192.168.5.2/32", "192.168.5.2/0", "192.168.5.2/16" };

    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
        expect(ADD_B64, forms[i], "IJftaHjgELSRD3PXllSPn3EpiVmrEjQupVynwcfu8FE=",
               "+Pm8wi17cOoQ/QvaBq/WLcslAcgX1cCkrJA5dG57nU8=");
}

static void test_other_ipv4(void **state)
{
    expect(ADD_B64, "10.0.42.2", "wA3R0B/r/WWAlvNbvsYLYX73rYMmeGsCkrgwnRLyNkY=",
           "uM/VYEGWrF1mz3lUXfne54rVyBVBxGwcYdQ4ruyo9CY=");
}

static void test_ipv6(void **state)
{
    const char *priv = "sFrQ7x+DB5NYUXeQqr9PBPNMROQpW7JajHlrLesO0Wk=";
    const char *pub = "bJivhzCE/mqB+ARKmBE0tzWjjr1b7es3Hwdis7Pq7wM=";

    expect(ADD_B64, "fd00:42::2", priv, pub);
    /* Every text form of the same address is the same 16 bytes. */
    expect(ADD_B64, "fd00:0042:0000:0000:0000:0000:0000:0002", priv, pub);
    expect(ADD_B64, "FD00:42::2/64", priv, pub);
    expect(ADD_B64, "fd00:42::2/128", priv, pub);
}

static void test_ipv4_mapped_is_not_ipv4(void **state)
{
    /* 16 bytes in, so a different key than the 4-byte IPv4 form. */
    expect(ADD_B64, "::ffff:192.168.5.2", "oNtRKODKJGMQOhB5k7zFihKjrI1mgjskP1cbspa9wXw=",
           "gEGgvBqFH6+XFEymPUt7blUT8xuUuF9UZdmqM70cUCI=");
}

static void test_empty_additional(void **state)
{
    expect("", "192.168.5.2", "2BAfm9pwx7Y6IIcXrl8IOaH+fLxCEdEy8PwxZPbYBV0=",
           "HV+Wr0j9x0tBVR16H5Z98y1ETQos5nS7veHW2VBbfCU=");
}

static void test_default_additional(void **state)
{
    struct kd_secret add;

    assert_int_equal(kd_secret_from_b64(&add, KD_DEFAULT_ADDITIONAL_B64), 0);
    assert_int_equal(add.len, 9);
    assert_memory_equal(add.bytes, "bestov.io", 9);
    expect(KD_DEFAULT_ADDITIONAL_B64, "192.168.5.2", "WNKz1h/rFKezrLIfdccfrFDFGsZ2mRcxcU0a8VUStVs=",
           "bU3rddZR+2plYDLLgpXlm9RUYX0rR0OTGovqv0wTqys=");
}

/* RFC 7748 section 6.1, Alice: checks our X25519 call, independent of the
 * hash. */
static void test_rfc7748_public(void **state)
{
    uint8_t priv[32], pub[32], want[32];
    size_t len;

    assert_int_equal(sodium_hex2bin(priv, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
                                    64, NULL, &len, NULL), 0);
    assert_int_equal(sodium_hex2bin(want, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
                                    64, NULL, &len, NULL), 0);
    assert_int_equal(kd_public_from_private(pub, priv), 0);
    assert_memory_equal(pub, want, 32);
}

/* Every derived key is clamped, and every input part changes the key. */
static void test_clamped_and_input_sensitive(void **state)
{
    struct kd_secret seed, add, seed2;
    struct kd_address addr = { .family = AF_INET };
    uint8_t a[KD_KEY_LEN], b[KD_KEY_LEN];

    load(&seed, &add, ADD_B64);
    assert_int_equal(kd_secret_from_b64(&seed2, "dGVzdHNlZWQ="), 0);   /* "testseed" */
    for (unsigned int i = 0; i < 1000; i++) {
        addr.bytes[2] = (uint8_t)(i >> 8);
        addr.bytes[3] = (uint8_t)i;
        assert_int_equal(kd_derive_private(a, &seed, &add, &addr), 0);
        assert_int_equal(a[0] & 7, 0);
        assert_int_equal(a[31] & 0xc0, 0x40);
        assert_int_equal(kd_derive_private(b, &seed2, &add, &addr), 0);
        assert_memory_not_equal(a, b, KD_KEY_LEN);
    }
    /* seed||additional is a plain concatenation (as in the Python driver):
     * moving a byte from one to the other gives the same key. */
    {
        struct kd_secret s1 = { .len = 2 }, a1 = { .len = 1 }, s2 = { .len = 1 }, a2 = { .len = 2 };

        memcpy(s1.bytes, "xy", 2); memcpy(a1.bytes, "z", 1);
        memcpy(s2.bytes, "x", 1);  memcpy(a2.bytes, "yz", 2);
        assert_int_equal(kd_derive_private(a, &s1, &a1, &addr), 0);
        assert_int_equal(kd_derive_private(b, &s2, &a2, &addr), 0);
        assert_memory_equal(a, b, KD_KEY_LEN);
    }
    kd_secret_wipe(&seed);
    kd_secret_wipe(&seed2);
    kd_secret_wipe(&add);
}

static void test_bad_arguments(void **state)
{
    struct kd_secret seed, add;
    struct kd_address addr = { .family = 12345 };
    uint8_t k[KD_KEY_LEN];

    load(&seed, &add, ADD_B64);
    assert_int_equal(kd_derive_private(k, &seed, &add, &addr), -1);
    assert_int_equal(kd_derive_public(k, &seed, &add, &addr), -1);
    addr.family = AF_INET;
    assert_int_equal(kd_derive_private(NULL, &seed, &add, &addr), -1);
    assert_int_equal(kd_derive_private(k, NULL, &add, &addr), -1);
    assert_int_equal(kd_derive_private(k, &seed, NULL, &addr), -1);
    assert_int_equal(kd_derive_private(k, &seed, &add, NULL), -1);
    seed.len = KD_SECRET_MAX + 1;
    assert_int_equal(kd_derive_private(k, &seed, &add, &addr), -1);
    assert_int_equal(kd_public_from_private(NULL, k), -1);
}

static void test_key_b64_round_trip(void **state)
{
    uint8_t k[KD_KEY_LEN], back[KD_KEY_LEN];
    char b64[KD_KEY_B64_LEN + 1];

    for (int i = 0; i < 100; i++) {
        randombytes_buf(k, sizeof(k));
        kd_key_to_b64(b64, k);
        assert_int_equal(strlen(b64), KD_KEY_B64_LEN);
        assert_int_equal(kd_key_from_b64(back, b64), 0);
        assert_memory_equal(k, back, KD_KEY_LEN);
    }
    assert_int_equal(kd_key_from_b64(back, " +Pm8wi17cOoQ/QvaBq/WLcslAcgX1cCkrJA5dG57nU8=\n"), 0);
    /* 31 and 33 bytes, missing padding, garbage, empty. */
    assert_int_equal(kd_key_from_b64(back, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="), -1);
    assert_int_equal(kd_key_from_b64(back, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="), -1);
    assert_int_equal(kd_key_from_b64(back, "+Pm8wi17cOoQ/QvaBq/WLcslAcgX1cCkrJA5dG57nU8"), -1);
    assert_int_equal(kd_key_from_b64(back, "+Pm8wi17cOoQ/QvaBq/WLcslAcgX1cCkrJA5dG57nU8=x"), -1);
    assert_int_equal(kd_key_from_b64(back, ""), -1);
    assert_int_equal(kd_key_from_b64(back, NULL), -1);
}

static void test_secret_wipe(void **state)
{
    struct kd_secret s;
    static const struct kd_secret zero;

    assert_int_equal(kd_secret_from_b64(&s, SEED_B64), 0);
    kd_secret_wipe(&s);
    assert_memory_equal(&s, &zero, sizeof(s));
    kd_secret_wipe(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_vector),
        cmocka_unit_test(test_ipv4_prefix_ignored),
        cmocka_unit_test(test_other_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_ipv4_mapped_is_not_ipv4),
        cmocka_unit_test(test_empty_additional),
        cmocka_unit_test(test_default_additional),
        cmocka_unit_test(test_rfc7748_public),
        cmocka_unit_test(test_clamped_and_input_sensitive),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_key_b64_round_trip),
        cmocka_unit_test(test_secret_wipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
