/* wggo_peer.c - wg_proto on a plain UDP socket, no TUN: the protocol alone
 * against a real Debian wireguard-go (test_proto_wggo.sh).
 *
 *   wggo_peer PRIV PEERPUB PEER_IP PEER_PORT LOCAL_IP LOCAL_PORT MODE SECONDS [PSK]
 *
 * Our tunnel address is 10.9.0.2, the peer's 10.9.0.1.
 * MODE ping:    send ICMP echo requests (one per 250 ms) and count replies
 * MODE answer:  answer the echo requests the peer sends
 * MODE cookie:  answer, and feed 300 junk initiations before each real one
 *               so the protocol is under load and must use cookies
 * Prints "ok=N sent=M" (replies received or requests answered; requests
 * sent) and exits 0 if
 * N > 0.  Logs at debug level on stderr. */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "wgcore/clock.h"
#include "wgcore/proto.h"
#include "wgcore/wgcore.h"

static int sock;
static unsigned cookies_sent;

static void emit(void *ctx, const struct wg_sockaddr *ep, const uint8_t *m, uint32_t len)
{
    (void)ctx;
    if (m[0] == 3)
        cookies_sent++;
    sendto(sock, m, len, 0, &ep->addr.sa, sizeof(ep->addr.in));
}

static uint16_t csum(const uint8_t *b, size_t n)
{
    uint32_t s = 0;

    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (n & 1)
        s += (uint32_t)b[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void send_ip(struct wg_proto *p, uint8_t *buf, uint32_t len)
{
    struct wg_pkt pkt = { .head = buf, .off = WG_PKT_HEADROOM, .len = len };

    wg_proto_tx_prepare(p, &pkt, 1, wg_now());
    wg_proto_tx_seal(&pkt, 1);
    wg_proto_tx_finish(p, &pkt, 1, wg_now());
    if (pkt.verdict == WG_PKT_SEND)
        sendto(sock, wg_pkt_data(&pkt), pkt.len, 0, &pkt.ep.addr.sa, sizeof(pkt.ep.addr.in));
}

static bool key(uint8_t out[32], const char *b64)
{
    size_t l = 0;

    return sodium_base642bin(out, 32, b64, strlen(b64), NULL, &l, NULL,
                             sodium_base64_VARIANT_ORIGINAL) == 0 && l == 32;
}

int main(int argc, char **argv)
{
    static uint8_t buf[WG_PKT_CAP], junk[WG_PKT_CAP];
    struct wg_allowedip aip = { .family = AF_INET, .cidr = 32, .ip = { 10, 9, 0, 1 } };
    struct wg_peer_config pc = { .has_endpoint = true, .n_allowed_ips = 1, .allowed_ips = &aip };
    struct wg_device_config cfg = { .has_private_key = true, .n_peers = 1, .peers = &pc };
    struct wg_proto_io io = { .emit = emit, .realtime = wg_clock_realtime };
    struct sockaddr_in me = { .sin_family = AF_INET };
    struct wg_proto *p;
    unsigned ok = 0, seq = 0;

    if (argc < 9 || sodium_init() < 0 || !key(cfg.private_key, argv[1]) ||
        !key(pc.public_key, argv[2]) || (argc > 9 && !key(pc.preshared_key, argv[9]))) {
        fprintf(stderr, "usage: wggo_peer PRIV PEERPUB PEER_IP PEER_PORT LOCAL_IP LOCAL_PORT "
                        "ping|answer|cookie SECONDS [PSK]\n");
        return 2;
    }
    const char *mode = argv[7];
    pc.has_preshared_key = argc > 9;
    pc.endpoint.addr.in.sin_family = AF_INET;
    pc.endpoint.addr.in.sin_port = htons((uint16_t)atoi(argv[4]));
    inet_pton(AF_INET, argv[3], &pc.endpoint.addr.in.sin_addr);
    me.sin_port = htons((uint16_t)atoi(argv[6]));
    inet_pton(AF_INET, argv[5], &me.sin_addr);
    sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (sock < 0 || bind(sock, (struct sockaddr *)&me, sizeof(me))) {
        perror("socket/bind");
        return 1;
    }
    wg_log_set_level(WG_LOG_DEBUG);
    if (wg_proto_create(&io, &p) || wg_proto_apply(p, &cfg, wg_now()))
        return 1;
    sodium_memzero(cfg.private_key, 32);

    uint64_t end = wg_now() + (uint64_t)atoi(argv[8]) * 1000000000ull, next_ping = 0;
    while (wg_now() < end) {
        if (!strcmp(mode, "ping") && wg_now() >= next_ping) {
            uint8_t *ip = buf + WG_PKT_HEADROOM;
            uint16_t c;

            next_ping = wg_now() + 250000000ull;
            memset(ip, 0, 84);
            ip[0] = 0x45; ip[3] = 84; ip[8] = 64; ip[9] = 1;
            memcpy(ip + 12, "\x0a\x09\x00\x02\x0a\x09\x00\x01", 8);
            c = csum(ip, 20); ip[10] = (uint8_t)(c >> 8); ip[11] = (uint8_t)c;
            ip[20] = 8; ip[24] = 0x77; ip[26] = (uint8_t)(seq >> 8); ip[27] = (uint8_t)seq;
            seq++;
            memset(ip + 28, 0xab, 56);
            c = csum(ip + 20, 64); ip[22] = (uint8_t)(c >> 8); ip[23] = (uint8_t)c;
            send_ip(p, buf, 84);
        }
        struct pollfd pf = { .fd = sock, .events = POLLIN };
        if (poll(&pf, 1, 20) > 0) {
            struct wg_pkt r = { .head = buf, .off = WG_PKT_HEADROOM };
            socklen_t sl = sizeof(r.ep.addr.in);
            ssize_t n = recvfrom(sock, buf + WG_PKT_HEADROOM, 65535, 0, &r.ep.addr.sa, &sl);

            if (n <= 0)
                continue;
            r.len = (uint32_t)n;
            if (!strcmp(mode, "cookie") && buf[WG_PKT_HEADROOM] == 1) {
                /* look busy: well-sized junk initiations from elsewhere */
                for (int j = 0; j < 300; j++) {
                    struct wg_pkt jp = { .head = junk, .off = WG_PKT_HEADROOM, .len = 148 };
                    junk[WG_PKT_HEADROOM] = 1;
                    jp.ep.addr.in.sin_family = AF_INET;
                    jp.ep.addr.in.sin_port = htons(7);
                    wg_proto_rx_prepare(p, &jp, 1, wg_now());
                }
            }
            wg_proto_rx_prepare(p, &r, 1, wg_now());
            wg_proto_rx_open(&r, 1);
            wg_proto_rx_finish(p, &r, 1, wg_now());
            if (r.verdict == WG_PKT_DELIVER && r.len >= 28) {
                uint8_t *q = wg_pkt_data(&r);
                if (q[9] == 1 && q[20] == 0 && !strcmp(mode, "ping")) {
                    ok++;
                } else if (q[9] == 1 && q[20] == 8 && strcmp(mode, "ping")) {
                    uint8_t t[4];
                    uint16_t c;

                    memcpy(t, q + 12, 4); memcpy(q + 12, q + 16, 4); memcpy(q + 16, t, 4);
                    q[20] = 0; q[22] = q[23] = 0;
                    c = csum(q + 20, r.len - 20); q[22] = (uint8_t)(c >> 8); q[23] = (uint8_t)c;
                    memmove(buf + WG_PKT_HEADROOM, q, r.len);
                    send_ip(p, buf, r.len);
                    ok++;
                }
            }
        }
        wg_proto_tick(p, wg_now());
    }

    struct wg_device_info info = { 0 };
    if (wg_proto_get(p, &info, wg_now()) == 0 && info.n_peers == 1)
        printf("ok=%u sent=%u cookies=%u rx_bytes=%llu tx_bytes=%llu handshake=%lld\n", ok, seq,
               cookies_sent, (unsigned long long)info.peers[0].rx_bytes, (unsigned long long)info.peers[0].tx_bytes,
               (long long)info.peers[0].last_handshake.tv_sec);
    if (info.n_peers)
        free(info.peers[0].allowed_ips);
    free(info.peers);
    wg_proto_destroy(p);
    return ok ? 0 : 1;
}
