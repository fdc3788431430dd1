/* transport_udp.c - WireGuard over UDP, dual-stack, as kernel WireGuard.
 *
 * Two sockets share the listen port: AF_INET and AF_INET6 with IPV6_V6ONLY
 * (so IPv4 peers appear as plain IPv4 endpoints, never as v4-mapped ones).
 * The sockets are served by the process's shared receive loops
 * (udp_rxloop.c: a few epoll threads for every device), which recvmmsg into
 * buffers of their own; send is sendmmsg with MSG_DONTWAIT, so a full socket
 * buffer drops datagrams instead of stalling the device's TX thread.
 *
 * Re-binding creates the new pair first and swaps it in under a write lock,
 * so a failed bind (EADDRINUSE) leaves the old sockets working.  An old
 * socket leaves its loop (wg_rxloop_del waits until its callback is not
 * running) before it is closed.
 *
 * Offloads (udp_gso.h): a run of equal-size messages to one endpoint goes
 * out as one sendmsg with a UDP_SEGMENT cmsg, and the sockets have UDP_GRO
 * on, so one receive may carry many datagrams of one sender (buffers are
 * 64 KiB each for that), cut apart before the engine sees them.  Where the
 * kernel has no UDP_SEGMENT the socket sends one datagram per message; where
 * it refuses a GSO send (EIO: the route's device cannot checksum; EINVAL or
 * EMSGSIZE: segments larger than the route's MTU) that socket stops using
 * GSO and the run is sent again datagram by datagram.  WGVSOCK_UDP_OFFLOAD=0 turns both
 * off (for comparisons).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include "wgcore/thread.h"
#include "wgcore/transport_ops.h"
#include "wgcore/udp_gso.h"
#include "wgcore/udp_rxloop.h"
#include "wgcore/wgcore.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* recvmmsg calls per readiness event before the loop serves other sockets */
#define UDP_READS_PER_EVENT 8
#define UDP_SOCKBUF (4u << 20)
#define UDP_RANDOM_PORT_TRIES 100

struct udp_sock {
    struct wg_rxloop_entry entry;               /* first: the loop's callback gets it */
    struct udp_transport *t;
    int fd;
    int family;
    bool gso;                                   /* UDP_SEGMENT sends; atomic: cleared on refusal */
};

struct udp_transport {
    struct wg_transport base;
    pthread_mutex_t bind_lock;      /* serialises bind/destroy */
    pthread_rwlock_t lock;          /* senders read s4/s6; bind swaps them */
    struct udp_sock *s4, *s6;
    uint16_t port;
    uint32_t fwmark;
    bool bound;                     /* under bind_lock; udp_send peeks (atomic) */
};

/* WGVSOCK_UDP_OFFLOAD=0: no UDP_SEGMENT, no UDP_GRO. */
static bool offload_wanted(void)
{
    const char *v = getenv("WGVSOCK_UDP_OFFLOAD");

    return !v || strcmp(v, "0") != 0;
}

static void set_bufs(int fd)
{
    int sz = UDP_SOCKBUF;

    /* FORCE works as root (the daemon); fall back to the sysctl-capped one. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

static int set_mark(int fd, uint32_t fwmark)
{
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
        return -errno;
    return 0;
}

/* Returns a bound socket or -errno; *port gets the bound port. */
static int open_socket(int family, uint16_t *port, uint32_t fwmark)
{
    struct wg_sockaddr a;
    socklen_t alen;
    int fd, one = 1, err;

    fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&a, 0, sizeof(a));
    if (family == AF_INET6) {
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
            goto fail;
        a.addr.in6.sin6_family = AF_INET6;
        a.addr.in6.sin6_addr = in6addr_any;
        a.addr.in6.sin6_port = htons(*port);
    } else {
        a.addr.in.sin_family = AF_INET;
        a.addr.in.sin_addr.s_addr = htonl(INADDR_ANY);
        a.addr.in.sin_port = htons(*port);
    }
    if (fwmark && set_mark(fd, fwmark) < 0)
        goto fail;
    set_bufs(fd);
    if (bind(fd, &a.addr.sa, wg_sockaddr_socklen(&a)) < 0)
        goto fail;
    alen = sizeof(a.addr);
    if (getsockname(fd, &a.addr.sa, &alen) < 0)
        goto fail;
    *port = family == AF_INET6 ? ntohs(a.addr.in6.sin6_port) : ntohs(a.addr.in.sin_port);
    return fd;
fail:
    err = -errno;
    close(fd);
    return err;
}

/* The segment size of a UDP_GRO receive, 0 for a single datagram. */
static size_t gro_size(struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        int v;

        if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO || c->cmsg_len < CMSG_LEN(sizeof(v)))
            continue;
        memcpy(&v, CMSG_DATA(c), sizeof(v));
        return v > 0 ? (size_t)v : 0;
    }
    return 0;
}

/* On a receive loop's thread: read what the socket has, hand it to the
 * device in batches of at most WG_BATCH_MAX. */
static void udp_ready(struct wg_rxloop_entry *e, struct wg_rxloop_scratch *x)
{
    struct udp_sock *s = (struct udp_sock *)e;
    struct wg_transport *base = &s->t->base;

    for (int k = 0; k < UDP_READS_PER_EVENT; k++) {
        unsigned n = 0;
        int r;

        for (unsigned i = 0; i < WG_BATCH_MAX; i++) {
            struct msghdr *mh = &x->hdrs[i].msg_hdr;

            memset(mh, 0, sizeof(*mh));
            memset(&x->from[i], 0, sizeof(x->from[i]));
            mh->msg_name = &x->from[i].addr;
            mh->msg_namelen = sizeof(x->from[i].addr);
            mh->msg_iov = &x->iov[i];
            mh->msg_iovlen = 1;
            mh->msg_control = x->ctl[i].buf;
            mh->msg_controllen = sizeof(x->ctl[i].buf);
        }
        r = recvmmsg(s->fd, x->hdrs, WG_BATCH_MAX, MSG_DONTWAIT, NULL);
        if (r < 0) {
            /* ICMP errors surface here as ECONNREFUSED etc.: not fatal. */
            if (errno == EINTR || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
                errno == ENETUNREACH || errno == ENOBUFS || errno == ENOMEM)
                continue;
            return;     /* EAGAIN: drained */
        }
        for (int i = 0; i < r; i++) {
            size_t off = 0, len = x->hdrs[i].msg_len;

            /* No WireGuard message is empty; a truncated one is garbage. */
            if (!len || (x->hdrs[i].msg_hdr.msg_flags & MSG_TRUNC))
                continue;
            while (off < len) {
                n += wg_udp_gro_split(&x->from[i], x->iov[i].iov_base, len, gro_size(&x->hdrs[i].msg_hdr),
                                      &off, x->msgs + n, WG_BATCH_MAX - n);
                if (n == WG_BATCH_MAX) {
                    base->params.rx(base->params.ctx, x->msgs, n);
                    n = 0;
                }
            }
        }
        if (n)
            base->params.rx(base->params.ctx, x->msgs, n);
        if (r < WG_BATCH_MAX)
            return;     /* drained */
    }
}

static void sock_free(struct udp_sock *s)
{
    if (!s)
        return;
    wg_rxloop_del(&s->entry);       /* no-op if never started */
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

static struct udp_sock *sock_new(struct udp_transport *t, int fd, int family)
{
    struct udp_sock *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->t = t;
    s->fd = fd;
    s->family = family;
    if (offload_wanted()) {
        int zero = 0, one = 1;

        /* Kernels without UDP_SEGMENT (< 4.18) answer ENOPROTOOPT here;
         * 0 means "no default segment size": each send says its own. */
        s->gso = setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
        (void)setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));  /* < 5.0: plain receives */
    }
    s->entry.fd = fd;
    s->entry.ready = udp_ready;
    return s;
}

static int sock_start(struct udp_sock *s)
{
    return wg_rxloop_add(&s->entry);
}

/* Opens both sockets on one port.  For port 0 the kernel picks the IPv4
 * port and IPv6 must get the same one, which may be taken: retry. */
static int open_pair(uint16_t want, uint32_t fwmark, int *fd4, int *fd6, uint16_t *bound)
{
    int tries = want ? 1 : UDP_RANDOM_PORT_TRIES;

    for (int i = 0; i < tries; i++) {
        uint16_t port = want;
        int a = open_socket(AF_INET, &port, fwmark), b;

        if (a == -EAFNOSUPPORT) {       /* IPv6-only host */
            b = open_socket(AF_INET6, &port, fwmark);
            if (b < 0)
                return b;
            *fd4 = -1, *fd6 = b, *bound = port;
            return 0;
        }
        if (a < 0)
            return a;
        b = open_socket(AF_INET6, &port, fwmark);
        if (b >= 0 || b == -EAFNOSUPPORT || b == -EADDRNOTAVAIL) {
            *fd4 = a, *fd6 = b >= 0 ? b : -1, *bound = port;
            return 0;
        }
        close(a);
        if (b != -EADDRINUSE || want)
            return b;
    }
    return -EADDRINUSE;
}

static int udp_bind_locked(struct udp_transport *t, uint16_t port, uint32_t fwmark)
{
    struct udp_sock *n4 = NULL, *n6 = NULL, *o4, *o6;
    int fd4 = -1, fd6 = -1, err;
    uint16_t bound = 0;     /* set by open_pair() on success; gcc -O1 cannot see that */

    if (t->bound && port && port == t->port) {
        /* Same port: only the mark may change; keep sockets and threads. */
        if (fwmark != t->fwmark) {
            if ((t->s4 && (err = set_mark(t->s4->fd, fwmark)) < 0) ||
                (t->s6 && (err = set_mark(t->s6->fd, fwmark)) < 0))
                return err;
            t->fwmark = fwmark;
        }
        return 0;
    }
    err = open_pair(port, fwmark, &fd4, &fd6, &bound);
    if (err)
        return err;
    if (fd4 >= 0 && !(n4 = sock_new(t, fd4, AF_INET)))
        goto nomem;
    if (fd6 >= 0 && !(n6 = sock_new(t, fd6, AF_INET6)))
        goto nomem;
    if ((n4 && (err = sock_start(n4))) || (n6 && (err = sock_start(n6)))) {
        sock_free(n4);
        sock_free(n6);
        return err;
    }
    pthread_rwlock_wrlock(&t->lock);
    o4 = t->s4, o6 = t->s6;
    t->s4 = n4, t->s6 = n6;
    __atomic_store_n(&t->port, bound, __ATOMIC_RELAXED);
    t->fwmark = fwmark;
    /* udp_send peeks at bound without bind_lock: store it atomically. */
    __atomic_store_n(&t->bound, true, __ATOMIC_RELEASE);
    pthread_rwlock_unlock(&t->lock);
    /* Outside the write lock: an old receive thread may be inside the rx
     * callback, sending replies (read lock) before it sees the shutdown. */
    sock_free(o4);
    sock_free(o6);
    return 0;
nomem:
    if (!n4 && fd4 >= 0)
        close(fd4);
    if (!n6 && fd6 >= 0)
        close(fd6);
    sock_free(n4);
    sock_free(n6);
    return -ENOMEM;
}

static int udp_bind(struct wg_transport *base, uint16_t port, uint32_t fwmark)
{
    struct udp_transport *t = (struct udp_transport *)base;
    int err;

    pthread_mutex_lock(&t->bind_lock);
    err = udp_bind_locked(t, port, fwmark);
    pthread_mutex_unlock(&t->bind_lock);
    return err;
}

static uint16_t udp_port(const struct wg_transport *base)
{
    const struct udp_transport *t = (const struct udp_transport *)base;

    return __atomic_load_n(&t->port, __ATOMIC_RELAXED);
}

/* One family's outgoing sendmmsg entries; an entry carries segs messages
 * (more than one: a UDP_SEGMENT run). */
struct udp_out {
    unsigned n;
    struct mmsghdr h[WG_BATCH_MAX];
    unsigned segs[WG_BATCH_MAX];
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } ctl[WG_BATCH_MAX];
};

static void out_add(struct udp_out *o, const struct wg_msg *m, struct iovec *iov, unsigned segs)
{
    struct mmsghdr *h = &o->h[o->n];

    memset(h, 0, sizeof(*h));
    h->msg_hdr.msg_name = (void *)&m->ep.addr;
    h->msg_hdr.msg_namelen = wg_sockaddr_socklen(&m->ep);
    h->msg_hdr.msg_iov = iov;
    h->msg_hdr.msg_iovlen = segs;
    if (segs > 1) {
        struct cmsghdr *c = &o->ctl[o->n].align;
        uint16_t size = (uint16_t)m->len;

        h->msg_hdr.msg_control = o->ctl[o->n].buf;
        h->msg_hdr.msg_controllen = sizeof(o->ctl[o->n].buf);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(size));
        memcpy(CMSG_DATA(c), &size, sizeof(size));
    }
    o->segs[o->n++] = segs;
}

/* The fallback for a refused GSO send: the run's datagrams one by one. */
static unsigned send_each(int fd, const struct msghdr *run)
{
    unsigned sent = 0;

    for (size_t j = 0; j < run->msg_iovlen; j++) {
        struct msghdr mh = {
            .msg_name = run->msg_name, .msg_namelen = run->msg_namelen,
            .msg_iov = &run->msg_iov[j], .msg_iovlen = 1,
        };
        ssize_t r;

        do
            r = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        if (r >= 0)
            sent++;
        else if (errno == EAGAIN || errno == ENOBUFS)
            break;
    }
    return sent;
}

/* sendmmsg one family's entries; an entry the kernel refuses (no route)
 * is skipped, a full socket buffer drops the rest.  Returns messages sent. */
static unsigned send_family(struct udp_sock *s, struct udp_out *o)
{
    unsigned done = 0, sent = 0;

    while (done < o->n) {
        int r = sendmmsg(s->fd, o->h + done, o->n - done, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (r > 0) {
            for (int i = 0; i < r; i++)
                sent += o->segs[done++];
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == ENOBUFS))
            break;
        if (r < 0 && (errno == EIO || errno == EINVAL || errno == EMSGSIZE) && o->segs[done] > 1) {
            if (__atomic_exchange_n(&s->gso, false, __ATOMIC_RELAXED))
                wg_log(WG_LOG_VERBOSE, "udp: the kernel refused a UDP_SEGMENT send (%s); "
                       "this socket sends one datagram per message from now on", strerror(errno));
            sent += send_each(s->fd, &o->h[done].msg_hdr);
        }
        done++;         /* this one failed (EHOSTUNREACH, EPERM, ...) */
    }
    return sent;
}

static unsigned udp_send(struct wg_transport *base, const struct wg_msg *msgs, unsigned n)
{
    struct udp_transport *t = (struct udp_transport *)base;
    struct udp_out o4, o6;
    struct iovec iov[WG_BATCH_MAX];
    unsigned sent = 0;

    if (n > WG_BATCH_MAX)
        n = WG_BATCH_MAX;
    if (!__atomic_load_n(&t->bound, __ATOMIC_ACQUIRE)) {
        /* Kernel semantics: the first packet to a peer binds a random port. */
        pthread_mutex_lock(&t->bind_lock);
        if (!t->bound)
            (void)udp_bind_locked(t, 0, t->fwmark);
        pthread_mutex_unlock(&t->bind_lock);
    }
    o4.n = o6.n = 0;
    pthread_rwlock_rdlock(&t->lock);
    for (unsigned i = 0; i < n;) {
        const struct wg_msg *m = &msgs[i];
        int family = m->ep.addr.sa.sa_family;
        struct udp_sock *s = family == AF_INET ? t->s4 : family == AF_INET6 ? t->s6 : NULL;
        unsigned run = 1;

        if (!s) {
            i++;
            continue;
        }
        if (__atomic_load_n(&s->gso, __ATOMIC_RELAXED))
            run = wg_udp_gso_run(m, n - i, WG_UDP_GSO_MAX_SEGS, WG_UDP_GSO_MAX_BYTES);
        for (unsigned j = 0; j < run; j++) {
            iov[i + j].iov_base = msgs[i + j].data;
            iov[i + j].iov_len = msgs[i + j].len;
        }
        out_add(s == t->s4 ? &o4 : &o6, m, &iov[i], run);
        i += run;
    }
    if (o4.n)
        sent += send_family(t->s4, &o4);
    if (o6.n)
        sent += send_family(t->s6, &o6);
    pthread_rwlock_unlock(&t->lock);
    return sent;
}

static void udp_destroy(struct wg_transport *base)
{
    struct udp_transport *t = (struct udp_transport *)base;

    pthread_mutex_lock(&t->bind_lock);
    sock_free(t->s4);
    sock_free(t->s6);
    t->s4 = t->s6 = NULL;
    pthread_mutex_unlock(&t->bind_lock);
    pthread_rwlock_destroy(&t->lock);
    pthread_mutex_destroy(&t->bind_lock);
    free(t);
}

static const struct wg_transport_ops udp_ops = {
    .bind = udp_bind,
    .port = udp_port,
    .send = udp_send,
    .destroy = udp_destroy,
};

int wg_transport_udp_create(const struct wg_transport_params *p, struct wg_transport **out)
{
    struct udp_transport *t = calloc(1, sizeof(*t));

    if (!t)
        return -ENOMEM;
    t->base.ops = &udp_ops;
    t->base.params = *p;
    pthread_mutex_init(&t->bind_lock, NULL);
    pthread_rwlock_init(&t->lock, NULL);
    *out = &t->base;
    return 0;
}
