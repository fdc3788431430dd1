/* transport_name.c - the transport kinds by name ("udp", "tcp", "tcp4",
 * "tcp6", "vsock"), as wgvsockd -n and wgvsock.transport spell them. */
#include <errno.h>
#include <string.h>

#include "wgcore/wgcore.h"

static const char *const transport_names[] = {
    [WG_TRANSPORT_UDP] = "udp",
    [WG_TRANSPORT_TCP] = "tcp",
    [WG_TRANSPORT_TCP4] = "tcp4",
    [WG_TRANSPORT_TCP6] = "tcp6",
    [WG_TRANSPORT_VSOCK] = "vsock",
};
#define N_TRANSPORTS (sizeof(transport_names) / sizeof(transport_names[0]))

int wg_transport_from_name(const char *name)
{
    if (!name)
        return -EINVAL;
    for (unsigned i = 0; i < N_TRANSPORTS; i++)
        if (!strcmp(name, transport_names[i]))
            return (int)i;
    return -EINVAL;
}

const char *wg_transport_name(enum wg_transport_kind kind)
{
    if ((unsigned)kind >= N_TRANSPORTS)
        return "unknown";
    return transport_names[kind];
}
