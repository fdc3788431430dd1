/* fuzz_proto_rx.c - libFuzzer target: arbitrary wire messages into the
 * receive path of a wg_proto with a private key and one configured peer
 * (endpoint, allowed-ips), through rx_prepare / rx_open / rx_finish in
 * batches, with a fake clock.
 *
 * Properties (abort on violation):
 *   - nothing crashes, nothing leaks (ASan/LSan, UBSan fatal);
 *   - unauthenticated input gets no answer but a cookie reply: every
 *     emitted message is exactly a 64-byte type-3 message, at most one per
 *     input packet, and only to the source of a packet in the batch;
 *   - nobody can hold a session key, so no packet ever reaches OPEN or
 *     DELIVER.
 *
 * Input: records  ctl(1) | len(2, LE) | len bytes
 *   ctl bits 0-1  source: 0 = 192.0.2.1:1000, 1 = 192.0.2.2:2000,
 *                 2 = [2001:db8::1]:3000, 3 = no address (AF_UNSPEC)
 *   bit 2         recompute mac1 (for our public key), so handshake
 *                 messages get past the mac1 check into Noise and, in
 *                 volume, into the under-load cookie path; and, once a
 *                 cookie reply to that source was seen (the harness opens
 *                 it like a real initiator), mac2 too, reaching the
 *                 "valid cookie under load" path and the rate limiter
 *   bit 3         this record ends the batch (also: 16 packets, or input end)
 *   bits 4-5      shape: 0 raw; 1 initiation (type 1, 148 bytes); 2 response
 *                 (type 2, 92 bytes); 3 data (type 4, >= 32 bytes) or, when
 *                 the first byte is odd, cookie reply (type 3, 64 bytes) -
 *                 the record's bytes fill the message after its type field
 *   bits 6-7      clock advance after the batch: 0, 1 ms, 300 ms, 3 s
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <blake2.h>
#include <sodium.h>

#include "wgcore/clock.h"
#include "wgcore/proto.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define BATCH 16

static uint8_t bufs[BATCH][WG_PKT_CAP];
static struct wg_pkt pkts[BATCH];
static struct wg_sockaddr srcs[4];
static uint8_t our_priv[32], our_pub[32], peer_pub[32], mac1_key[32], cookie_key[32];
static bool ready;

static struct {
    bool armed;             /* only during rx calls */
    unsigned n_batch;       /* packets in the current batch */
    unsigned emitted;
    bool have_cookie[4];    /* per source: a cookie from a reply */
    uint8_t cookie[4][16];
    uint8_t sent_mac1[BATCH][16];   /* mac1 of each packet as sent */
} st;

static int src_index(const struct wg_sockaddr *ep)
{
    for (int i = 0; i < 4; i++)
        if (wg_sockaddr_equal(ep, &srcs[i]))
            return i;
    return -1;
}

/* Open a cookie reply as the initiator would: XChaCha20-Poly1305 under
 * HASH("cookie--" || our_pub), associated data = mac1 of the message it
 * answers (one of this batch's). */
static void take_cookie(const struct wg_sockaddr *ep, const uint8_t *msg)
{
    int s = src_index(ep);
    uint8_t cookie[16];

    if (s < 0)
        return;
    for (unsigned i = 0; i < st.n_batch; i++) {
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL, msg + 32, 32,
                                                       st.sent_mac1[i], 16, msg + 8,
                                                       cookie_key) == 0) {
            memcpy(st.cookie[s], cookie, 16);
            st.have_cookie[s] = true;
            return;
        }
    }
}

static void emit(void *ctx, const struct wg_sockaddr *ep, const uint8_t *msg, uint32_t len)
{
    CHECK(st.armed);
    CHECK(len == 64);
    CHECK(msg[0] == 3 && msg[1] == 0 && msg[2] == 0 && msg[3] == 0);
    CHECK(++st.emitted <= st.n_batch);
    bool known = false;
    for (unsigned i = 0; i < st.n_batch; i++)
        known |= wg_sockaddr_equal(ep, &pkts[i].ep);
    CHECK(known);
    take_cookie(ep, msg);
#ifdef FUZZ_PROTO_RX_TRACE
    fprintf(stderr, "cookie reply #%u, cookies held %d%d%d%d\n", st.emitted, st.have_cookie[0],
            st.have_cookie[1], st.have_cookie[2], st.have_cookie[3]);
#endif
}

static void setup(void)
{
    uint8_t peer_priv[32];

    if (ready)
        return;
    CHECK(sodium_init() >= 0);
    for (int i = 0; i < 32; i++) {
        our_priv[i] = (uint8_t)(0x40 + i);
        peer_priv[i] = (uint8_t)(0x90 + 3 * i);
    }
    CHECK(crypto_scalarmult_base(our_pub, our_priv) == 0);
    CHECK(crypto_scalarmult_base(peer_pub, peer_priv) == 0);
    /* mac1 key = HASH("mac1----" || responder public key) */
    uint8_t label[8 + 32];
    memcpy(label, "mac1----", 8);
    memcpy(label + 8, our_pub, 32);
    CHECK(blake2s(mac1_key, label, NULL, 32, sizeof(label), 0) == 0);
    memcpy(label, "cookie--", 8);
    CHECK(blake2s(cookie_key, label, NULL, 32, sizeof(label), 0) == 0);

    memset(srcs, 0, sizeof(srcs));
    srcs[0].addr.in.sin_family = AF_INET;
    srcs[0].addr.in.sin_port = htons(1000);
    inet_pton(AF_INET, "192.0.2.1", &srcs[0].addr.in.sin_addr);
    srcs[1].addr.in.sin_family = AF_INET;
    srcs[1].addr.in.sin_port = htons(2000);
    inet_pton(AF_INET, "192.0.2.2", &srcs[1].addr.in.sin_addr);
    srcs[2].addr.in6.sin6_family = AF_INET6;
    srcs[2].addr.in6.sin6_port = htons(3000);
    inet_pton(AF_INET6, "2001:db8::1", &srcs[2].addr.in6.sin6_addr);
    srcs[3].addr.sa.sa_family = AF_UNSPEC;
    ready = true;
}

static struct wg_proto *make_proto(void)
{
    struct wg_proto_io io = { .ctx = NULL, .emit = emit, .realtime = wg_clock_realtime };
    struct wg_proto *p;
    struct wg_allowedip aips[2];
    struct wg_peer_config peer;
    struct wg_device_config cfg;

    CHECK(wg_proto_create(&io, &p) == 0);
    memset(aips, 0, sizeof(aips));
    aips[0].family = AF_INET;
    aips[0].cidr = 32;
    aips[0].ip[0] = 10, aips[0].ip[3] = 2;
    aips[1].family = AF_INET6;
    aips[1].cidr = 128;
    aips[1].ip[0] = 0xfd, aips[1].ip[15] = 2;
    memset(&peer, 0, sizeof(peer));
    memcpy(peer.public_key, peer_pub, 32);
    peer.has_endpoint = true;
    peer.endpoint = srcs[0];
    peer.replace_allowed_ips = true;
    peer.n_allowed_ips = 2;
    peer.allowed_ips = aips;
    memset(&cfg, 0, sizeof(cfg));
    cfg.has_private_key = true;
    memcpy(cfg.private_key, our_priv, 32);
    cfg.n_peers = 1;
    cfg.peers = &peer;
    CHECK(wg_proto_apply(p, &cfg, 1000000000ull) == 0);
    return p;
}

static void run_batch(struct wg_proto *p, unsigned n, uint64_t now)
{
    st.armed = true;
    st.n_batch = n;
    st.emitted = 0;
    wg_proto_rx_prepare(p, pkts, n, now);
    for (unsigned i = 0; i < n; i++)
        CHECK(pkts[i].verdict == WG_PKT_DROP || pkts[i].verdict == WG_PKT_CONSUMED);
    wg_proto_rx_open(pkts, n);
    wg_proto_rx_finish(p, pkts, n, now);
    for (unsigned i = 0; i < n; i++)
        CHECK(pkts[i].verdict != WG_PKT_DELIVER && pkts[i].verdict != WG_PKT_OPEN &&
              pkts[i].verdict != WG_PKT_SEND);
    st.armed = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);   /* libFuzzer calls it */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t advance[4] = { 0, 1000000ull, 300000000ull, 3000000000ull };
    uint64_t now = 2000000000ull;
    unsigned n = 0;
    size_t pos = 0;

    setup();
    memset(&st, 0, sizeof(st));
    struct wg_proto *p = make_proto();

    while (pos + 3 <= size) {
        uint8_t ctl = data[pos];
        size_t len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        const uint8_t *body = data + pos;
        pos += len;

        struct wg_pkt *pkt = &pkts[n];
        uint8_t *msg = bufs[n] + WG_PKT_HEADROOM;
        uint32_t mlen;
        unsigned shape = (ctl >> 4) & 3;

        memset(pkt, 0, sizeof(*pkt));
        pkt->head = bufs[n];
        pkt->off = WG_PKT_HEADROOM;
        pkt->ep = srcs[ctl & 3];
        if (shape == 0) {
            mlen = (uint32_t)len;
            memcpy(msg, body, len);
        } else {
            uint32_t type;
            if (shape == 1) {
                type = 1, mlen = 148;
            } else if (shape == 2) {
                type = 2, mlen = 92;
            } else if (len && (body[0] & 1)) {
                type = 3, mlen = 64;
            } else {
                type = 4, mlen = len + 4 < 32 ? 32 : (uint32_t)len + 4;
            }
            memset(msg, 0, mlen);
            memcpy(msg + 4, body, len < mlen - 4 ? len : mlen - 4);
            msg[0] = (uint8_t)type;
            msg[1] = msg[2] = msg[3] = 0;
        }
        if ((ctl & 4) && mlen >= 36) {
            /* mac1 = MAC(HASH(label || our_pub), msg[0 .. len - 32]) */
            CHECK(blake2s(msg + mlen - 32, msg, mac1_key, 16, mlen - 32, 32) == 0);
            /* mac2 = MAC(cookie, msg[0 .. len - 16]) */
            if (st.have_cookie[ctl & 3])
                CHECK(blake2s(msg + mlen - 16, msg, st.cookie[ctl & 3], 16, mlen - 16, 16) == 0);
        }
        if (mlen >= 32)
            memcpy(st.sent_mac1[n], msg + mlen - 32, 16);
        else
            memset(st.sent_mac1[n], 0, 16);
        pkt->len = mlen;
        n++;
        if (n == BATCH || (ctl & 8) || pos + 3 > size) {
            run_batch(p, n, now);
            now += advance[ctl >> 6];
            n = 0;
        }
    }
    if (n)
        run_batch(p, n, now);
    wg_proto_destroy(p);
    return 0;
}
