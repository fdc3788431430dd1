/* fdbudget.c - fd limit raised at start, checked before each Join; see
 * fdbudget.h. */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "plugin/fdbudget.h"
#include "plugin/log.h"
#include "wgcore/harden.h"

/* Open descriptors of this process, or -1 if /proc is not readable. */
static long fds_in_use(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    long n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;   /* the directory's own fd */
}

static unsigned long soft_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return (unsigned long)-1;
    return (unsigned long)rl.rlim_cur;
}

unsigned long fdbudget_init(unsigned long *capacity)
{
    unsigned long limit;
    long used = fds_in_use();
    int err = wg_raise_fd_limit(&limit);

    if (err)
        pl_err("cannot raise the open file limit: %s", strerror(-err));
    if (used < 0)
        used = 0;
    *capacity = 0;
    if (limit > (unsigned long)used + FDBUDGET_HEADROOM)
        *capacity = (limit - (unsigned long)used - FDBUDGET_HEADROOM) / FDBUDGET_PER_ENDPOINT;
    if (!*capacity)
        pl_err("open file limit %lu leaves no room for containers: raise LimitNOFILE", limit);
    return limit;
}

int fdbudget_check_join(char err[NET_ERR_MAX])
{
    unsigned long limit = soft_limit();
    long used = fds_in_use();

    if (used < 0 || limit == (unsigned long)-1)
        return 0;   /* cannot tell: let the kernel decide */
    if ((unsigned long)used + FDBUDGET_PER_ENDPOINT + FDBUDGET_HEADROOM <= limit)
        return 0;
    pl_err("Join refused: %ld of %lu file descriptors in use", used, limit);
    return net_fail(err, "the plugin is at its open file limit (%ld of %lu descriptors in use, "
                    "%d per container): raise LimitNOFILE of wgvsock-plugin, or stop "
                    "containers on wgvsock networks", used, limit, FDBUDGET_PER_ENDPOINT);
}
