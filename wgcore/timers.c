/* timers.c - whitepaper section 6 timers as deadlines (see timers.h). */
#include <sodium.h>

#include "wgcore/messages.h"
#include "wgcore/timers.h"

uint64_t wg_timers_jitter(void)
{
    return (uint64_t)randombytes_uniform((uint32_t)(WG_REKEY_TIMEOUT_JITTER_MAX / 1000)) * 1000u;
}

/* Data sent and nothing heard back: start a new handshake if the peer
 * stays silent for KEEPALIVE + REKEY_TIMEOUT. */
void wg_timers_data_sent(struct wg_timers *t, uint64_t now)
{
    if (!t->new_handshake)
        t->new_handshake = now + WG_KEEPALIVE_TIMEOUT + WG_REKEY_TIMEOUT + wg_timers_jitter();
}

/* Data received: answer with a keepalive if we have nothing to send. */
void wg_timers_data_received(struct wg_timers *t, uint64_t now)
{
    if (!t->send_keepalive)
        t->send_keepalive = now + WG_KEEPALIVE_TIMEOUT;
    else
        t->need_another_keepalive = true;
}

void wg_timers_any_authenticated_packet_sent(struct wg_timers *t)
{
    t->send_keepalive = 0;
}

void wg_timers_any_authenticated_packet_received(struct wg_timers *t)
{
    t->new_handshake = 0;
}

void wg_timers_any_authenticated_packet_traversal(struct wg_timers *t,
                                                  uint16_t persistent_keepalive, uint64_t now)
{
    if (persistent_keepalive)
        t->persistent_keepalive = now + (uint64_t)persistent_keepalive * WG_NSEC_PER_SEC;
}

void wg_timers_handshake_initiated(struct wg_timers *t, uint64_t now)
{
    t->retransmit_handshake = now + WG_REKEY_TIMEOUT + wg_timers_jitter();
}

void wg_timers_handshake_complete(struct wg_timers *t)
{
    t->retransmit_handshake = 0;
    t->handshake_attempts = 0;
    t->sent_lastminute_handshake = false;
}

void wg_timers_session_derived(struct wg_timers *t, uint64_t now)
{
    t->zero_key_material = now + 3 * WG_REJECT_AFTER_TIME;
}

void wg_timers_stop(struct wg_timers *t)
{
    t->retransmit_handshake = 0;
    t->send_keepalive = 0;
    t->new_handshake = 0;
    t->zero_key_material = 0;
    t->persistent_keepalive = 0;
}

bool wg_timers_due(uint64_t *deadline, uint64_t now)
{
    if (!*deadline || *deadline > now)
        return false;
    *deadline = 0;
    return true;
}

uint64_t wg_timers_next(const struct wg_timers *t)
{
    const uint64_t deadlines[] = { t->retransmit_handshake, t->send_keepalive, t->new_handshake,
                                   t->zero_key_material, t->persistent_keepalive };
    uint64_t next = UINT64_MAX;

    for (unsigned i = 0; i < sizeof(deadlines) / sizeof(deadlines[0]); i++)
        if (deadlines[i] && deadlines[i] < next)
            next = deadlines[i];
    return next;
}
