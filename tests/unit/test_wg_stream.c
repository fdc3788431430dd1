/* test_wg_stream.c - the stream transport over loopback TCP (never vsock on
 * this host): batches both ways on one connection, replies on the accepted
 * connection, redial + reconnected callback after the peer restarts, bad
 * CRC / garbage / EOF mid-frame closing only that connection, frames split
 * into single bytes, many peers on one listener, a stuck peer not blocking
 * others, dual-stack listener, no-CRC mode, re-bind keeping connections. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "wgcore/stream_frame.h"
#include "wgcore/transport.h"

#define MAX_SRC 64

struct sink {
    pthread_mutex_t lock;
    unsigned count, bad_order, reconnects;
    uint64_t bytes;
    struct wg_sockaddr src[MAX_SRC];
    unsigned src_count[MAX_SRC];
    uint32_t src_last[MAX_SRC];
    unsigned n_src;
    struct wg_sockaddr last_reconnect;
    struct wg_transport *echo;      /* if set: send every message back to its source */
};

static void sink_rx(void *ctx, struct wg_msg *msgs, unsigned n)
{
    struct sink *s = ctx;

    if (n < 1 || n > WG_BATCH_MAX)
        abort();
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < n; i++) {
        unsigned k;
        uint32_t seq = 0;

        if (msgs[i].len >= 4)
            memcpy(&seq, msgs[i].data, 4);
        for (k = 0; k < s->n_src; k++)
            if (wg_sockaddr_equal(&s->src[k], &msgs[i].ep))
                break;
        if (k == s->n_src && k < MAX_SRC)
            s->src[s->n_src++] = msgs[i].ep;
        if (k < MAX_SRC) {
            if (s->src_count[k] && seq != s->src_last[k] + 1)
                s->bad_order++;
            s->src_last[k] = seq;
            s->src_count[k]++;
        }
        s->count++;
        s->bytes += msgs[i].len;
    }
    pthread_mutex_unlock(&s->lock);
    if (s->echo)
        wg_transport_send(s->echo, msgs, n);
}

static void sink_reconnected(void *ctx, const struct wg_sockaddr *ep)
{
    struct sink *s = ctx;

    pthread_mutex_lock(&s->lock);
    s->reconnects++;
    s->last_reconnect = *ep;
    pthread_mutex_unlock(&s->lock);
}

static unsigned sink_get(struct sink *s, unsigned *field)
{
    unsigned v;

    pthread_mutex_lock(&s->lock);
    v = *field;
    pthread_mutex_unlock(&s->lock);
    return v;
}

/* The sink's fields change on the transport's thread: read them under its
 * lock (a bare read is a data race, and ThreadSanitizer says so). */
static struct wg_sockaddr sink_last_reconnect(struct sink *s)
{
    struct wg_sockaddr ep;

    pthread_mutex_lock(&s->lock);
    ep = s->last_reconnect;
    pthread_mutex_unlock(&s->lock);
    return ep;
}

static bool wait_for(struct sink *s, unsigned *field, unsigned want, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (sink_get(s, field) >= want)
            return true;
        usleep(10000);
    }
    return sink_get(s, field) >= want;
}

static struct wg_transport *mk(struct sink *s, enum wg_transport_kind kind, bool no_crc)
{
    struct wg_transport_params p = {
        .kind = kind, .stream_no_crc = no_crc, .rx = sink_rx,
        .reconnected = sink_reconnected, .ctx = s,
    };
    struct wg_transport *t = NULL;

    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    assert_int_equal(wg_transport_create(&p, &t), 0);
    return t;
}

static void ep_of(struct wg_sockaddr *ep, const char *ip, uint16_t port)
{
    char buf[80];

    snprintf(buf, sizeof(buf), strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
    assert_int_equal(wg_sockaddr_parse(ep, buf, false), 0);
}

static unsigned send_seq(struct wg_transport *t, const struct wg_sockaddr *to, unsigned n,
                         uint32_t seq0, uint32_t len)
{
    static uint8_t data[WG_BATCH_MAX][1500];
    struct wg_msg m[WG_BATCH_MAX];
    unsigned sent = 0;

    while (n) {
        unsigned k = n < WG_BATCH_MAX ? n : WG_BATCH_MAX;

        for (unsigned i = 0; i < k; i++) {
            uint32_t seq = seq0 + i;

            memset(data[i], (int)seq, len);
            memcpy(data[i], &seq, 4);
            m[i].ep = *to;
            m[i].data = data[i];
            m[i].len = len;
        }
        sent += wg_transport_send(t, m, k);
        seq0 += k;
        n -= k;
    }
    return sent;
}

/* A plain TCP client for hand-made byte streams. */
static int raw_connect(uint16_t port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* true if the peer closed fd within ms */
static bool raw_closed_by_peer(int fd, int ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    char b[256];

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (;;) {
        ssize_t r = recv(fd, b, sizeof(b), 0);

        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return true;
        if (r < 0)
            return false;
    }
}

static void test_batches_and_reply_on_accepted(void **state)
{
    struct sink sa, sb;
    struct wg_transport *a = mk(&sa, WG_TRANSPORT_TCP4, false);
    struct wg_transport *b = mk(&sb, WG_TRANSPORT_TCP4, false);
    struct wg_sockaddr to;

    assert_int_equal(wg_transport_port(b), 0);
    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    assert_int_not_equal(wg_transport_port(b), 0);
    /* a has no listener: b's replies can only come on a's connection */
    ep_of(&to, "127.0.0.1", wg_transport_port(b));
    /* up to 64 frames wait while the connection is being dialled */
    assert_int_equal(send_seq(a, &to, WG_BATCH_MAX, 0, 1400), WG_BATCH_MAX);
    assert_true(wait_for(&sb, &sb.count, WG_BATCH_MAX, 5000));
    for (int k = 1; k < 40; k++) {
        assert_int_equal(send_seq(a, &to, WG_BATCH_MAX, (uint32_t)k * WG_BATCH_MAX, 1400), WG_BATCH_MAX);
        usleep(2000);   /* stay under the bounded send buffer on a slow machine */
    }
    assert_true(wait_for(&sb, &sb.count, 40 * WG_BATCH_MAX, 5000));
    assert_int_equal(sb.bad_order, 0);
    assert_int_equal(sb.n_src, 1);
    assert_int_equal(sb.src[0].addr.sa.sa_family, AF_INET);
    assert_int_not_equal(ntohs(sb.src[0].addr.in.sin_port), wg_transport_port(b));

    assert_int_equal(send_seq(b, &sb.src[0], 100, 0, 200), 100);
    assert_true(wait_for(&sa, &sa.count, 100, 5000));
    assert_int_equal(sa.bad_order, 0);
    assert_int_equal(sa.n_src, 1);
    assert_true(wg_sockaddr_equal(&sa.src[0], &to));
    /* a dial to a port nobody listens on: accepted for queueing, no crash */
    struct wg_sockaddr nowhere;
    ep_of(&nowhere, "127.0.0.1", 1);
    assert_int_equal(send_seq(a, &nowhere, 3, 0, 100), 3);
    /* wrong family for the kind: dropped */
    ep_of(&nowhere, "::1", 1);
    assert_int_equal(send_seq(a, &nowhere, 3, 0, 100), 0);
    wg_transport_destroy(a);
    wg_transport_destroy(b);
}

static void test_redial_and_reconnected(void **state)
{
    struct sink sa, sb;
    struct wg_transport *a = mk(&sa, WG_TRANSPORT_TCP4, false);
    struct wg_transport *b = mk(&sb, WG_TRANSPORT_TCP4, false);
    struct wg_sockaddr to;
    uint16_t port;

    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    port = wg_transport_port(b);
    ep_of(&to, "127.0.0.1", port);
    send_seq(a, &to, 10, 0, 100);
    assert_true(wait_for(&sb, &sb.count, 10, 5000));
    assert_int_equal(sink_get(&sa, &sa.reconnects), 0);

    /* the peer goes away and comes back on the same port */
    wg_transport_destroy(b);
    usleep(300 * 1000);
    b = mk(&sb, WG_TRANSPORT_TCP4, false);
    assert_int_equal(wg_transport_bind(b, port, 0), 0);
    /* a redials by itself (no send needed) and tells the engine */
    assert_true(wait_for(&sa, &sa.reconnects, 1, 10000));
    struct wg_sockaddr rec = sink_last_reconnect(&sa);
    assert_true(wg_sockaddr_equal(&rec, &to));
    send_seq(a, &to, 10, 0, 100);
    assert_true(wait_for(&sb, &sb.count, 10, 5000));
    assert_int_equal(sb.bad_order, 0);
    wg_transport_destroy(a);
    wg_transport_destroy(b);
}

static void test_bad_streams_close_only_their_connection(void **state)
{
    struct sink sa, sb;
    struct wg_transport *a = mk(&sa, WG_TRANSPORT_TCP4, false);
    struct wg_transport *b = mk(&sb, WG_TRANSPORT_TCP4, false);
    struct wg_sockaddr to;
    uint8_t frame[200];
    uint8_t payload[148];
    int fd, len;

    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    ep_of(&to, "127.0.0.1", wg_transport_port(b));
    send_seq(a, &to, 5, 0, 100);
    assert_true(wait_for(&sb, &sb.count, 5, 5000));

    memset(payload, 0x42, sizeof(payload));
    payload[0] = 1;
    len = wg_frame_encode(frame, sizeof(frame), payload, sizeof(payload), true);
    assert_int_equal(len, 154);

    /* 1. bad CRC: one good frame is delivered, then the connection closes */
    fd = raw_connect(wg_transport_port(b));
    assert_int_equal(send(fd, frame, len, 0), len);
    frame[100] ^= 1;
    assert_int_equal(send(fd, frame, len, 0), len);
    frame[100] ^= 1;
    assert_true(raw_closed_by_peer(fd, 3000));
    close(fd);
    assert_true(wait_for(&sb, &sb.count, 6, 2000));

    /* 2. garbage: closed as soon as a complete "frame" fails its CRC */
    fd = raw_connect(wg_transport_port(b));
    {
        static uint8_t junk[70000];
        srand(7);
        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (uint8_t)rand();
        (void)send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
    }
    assert_true(raw_closed_by_peer(fd, 3000));
    close(fd);

    /* 3. EOF mid-frame: nothing half-delivered */
    fd = raw_connect(wg_transport_port(b));
    assert_int_equal(send(fd, frame, 50, 0), 50);
    shutdown(fd, SHUT_WR);
    assert_true(raw_closed_by_peer(fd, 3000));
    close(fd);

    /* 4. frames split into single-byte writes are reassembled */
    fd = raw_connect(wg_transport_port(b));
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < len; i++) {
            assert_int_equal(send(fd, frame + i, 1, 0), 1);
            if (i % 16 == 0)
                usleep(200);
        }
    usleep(200 * 1000);
    assert_true(wait_for(&sb, &sb.count, 9, 3000));
    close(fd);

    /* the well-behaved connection never noticed */
    send_seq(a, &to, 5, 5, 100);
    assert_true(wait_for(&sb, &sb.count, 14, 5000));
    assert_int_equal(sink_get(&sa, &sa.reconnects), 0);
    assert_int_equal(sink_get(&sb, &sb.count), 14);
    wg_transport_destroy(a);
    wg_transport_destroy(b);
}

static void test_many_peers_one_listener(void **state)
{
    enum { N = 24 };
    static struct sink sp[N];
    struct wg_transport *p[N];
    struct sink sb;
    struct wg_transport *b = mk(&sb, WG_TRANSPORT_TCP, false);
    struct wg_sockaddr to;

    sb.echo = b;
    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    ep_of(&to, "127.0.0.1", wg_transport_port(b));
    for (int i = 0; i < N; i++) {
        p[i] = mk(&sp[i], i % 2 ? WG_TRANSPORT_TCP4 : WG_TRANSPORT_TCP, false);
        assert_int_equal(send_seq(p[i], &to, 20, 0, 300), 20);
    }
    assert_true(wait_for(&sb, &sb.count, N * 20, 10000));
    assert_int_equal(sb.n_src, N);
    assert_int_equal(sb.bad_order, 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(sb.src_count[i], 20);
        /* dual-stack listener: IPv4 peers appear as IPv4, not v4-mapped */
        assert_int_equal(sb.src[i].addr.sa.sa_family, AF_INET);
    }
    /* every peer got its own 20 echoes back */
    for (int i = 0; i < N; i++) {
        assert_true(wait_for(&sp[i], &sp[i].count, 20, 5000));
        assert_int_equal(sp[i].count, 20);
        assert_int_equal(sp[i].bad_order, 0);
    }
    for (int i = 0; i < N; i++)
        wg_transport_destroy(p[i]);
    sb.echo = NULL;
    wg_transport_destroy(b);
}

static void test_dual_stack_and_tcp6(void **state)
{
    struct sink sa, sb, sc;
    struct wg_transport *b = mk(&sb, WG_TRANSPORT_TCP, false);
    struct wg_transport *a = mk(&sa, WG_TRANSPORT_TCP6, false);
    struct wg_transport *c = mk(&sc, WG_TRANSPORT_TCP4, false);
    struct wg_sockaddr to6, to4;

    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    ep_of(&to6, "::1", wg_transport_port(b));
    ep_of(&to4, "127.0.0.1", wg_transport_port(b));
    send_seq(a, &to6, 7, 0, 100);
    assert_true(wait_for(&sb, &sb.count, 7, 5000));
    send_seq(c, &to4, 7, 0, 100);
    assert_true(wait_for(&sb, &sb.count, 14, 5000));
    assert_int_equal(sb.n_src, 2);
    assert_int_equal(sb.src[0].addr.sa.sa_family, AF_INET6);
    assert_int_equal(sb.src[1].addr.sa.sa_family, AF_INET);
    /* a tcp6 transport listens on IPv6 only */
    assert_int_equal(wg_transport_bind(a, 0, 0), 0);
    ep_of(&to4, "127.0.0.1", wg_transport_port(a));
    send_seq(c, &to4, 1, 0, 100);
    usleep(300 * 1000);
    assert_int_equal(sink_get(&sa, &sa.count), 0);
    /* a busy port is an error and keeps the old listener */
    uint16_t pa = wg_transport_port(a);
    assert_int_equal(wg_transport_bind(a, wg_transport_port(b), 0), -EADDRINUSE);
    assert_int_equal(wg_transport_port(a), pa);
    wg_transport_destroy(a);
    wg_transport_destroy(b);
    wg_transport_destroy(c);
}

static void test_stuck_peer_does_not_block(void **state)
{
    struct sink sa, sb;
    struct wg_transport *a = mk(&sa, WG_TRANSPORT_TCP4, false);
    struct wg_transport *b = mk(&sb, WG_TRANSPORT_TCP4, false);
    struct wg_sockaddr to, stuck_ep;
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sin);
    int ls = socket(AF_INET, SOCK_STREAM, 0), small = 4096;

    /* a listener that accepts (kernel backlog) but never reads */
    assert_true(ls >= 0);
    setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(ls, 4), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&sin, &sl), 0);
    ep_of(&stuck_ep, "127.0.0.1", ntohs(sin.sin_port));

    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    ep_of(&to, "127.0.0.1", wg_transport_port(b));

    struct timespec t0, t1;
    unsigned accepted = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int k = 0; k < 400; k++) {
        accepted += send_seq(a, &stuck_ep, WG_BATCH_MAX, 0, 1400);
        if (k == 10)
            usleep(100 * 1000);     /* let the dial complete */
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* bounded: ~36 MB offered, only socket buffers + our 256 KiB taken */
    assert_true(accepted < 400 * WG_BATCH_MAX / 2);
    assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 3000);
    /* meanwhile the healthy peer gets everything */
    assert_int_equal(send_seq(a, &to, 50, 0, 1000), 50);
    assert_true(wait_for(&sb, &sb.count, 50, 5000));
    assert_int_equal(sb.bad_order, 0);
    wg_transport_destroy(a);
    wg_transport_destroy(b);
    close(ls);
}

static void test_no_crc_mode(void **state)
{
    struct sink sa, sb;
    struct wg_transport *a = mk(&sa, WG_TRANSPORT_TCP4, true);
    struct wg_transport *b = mk(&sb, WG_TRANSPORT_TCP4, true);
    struct wg_sockaddr to;
    uint8_t raw[2 + 148];
    int fd;

    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    ep_of(&to, "127.0.0.1", wg_transport_port(b));
    send_seq(a, &to, 30, 0, 600);
    assert_true(wait_for(&sb, &sb.count, 30, 5000));
    assert_int_equal(sb.bad_order, 0);
    /* the wire really is u16 len | payload */
    fd = raw_connect(wg_transport_port(b));
    raw[0] = 148, raw[1] = 0;
    memset(raw + 2, 7, 148);
    assert_int_equal(send(fd, raw, sizeof(raw), 0), (ssize_t)sizeof(raw));
    assert_true(wait_for(&sb, &sb.count, 31, 3000));
    pthread_mutex_lock(&sb.lock);
    assert_int_equal(sb.bytes, 30 * 600 + 148);
    pthread_mutex_unlock(&sb.lock);
    close(fd);
    wg_transport_destroy(a);
    wg_transport_destroy(b);
}

static void test_rebind_keeps_connections(void **state)
{
    struct sink sa, sb;
    struct wg_transport *a = mk(&sa, WG_TRANSPORT_TCP4, false);
    struct wg_transport *b = mk(&sb, WG_TRANSPORT_TCP4, false);
    struct wg_sockaddr to, to2;
    uint16_t p1;

    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    p1 = wg_transport_port(b);
    ep_of(&to, "127.0.0.1", p1);
    send_seq(a, &to, 5, 0, 100);
    assert_true(wait_for(&sb, &sb.count, 5, 5000));
    assert_int_equal(wg_transport_bind(b, 0, 0), 0);
    assert_int_not_equal(wg_transport_port(b), p1);
    /* the established connection still works */
    send_seq(a, &to, 5, 5, 100);
    assert_true(wait_for(&sb, &sb.count, 10, 5000));
    assert_int_equal(sb.bad_order, 0);
    /* and the new port accepts */
    ep_of(&to2, "127.0.0.1", wg_transport_port(b));
    send_seq(a, &to2, 5, 0, 100);
    assert_true(wait_for(&sb, &sb.count, 15, 5000));
    wg_transport_destroy(a);
    wg_transport_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batches_and_reply_on_accepted),
        cmocka_unit_test(test_redial_and_reconnected),
        cmocka_unit_test(test_bad_streams_close_only_their_connection),
        cmocka_unit_test(test_many_peers_one_listener),
        cmocka_unit_test(test_dual_stack_and_tcp6),
        cmocka_unit_test(test_stuck_peer_does_not_block),
        cmocka_unit_test(test_no_crc_mode),
        cmocka_unit_test(test_rebind_keeps_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
