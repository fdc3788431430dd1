/* test_wg_device.c - two wgcore devices, each in its own network namespace
 * made by the test, joined by a veth: configured with wg_device_apply,
 * UDP through the tunnel both ways (single packets and bursts), counters
 * and handshake time from wg_device_get, MTU changes, a busy listen port
 * (EADDRINUSE, nothing changed), endpoint family checks, the TUN moved into
 * a third namespace still passing traffic, deletion of the interface there
 * waking wg_device_wait, destroy removing the interface, and the control
 * socket's removal waking wg_device_wait, and every engine thread named
 * and blocking every signal.  Needs root and /dev/net/tun. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <dirent.h>
#include <poll.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sodium.h>

#include "netns_helpers.h"
#include "wgcore/control.h"
#include "wgcore/device_internal.h"
#include "wgcore/wgcore.h"
#include "wgcore/udp_rxloop.h"
#include "wgcore/workers.h"

static char ns_a[64], ns_b[64], ns_c[64];
static char if_a[IFNAMSIZ], if_b[IFNAMSIZ];
static struct wg_device *dev_a, *dev_b;
static uint8_t priv_a[32], pub_a[32], priv_b[32], pub_b[32];
static uint16_t port_b;

#define U_A "10.203.0.1"
#define U_B "10.203.0.2"
#define T_A "10.204.0.1"
#define T_B "10.204.0.2"

static void keypair(uint8_t priv[32], uint8_t pub[32])
{
    randombytes_buf(priv, 32);
    priv[0] &= 248;
    priv[31] = (priv[31] & 127) | 64;
    assert_int_equal(crypto_scalarmult_curve25519_base(pub, priv), 0);
}

/* A device in ns, with a control socket in control_dir unless it is ""
 * (opened as a host does: *control, closed by the caller before destroy). */
static struct wg_device *create_kind(const char *ns, const char *ifname, unsigned mtu,
                                     const char *control_dir, enum wg_transport_kind kind,
                                     struct wg_control **control)
{
    struct wg_device_params p = { .ifname = ifname, .transport = kind, .mtu = mtu };
    struct wg_device *d = NULL;

    assert_int_equal(nsh_enter(ns), 0);
    assert_int_equal(wg_device_create(&p, &d), 0);
    assert_int_equal(nsh_enter(NULL), 0);
    assert_non_null(d);
    if (*control_dir)
        assert_int_equal(wg_control_open_for(d, control_dir, control), 0);
    return d;
}

static struct wg_device *create_in(const char *ns, const char *ifname, unsigned mtu,
                                   const char *control_dir, struct wg_control **control)
{
    return create_kind(ns, ifname, mtu, control_dir, WG_TRANSPORT_UDP, control);
}

static void peer_cfg(struct wg_peer_config *pc, struct wg_allowedip *aip, const uint8_t pub[32],
                     const char *ep_ip, uint16_t ep_port, const char *allowed)
{
    memset(pc, 0, sizeof(*pc));
    memcpy(pc->public_key, pub, 32);
    if (ep_ip) {
        pc->has_endpoint = true;
        pc->endpoint.addr.in.sin_family = AF_INET;
        pc->endpoint.addr.in.sin_port = htons(ep_port);
        inet_pton(AF_INET, ep_ip, &pc->endpoint.addr.in.sin_addr);
    }
    memset(aip, 0, sizeof(*aip));
    aip->family = AF_INET;
    aip->cidr = 32;
    inet_pton(AF_INET, allowed, aip->ip);
    pc->replace_allowed_ips = true;
    pc->n_allowed_ips = 1;
    pc->allowed_ips = aip;
}

static uint16_t dev_port(struct wg_device *d)
{
    struct wg_device_info *info;
    uint16_t port;

    assert_int_equal(wg_device_get(d, &info), 0);
    port = info->listen_port;
    wg_device_info_free(info);
    return port;
}

/* A UDP socket on addr:port inside namespace ns, 300 ms receive timeout. */
static int sock_in(const char *ns, const char *addr, uint16_t port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    struct timeval tv = { .tv_usec = 300000 };
    int fd, sz = 4 << 20;

    assert_int_equal(nsh_enter(ns), 0);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_int_equal(nsh_enter(NULL), 0);
    assert_true(fd >= 0);
    inet_pton(AF_INET, addr, &a.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
    return fd;
}

static void send_to(int fd, const char *dst, uint16_t port, const void *buf, size_t len)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

    inet_pton(AF_INET, dst, &a.sin_addr);
    assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof(a)), (ssize_t)len);
}

/* Sends msg from "from" to dst:port until "to" receives it (the first
 * packets wait for the handshake); fails after ~6 s. */
static void ping_through(int from, int to, const char *dst, uint16_t port, size_t size)
{
    static uint8_t out[2000], in[2000];

    assert_true(size <= sizeof(out));
    randombytes_buf(out, size);
    for (int tries = 0; tries < 20; tries++) {
        ssize_t r;

        send_to(from, dst, port, out, size);
        while ((r = recv(to, in, sizeof(in), 0)) >= 0)
            if ((size_t)r == size && !memcmp(in, out, size))
                return;
    }
    fail_msg("%zu bytes to %s:%u never came through the tunnel", size, dst, port);
}

static int group_setup(void **state)
{
    struct wg_device_config cfg;
    struct wg_peer_config pc;
    struct wg_allowedip aip;
    int pid = (int)getpid() % 100000;

    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK)) {
        fprintf(stderr, "needs root and /dev/net/tun\n");
        return -1;
    }
    if (sodium_init() < 0)
        return -1;
    wg_log_set_level(wg_log_level_from_env());
    if (nsh_add("dev", "a", ns_a) || nsh_add("dev", "b", ns_b) || nsh_add("dev", "c", ns_c))
        return -1;
    if (nsh_sh("ip link add wdva%d netns %s type veth peer name wdvb%d netns %s && "
               "ip -n %s addr add " U_A "/24 dev wdva%d && ip -n %s link set wdva%d up && "
               "ip -n %s addr add " U_B "/24 dev wdvb%d && ip -n %s link set wdvb%d up",
               pid, ns_a, pid, ns_b, ns_a, pid, ns_a, pid, ns_b, pid, ns_b, pid))
        return -1;
    snprintf(if_a, sizeof(if_a), "wda%d", pid);
    snprintf(if_b, sizeof(if_b), "wdb%d", pid);
    keypair(priv_a, pub_a);
    keypair(priv_b, pub_b);

    dev_b = create_in(ns_b, if_b, 0, "", NULL);
    dev_a = create_in(ns_a, if_a, 0, "", NULL);
    /* B: random listen port, peer A with no endpoint (learns it). */
    memset(&cfg, 0, sizeof(cfg));
    cfg.has_private_key = true;
    memcpy(cfg.private_key, priv_b, 32);
    cfg.has_listen_port = true;
    cfg.listen_port = 0;
    peer_cfg(&pc, &aip, pub_a, NULL, 0, T_A);
    cfg.n_peers = 1;
    cfg.peers = &pc;
    assert_int_equal(wg_device_apply(dev_b, &cfg), 0);
    port_b = dev_port(dev_b);
    assert_true(port_b != 0);
    /* A: peer B at its underlay address. */
    memset(&cfg, 0, sizeof(cfg));
    cfg.has_private_key = true;
    memcpy(cfg.private_key, priv_a, 32);
    peer_cfg(&pc, &aip, pub_b, U_B, port_b, T_B);
    cfg.n_peers = 1;
    cfg.peers = &pc;
    assert_int_equal(wg_device_apply(dev_a, &cfg), 0);
    if (nsh_sh("ip -n %s addr add " T_A "/24 dev %s && ip -n %s addr add " T_B "/24 dev %s",
               ns_a, if_a, ns_b, if_b))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    nsh_enter(NULL);
    wg_device_destroy(dev_a);
    wg_device_destroy(dev_b);
    nsh_cleanup();
    return 0;
}

static void test_create_params(void **state)
{
    struct wg_device_params p = { .ifname = "" };
    struct wg_device *d = (void *)1;

    assert_int_equal(wg_device_create(NULL, &d), -EINVAL);
    assert_int_equal(wg_device_create(&p, &d), -EINVAL);
    assert_null(d);
    p.ifname = "wd-name-too-long-for-linux";
    assert_int_equal(wg_device_create(&p, &d), -EINVAL);
    p.ifname = "wdok";
    p.mtu = 20;
    assert_int_equal(wg_device_create(&p, &d), -EINVAL);
    p.mtu = 0;
    p.transport = (enum wg_transport_kind)42;
    assert_int_equal(wg_device_create(&p, &d), -EINVAL);
}

static void test_device_up(void **state)
{
    struct wg_device_info *info;

    assert_string_equal(wg_device_ifname(dev_a), if_a);
    assert_true(nsh_has_link(ns_a, if_a));
    assert_true(nsh_has_link(ns_b, if_b));
    assert_false(nsh_has_link(ns_b, if_a));
    assert_int_equal(nsh_sh("ip -n %s link show dev %s | grep -q 'mtu %d .*state UNKNOWN\\|mtu %d '",
                            ns_a, if_a, WG_DEFAULT_MTU, WG_DEFAULT_MTU), 0);
    assert_int_equal(nsh_sh("ip -n %s link show dev %s | grep -q '[<,]UP[,>]'", ns_a, if_a), 0);
    /* A got a random port on its first peer (kernel semantics), bound in
     * its own namespace, not ours. */
    assert_int_equal(wg_device_get(dev_a, &info), 0);
    assert_true(info->listen_port != 0);
    assert_true(info->has_private_key);
    assert_memory_equal(info->public_key, pub_a, 32);
    assert_int_equal(info->n_peers, 1);
    assert_memory_equal(info->peers[0].public_key, pub_b, 32);
    assert_int_equal(info->peers[0].n_allowed_ips, 1);
    assert_int_equal(info->peers[0].last_handshake.tv_sec, 0);
    assert_int_equal(nsh_sh("ip netns exec %s ss -Hunl | grep -q ':%u '", ns_a,
                            info->listen_port), 0);
    assert_int_equal(nsh_sh("ip netns exec %s ss -Hunl | grep -q ':%u '", ns_b, port_b), 0);
    wg_device_info_free(info);
}

static void test_traffic(void **state)
{
    struct wg_device_info *ia, *ib;
    struct timespec now;
    int sa = sock_in(ns_a, T_A, 7001), sb = sock_in(ns_b, T_B, 7002);

    ping_through(sa, sb, T_B, 7002, 100);
    ping_through(sb, sa, T_A, 7001, 1000);
    /* Full-size packets for the default MTU (1420 - 28 = 1392). */
    ping_through(sa, sb, T_B, 7002, 1392);

    assert_int_equal(wg_device_get(dev_a, &ia), 0);
    assert_int_equal(wg_device_get(dev_b, &ib), 0);
    clock_gettime(CLOCK_REALTIME, &now);
    assert_int_equal(ia->n_peers, 1);
    assert_true(ia->peers[0].last_handshake.tv_sec > now.tv_sec - 30);
    assert_true(ia->peers[0].last_handshake.tv_sec <= now.tv_sec);
    assert_true(ib->peers[0].last_handshake.tv_sec > now.tv_sec - 30);
    /* Wire bytes: at least the payloads plus IP/UDP and WireGuard framing. */
    assert_true(ia->peers[0].tx_bytes >= 100 + 1392 + 2 * (28 + 32));
    assert_true(ia->peers[0].rx_bytes >= 1000 + 28 + 32);
    assert_true(ib->peers[0].rx_bytes >= 100 + 1392);
    /* B learned A's endpoint from the authenticated packets (roaming). */
    assert_true(ib->peers[0].has_endpoint);
    assert_int_equal(ib->peers[0].endpoint.addr.sa.sa_family, AF_INET);
    assert_int_equal(ntohs(ib->peers[0].endpoint.addr.in.sin_port), ia->listen_port);
    wg_device_info_free(ia);
    wg_device_info_free(ib);
    close(sa);
    close(sb);
}

static void test_burst(void **state)
{
    int sa = sock_in(ns_a, T_A, 7003), sb = sock_in(ns_b, T_B, 7004);
    uint8_t buf[1400];
    unsigned got = 0, bad = 0, last = 0, reordered = 0;
    const unsigned total = 3000;

    ping_through(sa, sb, T_B, 7004, 10);     /* session up */
    /* Bursts of 64 (one full TUN batch, so sealing goes to the workers),
     * each drained before the next so a slow (sanitizer) build measures
     * correctness, not socket buffer sizes: every datagram's content is
     * checked and reordering counted. */
    for (unsigned i = 1; i <= total; i++) {
        memset(buf, (int)(i & 0xff), sizeof(buf));
        memcpy(buf, &i, sizeof(i));
        send_to(sa, T_B, 7004, buf, sizeof(buf));
        if (i % 64 && i != total)
            continue;
        for (;;) {
            uint8_t in[2000];
            ssize_t r = recv(sb, in, sizeof(in), 0);
            unsigned seq;

            if (r < 0)
                break;
            if (r != (ssize_t)sizeof(buf)) {
                bad++;
                continue;
            }
            memcpy(&seq, in, sizeof(seq));
            if (seq < 1 || seq > total || in[sizeof(buf) - 1] != (uint8_t)(seq & 0xff)) {
                bad++;
                continue;
            }
            if (seq < last)
                reordered++;
            last = seq;
            got++;
            if (seq == i)
                break;                      /* the burst's last one is in */
        }
    }
    print_message("burst: %u/%u received, %u reordered\n", got, total, reordered);
    assert_int_equal(bad, 0);
    assert_int_equal(reordered, 0);         /* one peer: order is kept */
    assert_true(got >= total * 9 / 10);
    close(sa);
    close(sb);
}

/* TCP through the tunnel: with TUN offloads the sender's kernel hands the
 * device 64 KiB super-packets (and unchecksummed ones), which the device
 * must cut and checksum exactly or the receiving TCP drops them and the
 * transfer stalls.  The bytes are checked end to end. */
struct tcp_sink {
    int lfd;
    size_t bytes;
    uint32_t hash;
};

static uint32_t fnv(uint32_t h, const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ d[i]) * 16777619u;
    return h;
}

static void *tcp_sink_main(void *arg)
{
    struct tcp_sink *s = arg;
    static uint8_t buf[65536];
    int c = accept(s->lfd, NULL, NULL);
    ssize_t r;

    s->hash = 2166136261u;
    if (c < 0)
        return NULL;
    while ((r = read(c, buf, sizeof(buf))) > 0) {
        s->hash = fnv(s->hash, buf, (size_t)r);
        s->bytes += (size_t)r;
    }
    close(c);
    return NULL;
}

static void test_tcp_bulk(void **state)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7100) };
    struct tcp_sink sink = { 0 };
    struct timeval tv = { .tv_sec = 20 };
    static uint8_t chunk[256 * 1024];
    const size_t total = 16u << 20;
    uint32_t hash = 2166136261u;
    pthread_t t;
    int c, one = 1;

    assert_int_equal(nsh_enter(ns_b), 0);
    sink.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(nsh_enter(ns_a), 0);
    c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(nsh_enter(NULL), 0);
    assert_true(sink.lfd >= 0 && c >= 0);
    setsockopt(sink.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    inet_pton(AF_INET, T_B, &a.sin_addr);
    assert_int_equal(bind(sink.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(sink.lfd, 1), 0);
    assert_int_equal(pthread_create(&t, NULL, tcp_sink_main, &sink), 0);
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
    for (size_t sent = 0; sent < total; sent += sizeof(chunk)) {
        size_t done = 0;

        for (size_t i = 0; i < sizeof(chunk); i++)
            chunk[i] = (uint8_t)((sent + i) * 2654435761u >> 13);
        hash = fnv(hash, chunk, sizeof(chunk));
        while (done < sizeof(chunk)) {
            ssize_t w = write(c, chunk + done, sizeof(chunk) - done);

            if (w <= 0)
                fail_msg("TCP through the tunnel stalled after %zu bytes", sent + done);
            done += (size_t)w;
        }
    }
    close(c);
    pthread_join(t, NULL);
    close(sink.lfd);
    assert_int_equal(sink.bytes, total);
    assert_int_equal(sink.hash, hash);
}

static void test_mtu(void **state)
{
    int sa = sock_in(ns_a, T_A, 7005), sb = sock_in(ns_b, T_B, 7006);

    assert_int_equal(wg_device_set_mtu(dev_a, 1300), 0);
    assert_int_equal(nsh_sh("ip -n %s link show dev %s | grep -q 'mtu 1300 '", ns_a, if_a), 0);
    assert_int_equal(wg_device_set_mtu(dev_a, 10), -EINVAL);
    assert_int_equal(nsh_sh("ip -n %s link show dev %s | grep -q 'mtu 1300 '", ns_a, if_a), 0);
    ping_through(sa, sb, T_B, 7006, 1272);
    assert_int_equal(wg_device_set_mtu(dev_a, 1500), 0);
    assert_int_equal(wg_device_set_mtu(dev_b, 1500), 0);
    ping_through(sa, sb, T_B, 7006, 1472);
    ping_through(sb, sa, T_A, 7005, 1472);
    /* An MTU set from outside reaches the padding rule (within 2 s): a
     * 1350-byte packet at MTU 1350 is padded to 1350, not to 1360, so it
     * costs 16 + 1350 + 16 wire bytes (plus maybe a 32-byte keepalive). */
    assert_int_equal(nsh_sh("ip -n %s link set dev %s mtu 1350", ns_a, if_a), 0);
    usleep(2600000);
    {
        struct wg_device_info *info;
        uint64_t before, delta;

        assert_int_equal(wg_device_get(dev_a, &info), 0);
        before = info->peers[0].tx_bytes;
        wg_device_info_free(info);
        ping_through(sa, sb, T_B, 7006, 1350 - 28);
        assert_int_equal(wg_device_get(dev_a, &info), 0);
        delta = info->peers[0].tx_bytes - before;
        wg_device_info_free(info);
        if (delta % 1382 && (delta - 32) % 1382)
            fail_msg("a 1350-byte packet at MTU 1350 cost %llu wire bytes",
                     (unsigned long long)delta);
    }
    assert_int_equal(wg_device_set_mtu(dev_a, WG_DEFAULT_MTU), 0);
    assert_int_equal(wg_device_set_mtu(dev_b, WG_DEFAULT_MTU), 0);
    close(sa);
    close(sb);
}

static void test_apply_errors(void **state)
{
    struct wg_device_config cfg;
    struct wg_peer_config pc;
    struct wg_allowedip aip;
    uint16_t before = dev_port(dev_b);
    int busy = sock_in(ns_b, "0.0.0.0", 0);
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);

    /* A port taken by someone else in B's namespace: EADDRINUSE, and the
     * device keeps its port. */
    assert_int_equal(getsockname(busy, (struct sockaddr *)&a, &alen), 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.has_listen_port = true;
    cfg.listen_port = ntohs(a.sin_port);
    assert_int_equal(wg_device_apply(dev_b, &cfg), -EADDRINUSE);
    assert_int_equal(dev_port(dev_b), before);
    close(busy);
    /* An AF_VSOCK endpoint on a UDP device: EINVAL, peer not added. */
    peer_cfg(&pc, &aip, pub_a, NULL, 0, "10.204.9.9");
    pc.has_endpoint = true;
    memset(&pc.endpoint, 0, sizeof(pc.endpoint));
    pc.endpoint.addr.vm.svm_family = AF_VSOCK;
    pc.endpoint.addr.vm.svm_cid = 2;
    pc.endpoint.addr.vm.svm_port = 5000;
    memset(pc.public_key, 7, 32);
    memset(&cfg, 0, sizeof(cfg));
    cfg.n_peers = 1;
    cfg.peers = &pc;
    assert_int_equal(wg_device_apply(dev_b, &cfg), -EINVAL);
    {
        struct wg_device_info *info;
        assert_int_equal(wg_device_get(dev_b, &info), 0);
        assert_int_equal(info->n_peers, 1);
        wg_device_info_free(info);
    }
    assert_int_equal(wg_device_apply(dev_b, NULL), -EINVAL);
    /* A set the protocol refuses (bad prefix length) leaves the port as it
     * was, even though the port change came first. */
    peer_cfg(&pc, &aip, pub_a, NULL, 0, "10.204.9.9");
    aip.cidr = 33;
    memset(&cfg, 0, sizeof(cfg));
    cfg.has_listen_port = true;
    cfg.listen_port = 0;
    cfg.n_peers = 1;
    cfg.peers = &pc;
    assert_int_equal(wg_device_apply(dev_b, &cfg), -EINVAL);
    assert_int_equal(dev_port(dev_b), before);
    /* fwmark: reported by get and set on the bound sockets. */
    memset(&cfg, 0, sizeof(cfg));
    cfg.has_fwmark = true;
    cfg.fwmark = 0x4242;
    assert_int_equal(wg_device_apply(dev_b, &cfg), 0);
    {
        struct wg_device_info *info;
        assert_int_equal(wg_device_get(dev_b, &info), 0);
        assert_int_equal(info->fwmark, 0x4242);
        assert_int_equal(info->listen_port, before);
        wg_device_info_free(info);
    }
    assert_int_equal(nsh_sh("ip netns exec %s ss -Huln -e | grep ':%u ' | grep -q 'fwmark:0x4242'",
                            ns_b, before), 0);
    cfg.fwmark = 0;
    assert_int_equal(wg_device_apply(dev_b, &cfg), 0);
    assert_int_equal(nsh_sh("ip netns exec %s ss -Huln -e | grep ':%u ' | grep -q fwmark",
                            ns_b, before), 1);
    /* A new fixed port, then traffic still flows after A learns it. */
    memset(&cfg, 0, sizeof(cfg));
    cfg.has_listen_port = true;
    cfg.listen_port = (uint16_t)(20000 + getpid() % 20000);
    assert_int_equal(wg_device_apply(dev_b, &cfg), 0);
    assert_int_equal(dev_port(dev_b), cfg.listen_port);
    port_b = cfg.listen_port;
    peer_cfg(&pc, &aip, pub_b, U_B, port_b, T_B);
    cfg.has_listen_port = false;
    cfg.n_peers = 1;
    cfg.peers = &pc;
    assert_int_equal(wg_device_apply(dev_a, &cfg), 0);
    {
        int sa = sock_in(ns_a, T_A, 7007), sb = sock_in(ns_b, T_B, 7008);
        ping_through(sa, sb, T_B, 7008, 200);
        ping_through(sb, sa, T_A, 7007, 200);
        close(sa);
        close(sb);
    }
}

static void test_convert_endpoint(void **state)
{
    struct wg_sockaddr in, out;

    memset(&in, 0, sizeof(in));
    in.addr.in.sin_family = AF_INET;
    in.addr.in.sin_addr.s_addr = htonl(16);         /* 0.0.0.16 = vm(16) */
    in.addr.in.sin_port = htons(51820);
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_VSOCK, &in, &out), 0);
    assert_int_equal(out.addr.vm.svm_family, AF_VSOCK);
    assert_int_equal(out.addr.vm.svm_cid, 16);
    assert_int_equal(out.addr.vm.svm_port, 51820);
    in.addr.in.sin_addr.s_addr = htonl(0x01020304);
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_VSOCK, &in, &out), 0);
    assert_int_equal(out.addr.vm.svm_cid, 0x01020304);
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_UDP, &in, &out), 0);
    assert_true(wg_sockaddr_equal(&in, &out));
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_TCP4, &in, &out), 0);
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_TCP6, &in, &out), -EINVAL);
    in.addr.in.sin_port = 0;
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_VSOCK, &in, &out), -EINVAL);
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_UDP, &in, &out), -EINVAL);
    /* A vsock endpoint passes on a vsock device only. */
    memset(&in, 0, sizeof(in));
    in.addr.vm.svm_family = AF_VSOCK;
    in.addr.vm.svm_cid = 2;
    in.addr.vm.svm_port = 8172;
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_VSOCK, &in, &out), 0);
    assert_int_equal(out.addr.vm.svm_cid, 2);
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_UDP, &in, &out), -EINVAL);
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_TCP, &in, &out), -EINVAL);
    /* IPv6: not on vsock or tcp4. */
    memset(&in, 0, sizeof(in));
    in.addr.in6.sin6_family = AF_INET6;
    in.addr.in6.sin6_addr = in6addr_loopback;
    in.addr.in6.sin6_port = htons(1);
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_VSOCK, &in, &out), -EINVAL);
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_TCP4, &in, &out), -EINVAL);
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_TCP6, &in, &out), 0);
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_UDP, &in, &out), 0);
    in.addr.sa.sa_family = AF_UNIX;
    assert_int_equal(wg_device_convert_endpoint(WG_TRANSPORT_UDP, &in, &out), -EINVAL);
}

/* ---- engine threads: named, every signal blocked ---- */

/* "SigBlk:\t<hex>" of one thread of this process, into out[32]. */
static void thread_sigblk(const char *tid, char out[32])
{
    char path[64], line[128];
    FILE *f;

    out[0] = 0;
    snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
    f = fopen(path, "r");
    if (!f)
        return;         /* the thread just ended */
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "SigBlk: %31s", out) == 1)
            break;
    fclose(f);
}

struct thread_census {
    unsigned tx, crypt, udp_rx, stream, ctl, handshake;
    unsigned other_wg;          /* wg-* with a name we don't know */
    unsigned unblocked;         /* wg-* whose mask is not "everything" */
};

static void thread_census(const char *all_blocked, struct thread_census *c, bool report)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;

    memset(c, 0, sizeof(*c));
    assert_non_null(d);
    while ((e = readdir(d))) {
        char path[300], comm[32] = "", blk[32];
        FILE *f;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        if (!fgets(comm, sizeof(comm), f))
            comm[0] = 0;
        fclose(f);
        comm[strcspn(comm, "\n")] = 0;
        if (strncmp(comm, "wg-", 3))
            continue;
        if (!strcmp(comm, "wg-tx"))
            c->tx++;
        else if (!strcmp(comm, "wg-crypt"))
            c->crypt++;
        else if (!strcmp(comm, "wg-udp-rx"))
            c->udp_rx++;
        else if (!strcmp(comm, "wg-stream"))
            c->stream++;
        else if (!strcmp(comm, "wg-handshake"))
            c->handshake++;
        else if (!strcmp(comm, "wg-ctl"))
            c->ctl++;
        else
            c->other_wg++;
        thread_sigblk(e->d_name, blk);
        if (blk[0] && strcmp(blk, all_blocked)) {
            if (report)
                    fprintf(stderr, "thread %s (%s): SigBlk %s, want %s\n", e->d_name, comm,
                        blk, all_blocked);
            c->unblocked++;
        }
    }
    closedir(d);
}

/* The engine is a library: its threads must not take the application's
 * signals whatever mask the creating thread has.  This thread (which made
 * every device here) blocks nothing, so inheriting would show. */
static void test_threads_named_no_signals(void **state)
{
    char dir[] = "/tmp/wgvsock-devtest-XXXXXX", name[IFNAMSIZ];
    char all_blocked[32], mine[32], tid[16];
    sigset_t all, old;
    struct thread_census c;
    struct wg_workers *w = wg_workers_get();
    unsigned n_crypt = w ? wg_workers_count(w) : 0;
    struct wg_device *d;
    struct wg_control *control = NULL;

    wg_workers_put(w);
    /* What "everything blocked" reads as here (the kernel and libc keep a
     * few signals unblockable), and that this thread is not like that. */
    snprintf(tid, sizeof(tid), "%d", (int)gettid());
    thread_sigblk(tid, mine);
    sigfillset(&all);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &all, &old), 0);
    thread_sigblk(tid, all_blocked);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    assert_true(all_blocked[0] && mine[0]);
    assert_string_not_equal(mine, all_blocked);

    /* dev_a/dev_b: UDP, bound; d: TCP stream transport, control socket. */
    assert_non_null(mkdtemp(dir));
    snprintf(name, sizeof(name), "wdn%d", (int)getpid() % 100000);
    d = create_kind(ns_c, name, 0, dir, WG_TRANSPORT_TCP, &control);
    /* Threads name themselves as they start: give them a moment. */
    for (int i = 0; i < 200; i++) {
        thread_census(all_blocked, &c, false);
        if (c.tx >= 3 && c.udp_rx >= wg_rxloop_threads() && c.stream >= 1 && c.ctl >= 1 &&
            c.crypt >= n_crypt && c.handshake >= 3)
            break;
        usleep(10000);
    }
    thread_census(all_blocked, &c, true);
    assert_true(c.tx >= 3);
    /* UDP sockets share the process's receive loops (udp_rxloop.c) */
    assert_true(c.udp_rx >= 1 && c.udp_rx <= WG_RXLOOP_MAX);
    assert_int_equal(c.udp_rx, wg_rxloop_threads());
    assert_true(c.stream >= 1);
    assert_true(c.ctl >= 1);
    assert_true(c.handshake >= 3);     /* one per device */
    assert_int_equal(c.crypt, n_crypt);
    assert_int_equal(c.other_wg, 0);
    assert_int_equal(c.unblocked, 0);
    /* and the creator's own mask is as it was */
    thread_sigblk(tid, all_blocked);
    assert_string_equal(all_blocked, mine);
    wg_control_close(control);
    wg_device_destroy(d);
    rmdir(dir);
}

struct waiter {
    struct wg_device *dev;
    const char *reason;     /* atomic: the test peeks before the join */
    pthread_t thread;
};

static void *wait_main(void *arg)
{
    struct waiter *w = arg;

    __atomic_store_n(&w->reason, wg_device_wait(w->dev), __ATOMIC_RELEASE);
    return NULL;
}

static const char *waiter_reason(struct waiter *w)
{
    return __atomic_load_n(&w->reason, __ATOMIC_ACQUIRE);
}

static const char *join_within(struct waiter *w, int seconds)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += seconds;
    if (pthread_timedjoin_np(w->thread, NULL, &ts))
        return NULL;
    return waiter_reason(w);
}

/* The plugin's case: the TUN moves into a container's namespace (and gets
 * renamed there) while the device's socket stays where it was. */
static void test_moved_netns(void **state)
{
    struct waiter w = { .dev = dev_a };
    int sc, sb;
    char moved[IFNAMSIZ];

    snprintf(moved, sizeof(moved), "wdm%d", (int)getpid() % 100000);
    assert_int_equal(nsh_sh("ip -n %s link set %s netns %s && "
                            "ip -n %s link set %s name %s && "
                            "ip -n %s addr add " T_A "/24 dev %s && ip -n %s link set %s up",
                            ns_a, if_a, ns_c, ns_c, if_a, moved, ns_c, moved, ns_c, moved), 0);
    assert_false(nsh_has_link(ns_a, if_a));
    sc = sock_in(ns_c, T_A, 7009);
    sb = sock_in(ns_b, T_B, 7010);
    ping_through(sc, sb, T_B, 7010, 300);
    ping_through(sb, sc, T_A, 7009, 1392);
    /* MTU follows the interface into its new namespace and name. */
    assert_int_equal(wg_device_set_mtu(dev_a, 1380), 0);
    assert_int_equal(nsh_sh("ip -n %s link show dev %s | grep -q 'mtu 1380 '", ns_c, moved), 0);
    ping_through(sc, sb, T_B, 7010, 1352);
    close(sc);
    close(sb);

    /* Deleted there: wg_device_wait returns. */
    assert_int_equal(pthread_create(&w.thread, NULL, wait_main, &w), 0);
    usleep(100000);
    assert_null(waiter_reason(&w));
    assert_int_equal(nsh_sh("ip -n %s link del %s", ns_c, moved), 0);
    assert_non_null(join_within(&w, 5));
    assert_string_equal(w.reason, "interface deleted");
    /* Still answers get; destroy works on a device whose TUN is gone. */
    assert_true(dev_port(dev_a) != 0);
    wg_device_destroy(dev_a);
    dev_a = NULL;
}

static void test_destroy_removes(void **state)
{
    struct waiter w = { .dev = dev_b };

    assert_true(nsh_has_link(ns_b, if_b));
    assert_int_equal(pthread_create(&w.thread, NULL, wait_main, &w), 0);
    usleep(50000);
    wg_device_destroy(dev_b);
    dev_b = NULL;
    assert_non_null(join_within(&w, 5));
    assert_string_equal(w.reason, "device destroyed");
    assert_false(nsh_has_link(ns_b, if_b));
    /* The port is free again. */
    assert_int_equal(nsh_sh("ip netns exec %s ss -Hunl | grep -q ':%u '", ns_b, port_b), 1);
}

static void test_control_socket_gone(void **state)
{
    char dir[] = "/tmp/wgvsock-devtest-XXXXXX", path[128], name[IFNAMSIZ];
    struct wg_device *d;
    struct wg_control *control = NULL;
    struct waiter w;
    struct stat st;

    assert_non_null(mkdtemp(dir));
    snprintf(name, sizeof(name), "wdk%d", (int)getpid() % 100000);
    d = create_in(ns_c, name, 1280, dir, &control);
    snprintf(path, sizeof(path), "%s/%s.sock", dir, name);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(nsh_sh("ip -n %s link show dev %s | grep -q 'mtu 1280 '", ns_c, name), 0);
    w.dev = d;
    w.reason = NULL;
    assert_int_equal(pthread_create(&w.thread, NULL, wait_main, &w), 0);
    assert_int_equal(unlink(path), 0);
    assert_non_null(join_within(&w, 10));
    assert_string_equal(w.reason, "control socket removed");
    wg_control_close(control);
    wg_device_destroy(d);
    assert_false(nsh_has_link(ns_c, name));
    rmdir(dir);
}

/* The same device over the TCP stream transport: B listens, A dials. */
static void test_tcp_pair(void **state)
{
    char ia[IFNAMSIZ], ib[IFNAMSIZ];
    struct wg_device *a, *b;
    struct wg_device_config cfg;
    struct wg_peer_config pc;
    struct wg_allowedip aip;
    uint16_t pb;
    int sa, sb;

    snprintf(ia, sizeof(ia), "wdta%d", (int)getpid() % 100000);
    snprintf(ib, sizeof(ib), "wdtb%d", (int)getpid() % 100000);
    /* Also the plain TUN path (no virtio header, no offloads). */
    setenv("WGVSOCK_TUN_OFFLOAD", "0", 1);
    b = create_kind(ns_b, ib, 0, "", WG_TRANSPORT_TCP, NULL);
    a = create_kind(ns_a, ia, 0, "", WG_TRANSPORT_TCP, NULL);
    unsetenv("WGVSOCK_TUN_OFFLOAD");
    memset(&cfg, 0, sizeof(cfg));
    cfg.has_private_key = true;
    memcpy(cfg.private_key, priv_b, 32);
    cfg.has_listen_port = true;
    peer_cfg(&pc, &aip, pub_a, NULL, 0, "10.205.0.1");
    cfg.n_peers = 1;
    cfg.peers = &pc;
    assert_int_equal(wg_device_apply(b, &cfg), 0);
    pb = dev_port(b);
    assert_true(pb != 0);
    assert_int_equal(nsh_sh("ip netns exec %s ss -Htln | grep -q ':%u '", ns_b, pb), 0);
    memcpy(cfg.private_key, priv_a, 32);
    cfg.has_listen_port = false;
    peer_cfg(&pc, &aip, pub_b, U_B, pb, "10.205.0.2");
    assert_int_equal(wg_device_apply(a, &cfg), 0);
    assert_int_equal(nsh_sh("ip -n %s addr add 10.205.0.1/24 dev %s && "
                            "ip -n %s addr add 10.205.0.2/24 dev %s", ns_a, ia, ns_b, ib), 0);
    sa = sock_in(ns_a, "10.205.0.1", 7011);
    sb = sock_in(ns_b, "10.205.0.2", 7012);
    ping_through(sa, sb, "10.205.0.2", 7012, 500);
    ping_through(sb, sa, "10.205.0.1", 7011, 1392);
    close(sa);
    close(sb);
    wg_device_destroy(a);
    wg_device_destroy(b);
    assert_false(nsh_has_link(ns_a, ia));
    assert_false(nsh_has_link(ns_b, ib));
}

/* A container's namespace goes away with the TUN still inside: the kernel
 * deletes the interface, and the device notices. */
static void test_netns_deleted(void **state)
{
    char name[IFNAMSIZ], ns_d[64];
    struct wg_device *d;
    struct waiter w;

    snprintf(name, sizeof(name), "wdd%d", (int)getpid() % 100000);
    assert_int_equal(nsh_add("dev", "d", ns_d), 0);
    d = create_in(ns_c, name, 0, "", NULL);
    assert_int_equal(nsh_sh("ip -n %s link set %s netns %s", ns_c, name, ns_d), 0);
    assert_true(nsh_has_link(ns_d, name));
    w.dev = d;
    w.reason = NULL;
    assert_int_equal(pthread_create(&w.thread, NULL, wait_main, &w), 0);
    assert_int_equal(nsh_sh("ip netns del %s", ns_d), 0);
    assert_non_null(join_within(&w, 15));
    assert_string_equal(w.reason, "interface deleted");
    wg_device_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_params),
        cmocka_unit_test(test_convert_endpoint),
        cmocka_unit_test(test_device_up),
        cmocka_unit_test(test_traffic),
        cmocka_unit_test(test_burst),
        cmocka_unit_test(test_threads_named_no_signals),
        cmocka_unit_test(test_tcp_bulk),
        cmocka_unit_test(test_mtu),
        cmocka_unit_test(test_apply_errors),
        cmocka_unit_test(test_moved_netns),
        cmocka_unit_test(test_destroy_removes),
        cmocka_unit_test(test_control_socket_gone),
        cmocka_unit_test(test_tcp_pair),
        cmocka_unit_test(test_netns_deleted),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
