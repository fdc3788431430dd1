/* plugin.c - what the call handlers share: reading a request's IDs, the
 * crash test hook. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin.h"

int pl_request_id(const json_t *req, const char *key, char out[PL_ID_MAX + 1],
                  char err[NET_ERR_MAX])
{
    const char *s = json_string_value(json_object_get(req, key));

    if (!s || !state_valid_id(s))
        return net_fail(err, "malformed request: missing or invalid %s", key);
    strcpy(out, s);
    return 0;
}

void pl_crash_point(const char *name)
{
    const char *at = getenv("WGVSOCK_CRASH_AT");

    if (at && !strcmp(at, name))
        raise(SIGKILL);
}
