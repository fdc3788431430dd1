/* hub_addr.c - one address on the hub's interface through libnl-route-3
 * (RTM_NEWADDR / RTM_DELADDR), so the enclave needs no ip(8) and no shell. */
#include <errno.h>
#include <net/if.h>

#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>

#include "provision/hub_addr.h"

static int addr_op(const char *ifname, const struct wg_allowedip *a, bool add)
{
    unsigned ifindex = if_nametoindex(ifname);
    struct nl_sock *sk = nl_socket_alloc();
    struct rtnl_addr *ra = rtnl_addr_alloc();
    struct nl_addr *local = nl_addr_build(a->family, a->ip, a->family == AF_INET ? 4 : 16);
    int rc = -ENOMEM;

    if (!ifindex) {
        rc = -ENODEV;
        goto out;
    }
    if (!sk || !ra || !local)
        goto out;
    rc = -EIO;
    if (nl_connect(sk, NETLINK_ROUTE) < 0)
        goto out;
    nl_addr_set_prefixlen(local, a->cidr);
    rtnl_addr_set_ifindex(ra, (int)ifindex);
    if (rtnl_addr_set_local(ra, local) < 0)
        goto out;
    rc = add ? rtnl_addr_add(sk, ra, NLM_F_REPLACE) : rtnl_addr_delete(sk, ra, 0);
    if (rc < 0)
        rc = rc == -NLE_EXIST ? -EEXIST : rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NOADDR ? -ENOENT : -EIO;
out:
    nl_addr_put(local);
    rtnl_addr_put(ra);
    nl_socket_free(sk);
    return rc;
}

int hub_addr_add(const char *ifname, const struct wg_allowedip *addr)
{
    return addr_op(ifname, addr, true);
}

int hub_addr_del(const char *ifname, const struct wg_allowedip *addr)
{
    return addr_op(ifname, addr, false);
}
