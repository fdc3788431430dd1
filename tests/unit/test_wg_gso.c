/* test_wg_gso.c - TUN offload segmentation and checksum completion against
 * an independent (naive) checksum: TCP/IPv4 and TCP/IPv6 super-packets cut
 * into MSS-sized segments across several emit calls, every header field
 * that must change per segment, payload bytes, flags, and refusal of
 * malformed or unsupported super-packets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "wgcore/tun_gso.h"

static uint8_t bufs[16][(WG_PKT_CAP + 63) & ~63u] __attribute__((aligned(64)));
static uint8_t gsobuf[WG_PKT_CAP], super[70000];

/* The textbook one's-complement sum, 16 bits at a time. */
static uint16_t naive_sum(const uint8_t *d, size_t len, uint32_t init)
{
    uint32_t s = init;

    for (size_t i = 0; i < len; i += 2)
        s += (uint32_t)d[i] << 8 | (i + 1 < len ? d[i + 1] : 0);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

static uint32_t pseudo(const uint8_t *ip, bool v6, uint32_t l4len, uint8_t proto)
{
    uint32_t s = v6 ? naive_sum(ip + 8, 32, 0) : naive_sum(ip + 12, 8, 0);

    return s + proto + l4len;
}

/* A TCP super-packet: IP header, TCP header with 12 bytes of options,
 * payload bytes = (i * 7) & 0xff. Returns its length. */
static uint32_t make_super(bool v6, uint32_t payload, uint8_t flags)
{
    uint32_t l4 = v6 ? 40 : 20, thl = 32, len = l4 + thl + payload;
    uint8_t *t = super + l4;

    memset(super, 0, l4 + thl);
    if (v6) {
        super[0] = 0x60;
        super[4] = (uint8_t)((len - 40) >> 8), super[5] = (uint8_t)(len - 40);
        super[6] = IPPROTO_TCP;
        super[7] = 64;
        inet_pton(AF_INET6, "fd00::1", super + 8);
        inet_pton(AF_INET6, "fd00::2", super + 24);
    } else {
        super[0] = 0x45;
        super[2] = (uint8_t)(len >> 8), super[3] = (uint8_t)len;
        super[4] = 0x12, super[5] = 0x34;       /* id */
        super[8] = 64;
        super[9] = IPPROTO_TCP;
        inet_pton(AF_INET, "10.1.2.3", super + 12);
        inet_pton(AF_INET, "10.4.5.6", super + 16);
    }
    t[0] = 0x30, t[1] = 0x39;                   /* sport 12345 */
    t[2] = 0x00, t[3] = 0x50;                   /* dport 80 */
    t[4] = 0xff, t[5] = 0xff, t[6] = 0xfc, t[7] = 0x00;   /* seq: wraps */
    t[8] = 0, t[9] = 0, t[10] = 0x10, t[11] = 0x01;       /* ack */
    t[12] = (uint8_t)((thl / 4) << 4);
    t[13] = flags;
    t[14] = 0xff, t[15] = 0xff;                 /* window */
    for (uint32_t i = 20; i < thl; i++)
        t[i] = 1;                               /* NOP options */
    for (uint32_t i = 0; i < payload; i++)
        super[l4 + thl + i] = (uint8_t)(i * 7);
    /* As the kernel leaves it: the pseudo-header sum in the field. */
    return len;
}

static void check_segments(bool v6, uint32_t payload, uint16_t mss, unsigned per_call)
{
    struct wg_gso g = { .buf = gsobuf };
    struct virtio_net_hdr h;
    struct wg_pkt pkts[16];
    uint32_t l4 = v6 ? 40 : 20, thl = 32;
    uint32_t len = make_super(v6, payload, 0x80 | 0x10 | 0x08 | 0x01); /* CWR ACK PSH FIN */
    unsigned nseg = (payload + mss - 1) / mss, seen = 0;
    uint32_t off = 0;

    memset(&h, 0, sizeof(h));
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
    h.gso_size = mss;
    h.hdr_len = (uint16_t)(l4 + thl);
    h.csum_start = (uint16_t)l4;
    h.csum_offset = 16;
    assert_int_equal(wg_gso_begin(&g, &h, super, len), 0);
    assert_true(g.active);
    while (g.active) {
        unsigned k;

        for (unsigned i = 0; i < per_call; i++)
            pkts[i].head = bufs[i];
        k = wg_gso_emit(&g, pkts, per_call);
        assert_true(k >= 1 && k <= per_call);
        for (unsigned i = 0; i < k; i++, seen++) {
            const uint8_t *d = wg_pkt_data(&pkts[i]), *t = d + l4;
            uint32_t seg = payload - off < mss ? payload - off : mss, seq;
            bool last = seen == nseg - 1;

            assert_int_equal(pkts[i].off, WG_PKT_HEADROOM);
            assert_int_equal(pkts[i].len, l4 + thl + seg);
            if (v6) {
                assert_int_equal(d[4] << 8 | d[5], thl + seg);
            } else {
                assert_int_equal(d[2] << 8 | d[3], l4 + thl + seg);
                assert_int_equal(d[4] << 8 | d[5], (0x1234 + seen) & 0xffff);
                assert_int_equal(naive_sum(d, 20, 0), 0xffff);      /* IP checksum */
            }
            seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
            assert_int_equal(seq, (uint32_t)(0xfffffc00u + off));
            assert_int_equal(t[13] & 0x10, 0x10);                    /* ACK always */
            assert_int_equal(!!(t[13] & 0x80), seen == 0);           /* CWR first */
            assert_int_equal(!!(t[13] & 0x08), last);                /* PSH last */
            assert_int_equal(!!(t[13] & 0x01), last);                /* FIN last */
            assert_memory_equal(t + 20, super + l4 + 20, thl - 20);  /* options */
            for (uint32_t j = 0; j < seg; j++)
                if (d[l4 + thl + j] != (uint8_t)((off + j) * 7))
                    fail_msg("segment %u byte %u", seen, j);
            assert_int_equal(naive_sum(t, thl + seg, pseudo(d, v6, thl + seg, IPPROTO_TCP)),
                             0xffff);                               /* TCP checksum */
            off += seg;
        }
    }
    assert_int_equal(seen, nseg);
    assert_int_equal(off, payload);
}

static void test_tcp4(void **state)
{
    check_segments(false, 10000, 1000, 3);      /* exact multiple, 4 calls */
    check_segments(false, 65535 - 52, 1448, 16);
    check_segments(false, 1001, 1000, 1);
}

static void test_tcp6(void **state)
{
    check_segments(true, 2500, 1000, 2);        /* short last segment */
    check_segments(true, 65536 - 72, 1428, 16);     /* 64 KiB: the most TUN sends */
}

static void test_refused(void **state)
{
    struct wg_gso g = { .buf = gsobuf };
    struct virtio_net_hdr h;
    uint32_t len = make_super(false, 3000, 0x10);

    memset(&h, 0, sizeof(h));
    h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
    h.gso_size = 1000;
    assert_int_equal(wg_gso_begin(&g, &h, super, len), -EOPNOTSUPP);
    assert_false(g.active);
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    h.gso_size = 0;
    assert_int_equal(wg_gso_begin(&g, &h, super, len), -EINVAL);
    h.gso_size = 1000;
    assert_int_equal(wg_gso_begin(&g, &h, super, len - 1), -EINVAL);      /* tot_len */
    assert_int_equal(wg_gso_begin(&g, &h, super, 30), -EINVAL);
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;                              /* v4 packet */
    assert_int_equal(wg_gso_begin(&g, &h, super, len), -EINVAL);
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    super[9] = IPPROTO_UDP;
    assert_int_equal(wg_gso_begin(&g, &h, super, len), -EINVAL);
    super[9] = IPPROTO_TCP;
    super[20 + 12] = 0x40;                                              /* doff 4 */
    assert_int_equal(wg_gso_begin(&g, &h, super, len), -EINVAL);
    assert_false(g.active);
}

static void test_csum_partial(void **state)
{
    uint8_t p[200];
    uint32_t ps;
    uint16_t v;

    /* UDP/IPv4, 171 bytes of payload (odd length). */
    memset(p, 0, sizeof(p));
    p[0] = 0x45, p[9] = IPPROTO_UDP;
    p[2] = 0, p[3] = 199;
    inet_pton(AF_INET, "192.0.2.1", p + 12);
    inet_pton(AF_INET, "198.51.100.7", p + 16);
    p[20] = 0x12, p[21] = 0x34, p[22] = 0x00, p[23] = 0x35;
    p[24] = 0, p[25] = 179;
    for (int i = 28; i < 199; i++)
        p[i] = (uint8_t)(i * 13);
    ps = pseudo(p, false, 179, IPPROTO_UDP);
    v = naive_sum(NULL, 0, ps);
    p[26] = (uint8_t)(v >> 8), p[27] = (uint8_t)v;      /* partial, as the kernel */
    assert_int_equal(wg_gso_csum_partial(p, 199, 20, 6), 0);
    assert_int_equal(naive_sum(p + 20, 179, pseudo(p, false, 179, IPPROTO_UDP)), 0xffff);
    /* Out-of-range offsets are refused, not written. */
    assert_int_equal(wg_gso_csum_partial(p, 199, 199, 0), -EINVAL);
    assert_int_equal(wg_gso_csum_partial(p, 199, 190, 8), -EINVAL);
    assert_int_equal(wg_gso_csum_partial(p, 199, 20, 500), -EINVAL);
    /* The fast sum agrees with the naive one at every length/alignment. */
    for (uint32_t len = 0; len < 150; len++)
        for (uint32_t o = 0; o < 8; o++)
            assert_int_equal(wg_csum_fold(wg_csum_add(0, p + o, len)),
                             (uint16_t)~naive_sum(p + o, len, 0));
}

/* Segments of one super-packet, GRO'd back: one packet equal to the
 * original (headers, payload, total length), PSH kept from the last
 * segment, a partial TCP checksum that completes to a valid one. */
static unsigned segment(bool v6, uint32_t payload, uint16_t mss, uint8_t flags, struct wg_pkt *pkts,
                        unsigned first)
{
    struct wg_gso g = { .buf = gsobuf };
    struct virtio_net_hdr h;
    uint32_t len = make_super(v6, payload, flags);
    unsigned k;

    memset(&h, 0, sizeof(h));
    h.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
    h.gso_size = mss;
    assert_int_equal(wg_gso_begin(&g, &h, super, len), 0);
    for (unsigned i = first; i < 16; i++)
        pkts[i].head = bufs[i];
    k = wg_gso_emit(&g, pkts + first, 16 - first);
    assert_false(g.active);
    for (unsigned i = first; i < first + k; i++)
        pkts[i].verdict = WG_PKT_DELIVER;
    return k;
}

static void check_merged(const struct wg_pkt *p, const struct virtio_net_hdr *h, bool v6,
                         uint32_t payload, uint16_t mss)
{
    uint32_t l4 = v6 ? 40 : 20, len = l4 + 32 + payload;
    uint8_t copy[70000];

    assert_int_equal(p->len, len);
    assert_int_equal(h->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(h->gso_type, v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4);
    assert_int_equal(h->gso_size, mss);
    assert_int_equal(h->csum_start, l4);
    assert_int_equal(h->csum_offset, 16);
    memcpy(copy, wg_pkt_data(p), len);
    if (!v6)
        assert_int_equal(naive_sum(copy, 20, 0), 0xffff);
    /* The kernel completes the checksum: do it as it would. */
    assert_int_equal(wg_gso_csum_partial(copy, len, l4, 16), 0);
    assert_int_equal(naive_sum(copy + l4, len - l4, pseudo(copy, v6, len - l4, IPPROTO_TCP)),
                     0xffff);
    /* Same bytes as the super-packet, except the checksum and the IPv4 id
     * (the first segment's), PSH as on the last segment. */
    make_super(v6, payload, 0x10 | 0x08);
    memcpy(copy + l4 + 16, super + l4 + 16, 2);
    if (!v6)
        memcpy(copy + 10, super + 10, 2);   /* IP checksum, checked above */
    assert_memory_equal(copy, super, len);
}

static void test_gro(void **state)
{
    struct wg_pkt pkts[16];
    struct virtio_net_hdr hdrs[16];
    bool absorbed[16];
    unsigned k;

    memset(pkts, 0, sizeof(pkts));
    k = segment(false, 10000, 1000, 0x10 | 0x08, pkts, 0);     /* 10 segments */
    assert_int_equal(k, 10);
    wg_gro_batch(pkts, k, hdrs, absorbed);
    assert_false(absorbed[0]);
    for (unsigned i = 1; i < k; i++)
        assert_true(absorbed[i]);
    check_merged(&pkts[0], &hdrs[0], false, 10000, 1000);

    memset(pkts, 0, sizeof(pkts));
    k = segment(true, 3500, 1000, 0x10 | 0x08, pkts, 0);        /* short last */
    wg_gro_batch(pkts, k, hdrs, absorbed);
    for (unsigned i = 1; i < k; i++)
        assert_true(absorbed[i]);
    check_merged(&pkts[0], &hdrs[0], true, 3500, 1000);

    /* A gap splits a flow in two; a dropped packet in between is skipped;
     * a lone segment is written as it is. */
    memset(pkts, 0, sizeof(pkts));
    k = segment(false, 6000, 1000, 0x10, pkts, 0);
    pkts[2].verdict = WG_PKT_DROP;                          /* lost: gap */
    wg_gro_batch(pkts, k, hdrs, absorbed);
    assert_false(absorbed[0]);
    assert_true(absorbed[1]);
    assert_false(absorbed[2]);
    assert_false(absorbed[3]);                              /* new head */
    assert_true(absorbed[4] && absorbed[5]);
    assert_int_equal(pkts[0].len, 20 + 32 + 2000);
    assert_int_equal(pkts[3].len, 20 + 32 + 3000);
    assert_int_equal(hdrs[3].gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    assert_int_equal(hdrs[2].gso_type, VIRTIO_NET_HDR_GSO_NONE);

    /* Non-mergeable: FIN/SYN flags, different ACK, PSH mid-flow ends it. */
    memset(pkts, 0, sizeof(pkts));
    k = segment(false, 4000, 1000, 0x10, pkts, 0);
    wg_pkt_data(&pkts[1])[20 + 8] ^= 1;                     /* other ACK number */
    wg_gro_batch(pkts, k, hdrs, absorbed);
    assert_false(absorbed[1]);
    assert_false(absorbed[2]);                              /* follows pkts[1]? no: ack differs */
    memset(pkts, 0, sizeof(pkts));
    k = segment(false, 4000, 1000, 0x10, pkts, 0);
    wg_pkt_data(&pkts[1])[20 + 13] |= 0x08;                 /* PSH on the 2nd */
    wg_gro_batch(pkts, k, hdrs, absorbed);
    assert_true(absorbed[1]);
    assert_false(absorbed[2]);                              /* flushed after PSH */
    assert_true(absorbed[3]);
    memset(pkts, 0, sizeof(pkts));
    k = segment(false, 3000, 1000, 0x10 | 0x01, pkts, 0);   /* FIN on the last */
    wg_gro_batch(pkts, k, hdrs, absorbed);
    assert_true(absorbed[1]);
    assert_false(absorbed[2]);
    assert_int_equal(hdrs[2].gso_type, VIRTIO_NET_HDR_GSO_NONE);

    /* Two flows interleaved both merge. */
    memset(pkts, 0, sizeof(pkts));
    {
        struct wg_pkt a[16], b[16];

        memset(a, 0, sizeof(a));
        memset(b, 0, sizeof(b));
        k = segment(false, 4000, 1000, 0x10, a, 0);
        k = segment(true, 4000, 1000, 0x10, b, 4);          /* bufs 4..7 */
        /* cppcheck 2.10 takes pkts for a one-element array in this block
         * (a false arrayIndexOutOfBounds); it has 16. */
        for (unsigned i = 0; i < 4; i++) {
            pkts[2 * i] = a[i];                 /* cppcheck-suppress arrayIndexOutOfBounds */
            pkts[2 * i + 1] = b[4 + i];         /* cppcheck-suppress arrayIndexOutOfBounds */
        }
        wg_gro_batch(pkts, 8, hdrs, absorbed);
        assert_false(absorbed[0]);
        assert_false(absorbed[1]);
        for (unsigned i = 2; i < 8; i++)
            assert_true(absorbed[i]);
        assert_int_equal(pkts[0].len, 20 + 32 + 4000);
        /* cppcheck-suppress arrayIndexOutOfBounds */
        assert_int_equal(pkts[1].len, 40 + 32 + 4000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp4),
        cmocka_unit_test(test_tcp6),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_csum_partial),
        cmocka_unit_test(test_gro),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
