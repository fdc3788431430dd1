/* test_wg_tun.c - the TUN layer in network namespaces made by the test:
 * create (name, MTU, up), packets both ways through the fd in batches, MTU
 * changes, and the plugin's case: the interface moved into another
 * namespace and renamed there keeps working through the same fd (MTU, name,
 * traffic), and its deletion there shows up on the fd.  Needs root and
 * /dev/net/tun. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <poll.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <cmocka.h>

#include "netns_helpers.h"
#include "wgcore/tun.h"

static char ns_a[64], ns_b[64];
static uint8_t bufs[4][(WG_PKT_CAP + 63) & ~63u] __attribute__((aligned(64)));

static int setup(void **state)
{
    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK)) {
        fprintf(stderr, "needs root and /dev/net/tun\n");
        return -1;
    }
    if (nsh_add("tun", "a", ns_a) || nsh_add("tun", "b", ns_b))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    nsh_enter(NULL);
    nsh_cleanup();
    return 0;
}

static uint16_t csum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t s = 0;

    for (size_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return htons((uint16_t)~s);
}

/* An IPv4/UDP packet src -> dst:dport carrying payload (UDP checksum 0). */
static uint32_t make_udp4(uint8_t *out, const char *src, const char *dst, uint16_t dport,
                          const char *payload)
{
    struct iphdr *ip = (struct iphdr *)out;
    struct udphdr *udp = (struct udphdr *)(out + sizeof(*ip));
    size_t plen = strlen(payload);

    memset(out, 0, sizeof(*ip) + sizeof(*udp));
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->tot_len = htons((uint16_t)(sizeof(*ip) + sizeof(*udp) + plen));
    inet_pton(AF_INET, src, &ip->saddr);
    inet_pton(AF_INET, dst, &ip->daddr);
    ip->check = csum(ip, sizeof(*ip));
    udp->source = htons(4242);
    udp->dest = htons(dport);
    udp->len = htons((uint16_t)(sizeof(*udp) + plen));
    memcpy(out + sizeof(*ip) + sizeof(*udp), payload, plen);
    return (uint32_t)(sizeof(*ip) + sizeof(*udp) + plen);
}

/* A UDP socket bound to addr:port in the current namespace. */
static int udp_sock(const char *addr, uint16_t port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    struct timeval tv = { .tv_sec = 3 };
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    inet_pton(AF_INET, addr, &a.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void send_udp(int fd, const char *dst, uint16_t port, const char *msg)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

    inet_pton(AF_INET, dst, &a.sin_addr);
    assert_int_equal(sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof(a)),
                     (ssize_t)strlen(msg));
}

/* Reads from the TUN until a UDP packet to dst:port shows up (the kernel
 * may also send IPv6 router solicitations etc.); returns its payload. */
static void expect_on_tun(struct wg_tun *tun, const char *dst, uint16_t port, const char *msg)
{
    struct wg_pkt pkts[4];
    struct pollfd pfd = { .fd = tun->fd, .events = POLLIN };
    uint32_t want;

    inet_pton(AF_INET, dst, &want);
    for (int tries = 0; tries < 50; tries++) {
        int n;

        assert_true(poll(&pfd, 1, 3000) == 1);
        for (int i = 0; i < 4; i++)
            pkts[i].head = bufs[i];
        n = wg_tun_read_batch(tun, pkts, 4);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
            const uint8_t *d = wg_pkt_data(&pkts[i]);
            const struct iphdr *ip = (const struct iphdr *)d;
            const struct udphdr *udp = (const struct udphdr *)(d + 20);

            assert_int_equal(pkts[i].off, WG_PKT_HEADROOM);
            if (pkts[i].len < 28 || ip->version != 4 || ip->protocol != IPPROTO_UDP ||
                ip->daddr != want || udp->dest != htons(port))
                continue;
            assert_int_equal(pkts[i].len, 28 + strlen(msg));
            assert_memory_equal(d + 28, msg, strlen(msg));
            /* With checksum offload the kernel leaves the UDP checksum to
             * us: it must be complete and valid when the read returns. */
            if (udp->check) {
                uint32_t s = 0;
                for (uint32_t j = 12; j < 20; j += 2)
                    s += (uint32_t)d[j] << 8 | d[j + 1];
                s += IPPROTO_UDP + (pkts[i].len - 20);
                for (uint32_t j = 20; j < pkts[i].len; j += 2)
                    s += (uint32_t)d[j] << 8 | (j + 1 < pkts[i].len ? d[j + 1] : 0);
                while (s >> 16)
                    s = (s & 0xffff) + (s >> 16);
                assert_int_equal(s, 0xffff);
            }
            return;
        }
    }
    fail_msg("packet to %s:%u never came out of the TUN", dst, port);
}

/* Writes a packet into the TUN and expects sock to receive it. */
static void inject_and_receive(struct wg_tun *tun, int sock, const char *src, const char *dst,
                               uint16_t port, const char *msg)
{
    struct wg_pkt pkts[2];
    char got[64];
    ssize_t r;

    memset(pkts, 0, sizeof(pkts));
    pkts[0].head = bufs[0];
    pkts[0].off = WG_PKT_HEADROOM;
    pkts[0].len = make_udp4(bufs[0] + WG_PKT_HEADROOM, src, dst, port, msg);
    pkts[0].verdict = WG_PKT_DELIVER;
    pkts[1] = pkts[0];
    pkts[1].verdict = WG_PKT_DROP;          /* not written */
    assert_int_equal(wg_tun_write_batch(tun, pkts, 2), 1);
    r = recv(sock, got, sizeof(got), 0);
    assert_int_equal(r, (ssize_t)strlen(msg));
    assert_memory_equal(got, msg, strlen(msg));
    /* The second packet was a DROP: nothing more arrives. */
    assert_int_equal(recv(sock, got, sizeof(got), MSG_DONTWAIT), -1);
}

static void test_bad_params(void **state)
{
    struct wg_tun tun;

    assert_int_equal(wg_tun_open(&tun, "", 1420), -EINVAL);
    assert_int_equal(wg_tun_open(&tun, NULL, 1420), -EINVAL);
    assert_int_equal(wg_tun_open(&tun, "0123456789abcdef", 1420), -EINVAL);
    assert_int_equal(wg_tun_open(&tun, "a/b", 1420), -EINVAL);
    assert_int_equal(wg_tun_open(&tun, "a b", 1420), -EINVAL);
    assert_int_equal(wg_tun_open(&tun, "wgt%d", 1420), -EINVAL);
    assert_int_equal(wg_tun_open(&tun, "wgtok", 20), -EINVAL);
    assert_int_equal(wg_tun_open(&tun, "wgtok", 70000), -EINVAL);
    assert_int_equal(tun.fd, -1);
}

static void test_tun_lifecycle(void **state)
{
    struct wg_tun tun;
    char name[IFNAMSIZ], name2[IFNAMSIZ], cur[IFNAMSIZ];
    unsigned mtu;
    int sock, nsfd;
    struct stat st;
    struct pollfd pfd;

    snprintf(name, sizeof(name), "wgt%d", (int)getpid() % 100000);
    snprintf(name2, sizeof(name2), "wgr%d", (int)getpid() % 100000);

    /* Create in A: named, MTU, up. */
    assert_int_equal(nsh_enter(ns_a), 0);
    assert_int_equal(wg_tun_open(&tun, name, 1420), 0);
    assert_string_equal(tun.name, name);
    /* offloads on by default */
    assert_int_equal(tun.vnet, getenv("WGVSOCK_TUN_OFFLOAD") == NULL);
    assert_true(nsh_has_link(ns_a, name));
    assert_int_equal(nsh_sh("ip -n %s link show dev %s | grep -q '[<,]UP[,>]'", ns_a, name), 0);
    assert_int_equal(wg_tun_get_mtu(&tun, &mtu), 0);
    assert_int_equal(mtu, 1420);
    assert_int_equal(nsh_sh("ip -n %s link show dev %s | grep -q 'mtu 1420 '", ns_a, name), 0);
    assert_true(fcntl(tun.fd, F_GETFL) & O_NONBLOCK);
    /* Whatever is pending (IPv6 router solicitations), an empty queue
     * ends a read batch with a count, never an error. */
    {
        struct wg_pkt p = { .head = bufs[0] };
        while (wg_tun_read_batch(&tun, &p, 1) == 1)
            ;
        assert_int_equal(wg_tun_read_batch(&tun, &p, 1), 0);
    }

    /* Traffic both ways. */
    assert_int_equal(nsh_sh("ip -n %s addr add 10.98.0.1/24 dev %s", ns_a, name), 0);
    sock = udp_sock("10.98.0.1", 5001);
    send_udp(sock, "10.98.0.2", 6001, "out through the tun");
    expect_on_tun(&tun, "10.98.0.2", 6001, "out through the tun");
    inject_and_receive(&tun, sock, "10.98.0.2", "10.98.0.1", 5001, "in through the tun");
    close(sock);

    /* MTU change, and refused values. */
    assert_int_equal(wg_tun_set_mtu(&tun, 1280), 0);
    assert_int_equal(wg_tun_get_mtu(&tun, &mtu), 0);
    assert_int_equal(mtu, 1280);
    assert_int_equal(wg_tun_set_mtu(&tun, 10), -EINVAL);
    assert_int_equal(wg_tun_set_mtu(&tun, WG_TUN_MTU_MAX + 1), -EINVAL);

    /* Move into B (from home, not from A: the fd must not care where the
     * caller is), rename there, and keep using it. */
    assert_int_equal(nsh_enter(NULL), 0);
    assert_int_equal(nsh_sh("ip -n %s link set %s netns %s", ns_a, name, ns_b), 0);
    assert_false(nsh_has_link(ns_a, name));
    assert_true(nsh_has_link(ns_b, name));
    nsfd = wg_tun_netns(&tun);
    assert_true(nsfd >= 0);
    assert_int_equal(fstat(nsfd, &st), 0);
    assert_int_equal(st.st_ino, nsh_ino(ns_b));
    close(nsfd);
    assert_int_equal(nsh_sh("ip -n %s link set %s name %s", ns_b, name, name2), 0);
    assert_int_equal(wg_tun_ifname(&tun, cur), 0);
    assert_string_equal(cur, name2);
    assert_int_equal(wg_tun_set_mtu(&tun, 1400), 0);
    assert_int_equal(nsh_sh("ip -n %s link show dev %s | grep -q 'mtu 1400 '", ns_b, name2), 0);
    assert_int_equal(nsh_sh("ip -n %s addr add 10.98.1.1/24 dev %s && ip -n %s link set %s up",
                            ns_b, name2, ns_b, name2), 0);
    assert_int_equal(nsh_enter(ns_b), 0);
    sock = udp_sock("10.98.1.1", 5002);
    assert_int_equal(nsh_enter(NULL), 0);
    send_udp(sock, "10.98.1.2", 6002, "moved, still out");
    expect_on_tun(&tun, "10.98.1.2", 6002, "moved, still out");
    inject_and_receive(&tun, sock, "10.98.1.2", "10.98.1.1", 5002, "moved, still in");
    close(sock);

    /* Deleted in B: the fd says so (POLLERR, EBADFD), wherever we are. */
    assert_int_equal(nsh_sh("ip -n %s link del %s", ns_b, name2), 0);
    pfd.fd = tun.fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    assert_int_equal(poll(&pfd, 1, 2000), 1);
    assert_true(pfd.revents & (POLLERR | POLLHUP));
    {
        struct wg_pkt p = { .head = bufs[0] };
        assert_int_equal(wg_tun_read_batch(&tun, &p, 1), -EBADFD);
        p.verdict = WG_PKT_DELIVER;
        p.off = WG_PKT_HEADROOM;
        p.len = make_udp4(bufs[0] + WG_PKT_HEADROOM, "10.98.1.2", "10.98.1.1", 1, "x");
        assert_int_equal(wg_tun_write_batch(&tun, &p, 1), -EBADFD);
    }
    assert_int_equal(wg_tun_ifname(&tun, cur), -EBADFD);
    wg_tun_close(&tun);
    assert_int_equal(tun.fd, -1);
}

/* The same with WGVSOCK_TUN_OFFLOAD=0: a plain TUN, no virtio header. */
static void test_tun_lifecycle_plain(void **state)
{
    setenv("WGVSOCK_TUN_OFFLOAD", "0", 1);
    test_tun_lifecycle(state);
    unsetenv("WGVSOCK_TUN_OFFLOAD");
}

static void test_close_removes(void **state)
{
    struct wg_tun tun;
    char name[IFNAMSIZ];

    snprintf(name, sizeof(name), "wgc%d", (int)getpid() % 100000);
    assert_int_equal(nsh_enter(ns_a), 0);
    assert_int_equal(wg_tun_open(&tun, name, 1500), 0);
    assert_int_equal(nsh_enter(NULL), 0);
    assert_true(nsh_has_link(ns_a, name));
    /* A second open of the same live name fails (EBUSY), never steals it. */
    {
        struct wg_tun t2;
        assert_int_equal(nsh_enter(ns_a), 0);
        assert_true(wg_tun_open(&t2, name, 1500) < 0);
        assert_int_equal(nsh_enter(NULL), 0);
    }
    wg_tun_close(&tun);
    assert_false(nsh_has_link(ns_a, name));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_tun_lifecycle),
        cmocka_unit_test(test_tun_lifecycle_plain),
        cmocka_unit_test(test_close_removes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
