/* forward_relay.c - the published ports' data path (see forward.h): one TCP
 * connection is two sockets and a pipe per direction, bytes moved with
 * splice() and never copied to user space; one UDP client is a connected
 * socket on the container's side.  The container-side socket is created in
 * the container's network namespace and connects to its own address.
 *
 * Closed objects go to the forwarder's dead lists and are freed after the
 * epoll batch (forward.c), so a later event of the same batch never touches
 * freed memory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "plugin/forward_relay.h"
#include "plugin/log.h"
#include "plugin/netns.h"

time_t relay_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

void relay_close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* A socket of the container's network namespace: enter it, create, leave. */
int relay_socket_in(struct fwd *f, struct pub *p, int type)
{
    int fd, saved;

    if (p->netns < 0) {
        /* Also through other mount namespaces (/proc/PID/root): dockerd's
         * own, seen from a managed plugin ("pidhost"). */
        p->netns = netns_open_sandbox(p->netns_path);
        if (p->netns < 0) {
            saved = -p->netns;
            if (!p->netns_warned)
                pl_err("forwarder: cannot open the container's network namespace %s: %s%s",
                       p->netns_path, strerror(saved), saved == EACCES || saved == EPERM ?
                       " (a managed plugin needs CAP_SYS_PTRACE and pidhost)" : "");
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

int relay_epoll_add(struct fwd *f, int fd, struct handle *h, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = h };

    return epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

void relay_conn_close(struct fwd *f, struct conn *c, bool reset)
{
    if (c->dead)
        return;
    c->dead = true;
    if (reset) {
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(c->a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    relay_close_fd(&c->a);
    relay_close_fd(&c->b);
    relay_close_fd(&c->ab[0]);
    relay_close_fd(&c->ab[1]);
    relay_close_fd(&c->ba[0]);
    relay_close_fd(&c->ba[1]);
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

void relay_conn_event(struct fwd *f, struct conn *c)
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
            relay_conn_close(f, c, true);
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
        relay_conn_close(f, c, true);
        return;
    }
    if (c->a_shut && c->b_shut)
        relay_conn_close(f, c, false);
}

static int new_pipe(int p[2])
{
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC))
        return -errno;
    /* Bigger than the default 64 KiB; the kernel may cap it (pipe-max-size). */
    fcntl(p[1], F_SETPIPE_SZ, FWD_PIPE_SIZE);
    return 0;
}

void relay_tcp_accept(struct fwd *f, struct listener *l)
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
        c->b = relay_socket_in(f, l->pub, SOCK_STREAM);
        if (c->b < 0 || new_pipe(c->ab) || new_pipe(c->ba) ||
            (connect(c->b, (struct sockaddr *)&dst, sizeof(dst)) && errno != EINPROGRESS) ||
            relay_epoll_add(f, c->a, &c->ha, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) ||
            relay_epoll_add(f, c->b, &c->hb, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
            pl_debug("forwarder: port %u/tcp: cannot reach the container: %s", l->b.host_port,
                     strerror(errno));
            relay_conn_close(f, c, true);
        }
    }
}

void relay_flow_close(struct fwd *f, struct flow *fl)
{
    if (fl->dead)
        return;
    fl->dead = true;
    relay_close_fd(&fl->fd);
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
    fl->fd = relay_socket_in(f, l->pub, SOCK_DGRAM);
    if (fl->fd < 0 || connect(fl->fd, (struct sockaddr *)&dst, sizeof(dst)) ||
        relay_epoll_add(f, fl->fd, &fl->h, EPOLLIN)) {
        pl_debug("forwarder: port %u/udp: cannot reach the container: %s", l->b.host_port,
                 strerror(errno));
        relay_flow_close(f, fl);
        return NULL;
    }
    return fl;
}

void relay_udp_from_client(struct fwd *f, struct listener *l)
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
        fl->last = relay_now();
        send(fl->fd, buf, (size_t)r, 0);
    }
}

void relay_udp_from_container(struct fwd *f, struct flow *fl)
{
    static char buf[65536];

    for (int i = 0; i < 64 && !fl->dead; i++) {
        ssize_t r = recv(fl->fd, buf, sizeof(buf), 0);

        if (r < 0) {
            if (errno == EAGAIN)
                return;
            continue;   /* ECONNREFUSED: nothing listens yet; the client may retry */
        }
        fl->last = relay_now();
        sendto(fl->l->fd, buf, (size_t)r, 0, (struct sockaddr *)&fl->client, fl->client_len);
    }
}
