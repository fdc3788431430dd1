/* wg_proto_harness.h - two (or more) wg_proto instances talking in memory
 * with a fake clock: every message a node emits or sends is queued in its
 * outbox; deliver() hands the outbox to another node as if it came from the
 * sender's address.  Shared by test_wg_proto.c and test_wg_timers.c. */
#ifndef WG_PROTO_HARNESS_H
#define WG_PROTO_HARNESS_H

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "wgcore/clock.h"
#include "wgcore/proto.h"
#include "wgcore/peer.h"
#include "wgcore/proto_state.h"
#include "wgcore/messages.h"

#define H_MAXMSG 512
#define H_MSGCAP 2048

struct h_msg {
    struct wg_sockaddr ep;      /* where the sender sent it */
    uint32_t len;
    uint8_t data[H_MSGCAP];
};

struct h_node {
    struct wg_proto *p;
    uint8_t priv[32], pub[32];
    struct wg_sockaddr addr;    /* this node's outer address */
    uint8_t inner[4];           /* this node's tunnel IPv4 */
    unsigned n_out;
    struct h_msg out[H_MAXMSG];
    unsigned n_emitted;         /* total ever emitted/sent */
    unsigned n_in;              /* plaintexts delivered to the "TUN" */
    struct h_msg in[H_MAXMSG];
    enum wg_pkt_verdict last_verdict;
};

static uint64_t h_now = 1000ull * WG_NSEC_PER_SEC;
static uint8_t h_buf[WG_PKT_CAP];

static void h_queue(struct h_node *n, const struct wg_sockaddr *ep, const uint8_t *msg,
                    uint32_t len)
{
    n->n_emitted++;
    if (n->n_out >= H_MAXMSG || len > H_MSGCAP)
        abort();
    n->out[n->n_out].ep = *ep;
    n->out[n->n_out].len = len;
    memcpy(n->out[n->n_out].data, msg, len);
    n->n_out++;
}

static void h_emit(void *ctx, const struct wg_sockaddr *ep, const uint8_t *msg, uint32_t len)
{
    h_queue(ctx, ep, msg, len);
}

static void h_ep(struct wg_sockaddr *ep, const char *ip, uint16_t port)
{
    memset(ep, 0, sizeof(*ep));
    ep->addr.in.sin_family = AF_INET;
    ep->addr.in.sin_port = htons(port);
    inet_pton(AF_INET, ip, &ep->addr.in.sin_addr);
}

static void h_node_init(struct h_node *n, const char *outer_ip, uint16_t port, uint8_t inner_last)
{
    struct wg_proto_io io = { .ctx = n, .emit = h_emit, .realtime = wg_clock_realtime };
    struct wg_device_config cfg = { 0 };

    memset(n, 0, sizeof(*n));
    randombytes_buf(n->priv, 32);
    crypto_scalarmult_base(n->pub, n->priv);
    h_ep(&n->addr, outer_ip, port);
    n->inner[0] = 10; n->inner[1] = 0; n->inner[2] = 0; n->inner[3] = inner_last;
    if (wg_proto_create(&io, &n->p) != 0)
        abort();
    cfg.has_private_key = true;
    memcpy(cfg.private_key, n->priv, 32);
    if (wg_proto_apply(n->p, &cfg, h_now) != 0)
        abort();
}

static void h_node_free(struct h_node *n)
{
    wg_proto_destroy(n->p);
    n->p = NULL;
}

/* Make `a` know `b` as a peer: endpoint b's address, allowed-ips b's
 * inner /32 (plus extra), optional psk and persistent keepalive. */
static int h_add_peer_full(struct h_node *a, const uint8_t pub[32], const struct wg_sockaddr *ep,
                           const uint8_t inner[4], uint8_t cidr, const uint8_t *psk,
                           uint16_t keepalive)
{
    struct wg_allowedip aip = { .family = AF_INET, .cidr = cidr };
    struct wg_peer_config pc = { 0 };
    struct wg_device_config cfg = { 0 };

    memcpy(aip.ip, inner, 4);
    memcpy(pc.public_key, pub, 32);
    if (ep) {
        pc.has_endpoint = true;
        pc.endpoint = *ep;
    }
    if (psk) {
        pc.has_preshared_key = true;
        memcpy(pc.preshared_key, psk, 32);
    }
    if (keepalive) {
        pc.has_persistent_keepalive = true;
        pc.persistent_keepalive = keepalive;
    }
    pc.n_allowed_ips = 1;
    pc.allowed_ips = &aip;
    cfg.n_peers = 1;
    cfg.peers = &pc;
    return wg_proto_apply(a->p, &cfg, h_now);
}

static void h_add_peer(struct h_node *a, struct h_node *b, const uint8_t *psk)
{
    if (h_add_peer_full(a, b->pub, &b->addr, b->inner, 32, psk, 0) != 0)
        abort();
}

/* An IPv4 packet src -> dst with `payload` bytes after the 20-byte header. */
static uint32_t h_ip4(uint8_t *buf, const uint8_t src[4], const uint8_t dst[4], uint32_t payload,
                      uint8_t fill)
{
    uint32_t len = 20 + payload;

    memset(buf, 0, 20);
    buf[0] = 0x45;
    buf[2] = (uint8_t)(len >> 8);
    buf[3] = (uint8_t)len;
    buf[8] = 64;
    buf[9] = 17;
    memcpy(buf + 12, src, 4);
    memcpy(buf + 16, dst, 4);
    memset(buf + 20, fill, payload);
    return len;
}

/* n sends an IP packet to dst through its TUN; a sealed message goes to
 * n's outbox like an emitted one.  Returns the final verdict. */
static enum wg_pkt_verdict h_send_ip_from(struct h_node *n, const uint8_t src[4],
                                          const uint8_t dst[4], uint32_t payload)
{
    struct wg_pkt pkt = { .head = h_buf, .off = WG_PKT_HEADROOM };

    pkt.len = h_ip4(h_buf + WG_PKT_HEADROOM, src, dst, payload, (uint8_t)payload);
    wg_proto_tx_prepare(n->p, &pkt, 1, h_now);
    wg_proto_tx_seal(&pkt, 1);
    wg_proto_tx_finish(n->p, &pkt, 1, h_now);
    if (pkt.verdict == WG_PKT_SEND)
        h_queue(n, &pkt.ep, wg_pkt_data(&pkt), pkt.len);
    n->last_verdict = pkt.verdict;
    return pkt.verdict;
}

static enum wg_pkt_verdict h_send_ip(struct h_node *n, struct h_node *to, uint32_t payload)
{
    return h_send_ip_from(n, n->inner, to->inner, payload);
}

/* One wire message into `to` from address `from`. */
static enum wg_pkt_verdict h_rx(struct h_node *to, const struct wg_sockaddr *from,
                                const uint8_t *msg, uint32_t len)
{
    struct wg_pkt pkt = { .head = h_buf, .off = WG_PKT_HEADROOM, .len = len, .ep = *from };

    memcpy(h_buf + WG_PKT_HEADROOM, msg, len);
    wg_proto_rx_prepare(to->p, &pkt, 1, h_now);
    wg_proto_rx_open(&pkt, 1);
    wg_proto_rx_finish(to->p, &pkt, 1, h_now);
    if (pkt.verdict == WG_PKT_DELIVER) {
        if (to->n_in >= H_MAXMSG)
            abort();
        to->in[to->n_in].ep = *from;
        to->in[to->n_in].len = pkt.len;
        memcpy(to->in[to->n_in].data, wg_pkt_data(&pkt), pkt.len);
        to->n_in++;
    }
    to->last_verdict = pkt.verdict;
    return pkt.verdict;
}

/* Hand all of from's outbox to `to`, as sent from from->addr.  Returns the
 * number delivered.  Messages emitted while delivering stay queued. */
static unsigned h_deliver(struct h_node *from, struct h_node *to)
{
    unsigned n = from->n_out;
    struct h_msg *copy = malloc(sizeof(struct h_msg) * (n ? n : 1));

    memcpy(copy, from->out, sizeof(struct h_msg) * n);
    memmove(from->out, from->out + n, sizeof(struct h_msg) * (from->n_out - n));
    from->n_out -= n;
    for (unsigned i = 0; i < n; i++)
        h_rx(to, &from->addr, copy[i].data, copy[i].len);
    free(copy);
    return n;
}

static void h_drop_out(struct h_node *n)
{
    n->n_out = 0;
}

/* Pump until both outboxes are empty. */
static void h_pump(struct h_node *a, struct h_node *b)
{
    for (int i = 0; i < 16 && (a->n_out || b->n_out); i++) {
        h_deliver(a, b);
        h_deliver(b, a);
    }
}

static void h_tick(struct h_node *n)
{
    wg_proto_tick(n->p, h_now);
}

/* Advance the clock to `to` in steps, ticking every node given. */
static void h_advance(uint64_t delta, struct h_node *a, struct h_node *b)
{
    uint64_t end = h_now + delta;

    while (h_now < end) {
        h_now += WG_PROTO_TICK_NS;
        if (h_now > end)
            h_now = end;
        if (a)
            h_tick(a);
        if (b)
            h_tick(b);
    }
}

/* The peer with this key (no reference taken; valid while the peer is
 * configured). */
static inline struct wg_peer *h_find_peer(struct wg_proto *p, const uint8_t public_key[32])
{
    struct wg_peer *peer;

    pthread_rwlock_rdlock(&p->cfg_lock);
    peer = wg_peer_lookup(p, public_key);
    pthread_rwlock_unlock(&p->cfg_lock);
    return peer;
}

static struct wg_peer *h_peer(struct h_node *n, struct h_node *of)
{
    return h_find_peer(n->p, of->pub);
}

/* The usual pair, as cmocka setup / teardown: A (192.0.2.1, 10.0.0.1) and
 * B (192.0.2.2, 10.0.0.2), each the other's peer, no psk. */
static struct h_node A, B;

static inline int h_pair_setup(void **state)
{
    (void)state;
    h_node_init(&A, "192.0.2.1", 51820, 1);
    h_node_init(&B, "192.0.2.2", 51821, 2);
    h_add_peer(&A, &B, NULL);
    h_add_peer(&B, &A, NULL);
    return 0;
}

static inline int h_pair_teardown(void **state)
{
    (void)state;
    h_node_free(&A);
    h_node_free(&B);
    return 0;
}

#define H_PAIR_TEST(f) cmocka_unit_test_setup_teardown(f, h_pair_setup, h_pair_teardown)

/* Full handshake a -> b, pumped; both sides with a confirmed session. */
static void h_handshake(struct h_node *a, struct h_node *b)
{
    struct wg_peer *pa = h_peer(a, b);

    pthread_mutex_lock(&pa->lock);
    wg_peer_send_initiation(pa, h_now, false);
    pthread_mutex_unlock(&pa->lock);
    h_pump(a, b);
}

#endif
