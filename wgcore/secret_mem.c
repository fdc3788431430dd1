/* secret_mem.c - mmap'ed, locked, undumpable key memory; see secret_mem.h. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <sodium.h>

#include "wgcore/secret_mem.h"
#include "wgcore/wgcore.h"

static size_t secret_span(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    return (size + page - 1) & ~(page - 1);
}

/* Once per process: a hub with many peers passes the limit every few
 * minutes, and the keys stay out of dumps anyway. */
static void log_mlock_failure_once(int err)
{
    static atomic_flag logged = ATOMIC_FLAG_INIT;
    struct rlimit rl;

    if (atomic_flag_test_and_set(&logged))
        return;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
        rl.rlim_cur = 0;
    wg_log(WG_LOG_DEBUG,
           "secret memory: mlock failed (%s, RLIMIT_MEMLOCK %llu bytes): keys past the limit "
           "may be swapped; they stay out of core dumps",
           strerror(err), (unsigned long long)rl.rlim_cur);
}

void *wg_secret_alloc(size_t size)
{
    size_t span = secret_span(size ? size : 1);
    void *mem = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (mem == MAP_FAILED)
        return NULL;
    /* Failures here leave a working buffer: only the protection is less. */
    (void)madvise(mem, span, MADV_DONTDUMP);
    if (mlock(mem, span) < 0)
        log_mlock_failure_once(errno);
    return mem;
}

void wg_secret_free(void *mem, size_t size)
{
    size_t span;

    if (!mem)
        return;
    span = secret_span(size ? size : 1);
    sodium_memzero(mem, span);
    (void)munlock(mem, span);
    (void)munmap(mem, span);
}
