/* test_wg_workers.c - the packet pool and the crypto worker pool: every
 * buffer handed out once, foreign pointers refused; every packet of every
 * job processed exactly once, jobs completing while their owner does other
 * work, many owners sharing one pool, the inline (no worker) mode, and the
 * shared pool's reference counting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <cmocka.h>

#include "wgcore/pktpool.h"
#include "wgcore/workers.h"
#include "wgcore/transport.h"

static void test_pool(void **state)
{
    struct wg_pktpool *p;
    uint8_t *a[100], *b[100], junk[16];

    assert_int_equal(wg_pktpool_create(0, &p), -EINVAL);
    assert_int_equal(wg_pktpool_create(100, &p), 0);
    assert_int_equal(wg_pktpool_size(p), 100);
    assert_int_equal(wg_pktpool_get(p, a, 60), 60);
    assert_int_equal(wg_pktpool_get(p, b, 60), 40);        /* only 40 left */
    assert_int_equal(wg_pktpool_get(p, b + 40, 1), 0);
    assert_int_equal(wg_pktpool_available(p), 0);
    /* Every buffer distinct, WG_PKT_CAP usable bytes, no overlap. */
    for (int i = 0; i < 60; i++)
        memset(a[i], i, WG_PKT_CAP);
    for (int i = 0; i < 40; i++)
        memset(b[i], 100 + i, WG_PKT_CAP);
    for (int i = 0; i < 60; i++)
        assert_int_equal(a[i][0], i), assert_int_equal(a[i][WG_PKT_CAP - 1], i);
    for (int i = 0; i < 40; i++)
        assert_int_equal(b[i][WG_PKT_CAP - 1], 100 + i);
    wg_pktpool_put(p, a, 60);
    assert_int_equal(wg_pktpool_available(p), 60);
    /* Foreign and misaligned pointers are refused, not pooled. */
    uint8_t *bad[2] = { junk, a[0] + 1 };
    wg_pktpool_put(p, bad, 2);
    assert_int_equal(wg_pktpool_available(p), 60);
    wg_pktpool_put(p, b, 40);
    assert_int_equal(wg_pktpool_available(p), 100);
    /* Over-return (double free) cannot overflow the stack. */
    wg_pktpool_put(p, b, 1);
    assert_int_equal(wg_pktpool_available(p), 100);
    wg_pktpool_destroy(p);
}

/* The "crypto": mark each packet, count calls per packet. */
static void work_fn(struct wg_pkt *pkts, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        __atomic_add_fetch(&pkts[i].counter, 1, __ATOMIC_RELAXED);
        pkts[i].verdict = WG_PKT_SEND;
        /* some real work so slices overlap in time */
        volatile uint32_t x = 0;
        for (int j = 0; j < 2000; j++)
            x += (uint32_t)j * pkts[i].len;
    }
}

static void run_jobs(struct wg_workers *w, unsigned njobs, unsigned batch)
{
    /* A pipeline like the TX thread's: up to 4 jobs in flight, finished in
     * submission order. */
    struct wg_job jobs[4];
    struct wg_pkt pkts[4][WG_BATCH_MAX];
    unsigned head = 0, tail = 0;

    assert_true(batch <= WG_BATCH_MAX);
    while (head < njobs) {
        if (tail < njobs && tail - head < 4) {
            struct wg_pkt *b = pkts[tail % 4];

            memset(b, 0, sizeof(pkts[0]));
            for (unsigned i = 0; i < batch; i++)
                b[i].len = i + tail;
            wg_workers_submit(w, &jobs[tail % 4], work_fn, b, batch);
            tail++;
            continue;
        }
        wg_workers_wait(w, &jobs[head % 4]);
        assert_true(wg_job_done(&jobs[head % 4]));
        for (unsigned i = 0; i < batch; i++) {
            assert_int_equal(pkts[head % 4][i].counter, 1);
            assert_int_equal(pkts[head % 4][i].verdict, WG_PKT_SEND);
        }
        head++;
    }
}

static void test_inline(void **state)
{
    struct wg_workers *w;
    struct wg_job job;
    struct wg_pkt pkts[WG_BATCH_MAX];

    assert_int_equal(wg_workers_create(0, &w), 0);
    assert_int_equal(wg_workers_count(w), 0);
    memset(pkts, 0, sizeof(pkts));
    wg_workers_submit(w, &job, work_fn, pkts, WG_BATCH_MAX);
    /* No workers: done by the time submit returns. */
    assert_true(wg_job_done(&job));
    for (int i = 0; i < WG_BATCH_MAX; i++)
        assert_int_equal(pkts[i].counter, 1);
    run_jobs(w, 50, WG_BATCH_MAX);
    run_jobs(NULL, 5, 7);
    wg_workers_destroy(w);
}

static void test_parallel(void **state)
{
    struct wg_workers *w;

    assert_int_equal(wg_workers_create(3, &w), 0);
    assert_int_equal(wg_workers_count(w), 3);
    run_jobs(w, 500, WG_BATCH_MAX);
    run_jobs(w, 200, 1);
    run_jobs(w, 200, WG_WORK_MIN_CHUNK + 1);
    run_jobs(w, 200, 33);
    wg_workers_destroy(w);
}

static void *owner_thread(void *arg)
{
    run_jobs(arg, 300, WG_BATCH_MAX);
    run_jobs(arg, 300, 9);
    return NULL;
}

static void test_many_owners(void **state)
{
    struct wg_workers *w;
    pthread_t t[6];

    assert_int_equal(wg_workers_create(2, &w), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(pthread_create(&t[i], NULL, owner_thread, w), 0);
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    wg_workers_destroy(w);
}

static void test_completes_without_waiting(void **state)
{
    struct wg_workers *w;
    struct wg_job job;
    struct wg_pkt pkts[WG_BATCH_MAX];

    /* The owner never helps: workers alone must finish the job. */
    assert_int_equal(wg_workers_create(2, &w), 0);
    memset(pkts, 0, sizeof(pkts));
    wg_workers_submit(w, &job, work_fn, pkts, WG_BATCH_MAX);
    for (int i = 0; i < 5000 && !wg_job_done(&job); i++)
        usleep(1000);
    assert_true(wg_job_done(&job));
    for (int i = 0; i < WG_BATCH_MAX; i++)
        assert_int_equal(pkts[i].counter, 1);
    wg_workers_destroy(w);
}

static void test_shared(void **state)
{
    struct wg_workers *a, *b;

    setenv("WGVSOCK_WORKERS", "2", 1);
    a = wg_workers_get();
    b = wg_workers_get();
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_int_equal(wg_workers_count(a), 2);
    run_jobs(a, 20, WG_BATCH_MAX);
    wg_workers_put(b);
    run_jobs(a, 20, WG_BATCH_MAX);     /* still alive: one reference left */
    wg_workers_put(a);
    setenv("WGVSOCK_WORKERS", "0", 1);
    a = wg_workers_get();              /* a fresh pool with the new count */
    assert_non_null(a);
    assert_int_equal(wg_workers_count(a), 0);
    wg_workers_put(a);
    unsetenv("WGVSOCK_WORKERS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_parallel),
        cmocka_unit_test(test_many_owners),
        cmocka_unit_test(test_completes_without_waiting),
        cmocka_unit_test(test_shared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
