/* control.c - the wg(8) control socket of one device.
 *
 * One thread per device serves every client with poll(): a client may send
 * several requests on one connection (as wg(8) and wireguard-go allow), and
 * a request may be megabytes long (wg setconf with tens of thousands of
 * allowed-ips), so input is buffered until the empty line that ends a
 * request, and answers are written without blocking.  While an answer is
 * pending the client's further input is not read (back-pressure, and
 * answers stay in request order).
 *
 * The socket file is created under a temporary name, chmod'ed 0600 and
 * renamed into place, so it is never reachable with looser permissions.
 * Deleting or replacing the file is wireguard-go's way to ask the daemon to
 * exit: inotify on the file (plus a once-a-second stat, the only check for
 * sockets beyond the first few of a process) notices it and calls the gone
 * callback.
 *
 * Request buffers may hold private keys; they are wiped before being freed
 * or reused, and so are answers (a "get" holds the private key).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "wgcore/control.h"
#include "wgcore/thread.h"
#include "wgcore/uapi_handle.h"

#define MAX_CLIENTS 64
#define MAX_REQUEST (64u << 20)    /* a setconf of ~1M allowed-ips still fits */
#define READ_CHUNK 65536
#define STAT_INTERVAL_MS 1000
#define ACCEPT_PAUSE_MS 100

struct client {
    int fd;
    bool eof, out_static;
    char *in;
    size_t in_len, in_cap, scanned;
    char *out;
    size_t out_len, out_off;
};

struct wg_control {
    struct wg_device *dev;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t st_dev;
    ino_t st_ino;
    int listen_fd, wake_fd, inotify_fd, inotify_wd;
    wg_control_gone_fn gone;
    void *ctx;
    bool gone_reported;
    pthread_t thread;
    unsigned n_clients;
    struct client clients[MAX_CLIENTS];
};

/* ---- clients ---- */

static void wipe_free(char *p, size_t len)
{
    if (p) {
        sodium_memzero(p, len);
        free(p);
    }
}

static void client_close(struct wg_control *c, unsigned i)
{
    struct client *cl = &c->clients[i];

    close(cl->fd);
    wipe_free(cl->in, cl->in_cap);
    if (!cl->out_static)
        wipe_free(cl->out, cl->out_len);
    c->clients[i] = c->clients[--c->n_clients];
}

/* Length of the first complete request in the buffer (through its empty
 * line), or 0.  Scanning resumes where the last call stopped, so a request
 * arriving in many small reads is still scanned once. */
static size_t complete_request(struct client *cl)
{
    size_t i = cl->scanned;

    if (cl->in_len && cl->in[0] == '\n')
        return 1;           /* an empty request: answered with EINVAL */
    if (i)
        i--;                /* the '\n' before may pair with a new one */
    for (; i + 1 < cl->in_len; i++) {
        char *nl = memchr(cl->in + i, '\n', cl->in_len - i - 1);

        if (!nl)
            break;
        i = (size_t)(nl - cl->in);
        if (cl->in[i + 1] == '\n')
            return i + 2;
    }
    cl->scanned = cl->in_len;
    return 0;
}

static void client_answer(struct client *cl, char *answer)
{
    static char enomem[] = "errno=-12\n\n";

    /* Out of memory: still answer, from static storage. */
    cl->out_static = !answer;
    cl->out = answer ? answer : enomem;
    cl->out_len = strlen(cl->out);
    cl->out_off = 0;
}

/* Handle the first complete request if there is one and no answer is
 * pending.  At EOF a partial request is answered with EINVAL. */
static void client_process(struct wg_control *c, struct client *cl)
{
    size_t n;

    if (cl->out)
        return;
    n = complete_request(cl);
    if (!n && cl->eof && cl->in_len)
        n = cl->in_len;     /* truncated: wg_uapi_handle says EINVAL */
    if (!n)
        return;
    client_answer(cl, wg_uapi_handle(c->dev, cl->in, n));
    sodium_memzero(cl->in, n);
    memmove(cl->in, cl->in + n, cl->in_len - n);
    cl->in_len -= n;
    sodium_memzero(cl->in + cl->in_len, n);
    cl->scanned = 0;
}

/* 0 to keep the client, -errno to drop it. */
static int client_read(struct client *cl)
{
    ssize_t r;

    if (cl->in_cap - cl->in_len < READ_CHUNK) {
        size_t cap = cl->in_cap ? cl->in_cap * 2 : READ_CHUNK;
        char *p;

        if (cap < cl->in_len + READ_CHUNK)
            cap = cl->in_len + READ_CHUNK;
        if (cl->in_len >= MAX_REQUEST)
            return -EMSGSIZE;
        /* malloc+copy rather than realloc: the old buffer may hold keys. */
        p = malloc(cap);
        if (!p)
            return -ENOMEM;
        if (cl->in_len)
            memcpy(p, cl->in, cl->in_len);
        wipe_free(cl->in, cl->in_cap);
        cl->in = p;
        cl->in_cap = cap;
    }
    r = recv(cl->fd, cl->in + cl->in_len, cl->in_cap - cl->in_len, MSG_DONTWAIT);
    if (r < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    if (r == 0)
        cl->eof = true;
    cl->in_len += (size_t)r;
    return 0;
}

static int client_write(struct client *cl)
{
    ssize_t w = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
                     MSG_DONTWAIT | MSG_NOSIGNAL);

    if (w < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    cl->out_off += (size_t)w;
    if (cl->out_off == cl->out_len) {
        if (!cl->out_static)
            wipe_free(cl->out, cl->out_len);
        cl->out = NULL;
        cl->out_len = cl->out_off = 0;
    }
    return 0;
}

/* ---- the socket file ---- */

static void check_gone(struct wg_control *c)
{
    struct stat st;

    if (c->gone_reported)
        return;
    if (stat(c->path, &st) == 0 && st.st_dev == c->st_dev && st.st_ino == c->st_ino)
        return;
    if (stat(c->path, &st) < 0 && errno != ENOENT && errno != ENOTDIR)
        return;     /* can't tell (EACCES, ...): don't shut a device down */
    c->gone_reported = true;
    wg_log(WG_LOG_VERBOSE, "%s: control socket %s was removed", wg_device_ifname(c->dev), c->path);
    if (c->gone)
        c->gone(c->ctx);
}

static void inotify_drain_fd(int fd)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

static void drain_inotify(struct wg_control *c)
{
    inotify_drain_fd(c->inotify_fd);
}

/* false when accepting must pause: out of file descriptors or memory leaves
 * the connection queued and the listener readable, and polling it again at
 * once would spin. */
static bool accept_clients(struct wg_control *c)
{
    for (;;) {
        int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0)
            return !(errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM);
        if (c->n_clients == MAX_CLIENTS) {
            close(fd);      /* wg(8) reports the failed read; we stay up */
            continue;
        }
        c->clients[c->n_clients++] = (struct client){ .fd = fd };
    }
}

static void *control_thread(void *arg)
{
    struct wg_control *c = arg;
    struct pollfd pfd[3 + MAX_CLIENTS];
    bool accept_paused = false;

    pthread_setname_np(pthread_self(), "wg-ctl");
    for (;;) {
        unsigned n = 0, base;
        int timeout = c->gone_reported ? -1 : STAT_INTERVAL_MS;

        if (accept_paused)
            timeout = ACCEPT_PAUSE_MS;
        pfd[n++] = (struct pollfd){ .fd = c->wake_fd, .events = POLLIN };
        pfd[n++] = (struct pollfd){ .fd = c->listen_fd, .events = accept_paused ? 0 : POLLIN };
        pfd[n++] = (struct pollfd){ .fd = c->inotify_fd, .events = POLLIN };
        base = n;
        for (unsigned i = 0; i < c->n_clients; i++) {
            struct client *cl = &c->clients[i];

            pfd[n++] = (struct pollfd){
                .fd = cl->fd,
                .events = cl->out ? POLLOUT : (cl->eof ? 0 : POLLIN),
            };
        }
        if (poll(pfd, n, timeout) < 0)
            continue;
        accept_paused = false;      /* one short pause, then try again */
        if (pfd[0].revents)
            break;
        if (pfd[2].revents)
            drain_inotify(c);
        /* Cheap, and covers a missed or unavailable inotify. */
        check_gone(c);

        /* Walk backwards: client_close moves the last client into slot i. */
        for (unsigned i = n - base; i-- > 0;) {
            struct client *cl = &c->clients[i];
            short ev = pfd[base + i].revents;

            if ((ev & (POLLERR | POLLNVAL)) ||
                ((ev & POLLIN) && client_read(cl) < 0) ||
                ((ev & POLLOUT) && client_write(cl) < 0)) {
                client_close(c, i);
                continue;
            }
            if (ev & POLLHUP && !(ev & POLLIN))
                cl->eof = true;
            client_process(c, cl);
            /* Try to send at once: most answers fit the socket buffer. */
            if (cl->out && client_write(cl) < 0) {
                client_close(c, i);
                continue;
            }
            client_process(c, cl);
            if (cl->eof && !cl->out && !cl->in_len)
                client_close(c, i);
        }
        if (pfd[1].revents & POLLIN)
            accept_paused = !accept_clients(c);
    }
    return NULL;
}

/* inotify instances are a per-user limit (128 by default) that dockerd and
 * systemd need too, and the plugin may host hundreds of devices: only the
 * first few control sockets of a process get one.  The rest (and any that
 * cannot) rely on the once-a-second stat, so a removal is still noticed.
 *
 * An instance is never closed while the process may need another: closing
 * one waits for an SRCU grace period in the kernel (fsnotify group
 * teardown, 15-30 ms here), and it was the largest part of a device's
 * destroy - of every `docker run --rm`.  Removing the watch is quick, so a
 * device gives its instance back to a spare list and the next one reuses it. */
#define MAX_INOTIFY_USERS 16
static atomic_int inotify_users;
static pthread_mutex_t inotify_spare_lock = PTHREAD_MUTEX_INITIALIZER;
static int inotify_spare[MAX_INOTIFY_USERS];
static unsigned n_inotify_spare;

/* An instance watching path, or -1; *wd gets the watch. */
static int watch_file(const char *path, int *wd)
{
    int fd = -1;

    if (atomic_fetch_add(&inotify_users, 1) >= MAX_INOTIFY_USERS) {
        atomic_fetch_sub(&inotify_users, 1);
        return -1;
    }
    pthread_mutex_lock(&inotify_spare_lock);
    if (n_inotify_spare)
        fd = inotify_spare[--n_inotify_spare];
    pthread_mutex_unlock(&inotify_spare_lock);
    if (fd >= 0)
        inotify_drain_fd(fd);       /* the old watch's IN_IGNORED */
    else
        fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd >= 0 && (*wd = inotify_add_watch(fd, path, IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)) < 0) {
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        atomic_fetch_sub(&inotify_users, 1);
    return fd;
}

static void unwatch_file(int fd, int wd)
{
    if (fd < 0)
        return;
    (void)inotify_rm_watch(fd, wd);     /* EINVAL if the file went: already removed */
    pthread_mutex_lock(&inotify_spare_lock);
    if (n_inotify_spare < MAX_INOTIFY_USERS)
        inotify_spare[n_inotify_spare++] = fd;
    else
        close(fd);
    pthread_mutex_unlock(&inotify_spare_lock);
    atomic_fetch_sub(&inotify_users, 1);
}

static int mkdir_p(const char *dir)
{
    char tmp[sizeof(((struct wg_control *)0)->path)];
    struct stat st;
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof(tmp))
        return -ENAMETOOLONG;
    memcpy(tmp, dir, len + 1);
    for (char *p = tmp + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char save = *p;

            *p = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -errno;
            *p = save;
            if (!save)
                break;
        }
    }
    if (stat(dir, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* A socket file at path: -EADDRINUSE if a server answers, 0 if it is stale
 * (or absent), -EEXIST if something that is not a socket sits there. */
static int probe_existing(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    int fd, r;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    /* EAGAIN: a live server with a full backlog. */
    r = (r == 0 || errno == EAGAIN || errno == EINPROGRESS) ? -EADDRINUSE : 0;
    close(fd);
    return r;
}

static int bind_socket(struct wg_control *c, const char *dir, const char *ifname)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char tmp[sizeof(sa.sun_path)];
    bool direct;
    int n;

    n = snprintf(tmp, sizeof(tmp), "%s/.%s.sock.new", dir, ifname);
    direct = n < 0 || (size_t)n >= sizeof(tmp);
    if (direct)
        memcpy(tmp, c->path, sizeof(tmp));  /* no room for a temporary name */

    c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->listen_fd < 0)
        return -errno;
    unlink(tmp);
    memcpy(sa.sun_path, tmp, strlen(tmp) + 1);
    if (bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    if (chmod(tmp, 0600) < 0 || listen(c->listen_fd, 128) < 0 ||
        (!direct && rename(tmp, c->path) < 0)) {
        int err = -errno;

        unlink(tmp);
        return err;
    }
    return 0;
}

int wg_control_open(struct wg_device *dev, const char *dir, const char *ifname,
                    wg_control_gone_fn gone, void *ctx, struct wg_control **out)
{
    struct wg_control *c;
    struct stat st;
    int err, n;

    if (!dev || !dir || !ifname || !out || !*ifname || strchr(ifname, '/') ||
        !strcmp(ifname, ".") || !strcmp(ifname, ".."))
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->dev = dev;
    c->gone = gone;
    c->ctx = ctx;
    c->listen_fd = c->wake_fd = c->inotify_fd = -1;

    n = snprintf(c->path, sizeof(c->path), "%s/%s.sock", dir, ifname);
    err = (n < 0 || (size_t)n >= sizeof(c->path)) ? -ENAMETOOLONG : 0;
    if (!err)
        err = mkdir_p(dir);
    if (!err)
        err = probe_existing(c->path);
    if (!err)
        err = bind_socket(c, dir, ifname);
    if (!err && stat(c->path, &st) < 0)
        err = -errno;
    if (err)
        goto fail;
    c->st_dev = st.st_dev;
    c->st_ino = st.st_ino;

    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->wake_fd < 0) {
        err = -errno;
        goto fail_unlink;
    }
    c->inotify_fd = watch_file(c->path, &c->inotify_wd);

    err = wg_thread_start(&c->thread, control_thread, c);
    if (err)
        goto fail_unlink;
    *out = c;
    return 0;

fail_unlink:
    unlink(c->path);
fail:
    if (c->listen_fd >= 0)
        close(c->listen_fd);
    if (c->wake_fd >= 0)
        close(c->wake_fd);
    unwatch_file(c->inotify_fd, c->inotify_wd);
    free(c);
    return err;
}

void wg_control_close(struct wg_control *c)
{
    struct stat st;
    uint64_t one = 1;

    if (!c)
        return;
    if (write(c->wake_fd, &one, sizeof(one)) != sizeof(one))
        wg_log(WG_LOG_ERROR, "control: cannot wake the control thread");
    pthread_join(c->thread, NULL);
    while (c->n_clients)
        client_close(c, c->n_clients - 1);
    close(c->listen_fd);
    /* Remove the file only if it is still ours, not a successor's. */
    if (stat(c->path, &st) == 0 && st.st_dev == c->st_dev && st.st_ino == c->st_ino)
        unlink(c->path);
    close(c->wake_fd);
    unwatch_file(c->inotify_fd, c->inotify_wd);
    free(c);
}

static void device_control_gone(void *ctx)
{
    wg_device_set_gone(ctx, "control socket removed");
}

int wg_control_open_for(struct wg_device *dev, const char *dir, struct wg_control **out)
{
    return wg_control_open(dev, dir, wg_device_ifname(dev), device_control_gone, dev, out);
}
