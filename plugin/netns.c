/* netns.c - see netns.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "plugin/netns.h"

int netns_open_path(const char *path)
{
    struct statfs sf;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (fstatfs(fd, &sf) || sf.f_type != NSFS_MAGIC) {
        close(fd);
        return -EINVAL;
    }
    return fd;
}

struct ns_id {
    dev_t dev;
    ino_t ino;
};

static bool seen(const struct ns_id *ids, size_t n, const struct stat *st)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i].ino == st->st_ino && ids[i].dev == st->st_dev)
            return true;
    return false;
}

/* Calls fn(ctx, pid) for one process of each distinct namespace of type
 * ns ("net", "mnt") until fn returns non-zero, which is returned. */
static int each_ns_of(const char *ns, int (*fn)(void *ctx, const char *pid), void *ctx)
{
    struct ns_id *ids = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    DIR *d = opendir("/proc");
    int ret = 0;

    if (!d)
        return -errno;
    while (!ret && (de = readdir(d))) {
        char path[64];
        struct stat st;

        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%.20s/ns/%s", de->d_name, ns);
        /* stat follows the magic link to the namespace itself: cheap, and
         * most processes share a few namespaces. */
        if (stat(path, &st) || seen(ids, n, &st))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct ns_id *ni = realloc(ids, ncap * sizeof(*ni));

            if (!ni) {
                ret = -ENOMEM;
                break;
            }
            ids = ni;
            cap = ncap;
        }
        ids[n++] = (struct ns_id){ st.st_dev, st.st_ino };
        ret = fn(ctx, de->d_name);
    }
    closedir(d);
    free(ids);
    return ret;
}

struct sandbox_ctx {
    const char *path;
    int fd;
};

static int try_root(void *ctx, const char *pid)
{
    struct sandbox_ctx *c = ctx;
    char path[4200];

    if (snprintf(path, sizeof(path), "/proc/%s/root%s", pid, c->path) >= (int)sizeof(path))
        return 0;
    c->fd = netns_open_path(path);
    return c->fd >= 0;
}

int netns_open_sandbox(const char *path)
{
    struct sandbox_ctx c = { path, -1 };
    int fd = netns_open_path(path);

    if (fd >= 0 || *path != '/')
        return fd;
    /* /proc/PID/root resolves in that process's mount namespace. */
    if (each_ns_of("mnt", try_root, &c) == 1)
        return c.fd;
    return fd;
}

struct each_ctx {
    int (*fn)(void *ctx, int netns_fd);
    void *ctx;
};

static int open_net(void *ctx, const char *pid)
{
    struct each_ctx *c = ctx;
    char path[64];
    int fd, ret;

    snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;       /* exited meanwhile */
    ret = c->fn(c->ctx, fd);
    close(fd);
    return ret;
}

int netns_each(int (*fn)(void *ctx, int netns_fd), void *ctx)
{
    struct each_ctx c = { fn, ctx };

    return each_ns_of("net", open_net, &c);
}
