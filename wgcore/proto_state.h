/* proto_state.h - the protocol's state of one device (struct wg_proto),
 * shared by proto_config.c, proto_send.c, proto_receive.c and peer.c, and
 * the lock order every one of them follows.
 *
 * Locking (lock order top to bottom; never take one above while holding
 * one below):
 *   wg_proto.cfg_lock (rwlock, writer-preferring): static identity, the peer
 *       list and hash, allowed-ips.  Written by apply/destroy only; every
 *       other entry point holds it for reading, once per call (never
 *       recursively: a waiting writer would deadlock a second read lock).
 *   wg_peer.lock (mutex): that peer's handshake, keypair slots, cookie maker,
 *       endpoint, timers, counters, staged packets.
 *   wg_index_table.lock, wg_cookie_checker.lock, wg_proto.load_lock: leaves.
 * io->emit is called with the first two held; it must not call back in.
 *
 * Peers and keypairs are reference counted because packets carry pointers
 * to them between the data-path stages while the config may remove them.
 */
#ifndef WGVSOCK_PROTO_STATE_H
#define WGVSOCK_PROTO_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wgcore/cookie.h"
#include "wgcore/keypair.h"
#include "wgcore/noise.h"
#include "wgcore/proto.h"

#define WG_PEER_BUCKETS 1024u

struct wg_allowedips;
struct wg_peer;
struct wg_ratelimiter;

struct wg_proto {
    struct wg_proto_io io;
    pthread_rwlock_t cfg_lock;
    struct wg_static_identity *id;               /* secret memory (secret_mem.h) */
    struct wg_cookie_checker cookie_checker;
    struct wg_index_table index;
    struct wg_allowedips *aips;
    struct wg_ratelimiter *ratelimiter;
    _Atomic unsigned mtu;                        /* for padding; 0 = unknown */
    struct wg_peer *peers_head, *peers_tail;     /* insertion order (wg show) */
    size_t n_peers;
    struct wg_peer *peer_hash[WG_PEER_BUCKETS];
    /* under-load detection: handshake messages per second */
    pthread_mutex_t load_lock;
    uint64_t load_window_start;
    unsigned load_count;
    uint64_t last_under_load;                    /* 0 = not under load */
};

/* The wall clock at monotonic instant now, from the device (the protocol
 * reads no clock). */
static inline uint64_t wg_proto_realtime(const struct wg_proto *p, uint64_t now)
{
    return p->io.realtime(p->io.ctx, now);
}

/* ---- inner IP headers (routing on send, source check on receive) ---- */

static inline uint16_t inner_be16(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

/* Destination (tx) or source (rx) of an inner packet; 0 if not IPv4/6. */
static inline int inner_addr(const uint8_t *pkt, uint32_t len, bool source, const uint8_t **addr)
{
    if (len >= 20 && (pkt[0] >> 4) == 4) {
        *addr = pkt + (source ? 12 : 16);
        return AF_INET;
    }
    if (len >= 40 && (pkt[0] >> 4) == 6) {
        *addr = pkt + (source ? 8 : 24);
        return AF_INET6;
    }
    return 0;
}

#endif
