/* transport_select.c - picks the transport implementation for a device and
 * forwards the generic calls (transport.h) to it through its table
 * (transport_ops.h). */
#include <errno.h>

#include "wgcore/transport_ops.h"

int wg_transport_create(const struct wg_transport_params *p, struct wg_transport **out)
{
    if (!p || !out || !p->rx)
        return -EINVAL;
    switch (p->kind) {
    case WG_TRANSPORT_UDP:
        return wg_transport_udp_create(p, out);
    case WG_TRANSPORT_TCP:
    case WG_TRANSPORT_TCP4:
    case WG_TRANSPORT_TCP6:
    case WG_TRANSPORT_VSOCK:
        return wg_transport_stream_create(p, out);
    }
    return -EINVAL;
}

int wg_transport_bind(struct wg_transport *t, uint16_t port, uint32_t fwmark)
{
    return t->ops->bind(t, port, fwmark);
}

uint16_t wg_transport_port(const struct wg_transport *t)
{
    return t->ops->port(t);
}

unsigned wg_transport_send(struct wg_transport *t, const struct wg_msg *msgs, unsigned n)
{
    unsigned sent = 0;

    /* Implementations work on at most WG_BATCH_MAX at a time. */
    while (n) {
        unsigned k = n < WG_BATCH_MAX ? n : WG_BATCH_MAX;

        sent += t->ops->send(t, msgs, k);
        msgs += k;
        n -= k;
    }
    return sent;
}

void wg_transport_trust(struct wg_transport *t, const struct wg_sockaddr *ep)
{
    if (t && t->ops->trust)
        t->ops->trust(t, ep);
}

void wg_transport_destroy(struct wg_transport *t)
{
    if (t)
        t->ops->destroy(t);
}
