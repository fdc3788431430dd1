/* link.h - network interfaces by name over rtnetlink (libnl-route-3): create
 * a virtual link of a given kind, look it up, move it to another namespace,
 * delete it.  Every call works in the calling thread's network namespace
 * and opens its own short-lived netlink socket, so callers need no locking.
 * All functions return 0 or -errno.
 */
#ifndef WGVSOCK_PLUGIN_LINK_H
#define WGVSOCK_PLUGIN_LINK_H

#include <stddef.h>

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

#endif
