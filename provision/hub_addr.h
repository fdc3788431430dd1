/* hub_addr.h - the hub's tunnel address, set from an offer (rtnetlink). */
#ifndef WGVSOCK_PROVISION_HUB_ADDR_H
#define WGVSOCK_PROVISION_HUB_ADDR_H

#include "wgcore/wgcore.h"

/* Add addr/prefix to ifname (replacing the same address with another
 * prefix), or delete it.  0 or -errno. */
int hub_addr_add(const char *ifname, const struct wg_allowedip *addr);
int hub_addr_del(const char *ifname, const struct wg_allowedip *addr);

#endif
