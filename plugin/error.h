/* error.h - the message a failed driver call gives Docker's user.
 *
 * Every call handler, the option parser and the tunnel fill one buffer of
 * NET_ERR_MAX bytes with a sentence for a person (routes.c sends it as
 * {"Err": "wgvsock: ..."}); net_fail() formats it.  Never put a secret in it.
 */
#ifndef WGVSOCK_PLUGIN_ERROR_H
#define WGVSOCK_PLUGIN_ERROR_H

#define NET_ERR_MAX 512                 /* size of an error message buffer */

/* Writes a printf-style message for the user into err and returns -1, so
 * callers can `return net_fail(err, ...)`. */
int net_fail(char err[NET_ERR_MAX], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
