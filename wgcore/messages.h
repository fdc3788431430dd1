/* messages.h - WireGuard wire format and protocol constants (whitepaper
 * section 5.4 and 6).  Every multi-byte field on the wire is little-endian;
 * the structs are packed so their sizes are the message sizes, and the
 * static asserts below keep them honest.
 */
#ifndef WGVSOCK_MESSAGES_H
#define WGVSOCK_MESSAGES_H

#include <stdint.h>

#define WG_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define WG_IDENTIFIER   "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define WG_LABEL_MAC1   "mac1----"
#define WG_LABEL_COOKIE "cookie--"

#define WG_PUBLIC_KEY_LEN   32u
#define WG_PRIVATE_KEY_LEN  32u
#define WG_SYMMETRIC_KEY_LEN 32u
#define WG_HASH_LEN         32u
#define WG_TIMESTAMP_LEN    12u          /* TAI64N */
#define WG_AUTHTAG_LEN      16u
#define WG_COOKIE_LEN       16u
#define WG_COOKIE_NONCE_LEN 24u          /* XChaCha20-Poly1305 */

/* Protocol time constants (whitepaper 6.1), in nanoseconds where timed. */
#define WG_NSEC_PER_SEC             1000000000ull
#define WG_REKEY_AFTER_MESSAGES     (1ull << 60)
#define WG_REJECT_AFTER_MESSAGES    (UINT64_MAX - 8192ull)   /* 2^64 - 2^13 - 1 */
#define WG_REKEY_TIMEOUT            (5ull * WG_NSEC_PER_SEC)
#define WG_REKEY_TIMEOUT_JITTER_MAX (WG_NSEC_PER_SEC / 3)
#define WG_KEEPALIVE_TIMEOUT        (10ull * WG_NSEC_PER_SEC)
#define WG_REKEY_AFTER_TIME         (120ull * WG_NSEC_PER_SEC)
#define WG_REJECT_AFTER_TIME        (180ull * WG_NSEC_PER_SEC)
#define WG_REKEY_ATTEMPT_TIME       (90ull * WG_NSEC_PER_SEC)
#define WG_MAX_TIMER_HANDSHAKES     (90 / 5)   /* REKEY_ATTEMPT_TIME / REKEY_TIMEOUT */
#define WG_COOKIE_SECRET_MAX_AGE    (120ull * WG_NSEC_PER_SEC)
#define WG_COOKIE_SECRET_LATENCY    (5ull * WG_NSEC_PER_SEC)
#define WG_INITIATIONS_PER_SECOND   50u
#define WG_MAX_STAGED_PACKETS       128u

enum wg_message_type {
    WG_MSG_INITIATION = 1,
    WG_MSG_RESPONSE = 2,
    WG_MSG_COOKIE = 3,
    WG_MSG_DATA = 4,
};

/* type is one byte followed by three reserved zero bytes: read as a
 * little-endian u32 it is just the type. */
struct wg_msg_header {
    uint32_t type;
} __attribute__((packed));

struct wg_msg_macs {
    uint8_t mac1[WG_COOKIE_LEN];
    uint8_t mac2[WG_COOKIE_LEN];
} __attribute__((packed));

struct wg_msg_initiation {
    struct wg_msg_header header;
    uint32_t sender_index;
    uint8_t unencrypted_ephemeral[WG_PUBLIC_KEY_LEN];
    uint8_t encrypted_static[WG_PUBLIC_KEY_LEN + WG_AUTHTAG_LEN];
    uint8_t encrypted_timestamp[WG_TIMESTAMP_LEN + WG_AUTHTAG_LEN];
    struct wg_msg_macs macs;
} __attribute__((packed));

struct wg_msg_response {
    struct wg_msg_header header;
    uint32_t sender_index;
    uint32_t receiver_index;
    uint8_t unencrypted_ephemeral[WG_PUBLIC_KEY_LEN];
    uint8_t encrypted_nothing[WG_AUTHTAG_LEN];
    struct wg_msg_macs macs;
} __attribute__((packed));

struct wg_msg_cookie {
    struct wg_msg_header header;
    uint32_t receiver_index;
    uint8_t nonce[WG_COOKIE_NONCE_LEN];
    uint8_t encrypted_cookie[WG_COOKIE_LEN + WG_AUTHTAG_LEN];
} __attribute__((packed));

struct wg_msg_data {
    struct wg_msg_header header;
    uint32_t key_idx;
    uint64_t counter;
    uint8_t encrypted_data[];
} __attribute__((packed));

#define WG_MSG_INITIATION_LEN 148u
#define WG_MSG_RESPONSE_LEN    92u
#define WG_MSG_COOKIE_LEN      64u
#define WG_MSG_DATA_HEADER_LEN 16u
#define WG_MSG_DATA_MIN_LEN    (WG_MSG_DATA_HEADER_LEN + WG_AUTHTAG_LEN)   /* keepalive: 32 */
#define WG_MSG_PADDING         16u

_Static_assert(sizeof(struct wg_msg_initiation) == WG_MSG_INITIATION_LEN, "initiation size");
_Static_assert(sizeof(struct wg_msg_response) == WG_MSG_RESPONSE_LEN, "response size");
_Static_assert(sizeof(struct wg_msg_cookie) == WG_MSG_COOKIE_LEN, "cookie size");
_Static_assert(sizeof(struct wg_msg_data) == WG_MSG_DATA_HEADER_LEN, "data header size");

/* Offsets of mac1 / mac2 from the end of a message: mac1 covers everything
 * before it, mac2 everything before it including mac1. */
#define WG_MSG_MAC1_OFF(len) ((len) - sizeof(struct wg_msg_macs))
#define WG_MSG_MAC2_OFF(len) ((len) - WG_COOKIE_LEN)

/* Little-endian helpers (the wire is LE; so is every CPU we build for, but
 * say what we mean). */
static inline uint32_t wg_le32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline uint64_t wg_le64(const void *p)
{
    const uint8_t *b = p;
    return (uint64_t)wg_le32(b) | (uint64_t)wg_le32(b + 4) << 32;
}
static inline void wg_put_le32(void *p, uint32_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); b[2] = (uint8_t)(v >> 16); b[3] = (uint8_t)(v >> 24);
}
static inline void wg_put_le64(void *p, uint64_t v)
{
    wg_put_le32(p, (uint32_t)v);
    wg_put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

#endif
