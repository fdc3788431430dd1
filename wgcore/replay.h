/* replay.h - sliding replay window for transport-data counters (RFC 6479
 * style: a ring of 64-bit words, O(1) per packet, no shifting).
 *
 * Window: WG_REPLAY_WINDOW counters behind the greatest one seen.  Called
 * from the protocol's serial rx_finish stage only (after authentication),
 * so no locking here.
 */
#ifndef WGVSOCK_REPLAY_H
#define WGVSOCK_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define WG_REPLAY_BITS_TOTAL 8192u
#define WG_REPLAY_WINDOW (WG_REPLAY_BITS_TOTAL - 64u)

struct wg_replay {
    uint64_t greatest;          /* greatest counter accepted + 1 (0 = none yet) */
    uint64_t bitmap[WG_REPLAY_BITS_TOTAL / 64];
};

void wg_replay_init(struct wg_replay *r);
/* True (and recorded) if counter is new, inside the window and below
 * limit (REJECT_AFTER_MESSAGES); false for a replay, too old or too big. */
bool wg_replay_accept(struct wg_replay *r, uint64_t counter, uint64_t limit);

#endif
