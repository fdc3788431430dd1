/* timers.h - the per-peer timers of the whitepaper (section 6) and the
 * kernel's timers.c, as deadlines on an injected monotonic clock.
 *
 * The events below arm and disarm them (caller holds the peer lock);
 * wg_peer_run_timers() (peer.c), called from wg_proto_tick, takes the due
 * ones with wg_timers_due() and acts.  Only state here: no peer, no I/O.
 *
 *   retransmit_handshake  REKEY_TIMEOUT + jitter after an initiation; retries
 *                         until REKEY_ATTEMPT_TIME, then gives up (staged
 *                         packets dropped, keys zeroed later)
 *   send_keepalive        KEEPALIVE_TIMEOUT after data received with nothing
 *                         sent back (passive keepalive)
 *   new_handshake         KEEPALIVE + REKEY_TIMEOUT + jitter after data sent
 *                         with nothing heard back
 *   zero_key_material     3 * REJECT_AFTER_TIME after the last new session
 *   persistent_keepalive  every persistent_keepalive seconds of silence
 */
#ifndef WGVSOCK_TIMERS_H
#define WGVSOCK_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

struct wg_timers {
    /* deadlines in monotonic ns; 0 = not armed */
    uint64_t retransmit_handshake;
    uint64_t send_keepalive;
    uint64_t new_handshake;
    uint64_t zero_key_material;
    uint64_t persistent_keepalive;
    unsigned handshake_attempts;
    bool need_another_keepalive;
    bool sent_lastminute_handshake;
};

void wg_timers_data_sent(struct wg_timers *t, uint64_t now);
void wg_timers_data_received(struct wg_timers *t, uint64_t now);
void wg_timers_any_authenticated_packet_sent(struct wg_timers *t);
void wg_timers_any_authenticated_packet_received(struct wg_timers *t);
/* persistent_keepalive: the peer's interval in seconds, 0 = off. */
void wg_timers_any_authenticated_packet_traversal(struct wg_timers *t,
                                                  uint16_t persistent_keepalive, uint64_t now);
void wg_timers_handshake_initiated(struct wg_timers *t, uint64_t now);
void wg_timers_handshake_complete(struct wg_timers *t);
void wg_timers_session_derived(struct wg_timers *t, uint64_t now);
void wg_timers_stop(struct wg_timers *t);

/* True (and disarmed) if the deadline is armed and due at now. */
bool wg_timers_due(uint64_t *deadline, uint64_t now);
/* The earliest armed deadline, or UINT64_MAX if none is armed. */
uint64_t wg_timers_next(const struct wg_timers *t);

/* REKEY_TIMEOUT jitter: uniform in [0, 1/3 s). */
uint64_t wg_timers_jitter(void);

#endif
