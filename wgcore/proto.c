/* proto.c - the protocol behind proto.h: configuration, the three-stage
 * data path, handshake and cookie message handling, timers tick.
 *
 * Locking and object lifetimes are described in peer.h.  Data-path stages
 * take each lock once per packet at most and never allocate.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "wgcore/proto.h"
#include "wgcore/peer.h"
#include "wgcore/aead.h"
#include "wgcore/allowedips.h"
#include "wgcore/ratelimiter.h"

/* Under load: more handshake messages than this in one second.  Handshakes
 * are processed synchronously (about four X25519 each), so this bounds the
 * time spent on them to a few percent of a core before cookies kick in. */
#define WG_UNDER_LOAD_PER_SEC 256u

uint64_t wg_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * WG_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t wg_proto_realtime_ns(uint64_t now)
{
    struct timespec ts;
    int64_t real, delta;

    clock_gettime(CLOCK_REALTIME, &ts);
    real = (int64_t)ts.tv_sec * (int64_t)WG_NSEC_PER_SEC + ts.tv_nsec;
    /* now is "monotonic now" as the device saw it (or a test's clock):
     * shift the wall clock by the same distance. */
    delta = (int64_t)(wg_now() - now);
    return (uint64_t)(real - delta);
}

int wg_proto_create(const struct wg_proto_io *io, struct wg_proto **out)
{
    struct wg_proto *p;
    pthread_rwlockattr_t attr;

    wg_noise_init();
    wg_aead_select();
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    if (io)
        p->io = *io;
    p->aips = wg_allowedips_new();
    p->ratelimiter = wg_ratelimiter_new();
    if (!p->aips || !p->ratelimiter) {
        wg_allowedips_free(p->aips);
        wg_ratelimiter_free(p->ratelimiter);
        free(p);
        return -ENOMEM;
    }
    /* Writer-preferring, so a busy data path cannot starve wg set. */
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&p->cfg_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&p->load_lock, NULL);
    wg_cookie_checker_init(&p->cookie_checker);
    wg_index_init(&p->index);
    *out = p;
    return 0;
}

void wg_proto_destroy(struct wg_proto *p)
{
    if (!p)
        return;
    pthread_rwlock_wrlock(&p->cfg_lock);
    while (p->peers_head)
        wg_peer_remove(p, p->peers_head);
    pthread_rwlock_unlock(&p->cfg_lock);
    wg_allowedips_free(p->aips);
    wg_ratelimiter_free(p->ratelimiter);
    wg_cookie_checker_destroy(&p->cookie_checker);
    wg_index_destroy(&p->index);
    pthread_mutex_destroy(&p->load_lock);
    pthread_rwlock_destroy(&p->cfg_lock);
    sodium_memzero(p, sizeof(*p));
    free(p);
}

void wg_proto_set_mtu(struct wg_proto *p, unsigned mtu)
{
    atomic_store(&p->mtu, mtu);
}

/* ---- configuration ---- */

static int validate_config(const struct wg_device_config *cfg)
{
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct wg_peer_config *pc = &cfg->peers[i];

        if (pc->has_endpoint) {
            int fam = pc->endpoint.addr.sa.sa_family;
            if (fam != AF_UNSPEC && fam != AF_INET && fam != AF_INET6 && fam != AF_VSOCK)
                return -EINVAL;
        }
        if (pc->n_allowed_ips && !pc->allowed_ips)
            return -EINVAL;
        for (size_t j = 0; j < pc->n_allowed_ips; j++) {
            const struct wg_allowedip *a = &pc->allowed_ips[j];
            if (!((a->family == AF_INET && a->cidr <= 32) ||
                  (a->family == AF_INET6 && a->cidr <= 128)))
                return -EINVAL;
        }
    }
    return 0;
}

static bool is_own_key(struct wg_proto *p, const uint8_t pub[32])
{
    return p->id.has_identity && sodium_memcmp(p->id.public_key, pub, 32) == 0;
}

static void set_private_key(struct wg_proto *p, const uint8_t key[32])
{
    struct wg_peer *peer, *next;

    if (sodium_is_zero(key, 32)) {
        if (!p->id.has_identity)
            return;
        sodium_memzero(&p->id, sizeof(p->id));
    } else {
        if (p->id.has_identity && sodium_memcmp(p->id.private_key, key, 32) == 0)
            return;
        memcpy(p->id.private_key, key, 32);
        wg_noise_public_from_private(p->id.public_key, key);
        p->id.has_identity = true;
    }
    wg_cookie_checker_set_key(&p->cookie_checker, p->id.has_identity ? p->id.public_key : NULL);
    for (peer = p->peers_head; peer; peer = next) {
        next = peer->next;
        /* A peer with our own public key makes no sense: drop it (kernel). */
        if (is_own_key(p, peer->public_key)) {
            wg_peer_remove(p, peer);
            continue;
        }
        pthread_mutex_lock(&peer->lock);
        wg_noise_precompute_static_static(&peer->handshake, &p->id);
        wg_noise_handshake_clear(&peer->handshake, &p->index);
        /* Sessions made with the old key stop sending; the next packet
         * makes a new handshake with the new key. */
        wg_keypairs_expire_send(&peer->keypairs);
        peer->has_sent_handshake = false;
        pthread_mutex_unlock(&peer->lock);
    }
}

static int apply_peer(struct wg_proto *p, const struct wg_peer_config *pc,
                      struct wg_peer **fresh, uint64_t now)
{
    struct wg_peer *peer = wg_peer_lookup(p, pc->public_key);
    int err = 0;

    if (pc->remove) {
        if (peer)
            wg_peer_remove(p, peer);
        return 0;
    }
    if (is_own_key(p, pc->public_key))
        return 0;
    if (!peer) {
        if (pc->update_only || !*fresh)
            return 0;
        peer = *fresh;
        *fresh = NULL;
        wg_peer_link(p, peer);
        /* Existing peers were recomputed by set_private_key if needed. */
        wg_noise_precompute_static_static(&peer->handshake, &p->id);
    }

    pthread_mutex_lock(&peer->lock);
    if (pc->has_preshared_key)
        memcpy(peer->handshake.preshared_key, pc->preshared_key, 32);
    if (pc->has_endpoint)
        peer->endpoint = pc->endpoint;
    pthread_mutex_unlock(&peer->lock);

    if (pc->replace_allowed_ips)
        wg_allowedips_remove_peer(p->aips, peer);
    for (size_t j = 0; j < pc->n_allowed_ips; j++) {
        const struct wg_allowedip *a = &pc->allowed_ips[j];
        int r = wg_allowedips_insert(p->aips, a->family, a->ip, a->cidr, peer);
        if (r < 0 && !err)
            err = r;
    }

    if (pc->has_persistent_keepalive) {
        pthread_mutex_lock(&peer->lock);
        uint16_t prior = peer->persistent_keepalive;
        peer->persistent_keepalive = pc->persistent_keepalive;
        if (!pc->persistent_keepalive)
            peer->timers.persistent_keepalive = 0;
        else if (!prior)
            wg_peer_send_keepalive(peer, now);   /* start at once, as the kernel */
        pthread_mutex_unlock(&peer->lock);
    }
    return err;
}

int wg_proto_apply(struct wg_proto *p, const struct wg_device_config *cfg, uint64_t now)
{
    struct wg_peer **fresh = NULL;
    int err;

    if (!cfg || (cfg->n_peers && !cfg->peers))
        return -EINVAL;
    err = validate_config(cfg);
    if (err)
        return err;
    /* Allocate every peer that may be created before changing anything. */
    if (cfg->n_peers) {
        fresh = calloc(cfg->n_peers, sizeof(*fresh));
        if (!fresh)
            return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->n_peers; i++) {
        if (cfg->peers[i].remove || cfg->peers[i].update_only)
            continue;
        fresh[i] = wg_peer_new(p, cfg->peers[i].public_key);
        if (!fresh[i]) {
            for (size_t j = 0; j < i; j++)
                wg_peer_put(fresh[j]);
            free(fresh);
            return -ENOMEM;
        }
    }

    pthread_rwlock_wrlock(&p->cfg_lock);
    if (cfg->has_private_key)
        set_private_key(p, cfg->private_key);
    if (cfg->replace_peers)
        while (p->peers_head)
            wg_peer_remove(p, p->peers_head);
    for (size_t i = 0; i < cfg->n_peers; i++) {
        int r = apply_peer(p, &cfg->peers[i], &fresh[i], now);
        if (r && !err)
            err = r;    /* -ENOMEM inserting allowed-ips: reported, rest applied */
    }
    pthread_rwlock_unlock(&p->cfg_lock);

    for (size_t i = 0; i < cfg->n_peers; i++)
        wg_peer_put(fresh[i]);
    free(fresh);
    return err;
}

int wg_proto_get(struct wg_proto *p, struct wg_device_info *info, uint64_t now)
{
    struct wg_peer *peer;
    size_t i = 0;

    (void)now;
    pthread_rwlock_rdlock(&p->cfg_lock);
    info->has_private_key = p->id.has_identity;
    if (p->id.has_identity) {
        memcpy(info->private_key, p->id.private_key, 32);
        memcpy(info->public_key, p->id.public_key, 32);
    } else {
        memset(info->private_key, 0, 32);
        memset(info->public_key, 0, 32);
    }
    info->n_peers = 0;
    info->peers = NULL;
    if (p->n_peers) {
        info->peers = calloc(p->n_peers, sizeof(*info->peers));
        if (!info->peers)
            goto nomem;
    }
    for (peer = p->peers_head; peer; peer = peer->next, i++) {
        struct wg_peer_info *pi = &info->peers[i];
        size_t n;

        info->n_peers = i + 1;
        memcpy(pi->public_key, peer->public_key, 32);
        pthread_mutex_lock(&peer->lock);
        pi->has_preshared_key = !sodium_is_zero(peer->handshake.preshared_key, 32);
        memcpy(pi->preshared_key, peer->handshake.preshared_key, 32);
        pi->has_endpoint = peer->endpoint.addr.sa.sa_family != AF_UNSPEC;
        pi->endpoint = peer->endpoint;
        pi->persistent_keepalive = peer->persistent_keepalive;
        pi->last_handshake = peer->last_handshake_real;
        pi->rx_bytes = peer->rx_bytes;
        pi->tx_bytes = peer->tx_bytes;
        pthread_mutex_unlock(&peer->lock);
        n = wg_allowedips_list(p->aips, peer, NULL, 0);
        if (n) {
            pi->allowed_ips = calloc(n, sizeof(*pi->allowed_ips));
            if (!pi->allowed_ips)
                goto nomem;
            pi->n_allowed_ips = wg_allowedips_list(p->aips, peer, pi->allowed_ips, n);
        }
    }
    pthread_rwlock_unlock(&p->cfg_lock);
    return 0;
nomem:
    pthread_rwlock_unlock(&p->cfg_lock);
    for (i = 0; i < info->n_peers; i++)
        free(info->peers[i].allowed_ips);
    if (info->peers)
        sodium_memzero(info->peers, info->n_peers * sizeof(*info->peers));
    free(info->peers);
    info->peers = NULL;
    info->n_peers = 0;
    sodium_memzero(info->private_key, 32);
    return -ENOMEM;
}

/* ---- inner IP headers ---- */

static inline uint16_t be16(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

/* Destination (tx) or source (rx) of an inner packet; 0 if not IPv4/6. */
static int inner_addr(const uint8_t *pkt, uint32_t len, bool source, const uint8_t **addr)
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

/* ---- TX ---- */

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
            wg_timers_any_authenticated_packet_traversal(peer, now);
            wg_timers_any_authenticated_packet_sent(peer);
            wg_timers_data_sent(peer, now);
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

/* ---- RX: handshake and cookie messages ---- */

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
    wg_timers_any_authenticated_packet_received(peer);
    wg_timers_any_authenticated_packet_traversal(peer, now);
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

    if (!wg_noise_consume_initiation_1(msg, &p->id, &tmp))
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
            wg_timers_session_derived(peer, now);
            wg_timers_any_authenticated_packet_traversal(peer, now);
            wg_timers_any_authenticated_packet_sent(peer);
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
    if (!peer->dead && wg_noise_consume_response(msg, &peer->handshake, &p->id)) {
        char name[WG_PEER_NAME_LEN];
        wg_log(WG_LOG_DEBUG, "%s: received handshake response", wg_peer_name(peer, name));
        pkt->verdict = WG_PKT_CONSUMED;
        pkt->authenticated = true;
        handshake_authenticated(peer, &pkt->ep, pkt->len, now);
        kp = wg_noise_begin_session(&peer->handshake, &p->index, now);
        if (kp) {
            wg_keypairs_install(&peer->keypairs, &p->index, kp);
            wg_timers_session_derived(peer, now);
            wg_timers_handshake_complete(peer, now);
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

/* ---- RX: data path ---- */

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
        len = be16(data + 2);
        if (len < 20 || len > pkt->len)
            return false;
    } else if (fam == AF_INET6) {
        len = 40u + be16(data + 4);
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
            wg_timers_handshake_complete(peer, now);
            wg_peer_send_staged(peer, now);
        }
        wg_peer_keep_key_fresh_recv(peer, now);
        wg_timers_any_authenticated_packet_received(peer);
        wg_timers_any_authenticated_packet_traversal(peer, now);
        if (pkt->ep.addr.sa.sa_family != AF_UNSPEC)
            peer->endpoint = pkt->ep;       /* roaming */
        peer->rx_bytes += pkt->len + WG_MSG_DATA_MIN_LEN;
        if (!pkt->len) {
            pkt->verdict = WG_PKT_CONSUMED; /* keepalive */
            goto next;
        }
        wg_timers_data_received(peer, now);
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

/* ---- timers and reconnects ---- */

uint64_t wg_proto_tick(struct wg_proto *p, uint64_t now)
{
    uint64_t next = now + WG_PROTO_TICK_NS;

    pthread_rwlock_rdlock(&p->cfg_lock);
    for (struct wg_peer *peer = p->peers_head; peer; peer = peer->next) {
        uint64_t t;

        pthread_mutex_lock(&peer->lock);
        t = wg_timers_run(peer, now);
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
