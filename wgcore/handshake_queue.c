/* handshake_queue.c - a bounded ring of handshake messages and the thread
 * that works it off; see handshake_queue.h.
 *
 * The ring is one anonymous mapping of WG_HSQ_CAPACITY slots: pages are
 * only backed once a burst has used them, so an idle device (a container's)
 * pays a page or two, a flooded hub at most ~1 MiB.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "wgcore/handshake_queue.h"
#include "wgcore/messages.h"
#include "wgcore/thread.h"
#include "wgcore/transport.h"

struct hsq_slot {
    struct wg_sockaddr ep;
    uint32_t len;
    uint8_t msg[WG_HSQ_MSG_MAX];
};

struct wg_hsq {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct hsq_slot *ring;      /* WG_HSQ_CAPACITY slots */
    unsigned head, count;       /* under lock */
    bool stop;                  /* under lock */
    bool joined;
    uint64_t dropped;           /* atomic */
    wg_hsq_work_fn work;
    void *ctx;
    pthread_t thread;
    /* the worker's own copies: the ring slot is free again at once */
    uint8_t bufs[WG_BATCH_MAX][WG_HSQ_MSG_MAX];
    struct wg_pkt pkts[WG_BATCH_MAX];
};

bool wg_hsq_is_handshake(const uint8_t *msg, uint32_t len)
{
    uint32_t type;

    if (len < 4)
        return false;
    type = wg_le32(msg);
    return (type == WG_MSG_INITIATION && len == WG_MSG_INITIATION_LEN) ||
           (type == WG_MSG_RESPONSE && len == WG_MSG_RESPONSE_LEN) ||
           (type == WG_MSG_COOKIE && len == WG_MSG_COOKIE_LEN);
}

bool wg_hsq_push(struct wg_hsq *q, const struct wg_sockaddr *ep, const uint8_t *msg,
                 uint32_t len)
{
    struct hsq_slot *s;

    if (len > WG_HSQ_MSG_MAX)
        return false;
    pthread_mutex_lock(&q->lock);
    if (q->count == WG_HSQ_CAPACITY || q->stop) {
        pthread_mutex_unlock(&q->lock);
        __atomic_add_fetch(&q->dropped, 1, __ATOMIC_RELAXED);
        return false;
    }
    s = &q->ring[(q->head + q->count) % WG_HSQ_CAPACITY];
    s->ep = *ep;
    s->len = len;
    memcpy(s->msg, msg, len);
    if (q->count++ == 0)
        pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
    return true;
}

uint64_t wg_hsq_dropped(const struct wg_hsq *q)
{
    return __atomic_load_n(&q->dropped, __ATOMIC_RELAXED);
}

static void *hsq_thread(void *arg)
{
    struct wg_hsq *q = arg;

    pthread_setname_np(pthread_self(), "wg-handshake");
    for (;;) {
        unsigned n = 0;

        pthread_mutex_lock(&q->lock);
        while (!q->count && !q->stop)
            pthread_cond_wait(&q->cond, &q->lock);
        if (q->stop) {
            pthread_mutex_unlock(&q->lock);
            break;
        }
        while (q->count && n < WG_BATCH_MAX) {
            struct hsq_slot *s = &q->ring[q->head];
            struct wg_pkt *p = &q->pkts[n];

            memcpy(q->bufs[n], s->msg, s->len);
            memset(p, 0, sizeof(*p));
            p->head = q->bufs[n];
            p->len = s->len;
            p->ep = s->ep;
            p->verdict = WG_PKT_DROP;
            q->head = (q->head + 1) % WG_HSQ_CAPACITY;
            q->count--;
            n++;
        }
        pthread_mutex_unlock(&q->lock);
        q->work(q->ctx, q->pkts, n);
    }
    return NULL;
}

int wg_hsq_create(wg_hsq_work_fn work, void *ctx, struct wg_hsq **out)
{
    struct wg_hsq *q = calloc(1, sizeof(*q));
    int err;

    if (!q)
        return -ENOMEM;
    q->ring = mmap(NULL, WG_HSQ_CAPACITY * sizeof(struct hsq_slot), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q->ring == MAP_FAILED) {
        free(q);
        return -ENOMEM;
    }
    q->work = work;
    q->ctx = ctx;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    err = wg_thread_start(&q->thread, hsq_thread, q);
    if (err) {
        pthread_mutex_destroy(&q->lock);
        pthread_cond_destroy(&q->cond);
        munmap(q->ring, WG_HSQ_CAPACITY * sizeof(struct hsq_slot));
        free(q);
        return err;
    }
    *out = q;
    return 0;
}

void wg_hsq_stop(struct wg_hsq *q)
{
    if (!q || q->joined)
        return;
    pthread_mutex_lock(&q->lock);
    q->stop = true;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->thread, NULL);
    q->joined = true;
}

void wg_hsq_destroy(struct wg_hsq *q)
{
    if (!q)
        return;
    wg_hsq_stop(q);
    /* handshake messages carry ephemeral keys and encrypted statics */
    explicit_bzero(q->bufs, sizeof(q->bufs));
    munmap(q->ring, WG_HSQ_CAPACITY * sizeof(struct hsq_slot));
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    free(q);
}
