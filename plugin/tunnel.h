/* tunnel.h - how the plugin creates and destroys an endpoint's WireGuard
 * device.  Production uses wgcore (tunnel_wgcore.c); the unit tests and the
 * fuzzer plug in a fake so that every route, Join included, runs without
 * root, TUN or threads.
 */
#ifndef WGVSOCK_PLUGIN_TUNNEL_H
#define WGVSOCK_PLUGIN_TUNNEL_H

#include "plugin/error.h"
#include "wgcore/wgcore.h"

struct tunnel_spec {
    const char *ifname;                     /* the TUN's host-side name */
    enum wg_transport_kind transport;
    bool stream_no_crc;                     /* framing without CRC (<= v0.2.3 hubs) */
    unsigned mtu;
    const char *control_dir;                /* "" = no wg(8) control socket */
    const struct wg_device_config *config;  /* private key + the hub peer */
};

struct tunnel_ops {
    /* Creates the device, applies config and sets the MTU.  0, or -1 with a
     * message for a person in err.  On failure nothing is left behind. */
    int (*create)(void *ctx, const struct tunnel_spec *spec, void **dev,
                  char err[NET_ERR_MAX]);
    /* Destroys it (the interface disappears, wherever it is). */
    void (*destroy)(void *ctx, void *dev);
};

extern const struct tunnel_ops tunnel_wgcore_ops;

#endif
