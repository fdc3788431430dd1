/* keypair.c - keypair slots, reference counting and the index table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "wgcore/keypair.h"
#include "wgcore/messages.h"
#include "wgcore/secret_mem.h"

static inline unsigned bucket_of(uint32_t index)
{
    /* Indices are uniformly random (we choose them), so the low bits are
     * as good a hash as any. */
    return index & (WG_INDEX_BUCKETS - 1);
}

void wg_index_init(struct wg_index_table *t)
{
    memset(t->buckets, 0, sizeof(t->buckets));
    pthread_mutex_init(&t->lock, NULL);
}

void wg_index_destroy(struct wg_index_table *t)
{
    pthread_mutex_destroy(&t->lock);
}

static bool index_used(struct wg_index_table *t, uint32_t index)
{
    for (struct wg_index_entry *e = t->buckets[bucket_of(index)]; e; e = e->next)
        if (e->index == index)
            return true;
    return false;
}

static void unlink_locked(struct wg_index_table *t, struct wg_index_entry *e)
{
    struct wg_index_entry **pp = &t->buckets[bucket_of(e->index)];

    for (; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    e->next = NULL;
    e->linked = false;
}

void wg_index_insert(struct wg_index_table *t, struct wg_index_entry *e)
{
    uint32_t index;

    pthread_mutex_lock(&t->lock);
    if (e->linked)
        unlink_locked(t, e);
    do {
        randombytes_buf(&index, sizeof(index));
    } while (index_used(t, index));
    e->index = index;
    e->next = t->buckets[bucket_of(index)];
    t->buckets[bucket_of(index)] = e;
    e->linked = true;
    pthread_mutex_unlock(&t->lock);
}

void wg_index_replace(struct wg_index_table *t, struct wg_index_entry *olde,
                      struct wg_index_entry *newe)
{
    pthread_mutex_lock(&t->lock);
    if (!olde->linked) {
        pthread_mutex_unlock(&t->lock);
        wg_index_insert(t, newe);
        return;
    }
    if (newe->linked)
        unlink_locked(t, newe);
    newe->index = olde->index;
    unlink_locked(t, olde);
    newe->next = t->buckets[bucket_of(newe->index)];
    t->buckets[bucket_of(newe->index)] = newe;
    newe->linked = true;
    pthread_mutex_unlock(&t->lock);
}

void wg_index_remove(struct wg_index_table *t, struct wg_index_entry *e)
{
    pthread_mutex_lock(&t->lock);
    if (e->linked)
        unlink_locked(t, e);
    pthread_mutex_unlock(&t->lock);
}

struct wg_index_entry *wg_index_lookup_locked(struct wg_index_table *t, uint32_t index,
                                              unsigned type_mask)
{
    for (struct wg_index_entry *e = t->buckets[bucket_of(index)]; e; e = e->next)
        if (e->index == index)
            return (e->type & type_mask) ? e : NULL;
    return NULL;
}

struct wg_keypair *wg_keypair_new(void)
{
    struct wg_keypair *kp = wg_secret_alloc(sizeof(*kp));

    if (!kp)
        return NULL;
    kp->entry.type = WG_INDEX_KEYPAIR;
    atomic_init(&kp->refs, 1);
    atomic_init(&kp->send_counter, 0);
    atomic_init(&kp->send_valid, false);
    atomic_init(&kp->recv_valid, false);
    wg_replay_init(&kp->replay);
    return kp;
}

void wg_keypair_put(struct wg_keypair *kp)
{
    if (!kp)
        return;
    if (atomic_fetch_sub_explicit(&kp->refs, 1, memory_order_acq_rel) != 1)
        return;
    wg_secret_free(kp, sizeof(*kp));
}

static bool expired(uint64_t birth, uint64_t age, uint64_t now)
{
    return now >= birth + age;
}

bool wg_keypair_can_send(struct wg_keypair *kp, uint64_t now)
{
    return kp && atomic_load_explicit(&kp->send_valid, memory_order_acquire) &&
           !expired(kp->birthdate, WG_REJECT_AFTER_TIME, now) &&
           atomic_load_explicit(&kp->send_counter, memory_order_relaxed) < WG_REJECT_AFTER_MESSAGES;
}

bool wg_keypair_can_recv(struct wg_keypair *kp, uint64_t now)
{
    return kp && atomic_load_explicit(&kp->recv_valid, memory_order_acquire) &&
           !expired(kp->birthdate, WG_REJECT_AFTER_TIME, now);
}

static void drop_slot(struct wg_index_table *t, struct wg_keypair **slot)
{
    struct wg_keypair *kp = *slot;

    if (!kp)
        return;
    *slot = NULL;
    /* No new packets find it (index) or use it (send); packets already
     * between prepare and finish still complete, as in the kernel. */
    atomic_store(&kp->send_valid, false);
    wg_index_remove(t, &kp->entry);
    wg_keypair_put(kp);
}

void wg_keypairs_install(struct wg_keypairs *kps, struct wg_index_table *t,
                         struct wg_keypair *kp)
{
    if (kp->i_am_initiator) {
        /* A pending next (we were also responder in a crossing handshake)
         * becomes previous so its in-flight packets still decrypt. */
        if (kps->next) {
            drop_slot(t, &kps->previous);
            kps->previous = kps->next;
            kps->next = NULL;
            drop_slot(t, &kps->current);
        } else {
            drop_slot(t, &kps->previous);
            kps->previous = kps->current;
        }
        kps->current = kp;
    } else {
        /* Responder: wait for confirmation; previous is dropped because
         * current stays valid until then. */
        drop_slot(t, &kps->next);
        kps->next = kp;
        drop_slot(t, &kps->previous);
    }
}

bool wg_keypairs_received_with(struct wg_keypairs *kps, struct wg_index_table *t,
                               struct wg_keypair *kp)
{
    if (!kp || kp != kps->next)
        return false;
    drop_slot(t, &kps->previous);
    kps->previous = kps->current;
    kps->current = kps->next;
    kps->next = NULL;
    return true;
}

void wg_keypairs_clear(struct wg_keypairs *kps, struct wg_index_table *t)
{
    drop_slot(t, &kps->current);
    drop_slot(t, &kps->previous);
    drop_slot(t, &kps->next);
}

void wg_keypairs_expire_send(struct wg_keypairs *kps)
{
    if (kps->current)
        atomic_store(&kps->current->send_valid, false);
    if (kps->next)
        atomic_store(&kps->next->send_valid, false);
}
