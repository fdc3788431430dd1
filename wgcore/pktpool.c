/* pktpool.c - see pktpool.h.  A stack of free buffer pointers under a
 * mutex: the lock is taken once per batch (<= WG_BATCH_MAX buffers), so its
 * cost disappears next to the per-packet crypto; a lock-free stack would
 * need ABA protection for no measurable gain at that granularity. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "wgcore/pktpool.h"
#include "wgcore/pkt.h"

#define PKT_STRIDE ((WG_PKT_CAP + 63u) & ~63u)

struct wg_pktpool {
    pthread_mutex_t lock;
    unsigned size, top;             /* free[0..top) are free */
    uint8_t *mem;
    size_t mem_len;
    uint8_t **free;
};

int wg_pktpool_create(unsigned n, struct wg_pktpool **out)
{
    struct wg_pktpool *p;

    if (!out || !n || n > (1u << 20))
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->free = calloc(n, sizeof(*p->free));
    p->mem_len = (size_t)n * PKT_STRIDE;
    /* NORESERVE: untouched tails of 64 KiB buffers cost nothing. */
    p->mem = mmap(NULL, p->mem_len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (!p->free || p->mem == MAP_FAILED) {
        if (p->mem != MAP_FAILED && p->mem)
            munmap(p->mem, p->mem_len);
        free(p->free);
        free(p);
        return -ENOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->size = p->top = n;
    for (unsigned i = 0; i < n; i++)
        p->free[i] = p->mem + (size_t)(n - 1 - i) * PKT_STRIDE;
    *out = p;
    return 0;
}

void wg_pktpool_destroy(struct wg_pktpool *p)
{
    if (!p)
        return;
    /* Packets held plaintext and keystream-adjacent data: wipe before
     * handing the pages back. */
    explicit_bzero(p->mem, p->mem_len);
    munmap(p->mem, p->mem_len);
    pthread_mutex_destroy(&p->lock);
    free(p->free);
    free(p);
}

unsigned wg_pktpool_get(struct wg_pktpool *p, uint8_t **bufs, unsigned n)
{
    unsigned k;

    pthread_mutex_lock(&p->lock);
    k = n < p->top ? n : p->top;
    p->top -= k;
    memcpy(bufs, &p->free[p->top], k * sizeof(*bufs));
    pthread_mutex_unlock(&p->lock);
    return k;
}

void wg_pktpool_put(struct wg_pktpool *p, uint8_t *const *bufs, unsigned n)
{
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *b = bufs[i];

        /* A foreign or double-freed pointer would corrupt the pool later,
         * far from the bug: ignore it here. */
        if (b < p->mem || b >= p->mem + p->mem_len ||
            (size_t)(b - p->mem) % PKT_STRIDE || p->top >= p->size)
            continue;
        p->free[p->top++] = b;
    }
    pthread_mutex_unlock(&p->lock);
}

unsigned wg_pktpool_available(struct wg_pktpool *p)
{
    unsigned k;

    pthread_mutex_lock(&p->lock);
    k = p->top;
    pthread_mutex_unlock(&p->lock);
    return k;
}

unsigned wg_pktpool_size(const struct wg_pktpool *p)
{
    return p->size;
}
