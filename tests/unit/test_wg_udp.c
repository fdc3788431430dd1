/* test_wg_udp.c - the UDP transport on loopback: dual-stack bind on one
 * port, batches both ways over IPv4 and IPv6, source endpoints, re-bind
 * (new port works, a busy port fails and leaves the old one working), and
 * sends racing re-binds (for ThreadSanitizer: the lazy-bind check), and the
 * UDP offloads in a namespace of our own: runs of equal messages leave as
 * UDP_SEGMENT sends (seen as few packets on lo) and arrive whole and in
 * order through UDP_GRO; WGVSOCK_UDP_OFFLOAD=0 sends one packet per
 * message; a GSO send the kernel refuses (segment above lo's MTU) falls
 * back to plain datagrams without losing the batch.  Receive loops: 40
 * transports share the process's few wg-udp-rx threads, each gets its own
 * traffic, the threads go with the last socket, and a receiver re-binding
 * 40 times under a flood never runs a callback for a closed socket. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "wgcore/transport.h"
#include "wgcore/udp_rxloop.h"
#include "netns_helpers.h"

struct sink {
    pthread_mutex_t lock;
    unsigned count;
    uint64_t bytes;
    uint32_t last_seq;
    bool in_order;
    bool verify;            /* payload bytes follow pattern_byte() */
    unsigned bad;
    struct wg_sockaddr last_from;
};

static uint8_t pattern_byte(uint32_t seq, unsigned j)
{
    return (uint8_t)(seq * 7 + j);
}

static void sink_rx(void *ctx, struct wg_msg *msgs, unsigned n)
{
    struct sink *s = ctx;

    assert_true(n >= 1 && n <= WG_BATCH_MAX);
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < n; i++) {
        uint32_t seq;

        if (msgs[i].len < 4) {
            char b[WG_SOCKADDR_STR_MAX];
            wg_sockaddr_format(&msgs[i].ep, b);
            fail_msg("short message (%u bytes) from %s", msgs[i].len, b);
        }
        memcpy(&seq, msgs[i].data, 4);
        for (unsigned j = 4; s->verify && j < msgs[i].len; j++)
            if (msgs[i].data[j] != pattern_byte(seq, j)) {
                s->bad++;
                break;
            }
        if (s->count && seq <= s->last_seq)
            s->in_order = false;
        s->last_seq = seq;
        s->count++;
        s->bytes += msgs[i].len;
        s->last_from = msgs[i].ep;
        msgs[i].data[0] ^= 0xff;        /* buffers are ours to modify */
    }
    pthread_mutex_unlock(&s->lock);
}

static unsigned sink_count(struct sink *s)
{
    unsigned c;

    pthread_mutex_lock(&s->lock);
    c = s->count;
    pthread_mutex_unlock(&s->lock);
    return c;
}

static bool wait_count(struct sink *s, unsigned want)
{
    for (int i = 0; i < 300; i++) {
        if (sink_count(s) >= want)
            return true;
        usleep(10000);
    }
    return false;
}

static struct wg_transport *mk(struct sink *s)
{
    struct wg_transport_params p = { .kind = WG_TRANSPORT_UDP, .rx = sink_rx, .ctx = s };
    struct wg_transport *t = NULL;

    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    s->in_order = true;
    assert_int_equal(wg_transport_create(&p, &t), 0);
    return t;
}

static void ep_of(struct wg_sockaddr *ep, const char *ip, uint16_t port)
{
    char buf[80];

    snprintf(buf, sizeof(buf), strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
    assert_int_equal(wg_sockaddr_parse(ep, buf, false), 0);
}

static void send_batch(struct wg_transport *t, const struct wg_sockaddr *to, unsigned n, uint32_t seq0)
{
    static uint8_t data[WG_BATCH_MAX][1400];
    struct wg_msg m[WG_BATCH_MAX];

    for (unsigned i = 0; i < n; i++) {
        uint32_t seq = seq0 + i;

        memset(data[i], (int)i, sizeof(data[i]));
        memcpy(data[i], &seq, 4);
        m[i].ep = *to;
        m[i].data = data[i];
        m[i].len = 100 + i;
    }
    assert_int_equal(wg_transport_send(t, m, n), n);
}

static void test_names(void **state)
{
    assert_int_equal(wg_transport_from_name("udp"), WG_TRANSPORT_UDP);
    assert_int_equal(wg_transport_from_name("tcp"), WG_TRANSPORT_TCP);
    assert_int_equal(wg_transport_from_name("tcp4"), WG_TRANSPORT_TCP4);
    assert_int_equal(wg_transport_from_name("tcp6"), WG_TRANSPORT_TCP6);
    assert_int_equal(wg_transport_from_name("vsock"), WG_TRANSPORT_VSOCK);
    assert_int_equal(wg_transport_from_name("VSOCK"), -EINVAL);
    assert_int_equal(wg_transport_from_name(""), -EINVAL);
    assert_int_equal(wg_transport_from_name(NULL), -EINVAL);
    assert_string_equal(wg_transport_name(WG_TRANSPORT_TCP6), "tcp6");
    assert_string_equal(wg_transport_name((enum wg_transport_kind)99), "unknown");
}

static void test_v4_v6_batches(void **state)
{
    struct sink sa, sb;
    struct wg_transport *a = mk(&sa), *b = mk(&sb);
    struct wg_sockaddr to;
    char buf[WG_SOCKADDR_STR_MAX];

    assert_int_equal(wg_transport_port(a), 0);
    assert_int_equal(wg_transport_bind(a, 0, 0), 0);
    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    assert_int_not_equal(wg_transport_port(a), 0);
    assert_int_not_equal(wg_transport_port(b), 0);

    ep_of(&to, "127.0.0.1", wg_transport_port(b));
    for (unsigned k = 0; k < 10; k++)
        send_batch(a, &to, WG_BATCH_MAX, k * WG_BATCH_MAX);
    assert_true(wait_count(&sb, 10 * WG_BATCH_MAX));
    assert_true(sb.in_order);
    assert_int_equal(sb.last_from.addr.sa.sa_family, AF_INET);
    wg_sockaddr_format(&sb.last_from, buf);
    char want[WG_SOCKADDR_STR_MAX];
    snprintf(want, sizeof(want), "127.0.0.1:%u", wg_transport_port(a));
    assert_string_equal(buf, want);

    /* reply to the source endpoint, over IPv6 too */
    send_batch(b, &sb.last_from, 3, 0);
    assert_true(wait_count(&sa, 3));
    ep_of(&to, "::1", wg_transport_port(a));
    send_batch(b, &to, 5, 100);
    assert_true(wait_count(&sa, 8));
    assert_int_equal(sa.last_from.addr.sa.sa_family, AF_INET6);
    assert_int_equal(ntohs(sa.last_from.addr.in6.sin6_port), wg_transport_port(b));

    wg_transport_destroy(a);
    wg_transport_destroy(b);
}

static void test_rebind(void **state)
{
    struct sink sa, sb;
    struct wg_transport *a = mk(&sa), *b = mk(&sb);
    struct wg_sockaddr to;
    uint16_t pa, pb;

    assert_int_equal(wg_transport_bind(a, 0, 0), 0);
    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    pa = wg_transport_port(a);
    pb = wg_transport_port(b);
    /* busy port: error, old socket still there */
    assert_int_equal(wg_transport_bind(b, pa, 0), -EADDRINUSE);
    assert_int_equal(wg_transport_port(b), pb);
    ep_of(&to, "127.0.0.1", pb);
    send_batch(a, &to, 4, 0);
    assert_true(wait_count(&sb, 4));
    /* fwmark change on the same port keeps the socket */
    assert_int_equal(wg_transport_bind(b, pb, 0x1234), 0);
    assert_int_equal(wg_transport_port(b), pb);
    /* new random port: traffic follows, the old port is released */
    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    assert_int_not_equal(wg_transport_port(b), pb);
    ep_of(&to, "127.0.0.1", wg_transport_port(b));
    send_batch(a, &to, 4, 10);
    assert_true(wait_count(&sb, 8));
    struct sink sc;
    struct wg_transport *c = mk(&sc);
    assert_int_equal(wg_transport_bind(c, pb, 0), 0);
    assert_int_equal(wg_transport_port(c), pb);
    wg_transport_destroy(c);
    wg_transport_destroy(a);
    wg_transport_destroy(b);
}

static void test_send_unbound(void **state)
{
    struct sink sa, sb;
    struct wg_transport *a = mk(&sa), *b = mk(&sb);
    struct wg_sockaddr to;

    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    ep_of(&to, "127.0.0.1", wg_transport_port(b));
    send_batch(a, &to, 2, 0);               /* binds a random port */
    assert_int_not_equal(wg_transport_port(a), 0);
    assert_true(wait_count(&sb, 2));
    /* a vsock endpoint on a UDP transport is dropped, not sent */
    struct wg_msg m = { .data = (uint8_t *)"xxxx", .len = 4 };
    assert_int_equal(wg_sockaddr_parse(&m.ep, "vm(5):1", false), 0);
    assert_int_equal(wg_transport_send(a, &m, 1), 0);
    wg_transport_destroy(a);
    wg_transport_destroy(b);
}

struct sender {
    struct wg_transport *t;
    struct wg_sockaddr to;
    bool stop;              /* atomic */
    unsigned sent;          /* read after the join */
};

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    uint8_t data[8] = { 0 };
    struct wg_msg m = { .ep = s->to, .data = data, .len = sizeof(data) };

    while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
        s->sent += wg_transport_send(s->t, &m, 1);
    return NULL;
}

/* wg_transport_send checks "bound yet?" without a lock (the first send binds
 * lazily) while wg_transport_bind, on another thread (wg(8) setting the
 * listen port), swaps the sockets: every packet either goes out or is
 * counted as not sent, and under ThreadSanitizer no access is a race. */
static void test_send_while_rebinding(void **state)
{
    struct sink sb;
    struct wg_transport *b = mk(&sb);
    struct sink sa;
    struct sender snd = { .t = mk(&sa) };
    pthread_t th;

    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    ep_of(&snd.to, "127.0.0.1", wg_transport_port(b));
    assert_int_equal(pthread_create(&th, NULL, sender_main, &snd), 0);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(wg_transport_bind(snd.t, 0, 0), 0);
        assert_int_not_equal(wg_transport_port(snd.t), 0);
        usleep(1000);
    }
    __atomic_store_n(&snd.stop, true, __ATOMIC_RELAXED);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(snd.sent > 0);
    assert_true(wait_count(&sb, 1));
    wg_transport_destroy(snd.t);
    wg_transport_destroy(b);
}

/* Packets lo has sent in the calling thread's namespace. */
static unsigned long lo_tx_packets(void)
{
    FILE *f = fopen("/proc/thread-self/net/dev", "r");
    char line[512];
    unsigned long v[10] = { 0 };

    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        char *p = strstr(line, "lo:");

        if (p && sscanf(p + 3, "%lu %lu %lu %lu %lu %lu %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3], &v[4],
                        &v[5], &v[6], &v[7], &v[8], &v[9]) == 10)
            break;
    }
    fclose(f);
    return v[9];
}

/* Sends rounds batches of WG_BATCH_MAX messages of len bytes (the last of
 * each batch last_len) from a fresh pair of transports in the calling
 * thread's namespace; checks all arrive in order with their bytes intact.
 * Returns how many packets lo carried. */
static unsigned long equal_runs(unsigned rounds, uint32_t len, uint32_t last_len)
{
    static uint8_t data[WG_BATCH_MAX][1500];
    struct sink sa, sb;
    struct wg_transport *a = mk(&sa), *b = mk(&sb);
    struct wg_sockaddr to;
    struct wg_msg m[WG_BATCH_MAX];
    unsigned long before;
    uint64_t want_bytes = 0;

    sb.verify = true;
    assert_int_equal(wg_transport_bind(a, 0, 0), 0);
    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    ep_of(&to, "127.0.0.1", wg_transport_port(b));
    before = lo_tx_packets();
    for (unsigned r = 0; r < rounds; r++) {
        for (unsigned i = 0; i < WG_BATCH_MAX; i++) {
            uint32_t seq = r * WG_BATCH_MAX + i;

            m[i].ep = to;
            m[i].data = data[i];
            m[i].len = i == WG_BATCH_MAX - 1 ? last_len : len;
            memcpy(data[i], &seq, 4);
            for (unsigned j = 4; j < m[i].len; j++)
                data[i][j] = pattern_byte(seq, j);
            want_bytes += m[i].len;
        }
        assert_int_equal(wg_transport_send(a, m, WG_BATCH_MAX), WG_BATCH_MAX);
        /* paced: the receive buffer is 4 MiB, but the machine may be slow */
        assert_true(wait_count(&sb, (r + 1) * WG_BATCH_MAX));
    }
    assert_true(sb.in_order);
    assert_int_equal(sb.bad, 0);
    pthread_mutex_lock(&sb.lock);
    assert_int_equal(sb.bytes, want_bytes);
    pthread_mutex_unlock(&sb.lock);
    wg_transport_destroy(a);
    wg_transport_destroy(b);
    return lo_tx_packets() - before;
}

static void test_offloads(void **state)
{
    char ns[64];
    unsigned long gso, plain, refused;

    if (geteuid() != 0) {
        print_message("needs root (a namespace of its own)\n");
        skip();
    }
    assert_int_equal(nsh_add("udpgso", "a", ns), 0);
    assert_int_equal(nsh_enter(ns), 0);
    /* 64 messages: 45 + 19 segments = 2 sends per batch */
    gso = equal_runs(10, 1452, 1452);
    setenv("WGVSOCK_UDP_OFFLOAD", "0", 1);
    plain = equal_runs(10, 1452, 1452);
    unsetenv("WGVSOCK_UDP_OFFLOAD");
    print_message("lo packets for 640 messages: %lu with UDP_SEGMENT, %lu without\n", gso, plain);
    assert_true(plain >= 10 * WG_BATCH_MAX);
    assert_true(gso <= 10 * 4);
    /* a short last segment is part of the run */
    assert_true(equal_runs(3, 1000, 17) <= 3 * 4);
    /* segments above the route's MTU: the kernel says EINVAL, the run goes
     * out as plain (here: fragmented) datagrams, nothing is lost */
    assert_int_equal(nsh_sh("ip -n %s link set lo mtu 1280", ns), 0);
    refused = equal_runs(3, 1452, 1452);
    print_message("lo MTU 1280: %lu packets for 192 messages\n", refused);
    assert_true(refused >= 3 * WG_BATCH_MAX);
    assert_int_equal(nsh_enter(NULL), 0);
}

static unsigned udp_rx_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    unsigned n = 0;

    assert_non_null(d);
    while ((e = readdir(d))) {
        char path[300], comm[32] = "";
        FILE *f;

        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        if (e->d_name[0] == '.' || !(f = fopen(path, "r")))
            continue;
        if (fgets(comm, sizeof(comm), f) && !strcmp(comm, "wg-udp-rx\n"))
            n++;
        fclose(f);
    }
    closedir(d);
    return n;
}

#define MANY 40

static void test_shared_loops(void **state)
{
    static struct sink sinks[MANY];
    struct wg_transport *t[MANY];
    struct sink ss;
    struct wg_transport *src = mk(&ss);
    unsigned loops;

    for (unsigned i = 0; i < MANY; i++) {
        t[i] = mk(&sinks[i]);
        assert_int_equal(wg_transport_bind(t[i], 0, 0), 0);
    }
    loops = wg_rxloop_threads();
    assert_true(loops >= 1 && loops <= WG_RXLOOP_MAX);
    for (int i = 0; i < 100 && udp_rx_threads() < loops; i++)
        usleep(10000);
    /* 80 sockets (v4 + v6 each), a handful of threads */
    assert_int_equal(udp_rx_threads(), loops);
    for (unsigned i = 0; i < MANY; i++) {
        struct wg_sockaddr to;

        ep_of(&to, i % 2 ? "::1" : "127.0.0.1", wg_transport_port(t[i]));
        send_batch(src, &to, 3 + i % 5, 0);
    }
    for (unsigned i = 0; i < MANY; i++) {
        assert_true(wait_count(&sinks[i], 3 + i % 5));
        assert_true(sinks[i].in_order);
    }
    for (unsigned i = 0; i < MANY; i++)
        wg_transport_destroy(t[i]);
    wg_transport_destroy(src);
    /* the last socket took the loops with it */
    assert_int_equal(wg_rxloop_threads(), 0);
    for (int i = 0; i < 100 && udp_rx_threads(); i++)
        usleep(10000);
    assert_int_equal(udp_rx_threads(), 0);
}

struct flooder {
    struct wg_transport *t;
    uint16_t *port;         /* atomic: the receiver's current port */
    bool stop;              /* atomic */
};

static void *flood_main(void *arg)
{
    struct flooder *f = arg;
    uint8_t data[64] = { 0 };

    while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
        struct wg_msg m[16];
        char buf[40];

        snprintf(buf, sizeof(buf), "127.0.0.1:%u", __atomic_load_n(f->port, __ATOMIC_RELAXED));
        for (unsigned i = 0; i < 16; i++) {
            assert_int_equal(wg_sockaddr_parse(&m[i].ep, buf, false), 0);
            m[i].data = data;
            m[i].len = sizeof(data);
        }
        (void)wg_transport_send(f->t, m, 16);
    }
    return NULL;
}

/* The receiver's sockets leave their loop while datagrams keep arriving:
 * wg_rxloop_del must not return while the loop may still call back for
 * them (under ASan a late callback is a use after free). */
static void test_rebind_under_flood(void **state)
{
    struct sink sa, sb;
    struct wg_transport *b = mk(&sb);
    uint16_t port;
    struct flooder f = { .t = mk(&sa), .port = &port };
    pthread_t th;

    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    __atomic_store_n(&port, wg_transport_port(b), __ATOMIC_RELAXED);
    assert_int_equal(pthread_create(&th, NULL, flood_main, &f), 0);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(wg_transport_bind(b, 0, 0), 0);
        __atomic_store_n(&port, wg_transport_port(b), __ATOMIC_RELAXED);
        usleep(2000);
    }
    __atomic_store_n(&f.stop, true, __ATOMIC_RELAXED);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(sink_count(&sb) > 0);
    wg_transport_destroy(b);
    wg_transport_destroy(f.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_v4_v6_batches),
        cmocka_unit_test(test_rebind),
        cmocka_unit_test(test_send_unbound),
        cmocka_unit_test(test_send_while_rebinding),
        cmocka_unit_test(test_offloads),
        cmocka_unit_test(test_shared_loops),
        cmocka_unit_test(test_rebind_under_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
