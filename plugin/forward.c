/* forward.c - the published-port data path (see forward.h).
 *
 * Everything below runs on the forwarder's thread, except fwd_publish/
 * fwd_unpublish/fwd_stop, which queue a command and wait for it.  Objects
 * closed while handling one epoll batch are only freed after the batch, so
 * a later event of the same batch never touches freed memory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "plugin/forward.h"
#include "plugin/log.h"

#define FWD_PIPE_SIZE (256 * 1024)
#define FWD_KEY_MAX 129

enum kind { K_WAKE, K_LISTEN, K_CONN_A, K_CONN_B, K_FLOW };

struct handle {
    enum kind kind;
    void *obj;
};

struct pub;

struct listener {
    struct handle h;
    struct pub *pub;
    int fd;
    struct pm_binding b;
    bool paused;                /* out of fds: accept again at the next tick */
    bool dead;
    struct listener *next;
};

struct conn {                   /* a: the client (host side), b: the container */
    struct handle ha, hb;
    struct pub *pub;
    int a, b;
    int ab[2], ba[2];           /* pipes a->b and b->a */
    size_t n_ab, n_ba;          /* bytes sitting in each pipe */
    uint16_t port;              /* the container's, for messages */
    bool connecting, a_eof, b_eof, b_shut, a_shut, dead;
    struct conn *next;
};

struct flow {
    struct handle h;
    struct listener *l;
    int fd;                     /* connected to the container's port */
    struct sockaddr_storage client;
    socklen_t client_len;
    time_t last;
    bool dead;
    struct flow *next;
};

struct pub {
    char key[FWD_KEY_MAX];
    /* The container's network namespace.  Docker names the file at Join but
     * creates it only when the container's process starts (after
     * ProgramExternalConnectivity), so it is opened at the first use. */
    char *netns_path;
    int netns;
    bool netns_warned;
    struct in_addr target;
    struct listener *ls;
    struct conn *conns;
    struct flow *flows;
    struct pub *next;
};

enum cmd_type { CMD_PUBLISH, CMD_UNPUBLISH, CMD_STOP };

struct cmd {
    enum cmd_type type;
    const char *key, *netns_path, *container_ip;
    struct pm_binding *b;
    size_t n;
    char *err;
    int ret;
    bool done;
    struct cmd *next;
};

struct fwd {
    pthread_t thread;
    int epfd, wakefd, host_netns;
    struct handle wake;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct cmd *queue;
    struct pub *pubs;
    unsigned n_conns, n_flows;
    struct conn *dead_conns;
    struct flow *dead_flows;
    struct listener *dead_ls;
    bool stop;
};

static time_t now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* A socket of the container's network namespace: enter it, create, leave. */
static int socket_in(struct fwd *f, struct pub *p, int type)
{
    int fd, saved;

    if (p->netns < 0) {
        p->netns = open(p->netns_path, O_RDONLY | O_CLOEXEC);
        if (p->netns < 0) {
            saved = errno;
            if (!p->netns_warned)
                pl_err("forwarder: cannot open the container's network namespace %s: %s%s",
                       p->netns_path, strerror(saved), saved != ENOENT ? "" :
                       " (the plugin must run in dockerd's mount namespace)");
            p->netns_warned = true;
            return -saved;
        }
    }
    if (setns(p->netns, CLONE_NEWNET))
        return -errno;
    fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    saved = errno;
    if (setns(f->host_netns, CLONE_NEWNET)) {
        /* Staying in a container's namespace would open host ports there. */
        pl_err("forwarder: cannot return to the host network namespace: %s", strerror(errno));
        abort();
    }
    return fd < 0 ? -saved : fd;
}

static int ep_add(struct fwd *f, int fd, struct handle *h, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = h };

    return epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* ---- TCP ---- */

static void conn_close(struct fwd *f, struct conn *c, bool reset)
{
    if (c->dead)
        return;
    c->dead = true;
    if (reset) {
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(c->a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close_fd(&c->a);
    close_fd(&c->b);
    close_fd(&c->ab[0]);
    close_fd(&c->ab[1]);
    close_fd(&c->ba[0]);
    close_fd(&c->ba[1]);
    for (struct conn **pp = &c->pub->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    c->next = f->dead_conns;
    f->dead_conns = c;
    f->n_conns--;
}

/* Moves what it can from src to dst through the pipe p (holding *n bytes);
 * stops at EAGAIN on both sides.  -1 on a socket error. */
static int pump(int src, int dst, int p[2], size_t *n, bool *src_eof, bool *dst_shut)
{
    for (;;) {
        bool progress = false;
        ssize_t r;

        if (!*src_eof && *n < FWD_PIPE_SIZE) {
            r = splice(src, NULL, p[1], NULL, FWD_PIPE_SIZE - *n,
                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (r > 0) {
                *n += (size_t)r;
                progress = true;
            } else if (r == 0) {
                *src_eof = true;
                progress = true;
            } else if (errno != EAGAIN && errno != EINTR) {
                return -1;
            }
        }
        if (*n > 0) {
            r = splice(p[0], NULL, dst, NULL, *n, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (r > 0) {
                *n -= (size_t)r;
                progress = true;
            } else if (r < 0 && errno != EAGAIN && errno != EINTR) {
                return -1;
            }
        }
        if (!progress)
            break;
    }
    if (*src_eof && *n == 0 && !*dst_shut) {
        shutdown(dst, SHUT_WR);
        *dst_shut = true;
    }
    return 0;
}

static void conn_event(struct fwd *f, struct conn *c)
{
    if (c->dead)
        return;
    if (c->connecting) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof(peer);
        int err = 0;
        socklen_t len = sizeof(err);

        if (getsockopt(c->b, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
            pl_debug("forwarder: cannot connect to the container's port %u/tcp: %s",
                     c->port, strerror(err ? err : errno));
            conn_close(f, c, true);
            return;
        }
        /* Not connected yet (the client's side fired first): the
         * container's side reports EPOLLOUT when it is. */
        if (getpeername(c->b, (struct sockaddr *)&peer, &plen))
            return;
        c->connecting = false;
    }
    if (pump(c->a, c->b, c->ab, &c->n_ab, &c->a_eof, &c->b_shut) ||
        pump(c->b, c->a, c->ba, &c->n_ba, &c->b_eof, &c->a_shut)) {
        conn_close(f, c, true);
        return;
    }
    if (c->a_shut && c->b_shut)
        conn_close(f, c, false);
}

static int new_pipe(int p[2])
{
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC))
        return -errno;
    /* Bigger than the default 64 KiB; the kernel may cap it (pipe-max-size). */
    fcntl(p[1], F_SETPIPE_SZ, FWD_PIPE_SIZE);
    return 0;
}

static void tcp_accept(struct fwd *f, struct listener *l)
{
    for (;;) {
        struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(l->b.port),
                                   .sin_addr = l->pub->target };
        struct conn *c;
        int a = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (a < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                pl_err("forwarder: port %u/tcp: %s; accepting again in a second", l->b.host_port,
                       strerror(errno));
                epoll_ctl(f->epfd, EPOLL_CTL_DEL, l->fd, NULL);
                l->paused = true;
            }
            return;     /* EAGAIN, or a connection that went away */
        }
        c = f->n_conns < FWD_CONNS_MAX ? calloc(1, sizeof(*c)) : NULL;
        if (!c) {
            struct linger lg = { .l_onoff = 1, .l_linger = 0 };
            setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            close(a);
            pl_debug("forwarder: port %u/tcp: connection refused: %u connections open",
                     l->b.host_port, f->n_conns);
            continue;
        }
        c->a = a;
        c->b = c->ab[0] = c->ab[1] = c->ba[0] = c->ba[1] = -1;
        c->pub = l->pub;
        c->port = l->b.port;
        c->ha = (struct handle){ K_CONN_A, c };
        c->hb = (struct handle){ K_CONN_B, c };
        c->connecting = true;
        c->next = l->pub->conns;
        l->pub->conns = c;
        f->n_conns++;
        c->b = socket_in(f, l->pub, SOCK_STREAM);
        if (c->b < 0 || new_pipe(c->ab) || new_pipe(c->ba) ||
            (connect(c->b, (struct sockaddr *)&dst, sizeof(dst)) && errno != EINPROGRESS) ||
            ep_add(f, c->a, &c->ha, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) ||
            ep_add(f, c->b, &c->hb, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
            pl_debug("forwarder: port %u/tcp: cannot reach the container: %s", l->b.host_port,
                     strerror(errno));
            conn_close(f, c, true);
        }
    }
}

/* ---- UDP ---- */

static void flow_close(struct fwd *f, struct flow *fl)
{
    if (fl->dead)
        return;
    fl->dead = true;
    close_fd(&fl->fd);
    for (struct flow **pp = &fl->l->pub->flows; *pp; pp = &(*pp)->next)
        if (*pp == fl) {
            *pp = fl->next;
            break;
        }
    fl->next = f->dead_flows;
    f->dead_flows = fl;
    f->n_flows--;
}

static struct flow *flow_get(struct fwd *f, struct listener *l,
                             const struct sockaddr_storage *from, socklen_t len)
{
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(l->b.port),
                               .sin_addr = l->pub->target };
    struct flow *fl;

    for (fl = l->pub->flows; fl; fl = fl->next)
        if (fl->l == l && fl->client_len == len && !memcmp(&fl->client, from, len))
            return fl;
    if (f->n_flows >= FWD_FLOWS_MAX || !(fl = calloc(1, sizeof(*fl))))
        return NULL;
    fl->h = (struct handle){ K_FLOW, fl };
    fl->l = l;
    memcpy(&fl->client, from, len);
    fl->client_len = len;
    fl->next = l->pub->flows;
    l->pub->flows = fl;
    f->n_flows++;
    fl->fd = socket_in(f, l->pub, SOCK_DGRAM);
    if (fl->fd < 0 || connect(fl->fd, (struct sockaddr *)&dst, sizeof(dst)) ||
        ep_add(f, fl->fd, &fl->h, EPOLLIN)) {
        pl_debug("forwarder: port %u/udp: cannot reach the container: %s", l->b.host_port,
                 strerror(errno));
        flow_close(f, fl);
        return NULL;
    }
    return fl;
}

static void udp_from_client(struct fwd *f, struct listener *l)
{
    static char buf[65536];

    for (int i = 0; i < 64; i++) {     /* then let other sockets have a turn */
        struct sockaddr_storage from;
        socklen_t len = sizeof(from);
        ssize_t r = recvfrom(l->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
        struct flow *fl;

        if (r < 0)
            return;
        fl = flow_get(f, l, &from, len);
        if (!fl)
            continue;
        fl->last = now_s();
        send(fl->fd, buf, (size_t)r, 0);
    }
}

static void udp_from_container(struct fwd *f, struct flow *fl)
{
    static char buf[65536];

    for (int i = 0; i < 64 && !fl->dead; i++) {
        ssize_t r = recv(fl->fd, buf, sizeof(buf), 0);

        if (r < 0) {
            if (errno == EAGAIN)
                return;
            continue;   /* ECONNREFUSED: nothing listens yet; the client may retry */
        }
        fl->last = now_s();
        sendto(fl->l->fd, buf, (size_t)r, 0, (struct sockaddr *)&fl->client, fl->client_len);
    }
}

/* ---- publish / unpublish (on the forwarder's thread) ---- */

static void pub_free(struct fwd *f, struct pub *p)
{
    while (p->conns)
        conn_close(f, p->conns, true);
    while (p->flows)
        flow_close(f, p->flows);
    while (p->ls) {
        struct listener *l = p->ls;
        p->ls = l->next;
        close_fd(&l->fd);
        l->dead = true;
        l->next = f->dead_ls;
        f->dead_ls = l;
    }
    close_fd(&p->netns);
    free(p->netns_path);
    free(p);
}

/* A listening socket for b on one host port.  fd or -errno. */
static int listen_on(const struct pm_binding *b, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int type = b->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
    int fd, one = 1, zero = 0, ret;
    bool v6 = !*b->host_ip || strchr(b->host_ip, ':');

    memset(&ss, 0, sizeof(ss));
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        s6->sin6_addr = in6addr_any;
        if (*b->host_ip)
            inet_pton(AF_INET6, b->host_ip, &s6->sin6_addr);
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        inet_pton(AF_INET, b->host_ip, &s4->sin_addr);
        len = sizeof(*s4);
    }
    fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && v6 && !*b->host_ip && errno == EAFNOSUPPORT) {
        /* No IPv6 on this host: "every address" is every IPv4 address. */
        struct pm_binding b4 = *b;
        strcpy(b4.host_ip, "0.0.0.0");
        return listen_on(&b4, port);
    }
    if (fd < 0)
        return -errno;
    /* As Docker's own proxy: connections in TIME_WAIT do not keep a port. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* "Every address" takes IPv4 too (a v4-mapped dual-stack socket). */
    if (v6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, *b->host_ip ? &one : &zero, sizeof(int));
    if (bind(fd, (struct sockaddr *)&ss, len) || (type == SOCK_STREAM && listen(fd, 128))) {
        ret = -errno;
        close(fd);
        return ret;
    }
    return fd;
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len))
        return 0;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

static int open_listener(struct fwd *f, struct pub *p, struct pm_binding *b, char *err)
{
    char what[PM_IP_TEXT_MAX + 32];
    struct listener *l;
    int fd = -EADDRINUSE;

    /* 0: the kernel picks from the ephemeral range (ip_local_port_range). */
    for (unsigned port = b->host_port; port <= b->host_port_end; port++) {
        fd = listen_on(b, (uint16_t)port);
        if (fd >= 0 || fd != -EADDRINUSE)
            break;
    }
    if (fd < 0) {
        pm_describe(b, what, sizeof(what));
        if (b->host_port != b->host_port_end)
            snprintf(strrchr(what, ':') + 1, sizeof(what) - (size_t)(strrchr(what, ':') + 1 - what),
                     "%u-%u/%s", b->host_port, b->host_port_end, pm_proto_name(b->proto));
        if (fd == -EADDRINUSE)
            return net_fail(err, "cannot publish port %u/%s: host port %s is already in use",
                            b->port, pm_proto_name(b->proto), what);
        return net_fail(err, "cannot publish port %u/%s on host port %s: %s", b->port,
                        pm_proto_name(b->proto), what, strerror(-fd));
    }
    b->host_port = b->host_port_end = bound_port(fd);
    l = calloc(1, sizeof(*l));
    if (!l) {
        close(fd);
        return net_fail(err, "out of memory");
    }
    l->h = (struct handle){ K_LISTEN, l };
    l->pub = p;
    l->fd = fd;
    l->b = *b;
    l->next = p->ls;
    p->ls = l;
    if (ep_add(f, fd, &l->h, EPOLLIN))
        return net_fail(err, "cannot watch host port %u: %s", b->host_port, strerror(errno));
    return 0;
}

static void do_unpublish(struct fwd *f, const char *key)
{
    for (struct pub **pp = &f->pubs; *pp; pp = &(*pp)->next) {
        struct pub *p = *pp;
        if (strcmp(p->key, key))
            continue;
        *pp = p->next;
        pub_free(f, p);
        return;
    }
}

static int do_publish(struct fwd *f, struct cmd *c)
{
    struct pub *p;

    do_unpublish(f, c->key);
    if (strlen(c->key) >= FWD_KEY_MAX)
        return net_fail(c->err, "endpoint ID too long");
    p = calloc(1, sizeof(*p));
    if (!p)
        return net_fail(c->err, "out of memory");
    strcpy(p->key, c->key);
    p->netns = -1;
    p->netns_path = strdup(c->netns_path);
    if (!p->netns_path) {
        pub_free(f, p);
        return net_fail(c->err, "out of memory");
    }
    if (inet_pton(AF_INET, c->container_ip, &p->target) != 1) {
        pub_free(f, p);
        return net_fail(c->err, "container address '%.64s' is not IPv4", c->container_ip);
    }
    /* Entering a namespace needs CAP_SYS_ADMIN: try with our own now, so
     * that its lack fails `docker run` rather than every connection. */
    if (setns(f->host_netns, CLONE_NEWNET)) {
        int e = errno;
        pub_free(f, p);
        return net_fail(c->err, "cannot enter a network namespace: %s%s", strerror(e),
                        e == EPERM ? " (publishing ports needs CAP_SYS_ADMIN)" : "");
    }
    for (size_t i = 0; i < c->n; i++) {
        if (open_listener(f, p, &c->b[i], c->err)) {
            pub_free(f, p);
            return -1;
        }
    }
    p->next = f->pubs;
    f->pubs = p;
    return 0;
}

/* ---- the thread ---- */

static void run_commands(struct fwd *f)
{
    struct cmd *q;
    uint64_t v;

    if (read(f->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        pl_err("forwarder: eventfd: %s", strerror(errno));
    pthread_mutex_lock(&f->lock);
    q = f->queue;
    f->queue = NULL;
    pthread_mutex_unlock(&f->lock);
    /* The queue was pushed at its head: run the oldest first. */
    {
        struct cmd *rev = NULL;
        while (q) {
            struct cmd *n = q->next;
            q->next = rev;
            rev = q;
            q = n;
        }
        q = rev;
    }
    while (q) {
        struct cmd *next = q->next;
        int ret = 0;

        switch (q->type) {
        case CMD_PUBLISH: ret = do_publish(f, q); break;
        case CMD_UNPUBLISH: do_unpublish(f, q->key); break;
        case CMD_STOP: f->stop = true; break;
        }
        pthread_mutex_lock(&f->lock);
        q->ret = ret;
        q->done = true;
        pthread_cond_broadcast(&f->cond);
        pthread_mutex_unlock(&f->lock);
        q = next;
    }
}

static void tick(struct fwd *f)
{
    time_t now = now_s();

    for (struct pub *p = f->pubs; p; p = p->next) {
        for (struct flow *fl = p->flows, *next; fl; fl = next) {
            next = fl->next;
            if (now - fl->last >= FWD_UDP_IDLE_S)
                flow_close(f, fl);
        }
        for (struct listener *l = p->ls; l; l = l->next)
            if (l->paused && !ep_add(f, l->fd, &l->h, EPOLLIN))
                l->paused = false;
    }
}

static void reap(struct fwd *f)
{
    while (f->dead_conns) {
        struct conn *c = f->dead_conns;
        f->dead_conns = c->next;
        free(c);
    }
    while (f->dead_flows) {
        struct flow *fl = f->dead_flows;
        f->dead_flows = fl->next;
        free(fl);
    }
    while (f->dead_ls) {
        struct listener *l = f->dead_ls;
        f->dead_ls = l->next;
        free(l);
    }
}

static void *fwd_thread(void *arg)
{
    struct fwd *f = arg;
    struct epoll_event evs[64];
    time_t last_tick = now_s();

    while (!f->stop) {
        int n = epoll_wait(f->epfd, evs, 64, 1000);

        for (int i = 0; i < n; i++) {
            struct handle *h = evs[i].data.ptr;
            switch (h->kind) {
            case K_WAKE: run_commands(f); break;
            case K_LISTEN: {
                struct listener *l = h->obj;
                if (l->dead)
                    break;
                if (l->b.proto == IPPROTO_TCP)
                    tcp_accept(f, l);
                else
                    udp_from_client(f, l);
                break;
            }
            case K_CONN_A:
            case K_CONN_B: conn_event(f, h->obj); break;
            case K_FLOW: udp_from_container(f, h->obj); break;
            }
        }
        /* Only now: a later event of the batch may name a closed object. */
        reap(f);
        if (now_s() != last_tick) {
            last_tick = now_s();
            tick(f);
            reap(f);
        }
    }
    while (f->pubs) {
        struct pub *p = f->pubs;
        f->pubs = p->next;
        pub_free(f, p);
    }
    reap(f);
    return NULL;
}

/* ---- the other threads ---- */

static int post(struct fwd *f, struct cmd *c)
{
    uint64_t one = 1;

    pthread_mutex_lock(&f->lock);
    c->next = f->queue;
    f->queue = c;
    pthread_mutex_unlock(&f->lock);
    if (write(f->wakefd, &one, sizeof(one)) < 0)
        pl_err("forwarder: eventfd: %s", strerror(errno));
    pthread_mutex_lock(&f->lock);
    while (!c->done)
        pthread_cond_wait(&f->cond, &f->lock);
    pthread_mutex_unlock(&f->lock);
    return c->ret;
}

int fwd_publish(struct fwd *f, const char *key, const char *netns_path, const char *container_ip,
                struct pm_binding *b, size_t n, char err[NET_ERR_MAX])
{
    struct cmd c = { .type = CMD_PUBLISH, .key = key, .netns_path = netns_path,
                     .container_ip = container_ip, .b = b, .n = n, .err = err };

    return post(f, &c);
}

void fwd_unpublish(struct fwd *f, const char *key)
{
    struct cmd c = { .type = CMD_UNPUBLISH, .key = key };

    if (f)
        post(f, &c);
}

static void fwd_free(struct fwd *f)
{
    close_fd(&f->epfd);
    close_fd(&f->wakefd);
    close_fd(&f->host_netns);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->cond);
    free(f);
}

int fwd_start(struct fwd **out)
{
    struct fwd *f = calloc(1, sizeof(*f));
    int ret;

    if (!f)
        return -ENOMEM;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    f->wake = (struct handle){ K_WAKE, NULL };
    f->epfd = epoll_create1(EPOLL_CLOEXEC);
    f->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    f->host_netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (f->epfd < 0 || f->wakefd < 0 || f->host_netns < 0) {
        ret = -errno;
        goto fail;
    }
    if ((ret = ep_add(f, f->wakefd, &f->wake, EPOLLIN)))
        goto fail;
    if ((ret = -pthread_create(&f->thread, NULL, fwd_thread, f)))
        goto fail;
    *out = f;
    return 0;
fail:
    fwd_free(f);
    return ret;
}

void fwd_stop(struct fwd *f)
{
    struct cmd c = { .type = CMD_STOP };

    if (!f)
        return;
    post(f, &c);
    pthread_join(f->thread, NULL);
    fwd_free(f);
}
