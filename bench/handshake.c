/* bench/handshake.c - WireGuard handshakes per second as the responder, on
 * one core, beside the bound X25519 alone sets.
 *
 * A responder (wg_proto, the engine's protocol core, no I/O) knows N peers;
 * N initiations, one from each peer, are made beforehand (not timed), then
 * fed to the responder one by one and every one must produce a response.
 * The protocol's clock is advanced 5 ms per message, so it never thinks it
 * is under load (that would answer with cookies, without any X25519).
 *
 * Per handshake the responder does 3 variable-base X25519 multiplications
 * (DH(s_r, e_i), DH(e_r, e_i), DH(e_r, s_i); the static-static one is
 * precomputed per peer) and 1 fixed-base one (its ephemeral key), so the
 * bound is 1 / (3 t_var + t_base), both timed here with libsodium, in
 * slices taking turns with the handshakes.  Median of 3 rounds; the ratio
 * handshakes / bound is printed.
 *
 *   bench-handshake [-n HANDSHAKES_PER_ROUND]      default 2000
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "wgcore/messages.h"
#include "wgcore/clock.h"
#include "wgcore/proto.h"
#include "wgcore/wgcore.h"

#define ROUNDS 3

struct capture {
    uint8_t msg[256];
    uint32_t len;
    unsigned responses;
};

static void capture_emit(void *ctx, const struct wg_sockaddr *ep, const uint8_t *m, uint32_t len)
{
    struct capture *c = ctx;

    (void)ep;
    if (m[0] == WG_MSG_RESPONSE)
        c->responses++;
    if (len <= sizeof(c->msg)) {
        memcpy(c->msg, m, len);
        c->len = len;
    }
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sockaddr_v4(struct wg_sockaddr *a, uint32_t ip, uint16_t port)
{
    memset(a, 0, sizeof(*a));
    a->addr.in.sin_family = AF_INET;
    a->addr.in.sin_addr.s_addr = htonl(ip);
    a->addr.in.sin_port = htons(port);
}

/* One initiation from a fresh key to the responder; its public key in pub. */
static int make_initiation(const uint8_t resp_pub[32], uint8_t pub[32], uint8_t msg[WG_MSG_INITIATION_LEN])
{
    static uint8_t buf[WG_PKT_CAP];
    struct capture cap = { 0 };
    struct wg_proto_io io = { .ctx = &cap, .emit = capture_emit, .realtime = wg_clock_realtime };
    struct wg_peer_config pc = { .has_endpoint = true };
    struct wg_device_config cfg = { .has_private_key = true, .n_peers = 1, .peers = &pc };
    struct wg_allowedip any = { .family = AF_INET, .cidr = 0 };
    struct wg_pkt pkt = { .head = buf, .off = WG_PKT_HEADROOM, .len = 20 };
    struct wg_proto *p;
    uint8_t *ip = buf + WG_PKT_HEADROOM;

    randombytes_buf(cfg.private_key, 32);
    cfg.private_key[0] &= 248; cfg.private_key[31] = (cfg.private_key[31] & 127) | 64;
    crypto_scalarmult_base(pub, cfg.private_key);
    memcpy(pc.public_key, resp_pub, 32);
    sockaddr_v4(&pc.endpoint, 0x7f000001, 51820);
    pc.n_allowed_ips = 1;
    pc.allowed_ips = &any;
    if (wg_proto_create(&io, &p) || wg_proto_apply(p, &cfg, wg_now()))
        return -1;
    memset(ip, 0, 20);
    ip[0] = 0x45; ip[3] = 20; ip[8] = 64; ip[9] = 253;
    ip[12] = 10; ip[15] = 2; ip[16] = 10; ip[19] = 1;
    wg_proto_tx_prepare(p, &pkt, 1, wg_now());      /* staged: starts a handshake */
    wg_proto_destroy(p);
    if (cap.len != WG_MSG_INITIATION_LEN || cap.msg[0] != WG_MSG_INITIATION)
        return -1;
    memcpy(msg, cap.msg, WG_MSG_INITIATION_LEN);
    return 0;
}

static double x25519_per_s(bool base, double secs)
{
    uint8_t sk[32], pk[32], out[32];
    unsigned long n = 0;
    double t0 = now_s(), t;

    randombytes_buf(sk, 32);
    crypto_scalarmult_base(pk, sk);
    do {
        for (int i = 0; i < 64; i++) {
            if (base)
                crypto_scalarmult_base(out, sk);
            else if (crypto_scalarmult(out, sk, pk) != 0)
                abort();
            sk[0] ^= out[1];
        }
        n += 64;
    } while ((t = now_s()) - t0 < secs);
    return (double)n / (t - t0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    unsigned n = 2000;
    int opt;
    double hs[ROUNDS], bound[ROUNDS], var[ROUNDS], base[ROUNDS];

    while ((opt = getopt(argc, argv, "n:")) != -1) {
        if (opt != 'n' || (n = (unsigned)atoi(optarg)) < 10 || n > 100000) {
            fprintf(stderr, "usage: %s [-n HANDSHAKES_PER_ROUND]\n", argv[0]);
            return 2;
        }
    }
    if (sodium_init() < 0)
        return 1;
    wg_log_set_level(WG_LOG_SILENT);
    for (int r = 0; r < ROUNDS; r++) {
        static uint8_t buf[WG_PKT_CAP];
        struct capture cap = { 0 };
        struct wg_proto_io io = { .ctx = &cap, .emit = capture_emit, .realtime = wg_clock_realtime };
        struct wg_device_config cfg = { .has_private_key = true, .n_peers = n };
        struct wg_peer_config *peers = calloc(n, sizeof(*peers));
        uint8_t (*init)[WG_MSG_INITIATION_LEN] = malloc((size_t)n * WG_MSG_INITIATION_LEN);
        uint8_t resp_pub[32];
        struct wg_proto *resp;
        uint64_t clock;
        double t0, t1;

        if (!peers || !init)
            return 1;
        randombytes_buf(cfg.private_key, 32);
        cfg.private_key[0] &= 248; cfg.private_key[31] = (cfg.private_key[31] & 127) | 64;
        crypto_scalarmult_base(resp_pub, cfg.private_key);
        for (unsigned i = 0; i < n; i++)
            if (make_initiation(resp_pub, peers[i].public_key, init[i]) != 0) {
                fprintf(stderr, "cannot make initiation %u\n", i);
                return 1;
            }
        cfg.peers = peers;
        if (wg_proto_create(&io, &resp) || wg_proto_apply(resp, &cfg, wg_now()))
            return 1;
        /* Handshakes and X25519 alone take turns in 4 slices, so a burst of
         * load on the machine hits both alike. */
        clock = wg_now();
        var[r] = base[r] = 0;
        t1 = 0;
        for (unsigned slice = 0; slice < 4; slice++) {
            var[r] += x25519_per_s(false, 0.1) / 4;
            base[r] += x25519_per_s(true, 0.1) / 4;
            t0 = now_s();
            for (unsigned i = slice * n / 4; i < (slice + 1) * n / 4; i++) {
                struct wg_pkt pkt = { .head = buf, .off = WG_PKT_HEADROOM, .len = WG_MSG_INITIATION_LEN };

                memcpy(buf + WG_PKT_HEADROOM, init[i], WG_MSG_INITIATION_LEN);
                sockaddr_v4(&pkt.ep, 0x7f0a0000u + i, 40000);
                clock += 5 * 1000 * 1000;   /* 200/s in protocol time: never under load */
                wg_proto_rx_prepare(resp, &pkt, 1, clock);
            }
            t1 += now_s() - t0;
        }
        bound[r] = 1.0 / (3.0 / var[r] + 1.0 / base[r]);
        t0 = 0;
        if (cap.responses != n) {
            fprintf(stderr, "round %d: %u responses for %u initiations\n", r + 1, cap.responses, n);
            return 1;
        }
        hs[r] = n / t1;
        printf("round %d: %.0f handshakes/s, X25519 %.0f/s variable base, %.0f/s fixed base -> bound %.0f/s\n",
               r + 1, hs[r], var[r], base[r], bound[r]);
        wg_proto_destroy(resp);
        free(peers);
        free(init);
    }
    qsort(hs, ROUNDS, sizeof(double), cmp_double);
    qsort(bound, ROUNDS, sizeof(double), cmp_double);
    printf("responder handshakes/s, one core (median of %d): %.0f   X25519 bound: %.0f   ratio %.2f\n",
           ROUNDS, hs[ROUNDS / 2], bound[ROUNDS / 2], hs[ROUNDS / 2] / bound[ROUNDS / 2]);
    return 0;
}
