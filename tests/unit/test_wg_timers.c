/* test_wg_timers.c - the whitepaper's timers on a fake clock with two
 * protocols in memory: rekey after REKEY_AFTER_TIME / REKEY_AFTER_MESSAGES,
 * passive keepalive after KEEPALIVE_TIMEOUT, new handshake when data goes
 * unanswered, persistent keepalive, retransmission with jitter and giving
 * up after REKEY_ATTEMPT_TIME, the last-minute rekey on receive, zeroing of
 * all keys after 3 * REJECT_AFTER_TIME, REJECT_AFTER_TIME itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wg_proto_harness.h"

#define SEC WG_NSEC_PER_SEC

static unsigned count_len(struct h_node *n, uint32_t len)
{
    unsigned c = 0;

    for (unsigned i = 0; i < n->n_out; i++)
        c += n->out[i].len == len;
    return c;
}

static void test_rekey_after_time(void **state)
{
    (void)state;
    h_handshake(&A, &B);
    struct wg_keypair *first = h_peer(&A, &B)->keypairs.current;
    h_advance(119 * SEC, &A, &B);
    assert_int_equal(A.n_out + B.n_out, 0);           /* an idle session is silent */
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_SEND);
    assert_int_equal(count_len(&A, WG_MSG_INITIATION_LEN), 0);
    h_pump(&A, &B);
    /* the responder never rekeys on time */
    h_advance(2 * SEC, &A, &B);
    assert_int_equal(h_send_ip(&B, &A, 10), WG_PKT_SEND);
    assert_int_equal(count_len(&B, WG_MSG_INITIATION_LEN), 0);
    h_deliver(&B, &A);
    h_drop_out(&A);   /* A's passive keepalive, if any, is irrelevant here */
    /* the initiator does, on its next send after 120 s */
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_SEND);
    assert_int_equal(count_len(&A, WG_MSG_INITIATION_LEN), 1);
    h_pump(&A, &B);
    assert_ptr_not_equal(h_peer(&A, &B)->keypairs.current, first);
    /* the old session is still usable for receiving */
    assert_ptr_equal(h_peer(&A, &B)->keypairs.previous, first);
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_SEND);
    assert_true(wg_le64(A.out[0].data + 8) < 3);        /* new counters */
    h_deliver(&A, &B);
    assert_int_equal(B.last_verdict, WG_PKT_DELIVER);
}

static void test_rekey_after_messages(void **state)
{
    (void)state;
    h_handshake(&A, &B);
    h_now += 6 * SEC;     /* past the initiation rate limit (REKEY_TIMEOUT) */
    atomic_store(&h_peer(&A, &B)->keypairs.current->send_counter, WG_REKEY_AFTER_MESSAGES - 1);
    /* nonce REKEY_AFTER_MESSAGES - 1: fine; once more than REKEY_AFTER_MESSAGES
     * were used, rekey (kernel: sending_counter > REKEY_AFTER_MESSAGES) */
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_SEND);
    assert_int_equal(count_len(&A, WG_MSG_INITIATION_LEN), 0);
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_SEND);
    assert_int_equal(count_len(&A, WG_MSG_INITIATION_LEN), 1);
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_SEND);
    assert_int_equal(count_len(&A, WG_MSG_INITIATION_LEN), 1);   /* rate limited */
    h_pump(&A, &B);
    assert_true(atomic_load(&h_peer(&A, &B)->keypairs.current->send_counter) < 4);
}

static void test_passive_keepalive(void **state)
{
    (void)state;
    h_handshake(&A, &B);
    h_send_ip(&A, &B, 10);
    h_deliver(&A, &B);
    assert_int_equal(B.last_verdict, WG_PKT_DELIVER);
    h_advance(9 * SEC + 9 * SEC / 10, &A, &B);
    assert_int_equal(B.n_out, 0);
    h_advance(SEC / 10, &A, &B);
    assert_int_equal(B.n_out, 1);
    assert_int_equal(B.out[0].len, 32);                 /* empty transport message */
    assert_int_equal(B.out[0].data[0], 4);
    h_deliver(&B, &A);
    assert_int_equal(A.last_verdict, WG_PKT_CONSUMED);
    assert_int_equal(A.n_in, 0);
    /* nothing more while idle */
    h_advance(30 * SEC, &A, &B);
    assert_int_equal(A.n_out + B.n_out, 0);

    /* if B answers with data, no keepalive is needed */
    h_send_ip(&A, &B, 10);
    h_deliver(&A, &B);
    h_advance(2 * SEC, &A, &B);
    h_send_ip(&B, &A, 10);
    h_deliver(&B, &A);
    h_advance(20 * SEC, &A, &B);
    assert_int_equal(count_len(&B, 32), 0);
}

static void test_new_handshake_when_unanswered(void **state)
{
    (void)state;
    h_handshake(&A, &B);
    h_send_ip(&A, &B, 10);
    h_deliver(&A, &B);
    /* B's keepalive gets lost; A hears nothing for KEEPALIVE + REKEY_TIMEOUT */
    uint64_t t0 = h_now;
    while (h_now < t0 + 16 * SEC && !count_len(&A, WG_MSG_INITIATION_LEN)) {
        h_advance(SEC / 10, &A, &B);
        h_drop_out(&B);
    }
    assert_int_equal(count_len(&A, WG_MSG_INITIATION_LEN), 1);
    assert_true(h_now >= t0 + 15 * SEC);
    assert_true(h_now <= t0 + 15 * SEC + SEC / 3 + SEC / 10);

    /* with the keepalive delivered, no new handshake */
    h_drop_out(&A);
    h_advance(10 * SEC, &A, &B);
    h_pump(&A, &B);
    h_send_ip(&A, &B, 10);
    h_deliver(&A, &B);
    for (int i = 0; i < 200; i++) {
        h_advance(SEC / 10, &A, &B);
        h_deliver(&B, &A);
    }
    assert_int_equal(count_len(&A, WG_MSG_INITIATION_LEN), 0);
}

static void test_persistent_keepalive(void **state)
{
    (void)state;
    h_handshake(&A, &B);
    /* turning it on sends one at once */
    assert_int_equal(h_add_peer_full(&A, B.pub, NULL, B.inner, 32, NULL, 25), 0);
    assert_int_equal(A.n_out, 1);
    assert_int_equal(A.out[0].len, 32);
    h_deliver(&A, &B);
    for (int round = 0; round < 3; round++) {
        h_advance(24 * SEC + 9 * SEC / 10, &A, &B);
        assert_int_equal(A.n_out, 0);
        h_advance(SEC / 10, &A, &B);
        assert_int_equal(A.n_out, 1);
        assert_int_equal(A.out[0].len, 32);
        h_deliver(&A, &B);
        assert_int_equal(B.last_verdict, WG_PKT_CONSUMED);
    }
    /* off again */
    assert_int_equal(h_add_peer_full(&A, B.pub, NULL, B.inner, 32, NULL, 0), 0);
    struct wg_peer *pa = h_peer(&A, &B);
    pthread_mutex_lock(&pa->lock);
    pa->persistent_keepalive = 0;       /* h_add_peer_full only sets non-zero */
    pa->timers.persistent_keepalive = 0;
    pthread_mutex_unlock(&pa->lock);
    h_advance(60 * SEC, &A, &B);
    assert_int_equal(count_len(&A, 32), 0);
}

static void test_persistent_keepalive_starts_handshake(void **state)
{
    (void)state;
    /* no session yet: enabling the keepalive makes the handshake */
    assert_int_equal(h_add_peer_full(&A, B.pub, NULL, B.inner, 32, NULL, 15), 0);
    assert_int_equal(A.n_out, 1);
    assert_int_equal(A.out[0].len, WG_MSG_INITIATION_LEN);
    h_pump(&A, &B);
    assert_non_null(h_peer(&B, &A)->keypairs.current);   /* confirmed by the keepalive */
}

static void test_retransmit_and_give_up(void **state)
{
    unsigned inits = 0;
    uint64_t last = 0, t0;

    (void)state;
    /* B never answers */
    h_send_ip(&A, &B, 10);
    t0 = h_now;
    for (uint64_t t = 0; t < 200 * SEC; t += SEC / 10) {
        for (unsigned i = 0; i < A.n_out; i++) {
            if (A.out[i].len != WG_MSG_INITIATION_LEN)
                continue;
            if (inits) {
                /* REKEY_TIMEOUT plus up to 1/3 s of jitter (+ tick granularity) */
                assert_true(h_now - last >= 5 * SEC);
                assert_true(h_now - last <= 5 * SEC + SEC / 3 + SEC / 10);
            }
            last = h_now;
            inits++;
        }
        h_drop_out(&A);
        h_advance(SEC / 10, &A, NULL);
    }
    /* the first + one per retry until attempts exceed REKEY_ATTEMPT_TIME/REKEY_TIMEOUT */
    assert_int_equal(inits, 1 + WG_MAX_TIMER_HANDSHAKES + 1);
    assert_true(last - t0 >= 90 * SEC);
    assert_true(last - t0 < 110 * SEC);
    /* gave up: staged packets dropped */
    assert_int_equal(h_peer(&A, &B)->n_staged, 0);
    /* new traffic starts over */
    h_send_ip(&A, &B, 10);
    assert_int_equal(count_len(&A, WG_MSG_INITIATION_LEN), 1);
    h_pump(&A, &B);
    assert_int_equal(B.n_in, 1);
}

static void test_lastminute_rekey_on_receive(void **state)
{
    (void)state;
    h_handshake(&A, &B);
    /* B (responder) sends now and then; A never sends data itself */
    h_advance(164 * SEC, NULL, NULL);
    h_send_ip(&B, &A, 10);
    h_deliver(&B, &A);
    assert_int_equal(count_len(&A, WG_MSG_INITIATION_LEN), 0);
    h_drop_out(&A);
    h_advance(2 * SEC, NULL, NULL);
    h_send_ip(&B, &A, 10);
    h_deliver(&B, &A);
    assert_int_equal(count_len(&A, WG_MSG_INITIATION_LEN), 1);
    h_drop_out(&A);
    /* only once */
    h_now += 6 * SEC;
    h_send_ip(&B, &A, 10);
    h_deliver(&B, &A);
    assert_int_equal(count_len(&A, WG_MSG_INITIATION_LEN), 0);
}

static void test_reject_after_time(void **state)
{
    (void)state;
    h_handshake(&A, &B);
    h_send_ip(&B, &A, 10);
    struct h_msg late = B.out[0];
    h_drop_out(&B);
    h_now += 180 * SEC;
    /* neither side uses the session any more */
    h_rx(&A, &B.addr, late.data, late.len);
    assert_int_equal(A.last_verdict, WG_PKT_DROP);
    assert_int_equal(h_send_ip(&B, &A, 10), WG_PKT_CONSUMED);   /* staged, handshake */
    assert_int_equal(count_len(&B, WG_MSG_INITIATION_LEN), 1);
    h_pump(&A, &B);
    assert_int_equal(A.n_in, 1);
}

static void test_zero_keys_after_540s(void **state)
{
    (void)state;
    h_handshake(&A, &B);
    struct wg_peer *pa = h_peer(&A, &B), *pb = h_peer(&B, &A);
    h_advance(539 * SEC, &A, &B);
    assert_non_null(pa->keypairs.current);
    assert_non_null(pb->keypairs.current);
    h_advance(2 * SEC, &A, &B);
    assert_null(pa->keypairs.current);
    assert_null(pa->keypairs.previous);
    assert_null(pa->keypairs.next);
    assert_null(pb->keypairs.current);
    assert_true(sodium_is_zero(pa->handshake.chaining_key, 32));
    assert_int_equal(A.n_out + B.n_out, 0);
    /* traffic starts a fresh handshake */
    assert_int_equal(h_send_ip(&A, &B, 10), WG_PKT_CONSUMED);
    h_pump(&A, &B);
    assert_int_equal(B.n_in, 1);
}

static void test_tick_deadline(void **state)
{
    (void)state;
    uint64_t next = wg_proto_tick(A.p, h_now);
    assert_true(next > h_now);
    assert_true(next <= h_now + WG_PROTO_TICK_NS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        H_PAIR_TEST(test_rekey_after_time),
        H_PAIR_TEST(test_rekey_after_messages),
        H_PAIR_TEST(test_passive_keepalive),
        H_PAIR_TEST(test_new_handshake_when_unanswered),
        H_PAIR_TEST(test_persistent_keepalive),
        H_PAIR_TEST(test_persistent_keepalive_starts_handshake),
        H_PAIR_TEST(test_retransmit_and_give_up),
        H_PAIR_TEST(test_lastminute_rekey_on_receive),
        H_PAIR_TEST(test_reject_after_time),
        H_PAIR_TEST(test_zero_keys_after_540s),
        H_PAIR_TEST(test_tick_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
