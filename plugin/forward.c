/* forward.c - the published-port forwarder (see forward.h): its thread, the
 * commands other threads post (publish, unpublish, stop), the listening
 * sockets on the host side; the relays themselves are forward_relay.c.
 *
 * Everything runs on the forwarder's thread, except fwd_publish/
 * fwd_unpublish/fwd_stop, which queue a command and wait for it.  Objects
 * closed while handling one epoll batch are only freed after the batch, so
 * a later event of the same batch never touches freed memory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "plugin/forward_relay.h"
#include "plugin/log.h"

/* ---- publish / unpublish (on the forwarder's thread) ---- */

static void pub_free(struct fwd *f, struct pub *p)
{
    while (p->conns)
        relay_conn_close(f, p->conns, true);
    while (p->flows)
        relay_flow_close(f, p->flows);
    while (p->ls) {
        struct listener *l = p->ls;
        p->ls = l->next;
        relay_close_fd(&l->fd);
        l->dead = true;
        l->next = f->dead_ls;
        f->dead_ls = l;
    }
    relay_close_fd(&p->netns);
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
    if (relay_epoll_add(f, fd, &l->h, EPOLLIN))
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
    time_t now = relay_now();

    for (struct pub *p = f->pubs; p; p = p->next) {
        for (struct flow *fl = p->flows, *next; fl; fl = next) {
            next = fl->next;
            if (now - fl->last >= FWD_UDP_IDLE_S)
                relay_flow_close(f, fl);
        }
        for (struct listener *l = p->ls; l; l = l->next)
            if (l->paused && !relay_epoll_add(f, l->fd, &l->h, EPOLLIN))
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
    time_t last_tick = relay_now();

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
                    relay_tcp_accept(f, l);
                else
                    relay_udp_from_client(f, l);
                break;
            }
            case K_CONN_A:
            case K_CONN_B: relay_conn_event(f, h->obj); break;
            case K_FLOW: relay_udp_from_container(f, h->obj); break;
            }
        }
        /* Only now: a later event of the batch may name a closed object. */
        reap(f);
        if (relay_now() != last_tick) {
            last_tick = relay_now();
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
    relay_close_fd(&f->epfd);
    relay_close_fd(&f->wakefd);
    relay_close_fd(&f->host_netns);
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
    if ((ret = relay_epoll_add(f, f->wakefd, &f->wake, EPOLLIN)))
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
