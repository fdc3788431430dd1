/* harden.c - keys out of core dumps, fd limit raised; see harden.h. */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "wgcore/harden.h"

int wg_harden_no_dump(void)
{
    /* Not dumpable also means no core even with RLIMIT_CORE unlimited and
     * a core_pattern pipe (the kernel honours suid_dumpable=0 by default). */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return -errno;
    return 0;
}

int wg_raise_fd_limit(unsigned long *limit)
{
    struct rlimit rl;
    int err = 0;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = { .rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max };

        if (setrlimit(RLIMIT_NOFILE, &want) < 0)
            err = -errno;
        else
            rl = want;
    }
    *limit = rl.rlim_cur == RLIM_INFINITY ? (unsigned long)-1 : (unsigned long)rl.rlim_cur;
    return err;
}
