/* test_attest_doc.c - the bounded document parser (attest/doc.c,
 * attest/cbor_bounds.c): truncated, oversized, deeply nested and lying
 * CBOR is refused before libcbor allocates for it; the field rules of
 * genuine documents (1024-byte optional fields, CBOR null, indefinite
 * maps, optional tag 18) are accepted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include "attest/cbor_bounds.h"
#include "tests/unit/attest_fixture.h"

static int parse(const uint8_t *buf, size_t len)
{
    struct attest_doc d;
    const char *why = NULL;
    int rc = attest_doc_parse(buf, len, &d, &why);
    if (rc < 0)
        assert_non_null(why);
    attest_doc_free(&d);
    return rc;
}

static void test_fixture_prefixes_truncated(void **state)
{
    size_t len = 0;
    uint8_t *doc = nitro_fixture(&len);
    assert_non_null(doc);
    assert_int_equal(parse(doc, len), 0);
    for (size_t n = 0; n < len; n += (n < 300 ? 1 : 37))
        assert_int_equal(parse(doc, n), -EBADMSG);
    free(doc);
}

static void test_trailing_bytes(void **state)
{
    size_t len = 0;
    uint8_t *doc = nitro_fixture(&len);
    uint8_t *more = malloc(len + 1);
    memcpy(more, doc, len);
    more[len] = 0x00;
    assert_int_equal(parse(more, len + 1), -EBADMSG);
    free(more);
    free(doc);
}

static void test_tagged(void **state)
{
    size_t len = 0;
    uint8_t *doc = nitro_fixture(&len);
    uint8_t *tagged = malloc(len + 1);
    memcpy(tagged + 1, doc, len);
    tagged[0] = 0xd2;                                /* tag 18: COSE_Sign1 */
    assert_int_equal(parse(tagged, len + 1), 0);
    tagged[0] = 0xd1;                                /* tag 17: COSE_Mac0 */
    assert_int_equal(parse(tagged, len + 1), -EBADMSG);
    free(tagged);
    free(doc);
}

static void test_oversized(void **state)
{
    uint8_t *big = calloc(1, ATTEST_DOC_MAX + 1);
    assert_int_equal(parse(big, ATTEST_DOC_MAX + 1), -EMSGSIZE);
    free(big);
}

static void test_deeply_nested(void **state)
{
    uint8_t buf[4096];
    /* [[[[...0...]]]] far deeper than ATTEST_NEST_MAX */
    memset(buf, 0x81, sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = 0x00;
    assert_int_equal(cbor_bounds_check(buf, sizeof(buf), ATTEST_NEST_MAX), -EBADMSG);
    assert_int_equal(parse(buf, sizeof(buf)), -EBADMSG);
    /* exactly at the limit is fine for the pre-pass */
    assert_int_equal(cbor_bounds_check(buf + sizeof(buf) - 1 - ATTEST_NEST_MAX,
                                       ATTEST_NEST_MAX + 1, ATTEST_NEST_MAX), 0);
    /* indefinite maps and tags nest too */
    memset(buf, 0xbf, 64);
    assert_int_equal(cbor_bounds_check(buf, 64, ATTEST_NEST_MAX), -EBADMSG);
    memset(buf, 0xd2, 64);
    buf[64] = 0;
    assert_int_equal(cbor_bounds_check(buf, 65, ATTEST_NEST_MAX), -EBADMSG);
}

static void test_lying_lengths(void **state)
{
    /* an array claiming 2^64-1 elements, a map claiming 2^32, a byte string
     * claiming 4 GiB: refused without allocating */
    static const uint8_t arr[] = { 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
    static const uint8_t map[] = { 0xba, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00 };
    static const uint8_t bstr[] = { 0x5a, 0xff, 0xff, 0xff, 0xff, 0x00 };
    static const uint8_t brk[] = { 0xff };
    static const uint8_t arr4[] = { 0x84, 0x40, 0xa0, 0x40 };   /* 3 of 4 */
    assert_int_equal(parse(arr, sizeof(arr)), -EBADMSG);
    assert_int_equal(parse(map, sizeof(map)), -EBADMSG);
    assert_int_equal(parse(bstr, sizeof(bstr)), -EBADMSG);
    assert_int_equal(parse(brk, sizeof(brk)), -EBADMSG);
    assert_int_equal(parse(arr4, sizeof(arr4)), -EBADMSG);
    assert_int_equal(parse(NULL, 0), -EBADMSG);
}

/* Documents made with the test CA, one field at a time. */
static struct test_ca ca;

static int build_and_parse(struct attest_doc_spec *s)
{
    uint8_t *doc = NULL;
    size_t len = 0;
    assert_int_equal(attest_doc_build(s, ca.leaf_key, &doc, &len), 0);
    int rc = parse(doc, len);
    free(doc);
    return rc;
}

static void test_optional_fields(void **state)
{
    struct attest_doc_spec s;
    static uint8_t big[ATTEST_FIELD_MAX + 1];
    time_t now = time(NULL);

    assert_int_equal(test_ca_make(&ca, now - 60, now + 60), 0);
    test_ca_spec(&ca, &s, 1);
    assert_int_equal(build_and_parse(&s), 0);            /* all three null */
    s.claims = (struct attest_request){ big, ATTEST_FIELD_MAX, big, ATTEST_FIELD_MAX,
                                        big, ATTEST_FIELD_MAX };
    assert_int_equal(build_and_parse(&s), 0);            /* all three at 1024 */
    s.claims.user_data_len = ATTEST_FIELD_MAX + 1;
    assert_int_equal(build_and_parse(&s), -EBADMSG);
    s.claims.user_data_len = 0;
    s.claims.nonce_len = ATTEST_FIELD_MAX + 1;
    assert_int_equal(build_and_parse(&s), -EBADMSG);
    s.claims.nonce_len = 0;
    s.claims.public_key_len = ATTEST_FIELD_MAX + 1;
    assert_int_equal(build_and_parse(&s), -EBADMSG);
    s.claims.public_key_len = 32;
    s.digest = "SHA256";
    assert_int_equal(build_and_parse(&s), -EBADMSG);
    s.digest = "SHA384";
    s.pcr_len = 20;                                      /* not a digest size */
    assert_int_equal(build_and_parse(&s), -EBADMSG);
    s.pcr_len = 48;
    s.n_cabundle = 0;
    assert_int_equal(build_and_parse(&s), -EBADMSG);
    test_ca_free(&ca);
}

static void test_parse_fields(void **state)
{
    size_t len = 0;
    uint8_t *doc = nitro_fixture(&len);
    struct attest_doc d;
    assert_int_equal(attest_doc_parse(doc, len, &d, NULL), 0);
    assert_int_equal(d.alg, -35);
    assert_string_equal(d.digest, "SHA384");
    assert_int_equal(d.signature.len, 96);
    assert_int_equal(d.certificate.len > 500, 1);
    for (int i = 0; i < 16; i++)
        assert_int_equal(d.pcrs[i].len, 48);
    assert_null(d.pcrs[16].ptr);
    attest_doc_free(&d);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_fixture_prefixes_truncated),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_tagged),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_deeply_nested),
        cmocka_unit_test(test_lying_lengths),
        cmocka_unit_test(test_optional_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
