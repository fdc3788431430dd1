/* network.c - CreateNetwork and DeleteNetwork.
 *
 * CreateNetwork validates every option now (options.c), so that a mistake
 * fails `docker network create` rather than each later `docker run`, and
 * saves the request as the state directory's network file.  Bodies are never
 * logged (they may carry a seed).
 */
#include <stdlib.h>
#include <string.h>

#include "plugin/attested_hub.h"
#include "plugin/log.h"
#include "plugin/network.h"
#include "plugin/publish.h"

#define TAKE_BATCH 16       /* devices taken from the state per lock */

int network_create(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX])
{
    char id[PL_ID_MAX + 1];
    struct net_config *cfg;
    json_t *saved;
    int ret;

    if (pl_request_id(req, "NetworkID", id, err))
        return -1;
    cfg = malloc(sizeof(*cfg));
    if (!cfg)
        return net_fail(err, "out of memory");
    if (net_config_parse(cfg, req, p->seed_file, true, err) ||
        plugin_engine_resolve(p, cfg, err) ||
        ah_network_check(p, id, cfg, err)) {       /* an attested hub must attest now */
        net_config_wipe(cfg);
        free(cfg);
        return -1;
    }
    /* What is saved is exactly what is parsed again at start-up, plus the
     * resolved engine: what the host has later must not switch it. */
    saved = json_pack("{s:i, s:s, s:O?, s:O?, s:O?, s:s}", "version", 1, "NetworkID", id,
                      "Options", json_object_get(req, "Options"),
                      "IPv4Data", json_object_get(req, "IPv4Data"),
                      "IPv6Data", json_object_get(req, "IPv6Data"),
                      "Engine", net_engine_name(cfg->engine));
    if (!saved) {
        net_config_wipe(cfg);
        free(cfg);
        return net_fail(err, "out of memory");
    }
    state_lock(p->state);
    /* Docker does not repeat CreateNetwork, but if it ever does (plugin
     * re-enabled), the new request wins; existing endpoints stay. */
    ret = state_add_net(p->state, id, cfg, saved);
    state_unlock(p->state);
    if (ret) {
        net_config_wipe(cfg);
        free(cfg);
        json_decref(saved);
        return net_fail(err, "cannot save network state: %s", strerror(-ret));
    }
    pl_info("network %.12s: transport %s, engine %s (wgvsock.engine=%s), peer %s, subnet %s%s",
            id, wg_transport_name(cfg->transport), net_engine_name(cfg->engine),
            net_engine_name(cfg->engine_opt), cfg->peer_text, cfg->pool4,
            cfg->internal ? ", internal" : "");
    *resp = json_object();
    return 0;
}

int network_delete(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX])
{
    char id[PL_ID_MAX + 1];
    void *devs[TAKE_BATCH];
    size_t n;

    if (pl_request_id(req, "NetworkID", id, err))
        return -1;
    /* Docker deletes the endpoints first; anything left is ours to clean. */
    publish_close_network(p, id);
    do {
        n = state_take_devices(p->state, id, true, devs, TAKE_BATCH);
        for (size_t i = 0; i < n; i++)
            p->tun->destroy(p->tun_ctx, devs[i]);
    } while (n == TAKE_BATCH);
    state_lock(p->state);
    if (state_del_net(p->state, id) == 0)
        pl_info("network %.12s deleted", id);
    state_unlock(p->state);
    *resp = json_object();
    return 0;
}
