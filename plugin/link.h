/* link.h - network interfaces by name over rtnetlink (libnl-route-3): create
 * a virtual link of a given kind, look it up, move it to another namespace,
 * delete it, tag it with an alias and find it by that alias in any network
 * namespace.  Every call but the last works in the calling thread's namespace
 * and opens its own short-lived netlink socket, so callers need no locking.
 * All functions return 0 or -errno.
 */
#ifndef WGVSOCK_PLUGIN_LINK_H
#define WGVSOCK_PLUGIN_LINK_H

#include <stddef.h>
#include <net/if.h>

/* Creates link `name` of `kind` ("wireguard", ...) with the given MTU (0:
 * the kind's default), down.  -EEXIST if the name is taken; -EOPNOTSUPP if
 * the kernel does not know the kind (module missing and not loadable). */
int link_create(const char *name, const char *kind, unsigned mtu);

/* The kind of link `name` into kind[size] ("" for a link without one, such
 * as a physical NIC), and its ifindex if ifindex != NULL.  -ENODEV if there
 * is no such link. */
int link_get(const char *name, char *kind, size_t size, int *ifindex);

/* Moves link `name` into the namespace of netns_fd, renamed to new_name
 * there if not NULL (what libnetwork does with SrcName -> wg0). */
int link_move(const char *name, int netns_fd, const char *new_name);

/* Deletes link `name`.  -ENODEV if there is none. */
int link_delete(const char *name);

/* Aliases (ip link set NAME alias ALIAS) tag a link so that it can be found
 * again wherever it was moved and renamed.  These take netns_fd: an open
 * network namespace to look in (entering it needs CAP_SYS_ADMIN; only the
 * netlink socket is made there), or -1 for the caller's own. */
struct link_info {
    char ifname[IFNAMSIZ];
    int ifindex;
    unsigned flags;             /* IFF_UP, ... */
};
/* Sets the alias of link `name` (in the caller's namespace). */
int link_set_alias(const char *name, const char *alias);
/* The link whose alias is exactly alias: 0, or -ENOENT if none. */
int link_find_by_alias(int netns_fd, const char *alias, struct link_info *out);
/* Calls fn for every link whose alias starts with prefix; fn returning
 * non-zero stops the walk and is returned. */
int link_each_alias(int netns_fd, const char *prefix,
                    int (*fn)(void *ctx, const char *alias, const struct link_info *link),
                    void *ctx);

#endif
