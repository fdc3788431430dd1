/* test_wg_udp_gso.c - the pure UDP offload logic (wgcore/udp_gso.c): which
 * messages a UDP_SEGMENT send may join (one endpoint, one size, a shorter
 * last one, the segment and byte limits, order kept) and how a UDP_GRO
 * receive is cut back into datagrams (exact and short last piece, resumed
 * across a full output array, gso_size 0 = one datagram).  The transport's
 * real sends and receives are in test_wg_udp. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "wgcore/udp_gso.h"

static struct wg_sockaddr ep(const char *text)
{
    struct wg_sockaddr e;

    assert_int_equal(wg_sockaddr_parse(&e, text, false), 0);
    return e;
}

static void fill(struct wg_msg *m, unsigned n, const char *to, uint32_t len)
{
    for (unsigned i = 0; i < n; i++) {
        m[i].ep = ep(to);
        m[i].data = NULL;
        m[i].len = len;
    }
}

static void test_run_equal_sizes(void **state)
{
    struct wg_msg m[WG_BATCH_MAX];

    fill(m, WG_BATCH_MAX, "10.0.0.1:51820", 1452);
    /* 45 * 1452 = 65340 fits, a 46th would not */
    assert_int_equal(wg_udp_gso_run(m, WG_BATCH_MAX, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES), 45);
    assert_int_equal(wg_udp_gso_run(m + 45, WG_BATCH_MAX - 45, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES), 19);
    /* small messages: the segment limit */
    fill(m, WG_BATCH_MAX, "10.0.0.1:51820", 32);
    assert_int_equal(wg_udp_gso_run(m, WG_BATCH_MAX, 16, WG_UDP_GSO_MAX_BYTES), 16);
    assert_int_equal(wg_udp_gso_run(m, WG_BATCH_MAX, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES), 64);
    assert_int_equal(wg_udp_gso_run(m, 1, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES), 1);
    assert_int_equal(wg_udp_gso_run(m, 0, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES), 0);
}

static void test_run_short_last(void **state)
{
    struct wg_msg m[8];

    fill(m, 8, "10.0.0.1:51820", 1452);
    m[3].len = 100;             /* ends the run, and is part of it */
    assert_int_equal(wg_udp_gso_run(m, 8, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES), 4);
    /* a longer one is never joined (the kernel would cut it) */
    fill(m, 8, "10.0.0.1:51820", 100);
    m[2].len = 101;
    assert_int_equal(wg_udp_gso_run(m, 8, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES), 2);
    /* an empty message is never a segment */
    m[1].len = 0;
    assert_int_equal(wg_udp_gso_run(m, 8, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES), 1);
}

static void test_run_endpoints(void **state)
{
    struct wg_msg m[6];

    fill(m, 6, "10.0.0.1:51820", 148);
    m[2].ep = ep("10.0.0.1:51821");     /* other port */
    assert_int_equal(wg_udp_gso_run(m, 6, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES), 2);
    m[2].ep = ep("10.0.0.2:51820");     /* other host */
    assert_int_equal(wg_udp_gso_run(m, 6, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES), 2);
    m[2].ep = ep("[::1]:51820");        /* other family */
    assert_int_equal(wg_udp_gso_run(m, 6, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES), 2);
    /* A B A: never reordered into A A B */
    fill(m, 6, "10.0.0.1:51820", 148);
    m[1].ep = ep("10.0.0.2:51820");
    assert_int_equal(wg_udp_gso_run(m, 6, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES), 1);
    assert_int_equal(wg_udp_gso_run(m + 1, 5, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES), 1);
    assert_int_equal(wg_udp_gso_run(m + 2, 4, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES), 4);
}

static void test_split(void **state)
{
    static uint8_t buf[65536];
    struct wg_msg out[WG_BATCH_MAX];
    struct wg_sockaddr from = ep("192.0.2.7:4000");
    size_t off = 0;
    unsigned n;

    /* 3 full + 1 short */
    n = wg_udp_gro_split(&from, buf, 3 * 1452 + 60, 1452, &off, out, WG_BATCH_MAX);
    assert_int_equal(n, 4);
    assert_int_equal(off, 3 * 1452 + 60);
    for (unsigned i = 0; i < 3; i++) {
        assert_ptr_equal(out[i].data, buf + i * 1452);
        assert_int_equal(out[i].len, 1452);
        assert_true(wg_sockaddr_equal(&out[i].ep, &from));
    }
    assert_ptr_equal(out[3].data, buf + 3 * 1452);
    assert_int_equal(out[3].len, 60);
    /* exact multiple: no empty tail */
    off = 0;
    assert_int_equal(wg_udp_gro_split(&from, buf, 2 * 148, 148, &off, out, WG_BATCH_MAX), 2);
    assert_int_equal(out[1].len, 148);
    /* not GRO'd: one datagram */
    off = 0;
    assert_int_equal(wg_udp_gro_split(&from, buf, 92, 0, &off, out, WG_BATCH_MAX), 1);
    assert_int_equal(out[0].len, 92);
    /* segment larger than the datagram: one datagram */
    off = 0;
    assert_int_equal(wg_udp_gro_split(&from, buf, 92, 1452, &off, out, WG_BATCH_MAX), 1);
    assert_int_equal(out[0].len, 92);
}

static void test_split_resumes(void **state)
{
    static uint8_t buf[65536];
    struct wg_msg out[4];
    struct wg_sockaddr from = ep("[2001:db8::1]:51820");
    size_t off = 0, total = 0, len = 10 * 32 + 16;
    unsigned pieces = 0, n;

    /* 11 pieces through a 4-slot array: 4 + 4 + 3, in order */
    while (off < len) {
        n = wg_udp_gro_split(&from, buf, len, 32, &off, out, 4);
        assert_true(n >= 1 && n <= 4);
        for (unsigned i = 0; i < n; i++) {
            assert_ptr_equal(out[i].data, buf + total);
            total += out[i].len;
        }
        pieces += n;
    }
    assert_int_equal(pieces, 11);
    assert_int_equal(total, len);
    assert_int_equal(wg_udp_gro_split(&from, buf, len, 32, &off, out, 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_equal_sizes),
        cmocka_unit_test(test_run_short_last),
        cmocka_unit_test(test_run_endpoints),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_resumes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
