/* peer.h - one peer of the protocol: its state, lifetime, and what we send
 * it outside the batched data path (handshakes, keepalives, staged packets,
 * timer expiries).  Locking: proto_state.h.
 *
 * Peers and keypairs are reference counted because packets carry pointers
 * to them between the data-path stages while the config may remove them.
 */
#ifndef WGVSOCK_PEER_H
#define WGVSOCK_PEER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "wgcore/noise.h"
#include "wgcore/cookie.h"
#include "wgcore/keypair.h"
#include "wgcore/timers.h"

/* Staged packets (no session yet) live in one per-peer arena, allocated on
 * first use and kept: staging never allocates per packet. */
#define WG_STAGE_ARENA (256u * 1024u)

struct wg_proto;

struct wg_staged {
    uint32_t off;           /* message start in the arena (header room) */
    uint32_t len;           /* plaintext length */
};

struct wg_peer {
    struct wg_proto *proto;
    struct wg_peer *next, *prev;                 /* proto list */
    struct wg_peer *hash_next;
    pthread_mutex_t lock;
    _Atomic unsigned refs;
    bool dead;                                   /* removed from the device */

    uint8_t public_key[WG_PUBLIC_KEY_LEN];
    struct wg_handshake handshake;
    struct wg_cookie_maker cookie;
    struct wg_keypairs keypairs;
    struct wg_sockaddr endpoint;
    uint16_t persistent_keepalive;               /* seconds, 0 = off */
    uint64_t rx_bytes, tx_bytes;
    uint64_t last_handshake;                     /* monotonic ns, 0 = never */
    struct timespec last_handshake_real;
    uint64_t last_sent_handshake;
    bool has_sent_handshake;
    struct wg_timers timers;

    uint8_t *stage_arena;
    uint32_t stage_used;
    unsigned n_staged;
    struct wg_staged staged[WG_MAX_STAGED_PACKETS];
};

/* Lifetime. */
struct wg_peer *wg_peer_new(struct wg_proto *p, const uint8_t public_key[32]);
static inline void wg_peer_get(struct wg_peer *peer)
{
    atomic_fetch_add_explicit(&peer->refs, 1, memory_order_relaxed);
}
void wg_peer_put(struct wg_peer *peer);
/* cfg write lock held: link / unlink from the device (unlink clears keys,
 * allowed-ips and timers, marks dead, drops the device's reference). */
void wg_peer_link(struct wg_proto *p, struct wg_peer *peer);
void wg_peer_remove(struct wg_proto *p, struct wg_peer *peer);
/* cfg lock held (either way). */
struct wg_peer *wg_peer_lookup(struct wg_proto *p, const uint8_t public_key[32]);

/* "peer(AbCd…WxYz)" from the public key, as wireguard-go logs peers. */
#define WG_PEER_NAME_LEN 24
const char *wg_peer_name(const struct wg_peer *peer, char out[WG_PEER_NAME_LEN]);

/* Sending, peer lock (and cfg read lock) held. */
void wg_peer_emit(struct wg_peer *peer, const uint8_t *msg, uint32_t len);
void wg_peer_send_initiation(struct wg_peer *peer, uint64_t now, bool is_retry);
void wg_peer_send_keepalive(struct wg_peer *peer, uint64_t now);
void wg_peer_send_staged(struct wg_peer *peer, uint64_t now);
bool wg_peer_stage(struct wg_peer *peer, const uint8_t *data, uint32_t len);
void wg_peer_purge_staged(struct wg_peer *peer);
void wg_peer_keep_key_fresh_send(struct wg_peer *peer, uint64_t now);
void wg_peer_keep_key_fresh_recv(struct wg_peer *peer, uint64_t now);
/* Drop handshake and all keypairs (zero_key_material). */
void wg_peer_zero_keys(struct wg_peer *peer);

/* Padded plaintext length: to a multiple of 16, but not beyond the MTU
 * (unless the packet already is; wireguard-go's rule). */
uint32_t wg_padded_len(uint32_t plen, unsigned mtu);
/* Seal the plaintext at msg + 16 (plen bytes) in place into a transport
 * message with room for padding and tag; returns the wire length. */
uint32_t wg_packet_seal(uint8_t *msg, uint32_t plen, const struct wg_keypair *kp,
                        uint64_t counter, unsigned mtu);

/* Timers (peer lock held): a handshake completed (the session is
 * confirmed): timers, and the last-handshake time wg show reports. */
void wg_peer_handshake_complete(struct wg_peer *peer, uint64_t now);
/* Fires the peer's due timers; returns its earliest remaining deadline, or
 * UINT64_MAX if none is armed.  Config read lock and peer lock held. */
uint64_t wg_peer_run_timers(struct wg_peer *peer, uint64_t now);

#endif
