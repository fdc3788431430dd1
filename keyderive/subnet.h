/* subnet.h - which addresses of a subnet get a peer.
 *
 * `keyderive peers` (and anything else that wants "every endpoint of this
 * Docker network") walks a subnet's host addresses.  Addresses are handled as
 * 128-bit integers so IPv4 and IPv6 share one code path; the text forms are
 * parsed strictly so a typo is an error rather than a different key set.
 *
 * Host set (documented in docs/KEYDERIVE.md):
 *   IPv4 /0../30   network and broadcast excluded
 *   IPv4 /31, /32  every address (RFC 3021 point-to-point, single host)
 *   IPv6 /0../126  the all-zeros subnet-router anycast address excluded
 *   IPv6 /127,/128 every address (RFC 6164)
 * skip_gateway additionally drops the first host address, which is where
 * Docker puts a network's default gateway.
 */
#ifndef WGVSOCK_KD_SUBNET_H
#define WGVSOCK_KD_SUBNET_H

#include <stdbool.h>
#include <stddef.h>

#include "keyderive/keyderive.h"

typedef unsigned __int128 kd_u128;

#define KD_PEERS_MAX 65536         /* more than this needs --force */

struct kd_subnet {
    int family;                    /* AF_INET or AF_INET6 */
    unsigned int prefix;
    kd_u128 network;               /* first address, as an integer */
    kd_u128 last;                  /* last address (IPv4: broadcast) */
};

struct kd_host_range {             /* inclusive; first <= last */
    kd_u128 first, last;
};

/* "A.B.C.D/len" or "IPV6/len"; the prefix is required and host bits must be
 * zero.  0, or -1 with *why set to a static message. */
int kd_subnet_parse(struct kd_subnet *out, const char *cidr, const char **why);

/* The host addresses selected by the rules above, optionally narrowed by
 * range ("FIRST-LAST", each an address inside the subnet or a decimal offset
 * from the network address; NULL for no narrowing).  0, or -1 with *why set
 * when the range is malformed or nothing is left. */
int kd_subnet_select(struct kd_host_range *out, const struct kd_subnet *s,
                     bool skip_gateway, const char *range, const char **why);

/* Number of addresses in r, saturating at the largest kd_u128. */
kd_u128 kd_host_range_count(const struct kd_host_range *r);

/* The address with integer value v, in s's family. */
void kd_subnet_address(struct kd_address *out, const struct kd_subnet *s, kd_u128 v);

/* Decimal text of v (out: at least 40 bytes). */
void kd_u128_to_dec(char out[40], kd_u128 v);

#endif
