/* adopt.h - at start-up, take over the interfaces an earlier plugin process
 * left behind (persistent, tagged TUNs: tunnel_wgcore.c; tagged kernel
 * WireGuard links, which only get a handle again: tunnel_kernel.c), and clean up the
 * endpoints whose container went away while no plugin ran.
 *
 * For every endpoint in the state directory that was joined, the interface
 * is looked for by its tag: first in the namespace at Join's SandboxKey,
 * then in every network namespace of the host.  Then:
 *   - in another namespace (a container's): a new device attaches to it; the
 *     container keeps its interface, addresses, routes and connections;
 *   - in ours and up (Join answered, libnetwork has not moved it yet, or
 *     Join was cut short): adopted, and deleted after a grace time if it is
 *     still here then;
 *   - in ours and down (libnetwork moved it back at Leave), or nowhere (the
 *     container's namespace is gone): the endpoint is deleted - interface,
 *     control socket, state file.
 * An endpoint never joined gets the same grace time for Docker's Join (it
 * retries calls while the plugin is down), then is deleted.
 * Stale control sockets (wgv*.sock nothing answers on) are removed.
 */
#ifndef WGVSOCK_PLUGIN_ADOPT_H
#define WGVSOCK_PLUGIN_ADOPT_H

#include "plugin/plugin.h"

#define ADOPT_GRACE_S 15

struct adopt_pending;

/* Runs while the server already answers (calls for endpoints being adopted
 * wait or see them busy).  Returns what to look at again after
 * ADOPT_GRACE_S (NULL: nothing). */
struct adopt_pending *plugin_adopt(struct plugin *p);
/* The second look; frees pending.  With p NULL only frees. */
void plugin_adopt_reap(struct plugin *p, struct adopt_pending *pending);

#endif
