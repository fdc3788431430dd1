/* tunnel_wgcore.c - endpoint devices hosted by the wgcore engine, in this
 * process.  The TUN is created in the plugin's namespace; libnetwork moves it
 * into the container, while the device's fd and transport socket stay here.
 *
 * The TUN is persistent and tagged (its alias), so that it outlives this
 * process: a SIGKILL or an upgrade leaves the container's interface, its
 * addresses and routes in place (without carrier), and the next process
 * attaches to it again (adopt.c).  Order at creation: tag, then persist, so
 * that a crash in between leaves no untagged persistent interface.
 *
 * The device's wg(8) control socket (spec->control_dir, "" = none) is ours
 * to open and to close before the device goes: the handle the plugin keeps
 * is a struct wgcore_tunnel holding both.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/link.h"
#include "plugin/tunnel.h"
#include "wgcore/control.h"

struct wgcore_tunnel {
    struct wg_device *dev;
    struct wg_control *control;     /* NULL: none */
};

/* Control socket first (no request may reach a device being taken apart),
 * then the device: destroyed, or detached with its persistent TUN left. */
static void tunnel_free(struct wgcore_tunnel *tun, bool keep_tun)
{
    wg_control_close(tun->control);
    if (keep_tun)
        wg_device_detach(tun->dev);
    else
        wg_device_destroy(tun->dev);
    free(tun);
}

static int wgcore_create(void *ctx, const struct tunnel_spec *spec, void **out,
                         char err[NET_ERR_MAX])
{
    struct wg_device_params params = {
        .ifname = spec->ifname,
        .transport = spec->transport,
        .stream_no_crc = spec->stream_no_crc,
        .mtu = spec->mtu,
        /* A container's device dials its hub and is never dialled: a
         * listener would only be an open port on every host address. */
        .dial_only = true,
        .has_tun_netns = spec->adopt_netns >= 0,
        .tun_netns_fd = spec->adopt_netns,
        .tun_ifname = spec->adopt_ifname,
        .tun_ifindex = spec->adopt_ifindex,
    };
    struct wgcore_tunnel *tun;
    struct wg_device *dev;
    const char *what;
    int ret;

    if (spec->adopt_netns >= 0 && !spec->tag)
        return net_fail(err, "adopting %s: no tag", spec->ifname);
    tun = calloc(1, sizeof(*tun));
    if (!tun)
        return net_fail(err, "out of memory");

    ret = wg_device_create(&params, &dev);
    if (ret) {
        free(tun);
        snprintf(err, NET_ERR_MAX, "cannot %s WireGuard interface %s: %s%s",
                 spec->adopt_netns >= 0 ? "attach to" : "create",
                 spec->adopt_netns >= 0 ? spec->adopt_ifname : spec->ifname,
                 strerror(-ret), ret == -EPERM || ret == -EACCES ?
                 " (the plugin needs CAP_NET_ADMIN and /dev/net/tun)" : "");
        return -1;
    }
    tun->dev = dev;
    if (spec->control_dir && *spec->control_dir) {
        ret = wg_control_open_for(dev, spec->control_dir, &tun->control);
        if (ret) {
            snprintf(err, NET_ERR_MAX, "cannot open the wg(8) control socket of %s in %s: %s",
                     spec->ifname, spec->control_dir, strerror(-ret));
            goto fail;
        }
    }
    what = "tag";
    ret = spec->adopt_netns >= 0 || !spec->tag ? 0 : link_set_alias(spec->ifname, spec->tag);
    if (!ret && spec->tag) {
        what = "make persistent";
        ret = wg_device_set_persist(dev, true);
    }
    if (ret) {
        snprintf(err, NET_ERR_MAX, "cannot %s interface %s: %s", what, spec->ifname,
                 strerror(-ret));
        goto fail;
    }
    ret = wg_device_apply(dev, spec->config);
    if (ret) {
        snprintf(err, NET_ERR_MAX, "cannot configure WireGuard interface %s: %s",
                 spec->ifname, strerror(-ret));
        goto fail;
    }
    /* create() already sets params.mtu; set it again in case the engine
     * clamps or defers it, because libnetwork never sets a driver's MTU. */
    ret = wg_device_set_mtu(dev, spec->mtu);
    if (ret) {
        snprintf(err, NET_ERR_MAX, "cannot set MTU %u on %s: %s", spec->mtu, spec->ifname,
                 strerror(-ret));
        goto fail;
    }
    *out = tun;
    return 0;
fail:
    /* An adopted interface is the container's: it stays for another try or
     * for DeleteEndpoint. */
    tunnel_free(tun, spec->adopt_netns >= 0);
    return -1;
}

static void wgcore_destroy(void *ctx, void *dev)
{
    tunnel_free(dev, false);
    /* The device's threads allocated from glibc's per-thread arenas, which
     * keep freed memory for reuse; after 50 endpoints come and go that was
     * ~10 MiB never given back.  Trimming returns the free pages of every
     * arena (a few ms; once per removed endpoint). */
    malloc_trim(0);
}

static void wgcore_release(void *ctx, void *dev)
{
    tunnel_free(dev, true);
}

static int wgcore_apply(void *ctx, void *dev, const struct wg_device_config *config,
                        char err[NET_ERR_MAX])
{
    struct wgcore_tunnel *tun = dev;
    int ret = wg_device_apply(tun->dev, config);
    if (ret)
        snprintf(err, NET_ERR_MAX, "cannot configure %s: %s", wg_device_ifname(tun->dev),
                 strerror(-ret));
    return ret ? -1 : 0;
}

const struct tunnel_ops tunnel_wgcore_ops = {
    .create = wgcore_create,
    .destroy = wgcore_destroy,
    .release = wgcore_release,
    .apply = wgcore_apply,
};
