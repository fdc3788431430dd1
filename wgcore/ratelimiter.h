/* ratelimiter.h - per-source token bucket for handshake messages under
 * load (kernel: 20 packets/s, burst 5; IPv6 sources grouped by /64, vsock
 * by CID).  Internally locked; bounded memory (oldest entries evicted,
 * idle entries collected by wg_ratelimiter_gc).
 */
#ifndef WGVSOCK_RATELIMITER_H
#define WGVSOCK_RATELIMITER_H

#include <stdbool.h>
#include <stdint.h>
#include "wgcore/sockaddr.h"

#define WG_RATELIMIT_PPS 20u
#define WG_RATELIMIT_BURST 5u

struct wg_ratelimiter;

struct wg_ratelimiter *wg_ratelimiter_new(void);           /* NULL on ENOMEM */
void wg_ratelimiter_free(struct wg_ratelimiter *rl);
/* True if a handshake from src may be processed at time now (ns). */
bool wg_ratelimiter_allow(struct wg_ratelimiter *rl, const struct wg_sockaddr *src, uint64_t now);
/* Drop entries idle for more than a second; call from the timer tick. */
void wg_ratelimiter_gc(struct wg_ratelimiter *rl, uint64_t now);
/* Number of sources currently tracked (tests, statistics). */
unsigned wg_ratelimiter_count(struct wg_ratelimiter *rl);

#endif
