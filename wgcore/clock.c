/* clock.c - monotonic "now" and the wall clock at a monotonic instant. */
#include <time.h>

#include "wgcore/clock.h"

#define NSEC_PER_SEC 1000000000ull

uint64_t wg_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t wg_clock_realtime(void *ctx, uint64_t now)
{
    struct timespec ts;
    int64_t real, delta;

    (void)ctx;
    clock_gettime(CLOCK_REALTIME, &ts);
    real = (int64_t)ts.tv_sec * (int64_t)NSEC_PER_SEC + ts.tv_nsec;
    /* now is "monotonic now" as the device saw it (or a test's clock):
     * shift the wall clock by the same distance. */
    delta = (int64_t)(wg_now() - now);
    return (uint64_t)(real - delta);
}
