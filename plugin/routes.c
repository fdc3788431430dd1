/* routes.c - the table of libnetwork remote-driver calls and their dispatch:
 * parse the body, call the handler (network.c, endpoint.c, or one of the
 * trivial answers here), turn its answer or error into the reply.
 *
 * Request bodies are untrusted: anything that is not the JSON object a call
 * expects gets a clear {"Err"} rather than a crash.  Bodies are never
 * logged (CreateNetwork may carry a seed); only the call and its IDs are,
 * at LOG_LEVEL=debug.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/allocate.h"
#include "plugin/endpoint.h"
#include "plugin/network.h"
#include "plugin/log.h"
#include "plugin/publish.h"
#include "plugin/routes.h"

typedef int (*handler_fn)(struct plugin *p, const json_t *req, json_t **resp,
                          char err[NET_ERR_MAX]);

static int h_activate(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX])
{
    *resp = json_pack("{s:[s]}", "Implements", "NetworkDriver");
    return 0;
}

static int h_capabilities(struct plugin *p, const json_t *req, json_t **resp,
                          char err[NET_ERR_MAX])
{
    /* global (WGVSOCK_SCOPE, the operator's choice): swarm's manager
     * allocates addresses for every node; but Docker then refuses to create
     * the network outside a swarm, so local stays the default.  Tasks on
     * different nodes reach each other through the hub: connectivity is as
     * wide as the scope. */
    const char *scope = p->global_scope ? "global" : "local";

    *resp = json_pack("{s:s, s:s}", "Scope", scope, "ConnectivityScope", scope);
    return 0;
}

/* Calls with nothing for us to do (discovery),
 * answered after checking the body. */
static int h_empty(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX])
{
    *resp = json_object();
    return 0;
}

static const struct route {
    const char *path;
    handler_fn fn;
    bool needs_body;        /* the body must be a JSON object */
} routes[] = {
    { "/Plugin.Activate", h_activate, false },
    { "/NetworkDriver.GetCapabilities", h_capabilities, false },
    { "/NetworkDriver.CreateNetwork", network_create, true },
    { "/NetworkDriver.DeleteNetwork", network_delete, true },
    { "/NetworkDriver.AllocateNetwork", network_allocate, true },
    { "/NetworkDriver.FreeNetwork", network_free, true },
    { "/NetworkDriver.CreateEndpoint", ep_create, true },
    { "/NetworkDriver.DeleteEndpoint", ep_delete, true },
    { "/NetworkDriver.EndpointOperInfo", ep_info, true },
    { "/NetworkDriver.Join", ep_join, true },
    { "/NetworkDriver.Leave", ep_leave, true },
    { "/NetworkDriver.DiscoverNew", h_empty, true },
    { "/NetworkDriver.DiscoverDelete", h_empty, true },
    { "/NetworkDriver.ProgramExternalConnectivity", publish_program, true },
    { "/NetworkDriver.RevokeExternalConnectivity", publish_revoke, true },
};

static void set_body(struct route_reply *out, unsigned status, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    size_t len;

    out->status = status;
    if (!text) {
        out->status = 500;
        out->body = strdup("{\"Err\":\"wgvsock plugin: out of memory\"}\n");
        return;
    }
    len = strlen(text);
    out->body = realloc(text, len + 2);
    if (!out->body) {
        out->body = text;
        return;
    }
    memcpy(out->body + len, "\n", 2);
}

/* Error messages quote what the request sent (jansson's parse error, a bad
 * address), and a quote can carry bytes that are not UTF-8 or be cut inside
 * a character by the message buffer; jansson refuses such a string.  Then
 * the message goes out with every non-ASCII byte as '?', never as a 500. */
static void set_err(struct route_reply *out, unsigned status, const char *msg)
{
    json_t *obj = json_pack("{s:s}", "Err", msg);

    if (!obj) {
        char ascii[NET_ERR_MAX + 16];
        size_t i;

        for (i = 0; i < sizeof(ascii) - 1 && msg[i]; i++)
            ascii[i] = (unsigned char)msg[i] < 0x80 ? msg[i] : '?';
        ascii[i] = '\0';
        obj = json_pack("{s:s}", "Err", ascii);
    }
    set_body(out, status, obj);
    json_decref(obj);
}

void routes_handle(struct plugin *p, const char *path, const char *body, size_t len,
                   struct route_reply *out)
{
    char err[NET_ERR_MAX] = "";
    const struct route *r = NULL;
    json_t *req = NULL, *resp = NULL;
    json_error_t jerr;

    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (path && !strcmp(path, routes[i].path))
            r = &routes[i];
    if (!r) {
        pl_debug("unknown call %.80s", path ? path : "(null)");
        set_err(out, 404, "wgvsock plugin: unknown call");
        return;
    }
    if (r->needs_body) {
        req = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
        if (!req) {
            snprintf(err, sizeof(err), "malformed request to %s: %s", path + 1, jerr.text);
            goto error;
        }
        if (!json_is_object(req)) {
            snprintf(err, sizeof(err), "malformed request to %s: expected a JSON object",
                     path + 1);
            goto error;
        }
    }
    {
        const char *net = req ? json_string_value(json_object_get(req, "NetworkID")) : NULL;
        const char *ep = req ? json_string_value(json_object_get(req, "EndpointID")) : NULL;
        pl_debug("%s network=%.12s endpoint=%.12s", path + 1, net ? net : "-", ep ? ep : "-");
    }
    if (r->fn(p, req, &resp, err)) {
        if (!*err)
            snprintf(err, sizeof(err), "%s failed", path + 1);
        goto error;
    }
    set_body(out, 200, resp);
    json_decref(resp);
    json_decref(req);
    return;
error:
    pl_err("%s: %s", path + 1, err);
    /* Docker shows this to the user: say whose message it is. */
    {
        char msg[NET_ERR_MAX + 16];
        snprintf(msg, sizeof(msg), "wgvsock: %s", err);
        set_err(out, 200, msg);
    }
    json_decref(resp);
    json_decref(req);
}

void route_reply_free(struct route_reply *r)
{
    if (r) {
        free(r->body);
        r->body = NULL;
    }
}
