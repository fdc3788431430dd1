/* server.c - libmicrohttpd on a unix socket we create ourselves.
 *
 * dockerd sends every call as POST with a JSON body ending in a newline,
 * no Content-Type and keeps connections alive; the body is collected (up to
 * SERVER_BODY_MAX) and handed to routes_handle() once complete.  Idle or
 * slow connections are closed after SERVER_IDLE_TIMEOUT_S; how many may be
 * open follows the fd limit (connection_limit).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#include "plugin/log.h"
#include "plugin/routes.h"
#include "plugin/server.h"

#define SERVER_IDLE_TIMEOUT_S 30u
#define SERVER_CONNECTIONS_MAX 1024u

struct server {
    struct MHD_Daemon *mhd;
    struct plugin *plugin;
    char *path;
    dev_t dev;              /* identity of our socket file, to remove only ours */
    ino_t ino;
};

struct request {
    char *body;
    size_t len, cap;
    bool too_large;
};

static int mkdir_p(const char *dir)
{
    char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
    size_t len = strlen(dir);

    if (len >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, dir, len + 1);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) && errno != EEXIST)
                return -errno;
            if (!c)
                break;
            *p = c;
        }
    }
    return 0;
}

/* Each connection is a thread and a descriptor: a quarter of the fd limit
 * at most (the rest is for containers' devices), up to
 * SERVER_CONNECTIONS_MAX - far more than dockerd opens, so a few hundred
 * stuck connections never lock Docker out while the timeout clears them. */
static unsigned connection_limit(void)
{
    struct rlimit rl;
    rlim_t n = SERVER_CONNECTIONS_MAX;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 4 < n)
        n = rl.rlim_cur / 4;
    return n < 16 ? 16u : (unsigned)n;
}

int server_listen_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct stat st;
    char *dir, *slash;
    int fd, ret;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "socket path %s is too long", path);
        return -ENAMETOOLONG;
    }
    strcpy(sun.sun_path, path);
    dir = strdup(path);
    if (!dir)
        return -ENOMEM;
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if ((ret = mkdir_p(dir))) {
            snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-ret));
            free(dir);
            return ret;
        }
    }
    free(dir);

    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket; not replacing it", path);
            return -EEXIST;
        }
        /* A socket file: live (another instance answers) or stale. */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ? -errno : 0;
        close(fd);
        if (ret == 0) {
            snprintf(err, errlen, "another instance is already listening on %s", path);
            return -EADDRINUSE;
        }
        if (ret != -ECONNREFUSED && ret != -ENOENT) {
            snprintf(err, errlen, "cannot probe existing socket %s: %s", path, strerror(-ret));
            return ret;
        }
        if (unlink(path) && errno != ENOENT) {
            ret = -errno;
            snprintf(err, errlen, "cannot remove stale socket %s: %s", path, strerror(errno));
            return ret;
        }
        pl_info("replaced stale socket %s", path);
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ret = -errno;
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return ret;
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || chmod(path, 0660) ||
        listen(fd, 128)) {
        ret = -errno;
        snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
        close(fd);
        return ret;
    }
    return fd;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct route_reply *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ok;

    if (!r->body)
        return MHD_NO;      /* out of memory: drop the connection */
    resp = MHD_create_response_from_buffer(strlen(r->body), r->body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        route_reply_free(r);
        return MHD_NO;
    }
    r->body = NULL;         /* owned by the response now */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, PLUGIN_CONTENT_TYPE);
    ok = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static void reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    struct route_reply r = { .status = status };
    size_t n = strlen(msg) + 16;

    r.body = malloc(n);
    if (r.body)
        snprintf(r.body, n, "{\"Err\":\"%s\"}\n", msg);   /* msg: our constants, no quotes */
    send_reply(c, &r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct server *s = cls;
    struct request *req = *con_cls;
    struct route_reply r = { 0 };

    if (!req) {
        req = calloc(1, sizeof(*req));
        if (!req)
            return MHD_NO;
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;

        *upload_size = 0;
        if (req->too_large || req->len + n > SERVER_BODY_MAX) {
            req->too_large = true;
            return MHD_YES;     /* keep reading, answer 413 at the end */
        }
        if (req->len + n + 1 > req->cap) {
            size_t cap = req->cap ? req->cap : 4096;
            char *nb;
            while (cap < req->len + n + 1)
                cap *= 2;
            nb = realloc(req->body, cap);
            if (!nb)
                return MHD_NO;
            req->body = nb;
            req->cap = cap;
        }
        memcpy(req->body + req->len, upload_data, n);
        req->len += n;
        return MHD_YES;
    }

    if (strcmp(method, MHD_HTTP_METHOD_POST)) {
        reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "wgvsock plugin: use POST");
        return MHD_YES;
    }
    if (req->too_large) {
        reply_error(c, 413, "wgvsock plugin: request body too large");
        return MHD_YES;
    }
    routes_handle(s->plugin, url, req->body, req->len, &r);
    return send_reply(c, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct request *req = *con_cls;

    if (req) {
        /* The body may have held a seed (CreateNetwork -o wgvsock.seed). */
        if (req->body)
            memset(req->body, 0, req->cap);
        free(req->body);
        free(req);
        *con_cls = NULL;
    }
}

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];

    vsnprintf(buf, sizeof(buf), fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    pl_debug("http: %s", buf);
}

int server_start(struct plugin *p, const char *socket_path, struct server **out,
                 char *err, size_t errlen)
{
    struct server *s = calloc(1, sizeof(*s));
    struct stat st;
    int fd;

    if (!s || !(s->path = strdup(socket_path))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->plugin = p;
    fd = server_listen_unix(socket_path, err, errlen);
    if (fd < 0) {
        free(s->path);
        free(s);
        return fd;
    }
    if (stat(socket_path, &st) == 0) {
        s->dev = st.st_dev;
        s->ino = st.st_ino;
    }
    s->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                              MHD_USE_POLL | MHD_USE_ERROR_LOG,
                              0, NULL, NULL, on_request, s,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                              MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                              /* dockerd keeps connections open between calls
                               * and reconnects when we close an idle one; a
                               * client that holds one idle or sends slowly
                               * loses it after this long */
                              MHD_OPTION_CONNECTION_TIMEOUT, SERVER_IDLE_TIMEOUT_S,
                              MHD_OPTION_CONNECTION_LIMIT, connection_limit(),
                              MHD_OPTION_END);
    if (!s->mhd) {
        snprintf(err, errlen, "cannot start the HTTP server on %s", socket_path);
        close(fd);
        unlink(socket_path);
        free(s->path);
        free(s);
        return -EIO;
    }
    *out = s;
    return 0;
}

void server_stop(struct server *s)
{
    struct stat st;

    if (!s)
        return;
    MHD_stop_daemon(s->mhd);
    if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
        unlink(s->path);
    free(s->path);
    free(s);
}
