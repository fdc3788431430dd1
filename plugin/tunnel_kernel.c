/* tunnel_kernel.c - endpoint devices run by the kernel's WireGuard.
 *
 * Join creates a `wireguard` link in the plugin's namespace (rtnetlink,
 * link.c) and configures it over the WireGuard genetlink family (wg_genl.c):
 * its UDP socket is bound here, in the namespace that reaches the hub, and
 * stays here when libnetwork moves the link into the container as wg0.  No
 * thread, fd or memory of ours serves the traffic, so the device keeps
 * working while the plugin restarts; we remember only its host-side name,
 * and tag the link (alias) so that the next process adopts it (adopt.c).
 * libnetwork moves it back under that name after Leave, where
 * DeleteEndpoint deletes it; a container's namespace that dies first takes
 * the link with it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/link.h"
#include "plugin/log.h"
#include "plugin/tunnel.h"
#include "plugin/wg_genl.h"

#define KIND "wireguard"

struct kernel_dev {
    char ifname[16];
};

/* Deletes ifname if it is a wireguard link (never someone else's link that
 * happens to carry the name).  0 or -errno; -ENODEV if absent. */
static int delete_ours(const char *ifname)
{
    char kind[32];
    int ret = link_get(ifname, kind, sizeof(kind), NULL);

    if (ret)
        return ret;
    if (strcmp(kind, KIND))
        return -EEXIST;
    return link_delete(ifname);
}

static int kernel_create(void *ctx, const struct tunnel_spec *spec, void **out,
                         char err[NET_ERR_MAX])
{
    struct kernel_dev *d;
    int ret;

    if (spec->transport != WG_TRANSPORT_UDP)
        return net_fail(err, "kernel WireGuard carries udp only, not %s",
                        wg_transport_name(spec->transport));
    d = calloc(1, sizeof(*d));
    if (!d || strlen(spec->ifname) >= sizeof(d->ifname)) {
        free(d);
        return net_fail(err, "cannot create WireGuard interface %s: %s", spec->ifname,
                        strerror(d ? EINVAL : ENOMEM));
    }
    strcpy(d->ifname, spec->ifname);
    if (spec->adopt_netns >= 0) {
        /* A restarted plugin (adopt.c found the link by its tag): the
         * device kept working without us, its configuration lives in the
         * kernel; only our handle, by its host-side name, is new. */
        *out = d;
        return 0;
    }
    ret = link_create(d->ifname, KIND, spec->mtu);
    if (ret == -EEXIST && delete_ours(d->ifname) == 0) {
        /* Left by an earlier Join whose endpoint we lost (plugin restart
         * between Leave and DeleteEndpoint): in our namespace, so unused. */
        pl_info("replacing stale kernel WireGuard interface %s", d->ifname);
        ret = link_create(d->ifname, KIND, spec->mtu);
    }
    if (ret) {
        net_fail(err, "cannot create kernel WireGuard interface %s: %s%s", d->ifname,
                 strerror(-ret), ret == -EPERM || ret == -EACCES ?
                 " (the plugin needs CAP_NET_ADMIN)" : ret == -EEXIST ?
                 " (a link of another kind has that name)" : "");
        free(d);
        return -1;
    }
    /* Tagged (its alias) so that a restarted plugin finds it wherever
     * libnetwork moved and renamed it (adopt.c). */
    ret = spec->tag ? link_set_alias(d->ifname, spec->tag) : 0;
    if (!ret)
        ret = wg_genl_set_device(d->ifname, spec->config);
    if (ret) {
        net_fail(err, "cannot configure kernel WireGuard interface %s: %s", d->ifname,
                 strerror(-ret));
        link_delete(d->ifname);
        free(d);
        return -1;
    }
    *out = d;
    return 0;
}

static void kernel_destroy(void *ctx, void *dev)
{
    struct kernel_dev *d = dev;
    int ret = delete_ours(d->ifname);

    if (ret == -ENODEV)
        pl_debug("%s: not in the plugin's namespace (its container's namespace takes it)",
                 d->ifname);
    else if (ret)
        pl_err("cannot delete kernel WireGuard interface %s: %s", d->ifname, strerror(-ret));
    free(d);
}

static void kernel_release(void *ctx, void *dev)
{
    free(dev);
}

static void kernel_destroy_stale(void *ctx, enum tunnel_engine engine, const char *ifname)
{
    if (engine == TUNNEL_KERNEL && delete_ours(ifname) == 0)
        pl_info("deleted kernel WireGuard interface %s left from before a restart", ifname);
}

static int kernel_probe(void *ctx, enum tunnel_engine engine)
{
    return engine == TUNNEL_KERNEL ? wg_genl_probe() : -EOPNOTSUPP;
}

const struct tunnel_ops tunnel_kernel_ops = {
    .create = kernel_create,
    .destroy = kernel_destroy,
    .probe = kernel_probe,
    .release = kernel_release,
    .destroy_stale = kernel_destroy_stale,
};
