/* udp_gso.h - the pure parts of UDP segmentation offload, for transport_udp.c.
 *
 * Send (UDP_SEGMENT): consecutive messages to one endpoint with one size
 * (the last may be shorter) go out as one sendmsg whose payload the kernel
 * cuts into gso_size datagrams, so a TUN super-packet sealed into 45
 * messages costs one trip through the UDP stack instead of 45.  Only
 * consecutive messages are joined, so the order on the wire is the order
 * of the batch.
 *
 * Receive (UDP_GRO): one receive may hold several datagrams of one sender
 * back to back, each gso_size bytes except a shorter last one; they are
 * cut apart again here before the engine sees them.
 */
#ifndef WGVSOCK_UDP_GSO_H
#define WGVSOCK_UDP_GSO_H

#include <stddef.h>
#include <stdint.h>

#include "wgcore/transport.h"

/* The kernel's UDP_MAX_SEGMENTS (64 before Linux 6.9) and the largest UDP
 * payload of one IPv4 datagram: a GSO send must stay within both. */
#define WG_UDP_GSO_MAX_SEGS 64u
#define WG_UDP_GSO_MAX_BYTES 65507u

/* Length of the run that starts at msgs[0]: messages with msgs[0]'s
 * endpoint and length, possibly ended by one shorter message, at most
 * max_segs of them and max_bytes in all.  Always >= 1 when n >= 1. */
unsigned wg_udp_gso_run(const struct wg_msg *msgs, unsigned n, unsigned max_segs, size_t max_bytes);

/* Cuts a received buffer of len bytes into gso_size pieces (gso_size 0:
 * one piece), starting at *off: fills at most cap messages with from as
 * their source, advances *off, returns how many.  Call again while
 * *off < len.  Empty pieces never come out. */
unsigned wg_udp_gro_split(const struct wg_sockaddr *from, uint8_t *data, size_t len, size_t gso_size,
                          size_t *off, struct wg_msg *out, unsigned cap);

#endif
