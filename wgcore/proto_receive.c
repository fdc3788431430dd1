/* proto_receive.c - what the protocol receives: handshake and cookie
 * messages (answered on the spot through io->emit, cookies instead of DH
 * under load), and the RX data path (prepare, open, finish: replay window,
 * roaming, the inner source check).
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

/* Under load: more handshake messages than this in one second.  Handshakes
 * are processed synchronously (about four X25519 each), so this bounds the
 * time spent on them to a few percent of a core before cookies kick in. */
#define WG_UNDER_LOAD_PER_SEC 256u

/* ---- handshake and cookie messages ---- */

static bool under_load(struct wg_proto *p, uint64_t now)
{
    bool load;

    pthread_mutex_lock(&p->load_lock);
    if (now >= p->load_window_start + WG_NSEC_PER_SEC || now < p->load_window_start) {
        p->load_window_start = now;
        p->load_count = 0;
    }
    p->load_count++;
    if (p->load_count > WG_UNDER_LOAD_PER_SEC) {
        p->last_under_load = now;
        load = true;
    } else if (p->last_under_load) {
        /* stay under load for a second after the burst, as the kernel */
        load = now < p->last_under_load + WG_NSEC_PER_SEC;
        if (!load)
            p->last_under_load = 0;
    } else {
        load = false;
    }
    pthread_mutex_unlock(&p->load_lock);
    return load;
}

/* An authenticated handshake message from peer arrived from src. */
static void handshake_authenticated(struct wg_peer *peer, const struct wg_sockaddr *src,
                                    uint32_t len, uint64_t now)
{
    peer->rx_bytes += len;
    wg_timers_any_authenticated_packet_received(&peer->timers);
    wg_timers_any_authenticated_packet_traversal(&peer->timers, peer->persistent_keepalive, now);
    if (src->addr.sa.sa_family != AF_UNSPEC)
        peer->endpoint = *src;      /* roaming */
}

static void rx_initiation(struct wg_proto *p, struct wg_pkt *pkt, uint64_t now)
{
    const struct wg_msg_initiation *msg = (const void *)wg_pkt_data(pkt);
    struct wg_noise_initiation_tmp tmp;
    struct wg_msg_response resp;
    struct wg_keypair *kp;
    struct wg_peer *peer;

    if (!wg_noise_consume_initiation_1(msg, p->id, &tmp))
        return;
    peer = wg_peer_lookup(p, tmp.remote_static);
    if (!peer) {
        sodium_memzero(&tmp, sizeof(tmp));
        return;
    }
    pthread_mutex_lock(&peer->lock);
    if (peer->dead || !wg_noise_consume_initiation_2(msg, &peer->handshake, &tmp, now)) {
        sodium_memzero(&tmp, sizeof(tmp));
        pthread_mutex_unlock(&peer->lock);
        return;
    }
    pkt->verdict = WG_PKT_CONSUMED;
    pkt->authenticated = true;
    handshake_authenticated(peer, &pkt->ep, pkt->len, now);
    char name[WG_PEER_NAME_LEN];
    wg_log(WG_LOG_DEBUG, "%s: received handshake initiation, sending response",
           wg_peer_name(peer, name));

    if (wg_noise_create_response(&resp, &peer->handshake, &p->index)) {
        wg_cookie_add_macs(&peer->cookie, (uint8_t *)&resp, sizeof(resp), now);
        kp = wg_noise_begin_session(&peer->handshake, &p->index, now);
        if (kp) {
            wg_keypairs_install(&peer->keypairs, &p->index, kp);
            wg_timers_session_derived(&peer->timers, now);
            wg_timers_any_authenticated_packet_traversal(&peer->timers, peer->persistent_keepalive, now);
            wg_timers_any_authenticated_packet_sent(&peer->timers);
            wg_peer_emit(peer, (const uint8_t *)&resp, sizeof(resp));
        }
        sodium_memzero(&resp, sizeof(resp));
    }
    pthread_mutex_unlock(&peer->lock);
}

static struct wg_peer *peer_by_index(struct wg_proto *p, uint32_t index, unsigned mask)
{
    struct wg_index_entry *e;
    struct wg_peer *peer = NULL;

    pthread_mutex_lock(&p->index.lock);
    e = wg_index_lookup_locked(&p->index, index, mask);
    if (e) {
        peer = e->peer;
        wg_peer_get(peer);
    }
    pthread_mutex_unlock(&p->index.lock);
    return peer;
}

static void rx_response(struct wg_proto *p, struct wg_pkt *pkt, uint64_t now)
{
    const struct wg_msg_response *msg = (const void *)wg_pkt_data(pkt);
    struct wg_peer *peer = peer_by_index(p, wg_le32(&msg->receiver_index), WG_INDEX_HANDSHAKE);
    struct wg_keypair *kp;

    if (!peer)
        return;
    pthread_mutex_lock(&peer->lock);
    if (!peer->dead && wg_noise_consume_response(msg, &peer->handshake, p->id)) {
        char name[WG_PEER_NAME_LEN];
        wg_log(WG_LOG_DEBUG, "%s: received handshake response", wg_peer_name(peer, name));
        pkt->verdict = WG_PKT_CONSUMED;
        pkt->authenticated = true;
        handshake_authenticated(peer, &pkt->ep, pkt->len, now);
        kp = wg_noise_begin_session(&peer->handshake, &p->index, now);
        if (kp) {
            wg_keypairs_install(&peer->keypairs, &p->index, kp);
            wg_timers_session_derived(&peer->timers, now);
            wg_peer_handshake_complete(peer, now);
            /* Confirm the session to the responder at once: staged
             * packets if any, else a keepalive. */
            wg_peer_send_keepalive(peer, now);
        }
    }
    pthread_mutex_unlock(&peer->lock);
    wg_peer_put(peer);
}

static void rx_cookie(struct wg_proto *p, struct wg_pkt *pkt, uint64_t now)
{
    const struct wg_msg_cookie *msg = (const void *)wg_pkt_data(pkt);
    struct wg_peer *peer = peer_by_index(p, wg_le32(&msg->receiver_index),
                                         WG_INDEX_HANDSHAKE | WG_INDEX_KEYPAIR);

    if (!peer)
        return;
    pthread_mutex_lock(&peer->lock);
    if (!peer->dead && wg_cookie_consume_reply(&peer->cookie, msg, now) == 0) {
        char name[WG_PEER_NAME_LEN];
        wg_log(WG_LOG_DEBUG, "%s: received cookie reply", wg_peer_name(peer, name));
        pkt->verdict = WG_PKT_CONSUMED;
    }
    pthread_mutex_unlock(&peer->lock);
    wg_peer_put(peer);
}

static void rx_handshake(struct wg_proto *p, struct wg_pkt *pkt, uint32_t type, uint64_t now)
{
    const uint8_t *msg = wg_pkt_data(pkt);
    enum wg_cookie_mac_state st;
    bool load;

    if (type == WG_MSG_COOKIE) {
        rx_cookie(p, pkt, now);
        return;
    }
    load = under_load(p, now);
    st = wg_cookie_validate(&p->cookie_checker, msg, pkt->len, &pkt->ep, load, now);
    if (load && st == WG_COOKIE_VALID_MAC_WITH_COOKIE) {
        /* A valid cookie proves the source address; still limit it. */
        if (!wg_ratelimiter_allow(p->ratelimiter, &pkt->ep, now))
            return;
    } else if (load && st == WG_COOKIE_VALID_MAC_NO_COOKIE) {
        struct wg_msg_cookie reply;

        /* Prove your address first: a cookie reply, no DH. */
        char eps[WG_SOCKADDR_STR_MAX];
        wg_sockaddr_format_human(&pkt->ep, eps);
        wg_log(WG_LOG_DEBUG, "under load: sending cookie reply to %s", eps);
        wg_cookie_reply_create(&reply, &p->cookie_checker, msg, pkt->len, wg_le32(msg + 4),
                               &pkt->ep, now);
        pkt->verdict = WG_PKT_CONSUMED;
        if (p->io.emit)
            p->io.emit(p->io.ctx, &pkt->ep, (const uint8_t *)&reply, sizeof(reply));
        return;
    } else if (st != WG_COOKIE_VALID_MAC_NO_COOKIE) {
        return;     /* bad mac1: silently dropped */
    }
    if (type == WG_MSG_INITIATION)
        rx_initiation(p, pkt, now);
    else
        rx_response(p, pkt, now);
    if (pkt->verdict != WG_PKT_CONSUMED) {
        char eps[WG_SOCKADDR_STR_MAX];
        wg_sockaddr_format_human(&pkt->ep, eps);
        wg_log(WG_LOG_DEBUG, "invalid handshake %s from %s",
               type == WG_MSG_INITIATION ? "initiation" : "response", eps);
    }
}

/* ---- data path ---- */

void wg_proto_rx_prepare(struct wg_proto *p, struct wg_pkt *pkts, unsigned n, uint64_t now)
{
    pthread_rwlock_rdlock(&p->cfg_lock);
    for (unsigned i = 0; i < n; i++) {
        struct wg_pkt *pkt = &pkts[i];
        const uint8_t *msg;
        uint32_t type;

        pkt->verdict = WG_PKT_DROP;
        pkt->authenticated = false;
        pkt->peer = pkt->keypair = NULL;
        if (!pkt->head || pkt->len < 4 || (uint64_t)pkt->off + pkt->len > WG_PKT_CAP)
            continue;
        msg = wg_pkt_data(pkt);
        type = wg_le32(msg);
        if ((type == WG_MSG_INITIATION && pkt->len == WG_MSG_INITIATION_LEN) ||
            (type == WG_MSG_RESPONSE && pkt->len == WG_MSG_RESPONSE_LEN) ||
            (type == WG_MSG_COOKIE && pkt->len == WG_MSG_COOKIE_LEN)) {
            rx_handshake(p, pkt, type, now);
            continue;
        }
        if (type != WG_MSG_DATA || pkt->len < WG_MSG_DATA_MIN_LEN)
            continue;

        struct wg_index_entry *e;
        struct wg_keypair *kp = NULL;

        pthread_mutex_lock(&p->index.lock);
        e = wg_index_lookup_locked(&p->index, wg_le32(msg + 4), WG_INDEX_KEYPAIR);
        if (e) {
            kp = (struct wg_keypair *)((uint8_t *)e - offsetof(struct wg_keypair, entry));
            if (wg_keypair_can_recv(kp, now)) {
                wg_keypair_get(kp);
                wg_peer_get(e->peer);
                pkt->peer = e->peer;
            } else {
                kp = NULL;
            }
        }
        pthread_mutex_unlock(&p->index.lock);
        if (!kp)
            continue;
        pkt->keypair = kp;
        pkt->counter = wg_le64(msg + 8);
        pkt->verdict = WG_PKT_OPEN;
    }
    pthread_rwlock_unlock(&p->cfg_lock);
}

void wg_proto_rx_open(struct wg_pkt *pkts, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct wg_pkt *pkt = &pkts[i];
        struct wg_keypair *kp = pkt->keypair;
        uint8_t *payload;

        if (pkt->verdict != WG_PKT_OPEN || !kp)
            continue;
        payload = wg_pkt_data(pkt) + WG_MSG_DATA_HEADER_LEN;
        if (!wg_aead_open(payload, payload, pkt->len - WG_MSG_DATA_HEADER_LEN, pkt->counter,
                          kp->recv_key)) {
            pkt->verdict = WG_PKT_DROP;
            continue;
        }
        pkt->off += WG_MSG_DATA_HEADER_LEN;
        pkt->len -= WG_MSG_DATA_MIN_LEN;
    }
}

/* Trim to the inner IP length and check the source belongs to peer. */
static bool inner_allowed(struct wg_proto *p, struct wg_pkt *pkt, struct wg_peer *peer)
{
    const uint8_t *data = wg_pkt_data(pkt), *src;
    uint32_t len;
    int fam = inner_addr(data, pkt->len, true, &src);

    if (fam == AF_INET) {
        len = inner_be16(data + 2);
        if (len < 20 || len > pkt->len)
            return false;
    } else if (fam == AF_INET6) {
        len = 40u + inner_be16(data + 4);
        if (len > pkt->len)
            return false;
    } else {
        return false;
    }
    pkt->len = len;
    return wg_allowedips_lookup(p->aips, fam, src) == peer;
}

void wg_proto_rx_finish(struct wg_proto *p, struct wg_pkt *pkts, unsigned n, uint64_t now)
{
    pthread_rwlock_rdlock(&p->cfg_lock);
    for (unsigned i = 0; i < n; i++) {
        struct wg_pkt *pkt = &pkts[i];
        struct wg_peer *peer = pkt->peer;
        struct wg_keypair *kp = pkt->keypair;

        if (!peer || !kp) {
            if (pkt->verdict == WG_PKT_OPEN)
                pkt->verdict = WG_PKT_DROP;
            continue;
        }
        pthread_mutex_lock(&peer->lock);
        if (pkt->verdict != WG_PKT_OPEN || peer->dead || !wg_keypair_can_recv(kp, now) ||
            !wg_replay_accept(&kp->replay, pkt->counter, WG_REJECT_AFTER_MESSAGES)) {
            pkt->verdict = WG_PKT_DROP;
            goto next;
        }
        pkt->authenticated = true;
        if (wg_keypairs_received_with(&peer->keypairs, &p->index, kp)) {
            /* The initiator used the new session: it is confirmed. */
            wg_peer_handshake_complete(peer, now);
            wg_peer_send_staged(peer, now);
        }
        wg_peer_keep_key_fresh_recv(peer, now);
        wg_timers_any_authenticated_packet_received(&peer->timers);
        wg_timers_any_authenticated_packet_traversal(&peer->timers, peer->persistent_keepalive, now);
        if (pkt->ep.addr.sa.sa_family != AF_UNSPEC)
            peer->endpoint = pkt->ep;       /* roaming */
        peer->rx_bytes += pkt->len + WG_MSG_DATA_MIN_LEN;
        if (!pkt->len) {
            pkt->verdict = WG_PKT_CONSUMED; /* keepalive */
            goto next;
        }
        wg_timers_data_received(&peer->timers, now);
        pkt->verdict = inner_allowed(p, pkt, peer) ? WG_PKT_DELIVER : WG_PKT_DROP;
next:
        pthread_mutex_unlock(&peer->lock);
        wg_keypair_put(kp);
        wg_peer_put(peer);
        pkt->keypair = NULL;
        pkt->peer = NULL;
    }
    pthread_rwlock_unlock(&p->cfg_lock);
}
