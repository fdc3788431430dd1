/* noise.h - the Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake of the
 * WireGuard whitepaper (section 5.4), as functions over a peer's handshake
 * state and the wire messages.  No locking (the caller holds the peer's lock
 * and a read lock on the static identity), no I/O, no clock: time and the
 * TAI64N timestamp are arguments.
 */
#ifndef WGVSOCK_NOISE_H
#define WGVSOCK_NOISE_H

#include <stdbool.h>
#include <stdint.h>
#include "wgcore/keypair.h"
#include "wgcore/messages.h"

struct wg_static_identity {
    uint8_t private_key[WG_PRIVATE_KEY_LEN];
    uint8_t public_key[WG_PUBLIC_KEY_LEN];
    bool has_identity;
};

enum wg_handshake_state {
    WG_HS_ZEROED = 0,
    WG_HS_CREATED_INITIATION,
    WG_HS_CONSUMED_INITIATION,
    WG_HS_CREATED_RESPONSE,
    WG_HS_CONSUMED_RESPONSE,
};

struct wg_handshake {
    struct wg_index_entry entry;                /* type WG_INDEX_HANDSHAKE */
    enum wg_handshake_state state;
    uint8_t remote_static[WG_PUBLIC_KEY_LEN];
    /* DH(our static, their static); all zero when that DH is invalid (a
     * low-order public key): then no handshake is ever made or accepted. */
    uint8_t precomputed_static_static[WG_PUBLIC_KEY_LEN];
    uint8_t preshared_key[WG_SYMMETRIC_KEY_LEN];
    uint8_t ephemeral_private[WG_PRIVATE_KEY_LEN];
    uint8_t remote_ephemeral[WG_PUBLIC_KEY_LEN];
    uint8_t hash[WG_HASH_LEN];
    uint8_t chaining_key[WG_HASH_LEN];
    uint8_t latest_timestamp[WG_TIMESTAMP_LEN];
    uint64_t last_initiation_consumption;       /* monotonic ns, 0 = never */
    bool has_consumed_initiation;
    uint32_t remote_index;
};

/* Process-wide constants (HASH(CONSTRUCTION), HASH(.. || IDENTIFIER)). */
void wg_noise_init(void);

/* Public key from a private key (clamped as X25519 does). */
void wg_noise_public_from_private(uint8_t pub[32], const uint8_t priv[32]);

/* Sets up a peer's handshake for remote_static and computes the
 * static-static DH with identity (zero if none or invalid). */
void wg_noise_handshake_init(struct wg_handshake *hs, struct wg_peer *peer,
                             const uint8_t remote_static[32], const uint8_t psk[32],
                             const struct wg_static_identity *id);
void wg_noise_precompute_static_static(struct wg_handshake *hs,
                                       const struct wg_static_identity *id);
/* Forget the handshake in progress (keeps the remote static, psk, the
 * precomputed DH and the replay timestamp), unlinking its index. */
void wg_noise_handshake_clear(struct wg_handshake *hs, struct wg_index_table *t);
/* Wipe everything, including the replay timestamp (keys zeroed). */
void wg_noise_handshake_wipe(struct wg_handshake *hs, struct wg_index_table *t);

/* Initiator.  Fills everything but mac1/mac2.  False (nothing changes) if
 * there is no identity or the static-static DH is invalid. */
bool wg_noise_create_initiation(struct wg_msg_initiation *dst, struct wg_handshake *hs,
                                const struct wg_static_identity *id, struct wg_index_table *t,
                                const uint8_t timestamp[WG_TIMESTAMP_LEN]);

/* Responder, step 1 (before we know the peer): mix the ephemeral, decrypt
 * the initiator's static key.  The state goes to step 2 through tmp. */
struct wg_noise_initiation_tmp {
    uint8_t chaining_key[WG_HASH_LEN];
    uint8_t hash[WG_HASH_LEN];
    uint8_t remote_ephemeral[WG_PUBLIC_KEY_LEN];
    uint8_t remote_static[WG_PUBLIC_KEY_LEN];
};
bool wg_noise_consume_initiation_1(const struct wg_msg_initiation *src,
                                   const struct wg_static_identity *id,
                                   struct wg_noise_initiation_tmp *tmp);
/* Step 2, with the peer found and locked: static-static DH, timestamp
 * (strictly newer than any seen from this peer, and initiations no faster
 * than INITIATIONS_PER_SECOND), then the state becomes CONSUMED_INITIATION.
 * tmp is wiped either way. */
bool wg_noise_consume_initiation_2(const struct wg_msg_initiation *src, struct wg_handshake *hs,
                                   struct wg_noise_initiation_tmp *tmp, uint64_t now);

/* Responder: needs CONSUMED_INITIATION; fills everything but the macs. */
bool wg_noise_create_response(struct wg_msg_response *dst, struct wg_handshake *hs,
                              struct wg_index_table *t);
/* Initiator: hs must be in CREATED_INITIATION under src->receiver_index. */
bool wg_noise_consume_response(const struct wg_msg_response *src, struct wg_handshake *hs,
                               const struct wg_static_identity *id);

/* Derives the transport keys (KDF2 of the chaining key) into a new keypair
 * that takes over the handshake's index; the handshake is cleared.  Needs
 * CREATED_RESPONSE or CONSUMED_RESPONSE.  NULL on failure. */
struct wg_keypair *wg_noise_begin_session(struct wg_handshake *hs, struct wg_index_table *t,
                                          uint64_t now);

/* TAI64N of a CLOCK_REALTIME instant (ns since the epoch), rounded down to
 * a power of two below 1s/INITIATIONS_PER_SECOND so the timestamp does not
 * leak a precise clock (as the kernel). */
void wg_noise_tai64n(uint8_t out[WG_TIMESTAMP_LEN], uint64_t realtime_ns);

#endif
