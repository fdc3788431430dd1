/* uapi.h - the text of wg(8)'s cross-platform userspace protocol.
 *
 * Pure functions, no I/O: parse a "set" body into a wg_device_config
 * (validating everything, so a bad request changes nothing), format a
 * wg_device_info as a "get" answer.  The control socket and the fuzzers
 * both drive these.
 */
#ifndef WGVSOCK_UAPI_H
#define WGVSOCK_UAPI_H

#include <stddef.h>
#include "wgcore/wgcore.h"

/* text: the lines after "set=1\n", up to (not including) the empty line.
 * 0 or -errno (-EINVAL for malformed input, -EPROTO for an unknown key or
 * protocol_version, -ENOMEM).  On success free with wg_uapi_config_free(). */
int wg_uapi_parse_set(const char *text, size_t len, struct wg_device_config *cfg);
void wg_uapi_config_free(struct wg_device_config *cfg);   /* wipes keys */

/* The lines of a "get" answer, without the trailing "errno=0\n\n".
 * Returns a malloc'ed NUL-terminated string, or NULL on ENOMEM. */
char *wg_uapi_format_get(const struct wg_device_info *info);
/* The same with `reserve` spare bytes after the NUL for the caller's trailer
 * (no copy of a multi-megabyte answer holding a private key); *len = strlen. */
char *wg_uapi_format_get_reserve(const struct wg_device_info *info, size_t reserve, size_t *len);

#endif
