/* allocate.h - the swarm manager's calls of a global-scope driver:
 * AllocateNetwork (validate the options as CreateNetwork would, and return
 * them, with the manager's seed fingerprint, for every node's CreateNetwork)
 * and FreeNetwork.  Handlers as plugin.h describes them.
 */
#ifndef WGVSOCK_PLUGIN_ALLOCATE_H
#define WGVSOCK_PLUGIN_ALLOCATE_H

#include "plugin/plugin.h"

int network_allocate(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int network_free(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);

#endif
