/* peer.c - a peer's lifetime, the messages we send it outside the batched
 * data path (handshakes, keepalives, staged packets), key freshness, and
 * what its timers do when they expire. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "wgcore/aead.h"
#include "wgcore/allowedips.h"
#include "wgcore/peer.h"
#include "wgcore/proto_state.h"
#include "wgcore/secret_mem.h"

static inline unsigned peer_bucket(const uint8_t pub[32])
{
    /* Public keys are uniformly distributed and only configured keys live
     * in this table, so the first bytes are a fine hash. */
    return wg_le32(pub) & (WG_PEER_BUCKETS - 1);
}

struct wg_peer *wg_peer_new(struct wg_proto *p, const uint8_t public_key[32])
{
    /* Secret memory: the handshake holds the static-static DH, the
     * preshared key and ephemeral keys. */
    struct wg_peer *peer = wg_secret_alloc(sizeof(*peer));

    if (!peer)
        return NULL;
    peer->proto = p;
    pthread_mutex_init(&peer->lock, NULL);
    atomic_init(&peer->refs, 1);
    memcpy(peer->public_key, public_key, 32);
    /* The static-static DH is computed when the peer is linked, under the
     * config lock, with the identity of that moment. */
    wg_noise_handshake_init(&peer->handshake, peer, public_key, NULL, NULL);
    wg_cookie_maker_init(&peer->cookie, public_key);
    return peer;
}

void wg_peer_put(struct wg_peer *peer)
{
    if (!peer)
        return;
    if (atomic_fetch_sub_explicit(&peer->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_destroy(&peer->lock);
    if (peer->stage_arena) {
        sodium_memzero(peer->stage_arena, WG_STAGE_ARENA);
        free(peer->stage_arena);
    }
    wg_secret_free(peer, sizeof(*peer));
}

void wg_peer_link(struct wg_proto *p, struct wg_peer *peer)
{
    unsigned b = peer_bucket(peer->public_key);

    peer->hash_next = p->peer_hash[b];
    p->peer_hash[b] = peer;
    peer->prev = p->peers_tail;
    peer->next = NULL;
    if (p->peers_tail)
        p->peers_tail->next = peer;
    else
        p->peers_head = peer;
    p->peers_tail = peer;
    p->n_peers++;
}

void wg_peer_remove(struct wg_proto *p, struct wg_peer *peer)
{
    struct wg_peer **pp = &p->peer_hash[peer_bucket(peer->public_key)];

    for (; *pp; pp = &(*pp)->hash_next) {
        if (*pp == peer) {
            *pp = peer->hash_next;
            break;
        }
    }
    if (peer->prev)
        peer->prev->next = peer->next;
    else
        p->peers_head = peer->next;
    if (peer->next)
        peer->next->prev = peer->prev;
    else
        p->peers_tail = peer->prev;
    p->n_peers--;
    wg_allowedips_remove_peer(p->aips, peer);

    pthread_mutex_lock(&peer->lock);
    peer->dead = true;
    wg_timers_stop(&peer->timers);
    wg_noise_handshake_wipe(&peer->handshake, &p->index);
    wg_keypairs_clear(&peer->keypairs, &p->index);
    wg_peer_purge_staged(peer);
    pthread_mutex_unlock(&peer->lock);
    wg_peer_put(peer);
}

struct wg_peer *wg_peer_lookup(struct wg_proto *p, const uint8_t public_key[32])
{
    for (struct wg_peer *peer = p->peer_hash[peer_bucket(public_key)]; peer;
         peer = peer->hash_next)
        if (sodium_memcmp(peer->public_key, public_key, 32) == 0)
            return peer;
    return NULL;
}

const char *wg_peer_name(const struct wg_peer *peer, char out[WG_PEER_NAME_LEN])
{
    char b64[48];

    sodium_bin2base64(b64, sizeof(b64), peer->public_key, 32, sodium_base64_VARIANT_ORIGINAL);
    /* 44 chars: show the first and last four of the 43 significant ones */
    snprintf(out, WG_PEER_NAME_LEN, "peer(%.4s\u2026%.4s)", b64, b64 + 39);
    return out;
}

void wg_peer_emit(struct wg_peer *peer, const uint8_t *msg, uint32_t len)
{
    struct wg_proto *p = peer->proto;

    if (peer->endpoint.addr.sa.sa_family == AF_UNSPEC)
        return;     /* nowhere to send: no endpoint configured or learned yet */
    peer->tx_bytes += len;
    if (p->io.emit)
        p->io.emit(p->io.ctx, &peer->endpoint, msg, len);
}

void wg_peer_send_initiation(struct wg_peer *peer, uint64_t now, bool is_retry)
{
    struct wg_proto *p = peer->proto;
    struct wg_msg_initiation msg;
    uint8_t ts[WG_TIMESTAMP_LEN];

    if (peer->dead)
        return;
    if (!is_retry)
        peer->timers.handshake_attempts = 0;
    /* Rate limited: at most one initiation per REKEY_TIMEOUT. */
    if (peer->has_sent_handshake && now < peer->last_sent_handshake + WG_REKEY_TIMEOUT)
        return;
    wg_noise_tai64n(ts, wg_proto_realtime(p, now));
    if (!wg_noise_create_initiation(&msg, &peer->handshake, p->id, &p->index, ts))
        return;     /* no identity, or a low-order peer key: never send */
    peer->last_sent_handshake = now;
    peer->has_sent_handshake = true;
    char name[WG_PEER_NAME_LEN];
    wg_log(WG_LOG_DEBUG, "%s: sending handshake initiation%s", wg_peer_name(peer, name),
           is_retry ? " (retry)" : "");
    wg_cookie_add_macs(&peer->cookie, (uint8_t *)&msg, sizeof(msg), now);
    wg_timers_any_authenticated_packet_traversal(&peer->timers, peer->persistent_keepalive, now);
    wg_timers_any_authenticated_packet_sent(&peer->timers);
    wg_peer_emit(peer, (const uint8_t *)&msg, sizeof(msg));
    wg_timers_handshake_initiated(&peer->timers, now);
    sodium_memzero(&msg, sizeof(msg));
}

static uint32_t staged_room(uint32_t len)
{
    /* header + plaintext padded to 16 + tag, kept 16-aligned */
    return WG_MSG_DATA_HEADER_LEN + ((len + 15u) & ~15u) + WG_AUTHTAG_LEN;
}

bool wg_peer_stage(struct wg_peer *peer, const uint8_t *data, uint32_t len)
{
    uint32_t room = staged_room(len);
    struct wg_staged *s;

    if (!peer->stage_arena) {
        peer->stage_arena = malloc(WG_STAGE_ARENA);
        if (!peer->stage_arena)
            return false;
    }
    if (peer->n_staged >= WG_MAX_STAGED_PACKETS || room > WG_STAGE_ARENA - peer->stage_used)
        return false;
    s = &peer->staged[peer->n_staged++];
    s->off = peer->stage_used;
    s->len = len;
    if (len)
        memcpy(peer->stage_arena + s->off + WG_MSG_DATA_HEADER_LEN, data, len);
    peer->stage_used += room;
    return true;
}

void wg_peer_purge_staged(struct wg_peer *peer)
{
    if (peer->stage_arena && peer->stage_used)
        sodium_memzero(peer->stage_arena, peer->stage_used);
    peer->n_staged = 0;
    peer->stage_used = 0;
}

uint32_t wg_padded_len(uint32_t plen, unsigned mtu)
{
    uint32_t last = plen, padded;

    if (mtu && last > mtu)
        last %= mtu;
    padded = (last + (WG_MSG_PADDING - 1)) & ~(WG_MSG_PADDING - 1);
    if (mtu && padded > mtu)
        padded = mtu;
    return plen + (padded - last);
}

uint32_t wg_packet_seal(uint8_t *msg, uint32_t plen, const struct wg_keypair *kp,
                        uint64_t counter, unsigned mtu)
{
    uint32_t padded = wg_padded_len(plen, mtu);
    uint8_t *payload = msg + WG_MSG_DATA_HEADER_LEN;

    memset(payload + plen, 0, padded - plen);
    wg_put_le32(msg, WG_MSG_DATA);
    wg_put_le32(msg + 4, kp->remote_index);
    wg_put_le64(msg + 8, counter);
    wg_aead_seal(payload, payload, padded, counter, kp->send_key);
    return WG_MSG_DATA_HEADER_LEN + padded + WG_AUTHTAG_LEN;
}

void wg_peer_send_staged(struct wg_peer *peer, uint64_t now)
{
    struct wg_keypair *kp = peer->keypairs.current;
    unsigned i;

    if (peer->dead || !peer->n_staged)
        return;
    if (!wg_keypair_can_send(kp, now)) {
        wg_peer_send_initiation(peer, now, false);
        return;
    }
    for (i = 0; i < peer->n_staged; i++) {
        struct wg_staged *s = &peer->staged[i];
        uint8_t *msg = peer->stage_arena + s->off;
        uint64_t counter = atomic_fetch_add(&kp->send_counter, 1);
        uint32_t wire;

        if (counter >= WG_REJECT_AFTER_MESSAGES) {
            atomic_store(&kp->send_valid, false);
            /* keep the rest staged for the next session */
            memmove(peer->staged, peer->staged + i, (peer->n_staged - i) * sizeof(*s));
            peer->n_staged -= i;
            wg_peer_send_initiation(peer, now, false);
            return;
        }
        wire = wg_packet_seal(msg, s->len, kp, counter, atomic_load(&peer->proto->mtu));
        wg_peer_emit(peer, msg, wire);
        wg_timers_any_authenticated_packet_traversal(&peer->timers, peer->persistent_keepalive, now);
        wg_timers_any_authenticated_packet_sent(&peer->timers);
        if (s->len)
            wg_timers_data_sent(&peer->timers, now);
    }
    wg_peer_purge_staged(peer);
    wg_peer_keep_key_fresh_send(peer, now);
}

void wg_peer_send_keepalive(struct wg_peer *peer, uint64_t now)
{
    if (peer->dead)
        return;
    /* Staged packets, if any, serve as the keepalive. */
    if (!peer->n_staged && !wg_peer_stage(peer, NULL, 0))
        return;
    wg_peer_send_staged(peer, now);
}

void wg_peer_keep_key_fresh_send(struct wg_peer *peer, uint64_t now)
{
    struct wg_keypair *kp = peer->keypairs.current;

    if (kp && atomic_load(&kp->send_valid) &&
        (atomic_load(&kp->send_counter) > WG_REKEY_AFTER_MESSAGES ||
         (kp->i_am_initiator && now >= kp->birthdate + WG_REKEY_AFTER_TIME)))
        wg_peer_send_initiation(peer, now, false);
}

void wg_peer_keep_key_fresh_recv(struct wg_peer *peer, uint64_t now)
{
    struct wg_keypair *kp = peer->keypairs.current;

    if (peer->timers.sent_lastminute_handshake)
        return;
    /* The initiator's session is about to be rejected and nobody rekeyed
     * while sending: rekey now, once. */
    if (kp && atomic_load(&kp->send_valid) && kp->i_am_initiator &&
        now >= kp->birthdate + WG_REJECT_AFTER_TIME - WG_KEEPALIVE_TIMEOUT - WG_REKEY_TIMEOUT) {
        peer->timers.sent_lastminute_handshake = true;
        wg_peer_send_initiation(peer, now, false);
    }
}

void wg_peer_zero_keys(struct wg_peer *peer)
{
    char name[WG_PEER_NAME_LEN];

    wg_log(WG_LOG_DEBUG, "%s: zeroing keys", wg_peer_name(peer, name));
    wg_noise_handshake_clear(&peer->handshake, &peer->proto->index);
    wg_keypairs_clear(&peer->keypairs, &peer->proto->index);
}

void wg_peer_handshake_complete(struct wg_peer *peer, uint64_t now)
{
    uint64_t rt = wg_proto_realtime(peer->proto, now);

    wg_timers_handshake_complete(&peer->timers);
    peer->last_handshake = now;
    peer->last_handshake_real.tv_sec = (time_t)(rt / WG_NSEC_PER_SEC);
    peer->last_handshake_real.tv_nsec = (long)(rt % WG_NSEC_PER_SEC);
}

/* ---- timer expiry ---- */

static void expired_retransmit_handshake(struct wg_peer *peer, uint64_t now)
{
    if (peer->timers.handshake_attempts > WG_MAX_TIMER_HANDSHAKES) {
        /* Tried for REKEY_ATTEMPT_TIME: give up on the queued packets and
         * stop; the keys go when zero_key_material fires. */
        char name[WG_PEER_NAME_LEN];
        wg_log(WG_LOG_DEBUG, "%s: handshake did not complete after %u attempts, giving up",
               wg_peer_name(peer, name), WG_MAX_TIMER_HANDSHAKES + 2);
        peer->timers.send_keepalive = 0;
        wg_peer_purge_staged(peer);
        if (!peer->timers.zero_key_material)
            peer->timers.zero_key_material = now + 3 * WG_REJECT_AFTER_TIME;
        return;
    }
    peer->timers.handshake_attempts++;
    wg_peer_send_initiation(peer, now, true);
}

static void expired_send_keepalive(struct wg_peer *peer, uint64_t now)
{
    wg_peer_send_keepalive(peer, now);
    if (peer->timers.need_another_keepalive) {
        peer->timers.need_another_keepalive = false;
        peer->timers.send_keepalive = now + WG_KEEPALIVE_TIMEOUT;
    }
}

uint64_t wg_peer_run_timers(struct wg_peer *peer, uint64_t now)
{
    struct wg_timers *t = &peer->timers;

    if (peer->dead)
        return UINT64_MAX;
    if (wg_timers_due(&t->retransmit_handshake, now))
        expired_retransmit_handshake(peer, now);
    if (wg_timers_due(&t->send_keepalive, now))
        expired_send_keepalive(peer, now);
    if (wg_timers_due(&t->new_handshake, now))
        wg_peer_send_initiation(peer, now, false);
    if (wg_timers_due(&t->zero_key_material, now))
        wg_peer_zero_keys(peer);
    if (wg_timers_due(&t->persistent_keepalive, now) && peer->persistent_keepalive)
        wg_peer_send_keepalive(peer, now);
    return wg_timers_next(t);
}
