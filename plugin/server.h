/* server.h - the plugin's HTTP/1.1 server on a unix socket (libmicrohttpd,
 * one thread per connection, so a slow call never holds up another). */
#ifndef WGVSOCK_PLUGIN_SERVER_H
#define WGVSOCK_PLUGIN_SERVER_H

#include "plugin/plugin.h"

#define SERVER_BODY_MAX (1024 * 1024)   /* larger request bodies get 413 */

struct server;

/* Creates the socket's directory if missing, replaces a stale socket file,
 * refuses (-EADDRINUSE) if a live server answers on it and (-EEXIST) if the
 * path is not a socket; then serves.  0 or -errno, with err set. */
int server_start(struct plugin *p, const char *socket_path, struct server **out,
                 char *err, size_t errlen);
/* Stops serving, closes every connection and removes the socket file (if it
 * is still ours). */
void server_stop(struct server *s);

/* The socket setup alone, for tests: returns a listening fd or -errno. */
int server_listen_unix(const char *path, char *err, size_t errlen);

#endif
