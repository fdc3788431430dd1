/* allowedips.h - cryptokey routing: longest-prefix match from an inner IP
 * address to the peer that owns it (IPv4 and IPv6 in separate tries).
 *
 * Owned by the protocol (proto.c), which serialises writers and readers
 * with its own lock; this table does no locking and no allocation on
 * lookup.  Peers are opaque pointers.  Inserting a prefix that exists moves
 * it to the new peer (wg(8) semantics); host bits beyond cidr are masked off.
 */
#ifndef WGVSOCK_ALLOWEDIPS_H
#define WGVSOCK_ALLOWEDIPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "wgcore/wgcore.h"

struct wg_allowedips;

struct wg_allowedips *wg_allowedips_new(void);            /* NULL on ENOMEM */
void wg_allowedips_free(struct wg_allowedips *t);
/* family AF_INET (cidr <= 32) or AF_INET6 (cidr <= 128).  0 or -EINVAL/-ENOMEM. */
int wg_allowedips_insert(struct wg_allowedips *t, int family, const uint8_t *ip,
                         uint8_t cidr, void *peer);
/* Removes one exact prefix if peer owns it (0) else -ENOENT. */
int wg_allowedips_remove(struct wg_allowedips *t, int family, const uint8_t *ip,
                         uint8_t cidr, void *peer);
void wg_allowedips_remove_peer(struct wg_allowedips *t, void *peer);
/* Longest-prefix match; NULL if no prefix covers ip. */
void *wg_allowedips_lookup(const struct wg_allowedips *t, int family, const uint8_t *ip);
/* The prefixes peer owns: writes up to max into out, returns the total
 * count (call with max 0 to size the array).  IPv4 first, then IPv6. */
size_t wg_allowedips_list(const struct wg_allowedips *t, const void *peer,
                          struct wg_allowedip *out, size_t max);
/* Verifies the internal invariants (tests and fuzzing; O(size)). */
bool wg_allowedips_check(const struct wg_allowedips *t);

#endif
