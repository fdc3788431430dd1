/* ratelimiter.c - per-source token buckets for handshake messages.
 *
 * Tokens are kept in nanoseconds of credit: one packet costs
 * 1 s / WG_RATELIMIT_PPS, and the bucket holds at most WG_RATELIMIT_BURST
 * packets' worth.  A source is an IPv4 address, an IPv6 /64 (one host
 * usually owns a whole /64, so per-address buckets would be trivially
 * evaded) or a vsock CID; ports never matter.
 *
 * Memory is bounded: entries come from a fixed pool, allocated on first
 * use (the limiter only runs under load, so idle devices pay nothing).
 * Entries sit in a hash table (keyed SipHash, random key, so remote
 * sources cannot aim at one bucket) and on an LRU list.  When the pool is
 * full the least recently seen source is evicted; wg_ratelimiter_gc drops
 * entries idle for more than a second (their bucket would be full again
 * anyway, so forgetting them changes no decision).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "wgcore/ratelimiter.h"

#define RL_ENTRIES 4096u                 /* bounded table */
#define RL_BUCKETS 4096u                 /* power of two */
#define RL_NONE UINT32_MAX
#define RL_NS_PER_SEC 1000000000ull
#define RL_COST (RL_NS_PER_SEC / WG_RATELIMIT_PPS)
#define RL_MAX (RL_COST * WG_RATELIMIT_BURST)
#define RL_IDLE_NS RL_NS_PER_SEC

struct rl_key {
    uint8_t family;
    uint8_t pad[3];
    uint8_t addr[12];                   /* v4: 4 bytes, v6: /64, vsock: cid */
};

struct rl_entry {
    struct rl_key key;
    uint64_t tokens;
    uint64_t last;
    uint32_t hnext;                     /* hash chain */
    uint32_t prev, next;                /* LRU list: head = oldest */
};

struct wg_ratelimiter {
    pthread_mutex_t lock;
    struct rl_entry *pool;              /* RL_ENTRIES, NULL until first use */
    uint32_t *buckets;                  /* RL_BUCKETS chain heads */
    uint32_t used;                      /* pool entries ever handed out */
    uint32_t free_list;                 /* via hnext */
    uint32_t lru_head, lru_tail;
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

_Static_assert((RL_BUCKETS & (RL_BUCKETS - 1)) == 0, "buckets: power of two");

struct wg_ratelimiter *wg_ratelimiter_new(void)
{
    struct wg_ratelimiter *rl = calloc(1, sizeof(*rl));

    if (!rl)
        return NULL;
    if (sodium_init() < 0 || pthread_mutex_init(&rl->lock, NULL)) {
        free(rl);
        return NULL;
    }
    randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
    rl->free_list = rl->lru_head = rl->lru_tail = RL_NONE;
    return rl;
}

void wg_ratelimiter_free(struct wg_ratelimiter *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl->pool);
    free(rl->buckets);
    free(rl);
}

static bool make_key(const struct wg_sockaddr *src, struct rl_key *k)
{
    memset(k, 0, sizeof(*k));
    switch (src->addr.sa.sa_family) {
    case AF_INET:
        k->family = AF_INET;
        memcpy(k->addr, &src->addr.in.sin_addr, 4);
        return true;
    case AF_INET6:
        k->family = AF_INET6;
        memcpy(k->addr, &src->addr.in6.sin6_addr, 8);   /* the /64 */
        return true;
    case AF_VSOCK:
        k->family = AF_VSOCK;
        memcpy(k->addr, &src->addr.vm.svm_cid, sizeof(src->addr.vm.svm_cid));
        return true;
    default:
        return false;
    }
}

static uint32_t bucket_of(const struct wg_ratelimiter *rl, const struct rl_key *k)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint32_t v;

    crypto_shorthash(h, (const unsigned char *)k, sizeof(*k), rl->hash_key);
    memcpy(&v, h, sizeof(v));
    return v & (RL_BUCKETS - 1);
}

static void lru_unlink(struct wg_ratelimiter *rl, uint32_t i)
{
    struct rl_entry *e = &rl->pool[i];

    if (e->prev != RL_NONE)
        rl->pool[e->prev].next = e->next;
    else
        rl->lru_head = e->next;
    if (e->next != RL_NONE)
        rl->pool[e->next].prev = e->prev;
    else
        rl->lru_tail = e->prev;
    e->prev = e->next = RL_NONE;
}

static void lru_append(struct wg_ratelimiter *rl, uint32_t i)
{
    struct rl_entry *e = &rl->pool[i];

    e->next = RL_NONE;
    e->prev = rl->lru_tail;
    if (rl->lru_tail != RL_NONE)
        rl->pool[rl->lru_tail].next = i;
    else
        rl->lru_head = i;
    rl->lru_tail = i;
}

/* Unlink entry i from its hash chain, the LRU list, and free it. */
static void entry_drop(struct wg_ratelimiter *rl, uint32_t i)
{
    struct rl_entry *e = &rl->pool[i];
    uint32_t *pp = &rl->buckets[bucket_of(rl, &e->key)];

    while (*pp != RL_NONE && *pp != i)
        pp = &rl->pool[*pp].hnext;
    if (*pp == i)
        *pp = e->hnext;
    lru_unlink(rl, i);
    e->hnext = rl->free_list;
    rl->free_list = i;
}

static bool ensure_pool(struct wg_ratelimiter *rl)
{
    if (rl->pool)
        return true;
    rl->pool = calloc(RL_ENTRIES, sizeof(*rl->pool));
    rl->buckets = malloc(RL_BUCKETS * sizeof(*rl->buckets));
    if (!rl->pool || !rl->buckets) {
        free(rl->pool);
        free(rl->buckets);
        rl->pool = NULL;
        rl->buckets = NULL;
        return false;
    }
    for (uint32_t i = 0; i < RL_BUCKETS; i++)
        rl->buckets[i] = RL_NONE;
    return true;
}

bool wg_ratelimiter_allow(struct wg_ratelimiter *rl, const struct wg_sockaddr *src, uint64_t now)
{
    struct rl_key k;
    bool ok;

    if (!rl || !src || !make_key(src, &k))
        return false;

    pthread_mutex_lock(&rl->lock);
    if (!ensure_pool(rl)) {
        /* No memory for bookkeeping: under load, refusing is the safe side. */
        pthread_mutex_unlock(&rl->lock);
        return false;
    }
    uint32_t b = bucket_of(rl, &k);
    uint32_t i = rl->buckets[b];

    while (i != RL_NONE && memcmp(&rl->pool[i].key, &k, sizeof(k)))
        i = rl->pool[i].hnext;

    if (i != RL_NONE) {
        struct rl_entry *e = &rl->pool[i];
        /* A clock that goes backwards (it should not) earns nothing. */
        uint64_t earned = now > e->last ? now - e->last : 0;
        uint64_t t = e->tokens + (earned > RL_MAX ? RL_MAX : earned);

        if (t > RL_MAX)
            t = RL_MAX;
        ok = t >= RL_COST;
        e->tokens = ok ? t - RL_COST : t;
        if (now > e->last)
            e->last = now;
        lru_unlink(rl, i);
        lru_append(rl, i);
    } else {
        if (rl->free_list != RL_NONE) {
            i = rl->free_list;
            rl->free_list = rl->pool[i].hnext;
        } else if (rl->used < RL_ENTRIES) {
            i = rl->used++;
        } else {
            i = rl->lru_head;           /* full: evict the oldest */
            entry_drop(rl, i);
            rl->free_list = rl->pool[i].hnext;
        }
        struct rl_entry *e = &rl->pool[i];
        e->key = k;
        e->tokens = RL_MAX - RL_COST;   /* this packet is the first of a burst */
        e->last = now;
        e->hnext = rl->buckets[b];
        rl->buckets[b] = i;
        e->prev = e->next = RL_NONE;
        lru_append(rl, i);
        ok = true;
    }
    pthread_mutex_unlock(&rl->lock);
    return ok;
}

void wg_ratelimiter_gc(struct wg_ratelimiter *rl, uint64_t now)
{
    if (!rl)
        return;
    pthread_mutex_lock(&rl->lock);
    if (rl->pool) {
        /* The LRU list is ordered by last use, so idle entries are a prefix. */
        while (rl->lru_head != RL_NONE) {
            struct rl_entry *e = &rl->pool[rl->lru_head];
            if (now < e->last || now - e->last <= RL_IDLE_NS)
                break;
            entry_drop(rl, rl->lru_head);
        }
    }
    pthread_mutex_unlock(&rl->lock);
}

unsigned wg_ratelimiter_count(struct wg_ratelimiter *rl)
{
    unsigned n = 0;

    pthread_mutex_lock(&rl->lock);
    if (rl->pool)
        for (uint32_t i = rl->lru_head; i != RL_NONE; i = rl->pool[i].next)
            n++;
    pthread_mutex_unlock(&rl->lock);
    return n;
}
