/* proto.h - the WireGuard protocol of one device, with no I/O.
 *
 * Everything the whitepaper specifies lives behind this interface: peers,
 * Noise_IKpsk2 handshakes, cookies, keypairs, replay windows, timers,
 * cryptokey routing and roaming.  It never touches a socket, a TUN fd, a
 * thread or a clock: the device (device.c) owns those and drives the
 * protocol with packets and a monotonic time "now" (nanoseconds), and lends
 * it the wall clock through wg_proto_io, so tests run two protocols against
 * each other in memory with a fake clock.  The implementation: proto_config.c
 * (create, apply, get), proto_send.c (TX, timers tick), proto_receive.c
 * (handshakes, cookies, RX), peer.c, on the state in proto_state.h.
 *
 * Data path, both directions, in three stages so the middle one (the AEAD,
 * where the time goes) can be spread over worker threads while each peer's
 * packets keep their order:
 *
 *   prepare  serial, cheap   route / look up keypair, reserve nonces
 *   seal|open  parallel      pure crypto on disjoint packets, no locks
 *   finish   serial          replay window, timers, counters, roaming
 *
 * The device calls prepare and finish for one batch in the same order on
 * one thread per direction; seal/open may run on any threads in between.
 * Handshake and cookie messages never reach seal/open: rx_prepare answers
 * them on the spot through io->emit.
 *
 * Locking is internal: TX, RX, the timer tick and the control socket may
 * call in concurrently.
 */
#ifndef WGVSOCK_PROTO_H
#define WGVSOCK_PROTO_H

#include <stdbool.h>
#include <stdint.h>
#include "wgcore/pkt.h"
#include "wgcore/wgcore.h"

/* How the protocol talks to the outside: control messages (handshake,
 * cookie reply, keepalive, staged packets flushed after a handshake) go out
 * through emit, at once, from whichever thread the protocol is running on;
 * realtime gives the wall clock (ns since the epoch) at monotonic instant
 * now, for handshake timestamps and the last-handshake time
 * (wg_clock_realtime in clock.h, or a test's fake). */
struct wg_proto_io {
    void *ctx;
    void (*emit)(void *ctx, const struct wg_sockaddr *ep, const uint8_t *msg, uint32_t len);
    uint64_t (*realtime)(void *ctx, uint64_t now);
};

struct wg_proto;

/* 0 or -errno (-EINVAL without io->realtime). */
int wg_proto_create(const struct wg_proto_io *io, struct wg_proto **out);
void wg_proto_destroy(struct wg_proto *p);                  /* wipes all keys */

/* Configuration: the wg(8) set/get minus what belongs to the transport
 * (listen_port, fwmark: the device handles those, and fills them in get).
 * Endpoints arrive already converted for the device's transport.
 * Both return 0 or -errno; apply validates before changing anything (only
 * -ENOMEM inserting allowed-ips leaves the rest of the request applied). */
int wg_proto_apply(struct wg_proto *p, const struct wg_device_config *cfg, uint64_t now);
int wg_proto_get(struct wg_proto *p, struct wg_device_info *info, uint64_t now);
/* The TUN's MTU (0 = unknown): padding never takes a packet beyond it, as
 * the kernel does, so an MTU-sized packet still fits the outer path. */
void wg_proto_set_mtu(struct wg_proto *p, unsigned mtu);

/* TX: pkts hold plaintext IP packets (off = WG_PKT_HEADROOM). */
void wg_proto_tx_prepare(struct wg_proto *p, struct wg_pkt *pkts, unsigned n, uint64_t now);
void wg_proto_tx_seal(struct wg_pkt *pkts, unsigned n);     /* thread-safe, lock-free */
void wg_proto_tx_finish(struct wg_proto *p, struct wg_pkt *pkts, unsigned n, uint64_t now);

/* RX: pkts hold wire messages with their source endpoint.  Whether the
 * device is "under load" (cookie replies instead of DH) is derived inside
 * from the rate of handshake messages. */
void wg_proto_rx_prepare(struct wg_proto *p, struct wg_pkt *pkts, unsigned n, uint64_t now);
void wg_proto_rx_open(struct wg_pkt *pkts, unsigned n);     /* thread-safe, lock-free */
void wg_proto_rx_finish(struct wg_proto *p, struct wg_pkt *pkts, unsigned n, uint64_t now);

/* Timers: call at least every WG_PROTO_TICK_NS; returns the monotonic time
 * at which it next wants to be called. */
#define WG_PROTO_TICK_NS 100000000ull
uint64_t wg_proto_tick(struct wg_proto *p, uint64_t now);

/* A dialled stream connection to ep came back: send an authenticated packet
 * (a keepalive on a live session, then a rate-limited handshake initiation,
 * since a peer that restarted lost the session) to the peer
 * using that endpoint. */
void wg_proto_endpoint_reconnected(struct wg_proto *p, const struct wg_sockaddr *ep, uint64_t now);

#endif
