/* tunnel.h - how the plugin creates and destroys an endpoint's WireGuard
 * device.  Production has two engines, wgcore in this process
 * (tunnel_wgcore.c) and the kernel's WireGuard (tunnel_kernel.c), behind
 * one dispatcher that picks by spec->engine (tunnel_engines.c); the unit
 * tests and the fuzzer plug in a fake so that every route, Join included,
 * runs without root, TUN or threads.
 */
#ifndef WGVSOCK_PLUGIN_TUNNEL_H
#define WGVSOCK_PLUGIN_TUNNEL_H

#include "plugin/error.h"
#include "wgcore/wgcore.h"

/* wgvsock.engine.  AUTO is only ever asked for: CreateNetwork resolves it
 * (engine.c) and devices are made by WGCORE or KERNEL. */
enum tunnel_engine {
    TUNNEL_AUTO = 0,        /* kernel for udp where the kernel has WireGuard */
    TUNNEL_WGCORE,          /* our userspace engine, in the plugin's process */
    TUNNEL_KERNEL,          /* a kernel `wireguard` link; udp only */
};
/* Kernel WireGuard's largest MTU (65535 minus its 80 bytes of overhead). */
#define TUNNEL_KERNEL_MTU_MAX 65455

struct tunnel_spec {
    const char *ifname;                     /* the device's host-side name */
    enum tunnel_engine engine;              /* WGCORE or KERNEL */
    /* A new interface is made persistent and tagged with this alias (link.h),
     * so that the next plugin process finds and adopts it. */
    const char *tag;
    /* >= 0: adopt the existing persistent TUN named adopt_ifname in this
     * network namespace instead of creating one (a restarted plugin). */
    int adopt_netns;
    const char *adopt_ifname;
    int adopt_ifindex;                      /* the one found; another fails */
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
    /* Optional: 0 if engine can run devices on this host, else -errno
     * (asked at CreateNetwork).  NULL: only TUNNEL_WGCORE can. */
    int (*probe)(void *ctx, enum tunnel_engine engine);
    /* Optional: forgets dev at plugin shutdown but leaves its interface
     * for the next process (kernel: working; wgcore: a persistent TUN to
     * adopt, adopt.h).  NULL: destroy. */
    void (*release)(void *ctx, void *dev);
    /* Optional: destroys the device named ifname that an earlier run of the
     * plugin left, if there is one and it is engine's. */
    void (*destroy_stale)(void *ctx, enum tunnel_engine engine, const char *ifname);
    /* Optional (NULL: not supported): apply a configuration to a running
     * device, e.g. a re-attested hub's new key.  0 or -1 + err. */
    int (*apply)(void *ctx, void *dev, const struct wg_device_config *config,
                 char err[NET_ERR_MAX]);
};

extern const struct tunnel_ops tunnel_wgcore_ops;
extern const struct tunnel_ops tunnel_kernel_ops;
/* What the plugin runs: each call goes to the engine of the spec or device. */
extern const struct tunnel_ops tunnel_engines_ops;

#endif
