/* uapi_handle.h - one wg(8) request applied to a device: parse (uapi.c),
 * wg_device_apply/get, the whole answer.  The control socket (control.c)
 * calls it; the text functions in uapi.h stay free of any device.
 */
#ifndef WGVSOCK_UAPI_HANDLE_H
#define WGVSOCK_UAPI_HANDLE_H

#include <stddef.h>

#include "wgcore/wgcore.h"

/* One whole request as read from the socket ("get=1\n\n" or "set=1\n...\n\n")
 * -> the whole answer including "errno=N\n\n" (malloc'ed); N is 0 or a
 * negated errno ("errno=-22"), as wireguard-go answers and wg(8) expects. */
char *wg_uapi_handle(struct wg_device *dev, const char *req, size_t len);

#endif
