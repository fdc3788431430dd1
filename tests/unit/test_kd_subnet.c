/* test_kd_subnet.c - which addresses `keyderive peers` prints. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "keyderive/subnet.h"

/* Text of the address with integer value v in subnet s. */
static const char *addr_text(const struct kd_subnet *s, kd_u128 v)
{
    static char buf[INET6_ADDRSTRLEN];
    struct kd_address a;

    kd_subnet_address(&a, s, v);
    assert_non_null(inet_ntop(a.family, a.bytes, buf, sizeof(buf)));
    return buf;
}

/* Select and check first/last address and count. */
static void expect_sel(const char *cidr, int skip_gw, const char *range,
                       const char *first, const char *last, unsigned long long count)
{
    struct kd_subnet s;
    struct kd_host_range r;
    const char *why = NULL;

    if (kd_subnet_parse(&s, cidr, &why) != 0)
        fail_msg("parse %s: %s", cidr, why);
    if (kd_subnet_select(&r, &s, skip_gw, range, &why) != 0)
        fail_msg("select %s %s: %s", cidr, range ? range : "", why);
    assert_string_equal(addr_text(&s, r.first), first);
    assert_string_equal(addr_text(&s, r.last), last);
    assert_true(kd_host_range_count(&r) == count);
}

static void expect_sel_fail(const char *cidr, int skip_gw, const char *range)
{
    struct kd_subnet s;
    struct kd_host_range r;
    const char *why = NULL;

    assert_int_equal(kd_subnet_parse(&s, cidr, &why), 0);
    if (kd_subnet_select(&r, &s, skip_gw, range, &why) != -1)
        fail_msg("select %s %s succeeded", cidr, range ? range : "");
    assert_non_null(why);
}

static void test_ipv4_host_rules(void **state)
{
    expect_sel("10.0.42.0/24", 0, NULL, "10.0.42.1", "10.0.42.254", 254);
    expect_sel("10.0.42.0/24", 1, NULL, "10.0.42.2", "10.0.42.254", 253);
    expect_sel("10.0.42.0/25", 1, NULL, "10.0.42.2", "10.0.42.126", 125);
    expect_sel("10.0.42.0/30", 0, NULL, "10.0.42.1", "10.0.42.2", 2);
    expect_sel("10.0.42.0/31", 0, NULL, "10.0.42.0", "10.0.42.1", 2);
    expect_sel("10.0.42.0/31", 1, NULL, "10.0.42.1", "10.0.42.1", 1);
    expect_sel("10.0.42.7/32", 0, NULL, "10.0.42.7", "10.0.42.7", 1);
    expect_sel("10.0.0.0/8", 0, NULL, "10.0.0.1", "10.255.255.254", 16777214ULL);
    expect_sel("0.0.0.0/0", 0, NULL, "0.0.0.1", "255.255.255.254", 4294967294ULL);
    expect_sel_fail("10.0.42.7/32", 1, NULL);
}

static void test_ipv6_host_rules(void **state)
{
    expect_sel("fd00:42::/120", 0, NULL, "fd00:42::1", "fd00:42::ff", 255);
    expect_sel("fd00:42::/120", 1, NULL, "fd00:42::2", "fd00:42::ff", 254);
    expect_sel("fd00:42::/126", 0, NULL, "fd00:42::1", "fd00:42::3", 3);
    expect_sel("fd00:42::/127", 0, NULL, "fd00:42::", "fd00:42::1", 2);
    expect_sel("fd00:42::5/128", 0, NULL, "fd00:42::5", "fd00:42::5", 1);
    expect_sel("fd00:42::/64", 0, NULL, "fd00:42::1", "fd00:42::ffff:ffff:ffff:ffff",
               18446744073709551615ULL);
}

static void test_ipv6_whole_space(void **state)
{
    struct kd_subnet s;
    struct kd_host_range r;
    const char *why;
    char dec[40];

    assert_int_equal(kd_subnet_parse(&s, "::/0", &why), 0);
    assert_int_equal(kd_subnet_select(&r, &s, 0, NULL, &why), 0);
    kd_u128_to_dec(dec, kd_host_range_count(&r));
    assert_string_equal(dec, "340282366920938463463374607431768211455");
    assert_string_equal(addr_text(&s, r.last), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    r.first = 0;
    kd_u128_to_dec(dec, kd_host_range_count(&r));   /* saturates, no wrap */
    assert_string_equal(dec, "340282366920938463463374607431768211455");
    kd_u128_to_dec(dec, 0);
    assert_string_equal(dec, "0");
}

static void test_ranges(void **state)
{
    expect_sel("10.0.42.0/24", 1, "21-30", "10.0.42.21", "10.0.42.30", 10);
    expect_sel("10.0.42.0/24", 0, "10.0.42.21-10.0.42.30", "10.0.42.21", "10.0.42.30", 10);
    expect_sel("10.0.42.0/24", 0, "21-10.0.42.21", "10.0.42.21", "10.0.42.21", 1);
    /* Network, broadcast and a skipped gateway stay excluded. */
    expect_sel("10.0.42.0/24", 0, "0-255", "10.0.42.1", "10.0.42.254", 254);
    expect_sel("10.0.42.0/24", 1, "1-5", "10.0.42.2", "10.0.42.5", 4);
    expect_sel("10.0.0.0/16", 0, "256-511", "10.0.1.0", "10.0.1.255", 256);
    expect_sel("fd00:42::/64", 1, "fd00:42::10-fd00:42::1f", "fd00:42::10", "fd00:42::1f", 16);
    expect_sel("fd00:42::/64", 0, "16-31", "fd00:42::10", "fd00:42::1f", 16);
    expect_sel("fd00:42::/64", 0, "18446744073709551615-18446744073709551615",
               "fd00:42::ffff:ffff:ffff:ffff", "fd00:42::ffff:ffff:ffff:ffff", 1);
}

static void test_bad_ranges(void **state)
{
    static const char *bad[] = {
        "", "-", "5", "5-", "-5", "5--6", "5-6-7", "a-b", "+1-2", "01-2", "1-02", " 1-2",
        "1-2 ", "30-21", "1-256", "10.0.43.1-10.0.43.2", "10.0.41.255-10.0.42.3",
        "fd00::1-fd00::2", "10.0.42.1/24-10.0.42.2", "0-0", "255-255",
        "1-340282366920938463463374607431768211456",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_sel_fail("10.0.42.0/24", 0, bad[i]);
    expect_sel_fail("10.0.42.0/24", 1, "1-1");
    expect_sel_fail("fd00:42::/64", 0, "10.0.42.1-10.0.42.2");
    expect_sel_fail("fd00:42::/64", 0, "18446744073709551616-18446744073709551616");
}

static void test_bad_subnets(void **state)
{
    static const char *bad[] = {
        "10.0.42.0", "10.0.42.5/24", "10.0.42.0/33", "10.0.42.0/", "/24", "", "10.0.42/24",
        "fd00::1/64", "fd00::/129", "fd00::", "banana/8", "10.0.42.0/024",
    };
    struct kd_subnet s;
    const char *why;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (kd_subnet_parse(&s, bad[i], &why) != -1)
            fail_msg("accepted subnet '%s'", bad[i]);
        assert_non_null(why);
    }
    assert_int_equal(kd_subnet_parse(&s, NULL, &why), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_host_rules),
        cmocka_unit_test(test_ipv6_host_rules),
        cmocka_unit_test(test_ipv6_whole_space),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_bad_ranges),
        cmocka_unit_test(test_bad_subnets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
