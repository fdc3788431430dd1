/* tunnel_wgcore.c - endpoint devices hosted by the wgcore engine, in this
 * process.  The TUN is created in the plugin's namespace; libnetwork moves it
 * into the container, while the device's fd and transport socket stay here.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "plugin/tunnel.h"

static int wgcore_create(void *ctx, const struct tunnel_spec *spec, void **out,
                         char err[NET_ERR_MAX])
{
    struct wg_device_params params = {
        .ifname = spec->ifname,
        .transport = spec->transport,
        .stream_no_crc = spec->stream_no_crc,
        .control_dir = spec->control_dir,
        .mtu = spec->mtu,
        /* A container's device dials its hub and is never dialled: a
         * listener would only be an open port on every host address. */
        .dial_only = true,
    };
    struct wg_device *dev;
    int ret;

    ret = wg_device_create(&params, &dev);
    if (ret) {
        snprintf(err, NET_ERR_MAX, "cannot create WireGuard interface %s: %s%s", spec->ifname,
                 strerror(-ret), ret == -EPERM || ret == -EACCES ?
                 " (the plugin needs CAP_NET_ADMIN and /dev/net/tun)" : "");
        return -1;
    }
    ret = wg_device_apply(dev, spec->config);
    if (ret) {
        snprintf(err, NET_ERR_MAX, "cannot configure WireGuard interface %s: %s",
                 spec->ifname, strerror(-ret));
        wg_device_destroy(dev);
        return -1;
    }
    /* create() already sets params.mtu; set it again in case the engine
     * clamps or defers it, because libnetwork never sets a driver's MTU. */
    ret = wg_device_set_mtu(dev, spec->mtu);
    if (ret) {
        snprintf(err, NET_ERR_MAX, "cannot set MTU %u on %s: %s", spec->mtu, spec->ifname,
                 strerror(-ret));
        wg_device_destroy(dev);
        return -1;
    }
    *out = dev;
    return 0;
}

static void wgcore_destroy(void *ctx, void *dev)
{
    wg_device_destroy(dev);
    /* The device's threads allocated from glibc's per-thread arenas, which
     * keep freed memory for reuse; after 50 endpoints come and go that was
     * ~10 MiB never given back.  Trimming returns the free pages of every
     * arena (a few ms; once per removed endpoint). */
    malloc_trim(0);
}

const struct tunnel_ops tunnel_wgcore_ops = {
    .create = wgcore_create,
    .destroy = wgcore_destroy,
};
