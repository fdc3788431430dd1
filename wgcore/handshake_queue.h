/* handshake_queue.h - handshake messages off the receive path.
 *
 * The kernel's model: a receive thread only copies handshake messages
 * (initiation, response, cookie reply) into a bounded queue; one thread per
 * device works them off (Diffie-Hellman, cookie replies under load).  When
 * the queue is full a message is dropped.  So a flood of initiations, even
 * with a valid mac1, costs the data path one small copy per packet, never
 * a Diffie-Hellman, and established peers' data keeps flowing.
 */
#ifndef WGVSOCK_HANDSHAKE_QUEUE_H
#define WGVSOCK_HANDSHAKE_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "wgcore/proto.h"

#define WG_HSQ_CAPACITY 4096u      /* the kernel's MAX_QUEUED_INCOMING_HANDSHAKES */
#define WG_HSQ_MSG_MAX 148u        /* the largest handshake message (initiation) */

struct wg_hsq;

/* Called on the queue's thread with up to WG_BATCH_MAX messages in pkts
 * (head = the message, off 0, ep set, verdict DROP). */
typedef void (*wg_hsq_work_fn)(void *ctx, struct wg_pkt *pkts, unsigned n);

/* Starts the thread.  0 or -errno. */
int wg_hsq_create(wg_hsq_work_fn work, void *ctx, struct wg_hsq **out);
/* True for a message that belongs in the queue (type and exact size). */
bool wg_hsq_is_handshake(const uint8_t *msg, uint32_t len);
/* Copies one message in; false if the queue is full (dropped).  Any thread. */
bool wg_hsq_push(struct wg_hsq *q, const struct wg_sockaddr *ep, const uint8_t *msg,
                 uint32_t len);
/* Messages dropped because the queue was full, so far. */
uint64_t wg_hsq_dropped(const struct wg_hsq *q);
/* Stops the thread (after the batch in hand); from then on every push is
 * dropped.  The queue's callers may still push until wg_hsq_destroy. */
void wg_hsq_stop(struct wg_hsq *q);
/* Stops (if not yet) and frees the queue; what is still queued is dropped.
 * NULL is fine. */
void wg_hsq_destroy(struct wg_hsq *q);

#endif
