/* transport.h - how encrypted WireGuard messages leave and enter a device.
 *
 * The engine sees every transport as a datagram network: it hands over
 * batches of (endpoint, message) and receives batches back through a
 * callback.  UDP maps that 1:1 onto sendmmsg/recvmmsg; the stream transports
 * (TCP, AF_VSOCK) frame each message on a connection keyed by the remote
 * address (see stream_frame.h) and hide connecting, accepting, redialling
 * and flow control.  Each transport runs its own receive thread(s); send is
 * callable from any thread and never blocks on one slow peer.
 */
#ifndef WGVSOCK_TRANSPORT_H
#define WGVSOCK_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include "wgcore/wgcore.h"
#include "wgcore/sockaddr.h"

#define WG_MAX_MESSAGE 65535u      /* largest WireGuard message on any transport */
#define WG_BATCH_MAX 64            /* messages per batch in either direction */

struct wg_msg {
    struct wg_sockaddr ep;          /* destination (send) or source (receive) */
    uint8_t *data;
    uint32_t len;
    /* Receive only, set by the rx callback: the protocol accepted this
     * message as authenticated (a handshake it consumed, data that opened).
     * A stream transport trusts a connection that delivered one and bounds
     * the others (see transport_stream.c). */
    bool authenticated;
};

/* Called on a transport thread with messages whose buffers belong to the
 * transport and stay valid only until the callback returns; the engine may
 * modify them in place (decrypt).  n <= WG_BATCH_MAX. */
typedef void (*wg_transport_rx_fn)(void *ctx, struct wg_msg *msgs, unsigned n);

/* Called (on a transport thread) when a dialled stream connection to ep
 * came up again after a break, so the engine can send an authenticated
 * packet right away (the Go peer can only reach us on a connection we dial).
 * NULL for UDP. */
typedef void (*wg_transport_reconnect_fn)(void *ctx, const struct wg_sockaddr *ep);

struct wg_transport_params {
    enum wg_transport_kind kind;
    bool stream_no_crc;
    bool dial_only;                 /* stream: never listen, only dial (bind keeps port 0) */
    wg_transport_rx_fn rx;
    wg_transport_reconnect_fn reconnected;
    void *ctx;
};

struct wg_transport;

int wg_transport_create(const struct wg_transport_params *p, struct wg_transport **out); /* 0/-errno */
/* (Re)bind the listener(s) to port (0 = ephemeral); existing connections of a
 * stream transport survive a re-bind.  0 or -errno (-EADDRINUSE). */
int wg_transport_bind(struct wg_transport *t, uint16_t port, uint32_t fwmark);
uint16_t wg_transport_port(const struct wg_transport *t);   /* bound port, 0 if none */
/* Send a batch; returns how many were accepted (the rest dropped, as a
 * datagram network would).  Stream transports dial on demand. */
unsigned wg_transport_send(struct wg_transport *t, const struct wg_msg *msgs, unsigned n);
/* The engine authenticated a message from ep outside the rx callback (on
 * its handshake thread): a stream transport trusts that connection from now
 * on, as if wg_msg.authenticated had been set.  A no-op for UDP.  Any thread. */
void wg_transport_trust(struct wg_transport *t, const struct wg_sockaddr *ep);
void wg_transport_destroy(struct wg_transport *t);

#endif
