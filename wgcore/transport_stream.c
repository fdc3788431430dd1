/* transport_stream.c - WireGuard over TCP and AF_VSOCK stream connections.
 *
 * The engine sees a datagram network; this file turns it into connections,
 * with the rules of wireguard-go-vsock so that deployed enclaves talk to us
 * unchanged (see docs/TRANSPORTS.md):
 *
 *  - connections are keyed by the remote address; a frame received on a
 *    connection has that connection's remote address as its source, and a
 *    message sent to that address goes out on that connection;
 *  - a message for an address without a connection dials one (non-blocking;
 *    up to STREAM_DIAL_QUEUE frames wait while dialling);
 *  - a connection we dialled that breaks is redialled promptly, then with
 *    exponential backoff (0.5 s .. 30 s, jittered); when it is back the
 *    engine is told (reconnected callback) so it can send an authenticated
 *    packet at once: a Go peer that accepted our connection can only reach
 *    us again on a connection we dial;
 *  - a bad CRC or a stream ending mid-frame closes that connection only.
 *
 * Bounds against whoever can reach the listener (see docs/SECURITY.md): a
 * connection we accepted is untrusted until it delivers a message the
 * protocol authenticates (wg_msg.authenticated).  Untrusted connections are
 * limited per source address and in total, and each must prove itself
 * within STREAM_AUTH_TIMEOUT_MS; when a limit is reached the oldest untrusted
 * one is closed, so a new peer always gets in however many idle or stalled
 * connections an attacker holds.  Buffers are mmap()ed, grown only as far as
 * the frame being assembled needs (untrusted connections share a byte
 * budget) and unmapped when the connection goes, so memory an attack took
 * is given back to the system.  A device that only dials (dial_only: the
 * plugin's container devices) never listens at all.
 *
 * Threads: one epoll thread per transport does all accepting, reading,
 * connect completion, timers and closing.  wg_transport_send runs on the
 * caller's thread: it appends frames to the connection's bounded send buffer
 * and flushes them with one non-blocking send() per connection per batch
 * (many frames per syscall); what the socket does not take waits for
 * EPOLLOUT, and what does not fit in the buffer is dropped, as a datagram
 * network would.  So one stuck peer costs at most its buffer, never blocks
 * another peer, and send never sleeps on the network.
 *
 * Locking: t->lock guards the connection table, each connection's state,
 * fd and send buffer.  Only the epoll thread closes fds and frees
 * connections, so it may read a connection's socket without the lock; a
 * sender that hits a socket error only marks the connection.  The rx and
 * reconnected callbacks run on the epoll thread without the lock (they
 * call back into wg_transport_send).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <malloc.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "wgcore/stream_frame.h"
#include "wgcore/thread.h"
#include "wgcore/transport_ops.h"

#define STREAM_SENDBUF (256u << 10)         /* bounded per-connection send queue */
#define STREAM_RECVBUF (192u << 10)         /* trusted: >= 2 maximal frames per read */
#define STREAM_BUF_FIRST 4096u              /* first size of either buffer */
#define STREAM_DIAL_QUEUE 64                /* frames held while not connected */
#define STREAM_BACKOFF_MIN_MS 500
#define STREAM_BACKOFF_MAX_MS 30000
#define STREAM_FIRST_REDIAL_MS 100          /* "promptly": 0..100 ms after a break */
#define STREAM_CONNECT_TIMEOUT_MS 5000
#define STREAM_IDLE_MS (300u * 1000)        /* stop redialling an address unused this long */
#define STREAM_MAX_CONNS 4096
/* Accepted connections that have not delivered an authenticated message:
 * a handshake takes one round trip, so these are short-lived unless someone
 * holds them open on purpose. */
#define STREAM_MAX_UNTRUSTED 1024
#define STREAM_MAX_UNTRUSTED_PER_SOURCE 256 /* per IPv4 address, IPv6 /64, vsock CID */
#define STREAM_UNTRUSTED_BUF_BUDGET (16u << 20) /* their receive buffers, in all */
/* Three handshake attempts (REKEY_TIMEOUT is 5 s) to get one accepted. */
#define STREAM_AUTH_TIMEOUT_MS 15000u
#define STREAM_ACCEPT_PAUSE_MS 200          /* out of fds and nothing to evict */
#define STREAM_TRIM_EVERY 64                /* freed connections between malloc_trim()s */
#define STREAM_TRUST_QUEUE 256              /* wg_transport_trust calls between epoll rounds */
#define STREAM_HASH_BUCKETS 256
#define STREAM_READS_PER_EVENT 8            /* fairness between busy connections */
#define STREAM_VSOCK_BUFSIZE (1u << 20)
/* Linux hands out vsock ports (VMADDR_PORT_ANY, and the implicit bind of a
 * connect()) from the whole 32-bit space, but wg(8) carries 16-bit ports:
 * a listen port it cannot show, or a peer endpoint (our source port, as the
 * accepting side records it) that `wg showconf | wg setconf` cannot read
 * back.  So vsock ports are picked here, from the usual ephemeral range. */
#define VSOCK_PORT_LO 32768u        /* listen port 0 */
#define VSOCK_PORT_HI 60999u
/* Dialled sockets take ports above that range, away from the ports people
 * configure (51820 ...), so that a host with many dialled connections
 * (one per container) rarely holds a port another daemon will listen on. */
#define VSOCK_DIAL_PORT_LO 61000u
#define VSOCK_DIAL_PORT_HI 65535u
#define VSOCK_PORT_TRIES 32

enum conn_state { CONN_DIALING, CONN_UP, CONN_BACKOFF };

struct conn {
    struct conn *hnext;
    struct conn *dead_next;
    struct wg_sockaddr remote;
    int fd;
    enum conn_state state;
    bool dialed;            /* ours: redial when it breaks */
    bool was_up;            /* a dialled connection broke: notify when back */
    bool want_out;          /* EPOLLOUT armed */
    bool touched;           /* in the current send batch */
    bool error;             /* a sender saw a socket error: epoll thread closes */
    bool dead;
    bool trusted;           /* dialled by us, or delivered an authenticated message */
    uint32_t queued_frames; /* frames in sbuf while not connected */
    uint8_t *sbuf;          /* mmap()ed, scap bytes (0: none yet) */
    size_t scap;
    size_t shead, stail;
    struct wg_frame_decoder dec;    /* buf: mmap()ed, dec.cap bytes (0: none) */
    /* untrusted accepted connections, oldest first (epoll thread only) */
    struct conn *uprev, *unext;
    uint64_t accepted_ms;
    uint64_t deadline_ms;   /* DIALING: connect timeout, BACKOFF: next dial */
    uint32_t backoff_ms;
    uint64_t last_send_ms;
};

struct stream_transport {
    struct wg_transport base;
    int family;             /* AF_INET, AF_INET6 (tcp: dual), AF_VSOCK */
    bool dual;
    bool crc;
    int epfd;
    int evfd;
    pthread_t thread;
    bool stop;                  /* atomic */
    pthread_mutex_t bind_lock;
    pthread_mutex_t lock;
    int lfd;                /* listener, -1 if none */
    uint16_t port;
    uint32_t fwmark;
    unsigned n_conns;
    /* n_timed, sweep: written under lock, read without it (see timed_add) */
    unsigned n_timed;       /* connections with a deadline (DIALING/BACKOFF) */
    bool sweep;             /* a sender marked a connection broken */
    struct conn *buckets[STREAM_HASH_BUCKETS];
    /* from wg_transport_trust (written under lock, n_trust peeked without) */
    struct wg_sockaddr trust_q[STREAM_TRUST_QUEUE];
    unsigned n_trust;
    uint64_t rng;
    /* epoll thread only */
    struct conn *untrusted_head, *untrusted_tail;
    unsigned n_untrusted;
    size_t untrusted_buf_bytes;
    bool accept_paused;
    uint64_t accept_resume_ms;
    uint64_t last_limit_log_ms;
    unsigned freed_since_trim;
    struct conn *dead;
    struct wg_msg rx[WG_BATCH_MAX];
    struct wg_sockaddr notify[WG_BATCH_MAX];
    unsigned n_notify;
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t rnd(struct stream_transport *t, uint32_t below)
{
    /* xorshift64*: jitter only, no security role */
    t->rng ^= t->rng >> 12;
    t->rng ^= t->rng << 25;
    t->rng ^= t->rng >> 27;
    return below ? (uint32_t)((t->rng * 2685821657736338717ull) >> 32) % below : 0;
}

/* ---- addresses ---- */

/* A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; the engine
 * and wg(8) know them as a.b.c.d. */
static void normalize(struct wg_sockaddr *ep)
{
    if (ep->addr.sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&ep->addr.in6.sin6_addr)) {
        struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = ep->addr.in6.sin6_port };

        memcpy(&in.sin_addr, &ep->addr.in6.sin6_addr.s6_addr[12], 4);
        memset(ep, 0, sizeof(*ep));
        ep->addr.in = in;
    }
}

static bool family_ok(const struct stream_transport *t, int family)
{
    if (t->family == AF_VSOCK)
        return family == AF_VSOCK;
    if (t->dual)
        return family == AF_INET || family == AF_INET6;
    return family == t->family;
}

static unsigned ep_hash(const struct wg_sockaddr *ep)
{
    uint32_t h = 2166136261u;
    const uint8_t *p;
    size_t n;
    uint32_t port;

    switch (ep->addr.sa.sa_family) {
    case AF_INET:
        p = (const uint8_t *)&ep->addr.in.sin_addr, n = 4, port = ep->addr.in.sin_port;
        break;
    case AF_INET6:
        p = (const uint8_t *)&ep->addr.in6.sin6_addr, n = 16, port = ep->addr.in6.sin6_port;
        break;
    default:
        p = (const uint8_t *)&ep->addr.vm.svm_cid, n = 4, port = ep->addr.vm.svm_port;
        break;
    }
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    h = (h ^ port) * 16777619u;
    return h % STREAM_HASH_BUCKETS;
}

static struct conn *conn_find(struct stream_transport *t, const struct wg_sockaddr *ep)
{
    for (struct conn *c = t->buckets[ep_hash(ep)]; c; c = c->hnext)
        if (wg_sockaddr_equal(&c->remote, ep))
            return c;
    return NULL;
}

static void conn_unhash(struct stream_transport *t, struct conn *c)
{
    struct conn **pp = &t->buckets[ep_hash(&c->remote)];

    for (; *pp; pp = &(*pp)->hnext) {
        if (*pp == c) {
            *pp = c->hnext;
            return;
        }
    }
}

static void log_conn(enum wg_log_level lvl, const char *what, const struct conn *c, int err)
{
    char a[WG_SOCKADDR_STR_MAX];

    wg_sockaddr_format_human(&c->remote, a);
    if (err)
        wg_log(lvl, "stream %s %s: %s", what, a, strerror(err));
    else
        wg_log(lvl, "stream %s %s", what, a);
}

/* ---- sockets ---- */

static void sock_opts(struct stream_transport *t, int fd)
{
    int one = 1;

    if (t->family == AF_VSOCK) {
        unsigned long long sz = STREAM_VSOCK_BUFSIZE;

        /* Larger than the 256 KiB default credit: fewer stalls per RTT. */
        (void)setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &sz, sizeof(sz));
        (void)setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &sz, sizeof(sz));
        return;
    }
    /* Every frame is a packet someone waits for: no Nagle delay. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* Detect a dead peer (host gone, cable pulled) within ~25 s idle, and
     * within 30 s when data is unacknowledged; then we redial. */
    int idle = 10, intvl = 5, cnt = 3;
    unsigned user_timeout = 30000;
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
    if (t->fwmark)
        (void)setsockopt(fd, SOL_SOCKET, SO_MARK, &t->fwmark, sizeof(t->fwmark));
}

static int epoll_set(struct stream_transport *t, int op, int fd, uint32_t events, void *ptr)
{
    struct epoll_event ev = { .events = events, .data.ptr = ptr };

    return epoll_ctl(t->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static void wake(struct stream_transport *t)
{
    uint64_t one = 1;

    (void)!write(t->evfd, &one, sizeof(one));
}

/* Binds a vsock socket to VMADDR_CID_ANY and a free port in lo..hi,
 * trying VSOCK_PORT_TRIES ports from seed on.  0 or -errno. */
static int vsock_bind16(int fd, uint32_t seed, uint32_t lo, uint32_t hi, uint16_t *bound)
{
    const uint32_t span = hi - lo + 1;
    struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY };

    for (int i = 0; i < VSOCK_PORT_TRIES; i++) {
        /* a prime stride visits scattered ports, not a run of neighbours */
        a.svm_port = lo + (seed + (uint32_t)i * 7919u) % span;
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
            *bound = (uint16_t)a.svm_port;
            return 0;
        }
        if (errno != EADDRINUSE)
            return -errno;
    }
    return -EADDRINUSE;
}

/* ---- buffers ---- */

/* Each buffer is its own mapping: unmapping it gives the memory back to the
 * system at once, where a freed malloc() block of this size may stay in the
 * heap (glibc raises its mmap threshold after the first such free). */
static size_t page_round(size_t n)
{
    static size_t page;     /* atomic: the TX and stream threads both ask */
    size_t pg = __atomic_load_n(&page, __ATOMIC_RELAXED);

    if (!pg) {
        long v = sysconf(_SC_PAGESIZE);

        pg = v > 0 ? (size_t)v : 4096;
        __atomic_store_n(&page, pg, __ATOMIC_RELAXED);
    }
    return (n + pg - 1) / pg * pg;
}

/* Grows *buf (*cap bytes, contents kept) to at least want.  0 or -ENOMEM. */
static int buf_grow(uint8_t **buf, size_t *cap, size_t want)
{
    void *p;

    want = page_round(want);
    if (*buf)
        p = mremap(*buf, *cap, want, MREMAP_MAYMOVE);
    else
        p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    *buf = p;
    *cap = want;
    return 0;
}

static void buf_free(uint8_t **buf, size_t *cap)
{
    if (*buf)
        munmap(*buf, *cap);
    *buf = NULL;
    *cap = 0;
}

static void conn_free(struct conn *c)
{
    uint8_t *rbuf = c->dec.buf;

    buf_free(&rbuf, &c->dec.cap);
    buf_free(&c->sbuf, &c->scap);
    free(c);
}

/* ---- untrusted connections (epoll thread only) ---- */

static void untrusted_add(struct stream_transport *t, struct conn *c)
{
    c->accepted_ms = now_ms();
    c->uprev = t->untrusted_tail;
    c->unext = NULL;
    if (t->untrusted_tail)
        t->untrusted_tail->unext = c;
    else
        t->untrusted_head = c;
    t->untrusted_tail = c;
    t->n_untrusted++;
}

/* Off the list: trusted now, or going. */
static void untrusted_del(struct stream_transport *t, struct conn *c)
{
    if (c->trusted)
        return;
    if (c->uprev)
        c->uprev->unext = c->unext;
    else
        t->untrusted_head = c->unext;
    if (c->unext)
        c->unext->uprev = c->uprev;
    else
        t->untrusted_tail = c->uprev;
    t->n_untrusted--;
    t->untrusted_buf_bytes -= c->dec.cap;
    c->trusted = true;
}

static bool same_source(const struct wg_sockaddr *a, const struct wg_sockaddr *b)
{
    if (a->addr.sa.sa_family != b->addr.sa.sa_family)
        return false;
    switch (a->addr.sa.sa_family) {
    case AF_INET:
        return a->addr.in.sin_addr.s_addr == b->addr.in.sin_addr.s_addr;
    case AF_INET6:
        /* per /64, as the kernel's ratelimiter: one host commonly holds a
         * whole /64, so per-address limits would not limit it */
        return !memcmp(&a->addr.in6.sin6_addr, &b->addr.in6.sin6_addr, 8);
    case AF_VSOCK:
        return a->addr.vm.svm_cid == b->addr.vm.svm_cid;
    }
    return false;
}

/* ---- connection lifecycle (t->lock held) ---- */

static struct conn *conn_new(struct stream_transport *t, const struct wg_sockaddr *ep, bool dialed)
{
    struct conn *c;
    unsigned h;

    if (t->n_conns >= STREAM_MAX_CONNS)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->remote = *ep;
    c->fd = -1;
    c->state = CONN_UP;         /* no deadline until set_state says so */
    c->dialed = dialed;
    c->trusted = dialed;        /* accepted: until it authenticates (untrusted_add) */
    c->last_send_ms = now_ms();
    wg_frame_decoder_init(&c->dec, NULL, 0, t->crc);   /* buffer on first read */
    h = ep_hash(ep);
    c->hnext = t->buckets[h];
    t->buckets[h] = c;
    t->n_conns++;
    return c;
}

/* n_timed and sweep change only under t->lock (or single-threaded at
 * destroy), but the epoll thread peeks at them without it to decide whether
 * to sweep: writers store atomically so that peek is not a data race.  A
 * relaxed load + store, not a locked add: the lock already serialises the
 * writers. */
static void timed_add(struct stream_transport *t, int d)
{
    __atomic_store_n(&t->n_timed, t->n_timed + (unsigned)d, __ATOMIC_RELAXED);
}

static void set_state(struct stream_transport *t, struct conn *c, enum conn_state s)
{
    bool timed_before = c->state != CONN_UP && !c->dead;
    bool timed_after = s != CONN_UP;

    c->state = s;
    if (timed_before != timed_after)
        timed_add(t, timed_after ? 1 : -1);
}

static void close_fd(struct stream_transport *t, struct conn *c)
{
    if (c->fd >= 0) {
        (void)epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    c->want_out = false;
    c->error = false;
}

/* Only on the epoll thread (or at destroy). */
static void conn_kill(struct stream_transport *t, struct conn *c)
{
    if (c->dead)
        return;
    close_fd(t, c);
    if (c->state != CONN_UP)
        timed_add(t, -1);
    untrusted_del(t, c);
    conn_unhash(t, c);
    t->n_conns--;
    c->dead = true;
    c->dead_next = t->dead;
    t->dead = c;
}

static void schedule_redial(struct stream_transport *t, struct conn *c)
{
    uint32_t delay;

    if (!c->backoff_ms) {
        delay = rnd(t, STREAM_FIRST_REDIAL_MS + 1);
        c->backoff_ms = STREAM_BACKOFF_MIN_MS;
    } else {
        /* jitter: 75%..125% of the step, so peers don't redial in lockstep */
        delay = c->backoff_ms * 3 / 4 + rnd(t, c->backoff_ms / 2 + 1);
        c->backoff_ms = c->backoff_ms * 2 > STREAM_BACKOFF_MAX_MS ? STREAM_BACKOFF_MAX_MS
                                                                  : c->backoff_ms * 2;
    }
    set_state(t, c, CONN_BACKOFF);
    c->deadline_ms = now_ms() + delay;
}

/* Starts a non-blocking connect; on an immediate failure the connection
 * goes to backoff.  Never blocks. */
static void conn_dial(struct stream_transport *t, struct conn *c)
{
    int fd, r;

    fd = socket(c->remote.addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_conn(WG_LOG_ERROR, "socket for", c, errno);
        schedule_redial(t, c);
        return;
    }
    sock_opts(t, fd);
    if (t->family == AF_VSOCK) {
        uint16_t src;

        /* if no 16-bit port is free, connect() still binds a 32-bit one */
        (void)vsock_bind16(fd, rnd(t, 0xffffffffu), VSOCK_DIAL_PORT_LO, VSOCK_DIAL_PORT_HI, &src);
    }
    r = connect(fd, &c->remote.addr.sa, wg_sockaddr_socklen(&c->remote));
    if (r < 0 && errno != EINPROGRESS) {
        log_conn(WG_LOG_VERBOSE, "connect to", c, errno);
        close(fd);
        schedule_redial(t, c);
        return;
    }
    c->fd = fd;
    set_state(t, c, CONN_DIALING);
    c->deadline_ms = now_ms() + STREAM_CONNECT_TIMEOUT_MS;
    /* EPOLLOUT reports completion (or failure, with EPOLLERR). */
    if (epoll_set(t, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLOUT, c) < 0) {
        close_fd(t, c);
        schedule_redial(t, c);
        return;
    }
    c->want_out = true;
}

/* A connection broke (EOF, error, bad frame) or a dial failed. */
static void conn_broken(struct stream_transport *t, struct conn *c)
{
    bool was_connected = c->state == CONN_UP;

    close_fd(t, c);
    if (was_connected || c->state == CONN_DIALING) {
        /* A half-written frame must not start the next connection, and
         * what was queued for a dead connection is stale: drop it. */
        c->shead = c->stail = 0;
        c->queued_frames = 0;
    }
    if (!c->dialed || now_ms() - c->last_send_ms > STREAM_IDLE_MS) {
        conn_kill(t, c);
        return;
    }
    if (was_connected)
        c->was_up = true;
    /* Nothing to read until it is back: give the buffer back meanwhile. */
    uint8_t *rbuf = c->dec.buf;
    buf_free(&rbuf, &c->dec.cap);
    wg_frame_decoder_init(&c->dec, NULL, 0, t->crc);
    schedule_redial(t, c);
}

/* Sends as much of the send buffer as the socket takes. */
static void conn_flush(struct stream_transport *t, struct conn *c)
{
    while (c->shead < c->stail) {
        ssize_t r = send(c->fd, c->sbuf + c->shead, c->stail - c->shead, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (r > 0) {
            c->shead += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_out && epoll_set(t, EPOLL_CTL_MOD, c->fd, EPOLLIN | EPOLLOUT, c) == 0)
                c->want_out = true;
            return;
        }
        /* Leave closing to the epoll thread, which may be reading it. */
        c->error = true;
        __atomic_store_n(&t->sweep, true, __ATOMIC_RELAXED);
        wake(t);
        return;
    }
    c->shead = c->stail = 0;
    if (c->want_out && epoll_set(t, EPOLL_CTL_MOD, c->fd, EPOLLIN, c) == 0)
        c->want_out = false;
}

static void conn_up(struct stream_transport *t, struct conn *c)
{
    set_state(t, c, CONN_UP);
    c->queued_frames = 0;
    log_conn(WG_LOG_VERBOSE, "connected to", c, 0);
    if (c->was_up) {
        c->was_up = false;
        if (t->n_notify < WG_BATCH_MAX)
            t->notify[t->n_notify++] = c->remote;
    }
    conn_flush(t, c);
}

/* Appends one frame; false if it does not fit (dropped). */
static bool conn_queue(struct stream_transport *t, struct conn *c, const uint8_t *data, uint32_t len)
{
    size_t need = wg_frame_hdr_len(t->crc) + len;
    int r;

    if (c->state != CONN_UP && c->queued_frames >= STREAM_DIAL_QUEUE)
        return false;
    if (c->scap - c->stail < need && c->shead) {
        memmove(c->sbuf, c->sbuf + c->shead, c->stail - c->shead);
        c->stail -= c->shead;
        c->shead = 0;
    }
    if (c->scap - c->stail < need) {
        /* Grown only while the socket lags: most connections stay small. */
        size_t want = c->scap * 2 > c->stail + need ? c->scap * 2 : c->stail + need;

        if (c->stail + need > STREAM_SENDBUF)
            return false;
        if (want < STREAM_BUF_FIRST)
            want = STREAM_BUF_FIRST;
        if (want > STREAM_SENDBUF)
            want = STREAM_SENDBUF;
        if (buf_grow(&c->sbuf, &c->scap, want) < 0)
            return false;
    }
    r = wg_frame_encode(c->sbuf + c->stail, c->scap - c->stail, data, len, t->crc);
    if (r < 0)
        return false;
    c->stail += (size_t)r;
    if (c->state != CONN_UP)
        c->queued_frames++;
    return true;
}

/* ---- send: any thread ---- */

static unsigned stream_send(struct wg_transport *base, const struct wg_msg *msgs, unsigned n)
{
    struct stream_transport *t = (struct stream_transport *)base;
    struct conn *touched[WG_BATCH_MAX];
    unsigned n_touched = 0, sent = 0;
    bool new_timer = false;
    uint64_t now = now_ms();

    pthread_mutex_lock(&t->lock);
    for (unsigned i = 0; i < n; i++) {
        const struct wg_msg *m = &msgs[i];
        struct conn *c;

        if (!family_ok(t, m->ep.addr.sa.sa_family) || m->len > WG_FRAME_MAX_SEND)
            continue;
        c = conn_find(t, &m->ep);
        if (!c) {
            c = conn_new(t, &m->ep, true);
            if (!c)
                continue;
            set_state(t, c, CONN_DIALING);
            conn_dial(t, c);
            new_timer = true;
        }
        c->last_send_ms = now;
        if (!conn_queue(t, c, m->data, m->len))
            continue;
        sent++;
        if (!c->touched) {
            c->touched = true;
            touched[n_touched++] = c;
        }
    }
    /* One send() per connection for the whole batch. */
    for (unsigned i = 0; i < n_touched; i++) {
        struct conn *c = touched[i];

        c->touched = false;
        if (c->state == CONN_UP && !c->want_out && !c->error)
            conn_flush(t, c);
    }
    pthread_mutex_unlock(&t->lock);
    if (new_timer)
        wake(t);
    return sent;
}

/* ---- epoll thread ---- */

/* Closes an untrusted connection to make room (t->lock held). */
static void evict(struct stream_transport *t, struct conn *c, const char *why)
{
    uint64_t now = now_ms();

    /* One line per burst at the default level: an attack must not flood
     * the log either. */
    if (now - t->last_limit_log_ms >= 10000) {
        t->last_limit_log_ms = now;
        log_conn(WG_LOG_ERROR, why, c, 0);
    } else {
        log_conn(WG_LOG_VERBOSE, why, c, 0);
    }
    conn_kill(t, c);
}

/* Room for a connection accepted from ep (t->lock held): the oldest
 * untrusted connection from the same source goes when that source is at its
 * limit, else the oldest untrusted one when they or the table are at
 * theirs.  false: no room (the table is full of trusted connections). */
static bool make_room(struct stream_transport *t, const struct wg_sockaddr *ep)
{
    struct conn *oldest_same = NULL;
    unsigned same = 0;

    for (struct conn *c = t->untrusted_head; c; c = c->unext) {
        if (same_source(&c->remote, ep) && !same++)
            oldest_same = c;
    }
    if (same >= STREAM_MAX_UNTRUSTED_PER_SOURCE)
        evict(t, oldest_same, "too many unauthenticated connections: closing the oldest from");
    else if ((t->n_untrusted >= STREAM_MAX_UNTRUSTED || t->n_conns >= STREAM_MAX_CONNS) &&
             t->untrusted_head)
        evict(t, t->untrusted_head, "too many unauthenticated connections: closing the oldest,");
    return t->n_conns < STREAM_MAX_CONNS;
}

/* Out of fds: an untrusted connection gives its fd up, or accepting pauses
 * (the listener stays readable: level-triggered epoll would spin). */
static bool accept_out_of_fds(struct stream_transport *t)
{
    if (t->untrusted_head) {
        evict(t, t->untrusted_head, "out of file descriptors: closing unauthenticated");
        return true;
    }
    if (epoll_set(t, EPOLL_CTL_MOD, t->lfd, 0, &t->lfd) == 0) {
        t->accept_paused = true;
        t->accept_resume_ms = now_ms() + STREAM_ACCEPT_PAUSE_MS;
    }
    wg_log(WG_LOG_ERROR, "stream: out of file descriptors, not accepting for %u ms",
           STREAM_ACCEPT_PAUSE_MS);
    return false;
}

static void accept_all(struct stream_transport *t)
{
    for (int i = 0; i < 64; i++) {
        struct wg_sockaddr ep;
        socklen_t alen = sizeof(ep.addr);
        struct conn *c, *old;
        int fd;

        memset(&ep, 0, sizeof(ep));
        if (t->lfd < 0)
            return;
        fd = accept4(t->lfd, &ep.addr.sa, &alen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) &&
                accept_out_of_fds(t))
                continue;
            return;     /* EAGAIN */
        }
        normalize(&ep);
        old = conn_find(t, &ep);
        if (old)
            conn_kill(t, old);      /* a stale connection from the same address */
        c = make_room(t, &ep) ? conn_new(t, &ep, false) : NULL;
        if (!c) {
            close(fd);
            continue;
        }
        untrusted_add(t, c);
        sock_opts(t, fd);
        c->fd = fd;
        c->state = CONN_UP;
        if (epoll_set(t, EPOLL_CTL_ADD, fd, EPOLLIN, c) < 0) {
            conn_kill(t, c);
            continue;
        }
        log_conn(WG_LOG_VERBOSE, "accepted", c, 0);
    }
}

/* Hands n frames to the engine; true if it authenticated any of them. */
static bool deliver(struct stream_transport *t, unsigned n)
{
    bool any = false;

    if (!n)
        return false;
    t->base.params.rx(t->base.params.ctx, t->rx, n);
    for (unsigned i = 0; i < n; i++)
        any |= t->rx[i].authenticated;
    return any;
}

/* Room for the next read: a trusted connection gets STREAM_RECVBUF (many
 * frames per read), an untrusted one only what the frame it is sending
 * needs, within the shared budget (the oldest other untrusted connections
 * go first).  false: out of memory. */
static bool rbuf_ready(struct stream_transport *t, struct conn *c)
{
    size_t want = c->trusted ? STREAM_RECVBUF : wg_frame_decoder_need(&c->dec);
    size_t cap = c->dec.cap;
    uint8_t *buf = c->dec.buf;

    if (want < STREAM_BUF_FIRST)
        want = STREAM_BUF_FIRST;
    if (cap >= want)
        return true;
    if (!c->trusted) {
        size_t more = page_round(want) - cap;

        while (t->untrusted_buf_bytes + more > STREAM_UNTRUSTED_BUF_BUDGET) {
            struct conn *o = t->untrusted_head == c ? c->unext : t->untrusted_head;

            if (!o)
                break;
            pthread_mutex_lock(&t->lock);
            evict(t, o, "unauthenticated frames over budget: closing the oldest,");
            pthread_mutex_unlock(&t->lock);
        }
    }
    if (buf_grow(&buf, &cap, want) < 0)
        return false;
    if (!c->trusted)
        t->untrusted_buf_bytes += cap - c->dec.cap;
    wg_frame_decoder_rebase(&c->dec, buf, cap);
    return true;
}

/* Reads and delivers frames, without the lock.  false: close it. */
static bool conn_read(struct stream_transport *t, struct conn *c)
{
    for (int k = 0; k < STREAM_READS_PER_EVENT; k++) {
        size_t room;
        uint8_t *p;
        ssize_t r;
        unsigned n = 0;
        uint8_t *payload;
        uint32_t len;
        bool authenticated = false;
        int f;

        if (!rbuf_ready(t, c)) {
            log_conn(WG_LOG_ERROR, "no memory for frames from", c, 0);
            return false;
        }
        p = wg_frame_decoder_space(&c->dec, &room);
        r = recv(c->fd, p, room, MSG_DONTWAIT);
        if (r == 0) {
            if (wg_frame_decoder_pending(&c->dec))
                log_conn(WG_LOG_VERBOSE, "ended mid-frame:", c, 0);
            else
                log_conn(WG_LOG_VERBOSE, "closed by", c, 0);
            return false;
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            log_conn(WG_LOG_VERBOSE, "read from", c, errno);
            return false;
        }
        wg_frame_decoder_commit(&c->dec, (size_t)r);
        while ((f = wg_frame_decoder_next(&c->dec, &payload, &len)) == 1) {
            if (!len)
                continue;
            t->rx[n].ep = c->remote;
            t->rx[n].data = payload;
            t->rx[n].len = len;
            t->rx[n].authenticated = false;
            if (++n == WG_BATCH_MAX) {
                authenticated |= deliver(t, n);
                n = 0;
            }
        }
        authenticated |= deliver(t, n);
        if (authenticated && !c->trusted) {
            untrusted_del(t, c);
            log_conn(WG_LOG_VERBOSE, "authenticated", c, 0);
        }
        if (f < 0) {
            log_conn(WG_LOG_ERROR, "bad frame CRC, closing connection from", c, 0);
            return false;
        }
        /* A peer that talks to us in valid frames is healthy: the next
         * break is redialled promptly again. */
        c->backoff_ms = 0;
        wg_frame_decoder_compact(&c->dec);
        if ((size_t)r < room)
            return true;    /* drained */
    }
    return true;
}

static void conn_event(struct stream_transport *t, struct conn *c, uint32_t ev)
{
    bool ok = true;

    if (c->dead)
        return;
    pthread_mutex_lock(&t->lock);
    if (c->state == CONN_DIALING) {
        int err = 0;
        socklen_t l = sizeof(err);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
            err = errno;
        if (!err && (ev & EPOLLOUT) && !(ev & (EPOLLERR | EPOLLHUP))) {
            conn_up(t, c);
        } else if (err || (ev & (EPOLLERR | EPOLLHUP))) {
            log_conn(WG_LOG_VERBOSE, "connect to", c, err ? err : ECONNREFUSED);
            conn_broken(t, c);
        }
        pthread_mutex_unlock(&t->lock);
        return;
    }
    if (c->state != CONN_UP) {
        pthread_mutex_unlock(&t->lock);
        return;
    }
    if ((ev & EPOLLOUT) && !c->error)
        conn_flush(t, c);
    if (c->error) {
        log_conn(WG_LOG_VERBOSE, "send to", c, 0);
        conn_broken(t, c);
        pthread_mutex_unlock(&t->lock);
        return;
    }
    pthread_mutex_unlock(&t->lock);

    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
        ok = conn_read(t, c);
    if (!ok) {
        pthread_mutex_lock(&t->lock);
        conn_broken(t, c);
        pthread_mutex_unlock(&t->lock);
    }
}

/* Sweep for connections with a deadline: connect timeouts, redials, and
 * connections a sender marked broken.  Returns ms until the next deadline. */
static int run_timers(struct stream_transport *t)
{
    uint64_t now = now_ms(), next = UINT64_MAX;

    pthread_mutex_lock(&t->lock);
    __atomic_store_n(&t->sweep, false, __ATOMIC_RELAXED);
    for (unsigned b = 0; b < STREAM_HASH_BUCKETS; b++) {
        struct conn *c = t->buckets[b], *nx;

        for (; c; c = nx) {
            nx = c->hnext;
            if (c->state == CONN_UP && c->error) {
                conn_broken(t, c);
            } else if (c->state == CONN_DIALING && now >= c->deadline_ms) {
                log_conn(WG_LOG_VERBOSE, "connect to", c, ETIMEDOUT);
                conn_broken(t, c);
            } else if (c->state == CONN_BACKOFF && now >= c->deadline_ms) {
                if (now - c->last_send_ms > STREAM_IDLE_MS)
                    conn_kill(t, c);
                else
                    conn_dial(t, c);
            }
            if (!c->dead && c->state != CONN_UP && c->deadline_ms < next)
                next = c->deadline_ms;
        }
    }
    pthread_mutex_unlock(&t->lock);
    if (next == UINT64_MAX)
        return -1;
    now = now_ms();
    return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

/* Untrusted connections past STREAM_AUTH_TIMEOUT_MS go; a paused listener
 * resumes.  Returns ms until the next of these is due, -1 if none. */
static int untrusted_timers(struct stream_transport *t)
{
    uint64_t now = now_ms(), next = UINT64_MAX;
    struct conn *c;

    if (!t->untrusted_head && !t->accept_paused)
        return -1;
    pthread_mutex_lock(&t->lock);
    while ((c = t->untrusted_head) && now - c->accepted_ms >= STREAM_AUTH_TIMEOUT_MS) {
        log_conn(WG_LOG_VERBOSE, "no authenticated message in time, closing connection from",
                 c, 0);
        conn_kill(t, c);
    }
    if (c)
        next = c->accepted_ms + STREAM_AUTH_TIMEOUT_MS;
    if (t->accept_paused) {
        if (now >= t->accept_resume_ms) {
            if (t->lfd < 0 || epoll_set(t, EPOLL_CTL_MOD, t->lfd, EPOLLIN, &t->lfd) == 0)
                t->accept_paused = false;
            else
                t->accept_resume_ms = now + STREAM_ACCEPT_PAUSE_MS;
        }
        if (t->accept_paused && t->accept_resume_ms < next)
            next = t->accept_resume_ms;
    }
    pthread_mutex_unlock(&t->lock);
    if (next == UINT64_MAX)
        return -1;
    return next <= now ? 0 : (int)(next - now);
}

/* Connections the engine's handshake thread vouched for (epoll thread). */
static void apply_trust(struct stream_transport *t)
{
    pthread_mutex_lock(&t->lock);
    for (unsigned i = 0; i < t->n_trust; i++) {
        struct conn *c = conn_find(t, &t->trust_q[i]);

        if (c && !c->dead && !c->trusted) {
            untrusted_del(t, c);
            log_conn(WG_LOG_VERBOSE, "authenticated (handshake)", c, 0);
        }
    }
    __atomic_store_n(&t->n_trust, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&t->lock);
}

static void stream_trust(struct wg_transport *base, const struct wg_sockaddr *ep)
{
    struct stream_transport *t = (struct stream_transport *)base;

    pthread_mutex_lock(&t->lock);
    /* Full: the connection may time out untrusted and is redialled; only
     * a burst of more handshakes than this per epoll round gets here. */
    if (t->n_trust < STREAM_TRUST_QUEUE) {
        t->trust_q[t->n_trust] = *ep;
        __atomic_store_n(&t->n_trust, t->n_trust + 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&t->lock);
    wake(t);
}

static int earlier(int a, int b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

static void *stream_thread(void *arg)
{
    struct stream_transport *t = arg;
    struct epoll_event evs[64];
    int timeout = -1;

    pthread_setname_np(pthread_self(), "wg-stream");
    while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
        int n = epoll_wait(t->epfd, evs, 64, timeout);

        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;

            if (p == &t->evfd) {
                uint64_t v;

                (void)!read(t->evfd, &v, sizeof(v));
            } else if (p == &t->lfd) {
                pthread_mutex_lock(&t->lock);
                accept_all(t);
                pthread_mutex_unlock(&t->lock);
            } else {
                conn_event(t, p, evs[i].events);
            }
        }
        /* The sweep only runs while something has a deadline. */
        if (__atomic_load_n(&t->n_timed, __ATOMIC_RELAXED) || __atomic_load_n(&t->sweep, __ATOMIC_RELAXED))
            timeout = run_timers(t);
        else
            timeout = -1;
        if (__atomic_load_n(&t->n_trust, __ATOMIC_RELAXED))
            apply_trust(t);
        timeout = earlier(timeout, untrusted_timers(t));
        /* Freed only now: later events of this batch may name them. */
        while (t->dead) {
            struct conn *c = t->dead;

            t->dead = c->dead_next;
            conn_free(c);
            t->freed_since_trim++;
        }
        /* Thousands of connections gone (an attack ended): the small
         * blocks they left in the heap go back to the system too. */
        if (t->freed_since_trim >= STREAM_TRIM_EVERY) {
            t->freed_since_trim = 0;
            malloc_trim(0);
        }
        for (unsigned i = 0; i < t->n_notify; i++) {
            char a[WG_SOCKADDR_STR_MAX];

            wg_sockaddr_format_human(&t->notify[i], a);
            wg_log(WG_LOG_VERBOSE, "stream reconnected to %s", a);
            if (t->base.params.reconnected)
                t->base.params.reconnected(t->base.params.ctx, &t->notify[i]);
        }
        t->n_notify = 0;
    }
    return NULL;
}

/* ---- listener ---- */

static int open_listener(struct stream_transport *t, uint16_t want, uint32_t fwmark, uint16_t *bound)
{
    struct wg_sockaddr a;
    socklen_t alen;
    int fd, one = 1, zero = 0, family = t->family, err;

    memset(&a, 0, sizeof(a));
    fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && family == AF_INET6 && t->dual && errno == EAFNOSUPPORT) {
        family = AF_INET;       /* a host without IPv6: tcp is then tcp4 */
        fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (fd < 0)
        return -errno;
    switch (family) {
    case AF_VSOCK:
        a.addr.vm.svm_family = AF_VSOCK;
        a.addr.vm.svm_cid = VMADDR_CID_ANY;
        a.addr.vm.svm_port = want ? want : VMADDR_PORT_ANY;
        break;
    case AF_INET6:
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, t->dual ? &zero : &one, sizeof(one)) < 0)
            goto fail;
        a.addr.in6.sin6_family = AF_INET6;
        a.addr.in6.sin6_addr = in6addr_any;
        a.addr.in6.sin6_port = htons(want);
        break;
    default:
        a.addr.in.sin_family = AF_INET;
        a.addr.in.sin_addr.s_addr = htonl(INADDR_ANY);
        a.addr.in.sin_port = htons(want);
        break;
    }
    if (family != AF_VSOCK) {
        /* a restarted daemon must get its port back despite TIME_WAIT */
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
            goto fail;
        if (fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
            goto fail;
    }
    sock_opts(t, fd);
    if (family == AF_VSOCK && !want) {
        uint32_t seed;
        int r;

        if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
            seed = (uint32_t)now_ms();
        r = vsock_bind16(fd, seed, VSOCK_PORT_LO, VSOCK_PORT_HI, bound);
        if (r < 0) {
            close(fd);
            return r;
        }
    } else if (bind(fd, &a.addr.sa, wg_sockaddr_socklen(&a)) < 0) {
        goto fail;
    }
    if (listen(fd, 128) < 0)
        goto fail;
    alen = sizeof(a.addr);
    if (getsockname(fd, &a.addr.sa, &alen) < 0)
        goto fail;
    if (family == AF_VSOCK) {
        if (a.addr.vm.svm_port > 65535) {   /* wg(8) ports are 16-bit */
            close(fd);
            return -EADDRNOTAVAIL;
        }
        *bound = (uint16_t)a.addr.vm.svm_port;
    } else {
        *bound = family == AF_INET6 ? ntohs(a.addr.in6.sin6_port) : ntohs(a.addr.in.sin_port);
    }
    return fd;
fail:
    err = -errno;
    close(fd);
    return err;
}

static int stream_bind(struct wg_transport *base, uint16_t port, uint32_t fwmark)
{
    struct stream_transport *t = (struct stream_transport *)base;
    uint16_t bound = 0;
    int fd = -1, old, err = 0;

    pthread_mutex_lock(&t->bind_lock);
    if (t->base.params.dial_only) {
        /* No listener: the mark applies to the connections we dial. */
        pthread_mutex_lock(&t->lock);
        t->fwmark = fwmark;
        pthread_mutex_unlock(&t->lock);
        pthread_mutex_unlock(&t->bind_lock);
        return 0;
    }
    if (t->lfd >= 0 && port && port == t->port) {
        /* Same port: only the mark changes; it applies to new dials. */
        if (t->family != AF_VSOCK && fwmark != t->fwmark &&
            setsockopt(t->lfd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
            err = -errno;
        if (!err) {
            pthread_mutex_lock(&t->lock);
            t->fwmark = fwmark;
            pthread_mutex_unlock(&t->lock);
        }
        pthread_mutex_unlock(&t->bind_lock);
        return err;
    }
    for (int tries = 0; tries < (port ? 1 : 8); tries++) {
        fd = open_listener(t, port, fwmark, &bound);
        if (fd != -EADDRNOTAVAIL || port)
            break;
    }
    if (fd < 0) {
        pthread_mutex_unlock(&t->bind_lock);
        return fd;
    }
    pthread_mutex_lock(&t->lock);
    err = epoll_set(t, EPOLL_CTL_ADD, fd, EPOLLIN, &t->lfd);
    if (err) {
        pthread_mutex_unlock(&t->lock);
        pthread_mutex_unlock(&t->bind_lock);
        close(fd);
        return err;
    }
    old = t->lfd;
    t->lfd = fd;
    if (old >= 0) {
        (void)epoll_ctl(t->epfd, EPOLL_CTL_DEL, old, NULL);
        close(old);
    }
    __atomic_store_n(&t->port, bound, __ATOMIC_RELAXED);
    t->fwmark = fwmark;
    pthread_mutex_unlock(&t->lock);
    pthread_mutex_unlock(&t->bind_lock);
    wg_log(WG_LOG_VERBOSE, "stream %s listening on port %u",
           wg_transport_name(t->base.params.kind), bound);
    return 0;
}

static uint16_t stream_port(const struct wg_transport *base)
{
    const struct stream_transport *t = (const struct stream_transport *)base;

    return __atomic_load_n(&t->port, __ATOMIC_RELAXED);
}

static void stream_destroy(struct wg_transport *base)
{
    struct stream_transport *t = (struct stream_transport *)base;

    __atomic_store_n(&t->stop, true, __ATOMIC_RELEASE);
    wake(t);
    pthread_join(t->thread, NULL);
    for (unsigned b = 0; b < STREAM_HASH_BUCKETS; b++)
        while (t->buckets[b])
            conn_kill(t, t->buckets[b]);
    while (t->dead) {
        struct conn *c = t->dead;

        t->dead = c->dead_next;
        conn_free(c);
    }
    if (t->lfd >= 0)
        close(t->lfd);
    close(t->evfd);
    close(t->epfd);
    pthread_mutex_destroy(&t->lock);
    pthread_mutex_destroy(&t->bind_lock);
    free(t);
}

static const struct wg_transport_ops stream_ops = {
    .bind = stream_bind,
    .port = stream_port,
    .send = stream_send,
    .destroy = stream_destroy,
    .trust = stream_trust,
};

int wg_transport_stream_create(const struct wg_transport_params *p, struct wg_transport **out)
{
    struct stream_transport *t = calloc(1, sizeof(*t));
    int err;

    if (!t)
        return -ENOMEM;
    t->base.ops = &stream_ops;
    t->base.params = *p;
    t->crc = !p->stream_no_crc;
    t->lfd = -1;
    switch (p->kind) {
    case WG_TRANSPORT_TCP: t->family = AF_INET6; t->dual = true; break;
    case WG_TRANSPORT_TCP4: t->family = AF_INET; break;
    case WG_TRANSPORT_TCP6: t->family = AF_INET6; break;
    case WG_TRANSPORT_VSOCK: t->family = AF_VSOCK; break;
    default:
        free(t);
        return -EINVAL;
    }
    if (getrandom(&t->rng, sizeof(t->rng), 0) != sizeof(t->rng) || !t->rng)
        t->rng = (uint64_t)now_ms() | 1;
    pthread_mutex_init(&t->lock, NULL);
    pthread_mutex_init(&t->bind_lock, NULL);
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    t->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->epfd < 0 || t->evfd < 0) {
        err = -errno;
        goto fail;
    }
    err = epoll_set(t, EPOLL_CTL_ADD, t->evfd, EPOLLIN, &t->evfd);
    if (err)
        goto fail;
    err = wg_thread_start(&t->thread, stream_thread, t);
    if (err)
        goto fail;
    *out = &t->base;
    return 0;
fail:
    if (t->epfd >= 0)
        close(t->epfd);
    if (t->evfd >= 0)
        close(t->evfd);
    pthread_mutex_destroy(&t->lock);
    pthread_mutex_destroy(&t->bind_lock);
    free(t);
    return err;
}
