/* wg_genl.h - kernel WireGuard devices configured over the WireGuard
 * generic-netlink family (include/uapi/linux/wireguard.h), on libmnl.
 *
 * The configuration and the snapshot are wgcore's structs (wgcore.h), so
 * the plugin describes a device once whichever engine runs it.  Each call
 * opens its own netlink socket in the calling thread's network namespace,
 * where the device must be.  All functions return 0 or -errno.
 */
#ifndef WGVSOCK_PLUGIN_WG_GENL_H
#define WGVSOCK_PLUGIN_WG_GENL_H

#include "wgcore/wgcore.h"

/* 0 if this kernel has WireGuard: the "wireguard" generic-netlink family
 * resolves (the kernel loads wireguard.ko for that if it can); -ENOENT if
 * not, another -errno if netlink itself failed. */
int wg_genl_probe(void);

/* WG_CMD_SET_DEVICE on interface ifname: private key, listen port, fwmark,
 * peers (public key, preshared key, endpoint, keepalive, allowed-ips) and
 * their flags, as wg(8) `set` does.  An AF_VSOCK endpoint is -EAFNOSUPPORT
 * (kernel WireGuard speaks UDP only).  Nothing is sent on a bad config. */
int wg_genl_set_device(const char *ifname, const struct wg_device_config *cfg);

/* WG_CMD_GET_DEVICE: a snapshot of ifname, peers split across messages
 * merged again.  Free with wg_device_info_free(), which wipes the keys. */
int wg_genl_get_device(const char *ifname, struct wg_device_info **out);

#endif
