/* test_wg_ratelimiter.c - handshake rate limiting with a fake clock: the
 * burst of 5, refill at 20/s, sources grouped (IPv4 address, IPv6 /64,
 * vsock CID; ports ignored), independence of sources, garbage collection
 * of idle entries and the bound on the table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "wgcore/ratelimiter.h"

#define SEC 1000000000ull
#define COST (SEC / WG_RATELIMIT_PPS)

static struct wg_sockaddr v4(const char *ip, uint16_t port)
{
    struct wg_sockaddr e;
    memset(&e, 0, sizeof(e));
    e.addr.in.sin_family = AF_INET;
    e.addr.in.sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, ip, &e.addr.in.sin_addr), 1);
    return e;
}

static struct wg_sockaddr v6(const char *ip, uint16_t port)
{
    struct wg_sockaddr e;
    memset(&e, 0, sizeof(e));
    e.addr.in6.sin6_family = AF_INET6;
    e.addr.in6.sin6_port = htons(port);
    assert_int_equal(inet_pton(AF_INET6, ip, &e.addr.in6.sin6_addr), 1);
    return e;
}

static struct wg_sockaddr vm(unsigned cid, unsigned port)
{
    struct wg_sockaddr e;
    memset(&e, 0, sizeof(e));
    e.addr.vm.svm_family = AF_VSOCK;
    e.addr.vm.svm_cid = cid;
    e.addr.vm.svm_port = port;
    return e;
}

/* How many of n back-to-back packets at time now are allowed. */
static unsigned burst(struct wg_ratelimiter *rl, const struct wg_sockaddr *e, uint64_t now, unsigned n)
{
    unsigned ok = 0;
    for (unsigned i = 0; i < n; i++)
        ok += wg_ratelimiter_allow(rl, e, now);
    return ok;
}

static void test_burst_and_refill(void **state)
{
    struct wg_ratelimiter *rl = wg_ratelimiter_new();
    struct wg_sockaddr a = v4("192.0.2.1", 1000);
    uint64_t t = 1000 * SEC;

    assert_non_null(rl);
    assert_int_equal(burst(rl, &a, t, 20), WG_RATELIMIT_BURST);
    /* Less than one packet's worth later: still nothing. */
    assert_false(wg_ratelimiter_allow(rl, &a, t + COST - 1));
    /* One packet's worth since the last refill point: exactly one. */
    assert_int_equal(burst(rl, &a, t + COST, 3), 1);
    /* A steady 20/s is sustained indefinitely... */
    t += COST;
    for (int i = 0; i < 200; i++) {
        t += COST;
        assert_true(wg_ratelimiter_allow(rl, &a, t));
    }
    /* ...but 40/s gets only half through. */
    unsigned ok = 0;
    for (int i = 0; i < 200; i++) {
        t += COST / 2;
        ok += wg_ratelimiter_allow(rl, &a, t);
    }
    assert_in_range(ok, 99, 101);
    /* A long pause refills only up to the burst. */
    t += 3600 * SEC;
    assert_int_equal(burst(rl, &a, t, 20), WG_RATELIMIT_BURST);
    /* A clock going backwards earns nothing. */
    assert_false(wg_ratelimiter_allow(rl, &a, t - 10 * SEC));
    wg_ratelimiter_free(rl);
}

static void test_grouping(void **state)
{
    struct wg_ratelimiter *rl = wg_ratelimiter_new();
    uint64_t t = 5 * SEC;

    /* IPv4: one bucket per address, whatever the port. */
    struct wg_sockaddr a1 = v4("198.51.100.7", 1), a2 = v4("198.51.100.7", 2);
    struct wg_sockaddr b = v4("198.51.100.8", 1);
    assert_int_equal(burst(rl, &a1, t, 3), 3);
    assert_int_equal(burst(rl, &a2, t, 5), 2);
    assert_int_equal(burst(rl, &b, t, 10), WG_RATELIMIT_BURST);

    /* IPv6: one bucket per /64. */
    struct wg_sockaddr s1 = v6("2001:db8:1:2::1", 1), s2 = v6("2001:db8:1:2:ffff::9", 7);
    struct wg_sockaddr o = v6("2001:db8:1:3::1", 1);
    assert_int_equal(burst(rl, &s1, t, 4), 4);
    assert_int_equal(burst(rl, &s2, t, 4), 1);
    assert_int_equal(burst(rl, &o, t, 10), WG_RATELIMIT_BURST);

    /* vsock: one bucket per CID, whatever the port. */
    struct wg_sockaddr c1 = vm(3, 100), c2 = vm(3, 200), c3 = vm(4, 100);
    assert_int_equal(burst(rl, &c1, t, 5), 5);
    assert_int_equal(burst(rl, &c2, t, 5), 0);
    assert_int_equal(burst(rl, &c3, t, 10), WG_RATELIMIT_BURST);

    /* Families don't collide: 0.0.0.3 vs CID 3 vs ::3. */
    struct wg_sockaddr x4 = v4("0.0.0.3", 1), x6 = v6("::3", 1);
    assert_int_equal(burst(rl, &x4, t, 10), WG_RATELIMIT_BURST);
    assert_int_equal(burst(rl, &x6, t, 10), WG_RATELIMIT_BURST);

    /* No address: never allowed. */
    struct wg_sockaddr none;
    memset(&none, 0, sizeof(none));
    assert_false(wg_ratelimiter_allow(rl, &none, t));
    assert_int_equal(wg_ratelimiter_count(rl), 8);
    wg_ratelimiter_free(rl);
}

static void test_gc(void **state)
{
    struct wg_ratelimiter *rl = wg_ratelimiter_new();
    char ip[32];
    uint64_t t = 100 * SEC;

    wg_ratelimiter_gc(rl, t);                         /* empty, never used */
    assert_int_equal(wg_ratelimiter_count(rl), 0);
    for (int i = 0; i < 100; i++) {
        snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
        struct wg_sockaddr e = v4(ip, 1);
        assert_int_equal(burst(rl, &e, t + (uint64_t)i * SEC / 100, 6), WG_RATELIMIT_BURST);
    }
    assert_int_equal(wg_ratelimiter_count(rl), 100);
    /* Entries idle for at most a second stay... */
    wg_ratelimiter_gc(rl, t + SEC);
    assert_int_equal(wg_ratelimiter_count(rl), 100);
    /* ...older ones go: at t + 1.5 s, those last used before t + 0.5 s. */
    wg_ratelimiter_gc(rl, t + SEC + SEC / 2);
    assert_int_equal(wg_ratelimiter_count(rl), 50);
    /* A collected source starts afresh with a full burst; a kept one not. */
    struct wg_sockaddr first = v4("10.0.0.0", 1), last = v4("10.0.0.99", 1);
    assert_int_equal(burst(rl, &first, t + SEC + SEC / 2, 10), WG_RATELIMIT_BURST);
    /* last was drained at t + 0.99 s: one cost later it has exactly one. */
    assert_int_equal(burst(rl, &last, t + 99 * SEC / 100 + COST, 10), 1);
    wg_ratelimiter_gc(rl, t + 10 * SEC);
    assert_int_equal(wg_ratelimiter_count(rl), 0);
    wg_ratelimiter_free(rl);
}

/* Far more sources than the table holds: memory stays bounded, the
 * most recent sources are remembered, every new source gets its burst. */
static void test_bounded(void **state)
{
    struct wg_ratelimiter *rl = wg_ratelimiter_new();
    char ip[32];
    uint64_t t = 7 * SEC;
    unsigned max = 0;

    for (int i = 0; i < 100000; i++) {
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        struct wg_sockaddr e = v4(ip, 1);
        assert_true(wg_ratelimiter_allow(rl, &e, t));
        if (i % 97 == 0 || i == 99999) {
            unsigned n = wg_ratelimiter_count(rl);
            if (n > max)
                max = n;
        }
        if (i % 1000 == 0)
            t += 1;
    }
    assert_true(max >= 1024);
    assert_true(max <= 65536);
    assert_int_equal(wg_ratelimiter_count(rl), max);
    /* The most recent source is still limited. */
    struct wg_sockaddr e = v4("10.1.134.159", 1);   /* i = 99999 */
    assert_int_equal(burst(rl, &e, t, 10), WG_RATELIMIT_BURST - 1);
    wg_ratelimiter_gc(rl, t + 2 * SEC);
    assert_int_equal(wg_ratelimiter_count(rl), 0);
    wg_ratelimiter_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_and_refill),
        cmocka_unit_test(test_grouping),
        cmocka_unit_test(test_gc),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
