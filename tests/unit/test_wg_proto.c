/* test_wg_proto.c - two wg_proto instances handshaking and exchanging data
 * in memory with a fake clock: message sizes, psk, bad mac1, replayed and
 * stale initiations, padding, allowed-ips filtering, roaming, the cookie
 * path under load, low-order keys, REJECT_AFTER_MESSAGES, get(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "wg_proto_harness.h"
#include "wg_low_order.h"
#include "wgcore/allowedips.h"

static void test_handshake_and_data(void **state)
{
    (void)state;
    /* No session: the packet is staged and an initiation goes out. */
    assert_int_equal(h_send_ip(&A, &B, 100), WG_PKT_CONSUMED);
    assert_int_equal(A.n_out, 1);
    assert_int_equal(A.out[0].len, WG_MSG_INITIATION_LEN);
    assert_int_equal(A.out[0].data[0], 1);
    assert_memory_equal(A.out[0].data + 1, "\0\0\0", 3);
    assert_true(wg_sockaddr_equal(&A.out[0].ep, &B.addr));

    h_deliver(&A, &B);
    assert_int_equal(B.n_out, 1);
    assert_int_equal(B.out[0].len, WG_MSG_RESPONSE_LEN);
    assert_int_equal(B.out[0].data[0], 2);
    /* the response's receiver index is the initiation's sender index */
    assert_memory_equal(B.out[0].data + 8, A.out[0].data + 4, 4);
    assert_true(wg_sockaddr_equal(&B.out[0].ep, &A.addr));

    h_deliver(&B, &A);
    /* The staged packet is flushed: 120 bytes of IP -> padded to 128. */
    assert_int_equal(A.n_out, 1);
    assert_int_equal(A.out[0].len, 16 + 128 + 16);
    assert_int_equal(A.out[0].data[0], 4);
    assert_int_equal(wg_le64(A.out[0].data + 8), 0);   /* first counter */

    h_deliver(&A, &B);
    assert_int_equal(B.n_in, 1);
    assert_int_equal(B.in[0].len, 120);                  /* trimmed to the IP length */
    assert_int_equal(B.in[0].data[20], 100);

    /* B's session is confirmed: it sends directly. */
    assert_int_equal(h_send_ip(&B, &A, 50), WG_PKT_SEND);
    assert_int_equal(B.out[0].len, 16 + 80 + 16);
    h_deliver(&B, &A);
    assert_int_equal(A.n_in, 1);
    assert_int_equal(A.in[0].len, 70);

    /* and A again, second counter */
    assert_int_equal(h_send_ip(&A, &B, 1), WG_PKT_SEND);
    assert_int_equal(wg_le64(A.out[0].data + 8), 1);
    assert_int_equal(A.out[0].len, 16 + 32 + 16);
    h_deliver(&A, &B);
    assert_int_equal(B.n_in, 2);
}

static void test_handshake_from_responder_side(void **state)
{
    (void)state;
    /* B starts this time. */
    assert_int_equal(h_send_ip(&B, &A, 10), WG_PKT_CONSUMED);
    h_pump(&A, &B);
    assert_int_equal(A.n_in, 1);
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_SEND);
    h_pump(&A, &B);
    assert_int_equal(B.n_in, 1);
}

static void test_padding(void **state)
{
    (void)state;
    h_handshake(&A, &B);
    for (uint32_t payload = 0; payload <= 40; payload++) {
        uint32_t plen = 20 + payload;
        uint32_t padded = (plen + 15) & ~15u;

        assert_int_equal(h_send_ip(&A, &B, payload), WG_PKT_SEND);
        assert_int_equal(A.out[0].len, 16 + padded + 16);
        assert_int_equal((A.out[0].len - 32) % 16, 0);
        h_deliver(&A, &B);
        assert_int_equal(B.in[B.n_in - 1].len, plen);
    }
}

static void test_padding_capped_at_mtu(void **state)
{
    (void)state;
    wg_proto_set_mtu(A.p, 1420);
    h_handshake(&A, &B);
    /* 1420 bytes (not a multiple of 16) at MTU 1420: no padding at all */
    assert_int_equal(h_send_ip(&A, &B, 1400), WG_PKT_SEND);
    assert_int_equal(A.out[0].len, 16 + 1420 + 16);
    h_deliver(&A, &B);
    assert_int_equal(B.in[B.n_in - 1].len, 1420);
    /* 1400 -> 1408 (the multiple of 16 still fits) */
    assert_int_equal(h_send_ip(&A, &B, 1380), WG_PKT_SEND);
    assert_int_equal(A.out[0].len, 16 + 1408 + 16);
    h_deliver(&A, &B);
    /* 1410 -> 1424 would not fit: capped at 1420 */
    assert_int_equal(h_send_ip(&A, &B, 1390), WG_PKT_SEND);
    assert_int_equal(A.out[0].len, 16 + 1420 + 16);
    h_deliver(&A, &B);
    assert_int_equal(B.in[B.n_in - 1].len, 1410);
    /* 1417 -> capped at 1420 */
    assert_int_equal(h_send_ip(&A, &B, 1397), WG_PKT_SEND);
    assert_int_equal(A.out[0].len, 16 + 1420 + 16);
    h_deliver(&A, &B);
    /* unknown MTU: always to 16 */
    wg_proto_set_mtu(A.p, 0);
    assert_int_equal(h_send_ip(&A, &B, 1400), WG_PKT_SEND);
    assert_int_equal(A.out[0].len, 16 + 1424 + 16);
    h_deliver(&A, &B);
    assert_int_equal(B.last_verdict, WG_PKT_DELIVER);
    assert_int_equal(wg_padded_len(3000, 1420), 3000);        /* 3000 % 1420 = 160: aligned */
    assert_int_equal(wg_padded_len(2850, 1420), 2856);        /* 10 -> 16 */
}

static void test_psk(void **state)
{
    uint8_t psk[32], other[32];

    (void)state;
    randombytes_buf(psk, 32);
    randombytes_buf(other, 32);
    /* matching psk */
    h_add_peer(&A, &B, psk);
    h_add_peer(&B, &A, psk);
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_CONSUMED);
    h_pump(&A, &B);
    assert_int_equal(B.n_in, 1);

    /* mismatch: B answers (it cannot tell) but A cannot open the response */
    h_now += 10 * WG_NSEC_PER_SEC;
    h_add_peer(&B, &A, other);
    struct wg_peer *pa = h_peer(&A, &B);
    pthread_mutex_lock(&pa->lock);
    wg_peer_zero_keys(pa);
    pthread_mutex_unlock(&pa->lock);
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_CONSUMED);
    assert_int_equal(A.n_out, 1);
    h_deliver(&A, &B);
    assert_int_equal(B.n_out, 1);
    assert_int_equal(B.out[0].len, WG_MSG_RESPONSE_LEN);
    h_deliver(&B, &A);
    assert_int_equal(A.last_verdict, WG_PKT_DROP);
    assert_int_equal(A.n_out, 0);         /* no data, no keepalive */
    assert_int_equal(B.n_in, 1);
}

static void test_bad_mac1_dropped(void **state)
{
    (void)state;
    h_send_ip(&A, &B, 10);
    assert_int_equal(A.n_out, 1);
    A.out[0].data[WG_MSG_MAC1_OFF(148) + 3] ^= 1;
    h_deliver(&A, &B);
    assert_int_equal(B.last_verdict, WG_PKT_DROP);
    assert_int_equal(B.n_out, 0);

    /* also a flipped bit in the body: mac1 no longer matches */
    h_now += 6 * WG_NSEC_PER_SEC;
    h_tick(&A);                           /* retransmit */
    assert_int_equal(A.n_out, 1);
    A.out[0].data[40] ^= 0x80;
    h_deliver(&A, &B);
    assert_int_equal(B.n_out, 0);

    /* garbage of every handshake size and truncated data: silence */
    uint8_t junk[200];
    randombytes_buf(junk, sizeof(junk));
    for (uint32_t len = 0; len < sizeof(junk); len++) {
        for (uint8_t t = 1; t <= 4; t++) {
            junk[0] = t; junk[1] = junk[2] = junk[3] = 0;
            h_rx(&B, &A.addr, junk, len);
            assert_int_not_equal(B.last_verdict, WG_PKT_DELIVER);
        }
    }
    assert_int_equal(B.n_out, 0);
}

static void test_replayed_initiation(void **state)
{
    struct h_msg init;

    (void)state;
    h_send_ip(&A, &B, 10);
    init = A.out[0];
    h_deliver(&A, &B);
    assert_int_equal(B.n_out, 1);
    h_drop_out(&B);
    /* the same bytes again, much later: the timestamp is not newer */
    h_now += 30 * WG_NSEC_PER_SEC;
    h_rx(&B, &A.addr, init.data, init.len);
    assert_int_equal(B.n_out, 0);
    assert_int_equal(B.last_verdict, WG_PKT_DROP);
}

static void test_stale_timestamp(void **state)
{
    struct h_msg first;

    (void)state;
    h_send_ip(&A, &B, 10);
    first = A.out[0];
    h_drop_out(&A);
    /* retransmission a few seconds later has a newer timestamp */
    h_advance(6 * WG_NSEC_PER_SEC, &A, NULL);
    assert_int_equal(A.n_out, 1);
    h_deliver(&A, &B);
    assert_int_equal(B.n_out, 1);
    h_drop_out(&B);
    /* the older one arriving late is refused */
    h_now += WG_NSEC_PER_SEC;
    h_rx(&B, &A.addr, first.data, first.len);
    assert_int_equal(B.n_out, 0);
}

static void test_initiation_flood_limit(void **state)
{
    struct wg_peer *pa = h_peer(&A, &B);

    (void)state;
    /* Two valid initiations from the same peer closer than 1/50 s: the
     * second is refused even though its timestamp is newer; 40 ms later
     * one is accepted again. */
    h_send_ip(&A, &B, 10);
    h_deliver(&A, &B);
    assert_int_equal(B.n_out, 1);
    h_drop_out(&B);
    for (int i = 0; i < 2; i++) {
        h_now += i ? 40000000ull : 17000000ull;
        pthread_mutex_lock(&pa->lock);
        pa->has_sent_handshake = false;     /* bypass A's own rate limit */
        wg_peer_send_initiation(pa, h_now, false);
        pthread_mutex_unlock(&pa->lock);
        assert_int_equal(A.n_out, 1);
        h_deliver(&A, &B);
        assert_int_equal(B.n_out, (unsigned)i);
    }
}

static void test_allowed_ips_source_filter(void **state)
{
    uint8_t spoofed[4] = { 10, 0, 0, 99 };

    (void)state;
    h_handshake(&A, &B);
    /* A routes 10.0.0.2 to B but claims a source B does not allow for A */
    assert_int_equal(h_send_ip_from(&A, spoofed, B.inner, 10), WG_PKT_SEND);
    h_deliver(&A, &B);
    assert_int_equal(B.last_verdict, WG_PKT_DROP);
    assert_int_equal(B.n_in, 0);
    /* honest source passes */
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_SEND);
    h_deliver(&A, &B);
    assert_int_equal(B.last_verdict, WG_PKT_DELIVER);

    /* tx: a destination nobody owns is dropped */
    uint8_t nowhere[4] = { 172, 16, 0, 1 };
    assert_int_equal(h_send_ip_from(&A, A.inner, nowhere, 10), WG_PKT_DROP);
    assert_int_equal(A.n_out, 0);
}

static void test_roaming(void **state)
{
    struct wg_sockaddr moved;
    struct wg_device_info info = { 0 };

    (void)state;
    h_handshake(&A, &B);
    h_ep(&moved, "198.51.100.7", 40000);
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_SEND);
    /* A's packet arrives from a new address */
    h_rx(&B, &moved, A.out[0].data, A.out[0].len);
    h_drop_out(&A);
    assert_int_equal(B.last_verdict, WG_PKT_DELIVER);
    assert_int_equal(h_send_ip(&B, &A, 10), WG_PKT_SEND);
    assert_true(wg_sockaddr_equal(&B.out[0].ep, &moved));
    assert_int_equal(wg_proto_get(B.p, &info, h_now), 0);
    assert_int_equal(info.n_peers, 1);
    assert_true(wg_sockaddr_equal(&info.peers[0].endpoint, &moved));
    free(info.peers[0].allowed_ips);
    free(info.peers);

    /* an unauthenticated packet from elsewhere changes nothing */
    struct wg_sockaddr evil;
    uint8_t junk[64] = { 4 };
    h_ep(&evil, "203.0.113.66", 666);
    memcpy(junk + 4, B.out[0].data + 4, 4);
    h_drop_out(&B);
    h_rx(&B, &evil, junk, sizeof(junk));
    assert_int_equal(h_send_ip(&B, &A, 10), WG_PKT_SEND);
    assert_true(wg_sockaddr_equal(&B.out[0].ep, &moved));
}

static void test_cookie_under_load(void **state)
{
    uint8_t junk[WG_MSG_INITIATION_LEN];
    struct wg_sockaddr flooder;

    (void)state;
    h_ep(&flooder, "203.0.113.9", 9999);
    /* Flood B with well-sized initiations (bad mac1) to put it under load. */
    memset(junk, 0, sizeof(junk));
    junk[0] = 1;
    for (int i = 0; i < 300; i++)
        h_rx(&B, &flooder, junk, sizeof(junk));
    assert_int_equal(B.n_out, 0);   /* bad mac1 never answered, even under load */

    h_send_ip(&A, &B, 10);
    assert_int_equal(A.n_out, 1);
    h_deliver(&A, &B);
    /* no DH: a cookie reply */
    assert_int_equal(B.n_out, 1);
    assert_int_equal(B.out[0].len, WG_MSG_COOKIE_LEN);
    assert_int_equal(B.out[0].data[0], 3);
    assert_true(wg_sockaddr_equal(&B.out[0].ep, &A.addr));
    h_deliver(&B, &A);
    assert_int_equal(A.last_verdict, WG_PKT_CONSUMED);
    assert_int_equal(A.n_out, 0);

    /* A retries on its retransmit timer, now with mac2 */
    h_advance(6 * WG_NSEC_PER_SEC, &A, NULL);
    assert_int_equal(A.n_out, 1);
    assert_false(sodium_is_zero(A.out[0].data + WG_MSG_MAC2_OFF(148), 16));
    for (int i = 0; i < 300; i++)     /* still under load */
        h_rx(&B, &flooder, junk, sizeof(junk));
    h_deliver(&A, &B);
    assert_int_equal(B.n_out, 1);
    assert_int_equal(B.out[0].len, WG_MSG_RESPONSE_LEN);
    h_pump(&A, &B);
    assert_int_equal(B.n_in, 1);

    /* The cookie is bound to A's address: from elsewhere, mac2 fails and
     * the sender gets a cookie reply again. */
    h_now += 10 * WG_NSEC_PER_SEC;
    struct wg_peer *pa = h_peer(&A, &B);
    pthread_mutex_lock(&pa->lock);
    wg_peer_send_initiation(pa, h_now, false);
    pthread_mutex_unlock(&pa->lock);
    for (int i = 0; i < 300; i++)
        h_rx(&B, &flooder, junk, sizeof(junk));
    h_rx(&B, &flooder, A.out[0].data, A.out[0].len);
    assert_int_equal(B.n_out, 1);
    assert_int_equal(B.out[0].len, WG_MSG_COOKIE_LEN);
    assert_true(wg_sockaddr_equal(&B.out[0].ep, &flooder));
}

static void test_not_under_load_no_cookie(void **state)
{
    (void)state;
    /* A few handshakes per second are not load: no cookie, plain DH. */
    h_send_ip(&A, &B, 10);
    h_deliver(&A, &B);
    assert_int_equal(B.n_out, 1);
    assert_int_equal(B.out[0].len, WG_MSG_RESPONSE_LEN);
}

static void test_low_order_keys(void **state)
{
    struct wg_sockaddr ep;
    uint8_t inner[4] = { 10, 9, 0, 0 };

    (void)state;
    h_ep(&ep, "192.0.2.50", 5000);
    for (unsigned i = 0; i < sizeof(low_order) / sizeof(low_order[0]); i++) {
        inner[2] = (uint8_t)i;
        assert_int_equal(h_add_peer_full(&A, low_order[i], &ep, inner, 24, NULL, 1), 0);
        uint8_t dst[4] = { 10, 9, (uint8_t)i, 1 };
        h_send_ip_from(&A, A.inner, dst, 10);
    }
    h_advance(200 * WG_NSEC_PER_SEC, &A, NULL);
    for (unsigned i = 0; i < A.n_out; i++)
        assert_false(wg_sockaddr_equal(&A.out[i].ep, &ep));
    /* The good peer is still fine. */
    h_drop_out(&A);
    h_handshake(&A, &B);
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_SEND);
}

static void test_reject_after_messages(void **state)
{
    (void)state;
    h_handshake(&A, &B);
    struct wg_peer *pa = h_peer(&A, &B);
    atomic_store(&pa->keypairs.current->send_counter, WG_REJECT_AFTER_MESSAGES - 1);
    /* the last allowed counter still goes and is accepted */
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_SEND);
    assert_int_equal(wg_le64(A.out[0].data + 8), WG_REJECT_AFTER_MESSAGES - 1);
    h_deliver(&A, &B);
    assert_int_equal(B.last_verdict, WG_PKT_DELIVER);
    /* the next would exceed it: staged, and a new handshake starts */
    h_now += 6 * WG_NSEC_PER_SEC;
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_CONSUMED);
    assert_int_equal(A.n_out, 1);
    assert_int_equal(A.out[0].len, WG_MSG_INITIATION_LEN);
    h_pump(&A, &B);
    assert_int_equal(B.n_in, 2);
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_SEND);
    assert_true(wg_le64(A.out[0].data + 8) < 4);

    /* receiving side: a counter at the limit is refused */
    struct wg_peer *pb = h_peer(&B, &A);
    h_drop_out(&A);
    h_handshake(&A, &B);
    (void)pb;
    atomic_store(&pa->keypairs.current->send_counter, WG_REJECT_AFTER_MESSAGES);
    assert_int_not_equal(h_send_ip(&A, &B, 10), WG_PKT_SEND);
}

static void test_replayed_data(void **state)
{
    struct h_msg m;

    (void)state;
    h_handshake(&A, &B);
    h_send_ip(&A, &B, 10);
    m = A.out[0];
    h_deliver(&A, &B);
    assert_int_equal(B.n_in, 1);
    h_rx(&B, &A.addr, m.data, m.len);
    assert_int_equal(B.last_verdict, WG_PKT_DROP);
    assert_int_equal(B.n_in, 1);
    /* tampered ciphertext */
    h_send_ip(&A, &B, 10);
    A.out[0].data[20] ^= 1;
    h_deliver(&A, &B);
    assert_int_equal(B.last_verdict, WG_PKT_DROP);
}

static void test_get_and_counters(void **state)
{
    struct wg_device_info ia = { 0 }, ib = { 0 };
    uint8_t psk[32];
    struct timespec rt;

    (void)state;
    randombytes_buf(psk, 32);
    h_add_peer(&A, &B, psk);
    h_add_peer(&B, &A, psk);
    assert_int_equal(h_add_peer_full(&A, B.pub, NULL, (const uint8_t[4]){ 10, 1, 0, 0 }, 16,
                                     NULL, 25), 0);
    h_pump(&A, &B);     /* persistent keepalive on: it starts a handshake */
    h_send_ip(&A, &B, 100);
    h_send_ip(&B, &A, 200);
    h_pump(&A, &B);
    assert_int_equal(wg_proto_get(A.p, &ia, h_now), 0);
    assert_int_equal(wg_proto_get(B.p, &ib, h_now), 0);
    assert_true(ia.has_private_key);
    assert_memory_equal(ia.public_key, A.pub, 32);
    assert_int_equal(ia.n_peers, 1);
    assert_memory_equal(ia.peers[0].public_key, B.pub, 32);
    assert_true(ia.peers[0].has_preshared_key);
    assert_memory_equal(ia.peers[0].preshared_key, psk, 32);
    assert_int_equal(ia.peers[0].persistent_keepalive, 25);
    assert_true(ia.peers[0].has_endpoint);
    assert_int_equal(ia.peers[0].n_allowed_ips, 2);
    /* wire bytes as the kernel counts them: what one sent the other got */
    assert_true(ia.peers[0].tx_bytes > 0);
    assert_int_equal(ia.peers[0].tx_bytes, ib.peers[0].rx_bytes);
    assert_int_equal(ib.peers[0].tx_bytes, ia.peers[0].rx_bytes);
    /* 148 + keepalive 32 + 16+128+16 ; 92 + 16+224+16 */
    assert_int_equal(ia.peers[0].tx_bytes, 148 + 32 + 160);
    assert_int_equal(ib.peers[0].tx_bytes, 92 + 256);
    /* CLOCK_REALTIME of the (fake) monotonic instant of the handshake */
    uint64_t real = wg_clock_realtime(NULL, h_now);
    rt.tv_sec = (time_t)(real / WG_NSEC_PER_SEC);
    assert_true(ia.peers[0].last_handshake.tv_sec != 0);
    assert_true(llabs((long long)ia.peers[0].last_handshake.tv_sec - (long long)rt.tv_sec) < 5);
    assert_true(ib.peers[0].last_handshake.tv_sec != 0);
    for (unsigned i = 0; i < 2; i++) {
        struct wg_device_info *in = i ? &ib : &ia;
        for (size_t j = 0; j < in->n_peers; j++)
            free(in->peers[j].allowed_ips);
        free(in->peers);
    }
}

static void test_apply_semantics(void **state)
{
    struct wg_device_config cfg = { 0 };
    struct wg_peer_config pc = { 0 };
    struct wg_allowedip bad = { .family = AF_INET, .cidr = 33 };
    struct wg_device_info info = { 0 };

    (void)state;
    /* invalid allowed-ip: EINVAL, nothing changes */
    uint8_t newpub[32];
    randombytes_buf(newpub, 32);
    memcpy(pc.public_key, newpub, 32);
    pc.n_allowed_ips = 1;
    pc.allowed_ips = &bad;
    cfg.n_peers = 1;
    cfg.peers = &pc;
    assert_int_equal(wg_proto_apply(A.p, &cfg, h_now), -EINVAL);
    assert_null(h_find_peer(A.p, newpub));

    /* update_only does not create */
    pc.n_allowed_ips = 0;
    pc.allowed_ips = NULL;
    pc.update_only = true;
    assert_int_equal(wg_proto_apply(A.p, &cfg, h_now), 0);
    assert_null(h_find_peer(A.p, newpub));
    pc.update_only = false;
    assert_int_equal(wg_proto_apply(A.p, &cfg, h_now), 0);
    assert_non_null(h_find_peer(A.p, newpub));
    /* our own public key as a peer is ignored */
    memcpy(pc.public_key, A.pub, 32);
    assert_int_equal(wg_proto_apply(A.p, &cfg, h_now), 0);
    assert_null(h_find_peer(A.p, A.pub));
    /* remove */
    memcpy(pc.public_key, newpub, 32);
    pc.remove = true;
    assert_int_equal(wg_proto_apply(A.p, &cfg, h_now), 0);
    assert_null(h_find_peer(A.p, newpub));

    /* replace_peers keeps only the listed peers; get lists in order */
    struct wg_peer_config two[2] = { 0 };
    memcpy(two[0].public_key, B.pub, 32);
    memcpy(two[1].public_key, newpub, 32);
    memset(&cfg, 0, sizeof(cfg));
    cfg.replace_peers = true;
    cfg.n_peers = 2;
    cfg.peers = two;
    assert_int_equal(wg_proto_apply(A.p, &cfg, h_now), 0);
    assert_int_equal(wg_proto_get(A.p, &info, h_now), 0);
    assert_int_equal(info.n_peers, 2);
    assert_memory_equal(info.peers[0].public_key, B.pub, 32);
    assert_memory_equal(info.peers[1].public_key, newpub, 32);
    assert_int_equal(info.peers[0].n_allowed_ips, 0);   /* replaced peer is fresh */
    free(info.peers);

    /* removing the private key: no identity, no handshakes */
    memset(&cfg, 0, sizeof(cfg));
    cfg.has_private_key = true;
    assert_int_equal(wg_proto_apply(A.p, &cfg, h_now), 0);
    memset(&info, 0, sizeof(info));
    assert_int_equal(wg_proto_get(A.p, &info, h_now), 0);
    assert_false(info.has_private_key);
    for (size_t j = 0; j < info.n_peers; j++)
        free(info.peers[j].allowed_ips);
    free(info.peers);
}

static void test_private_key_change_rehandshakes(void **state)
{
    struct wg_device_config cfg = { 0 };

    (void)state;
    h_handshake(&A, &B);
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_SEND);
    h_pump(&A, &B);
    /* A gets a new key; B learns it */
    uint8_t oldpub[32];
    memcpy(oldpub, A.pub, 32);
    randombytes_buf(A.priv, 32);
    crypto_scalarmult_base(A.pub, A.priv);
    cfg.has_private_key = true;
    memcpy(cfg.private_key, A.priv, 32);
    assert_int_equal(wg_proto_apply(A.p, &cfg, h_now), 0);
    h_add_peer(&B, &A, NULL);
    /* the old session no longer sends: next packet starts a handshake */
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_CONSUMED);
    assert_int_equal(A.out[0].len, WG_MSG_INITIATION_LEN);
    h_pump(&A, &B);
    assert_int_equal(B.n_in, 2);
    assert_int_equal(B.in[1].len, 30);
}

static void test_many_peers_routing(void **state)
{
    struct h_node C;

    (void)state;
    h_node_init(&C, "192.0.2.3", 51822, 3);
    h_add_peer(&A, &C, NULL);
    h_add_peer(&C, &A, NULL);
    h_send_ip(&A, &B, 10);
    h_send_ip(&A, &C, 10);
    assert_int_equal(A.n_out, 2);
    assert_true(wg_sockaddr_equal(&A.out[0].ep, &B.addr));
    assert_true(wg_sockaddr_equal(&A.out[1].ep, &C.addr));
    h_node_free(&C);
}

static void test_responder_waits_for_confirmation(void **state)
{
    (void)state;
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_CONSUMED);
    h_deliver(&A, &B);                       /* initiation -> B, response queued */
    struct wg_peer *pb = h_peer(&B, &A);
    assert_null(pb->keypairs.current);
    assert_non_null(pb->keypairs.next);
    /* B has data before A's first message: staged, B's own handshake
     * starts; the two handshakes cross and everything still arrives */
    assert_int_equal(h_send_ip(&B, &A, 20), WG_PKT_CONSUMED);
    assert_int_equal(B.n_out, 2);
    assert_int_equal(B.out[1].len, WG_MSG_INITIATION_LEN);
    h_pump(&A, &B);
    assert_int_equal(B.n_in, 1);             /* A's staged packet */
    assert_int_equal(A.n_in, 1);             /* B's staged packet */
    assert_non_null(pb->keypairs.current);
    assert_int_equal(h_send_ip(&A, &B, 30), WG_PKT_SEND);
    assert_int_equal(h_send_ip(&B, &A, 30), WG_PKT_SEND);
    h_pump(&A, &B);
    assert_int_equal(B.n_in, 2);
    assert_int_equal(A.n_in, 2);
}

static void test_endpoint_reconnected(void **state)
{
    (void)state;
    /* no session: an initiation */
    wg_proto_endpoint_reconnected(A.p, &B.addr, h_now);
    assert_int_equal(A.n_out, 1);
    assert_int_equal(A.out[0].len, WG_MSG_INITIATION_LEN);
    h_pump(&A, &B);
    /* live session: a keepalive; other endpoints: nothing */
    wg_proto_endpoint_reconnected(A.p, &A.addr, h_now);
    assert_int_equal(A.n_out, 0);
    wg_proto_endpoint_reconnected(A.p, &B.addr, h_now);
    assert_int_equal(A.n_out, 1);
    assert_int_equal(A.out[0].len, 32);
    h_deliver(&A, &B);
    assert_int_equal(B.last_verdict, WG_PKT_CONSUMED);
}

static void test_ipv6_inner(void **state)
{
    struct wg_allowedip aip6 = { .family = AF_INET6, .cidr = 64,
                                 .ip = { 0xfd, 0, 0, 0, 0, 0, 0, 2 } };
    struct wg_peer_config pc = { .n_allowed_ips = 1, .allowed_ips = &aip6 };
    struct wg_device_config cfg = { .n_peers = 1, .peers = &pc };
    uint8_t pkt[WG_PKT_CAP];
    struct wg_pkt w = { .head = pkt, .off = WG_PKT_HEADROOM };

    (void)state;
    memcpy(pc.public_key, B.pub, 32);
    assert_int_equal(wg_proto_apply(A.p, &cfg, h_now), 0);
    aip6.ip[7] = 1;
    memcpy(pc.public_key, A.pub, 32);
    assert_int_equal(wg_proto_apply(B.p, &cfg, h_now), 0);
    h_handshake(&A, &B);
    for (int honest = 1; honest >= 0; honest--) {
        uint8_t *ip = pkt + WG_PKT_HEADROOM;
        memset(ip, 0, 60);
        ip[0] = 0x60; ip[5] = 20; ip[6] = 17; ip[7] = 64;       /* payload 20 */
        ip[8] = 0xfd; ip[15] = honest ? 1 : 9; ip[23] = 5;       /* src fd00:0:0:1::5 or fd00:0:0:9::5 */
        ip[24] = 0xfd; ip[31] = 2; ip[39] = 7;                   /* dst fd00:0:0:2::7 */
        w.off = WG_PKT_HEADROOM; w.len = 60;
        wg_proto_tx_prepare(A.p, &w, 1, h_now);
        wg_proto_tx_seal(&w, 1);
        wg_proto_tx_finish(A.p, &w, 1, h_now);
        assert_int_equal(w.verdict, WG_PKT_SEND);
        assert_int_equal(w.len, 16 + 64 + 16);
        assert_int_equal(h_rx(&B, &A.addr, wg_pkt_data(&w), w.len),
                         honest ? WG_PKT_DELIVER : WG_PKT_DROP);
    }
    assert_int_equal(B.in[0].len, 60);
}

static void test_large_config(void **state)
{
    enum { NP = 50, NA = 400 };
    struct wg_peer_config *pcs = calloc(NP, sizeof(*pcs));
    struct wg_allowedip *aips = calloc((size_t)NP * NA, sizeof(*aips));
    struct wg_device_config cfg = { .replace_peers = true, .n_peers = NP, .peers = pcs };
    struct wg_device_info info = { 0 };
    uint64_t t0;

    (void)state;
    for (unsigned i = 0; i < NP; i++) {
        randombytes_buf(pcs[i].public_key, 32);
        pcs[i].allowed_ips = aips + (size_t)i * NA;
        pcs[i].n_allowed_ips = NA;
        for (unsigned j = 0; j < NA; j++) {
            struct wg_allowedip *a = &pcs[i].allowed_ips[j];
            a->family = AF_INET;
            a->cidr = 32;
            a->ip[0] = 10; a->ip[1] = (uint8_t)(i + 1); a->ip[2] = (uint8_t)(j >> 8); a->ip[3] = (uint8_t)j;
        }
    }
    t0 = wg_now();
    assert_int_equal(wg_proto_apply(A.p, &cfg, h_now), 0);
    assert_int_equal(wg_proto_get(A.p, &info, h_now), 0);
    assert_true(wg_now() - t0 < 2 * WG_NSEC_PER_SEC);
    assert_int_equal(info.n_peers, NP);
    for (unsigned i = 0; i < NP; i++) {
        assert_memory_equal(info.peers[i].public_key, pcs[i].public_key, 32);
        assert_int_equal(info.peers[i].n_allowed_ips, NA);
        free(info.peers[i].allowed_ips);
    }
    free(info.peers);
    /* routing picks the right one */
    uint8_t dst[4] = { 10, 17, 1, 44 };
    struct wg_peer *p17 = h_find_peer(A.p, pcs[16].public_key);
    assert_non_null(p17);
    assert_ptr_equal(wg_allowedips_lookup(p17->proto->aips, AF_INET, dst), p17);
    free(aips);
    free(pcs);
}

/* ---- concurrency: TX, RX, tick, get and apply from different threads ---- */

#define C_SLOTS 1024
#define C_MSG 256
#define C_BATCH 8

struct cnode {
    struct wg_proto *p;
    uint8_t priv[32], pub[32];
    struct wg_sockaddr addr;
    uint8_t inner[4];
    struct cnode *other;
    pthread_mutex_t mu;             /* inbox */
    unsigned head, n;
    struct { struct wg_sockaddr from; uint32_t len; uint8_t data[C_MSG]; } in[C_SLOTS];
    atomic_uint delivered;
};

static atomic_bool c_stop;

static void c_push(struct cnode *to, const struct wg_sockaddr *from, const uint8_t *msg,
                   uint32_t len)
{
    pthread_mutex_lock(&to->mu);
    if (to->n < C_SLOTS && len <= C_MSG) {
        unsigned i = (to->head + to->n++) % C_SLOTS;
        to->in[i].from = *from;
        to->in[i].len = len;
        memcpy(to->in[i].data, msg, len);
    }
    pthread_mutex_unlock(&to->mu);
}

static void c_emit(void *ctx, const struct wg_sockaddr *ep, const uint8_t *msg, uint32_t len)
{
    struct cnode *n = ctx;

    (void)ep;
    c_push(n->other, &n->addr, msg, len);
}

static void *c_tx(void *arg)
{
    struct cnode *n = arg;
    uint8_t *bufs = malloc((size_t)C_BATCH * WG_PKT_CAP);
    struct wg_pkt pkts[C_BATCH];

    while (!atomic_load(&c_stop)) {
        for (unsigned i = 0; i < C_BATCH; i++) {
            pkts[i] = (struct wg_pkt){ .head = bufs + (size_t)i * WG_PKT_CAP,
                                       .off = WG_PKT_HEADROOM };
            pkts[i].len = h_ip4(pkts[i].head + WG_PKT_HEADROOM, n->inner, n->other->inner,
                                40 + i, 0x5a);
        }
        wg_proto_tx_prepare(n->p, pkts, C_BATCH, wg_now());
        wg_proto_tx_seal(pkts, C_BATCH);
        wg_proto_tx_finish(n->p, pkts, C_BATCH, wg_now());
        for (unsigned i = 0; i < C_BATCH; i++)
            if (pkts[i].verdict == WG_PKT_SEND)
                c_push(n->other, &n->addr, wg_pkt_data(&pkts[i]), pkts[i].len);
        usleep(200);
    }
    free(bufs);
    return NULL;
}

static void *c_rx(void *arg)
{
    struct cnode *n = arg;
    uint8_t *bufs = malloc((size_t)C_BATCH * WG_PKT_CAP);
    struct wg_pkt pkts[C_BATCH];

    while (!atomic_load(&c_stop)) {
        unsigned k = 0;

        pthread_mutex_lock(&n->mu);
        while (n->n && k < C_BATCH) {
            pkts[k] = (struct wg_pkt){ .head = bufs + (size_t)k * WG_PKT_CAP,
                                       .off = WG_PKT_HEADROOM, .len = n->in[n->head].len,
                                       .ep = n->in[n->head].from };
            memcpy(pkts[k].head + WG_PKT_HEADROOM, n->in[n->head].data, pkts[k].len);
            n->head = (n->head + 1) % C_SLOTS;
            n->n--;
            k++;
        }
        pthread_mutex_unlock(&n->mu);
        if (!k) {
            usleep(100);
            continue;
        }
        wg_proto_rx_prepare(n->p, pkts, k, wg_now());
        wg_proto_rx_open(pkts, k);
        wg_proto_rx_finish(n->p, pkts, k, wg_now());
        for (unsigned i = 0; i < k; i++)
            if (pkts[i].verdict == WG_PKT_DELIVER)
                atomic_fetch_add(&n->delivered, 1);
    }
    free(bufs);
    return NULL;
}

static void c_peer(struct cnode *a, struct cnode *b, bool replace)
{
    struct wg_allowedip aip = { .family = AF_INET, .cidr = 32 };
    struct wg_peer_config pc = { .has_endpoint = true, .endpoint = b->addr,
                                 .replace_allowed_ips = replace, .n_allowed_ips = 1,
                                 .allowed_ips = &aip };
    struct wg_device_config cfg = { .n_peers = 1, .peers = &pc };

    memcpy(aip.ip, b->inner, 4);
    memcpy(pc.public_key, b->pub, 32);
    assert_int_equal(wg_proto_apply(a->p, &cfg, wg_now()), 0);
}

static void c_info_free(struct wg_device_info *info)
{
    for (size_t j = 0; j < info->n_peers; j++)
        free(info->peers[j].allowed_ips);
    free(info->peers);
    memset(info, 0, sizeof(*info));
}

static void test_concurrent_stress(void **state)
{
    struct cnode *nodes = calloc(2, sizeof(*nodes));
    pthread_t th[4];
    uint8_t dummy[32];

    (void)state;
    randombytes_buf(dummy, 32);
    for (int i = 0; i < 2; i++) {
        struct cnode *n = &nodes[i];
        struct wg_proto_io io = { .ctx = n, .emit = c_emit, .realtime = wg_clock_realtime };
        struct wg_device_config cfg = { .has_private_key = true };

        randombytes_buf(n->priv, 32);
        crypto_scalarmult_base(n->pub, n->priv);
        h_ep(&n->addr, i ? "192.0.2.2" : "192.0.2.1", (uint16_t)(1000 + i));
        n->inner[0] = 10; n->inner[3] = (uint8_t)(i + 1);
        n->other = &nodes[1 - i];
        pthread_mutex_init(&n->mu, NULL);
        assert_int_equal(wg_proto_create(&io, &n->p), 0);
        memcpy(cfg.private_key, n->priv, 32);
        assert_int_equal(wg_proto_apply(n->p, &cfg, wg_now()), 0);
    }
    c_peer(&nodes[0], &nodes[1], false);
    c_peer(&nodes[1], &nodes[0], false);
    atomic_store(&c_stop, false);
    pthread_create(&th[0], NULL, c_tx, &nodes[0]);
    pthread_create(&th[1], NULL, c_rx, &nodes[0]);
    pthread_create(&th[2], NULL, c_tx, &nodes[1]);
    pthread_create(&th[3], NULL, c_rx, &nodes[1]);

    uint64_t end = wg_now() + 1500000000ull;
    for (unsigned round = 0; wg_now() < end; round++) {
        struct wg_device_info info = { 0 };
        for (int i = 0; i < 2; i++) {
            wg_proto_tick(nodes[i].p, wg_now());
            assert_int_equal(wg_proto_get(nodes[i].p, &info, wg_now()), 0);
            c_info_free(&info);
        }
        /* config churn on A: a dummy peer comes and goes, B's allowed-ips
         * are replaced, and every 50 rounds B is removed and re-added
         * (in-flight packets then refer to a dead peer) */
        struct wg_allowedip aip = { .family = AF_INET6, .cidr = 64, .ip = { 0x20, 0x01, 0x0d, 0xb8 } };
        struct wg_peer_config pc = { .remove = round & 1, .n_allowed_ips = 1, .allowed_ips = &aip };
        struct wg_device_config cfg = { .n_peers = 1, .peers = &pc };
        memcpy(pc.public_key, dummy, 32);
        assert_int_equal(wg_proto_apply(nodes[0].p, &cfg, wg_now()), 0);
        c_peer(&nodes[0], &nodes[1], true);
        if (round % 50 == 49) {
            struct wg_peer_config rm = { .remove = true };
            memcpy(rm.public_key, nodes[1].pub, 32);
            cfg.peers = &rm;
            assert_int_equal(wg_proto_apply(nodes[0].p, &cfg, wg_now()), 0);
            c_peer(&nodes[0], &nodes[1], false);
        }
        usleep(1000);
    }
    atomic_store(&c_stop, true);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    print_message("delivered A=%u B=%u\n", atomic_load(&nodes[0].delivered), atomic_load(&nodes[1].delivered));
    assert_true(atomic_load(&nodes[0].delivered) > 0);
    assert_true(atomic_load(&nodes[1].delivered) > 0);
    for (int i = 0; i < 2; i++) {
        wg_proto_destroy(nodes[i].p);
        pthread_mutex_destroy(&nodes[i].mu);
    }
    free(nodes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_PAIR_TEST(test_handshake_and_data),
        H_PAIR_TEST(test_handshake_from_responder_side),
        H_PAIR_TEST(test_padding),
        H_PAIR_TEST(test_padding_capped_at_mtu),
        H_PAIR_TEST(test_psk),
        H_PAIR_TEST(test_bad_mac1_dropped),
        H_PAIR_TEST(test_replayed_initiation),
        H_PAIR_TEST(test_stale_timestamp),
        H_PAIR_TEST(test_initiation_flood_limit),
        H_PAIR_TEST(test_allowed_ips_source_filter),
        H_PAIR_TEST(test_roaming),
        H_PAIR_TEST(test_cookie_under_load),
        H_PAIR_TEST(test_not_under_load_no_cookie),
        H_PAIR_TEST(test_low_order_keys),
        H_PAIR_TEST(test_reject_after_messages),
        H_PAIR_TEST(test_replayed_data),
        H_PAIR_TEST(test_get_and_counters),
        H_PAIR_TEST(test_apply_semantics),
        H_PAIR_TEST(test_private_key_change_rehandshakes),
        H_PAIR_TEST(test_many_peers_routing),
        H_PAIR_TEST(test_responder_waits_for_confirmation),
        H_PAIR_TEST(test_endpoint_reconnected),
        H_PAIR_TEST(test_ipv6_inner),
        H_PAIR_TEST(test_large_config),
        cmocka_unit_test(test_concurrent_stress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
