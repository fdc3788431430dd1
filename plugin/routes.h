/* routes.h - the remote-driver protocol without the HTTP: a request path
 * and body in, an HTTP status and a JSON body out.  The server, the unit
 * tests and the fuzzer all call routes_handle().
 *
 * Errors that Docker should show are HTTP 200 with {"Err":"..."}; an unknown
 * path is 404 with {"Err":"..."}.
 */
#ifndef WGVSOCK_PLUGIN_ROUTES_H
#define WGVSOCK_PLUGIN_ROUTES_H

#include <stddef.h>

#include "plugin/plugin.h"

#define PLUGIN_CONTENT_TYPE "application/vnd.docker.plugins.v1.2+json"

struct route_reply {
    unsigned status;      /* HTTP status */
    char *body;           /* JSON text, malloc'ed, ends in "\n" */
};

/* path: "/NetworkDriver.Join" etc.; body need not be NUL-terminated. */
void routes_handle(struct plugin *p, const char *path, const char *body, size_t len,
                   struct route_reply *out);
void route_reply_free(struct route_reply *r);

#endif
