/* udp_rxloop.c - see udp_rxloop.h.
 *
 * Removal without use-after-free: a loop may hold a socket's event from an
 * epoll_wait that returned before the socket was removed.  So each loop
 * counts the batches of events it has finished (seq, under its lock), and
 * wg_rxloop_del, after EPOLL_CTL_DEL, wakes the loop (eventfd) and waits
 * until the batch running at that moment - or the next, which cannot
 * contain the socket any more - has finished.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "wgcore/thread.h"
#include "wgcore/udp_rxloop.h"

#define RXLOOP_EVENTS 64

struct wg_rxloop {
    int epfd, wakefd;
    pthread_t thread;
    bool stop;                      /* under lock */
    pthread_mutex_t lock;
    pthread_cond_t cond;            /* seq advanced */
    uint64_t seq;                   /* batches of events finished */
    unsigned n_entries;             /* under the set's lock */
    struct wg_rxloop_scratch scratch;
};

static pthread_mutex_t set_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wg_rxloop *loops[WG_RXLOOP_MAX];
static unsigned n_loops, n_entries, next_loop;

static void *loop_main(void *arg)
{
    struct wg_rxloop *l = arg;
    struct epoll_event evs[RXLOOP_EVENTS];

    pthread_setname_np(pthread_self(), "wg-udp-rx");
    for (;;) {
        int n = epoll_wait(l->epfd, evs, RXLOOP_EVENTS, -1);
        bool stop;

        for (int i = 0; i < n; i++) {
            struct wg_rxloop_entry *e = evs[i].data.ptr;

            if (!e) {
                uint64_t v;

                (void)!read(l->wakefd, &v, sizeof(v));
                continue;
            }
            e->ready(e, &l->scratch);
        }
        pthread_mutex_lock(&l->lock);
        l->seq++;
        pthread_cond_broadcast(&l->cond);
        stop = l->stop;
        pthread_mutex_unlock(&l->lock);
        if (stop)
            break;
    }
    return NULL;
}

static void loop_free(struct wg_rxloop *l)
{
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->wakefd >= 0)
        close(l->wakefd);
    if (l->scratch.bufs)
        munmap(l->scratch.bufs, (size_t)WG_BATCH_MAX * WG_RXLOOP_BUF);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
    free(l);
}

static int loop_new(struct wg_rxloop **out)
{
    struct wg_rxloop *l = calloc(1, sizeof(*l));
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    int err;

    if (!l)
        return -ENOMEM;
    errno = 0;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    /* Only pages a datagram touched cost memory. */
    l->scratch.bufs = mmap(NULL, (size_t)WG_BATCH_MAX * WG_RXLOOP_BUF, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (l->scratch.bufs == MAP_FAILED)
        l->scratch.bufs = NULL;
    if (l->epfd < 0 || l->wakefd < 0 || !l->scratch.bufs ||
        epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0) {
        err = errno ? -errno : -ENOMEM;
        loop_free(l);
        return err;
    }
    for (unsigned i = 0; i < WG_BATCH_MAX; i++) {
        l->scratch.iov[i].iov_base = l->scratch.bufs + (size_t)i * WG_RXLOOP_BUF;
        l->scratch.iov[i].iov_len = WG_RXLOOP_BUF;
    }
    err = wg_thread_start(&l->thread, loop_main, l);
    if (err) {
        loop_free(l);
        return err;
    }
    *out = l;
    return 0;
}

static void loop_stop(struct wg_rxloop *l)
{
    uint64_t one = 1;

    pthread_mutex_lock(&l->lock);
    l->stop = true;
    pthread_mutex_unlock(&l->lock);
    (void)!write(l->wakefd, &one, sizeof(one));
    pthread_join(l->thread, NULL);
    loop_free(l);
}

static unsigned loops_wanted(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (cpus < 1)
        return 1;
    return cpus > WG_RXLOOP_MAX ? WG_RXLOOP_MAX : (unsigned)cpus;
}

int wg_rxloop_add(struct wg_rxloop_entry *e)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = e };
    struct wg_rxloop *l;
    int err = 0;

    pthread_mutex_lock(&set_lock);
    if (!n_loops) {
        unsigned want = loops_wanted();

        while (n_loops < want && !(err = loop_new(&loops[n_loops])))
            n_loops++;
        if (!n_loops) {
            pthread_mutex_unlock(&set_lock);
            return err;
        }
    }
    /* The loop with the fewest sockets; ties round-robin. */
    l = loops[next_loop++ % n_loops];
    for (unsigned i = 0; i < n_loops; i++)
        if (loops[i]->n_entries < l->n_entries)
            l = loops[i];
    e->loop = l;
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, e->fd, &ev) < 0) {
        err = -errno;
        e->loop = NULL;
    } else {
        l->n_entries++;
        n_entries++;
    }
    if (!n_entries) {
        /* nothing registered (the add failed): do not keep idle threads */
        for (unsigned i = 0; i < n_loops; i++)
            loop_stop(loops[i]);
        n_loops = 0;
    }
    pthread_mutex_unlock(&set_lock);
    return err;
}

void wg_rxloop_del(struct wg_rxloop_entry *e)
{
    struct wg_rxloop *l = e->loop;
    uint64_t one = 1, target;

    if (!l)
        return;
    (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, e->fd, NULL);
    /* Wait for the end of the batch running now (it may hold an event of
     * e) or of the next one (which cannot). */
    pthread_mutex_lock(&l->lock);
    target = l->seq + 1;
    (void)!write(l->wakefd, &one, sizeof(one));
    while (l->seq < target)
        pthread_cond_wait(&l->cond, &l->lock);
    pthread_mutex_unlock(&l->lock);
    e->loop = NULL;

    pthread_mutex_lock(&set_lock);
    l->n_entries--;
    if (!--n_entries) {
        for (unsigned i = 0; i < n_loops; i++)
            loop_stop(loops[i]);
        n_loops = 0;
    }
    pthread_mutex_unlock(&set_lock);
}

unsigned wg_rxloop_threads(void)
{
    unsigned n;

    pthread_mutex_lock(&set_lock);
    n = n_loops;
    pthread_mutex_unlock(&set_lock);
    return n;
}
