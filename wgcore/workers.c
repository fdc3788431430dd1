/* workers.c - see workers.h.
 *
 * Queue: a FIFO of jobs that still have unclaimed slices, under one mutex.
 * A slice is claimed under the lock and a job leaves the queue when its last
 * slice is claimed, so a worker never touches a job that may already be
 * finished and reused.  Completion is counted per packet in job->remaining;
 * the owner sleeps on that word with a futex, so finishing a job wakes only
 * the one thread that waits for it.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "wgcore/thread.h"
#include "wgcore/workers.h"

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define cpu_relax() __asm__ __volatile__("" ::: "memory")
#endif

struct wg_workers {
    pthread_mutex_t lock;
    pthread_cond_t cond;            /* work queued or stop */
    struct wg_job *head, *tail;
    bool stop;
    unsigned n;
    pthread_t threads[WG_WORKERS_MAX];
};

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wg_workers *shared;
static unsigned shared_refs;

static void futex_wait(uint32_t *addr, uint32_t val)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(uint32_t *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Under w->lock: claim the next slice of job, unlinking it from the queue
 * when that was its last one.  Returns the slice length (0: none left). */
static unsigned claim(struct wg_workers *w, struct wg_job *job, unsigned *start)
{
    unsigned k;

    if (job->next >= job->n)
        return 0;
    *start = job->next;
    k = job->n - job->next < job->chunk ? job->n - job->next : job->chunk;
    job->next += k;
    if (job->next >= job->n) {
        struct wg_job **pp = &w->head, *prev = NULL;

        while (*pp && *pp != job) {
            prev = *pp;
            pp = &(*pp)->qnext;
        }
        if (*pp) {
            *pp = job->qnext;
            if (w->tail == job)
                w->tail = prev;
        }
        job->qnext = NULL;
    }
    return k;
}

static void run_slice(struct wg_job *job, unsigned start, unsigned k)
{
    job->fn(job->pkts + start, k);
    /* Release: the owner reads the packets after seeing remaining == 0. */
    if (__atomic_sub_fetch(&job->remaining, k, __ATOMIC_RELEASE) == 0)
        futex_wake(&job->remaining);
}

static void *worker_main(void *arg)
{
    struct wg_workers *w = arg;

    pthread_setname_np(pthread_self(), "wg-crypt");
    pthread_mutex_lock(&w->lock);
    for (;;) {
        struct wg_job *job;
        unsigned start = 0, k;

        while (!w->head && !w->stop)
            pthread_cond_wait(&w->cond, &w->lock);
        if (!w->head)
            break;                  /* stop, and the queue is drained */
        job = w->head;
        k = claim(w, job, &start);
        pthread_mutex_unlock(&w->lock);
        if (k)
            run_slice(job, start, k);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int wg_workers_create(unsigned n, struct wg_workers **out)
{
    struct wg_workers *w = calloc(1, sizeof(*w));
    int err;

    if (!w)
        return -ENOMEM;
    if (n > WG_WORKERS_MAX)
        n = WG_WORKERS_MAX;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    for (w->n = 0; w->n < n; w->n++) {
        err = wg_thread_start(&w->threads[w->n], worker_main, w);
        if (err) {
            wg_workers_destroy(w);
            return err;
        }
    }
    *out = w;
    return 0;
}

void wg_workers_destroy(struct wg_workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    for (unsigned i = 0; i < w->n; i++)
        pthread_join(w->threads[i], NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

unsigned wg_workers_count(const struct wg_workers *w)
{
    return w ? w->n : 0;
}

static unsigned default_count(void)
{
    const char *env = getenv("WGVSOCK_WORKERS");
    long cpus;

    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);

        if (!*end && v >= 0)
            return v > (long)WG_WORKERS_MAX ? WG_WORKERS_MAX : (unsigned)v;
    }
    cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus <= 1)
        return 0;
    return cpus > (long)WG_WORKERS_MAX ? WG_WORKERS_MAX : (unsigned)cpus;
}

struct wg_workers *wg_workers_get(void)
{
    struct wg_workers *w = NULL;

    pthread_mutex_lock(&shared_lock);
    if (!shared && wg_workers_create(default_count(), &shared))
        shared = NULL;
    if (shared) {
        shared_refs++;
        w = shared;
    }
    pthread_mutex_unlock(&shared_lock);
    return w;
}

void wg_workers_put(struct wg_workers *w)
{
    struct wg_workers *gone = NULL;

    if (!w)
        return;
    pthread_mutex_lock(&shared_lock);
    if (w == shared && !--shared_refs) {
        gone = shared;
        shared = NULL;
    }
    pthread_mutex_unlock(&shared_lock);
    wg_workers_destroy(gone);
}

void wg_workers_submit(struct wg_workers *w, struct wg_job *job, wg_work_fn fn,
                       struct wg_pkt *pkts, unsigned n)
{
    unsigned parts;

    job->fn = fn;
    job->pkts = pkts;
    job->n = n;
    job->next = 0;
    job->qnext = NULL;
    if (!w || !w->n || n <= WG_WORK_MIN_CHUNK) {
        /* Handing a tiny batch to another CPU costs more than it saves
         * (and ping latency would pay for the wake-up). */
        if (n)
            fn(pkts, n);
        job->next = n;
        __atomic_store_n(&job->remaining, 0, __ATOMIC_RELEASE);
        return;
    }
    /* Slices for every worker plus the owner, who helps when it waits. */
    parts = w->n + 1;
    job->chunk = (n + parts - 1) / parts;
    if (job->chunk < WG_WORK_MIN_CHUNK)
        job->chunk = WG_WORK_MIN_CHUNK;
    parts = (n + job->chunk - 1) / job->chunk;
    __atomic_store_n(&job->remaining, n, __ATOMIC_RELAXED);
    pthread_mutex_lock(&w->lock);
    if (w->tail)
        w->tail->qnext = job;
    else
        w->head = job;
    w->tail = job;
    /* The owner will take one slice itself. */
    for (unsigned i = 1; i < parts && i <= w->n; i++)
        pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

bool wg_job_done(const struct wg_job *job)
{
    return __atomic_load_n(&job->remaining, __ATOMIC_ACQUIRE) == 0;
}

void wg_workers_wait(struct wg_workers *w, struct wg_job *job)
{
    uint32_t left;

    while (w && !wg_job_done(job)) {
        unsigned start = 0, k;

        pthread_mutex_lock(&w->lock);
        k = claim(w, job, &start);
        pthread_mutex_unlock(&w->lock);
        if (!k)
            break;
        run_slice(job, start, k);
    }
    /* Every slice is claimed; the rest run elsewhere.  Spin a little (a
     * slice is microseconds), then sleep on the counter. */
    for (int spin = 0; spin < 200 && !wg_job_done(job); spin++)
        cpu_relax();
    while ((left = __atomic_load_n(&job->remaining, __ATOMIC_ACQUIRE)) != 0)
        futex_wait(&job->remaining, left);
}
