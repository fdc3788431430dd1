/* allocate.c - AllocateNetwork and FreeNetwork (global scope, swarm).
 *
 * Swarm's manager calls AllocateNetwork once per network with the options
 * of `docker network create` (a flat map) and the pools it allocated; what
 * we answer in "Options" becomes the generic options of every node's
 * CreateNetwork.  So the options are validated here exactly as a node's
 * CreateNetwork parses them (a mistake fails `docker network create` on the
 * manager), and are returned with the fingerprint of the manager's seed
 * (seed_fp.h), which every node checks against its own seed file.  The seed
 * itself never enters the answer (the cluster store) unless the operator
 * put it in the options (wgvsock.seed).
 *
 * What depends on the node, not the network (wgvsock.engine=auto's choice,
 * an attested hub's attestation), is decided at each node's CreateNetwork.
 * Nothing is kept here, so FreeNetwork has nothing to clean.
 */
#include <stdlib.h>
#include <string.h>

#include "plugin/allocate.h"
#include "plugin/log.h"

/* The seed's fingerprint for cfg, as hex.  0 or -1 + err. */
static int fingerprint(const struct plugin *p, const struct net_config *cfg,
                       char hex[SEED_FP_HEX_LEN + 1], char err[NET_ERR_MAX])
{
    struct net_secrets *s = net_secrets_load(cfg, p->seed_file, err);
    uint8_t fp[SEED_FP_LEN];

    if (!s)
        return -1;
    seed_fp_compute(&s->seed, fp);
    net_secrets_free(s);
    seed_fp_to_hex(fp, hex);
    return 0;
}

int network_allocate(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX])
{
    char id[PL_ID_MAX + 1], hex[SEED_FP_HEX_LEN + 1];
    const json_t *opts = json_object_get(req, "Options");
    const char *key;
    json_t *value, *as_create, *out;
    struct net_config *cfg;
    int ret;

    if (pl_request_id(req, "NetworkID", id, err))
        return -1;
    if (opts && json_is_null(opts))
        opts = NULL;
    if (opts && !json_is_object(opts))
        return net_fail(err, "malformed request: Options must be an object");
    json_object_foreach((json_t *)opts, key, value)
        if (!json_is_string(value))
            return net_fail(err, "malformed request: option %.64s is not a string", key);

    /* The CreateNetwork request the nodes will see. */
    out = opts ? json_copy((json_t *)opts) : json_object();
    as_create = json_pack("{s:s, s:{s:O}, s:O?, s:O?}", "NetworkID", id,
                          "Options", "com.docker.network.generic", out,
                          "IPv4Data", json_object_get(req, "IPv4Data"),
                          "IPv6Data", json_object_get(req, "IPv6Data"));
    cfg = malloc(sizeof(*cfg));
    if (!out || !as_create || !cfg) {
        json_decref(out);
        json_decref(as_create);
        free(cfg);
        return net_fail(err, "out of memory");
    }
    ret = net_config_parse(cfg, as_create, p->seed_file, true, err);
    if (ret == 0)
        ret = fingerprint(p, cfg, hex, err);
    net_config_wipe(cfg);
    free(cfg);
    json_decref(as_create);
    if (ret == 0 && json_object_set_new(out, "wgvsock.seed-fingerprint", json_string(hex)))
        ret = net_fail(err, "out of memory");
    if (ret) {
        json_decref(out);
        return -1;
    }
    pl_info("network %.12s allocated (swarm): seed fingerprint %s", id, hex);
    *resp = json_pack("{s:o}", "Options", out);
    return *resp ? 0 : net_fail(err, "out of memory");
}

int network_free(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX])
{
    char id[PL_ID_MAX + 1];

    if (pl_request_id(req, "NetworkID", id, err))
        return -1;
    pl_debug("network %.12s freed (swarm): nothing kept", id);
    *resp = json_object();
    return 0;
}
