/* plugin.h - one running driver: its state, how it makes devices, and the
 * configuration that is the plugin's own rather than a network's; and what
 * its call handlers (network.c, endpoint.c) share.
 *
 * A handler takes the parsed request and returns 0 with a response object
 * in *resp, or -1 with a message for a person in err (error.h). */
#ifndef WGVSOCK_PLUGIN_PLUGIN_H
#define WGVSOCK_PLUGIN_PLUGIN_H

#include <jansson.h>

#include "plugin/error.h"
#include "plugin/state.h"
#include "plugin/tunnel.h"

struct fwd;

struct plugin {
    struct pl_state *state;
    struct fwd *fwd;            /* published ports; NULL: none (tests, fuzzing) */
    const struct tunnel_ops *tun;
    void *tun_ctx;
    const char *seed_file;      /* WGVSOCK_SEED_FILE, NULL if unset */
    const char *control_dir;    /* wg(8) sockets; "" = none */
    /* WGVSOCK_STREAM_CRC=0: stream framing without CRC for networks that
     * do not set wgvsock.stream-crc themselves. */
    bool stream_no_crc;
    /* WGVSOCK_SCOPE=global: GetCapabilities answers Scope global (swarm). */
    bool global_scope;
};

/* Resolves cfg->engine from cfg->engine_opt, the transport and what this
 * host has (engine.c, at CreateNetwork).  0, or -1 with a message in err. */
int plugin_engine_resolve(const struct plugin *p, struct net_config *cfg, char err[NET_ERR_MAX]);

/* Test hook: when $WGVSOCK_CRASH_AT names this point, the process kills
 * itself (SIGKILL) here - a crash at an exact step, for the restart tests.
 * Points: create:saved (CreateEndpoint's file written), join:saved (Join's
 * file written, no interface yet), join:created (interface tagged and
 * persistent, Join not answered), delete:destroyed (interface deleted,
 * file not yet). */
void pl_crash_point(const char *name);

/* Reads "NetworkID"/"EndpointID" (key) from req into out.  0 or -1 + err. */
int pl_request_id(const json_t *req, const char *key, char out[PL_ID_MAX + 1],
                  char err[NET_ERR_MAX]);

#endif
