/* fuzz_proto_session.c - libFuzzer target: two wg_proto instances (A, B)
 * with an established session (tests/unit/wg_proto_harness.h, fake clock),
 * then an input-driven mix of: junk wire messages into A, B sealing
 * arbitrary inner packets to A, delivering either outbox to the other
 * side, replaying old messages, moving the clock with timer ticks
 * (rekeying, keepalives, expiry), and A sending to B.
 *
 * Properties (abort on violation), beyond no crash / leak / UB:
 *   - A delivers to its TUN only packets whose inner source is inside B's
 *     allowed-ips (10.0.0.2/32), as IPv4;
 *   - A never delivers the same (receiver index, counter) twice (replay);
 *   - a junk message that is not a byte copy of a real one is never
 *     delivered.
 *
 * Input: ops, each  op(1) | arg(1) | [len(2 LE) | bytes]  (see run()).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/wg_proto_harness.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define HIST 64
#define SEEN_CAP 8192

static struct h_node A, B;
static struct h_msg hist[HIST];          /* messages B -> A, for replays */
static unsigned n_hist;
static uint64_t seen[SEEN_CAP];          /* (index << 32 ^ counter) delivered by A */
static unsigned n_seen;

static bool seen_add(uint64_t id)
{
    for (unsigned i = 0; i < n_seen; i++)
        if (seen[i] == id)
            return false;
    if (n_seen < SEEN_CAP)
        seen[n_seen++] = id;
    return true;
}

/* One message into A from `from`, with A's delivery properties checked. */
static void rx_a(const struct wg_sockaddr *from, const uint8_t *msg, uint32_t len, bool junk)
{
    uint32_t idx = len >= 16 ? wg_le32(msg + 4) : 0;
    uint64_t ctr = len >= 16 ? wg_le64(msg + 8) : 0;
    bool is_data = len >= 16 && wg_le32(msg) == WG_MSG_DATA;
    unsigned before = A.n_in;

    if (A.n_in >= H_MAXMSG - 1)
        A.n_in = 0;
    before = A.n_in;
    h_rx(&A, from, msg, len);
    if (A.n_in == before)
        return;
    /* delivered */
    const struct h_msg *d = &A.in[A.n_in - 1];
    CHECK(!junk);
    CHECK(is_data);
    CHECK(d->len >= 20 && (d->data[0] >> 4) == 4);
    CHECK(d->data[12] == 10 && d->data[13] == 0 && d->data[14] == 0 && d->data[15] == 2);
    CHECK(seen_add((uint64_t)idx << 32 ^ ctr));
#ifdef FUZZ_PROTO_SESSION_TRACE
    fprintf(stderr, "A delivered %u bytes (index %08x counter %llu)\n", d->len, idx,
            (unsigned long long)ctr);
#endif
}

static void remember(const struct h_msg *m)
{
    hist[n_hist % HIST] = *m;
    n_hist++;
}

static bool is_copy_of_real(const uint8_t *msg, uint32_t len)
{
    for (unsigned i = 0; i < HIST && i < n_hist; i++)
        if (hist[i].len == len && !memcmp(hist[i].data, msg, len))
            return true;
    return false;
}

static void deliver_b_to_a(void)
{
    unsigned n = B.n_out;

    for (unsigned i = 0; i < n; i++) {
        remember(&B.out[i]);
        rx_a(&B.addr, B.out[i].data, B.out[i].len, false);
    }
    memmove(B.out, B.out + n, sizeof(B.out[0]) * (B.n_out - n));
    B.n_out -= n;
}

/* B seals an inner packet (arbitrary bytes, optionally made a plausible
 * IPv4 packet 10.0.0.2 -> 10.0.0.1 or with another source) into B's outbox. */
static void b_send(const uint8_t *body, uint32_t len, uint8_t arg)
{
    struct wg_pkt pkt = { .head = h_buf, .off = WG_PKT_HEADROOM };
    uint8_t *ip = h_buf + WG_PKT_HEADROOM;

    if (len > 1400)
        len = 1400;
    memcpy(ip, body, len);
    if ((arg & 1) && len >= 20) {
        ip[0] = (uint8_t)(0x40 | (ip[0] & 0x0f));
        if (arg & 2) {
            ip[2] = (uint8_t)(len >> 8);
            ip[3] = (uint8_t)len;
        }
        ip[16] = 10, ip[17] = 0, ip[18] = 0, ip[19] = 1;
        if (!(arg & 4))
            ip[12] = 10, ip[13] = 0, ip[14] = 0, ip[15] = 2;
    }
    pkt.len = len;
    wg_proto_tx_prepare(B.p, &pkt, 1, h_now);
    wg_proto_tx_seal(&pkt, 1);
    wg_proto_tx_finish(B.p, &pkt, 1, h_now);
    if (pkt.verdict == WG_PKT_SEND)
        h_queue(&B, &pkt.ep, wg_pkt_data(&pkt), pkt.len);
}

static void keep_bounded(void)
{
    /* the harness aborts at H_MAXMSG queued messages */
    if (A.n_out > H_MAXMSG / 2)
        h_drop_out(&A);
    if (B.n_out > H_MAXMSG / 2)
        h_drop_out(&B);
    if (B.n_in > H_MAXMSG / 2)
        B.n_in = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);   /* libFuzzer calls it */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct wg_sockaddr *srcs[2] = { &B.addr, NULL };
    struct wg_sockaddr stranger;
    size_t pos = 0;

    if (sodium_init() < 0)
        abort();
    h_now = 1000ull * WG_NSEC_PER_SEC;
    n_hist = n_seen = 0;
    h_node_init(&A, "192.0.2.1", 51820, 1);
    h_node_init(&B, "192.0.2.2", 51821, 2);
    h_ep(&stranger, "198.51.100.9", 4444);
    srcs[1] = &stranger;
    h_add_peer(&A, &B, NULL);
    h_add_peer(&B, &A, NULL);
    h_handshake(&B, &A);
    A.n_in = B.n_in = 0;

    while (pos + 2 <= size) {
        uint8_t op = data[pos], arg = data[pos + 1];
        const uint8_t *body = NULL;
        uint32_t len = 0;

        pos += 2;
        if (op & 0x80) {                /* the op carries bytes */
            if (pos + 2 > size)
                break;
            len = (uint32_t)data[pos] | (uint32_t)data[pos + 1] << 8;
            pos += 2;
            if (len > size - pos)
                len = (uint32_t)(size - pos);
            if (len > H_MSGCAP)
                len = H_MSGCAP;
            body = data + pos;
            pos += len;
        }
        switch (op & 7) {
        case 0:                          /* junk (or a copy) into A */
            if (body)
                rx_a(srcs[arg & 1], body, len, !is_copy_of_real(body, len));
            break;
        case 1:                          /* B seals an inner packet */
            if (body)
                b_send(body, len, arg);
            break;
        case 2:
            deliver_b_to_a();
            break;
        case 3:
            h_deliver(&A, &B);
            break;
        case 4:                          /* replay an old B -> A message */
            if (n_hist) {
                const struct h_msg *m = &hist[arg % (n_hist < HIST ? n_hist : HIST)];
                rx_a(arg & 0x80 ? &stranger : &B.addr, m->data, m->len, false);
            }
            break;
        case 5:                          /* time passes, timers tick */
            h_advance(arg & 0x80 ? (uint64_t)(arg & 0x7f) * 10 * WG_NSEC_PER_SEC
                                 : (uint64_t)arg * (WG_NSEC_PER_SEC / 10), &A, &B);
            break;
        case 6:                          /* A -> B traffic */
            h_send_ip(&A, &B, arg);
            break;
        default:                         /* a real message with one byte changed */
            if (n_hist) {
                struct h_msg m = hist[arg % (n_hist < HIST ? n_hist : HIST)];
                if (m.len) {
                    m.data[(op >> 3) % m.len] ^= (uint8_t)(arg | 1);
                    rx_a(&B.addr, m.data, m.len, !is_copy_of_real(m.data, m.len));
                }
            }
            break;
        }
        keep_bounded();
    }
    h_node_free(&A);
    h_node_free(&B);
    return 0;
}
