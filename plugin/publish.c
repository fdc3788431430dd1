/* publish.c - ProgramExternalConnectivity / RevokeExternalConnectivity.
 *
 * For a remote driver Docker programs no port mapping itself: what `-p`
 * asks for arrives here as Options["com.docker.network.portmap"] after Join,
 * and Revoke comes before Leave when the container stops.  The ports are
 * opened before the call is answered, so "port already in use" fails
 * `docker run` (Docker then undoes the endpoint), and closed before Revoke
 * is answered, so a stopped container's ports are free at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/endpoint.h"
#include "plugin/forward.h"
#include "plugin/log.h"
#include "plugin/publish.h"

/* The endpoint's address without its prefix length, and its sandbox: the
 * SandboxKey as dockerd names it, seen through WGVSOCK_SANDBOX_ROOT when the
 * plugin runs in another mount namespace than dockerd (e.g.
 * /proc/<dockerd's PID>/root). */
static int endpoint_target(struct plugin *p, const char *ep_id, char ip[NET_ADDR_TEXT_MAX],
                           char sandbox[NET_PATH_MAX], char err[NET_ERR_MAX])
{
    const char *root = getenv("WGVSOCK_SANDBOX_ROOT");
    struct pl_endpoint *e;
    int ret = 0;

    state_lock(p->state);
    e = state_find_ep(p->state, ep_id);
    if (!e)
        ret = net_fail(err, "endpoint %.12s is not known to the wgvsock plugin", ep_id);
    else if (!*e->sandbox_key)
        ret = net_fail(err, "endpoint %.12s has not joined a container", ep_id);
    if (!ret) {
        strcpy(ip, e->addr4);
        if (snprintf(sandbox, NET_PATH_MAX, "%s%s", root ? root : "", e->sandbox_key) >=
            NET_PATH_MAX)
            ret = net_fail(err, "WGVSOCK_SANDBOX_ROOT + the sandbox path are too long");
    }
    state_unlock(p->state);
    if (!ret)
        ip[strcspn(ip, "/")] = '\0';
    return ret;
}

/* Records (ports != NULL) or forgets the endpoint's ports, in memory and
 * in its state file; takes ownership of ports.  0 or -errno. */
static int save_ports(struct plugin *p, const char *ep_id, json_t *ports)
{
    struct pl_endpoint *e;
    int ret = -ENOENT;

    state_lock(p->state);
    e = state_find_ep(p->state, ep_id);
    if (e) {
        json_decref(e->ports);
        e->ports = ports;
        ports = NULL;
        ret = state_save_ep(p->state, e);
    }
    state_unlock(p->state);
    json_decref(ports);
    return ret;
}

static void log_bindings(const char *ep_id, const struct pm_binding *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char what[PM_IP_TEXT_MAX + 32];
        pm_describe(&b[i], what, sizeof(what));
        pl_info("endpoint %.12s: host port %s -> container port %u", ep_id, what, b[i].port);
    }
}

/* Opens the bindings toward the endpoint's container and logs them.  At a
 * restart the container must still exist (restarting). */
static int open_ports(struct plugin *p, const char *ep_id, struct pm_binding *b, size_t n,
                      bool restarting, char err[NET_ERR_MAX])
{
    char ip[NET_ADDR_TEXT_MAX], sandbox[NET_PATH_MAX];

    if (!p->fwd)
        return net_fail(err, "published ports are not available in this plugin instance");
    if (endpoint_target(p, ep_id, ip, sandbox, err))
        return -1;
    if (restarting && access(sandbox, F_OK))
        return net_fail(err, "its container's network namespace %.200s is gone", sandbox);
    if (fwd_publish(p->fwd, ep_id, sandbox, ip, b, n, err))
        return -1;
    log_bindings(ep_id, b, n);
    return 0;
}

int publish_program(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX])
{
    char net_id[PL_ID_MAX + 1], ep_id[PL_ID_MAX + 1];
    struct pm_binding *b = NULL;
    size_t n = 0;
    json_t *ports;
    int ret;

    if (pl_request_id(req, "NetworkID", net_id, err) || pl_request_id(req, "EndpointID", ep_id, err) ||
        pm_parse(json_object_get(req, "Options"), &b, &n, err))
        return -1;
    if (wg_log_level_from_env() >= WG_LOG_DEBUG) {
        /* Docker's own shape, for whoever debugs a port (no secrets here). */
        char *text = json_dumps(json_object_get(req, "Options"), JSON_COMPACT);
        pl_debug("endpoint %.12s: Options %.400s", ep_id, text ? text : "null");
        free(text);
    }
    if (n == 0) {
        *resp = json_object();
        return 0;
    }
    ret = -1;
    if (open_ports(p, ep_id, b, n, false, err))
        goto out;
    ports = pm_to_json(b, n);
    if (!ports || (ret = save_ports(p, ep_id, ports))) {
        fwd_unpublish(p->fwd, ep_id);
        net_fail(err, "cannot save the published ports: %s", strerror(ports ? -ret : ENOMEM));
        ret = -1;
        goto out;
    }
    *resp = json_object();
    ret = 0;
out:
    free(b);
    return ret;
}

int publish_revoke(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX])
{
    char net_id[PL_ID_MAX + 1], ep_id[PL_ID_MAX + 1];
    bool had;

    if (pl_request_id(req, "NetworkID", net_id, err) || pl_request_id(req, "EndpointID", ep_id, err))
        return -1;
    fwd_unpublish(p->fwd, ep_id);
    state_lock(p->state);
    {
        struct pl_endpoint *e = state_find_ep(p->state, ep_id);
        had = e && e->ports;
    }
    state_unlock(p->state);
    if (had) {
        save_ports(p, ep_id, NULL);
        pl_info("endpoint %.12s: published ports closed", ep_id);
    }
    *resp = json_object();
    return 0;
}

/* Re-opens one endpoint's saved ports.  0, or -1 with err. */
static int restore_one(struct plugin *p, const char *ep_id, json_t *opts, char err[NET_ERR_MAX])
{
    struct pm_binding *b = NULL;
    size_t n = 0;
    int ret;

    if (pm_parse(opts, &b, &n, err))
        return -1;
    ret = open_ports(p, ep_id, b, n, true, err);
    free(b);
    return ret;
}

void publish_restore(struct plugin *p)
{
    char last[PL_ID_MAX + 1] = "";

    /* Endpoints in ID order, one at a time, without the lock while
     * publishing (restore_one takes it). */
    for (;;) {
        char next[PL_ID_MAX + 1], err[NET_ERR_MAX] = "";
        json_t *opts = NULL;
        bool found = false;

        state_lock(p->state);
        for (struct pl_endpoint *e = p->state->eps; e; e = e->next) {
            if (!e->ports || strcmp(e->id, last) <= 0 || (found && strcmp(e->id, next) >= 0))
                continue;
            found = true;
            strcpy(next, e->id);
            json_decref(opts);
            opts = json_pack("{s:O}", PM_KEY_PORTMAP, e->ports);
        }
        state_unlock(p->state);
        if (!found)
            break;
        strcpy(last, next);
        if (!opts || restore_one(p, next, opts, err)) {
            pl_err("endpoint %.12s: published ports not re-opened: %s", next,
                   *err ? err : "out of memory");
            save_ports(p, next, NULL);
        }
        json_decref(opts);
    }
}

void publish_close_network(struct plugin *p, const char *net_id)
{
    for (;;) {
        char ep_id[PL_ID_MAX + 1] = "";

        state_lock(p->state);
        for (struct pl_endpoint *e = p->state->eps; e && !*ep_id; e = e->next)
            if (e->ports && !strcmp(e->net_id, net_id)) {
                strcpy(ep_id, e->id);
                json_decref(e->ports);
                e->ports = NULL;
            }
        state_unlock(p->state);
        if (!*ep_id)
            break;
        fwd_unpublish(p->fwd, ep_id);
    }
}
