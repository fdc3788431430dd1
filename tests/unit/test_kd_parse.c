/* test_kd_parse.c - the strict parsers in front of the derivation: base64
 * secrets and endpoint addresses.  A lenient parser here would mean a typo
 * silently yields a different (valid-looking) key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "keyderive/keyderive.h"

static struct kd_secret s;

static void test_b64_valid(void **state)
{
    assert_int_equal(kd_secret_from_b64(&s, "dGVzdHNlZWQK"), 0);
    assert_int_equal(s.len, 9);
    assert_memory_equal(s.bytes, "testseed\n", 9);
    assert_int_equal(kd_secret_from_b64(&s, "YQ=="), 0);
    assert_int_equal(s.len, 1);
    assert_int_equal(kd_secret_from_b64(&s, "YWI="), 0);
    assert_int_equal(s.len, 2);
    assert_int_equal(kd_secret_from_b64(&s, "+/+/"), 0);
    assert_int_equal(s.len, 3);
    assert_memory_equal(s.bytes, "\xfb\xff\xbf", 3);
}

static void test_b64_surrounding_whitespace(void **state)
{
    assert_int_equal(kd_secret_from_b64(&s, "  dGVzdHNlZWQK\n"), 0);
    assert_int_equal(s.len, 9);
    assert_int_equal(kd_secret_from_b64(&s, "\tdGVzdHNlZWQK\r\n\n"), 0);
    assert_int_equal(s.len, 9);
}

static void test_b64_empty(void **state)
{
    /* The empty string is valid base64 of zero bytes (an empty additional
     * is legal; the CLI rejects an empty seed itself). */
    assert_int_equal(kd_secret_from_b64(&s, ""), 0);
    assert_int_equal(s.len, 0);
    assert_int_equal(kd_secret_from_b64(&s, " \n"), 0);
    assert_int_equal(s.len, 0);
}

static void test_b64_invalid(void **state)
{
    static const char *bad[] = {
        "dGVzdHNlZWQ",          /* missing padding */
        "YQ=",                  /* short padding */
        "YQ",
        "Y",
        "YQ===",                /* excess padding */
        "dGVz dHNlZWQK",        /* embedded space */
        "dGVz\ndHNlZWQK",       /* embedded newline */
        "dGVzdHNlZWQK!",        /* trailing garbage */
        "dGVzdHNlZWQK=",
        "ab-_",                 /* URL-safe alphabet */
        "YQ==YQ==",             /* data after padding */
        "dGVzdHNlZWR=",         /* non-zero unused bits */
        "YR==",
        "====",
        "é",
        /* Bytes libsodium 1.0.18 itself would take for alphabet letters. */
        "\xffYQ=",
        "dGVz\x9d\x9d\x9d\x9d",
        "YQ\x80=",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s.len = 77;
        if (kd_secret_from_b64(&s, bad[i]) != -1)
            fail_msg("accepted invalid base64 #%zu", i);
        assert_int_equal(s.len, 0);
    }
    assert_int_equal(kd_secret_from_b64(&s, NULL), -1);
    assert_int_equal(kd_secret_from_b64(NULL, "YQ=="), -1);
}

/* A failed decode must not leave a partial secret behind. */
static void test_b64_failure_wipes(void **state)
{
    static const struct kd_secret zero;

    assert_int_equal(kd_secret_from_b64(&s, "dGVzdHNlZWQKdGVzdHNlZWQK!!!!"), -1);
    assert_memory_equal(&s, &zero, sizeof(s));
}

static void test_b64_size_limit(void **state)
{
    /* KD_SECRET_MAX = 4096 bytes = 5460 base64 chars + "==" (4096 = 3*1365+1). */
    static char text[8192];
    size_t n = (KD_SECRET_MAX + 2) / 3 * 4;

    memset(text, 'A', n - 2);
    memcpy(text + n - 2, "==", 3);
    assert_int_equal(kd_secret_from_b64(&s, text), 0);
    assert_int_equal(s.len, KD_SECRET_MAX);
    /* One byte more: 4097 = 3*1365+2 -> 5464 chars ending "A=". */
    memset(text, 'A', n - 1);
    memcpy(text + n - 1, "=", 2);
    assert_int_equal(kd_secret_from_b64(&s, text), -1);
    assert_int_equal(s.len, 0);
}

static void expect_addr(const char *text, int family, const char *bytes)
{
    struct kd_address a;

    if (kd_address_parse(&a, text) != 0)
        fail_msg("rejected valid address '%s'", text);
    assert_int_equal(a.family, family);
    assert_memory_equal(a.bytes, bytes, family == AF_INET ? 4 : 16);
}

static void test_addr_valid(void **state)
{
    expect_addr("192.168.5.2", AF_INET, "\xc0\xa8\x05\x02");
    expect_addr("192.168.5.2/24", AF_INET, "\xc0\xa8\x05\x02");
    expect_addr("192.168.5.2/0", AF_INET, "\xc0\xa8\x05\x02");
    expect_addr("192.168.5.2/32", AF_INET, "\xc0\xa8\x05\x02");
    expect_addr("0.0.0.0", AF_INET, "\0\0\0\0");
    expect_addr("255.255.255.255", AF_INET, "\xff\xff\xff\xff");
    expect_addr("fd00:42::2", AF_INET6, "\xfd\x00\x00\x42\0\0\0\0\0\0\0\0\0\0\0\x02");
    expect_addr("fd00:42::2/64", AF_INET6, "\xfd\x00\x00\x42\0\0\0\0\0\0\0\0\0\0\0\x02");
    expect_addr("::/0", AF_INET6, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    expect_addr("::1/128", AF_INET6, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01");
    expect_addr("::ffff:1.2.3.4", AF_INET6, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x01\x02\x03\x04");
}

static void test_addr_invalid(void **state)
{
    static char longtext[300];
    static const char *bad[] = {
        "", "/24", "192.168.5.2/", "192.168.5.2/33", "192.168.5.2/-1", "192.168.5.2/+1",
        "192.168.5.2/024", "192.168.5.2/ 24", "192.168.5.2/24 ", "192.168.5.2/24/1",
        "192.168.5.2/1000", "192.168.5.2/4294967320", "192.168.5", "192.168.5.2.1",
        "256.1.1.1", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4\n", "1.2.3.-4",
        "0x1.2.3.4", "10.1", "abc", "localhost", "fd00::2/129", "fd00::2/", "fe80::1%eth0",
        "fd00:::2", "1:2:3:4:5:6:7:8:9", "g::1", "dGVzdHNlZWQK",
    };
    struct kd_address a;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (kd_address_parse(&a, bad[i]) != -1)
            fail_msg("accepted invalid address '%s'", bad[i]);
    memset(longtext, '1', sizeof(longtext) - 1);
    assert_int_equal(kd_address_parse(&a, longtext), -1);
    memcpy(longtext, "1.2.3.4/", 8);
    assert_int_equal(kd_address_parse(&a, longtext), -1);
    assert_int_equal(kd_address_parse(&a, NULL), -1);
    assert_int_equal(kd_address_parse(NULL, "1.2.3.4"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_valid),
        cmocka_unit_test(test_b64_surrounding_whitespace),
        cmocka_unit_test(test_b64_empty),
        cmocka_unit_test(test_b64_invalid),
        cmocka_unit_test(test_b64_failure_wipes),
        cmocka_unit_test(test_b64_size_limit),
        cmocka_unit_test(test_addr_valid),
        cmocka_unit_test(test_addr_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
