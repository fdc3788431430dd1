/* network.h - the per-network calls: CreateNetwork (parse and save the
 * options) and DeleteNetwork (forget it, destroying what is left of its
 * endpoints).  Handlers as plugin.h describes them.
 */
#ifndef WGVSOCK_PLUGIN_NETWORK_H
#define WGVSOCK_PLUGIN_NETWORK_H

#include "plugin/plugin.h"

int network_create(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int network_delete(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);

#endif
