/* publish.h - published ports as driver calls: ProgramExternalConnectivity
 * opens them (forward.c), RevokeExternalConnectivity closes them, the
 * bindings really opened are saved in the endpoint's state file ("Ports",
 * with the container's "SandboxKey") and reported by EndpointOperInfo, and
 * a restarted plugin re-opens them for containers that still run. */
#ifndef WGVSOCK_PLUGIN_PUBLISH_H
#define WGVSOCK_PLUGIN_PUBLISH_H

#include <jansson.h>

#include "plugin/plugin.h"

int publish_program(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int publish_revoke(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);

/* At start-up, after state_open and fwd_start: re-opens the saved ports of
 * every endpoint whose container's network namespace still exists (what
 * cannot be re-opened is logged and forgotten). */
void publish_restore(struct plugin *p);

/* Closes the ports of every endpoint of a network that is being deleted
 * (Docker revokes them first; this is for when it did not). */
void publish_close_network(struct plugin *p, const char *net_id);

#endif
