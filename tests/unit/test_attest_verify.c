/* test_attest_verify.c - every check of attest_verify, on the genuine Nitro
 * document of tests/attest/ and on test-CA documents that are wrong in
 * exactly one way.  Each negative case asserts WHICH check failed, so a
 * document rejected for the wrong reason is a test failure too. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include "tests/unit/attest_fixture.h"

static enum attest_check verify_with(const uint8_t *doc, size_t len, const struct attest_policy *p)
{
    struct attest_result r;
    int rc = attest_verify(doc, len, p, &r, NULL);
    if (rc == 0)
        return ATTEST_OK;
    assert_int_equal(rc, -EPERM);
    assert_true(r.why[0] != 0);
    return r.failed;
}

static struct attest_policy nitro_policy(void)
{
    struct attest_policy p = { .at = NITRO_FIXTURE_AT, .check_freshness = true };
    return p;
}

static void test_root_pinned(void **state)
{
    assert_int_equal(attest_root_self_check(), 0);
}

static void test_nitro_fixture_valid(void **state)
{
    size_t len = 0;
    uint8_t *doc = nitro_fixture(&len);
    assert_non_null(doc);
    struct attest_policy p = nitro_policy();
    struct attest_result r;
    struct attest_doc d;
    assert_int_equal(attest_verify(doc, len, &p, &r, &d), 0);
    assert_string_equal(d.module_id, "i-01464dfc66ef2a314-enc0198f62377ead51d");
    assert_int_equal(d.timestamp_ms, NITRO_FIXTURE_TS);
    assert_int_equal(d.n_cabundle, 4);
    assert_null(d.nonce.ptr);                /* CBOR null */
    assert_null(d.user_data.ptr);
    assert_int_equal(d.public_key.len, 33);
    assert_int_equal(d.pcrs[0].len, 48);
    /* and with PCR0 pinned to its value */
    static const uint8_t pcr0_head[] = { 0x94, 0xb7, 0x44, 0x22, 0xda, 0xdd, 0xb8, 0xf5 };
    assert_memory_equal(d.pcrs[0].ptr, pcr0_head, sizeof(pcr0_head));
    memcpy(p.pcr[0], d.pcrs[0].ptr, 48);
    p.pcr_len[0] = 48;
    attest_doc_free(&d);
    assert_int_equal(verify_with(doc, len, &p), ATTEST_OK);
    free(doc);
}

/* Changing any one byte -- protected header, payload (claims, the leaf,
 * the cabundle) or signature -- must make the document invalid. */
static void test_nitro_fixture_every_byte_matters(void **state)
{
    size_t len = 0;
    uint8_t *doc = nitro_fixture(&len);
    struct attest_policy p = nitro_policy();
    assert_non_null(doc);
    for (size_t i = 0; i < len; i += (i < 64 || i > len - 128) ? 1 : 11) {
        doc[i] ^= 0x01;
        assert_int_not_equal(verify_with(doc, len, &p), ATTEST_OK);
        doc[i] ^= 0x01;
    }
    assert_int_equal(verify_with(doc, len, &p), ATTEST_OK);
    free(doc);
}

static void test_nitro_fixture_time(void **state)
{
    size_t len = 0;
    uint8_t *doc = nitro_fixture(&len);
    struct attest_policy p = nitro_policy();

    p.at = NITRO_LEAF_NOT_AFTER + 1;                       /* leaf expired */
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_CHAIN);
    p.check_freshness = false;                             /* still the chain */
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_CHAIN);
    p.at = NITRO_LEAF_NOT_BEFORE - 1;                      /* not yet valid */
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_CHAIN);
    p.check_freshness = true;
    p.at = NITRO_FIXTURE_AT + ATTEST_MAX_AGE_S + 1;        /* certs fine, document stale */
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_FRESHNESS);
    p.at = time(NULL);                                     /* today: long expired */
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_CHAIN);
    free(doc);
}

static void test_nitro_fixture_claims(void **state)
{
    size_t len = 0;
    uint8_t *doc = nitro_fixture(&len);
    struct attest_policy p = nitro_policy();
    static const uint8_t nonce[32] = { 1 };

    p.pcr_len[0] = 48;                                     /* all zero: wrong */
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_PCR);
    p = nitro_policy();
    p.pcr_len[20] = 32;                                    /* not in the document */
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_PCR);
    p = nitro_policy();
    p.nonce = nonce;                                       /* document's nonce is null */
    p.nonce_len = sizeof(nonce);
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_NONCE);
    p = nitro_policy();
    p.public_key = nonce;
    p.public_key_len = 32;
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_PUBLIC_KEY);
    free(doc);
}

static void test_nitro_fixture_other_root(void **state)
{
    size_t len = 0;
    uint8_t *doc = nitro_fixture(&len);
    struct test_ca ca;
    time_t now = time(NULL);
    assert_int_equal(test_ca_make(&ca, now - 3600, now + 3600), 0);
    struct attest_policy p = nitro_policy();
    p.root_pem = ca.root_pem;
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_CHAIN);
    test_ca_free(&ca);
    free(doc);
}

/* --- documents from a test CA --- */

static int sign_spec(struct test_ca *ca, struct attest_doc_spec *s, uint8_t **doc, size_t *len)
{
    return attest_doc_build(s, ca->leaf_key, doc, len);
}

static void test_test_ca_checks(void **state)
{
    struct test_ca ca, other;
    struct attest_doc_spec s;
    time_t now = time(NULL);
    uint8_t nonce[32], key[32], *doc;
    size_t len = 0;

    memset(nonce, 0xa5, sizeof(nonce));
    memset(key, 0x5a, sizeof(key));
    assert_int_equal(test_ca_make(&ca, now - 3600, now + 3600), 0);
    assert_int_equal(test_ca_make(&other, now - 3600, now + 3600), 0);
    test_ca_spec(&ca, &s, (uint64_t)now * 1000);
    s.claims = (struct attest_request){ nonce, 32, key, 32, NULL, 0 };
    assert_int_equal(sign_spec(&ca, &s, &doc, &len), 0);

    struct attest_policy p = { .root_pem = ca.root_pem, .at = now, .check_freshness = true,
                               .nonce = nonce, .nonce_len = 32,
                               .public_key = key, .public_key_len = 32 };
    memset(p.pcr[1], 0, 48);
    p.pcr[1][0] = p.pcr[1][1] = p.pcr[1][2] = p.pcr[1][3] = 0x11;
    p.pcr_len[1] = 48;
    assert_int_equal(verify_with(doc, len, &p), ATTEST_OK);

    uint8_t other_nonce[32] = { 0 };                       /* a replay of this document */
    p.nonce = other_nonce;
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_NONCE);
    p.nonce = nonce;
    p.public_key = other_nonce;
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_PUBLIC_KEY);
    p.public_key = key;
    p.pcr[1][47] = 1;
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_PCR);
    p.pcr[1][47] = 0;
    p.root_pem = other.root_pem;                           /* another CA's root */
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_CHAIN);
    p.root_pem = NULL;                                     /* the AWS root */
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_CHAIN);
    p.root_pem = ca.root_pem;
    p.at = now + 7200;                                     /* certificates expired */
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_CHAIN);
    p.at = now - 7200;                                     /* not yet valid */
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_CHAIN);
    p.at = now + ATTEST_MAX_AGE_S + 5;
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_FRESHNESS);
    p.at = now - ATTEST_FUTURE_SKEW_S - 5;                 /* dated in the future */
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_FRESHNESS);
    p.at = now;
    free(doc);

    s.alg = -7;                                            /* ES256 */
    assert_int_equal(sign_spec(&ca, &s, &doc, &len), 0);
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_ALGORITHM);
    free(doc);
    s.alg = -35;

    /* signed by a key that is not the leaf's */
    assert_int_equal(attest_doc_build(&s, other.leaf_key, &doc, &len), 0);
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_SIGNATURE);
    free(doc);

    /* a leaf of another CA in a bundle with our root */
    s.certificate = (struct attest_bytes){ other.leaf_der, (size_t)other.leaf_len };
    assert_int_equal(attest_doc_build(&s, other.leaf_key, &doc, &len), 0);
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_CHAIN);
    free(doc);

    test_ca_free(&other);
    test_ca_free(&ca);
}

static void test_test_ca_expired_ca(void **state)
{
    struct test_ca ca;
    struct attest_doc_spec s;
    time_t now = time(NULL);
    uint8_t *doc;
    size_t len = 0;

    assert_int_equal(test_ca_make(&ca, now - 7200, now - 3600), 0);   /* expired */
    test_ca_spec(&ca, &s, (uint64_t)now * 1000);
    assert_int_equal(sign_spec(&ca, &s, &doc, &len), 0);
    struct attest_policy p = { .root_pem = ca.root_pem, .at = now, .check_freshness = true };
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_CHAIN);
    free(doc);
    test_ca_free(&ca);

    assert_int_equal(test_ca_make(&ca, now + 3600, now + 7200), 0);   /* not yet valid */
    test_ca_spec(&ca, &s, (uint64_t)now * 1000);
    assert_int_equal(sign_spec(&ca, &s, &doc, &len), 0);
    p.root_pem = ca.root_pem;
    assert_int_equal(verify_with(doc, len, &p), ATTEST_CHECK_CHAIN);
    free(doc);
    test_ca_free(&ca);
}

/* The signer the hub uses (`--attest test:CHAIN:KEY`) makes documents the
 * plugin accepts. */
static void test_signer_roundtrip(void **state)
{
    struct test_ca ca;
    struct attest_signer *signer;
    const char *why;
    char chain[128], key[128];
    time_t now = time(NULL);
    uint8_t nonce[32] = { 7 }, pub[32] = { 9 }, *doc;
    size_t len = 0;

    assert_int_equal(test_ca_make(&ca, now - 3600, now + 3600), 0);
    snprintf(chain, sizeof(chain), "%s/hub-chain.pem", ca.dir);
    snprintf(key, sizeof(key), "%s/hub.key", ca.dir);
    assert_int_equal(attest_signer_load(chain, key, &signer, &why), 0);
    struct attest_request req = { nonce, 32, pub, 32, NULL, 0 };
    assert_int_equal(attest_signer_sign(signer, &req, (uint64_t)now * 1000, &doc, &len), 0);
    struct attest_policy p = { .root_pem = ca.root_pem, .at = now, .check_freshness = true,
                               .nonce = nonce, .nonce_len = 32, .public_key = pub,
                               .public_key_len = 32 };
    p.pcr_len[0] = 48;                                     /* zeros, as documented */
    assert_int_equal(verify_with(doc, len, &p), ATTEST_OK);
    free(doc);
    attest_signer_free(signer);
    /* a key that does not belong to the chain's leaf */
    snprintf(key, sizeof(key), "%s/root.key", ca.dir);
    assert_int_equal(attest_signer_load(chain, key, &signer, &why), -EINVAL);
    test_ca_free(&ca);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_pinned),
        cmocka_unit_test(test_nitro_fixture_valid),
        cmocka_unit_test(test_nitro_fixture_every_byte_matters),
        cmocka_unit_test(test_nitro_fixture_time),
        cmocka_unit_test(test_nitro_fixture_claims),
        cmocka_unit_test(test_nitro_fixture_other_root),
        cmocka_unit_test(test_test_ca_checks),
        cmocka_unit_test(test_test_ca_expired_ca),
        cmocka_unit_test(test_signer_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
