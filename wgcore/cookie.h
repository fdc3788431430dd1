/* cookie.h - mac1 / mac2 and cookie replies (whitepaper 5.4.4, 5.4.7).
 *
 * The checker is the device's side: it validates mac1 (keyed by our public
 * key) and, under load, mac2 (keyed by a cookie derived from the sender's
 * address and a secret that rotates every two minutes), and makes cookie
 * replies.  The maker is a peer's side: it adds mac1/mac2 to the messages we
 * send that peer and consumes the cookie replies it sends us.
 */
#ifndef WGVSOCK_COOKIE_H
#define WGVSOCK_COOKIE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "wgcore/sockaddr.h"
#include "wgcore/messages.h"

enum wg_cookie_mac_state {
    WG_COOKIE_INVALID_MAC = 0,
    WG_COOKIE_VALID_MAC_NO_COOKIE,      /* mac1 fine, mac2 not checked or wrong */
    WG_COOKIE_VALID_MAC_WITH_COOKIE,    /* mac1 and mac2 fine */
};

struct wg_cookie_checker {
    pthread_mutex_t lock;                       /* the secret */
    uint8_t secret[32];
    uint64_t secret_birthdate;
    bool has_secret;
    /* From our public key; changed only under the device's config lock. */
    uint8_t message_mac1_key[32];
    uint8_t message_cookie_key[32];
    bool has_keys;
};

void wg_cookie_checker_init(struct wg_cookie_checker *c);
void wg_cookie_checker_destroy(struct wg_cookie_checker *c);
/* Our public key changed (NULL: no identity). */
void wg_cookie_checker_set_key(struct wg_cookie_checker *c, const uint8_t *public_key);
/* msg is a whole handshake message of len bytes ending in the macs. */
enum wg_cookie_mac_state wg_cookie_validate(struct wg_cookie_checker *c, const uint8_t *msg,
                                            size_t len, const struct wg_sockaddr *src,
                                            bool check_cookie, uint64_t now);
/* The reply to msg (whose sender index is sender_index) from src. */
void wg_cookie_reply_create(struct wg_msg_cookie *dst, struct wg_cookie_checker *c,
                            const uint8_t *msg, size_t len, uint32_t sender_index,
                            const struct wg_sockaddr *src, uint64_t now);

struct wg_cookie_maker {
    uint8_t message_mac1_key[32];
    uint8_t cookie_decryption_key[32];
    uint8_t cookie[WG_COOKIE_LEN];
    uint64_t cookie_birthdate;
    bool is_valid;
    uint8_t last_mac1_sent[WG_COOKIE_LEN];
    bool have_sent_mac1;
};

void wg_cookie_maker_init(struct wg_cookie_maker *m, const uint8_t remote_public[32]);
/* Writes mac1 and (with a fresh cookie) mac2 at the end of msg. */
void wg_cookie_add_macs(struct wg_cookie_maker *m, uint8_t *msg, size_t len, uint64_t now);
/* Decrypts a cookie reply for the last message we sent. 0 or -EINVAL. */
int wg_cookie_consume_reply(struct wg_cookie_maker *m, const struct wg_msg_cookie *src,
                            uint64_t now);

#endif
