/* timers.c - whitepaper section 6 timers as deadlines (see timers.h). */
#include <sodium.h>

#include "wgcore/peer.h"

uint64_t wg_timers_jitter(void)
{
    return (uint64_t)randombytes_uniform((uint32_t)(WG_REKEY_TIMEOUT_JITTER_MAX / 1000)) * 1000u;
}

/* Data sent and nothing heard back: start a new handshake if the peer
 * stays silent for KEEPALIVE + REKEY_TIMEOUT. */
void wg_timers_data_sent(struct wg_peer *peer, uint64_t now)
{
    if (!peer->timers.new_handshake)
        peer->timers.new_handshake = now + WG_KEEPALIVE_TIMEOUT + WG_REKEY_TIMEOUT +
                                     wg_timers_jitter();
}

/* Data received: answer with a keepalive if we have nothing to send. */
void wg_timers_data_received(struct wg_peer *peer, uint64_t now)
{
    if (!peer->timers.send_keepalive)
        peer->timers.send_keepalive = now + WG_KEEPALIVE_TIMEOUT;
    else
        peer->timers.need_another_keepalive = true;
}

void wg_timers_any_authenticated_packet_sent(struct wg_peer *peer)
{
    peer->timers.send_keepalive = 0;
}

void wg_timers_any_authenticated_packet_received(struct wg_peer *peer)
{
    peer->timers.new_handshake = 0;
}

void wg_timers_any_authenticated_packet_traversal(struct wg_peer *peer, uint64_t now)
{
    if (peer->persistent_keepalive)
        peer->timers.persistent_keepalive =
            now + (uint64_t)peer->persistent_keepalive * WG_NSEC_PER_SEC;
}

void wg_timers_handshake_initiated(struct wg_peer *peer, uint64_t now)
{
    peer->timers.retransmit_handshake = now + WG_REKEY_TIMEOUT + wg_timers_jitter();
}

void wg_timers_handshake_complete(struct wg_peer *peer, uint64_t now)
{
    peer->timers.retransmit_handshake = 0;
    peer->timers.handshake_attempts = 0;
    peer->timers.sent_lastminute_handshake = false;
    peer->last_handshake = now;
    uint64_t rt = wg_proto_realtime_ns(now);
    peer->last_handshake_real.tv_sec = (time_t)(rt / WG_NSEC_PER_SEC);
    peer->last_handshake_real.tv_nsec = (long)(rt % WG_NSEC_PER_SEC);
}

void wg_timers_session_derived(struct wg_peer *peer, uint64_t now)
{
    peer->timers.zero_key_material = now + 3 * WG_REJECT_AFTER_TIME;
}

void wg_timers_stop(struct wg_peer *peer)
{
    peer->timers.retransmit_handshake = 0;
    peer->timers.send_keepalive = 0;
    peer->timers.new_handshake = 0;
    peer->timers.zero_key_material = 0;
    peer->timers.persistent_keepalive = 0;
}

static bool due(uint64_t *deadline, uint64_t now)
{
    if (!*deadline || *deadline > now)
        return false;
    *deadline = 0;
    return true;
}

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

uint64_t wg_timers_run(struct wg_peer *peer, uint64_t now)
{
    struct wg_timers *t = &peer->timers;
    uint64_t next = UINT64_MAX;

    if (peer->dead)
        return next;
    if (due(&t->retransmit_handshake, now))
        expired_retransmit_handshake(peer, now);
    if (due(&t->send_keepalive, now))
        expired_send_keepalive(peer, now);
    if (due(&t->new_handshake, now))
        wg_peer_send_initiation(peer, now, false);
    if (due(&t->zero_key_material, now))
        wg_peer_zero_keys(peer);
    if (due(&t->persistent_keepalive, now) && peer->persistent_keepalive)
        wg_peer_send_keepalive(peer, now);

    const uint64_t deadlines[] = { t->retransmit_handshake, t->send_keepalive, t->new_handshake,
                                   t->zero_key_material, t->persistent_keepalive };
    for (unsigned i = 0; i < sizeof(deadlines) / sizeof(deadlines[0]); i++)
        if (deadlines[i] && deadlines[i] < next)
            next = deadlines[i];
    return next;
}
