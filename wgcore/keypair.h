/* keypair.h - transport keypairs (current / previous / next per peer) and
 * the device's index table (receiver index -> handshake or keypair).
 *
 * A keypair is shared between its peer's slots, the index table and packets
 * in flight between the data-path stages, so it is reference counted:
 * the slot holds one reference, every packet between prepare and finish
 * another.  The keys are wiped when the last reference goes.  Nothing here
 * allocates per packet: a keypair is allocated once per handshake.
 */
#ifndef WGVSOCK_KEYPAIR_H
#define WGVSOCK_KEYPAIR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "wgcore/replay.h"

struct wg_peer;

enum wg_index_type { WG_INDEX_HANDSHAKE = 1, WG_INDEX_KEYPAIR = 2 };

struct wg_index_entry {
    struct wg_index_entry *next;
    struct wg_peer *peer;
    uint32_t index;                 /* our local index, as on the wire */
    uint8_t type;
    bool linked;
};

#define WG_INDEX_BUCKETS 4096u

struct wg_index_table {
    pthread_mutex_t lock;
    struct wg_index_entry *buckets[WG_INDEX_BUCKETS];
};

void wg_index_init(struct wg_index_table *t);
void wg_index_destroy(struct wg_index_table *t);
/* Links e under a fresh random index that no other entry uses. */
void wg_index_insert(struct wg_index_table *t, struct wg_index_entry *e);
/* newe takes over olde's index (handshake -> keypair, as the kernel does:
 * the index a peer used for the handshake keeps naming the session). */
void wg_index_replace(struct wg_index_table *t, struct wg_index_entry *olde,
                      struct wg_index_entry *newe);
void wg_index_remove(struct wg_index_table *t, struct wg_index_entry *e);
/* Caller holds t->lock. */
struct wg_index_entry *wg_index_lookup_locked(struct wg_index_table *t, uint32_t index,
                                              unsigned type_mask);

struct wg_keypair {
    struct wg_index_entry entry;            /* entry.index = our receiver index */
    uint8_t send_key[32];
    uint8_t recv_key[32];
    _Atomic uint64_t send_counter;          /* next nonce to reserve */
    struct wg_replay replay;                /* under the peer lock */
    uint64_t birthdate;                     /* monotonic ns */
    uint32_t remote_index;                  /* goes into our data messages */
    bool i_am_initiator;
    _Atomic bool send_valid;
    _Atomic bool recv_valid;
    _Atomic unsigned refs;
};

struct wg_keypairs {
    struct wg_keypair *current, *previous, *next;
};

struct wg_keypair *wg_keypair_new(void);        /* refs = 1; NULL on ENOMEM */
static inline void wg_keypair_get(struct wg_keypair *kp)
{
    atomic_fetch_add_explicit(&kp->refs, 1, memory_order_relaxed);
}
void wg_keypair_put(struct wg_keypair *kp);     /* wipes and frees at 0; NULL ok */

/* Usable for sending / receiving at now (validity flag, age, message count). */
bool wg_keypair_can_send(struct wg_keypair *kp, uint64_t now);
bool wg_keypair_can_recv(struct wg_keypair *kp, uint64_t now);

/* Slots: caller holds the peer lock.  Installing a new session follows the
 * kernel: the initiator uses it at once (current), the responder keeps it
 * as next until the initiator's first data message confirms it. */
void wg_keypairs_install(struct wg_keypairs *kps, struct wg_index_table *t,
                         struct wg_keypair *kp);
/* A packet arrived on kp: if it is next, rotate (returns true: the session
 * is confirmed, handshake complete on the responder's side). */
bool wg_keypairs_received_with(struct wg_keypairs *kps, struct wg_index_table *t,
                               struct wg_keypair *kp);
/* Unlink every slot from the index and drop the slots' references. */
void wg_keypairs_clear(struct wg_keypairs *kps, struct wg_index_table *t);
/* Stop sending with current and next (private key changed): the next data
 * packet starts a handshake.  Receiving continues until expiry. */
void wg_keypairs_expire_send(struct wg_keypairs *kps);

#endif
