/* proto.h - the WireGuard protocol of one device, with no I/O.
 *
 * Everything the whitepaper specifies lives behind this interface: peers,
 * Noise_IKpsk2 handshakes, cookies, keypairs, replay windows, timers,
 * cryptokey routing and roaming.  It never touches a socket, a TUN fd, a
 * thread or the clock: the device (device.c) owns those and drives the
 * protocol with packets and a monotonic time "now" (nanoseconds), so tests
 * run two protocols against each other in memory with a fake clock.
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
#include "wgcore/wgcore.h"
#include "wgcore/sockaddr.h"

/* A packet buffer.  Plaintext IP packets are read into head + WG_PKT_HEADROOM
 * so sealing in place can prepend the 16-byte transport header and append
 * padding and the 16-byte tag without copying. */
#define WG_PKT_HEADROOM 16u
#define WG_PKT_TAILROOM 32u              /* padding (<16) + Poly1305 tag (16) */
#define WG_PKT_CAP (WG_PKT_HEADROOM + 65535u + WG_PKT_TAILROOM)

enum wg_pkt_verdict {
    WG_PKT_DROP = 0,        /* nothing to do with it (dropped, counted) */
    WG_PKT_CONSUMED,        /* taken by the protocol (handshake, staged) */
    WG_PKT_SEAL,            /* after tx_prepare: seal it */
    WG_PKT_OPEN,            /* after rx_prepare: open it */
    WG_PKT_SEND,            /* after tx_finish: send data..len to ep */
    WG_PKT_DELIVER,         /* after rx_finish: write data..len to the TUN */
};

struct wg_pkt {
    uint8_t *head;                  /* buffer start (WG_PKT_CAP bytes) */
    uint32_t off;                   /* payload starts at head + off */
    uint32_t len;                   /* payload length */
    struct wg_sockaddr ep;          /* wire destination (tx) / source (rx) */
    enum wg_pkt_verdict verdict;
    bool authenticated;             /* rx: a handshake consumed or data opened and
                                     * accepted (for the transport's trust) */
    /* private to the protocol between the stages */
    void *peer;
    void *keypair;
    uint64_t counter;
};

static inline uint8_t *wg_pkt_data(const struct wg_pkt *p) { return p->head + p->off; }

/* How the protocol talks to the outside: control messages (handshake,
 * cookie reply, keepalive, staged packets flushed after a handshake) go out
 * through emit, at once, from whichever thread the protocol is running on. */
struct wg_proto_io {
    void *ctx;
    void (*emit)(void *ctx, const struct wg_sockaddr *ep, const uint8_t *msg, uint32_t len);
};

struct wg_proto;

int wg_proto_create(const struct wg_proto_io *io, struct wg_proto **out);  /* 0/-errno */
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

/* Monotonic clock in ns, the "now" the device passes in. */
uint64_t wg_now(void);

#endif
