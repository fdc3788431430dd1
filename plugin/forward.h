/* forward.h - the published-port forwarder: host-side listening sockets in
 * the plugin's network namespace, each connection or UDP flow relayed to the
 * container's own address from a socket created inside the container's
 * network namespace (a socket keeps the namespace it was created in).
 *
 * One thread runs every published port of every container (epoll); TCP is
 * relayed with splice() through a pipe per direction, UDP with one connected
 * socket per client, closed after FWD_UDP_IDLE_S without traffic.  Both are
 * bounded (FWD_CONNS_MAX, FWD_FLOWS_MAX): past the bound a new connection is
 * refused (reset) and a new client's datagram dropped; existing ones go on.
 *
 * The other threads only post commands (publish, unpublish) and wait for
 * their answer, so every socket is created, used and closed by one thread.
 */
#ifndef WGVSOCK_PLUGIN_FORWARD_H
#define WGVSOCK_PLUGIN_FORWARD_H

#include "plugin/portmap.h"

#define FWD_CONNS_MAX 256       /* TCP connections, all ports together (6 fds each) */
#define FWD_FLOWS_MAX 256       /* UDP clients, all ports together */
#define FWD_UDP_IDLE_S 90       /* as docker-proxy */

struct fwd;

/* Starts the thread in the calling thread's network namespace (the host
 * side).  0 or -errno. */
int fwd_start(struct fwd **out);
/* Closes every socket and stops the thread. */
void fwd_stop(struct fwd *f);

/* Listens on every binding (a host port of 0 or a range: the first free one;
 * b[i].host_port is set to the port bound) and forwards to container_ip
 * (IPv4, no prefix) inside the network namespace netns_path.  All or
 * nothing: on failure no port stays open.  key names the publication (the
 * endpoint ID); publishing a key again replaces it.  0, or -1 with a message
 * naming the port in err. */
int fwd_publish(struct fwd *f, const char *key, const char *netns_path, const char *container_ip,
                struct pm_binding *b, size_t n, char err[NET_ERR_MAX]);
/* Closes the listeners, connections and flows of key; every port is free
 * when this returns.  Unknown keys are ignored. */
void fwd_unpublish(struct fwd *f, const char *key);

#endif
