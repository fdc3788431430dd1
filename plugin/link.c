/* link.c - rtnetlink link operations on libnl-route-3 (see link.h).
 *
 * libnl reports its own NLE_* codes, having folded the kernel's errno into
 * them; link_errno() unfolds the ones a caller can act on, so that this file
 * keeps the project's 0/-errno convention.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "plugin/link.h"
#include "wgcore/tun.h"         /* wg_netns_enter/leave */

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
    /* libnl has no ops of its own for most kinds (wireguard included): it
     * only records the name, and the kernel decides whether it knows it. */
    ret = rtnl_link_set_type(link, kind);
    if (ret == 0)
        ret = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
    ret = link_errno(ret);
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

/* rtnl_link_change(name, change) in one request; puts change (NULL: -ENOMEM). */
static int link_apply_change(const char *name, struct rtnl_link *change)
{
    struct rtnl_link *link;
    struct nl_sock *sk;
    int ret;

    if (!change)
        return -ENOMEM;
    if (!(ret = link_socket(&sk))) {
        if (!(ret = link_lookup(sk, name, &link))) {
            ret = link_errno(rtnl_link_change(sk, link, change, 0));
            rtnl_link_put(link);
        }
        nl_socket_free(sk);
    }
    rtnl_link_put(change);
    return ret;
}

int link_move(const char *name, int netns_fd, const char *new_name)
{
    struct rtnl_link *change;

    if (netns_fd < 0 || (new_name && !name_ok(new_name)))
        return -EINVAL;
    change = rtnl_link_alloc();
    /* One request: the kernel renames as it moves, so a name taken in the
     * target never leaves the link stranded halfway. */
    if (change) {
        rtnl_link_set_ns_fd(change, netns_fd);
        if (new_name)
            rtnl_link_set_name(change, new_name);
    }
    return link_apply_change(name, change);
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

/* ---- aliases: tagging a link and finding it again in any namespace ---- */

/* A NETLINK_ROUTE socket bound to netns_fd's namespace (-1: ours): only the
 * socket is made there, the thread comes straight back. */
static int link_socket_in(int netns_fd, struct nl_sock **out)
{
    int saved = -1, ret;

    if (netns_fd >= 0 && (ret = wg_netns_enter(netns_fd, &saved)))
        return ret;
    ret = link_socket(out);
    wg_netns_leave(saved);
    return ret;
}

int link_set_alias(const char *name, const char *alias)
{
    struct rtnl_link *change = rtnl_link_alloc();

    if (change)
        rtnl_link_set_ifalias(change, alias);
    return link_apply_change(name, change);
}

int link_each_alias(int netns_fd, const char *prefix,
                    int (*fn)(void *ctx, const char *alias, const struct link_info *link),
                    void *ctx)
{
    struct nl_cache *cache = NULL;
    struct nl_sock *sk;
    size_t plen = strlen(prefix);
    int ret;

    if ((ret = link_socket_in(netns_fd, &sk)))
        return ret;
    ret = link_errno(rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache));
    for (struct nl_object *o = ret ? NULL : nl_cache_get_first(cache); o && !ret;
         o = nl_cache_get_next(o)) {
        struct rtnl_link *l = (struct rtnl_link *)o;
        const char *alias = rtnl_link_get_ifalias(l);
        const char *name = rtnl_link_get_name(l);
        struct link_info info;

        if (!alias || strncmp(alias, prefix, plen))
            continue;
        memset(&info, 0, sizeof(info));
        snprintf(info.ifname, sizeof(info.ifname), "%s", name ? name : "");
        info.ifindex = rtnl_link_get_ifindex(l);
        info.flags = rtnl_link_get_flags(l);
        ret = fn(ctx, alias, &info);
    }
    nl_cache_free(cache);
    nl_socket_free(sk);
    return ret;
}

struct find_ctx {
    const char *alias;
    struct link_info *out;
};

static int match_alias(void *ctx, const char *alias, const struct link_info *link)
{
    struct find_ctx *f = ctx;

    if (strcmp(alias, f->alias))
        return 0;
    *f->out = *link;
    return 1;
}

int link_find_by_alias(int netns_fd, const char *alias, struct link_info *out)
{
    struct find_ctx f = { alias, out };
    int ret = link_each_alias(netns_fd, alias, match_alias, &f);

    return ret == 1 ? 0 : ret < 0 ? ret : -ENOENT;
}
