/* pktpool.h - preallocated packet buffers for the data path.
 *
 * One mapping holds all buffers (WG_PKT_CAP bytes each, cache-line aligned);
 * pages are only faulted in where packets land, so a 64 KiB capacity per
 * buffer costs real memory only for the bytes used.  Buffers move in batches:
 * one lock round per get/put of up to a whole batch, never a malloc per
 * packet.
 */
#ifndef WGVSOCK_PKTPOOL_H
#define WGVSOCK_PKTPOOL_H

#include <stdint.h>

struct wg_pktpool;

/* n buffers of WG_PKT_CAP bytes.  0 or -errno. */
int wg_pktpool_create(unsigned n, struct wg_pktpool **out);
void wg_pktpool_destroy(struct wg_pktpool *p);
/* Takes up to n buffers into bufs; returns how many (0 when empty). */
unsigned wg_pktpool_get(struct wg_pktpool *p, uint8_t **bufs, unsigned n);
/* Returns buffers taken with wg_pktpool_get. */
void wg_pktpool_put(struct wg_pktpool *p, uint8_t *const *bufs, unsigned n);
unsigned wg_pktpool_available(struct wg_pktpool *p);
unsigned wg_pktpool_size(const struct wg_pktpool *p);

#endif
