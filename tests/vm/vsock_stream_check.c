/* vsock_stream_check.c - the stream transport over real AF_VSOCK.
 *
 * Runs only inside the QEMU guest of tests/vm (vsock_loopback, CID 1):
 * never on a host, where an AF_VSOCK socket could reach the hypervisor.
 * The unit test covers the same code over loopback TCP; this covers what
 * only vsock has: VMADDR_CID_ANY listeners, 32-bit kernel-chosen ports,
 * the vsock credit-based flow control, vsock-specific error codes on
 * connect/reset, and the bytes on a real vsock wire.
 *
 *   vsock_stream_check [-m MiB]     exit 0 = every check passed
 *   vsock_stream_check -g PORT      hostile streams at a daemon's listener
 *   vsock_stream_check -s PORT -n N -t SECS -r FILE
 *                                   N stalled connections held at a daemon's
 *                                   listener (FILE created once all are open);
 *                                   exit 0 if the daemon closed every one
 *                                   within SECS
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <linux/vm_sockets.h>
#include <zlib.h>

#include "wgcore/stream_frame.h"
#include "wgcore/transport.h"

#ifndef VMADDR_CID_LOCAL
#define VMADDR_CID_LOCAL 1
#endif

static int failures;

#define CHECK(cond, ...) do {                                           \
        if (cond) {                                                     \
            printf("  ok   " __VA_ARGS__);                              \
        } else {                                                        \
            printf("  FAIL " __VA_ARGS__);                              \
            printf("       (%s:%d: %s)\n", __FILE__, __LINE__, #cond);  \
            failures++;                                                 \
        }                                                               \
        printf("\n");                                                   \
        fflush(stdout);                                                 \
    } while (0)

struct sink {
    pthread_mutex_t lock;
    unsigned count, bad_order, reconnects;
    uint64_t bytes;
    uint32_t last_seq;
    struct wg_sockaddr src;
    struct wg_transport *echo;
};

static void sink_rx(void *ctx, struct wg_msg *m, unsigned n)
{
    struct sink *s = ctx;

    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < n; i++) {
        uint32_t seq = 0;

        if (m[i].len >= 4)
            memcpy(&seq, m[i].data, 4);
        if (s->count && seq != s->last_seq + 1)
            s->bad_order++;
        s->last_seq = seq;
        s->count++;
        s->bytes += m[i].len;
        s->src = m[i].ep;
    }
    pthread_mutex_unlock(&s->lock);
    if (s->echo)
        wg_transport_send(s->echo, m, n);
}

static void sink_reconnected(void *ctx, const struct wg_sockaddr *ep)
{
    struct sink *s = ctx;

    pthread_mutex_lock(&s->lock);
    s->reconnects++;
    pthread_mutex_unlock(&s->lock);
}

static unsigned get(struct sink *s, unsigned *f)
{
    unsigned v;

    pthread_mutex_lock(&s->lock);
    v = *f;
    pthread_mutex_unlock(&s->lock);
    return v;
}

static bool wait_for(struct sink *s, unsigned *f, unsigned want, int ms)
{
    for (int i = 0; i < ms / 10 && get(s, f) < want; i++)
        usleep(10000);
    return get(s, f) >= want;
}

static void reset(struct sink *s)
{
    pthread_mutex_lock(&s->lock);
    s->count = s->bad_order = s->reconnects = 0;
    s->bytes = 0;
    pthread_mutex_unlock(&s->lock);
}

static struct wg_transport *mk(struct sink *s, bool no_crc)
{
    struct wg_transport_params p = {
        .kind = WG_TRANSPORT_VSOCK, .stream_no_crc = no_crc,
        .rx = sink_rx, .reconnected = sink_reconnected, .ctx = s,
    };
    struct wg_transport *t = NULL;

    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    if (wg_transport_create(&p, &t)) {
        printf("  FAIL wg_transport_create(vsock)\n");
        exit(1);
    }
    return t;
}

static void local_ep(struct wg_sockaddr *ep, uint16_t port)
{
    char b[40];

    snprintf(b, sizeof(b), "local(1):%u", port);
    if (wg_sockaddr_parse(ep, b, true)) {
        printf("  FAIL parse %s\n", b);
        exit(1);
    }
}

/* Sends n frames seq0.. to `to`.  With wait_ms, a batch the transport
 * did not take in full (send buffer full: a datagram network drops) is
 * retried until taken, so the stream is lossless and in order. */
static unsigned send_seq_retry(struct wg_transport *t, const struct wg_sockaddr *to, unsigned n,
                               uint32_t seq0, uint32_t len, int wait_ms)
{
    static uint8_t data[WG_BATCH_MAX][1500];
    struct wg_msg m[WG_BATCH_MAX];
    unsigned sent = 0;

    while (n) {
        unsigned k = n < WG_BATCH_MAX ? n : WG_BATCH_MAX, got;

        for (unsigned i = 0; i < k; i++) {
            uint32_t seq = seq0 + i;

            memset(data[i], (int)(seq * 7), len);
            memcpy(data[i], &seq, 4);
            m[i] = (struct wg_msg){ .ep = *to, .data = data[i], .len = len };
        }
        got = wg_transport_send(t, m, k);
        /* accepted frames are a prefix of the batch: same connection,
         * same size, the buffer only fills up */
        for (int w = 0; got < k && w < wait_ms; w++) {
            usleep(1000);
            got += wg_transport_send(t, m + got, k - got);
        }
        sent += got;
        seq0 += k;
        n -= k;
    }
    return sent;
}

static unsigned send_seq(struct wg_transport *t, const struct wg_sockaddr *to, unsigned n,
                         uint32_t seq0, uint32_t len)
{
    return send_seq_retry(t, to, n, seq0, len, 0);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int raw_socket(void)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

    if (fd < 0) {
        printf("  FAIL socket(AF_VSOCK): %s\n", strerror(errno));
        exit(1);
    }
    return fd;
}

static int raw_connect(uint16_t port)
{
    struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_LOCAL, .svm_port = port };
    int fd = raw_socket();

    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        printf("  FAIL connect(local(1):%u): %s\n", port, strerror(errno));
        exit(1);
    }
    return fd;
}

/* true if the peer closed fd within ms */
static bool closed_by_peer(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char b[512];

    while (poll(&p, 1, ms) == 1) {
        ssize_t r = recv(fd, b, sizeof(b), MSG_DONTWAIT);

        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return true;
        if (r < 0 && errno != EAGAIN)
            return false;
    }
    return false;
}

static void put_frame(int fd, const uint8_t *payload, uint16_t len, bool good_crc)
{
    uint8_t f[6 + 1500];
    uint32_t crc = (uint32_t)crc32(0L, payload, len) ^ (good_crc ? 0 : 1);

    f[0] = len & 0xff, f[1] = len >> 8;
    f[2] = crc & 0xff, f[3] = (crc >> 8) & 0xff, f[4] = (crc >> 16) & 0xff, f[5] = crc >> 24;
    memcpy(f + 6, payload, len);
    (void)!write(fd, f, 6u + len);
}

/* 1. listen port 0: the kernel's vsock ephemeral ports are 32-bit; ours
 * must fit wg(8)'s 16-bit listen-port and be reachable. */
static void check_ephemeral_port(void)
{
    struct sink s;
    struct wg_transport *t = mk(&s, false);
    int r = wg_transport_bind(t, 0, 0);
    uint16_t port = wg_transport_port(t);

    printf("[ephemeral listen port]\n");
    CHECK(r == 0, "bind(0) on vsock -> %d (%s)", r, r ? strerror(-r) : "ok");
    CHECK(port >= 32768 && port <= 60999, "ephemeral port %u reported, in 32768..60999", port);
    if (port) {
        int fd = raw_connect(port);
        uint8_t msg[148] = { 1 };

        put_frame(fd, msg, sizeof(msg), true);
        CHECK(wait_for(&s, &s.count, 1, 20000), "frame received on the ephemeral port");
        close(fd);
    }
    wg_transport_destroy(t);
}

/* 2. batches both ways; replies go back on the accepted connection (a has
 * no listener at all); the dialled side's source port is 16-bit. */
static void check_echo(struct wg_transport *a, struct sink *sa, struct sink *sb, uint16_t pb)
{
    struct wg_sockaddr to;
    unsigned want = 40 * WG_BATCH_MAX;

    printf("[echo over one dialled connection, %u frames]\n", want);
    local_ep(&to, pb);
    for (unsigned k = 0; k < 40; k++) {
        /* lossless: retry what the send buffer did not take, and keep at
         * most 4 batches in flight so the echo side's buffer keeps up */
        send_seq_retry(a, &to, WG_BATCH_MAX, k * WG_BATCH_MAX, 1400, 2000);
        if (k >= 4)
            wait_for(sa, &sa->count, (k - 3) * WG_BATCH_MAX, 2000);
    }
    CHECK(wait_for(sb, &sb->count, want, 20000), "listener got %u/%u frames", get(sb, &sb->count), want);
    CHECK(wait_for(sa, &sa->count, want, 20000), "dialler got %u/%u echoes back", get(sa, &sa->count), want);
    CHECK(get(sb, &sb->bad_order) == 0 && get(sa, &sa->bad_order) == 0, "in order both ways");
    pthread_mutex_lock(&sb->lock);
    struct wg_sockaddr src = sb->src;
    pthread_mutex_unlock(&sb->lock);
    CHECK(src.addr.sa.sa_family == AF_VSOCK && src.addr.vm.svm_cid == VMADDR_CID_LOCAL,
          "source is CID %u", src.addr.vm.svm_cid);
    CHECK(src.addr.vm.svm_port >= 61000 && src.addr.vm.svm_port <= 65535,
          "dialled source port %u: 16-bit, in 61000..65535", src.addr.vm.svm_port);
    pthread_mutex_lock(&sa->lock);
    src = sa->src;
    pthread_mutex_unlock(&sa->lock);
    CHECK(wg_sockaddr_equal(&src, &to), "echoes come from local(1):%u", pb);
}

/* 3. what goes on the wire is exactly u16 LE len | u32 LE crc32 | payload */
static void check_wire_bytes(bool no_crc)
{
    struct sink s;
    struct wg_transport *t = mk(&s, no_crc);
    struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = 0 };
    socklen_t al = sizeof(a);
    int ls = raw_socket(), c;
    uint8_t init[148], got[6 + 148], want[6 + 148];
    struct wg_sockaddr to;
    struct wg_msg m;
    size_t hl = no_crc ? 2 : 6, n = 0;

    printf("[bytes on the vsock wire, %s]\n", no_crc ? "no-CRC mode" : "CRC mode");
    a.svm_port = 40000 + (no_crc ? 1 : 0);
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 4) ||
        getsockname(ls, (struct sockaddr *)&a, &al)) {
        CHECK(0, "raw listener: %s", strerror(errno));
        return;
    }
    memset(init, 0, sizeof(init));
    init[0] = 1;
    for (unsigned i = 4; i < sizeof(init); i++)
        init[i] = (uint8_t)(i * 13);
    local_ep(&to, (uint16_t)a.svm_port);
    m = (struct wg_msg){ .ep = to, .data = init, .len = sizeof(init) };
    CHECK(wg_transport_send(t, &m, 1) == 1, "148-byte initiation queued while dialling");
    struct pollfd p = { .fd = ls, .events = POLLIN };
    if (poll(&p, 1, 10000) != 1 || (c = accept(ls, NULL, NULL)) < 0) {
        CHECK(0, "transport dialled our raw listener");
        close(ls);
        wg_transport_destroy(t);
        return;
    }
    while (n < hl + sizeof(init)) {
        struct pollfd q = { .fd = c, .events = POLLIN };
        ssize_t r;

        if (poll(&q, 1, 10000) != 1 || (r = recv(c, got + n, hl + sizeof(init) - n, 0)) <= 0)
            break;
        n += (size_t)r;
    }
    CHECK(wg_frame_encode(want, sizeof(want), init, sizeof(init), !no_crc) == (int)(hl + sizeof(init)),
          "reference frame encoded");
    CHECK(n == hl + sizeof(init) && got[0] == 0x94 && got[1] == 0x00 && !memcmp(got, want, n),
          "first bytes on the wire: %02x %02x | %02x %02x %02x %02x | %02x ... (%zu bytes)",
          got[0], got[1], got[2], got[3], got[4], got[5], got[hl], n);
    if (!no_crc) {
        uint32_t crc = got[2] | got[3] << 8 | got[4] << 16 | (uint32_t)got[5] << 24;

        CHECK(crc == (uint32_t)crc32(0L, init, sizeof(init)), "CRC-32 (zlib) of the payload, little-endian");
    }
    /* and a frame written by hand in the same format is delivered */
    if (no_crc) {
        uint8_t f[2 + 148] = { 148, 0 };

        memcpy(f + 2, init, sizeof(init));
        (void)!write(c, f, sizeof(f));
    } else {
        put_frame(c, init, sizeof(init), true);
    }
    CHECK(wait_for(&s, &s.count, 1, 20000), "hand-written frame delivered");
    close(c);
    close(ls);
    wg_transport_destroy(t);
}

/* 4. a bad CRC closes that connection only */
static void check_bad_crc(struct wg_transport *a, struct sink *sa, struct sink *sb, uint16_t pb)
{
    uint8_t msg[200];
    struct wg_sockaddr to;
    int fd = raw_connect(pb);
    unsigned before;

    printf("[bad CRC closes only its own connection]\n");
    memset(msg, 0x42, sizeof(msg));
    put_frame(fd, msg, sizeof(msg), true);
    CHECK(!closed_by_peer(fd, 300), "good frame: connection stays open");
    put_frame(fd, msg, sizeof(msg), false);
    CHECK(closed_by_peer(fd, 10000), "bad CRC: connection closed by the transport");
    close(fd);
    /* oversize/garbage: a length larger than what follows, then EOF */
    fd = raw_connect(pb);
    (void)!write(fd, "\xff\xff\x00\x00\x00\x00garbage", 13);
    close(fd);
    local_ep(&to, pb);
    reset(sa);
    before = get(sb, &sb->count);
    send_seq(a, &to, 100, 0, 1000);
    CHECK(wait_for(sa, &sa->count, 100, 15000), "the tunnel connection still carries traffic (%u/100 echoed)",
          get(sa, &sa->count));
    CHECK(get(sb, &sb->count) >= before + 100, "listener counted them");
    CHECK(get(sa, &sa->reconnects) == 0, "dialled connection was never broken");
}

/* 5. throughput with many frames per write/read (emulated numbers) */
static void check_throughput(struct wg_transport *a, struct sink *sb, uint16_t pb, unsigned mib)
{
    struct wg_sockaddr to;
    uint64_t total = (uint64_t)mib << 20, sent = 0;
    uint32_t seq = 0;
    double t0, dt;
    unsigned accepted = 0, count0;

    printf("[throughput a -> b, %u MiB in 1400-byte frames]\n", mib);
    local_ep(&to, pb);
    sb->echo = NULL;
    count0 = get(sb, &sb->count);
    pthread_mutex_lock(&sb->lock);
    sb->bytes = 0;
    pthread_mutex_unlock(&sb->lock);
    t0 = now_s();
    while (sent < total) {
        unsigned k = send_seq(a, &to, WG_BATCH_MAX, seq, 1400);

        seq += WG_BATCH_MAX;
        accepted += k;
        sent += (uint64_t)WG_BATCH_MAX * 1400;
        if (k < WG_BATCH_MAX)
            usleep(500);    /* send buffer full: a datagram network drops */
        if (now_s() - t0 > 30)
            break;
    }
    wait_for(sb, &sb->count, count0 + accepted, 20000);
    dt = now_s() - t0;
    pthread_mutex_lock(&sb->lock);
    uint64_t got = sb->bytes;
    pthread_mutex_unlock(&sb->lock);
    CHECK(get(sb, &sb->count) - count0 == accepted, "every accepted frame delivered (%u, %.1f%% of offered)",
          accepted, 100.0 * accepted / (seq ? seq : 1));
    CHECK(got > 0, "VSOCK_THROUGHPUT %.1f MB/s (%.0f Mbit/s, emulated guest)", got / dt / 1e6, got * 8 / dt / 1e6);
}

/* 6. the listener goes away and comes back on the same port: the dialler
 * redials by itself and says so (reconnected), traffic resumes. */
static void check_restart(struct wg_transport *a, struct sink *sa, struct wg_transport **b,
                          struct sink *sb, uint16_t pb)
{
    struct wg_sockaddr to;

    printf("[listener restart: redial + reconnected callback]\n");
    local_ep(&to, pb);
    wg_transport_destroy(*b);
    usleep(300000);
    *b = mk(sb, false);
    sb->echo = *b;
    CHECK(wg_transport_bind(*b, pb, 0) == 0, "listener re-bound to %u", pb);
    reset(sa);
    CHECK(wait_for(sa, &sa->reconnects, 1, 20000), "dialler reconnected without traffic (%u)",
          get(sa, &sa->reconnects));
    send_seq(a, &to, 64, 0, 500);
    CHECK(wait_for(sa, &sa->count, 64, 15000), "traffic resumes (%u/64 echoed)", get(sa, &sa->count));
}

/* 7. no-CRC peers (wireguard-go-vsock <= v0.2.3) */
static void check_no_crc_pair(void)
{
    struct sink sa, sb;
    struct wg_transport *a = mk(&sa, true), *b = mk(&sb, true);
    struct wg_sockaddr to;

    printf("[no-CRC pair]\n");
    sb.echo = b;
    CHECK(wg_transport_bind(b, 0, 0) == 0, "bind");
    local_ep(&to, wg_transport_port(b));
    send_seq_retry(a, &to, 200, 0, 1200, 3000);   /* 64 wait while dialling */
    CHECK(wait_for(&sa, &sa.count, 200, 15000), "200 frames echoed without CRC (%u)", get(&sa, &sa.count));
    wg_transport_destroy(a);
    wg_transport_destroy(b);
}

/* -g PORT: hostile streams at a running daemon's listener on local(1):PORT
 * (tests/vm/guest_tunnel.sh then checks the tunnel still works): a bad
 * CRC, a maximal length cut short by EOF, random bytes, frames holding
 * random "messages" of every WireGuard type, and many connections at once.
 * Returns 0 once everything was sent; the verdict is the daemon's. */
static int hostile(uint16_t port)
{
    static uint8_t junk[65536 + 6];
    int fds[64];
    int n = 0;

    signal(SIGPIPE, SIG_IGN);   /* the daemon closes on us mid-write */
    if (getrandom(junk, sizeof(junk), 0) != (ssize_t)sizeof(junk))
        return 1;
    for (int round = 0; round < 4; round++) {
        int fd = raw_connect(port);

        switch (round) {
        case 0:         /* good header, wrong CRC */
            put_frame(fd, junk, 148, false);
            break;
        case 1:         /* 65535-byte frame announced, 1000 bytes, EOF */
            (void)!write(fd, "\xff\xff\x00\x00\x00\x00", 6);
            (void)!write(fd, junk, 1000);
            break;
        case 2:         /* 64 KiB of random bytes */
            (void)!write(fd, junk, sizeof(junk));
            break;
        default:        /* valid frames, random payloads typed 1..4 */
            for (int i = 0; i < 200; i++) {
                uint8_t msg[256];
                uint16_t len = (uint16_t)(32 + (junk[i] % 200));

                memcpy(msg, junk + 4 * i, len);
                msg[0] = (uint8_t)(1 + i % 4);
                msg[1] = msg[2] = msg[3] = 0;
                put_frame(fd, msg, len, true);
            }
            break;
        }
        usleep(100000);
        close(fd);
    }
    for (n = 0; n < 64; n++)
        fds[n] = raw_connect(port);
    usleep(200000);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    printf("hostile: sent bad CRC, cut frame, random stream, 200 random messages, 64 connections to local(1):%u\n",
           port);
    return 0;
}

/* -s: N connections that never authenticate, in four kinds (idle, a
 * 65535-byte frame cut after 1000 bytes, a header alone, zero-length
 * frames); the daemon must close them (limits, eviction, its handshake
 * timeout) while a real peer still gets in (tests/vm/guest_vsock_bounds.sh). */
static int stall(uint16_t port, int n, int secs, const char *ready)
{
    static uint8_t junk[1000];
    struct pollfd *p = calloc((size_t)n, sizeof(*p));
    int open = 0, refused = 0, closed = 0, left;
    double t0, deadline;
    FILE *f;

    signal(SIGPIPE, SIG_IGN);
    if (!p || getrandom(junk, sizeof(junk), 0) != (ssize_t)sizeof(junk))
        return 1;
    for (int i = 0; i < n; i++) {
        struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_LOCAL,
                                 .svm_port = port };
        int fd = raw_socket();

        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
            close(fd);
            refused++;
            continue;
        }
        switch (i % 4) {
        case 0:                                     /* idle */
            break;
        case 1:                                     /* partial maximal frame */
            (void)!write(fd, "\xff\xff\x00\x00\x00\x00", 6);
            (void)!write(fd, junk, sizeof(junk));
            break;
        case 2:                                     /* header of a 148-byte frame */
            (void)!write(fd, "\x94\x00\x00\x00\x00\x00", 6);
            break;
        default:                                    /* zero-length frames */
            for (int k = 0; k < 8; k++)
                put_frame(fd, junk, 0, true);
            break;
        }
        p[open].fd = fd;
        p[open++].events = POLLIN;
    }
    printf("stall: %d connections open to local(1):%u, %d refused\n", open, port, refused);
    f = fopen(ready, "w");
    if (f)
        fclose(f);
    t0 = now_s();
    deadline = t0 + secs;
    left = open;
    while (left > 0 && now_s() < deadline) {
        if (poll(p, (nfds_t)open, 200) <= 0)
            continue;
        for (int i = 0; i < open; i++) {
            char b[64];
            ssize_t r;

            if (p[i].fd < 0 || !p[i].revents)
                continue;
            r = recv(p[i].fd, b, sizeof(b), MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN)) {
                close(p[i].fd);
                p[i].fd = -1;
                closed++;
                left--;
            }
        }
    }
    printf("STALL_CLOSED %d of %d closed by the daemon in %.1f s (limit %d s)\n", closed, open,
           now_s() - t0, secs);
    for (int i = 0; i < open; i++)
        if (p[i].fd >= 0)
            close(p[i].fd);
    free(p);
    return open > 0 && left == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct sink sa, sb;
    struct wg_transport *a, *b;
    unsigned mib = 16;
    uint16_t pb = 51820;
    int opt, stall_port = -1, stall_n = 600, stall_secs = 30;
    const char *ready = "/tmp/stall.ready";

    /* Never on a real host: an AF_VSOCK socket there could reach the
     * hypervisor (CID 2) or the machine's own CID. */
    if (!getenv("WGVSOCK_VM_GUEST") || strcmp(getenv("WGVSOCK_VM_GUEST"), "1")) {
        fprintf(stderr, "vsock_stream_check runs only inside the tests/vm guest\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt(argc, argv, "m:g:s:n:t:r:")) != -1) {
        if (opt == 'm')
            mib = (unsigned)atoi(optarg);
        else if (opt == 'g')
            return hostile((uint16_t)atoi(optarg));
        else if (opt == 's')
            stall_port = atoi(optarg);
        else if (opt == 'n')
            stall_n = atoi(optarg);
        else if (opt == 't')
            stall_secs = atoi(optarg);
        else if (opt == 'r')
            ready = optarg;
    }
    if (stall_port >= 0)
        return stall((uint16_t)stall_port, stall_n, stall_secs, ready);

    check_ephemeral_port();
    check_wire_bytes(false);
    check_wire_bytes(true);

    a = mk(&sa, false);
    b = mk(&sb, false);
    sb.echo = b;
    printf("[fixed listen port %u]\n", pb);
    CHECK(wg_transport_bind(b, pb, 0) == 0 && wg_transport_port(b) == pb, "bound");
    CHECK(wg_transport_bind(a, pb, 0) == -EADDRINUSE, "second listener on %u: EADDRINUSE", pb);
    check_echo(a, &sa, &sb, pb);
    check_bad_crc(a, &sa, &sb, pb);
    check_restart(a, &sa, &b, &sb, pb);
    if (mib)
        check_throughput(a, &sb, pb, mib);
    wg_transport_destroy(a);
    wg_transport_destroy(b);
    check_no_crc_pair();

    printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
