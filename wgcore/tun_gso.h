/* tun_gso.h - TUN offload support: what the kernel hands a TUN opened with
 * IFF_VNET_HDR and TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6.
 *
 * With offloads the inner TCP stack sends one up-to-64 KiB "super-packet"
 * per read instead of ~45 MTU-sized ones (and skips its checksums): one
 * read syscall and one trip through the inner stack for a whole batch.
 * WireGuard encrypts MTU-sized packets, so the device segments here, as a
 * NIC would: headers copied per segment, IPv4 length/id/checksum, IPv6
 * payload length, TCP sequence number, flags (FIN/PSH on the last segment,
 * CWR on the first) and a full TCP checksum per segment.
 */
#ifndef WGVSOCK_TUN_GSO_H
#define WGVSOCK_TUN_GSO_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_net.h>
#include "wgcore/pkt.h"

#define WG_VNET_HDR_LEN ((uint32_t)sizeof(struct virtio_net_hdr))

/* A super-packet being cut into segments across read batches. */
struct wg_gso {
    uint8_t *buf;               /* WG_PKT_CAP bytes, owned by the TUN */
    uint32_t len;               /* super-packet length */
    uint32_t hdr_len;           /* IP + TCP headers */
    uint32_t l4_off;            /* TCP header offset */
    uint32_t mss;               /* payload bytes per segment */
    uint32_t off;               /* payload offset of the next segment */
    bool v6;
    bool active;
};

/* Completes a CHECKSUM_PARTIAL packet: the 16-bit field at
 * csum_start + csum_offset holds the pseudo-header sum; the checksum over
 * [csum_start, len) goes there.  0 or -EINVAL (offsets out of range). */
int wg_gso_csum_partial(uint8_t *pkt, uint32_t len, uint32_t csum_start, uint32_t csum_offset);

/* Starts segmenting pkt (len bytes, described by h) into g->buf.  0, or
 * -EINVAL for anything that is not a well-formed TCP super-packet (the
 * caller drops it), -EOPNOTSUPP for GSO types not offered. */
int wg_gso_begin(struct wg_gso *g, const struct virtio_net_hdr *h, const uint8_t *pkt,
                 uint32_t len);
/* Writes up to n segments into pkts[i].head + WG_PKT_HEADROOM (off/len
 * set); returns how many.  g->active turns false after the last one. */
unsigned wg_gso_emit(struct wg_gso *g, struct wg_pkt *pkts, unsigned n);

/* GRO for the write direction: coalesces the WG_PKT_DELIVER TCP segments
 * of a batch that continue one another (same flow, contiguous sequence
 * numbers, same ACK/window/options, full-sized except the last, no flags
 * but ACK and a final PSH) into super-packets, as the kernel's GRO would.
 * For every packet, hdrs[i] is the virtio header to write it with and
 * absorbed[i] says it was appended to an earlier one (do not write it).
 * Merged packets get IP lengths/checksum fixed and the TCP checksum left
 * partial (VIRTIO_NET_HDR_F_NEEDS_CSUM): the packets were authenticated by
 * WireGuard, which kernel WireGuard also treats as checksum-verified.
 * The buffers of merge heads grow in place (up to 65535 bytes of IP). */
void wg_gro_batch(struct wg_pkt *pkts, unsigned n, struct virtio_net_hdr *hdrs, bool *absorbed);

/* Internet checksum helpers (exposed for tests). */
uint32_t wg_csum_add(uint32_t sum, const uint8_t *data, uint32_t len);
uint16_t wg_csum_fold(uint32_t sum);

#endif
