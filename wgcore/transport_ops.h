/* transport_ops.h - what every transport implementation provides.
 *
 * Private to wgcore/transport*.c: wg_transport_* in transport_select.c dispatch on
 * this table, so the engine never knows which kind it is talking to.
 */
#ifndef WGVSOCK_TRANSPORT_OPS_H
#define WGVSOCK_TRANSPORT_OPS_H

#include "wgcore/transport.h"

struct wg_transport_ops {
    int (*bind)(struct wg_transport *t, uint16_t port, uint32_t fwmark);
    uint16_t (*port)(const struct wg_transport *t);
    unsigned (*send)(struct wg_transport *t, const struct wg_msg *msgs, unsigned n);
    void (*destroy)(struct wg_transport *t);
    void (*trust)(struct wg_transport *t, const struct wg_sockaddr *ep);    /* optional */
};

/* Embedded first in every implementation's own struct. */
struct wg_transport {
    const struct wg_transport_ops *ops;
    struct wg_transport_params params;
};

int wg_transport_udp_create(const struct wg_transport_params *p, struct wg_transport **out);
int wg_transport_stream_create(const struct wg_transport_params *p, struct wg_transport **out);

#endif
