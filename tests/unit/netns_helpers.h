/* netns_helpers.h - named network namespaces for the device/TUN unit tests
 * (header-only, static).  Names carry a per-test tag and the pid so tests
 * run beside each other; every namespace made here is deleted at exit. */
#ifndef WGVSOCK_TEST_NETNS_HELPERS_H
#define WGVSOCK_TEST_NETNS_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define NSH_MAX 8
static char nsh_names[NSH_MAX][64];
static int nsh_count;
static int nsh_home = -1;       /* the namespace the test started in */

/* Runs a shell command; returns its exit status (-1 if it did not run). */
static int __attribute__((format(printf, 1, 2))) nsh_sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc))
        return -1;
    return WEXITSTATUS(rc);
}

static void nsh_cleanup(void)
{
    for (int i = 0; i < nsh_count; i++)
        nsh_sh("ip netns del %s 2>/dev/null", nsh_names[i]);
    nsh_count = 0;
}

/* Creates namespace "<tag><pid><suffix>" with lo up; name copied to out. */
static int nsh_add(const char *tag, const char *suffix, char out[64])
{
    if (nsh_home < 0) {
        nsh_home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        atexit(nsh_cleanup);
    }
    if (nsh_count >= NSH_MAX)
        return -1;
    snprintf(out, 64, "wgt-%s%d-%s", tag, (int)getpid(), suffix);
    if (nsh_sh("ip netns add %s && ip -n %s link set lo up", out, out))
        return -1;
    snprintf(nsh_names[nsh_count++], 64, "%s", out);
    return 0;
}

/* Moves the calling thread into a named namespace (NULL: back home). */
static inline int nsh_enter(const char *name)
{
    char path[128];
    int fd, rc;

    if (!name)
        return setns(nsh_home, CLONE_NEWNET);
    snprintf(path, sizeof(path), "/run/netns/%s", name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = setns(fd, CLONE_NEWNET);
    close(fd);
    return rc;
}

/* Inode of a named namespace (to compare with an fd's). */
static inline ino_t nsh_ino(const char *name)
{
    char path[128];
    struct stat st;

    snprintf(path, sizeof(path), "/run/netns/%s", name);
    return stat(path, &st) ? 0 : st.st_ino;
}

/* Does interface ifname exist in namespace ns? */
static inline int nsh_has_link(const char *ns, const char *ifname)
{
    return nsh_sh("ip -n %s link show dev %s >/dev/null 2>&1", ns, ifname) == 0;
}

#endif
