/* uapi_handle.c - one wg(8) request -> device call -> the whole answer.
 *
 * Kept apart from uapi.c so the pure text code (and its fuzzer) never
 * depends on a device.  A "set" is parsed completely before
 * wg_device_apply() sees it, so a malformed request changes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wgcore/uapi.h"
#include "wgcore/uapi_handle.h"

#define ERRNO_MAX sizeof("errno=-2147483648\n\n")

/* err is 0 or -errno, and travels as it is ("errno=-22"), as wireguard-go
 * sends it: wg(8) passes the number on as its own return value and prints
 * strerror(-N), so a positive number would read "Unknown error -22". */
static char *answer_errno(int err)
{
    char *s = malloc(ERRNO_MAX);

    if (s)
        snprintf(s, ERRNO_MAX, "errno=%d\n\n", err);
    return s;
}

static char *handle_get(struct wg_device *dev)
{
    struct wg_device_info *info = NULL;
    size_t len;
    char *s;
    int err = wg_device_get(dev, &info);

    if (err)
        return answer_errno(err);
    s = wg_uapi_format_get_reserve(info, ERRNO_MAX, &len);
    wg_device_info_free(info);
    if (!s)
        return answer_errno(-ENOMEM);
    memcpy(s + len, "errno=0\n\n", sizeof("errno=0\n\n"));
    return s;
}

static char *handle_set(struct wg_device *dev, const char *body, size_t len)
{
    struct wg_device_config cfg;
    int err = wg_uapi_parse_set(body, len, &cfg);

    if (err) {
        wg_log(WG_LOG_VERBOSE, "%s: control: malformed set request (errno=%d)",
               wg_device_ifname(dev), err);
        return answer_errno(err);
    }
    err = wg_device_apply(dev, &cfg);
    if (err)
        wg_log(WG_LOG_VERBOSE, "%s: control: set failed (errno=%d)", wg_device_ifname(dev), err);
    wg_uapi_config_free(&cfg);
    return answer_errno(err);
}

char *wg_uapi_handle(struct wg_device *dev, const char *req, size_t len)
{
    /* Every request ends with an empty line; the socket layer splits on it. */
    if (!req || len < 2 || req[len - 1] != '\n' || req[len - 2] != '\n')
        return answer_errno(-EINVAL);
    if (len == 7 && !memcmp(req, "get=1\n\n", 7))
        return handle_get(dev);
    if (len >= 7 && !memcmp(req, "set=1\n", 6))
        return handle_set(dev, req + 6, len - 7);
    return answer_errno(-EINVAL);
}
