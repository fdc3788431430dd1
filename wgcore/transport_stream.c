/* transport_stream.c - placeholder until the stream transport lands. */
#include <errno.h>
#include "wgcore/transport_ops.h"

int wg_transport_stream_create(const struct wg_transport_params *p, struct wg_transport **out)
{
    return -EPROTONOSUPPORT;
}
