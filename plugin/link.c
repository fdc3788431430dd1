/* link.c - rtnetlink link operations on libnl-route-3 (see link.h).
 *
 * libnl reports its own NLE_* codes, having folded the kernel's errno into
 * them; link_errno() unfolds the ones a caller can act on, so that this file
 * keeps the project's 0/-errno convention.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "plugin/link.h"

static int link_errno(int nle)
{
    switch (nle < 0 ? -nle : nle) {
    case NLE_SUCCESS:       return 0;
    case NLE_EXIST:         return -EEXIST;
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV:         return -ENODEV;
    case NLE_OPNOTSUPP:
    case NLE_MSGTYPE_NOSUPPORT:
    case NLE_AF_NOSUPPORT:  return -EOPNOTSUPP;
    case NLE_PERM:          return -EPERM;
    case NLE_NOACCESS:      return -EACCES;
    case NLE_NOMEM:         return -ENOMEM;
    case NLE_BUSY:          return -EBUSY;
    case NLE_RANGE:         return -ERANGE;
    case NLE_AGAIN:         return -EAGAIN;
    case NLE_INTR:          return -EINTR;
    case NLE_MSGSIZE:       return -EMSGSIZE;
    case NLE_INVAL:
    case NLE_MISSING_ATTR:
    case NLE_ATTRSIZE:      return -EINVAL;
    default:                return -EIO;
    }
}

static int link_socket(struct nl_sock **out)
{
    struct nl_sock *sk = nl_socket_alloc();
    int ret;

    if (!sk)
        return -ENOMEM;
    ret = nl_connect(sk, NETLINK_ROUTE);
    if (ret < 0) {
        nl_socket_free(sk);
        return link_errno(ret);
    }
    *out = sk;
    return 0;
}

static bool name_ok(const char *name)
{
    size_t len = name ? strlen(name) : 0;

    return len > 0 && len < 16 && !strchr(name, '/');   /* IFNAMSIZ */
}

int link_create(const char *name, const char *kind, unsigned mtu)
{
    struct rtnl_link *link;
    struct nl_sock *sk;
    int ret;

    if (!name_ok(name) || !kind || !*kind)
        return -EINVAL;
    if ((ret = link_socket(&sk)))
        return ret;
    link = rtnl_link_alloc();
    if (!link) {
        nl_socket_free(sk);
        return -ENOMEM;
    }
    rtnl_link_set_name(link, name);
    if (mtu)
        rtnl_link_set_mtu(link, mtu);
    ret = rtnl_link_set_type(link, kind);
    /* set_type fails only for a kind libnl has a module for and cannot
     * load; the kernel is asked anyway (wireguard has none in libnl). */
    (void)ret;
    ret = link_errno(rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL));
    rtnl_link_put(link);
    nl_socket_free(sk);
    return ret;
}

/* The kernel's view of link `name`; *out is put by the caller. */
static int link_lookup(struct nl_sock *sk, const char *name, struct rtnl_link **out)
{
    if (!name_ok(name))
        return -EINVAL;
    return link_errno(rtnl_link_get_kernel(sk, 0, name, out));
}

int link_get(const char *name, char *kind, size_t size, int *ifindex)
{
    struct rtnl_link *link;
    struct nl_sock *sk;
    const char *type;
    int ret;

    if ((ret = link_socket(&sk)))
        return ret;
    ret = link_lookup(sk, name, &link);
    nl_socket_free(sk);
    if (ret)
        return ret;
    type = rtnl_link_get_type(link);
    if (kind && size) {
        if (!type)
            type = "";
        if (strlen(type) >= size) {
            rtnl_link_put(link);
            return -ENAMETOOLONG;
        }
        strcpy(kind, type);
    }
    if (ifindex)
        *ifindex = rtnl_link_get_ifindex(link);
    rtnl_link_put(link);
    return 0;
}

int link_move(const char *name, int netns_fd, const char *new_name)
{
    struct rtnl_link *link, *change;
    struct nl_sock *sk;
    int ret;

    if (netns_fd < 0 || (new_name && !name_ok(new_name)))
        return -EINVAL;
    if ((ret = link_socket(&sk)))
        return ret;
    if ((ret = link_lookup(sk, name, &link))) {
        nl_socket_free(sk);
        return ret;
    }
    change = rtnl_link_alloc();
    if (!change) {
        ret = -ENOMEM;
        goto out;
    }
    /* One request: the kernel renames as it moves, so a name taken in the
     * target never leaves the link stranded halfway. */
    rtnl_link_set_ns_fd(change, netns_fd);
    if (new_name)
        rtnl_link_set_name(change, new_name);
    ret = link_errno(rtnl_link_change(sk, link, change, 0));
    rtnl_link_put(change);
out:
    rtnl_link_put(link);
    nl_socket_free(sk);
    return ret;
}

int link_delete(const char *name)
{
    struct rtnl_link *link;
    struct nl_sock *sk;
    int ret;

    if ((ret = link_socket(&sk)))
        return ret;
    if ((ret = link_lookup(sk, name, &link)) == 0) {
        ret = link_errno(rtnl_link_delete(sk, link));
        rtnl_link_put(link);
    }
    nl_socket_free(sk);
    return ret;
}
