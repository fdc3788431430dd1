/* device_internal.h - pieces of device.c exposed to its unit tests. */
#ifndef WGVSOCK_DEVICE_INTERNAL_H
#define WGVSOCK_DEVICE_INTERNAL_H

#include "wgcore/wgcore.h"

/* An endpoint as configured (wg(8) only knows IP) -> the endpoint the
 * device's transport dials: on a vsock device an IPv4 address is a CID
 * (most-significant byte first, "0.0.0.2" = host(2)); an AF_VSOCK endpoint
 * on an IP device, an IPv6 one on a vsock or tcp4 device, an IPv4 one on a
 * tcp6 device, a port 0 or an unknown family are EINVAL.  0 or EINVAL. */
int wg_device_convert_endpoint(enum wg_transport_kind kind, const struct wg_sockaddr *in,
                               struct wg_sockaddr *out);

#endif
