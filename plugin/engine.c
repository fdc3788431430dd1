/* engine.c - which WireGuard engine runs a network's devices.
 *
 * wgvsock.engine=auto (the default) gives a udp network kernel WireGuard
 * when this host's kernel has it, because it is several times faster and
 * its devices outlive the plugin; vsock and tcp always run on wgcore, which
 * the kernel cannot carry.  The choice is made once, at CreateNetwork, and
 * saved with the network, so a restart never switches a network's engine.
 */
#include <errno.h>
#include <string.h>

#include "plugin/log.h"
#include "plugin/plugin.h"

/* 0 if kernel WireGuard can run devices here, else -errno. */
static int kernel_probe(const struct plugin *p)
{
    return p->tun->probe ? p->tun->probe(p->tun_ctx, TUNNEL_KERNEL) : -EOPNOTSUPP;
}

int plugin_engine_resolve(const struct plugin *p, struct net_config *cfg, char err[NET_ERR_MAX])
{
    int ret;

    cfg->engine = TUNNEL_WGCORE;
    if (cfg->transport != WG_TRANSPORT_UDP || cfg->engine_opt == TUNNEL_WGCORE)
        return 0;     /* options.c refused kernel with another transport */
    /* An attested hub's key can change (re-attestation after its restart),
     * and only wgcore devices take a new peer while running. */
    if (cfg->attest.mode != NET_ATTEST_OFF) {
        if (cfg->engine_opt == TUNNEL_KERNEL)
            return net_fail(err, "wgvsock.engine=kernel cannot follow a re-attested hub's new "
                        "key; use wgvsock.engine=auto or wgcore with wgvsock.attest");
        return 0;
    }
    ret = kernel_probe(p);
    if (ret) {
        if (cfg->engine_opt == TUNNEL_KERNEL)
            return net_fail(err, "wgvsock.engine=kernel: this host's kernel has no WireGuard "
                        "(its generic netlink family: %s); load it with `modprobe wireguard`, "
                        "or use wgvsock.engine=auto or wgcore", strerror(-ret));
        pl_debug("kernel WireGuard unavailable (%s): engine wgcore", strerror(-ret));
        return 0;
    }
    if (cfg->mtu > TUNNEL_KERNEL_MTU_MAX) {
        if (cfg->engine_opt == TUNNEL_KERNEL)
            return net_fail(err, "wgvsock.mtu: %u is above kernel WireGuard's maximum %u "
                        "(wgvsock.engine=kernel)", cfg->mtu, TUNNEL_KERNEL_MTU_MAX);
        pl_info("MTU %u is above kernel WireGuard's maximum: engine wgcore", cfg->mtu);
        return 0;
    }
    cfg->engine = TUNNEL_KERNEL;
    return 0;
}
