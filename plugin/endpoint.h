/* endpoint.h - the per-container calls: CreateEndpoint (derive the key),
 * Join (create the device), Leave, DeleteEndpoint (destroy it),
 * EndpointOperInfo.  Handlers as plugin.h describes them.
 */
#ifndef WGVSOCK_PLUGIN_ENDPOINT_H
#define WGVSOCK_PLUGIN_ENDPOINT_H

#include "plugin/plugin.h"

/* The host-side TUN name for an endpoint: "wgv" + its first 12 characters. */
void ep_ifname(char out[PL_IFNAME_MAX], const char *endpoint_id);

int ep_create(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int ep_delete(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int ep_join(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int ep_leave(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int ep_info(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);

#endif
