/* hub_initiators.c - many WireGuard initiators in one process, each with
 * its own key and its own UDP socket, against one real hub
 * (tests/netns/test_hub_many_peers.sh: wgvsockd with the peers of a /22).
 *
 *   hub_initiators HUB_PUB HUB_IP HUB_PORT SEED ADD SUBNET COUNT SECONDS
 *
 * Initiator i is the container with address SUBNET + 2 + i (the key the
 * plugin would derive: keyderive's scheme with SEED/ADD), bound to its own
 * loopback address 127.10.(i / 250).(1 + i % 250) so the hub's per-source
 * rate limiter sees distinct clients.  Each sends one packet, which makes
 * its wg_proto start a handshake; the handshake is complete when the
 * initiator sends its first data message (the staged packet) - which the
 * hub needs to confirm the session.  At most WINDOW handshakes are in
 * flight at once, like clients arriving together.
 *
 * A cookie reply (the hub under load) is answered the way the protocol
 * would after REKEY_TIMEOUT: the initiator's own clock is moved forward by
 * REKEY_TIMEOUT + 1 s so its retransmit timer fires now, with the cookie's
 * mac2.  Each initiator's clock is its own, so nothing else is skipped.
 *
 * Prints "done=N of COUNT in S s (R/s) cookies=C" and exits 0 when all
 * COUNT completed within SECONDS, 1 otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sodium.h>

#include "keyderive/keyderive.h"
#include "wgcore/messages.h"
#include "wgcore/clock.h"
#include "wgcore/proto.h"
#include "wgcore/wgcore.h"

#define WINDOW 128

struct initiator {
    struct wg_proto *p;
    int fd;
    uint8_t inner[4];
    uint64_t clock_skew;        /* ns this initiator's clock is ahead */
    bool started, done;
};

static unsigned n_done, n_cookies;

static uint64_t clock_of(const struct initiator *in)
{
    return wg_now() + in->clock_skew;
}

static void emit(void *ctx, const struct wg_sockaddr *ep, const uint8_t *m, uint32_t len)
{
    struct initiator *in = ctx;

    if (m[0] == 4 && !in->done) {       /* first data message: handshake done */
        in->done = true;
        n_done++;
    }
    (void)!sendto(in->fd, m, len, MSG_DONTWAIT, &ep->addr.sa, sizeof(ep->addr.in));
}

/* An IPv4 header with no payload from the initiator's tunnel address to the
 * hub's: staged until the session exists, then sent as data. */
static void send_first_packet(struct initiator *in, const uint8_t hub_inner[4])
{
    static uint8_t buf[WG_PKT_CAP];
    uint8_t *ip = buf + WG_PKT_HEADROOM;
    struct wg_pkt pkt = { .head = buf, .off = WG_PKT_HEADROOM, .len = 20 };
    uint64_t now = clock_of(in);

    memset(ip, 0, 20);
    ip[0] = 0x45; ip[3] = 20; ip[8] = 64; ip[9] = 253;     /* RFC 3692 experimental */
    memcpy(ip + 12, in->inner, 4);
    memcpy(ip + 16, hub_inner, 4);
    wg_proto_tx_prepare(in->p, &pkt, 1, now);
    wg_proto_tx_seal(&pkt, 1);
    wg_proto_tx_finish(in->p, &pkt, 1, now);
    if (pkt.verdict == WG_PKT_SEND)
        emit(in, &pkt.ep, wg_pkt_data(&pkt), pkt.len);
}

static int setup(struct initiator *in, unsigned i, const struct kd_secret *seed, const struct kd_secret *add,
                 uint32_t subnet, const uint8_t hub_pub[32], const struct wg_sockaddr *hub)
{
    struct wg_allowedip aip = { .family = AF_INET, .cidr = 0 };
    struct wg_peer_config pc = { .has_endpoint = true, .endpoint = *hub, .n_allowed_ips = 1, .allowed_ips = &aip };
    struct wg_device_config cfg = { .has_private_key = true, .n_peers = 1, .peers = &pc };
    struct wg_proto_io io = { .ctx = in, .emit = emit, .realtime = wg_clock_realtime };
    struct kd_address a = { .family = AF_INET };
    struct sockaddr_in me = { .sin_family = AF_INET };
    uint32_t addr = subnet + 2 + i;
    int rc;

    a.bytes[0] = (uint8_t)(addr >> 24); a.bytes[1] = (uint8_t)(addr >> 16);
    a.bytes[2] = (uint8_t)(addr >> 8); a.bytes[3] = (uint8_t)addr;
    memcpy(in->inner, a.bytes, 4);
    memcpy(pc.public_key, hub_pub, 32);
    if (kd_derive_private(cfg.private_key, seed, add, &a) != 0)
        return -1;
    in->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    me.sin_addr.s_addr = htonl(0x7f0a0000u | (i / 250) << 8 | (1 + i % 250));
    if (in->fd < 0 || bind(in->fd, (struct sockaddr *)&me, sizeof(me)) < 0)
        return -1;
    rc = wg_proto_create(&io, &in->p) ? -1 : wg_proto_apply(in->p, &cfg, clock_of(in)) ? -1 : 0;
    sodium_memzero(cfg.private_key, 32);
    return rc;
}

static void receive(struct initiator *in)
{
    static uint8_t buf[WG_PKT_CAP];

    for (;;) {
        struct wg_pkt r = { .head = buf, .off = WG_PKT_HEADROOM };
        socklen_t sl = sizeof(r.ep.addr.in);
        ssize_t n = recvfrom(in->fd, buf + WG_PKT_HEADROOM, WG_PKT_CAP - WG_PKT_HEADROOM, 0, &r.ep.addr.sa, &sl);

        if (n <= 0)
            return;
        r.len = (uint32_t)n;
        if (buf[WG_PKT_HEADROOM] == 3) {
            n_cookies++;
            /* consume the cookie, then let REKEY_TIMEOUT pass for this one */
            wg_proto_rx_prepare(in->p, &r, 1, clock_of(in));
            in->clock_skew += WG_REKEY_TIMEOUT + WG_NSEC_PER_SEC;
            wg_proto_tick(in->p, clock_of(in));
            continue;
        }
        wg_proto_rx_prepare(in->p, &r, 1, clock_of(in));
        wg_proto_rx_open(&r, 1);
        wg_proto_rx_finish(in->p, &r, 1, clock_of(in));
    }
}

static bool key(uint8_t out[32], const char *b64)
{
    return kd_key_from_b64(out, b64) == 0;
}

int main(int argc, char **argv)
{
    struct kd_secret seed, add;
    struct wg_sockaddr hub = { 0 };
    struct in_addr subnet_in;
    uint8_t hub_pub[32], hub_inner[4];
    struct initiator *ins;
    unsigned count, next = 0, in_flight;
    struct rlimit rl;
    uint64_t t0, deadline;
    int ep;

    if (argc != 9 || sodium_init() < 0 || !key(hub_pub, argv[1]) ||
        inet_pton(AF_INET, argv[2], &hub.addr.in.sin_addr) != 1 || kd_secret_from_b64(&seed, argv[4]) ||
        kd_secret_from_b64(&add, argv[5]) || inet_pton(AF_INET, argv[6], &subnet_in) != 1 ||
        (count = (unsigned)atoi(argv[7])) == 0 || count > 60000) {
        fprintf(stderr, "usage: hub_initiators HUB_PUB HUB_IP HUB_PORT SEED ADD SUBNET COUNT SECONDS\n");
        return 2;
    }
    hub.addr.in.sin_family = AF_INET;
    hub.addr.in.sin_port = htons((uint16_t)atoi(argv[3]));
    memcpy(hub_inner, &subnet_in, 4);
    hub_inner[3] |= 1;                  /* the gateway address */
    rl.rlim_cur = rl.rlim_max = count + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < count + 64) {
        rl.rlim_cur = rl.rlim_max > count + 64 ? count + 64 : rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    ins = calloc(count, sizeof(*ins));
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (!ins || ep < 0)
        return 1;
    for (unsigned i = 0; i < count; i++) {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &ins[i] };

        if (setup(&ins[i], i, &seed, &add, ntohl(subnet_in.s_addr), hub_pub, &hub) < 0 ||
            epoll_ctl(ep, EPOLL_CTL_ADD, ins[i].fd, &ev) < 0) {
            fprintf(stderr, "initiator %u: %s\n", i, strerror(errno));
            return 1;
        }
    }
    kd_secret_wipe(&seed);
    kd_secret_wipe(&add);

    t0 = wg_now();
    deadline = t0 + (uint64_t)atoi(argv[8]) * WG_NSEC_PER_SEC;
    while (n_done < count && wg_now() < deadline) {
        struct epoll_event evs[64];
        int n;

        in_flight = next - n_done;
        while (next < count && in_flight < WINDOW) {
            ins[next].started = true;
            send_first_packet(&ins[next++], hub_inner);
            in_flight++;
        }
        n = epoll_wait(ep, evs, 64, 100);
        for (int k = 0; k < n; k++)
            receive(evs[k].data.ptr);
        /* retransmits for the ones whose messages were lost */
        for (unsigned i = 0; n == 0 && i < next; i++)
            if (!ins[i].done)
                wg_proto_tick(ins[i].p, clock_of(&ins[i]));
    }
    double secs = (double)(wg_now() - t0) / 1e9;
    printf("done=%u of %u in %.2f s (%.0f/s) cookies=%u\n", n_done, count, secs, n_done / secs, n_cookies);
    for (unsigned i = 0; i < count; i++) {
        wg_proto_destroy(ins[i].p);
        close(ins[i].fd);
    }
    free(ins);
    close(ep);
    return n_done == count ? 0 : 1;
}
