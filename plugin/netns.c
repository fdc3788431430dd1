/* netns.c - see netns.h.
 *
 * A network namespace lives as long as a process is in it, a file is
 * bind-mounted on it (ip netns, Docker's sandbox keys) or an fd holds it.
 * The first two are found here: /proc/PID/ns/net of every process, and the
 * nsfs mounts of every mount namespace (/proc/PID/mountinfo), opened
 * through /proc/PID/root so that mounts we do not see ourselves (dockerd in
 * a mount namespace of its own, the plugin in a managed plugin's) count too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/nsfs.h>

#include "plugin/netns.h"

int netns_open_path(const char *path)
{
    struct statfs sf;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (fstatfs(fd, &sf) || sf.f_type != NSFS_MAGIC ||
        ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
        close(fd);
        return -EINVAL;
    }
    return fd;
}

struct ns_set {
    struct { dev_t dev; ino_t ino; } *v;
    size_t n, cap;
};

/* true if st was new (and is now in the set); false if seen or no memory. */
static bool ns_add(struct ns_set *s, const struct stat *st)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].ino == st->st_ino && s->v[i].dev == st->st_dev)
            return false;
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        void *nv = realloc(s->v, ncap * sizeof(*s->v));

        if (!nv)
            return false;
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->n].dev = st->st_dev;
    s->v[s->n].ino = st->st_ino;
    s->n++;
    return true;
}

/* Calls fn(ctx, pid) for one process of each distinct namespace of type
 * ns ("net", "mnt") until fn returns non-zero, which is returned. */
static int each_ns_of(const char *ns, int (*fn)(void *ctx, const char *pid), void *ctx)
{
    struct ns_set seen = { 0 };
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
        if (stat(path, &st) || !ns_add(&seen, &st))
            continue;
        ret = fn(ctx, de->d_name);
    }
    closedir(d);
    free(seen.v);
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
    struct ns_set seen;
};

/* fd is a network namespace: fn, unless seen already.  Closes fd. */
static int visit(struct each_ctx *c, int fd)
{
    struct stat st;
    int ret = 0;

    if (!fstat(fd, &st) && ns_add(&c->seen, &st))
        ret = c->fn(c->ctx, fd);
    close(fd);
    return ret;
}

static int visit_process(void *ctx, const char *pid)
{
    char path[64];
    int fd;

    snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? 0 : visit(ctx, fd);     /* < 0: exited meanwhile */
}

static int visit_mounts(void *ctx, const char *pid)
{
    char path[4200], line[4096];
    FILE *f;
    int ret = 0;

    snprintf(path, sizeof(path), "/proc/%s/mountinfo", pid);
    f = fopen(path, "re");
    if (!f)
        return 0;
    while (!ret && fgets(line, sizeof(line), f)) {
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE ... */
        char mnt[2048], *sep = strstr(line, " - ");
        int fd;

        if (!sep || strncmp(sep + 3, "nsfs ", 5) ||
            sscanf(line, "%*s %*s %*s %*s %2047s", mnt) != 1 || strchr(mnt, '\\'))
            continue;
        if (snprintf(path, sizeof(path), "/proc/%s/root%s", pid, mnt) >= (int)sizeof(path))
            continue;
        fd = netns_open_path(path);
        if (fd >= 0)
            ret = visit(ctx, fd);
    }
    fclose(f);
    return ret;
}

int netns_each(int (*fn)(void *ctx, int netns_fd), void *ctx)
{
    struct each_ctx c = { fn, ctx, { 0 } };
    int ret = each_ns_of("net", visit_process, &c);

    if (!ret)
        ret = each_ns_of("mnt", visit_mounts, &c);
    free(c.seen.v);
    return ret;
}
