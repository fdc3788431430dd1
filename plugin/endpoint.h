/* endpoint.h - the per-container calls: CreateEndpoint (derive the key),
 * Join (create the device), Leave, DeleteEndpoint (destroy it),
 * EndpointOperInfo.  Each takes the parsed request and returns 0 with a
 * response object in *resp, or -1 with a message for a person in err.
 */
#ifndef WGVSOCK_PLUGIN_ENDPOINT_H
#define WGVSOCK_PLUGIN_ENDPOINT_H

#include <jansson.h>

#include "plugin/plugin.h"

/* The host-side TUN name for an endpoint: "wgv" + its first 12 characters. */
void ep_ifname(char out[PL_IFNAME_MAX], const char *endpoint_id);

int ep_create(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int ep_delete(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int ep_join(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int ep_leave(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int ep_info(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);

/* Reads "NetworkID"/"EndpointID" (key) from req into out.  0 or -1 + err. */
int ep_get_id(const json_t *req, const char *key, char out[PL_ID_MAX + 1], char err[NET_ERR_MAX]);

#endif
