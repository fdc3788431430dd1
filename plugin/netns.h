/* netns.h - finding network namespaces: a sandbox key given by Docker, and
 * every namespace some process on the host is in.  The plugin uses them to
 * find its containers' interfaces again after a restart.
 */
#ifndef WGVSOCK_PLUGIN_NETNS_H
#define WGVSOCK_PLUGIN_NETNS_H

/* An fd for the network namespace bind-mounted at path (Docker's
 * SandboxKey), or -errno: -EINVAL when path is not a namespace from here
 * (dockerd's mounts may live in a mount namespace we do not see). */
int netns_open_path(const char *path);
/* The same, and when path is not a namespace here, the path as the other
 * mount namespaces of the host see it (dockerd may run in its own, or the
 * plugin in a managed plugin's). */
int netns_open_sandbox(const char *path);

/* Calls fn once for every distinct network namespace that a process in our
 * PID namespace is in (our own included) or that is bind-mounted in one of
 * their mount namespaces (ip netns, Docker's sandboxes of stopping
 * containers), with an fd that stays open only during the call; fn
 * returning non-zero stops the walk and is returned.  Namespaces that
 * cannot be opened (a process exiting) are skipped. */
int netns_each(int (*fn)(void *ctx, int netns_fd), void *ctx);

#endif
