/* proto_send.c - what the protocol sends: the TX data path (prepare, seal,
 * finish), and what it sends on its own (the timers tick, a reconnected
 * stream connection's keepalive and initiation).
 *
 * Data-path stages take each lock once per packet at most and never
 * allocate.  Locking: proto_state.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "wgcore/aead.h"
#include "wgcore/allowedips.h"
#include "wgcore/peer.h"
#include "wgcore/proto_state.h"
#include "wgcore/ratelimiter.h"

/* A batch usually runs to one peer: keep its lock across consecutive
 * packets and switch only when the peer changes. */
static void relock_peer(struct wg_peer **locked, struct wg_peer *peer)
{
    if (peer == *locked)
        return;
    if (*locked)
        pthread_mutex_unlock(&(*locked)->lock);
    pthread_mutex_lock(&peer->lock);
    *locked = peer;
}

static uint32_t padded_len(uint32_t len)
{
    return (len + (WG_MSG_PADDING - 1)) & ~(WG_MSG_PADDING - 1);
}

void wg_proto_tx_prepare(struct wg_proto *p, struct wg_pkt *pkts, unsigned n, uint64_t now)
{
    struct wg_peer *locked = NULL;

    pthread_rwlock_rdlock(&p->cfg_lock);
    for (unsigned i = 0; i < n; i++) {
        struct wg_pkt *pkt = &pkts[i];
        const uint8_t *dst;
        struct wg_peer *peer;
        struct wg_keypair *kp;
        int fam;

        pkt->verdict = WG_PKT_DROP;
        pkt->peer = pkt->keypair = NULL;
        if (!pkt->head || pkt->off < WG_MSG_DATA_HEADER_LEN || pkt->len > 65535u ||
            (uint64_t)pkt->off + padded_len(pkt->len) + WG_AUTHTAG_LEN > WG_PKT_CAP)
            continue;
        fam = inner_addr(wg_pkt_data(pkt), pkt->len, false, &dst);
        if (!fam)
            continue;
        peer = wg_allowedips_lookup(p->aips, fam, dst);
        if (!peer)
            continue;
        relock_peer(&locked, peer);
        if (peer->dead || peer->endpoint.addr.sa.sa_family == AF_UNSPEC)
            continue;
        kp = peer->keypairs.current;
        if (!peer->n_staged && wg_keypair_can_send(kp, now)) {
            uint64_t counter = atomic_fetch_add(&kp->send_counter, 1);
            if (counter < WG_REJECT_AFTER_MESSAGES) {
                wg_keypair_get(kp);
                wg_peer_get(peer);
                pkt->keypair = kp;
                pkt->peer = peer;
                pkt->counter = counter;
                pkt->ep = peer->endpoint;
                pkt->verdict = WG_PKT_SEAL;
                continue;
            }
            atomic_store(&kp->send_valid, false);
        }
        /* No usable session (or packets already waiting, which must go
         * first): queue it, and either flush or start a handshake. */
        if (wg_peer_stage(peer, wg_pkt_data(pkt), pkt->len))
            pkt->verdict = WG_PKT_CONSUMED;
        wg_peer_send_staged(peer, now);
    }
    if (locked)
        pthread_mutex_unlock(&locked->lock);
    pthread_rwlock_unlock(&p->cfg_lock);
}

void wg_proto_tx_seal(struct wg_pkt *pkts, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct wg_pkt *pkt = &pkts[i];
        struct wg_keypair *kp = pkt->keypair;

        if (pkt->verdict != WG_PKT_SEAL || !kp)
            continue;
        pkt->off -= WG_MSG_DATA_HEADER_LEN;
        pkt->len = wg_packet_seal(wg_pkt_data(pkt), pkt->len, kp, pkt->counter,
                                  atomic_load_explicit(&((struct wg_peer *)pkt->peer)->proto->mtu,
                                                       memory_order_relaxed));
    }
}

void wg_proto_tx_finish(struct wg_proto *p, struct wg_pkt *pkts, unsigned n, uint64_t now)
{
    struct wg_peer *locked = NULL;

    pthread_rwlock_rdlock(&p->cfg_lock);
    for (unsigned i = 0; i < n; i++) {
        struct wg_pkt *pkt = &pkts[i];
        struct wg_peer *peer = pkt->peer;

        if (!peer) {
            if (pkt->verdict == WG_PKT_SEAL)
                pkt->verdict = WG_PKT_DROP;
            continue;
        }
        relock_peer(&locked, peer);
        if (pkt->verdict == WG_PKT_SEAL && !peer->dead) {
            pkt->verdict = WG_PKT_SEND;
            peer->tx_bytes += pkt->len;
            wg_timers_any_authenticated_packet_traversal(&peer->timers, peer->persistent_keepalive, now);
            wg_timers_any_authenticated_packet_sent(&peer->timers);
            wg_timers_data_sent(&peer->timers, now);
            wg_peer_keep_key_fresh_send(peer, now);
        } else {
            pkt->verdict = WG_PKT_DROP;
        }
        wg_keypair_put(pkt->keypair);
        pkt->keypair = NULL;
        pkt->peer = NULL;
        /* The device still holds its reference on a peer we have locked
         * unless it was removed; drop ours after unlocking in that case. */
        if (peer->dead) {
            pthread_mutex_unlock(&peer->lock);
            locked = NULL;
        }
        wg_peer_put(peer);
    }
    if (locked)
        pthread_mutex_unlock(&locked->lock);
    pthread_rwlock_unlock(&p->cfg_lock);
}

uint64_t wg_proto_tick(struct wg_proto *p, uint64_t now)
{
    uint64_t next = now + WG_PROTO_TICK_NS;

    pthread_rwlock_rdlock(&p->cfg_lock);
    for (struct wg_peer *peer = p->peers_head; peer; peer = peer->next) {
        uint64_t t;

        pthread_mutex_lock(&peer->lock);
        t = wg_peer_run_timers(peer, now);
        pthread_mutex_unlock(&peer->lock);
        if (t < next)
            next = t;
    }
    pthread_rwlock_unlock(&p->cfg_lock);
    wg_ratelimiter_gc(p->ratelimiter, now);
    return next;
}

void wg_proto_endpoint_reconnected(struct wg_proto *p, const struct wg_sockaddr *ep, uint64_t now)
{
    pthread_rwlock_rdlock(&p->cfg_lock);
    for (struct wg_peer *peer = p->peers_head; peer; peer = peer->next) {
        pthread_mutex_lock(&peer->lock);
        if (!peer->dead && wg_sockaddr_equal(&peer->endpoint, ep)) {
            /* The keepalive reaches a peer that kept its session (the Go
             * side only lost the connection); a peer that restarted lost
             * it and would otherwise wait ~15 s for our data timeout:
             * the initiation (rate-limited) re-keys both at once. */
            if (wg_keypair_can_send(peer->keypairs.current, now))
                wg_peer_send_keepalive(peer, now);
            wg_peer_send_initiation(peer, now, false);
        }
        pthread_mutex_unlock(&peer->lock);
    }
    pthread_rwlock_unlock(&p->cfg_lock);
}
