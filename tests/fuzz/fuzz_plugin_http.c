/* fuzz_plugin_http.c - libFuzzer target for the plugin's HTTP front end:
 * any URL path and any body, handed to routes_handle() as the HTTP server
 * hands them over (server.c: the path as libmicrohttpd decoded it, the
 * collected body), with a memory-only state and a fake tunnel.
 *
 * Input: PATH 0x00 BODY (no 0x00: all of it is the path, the body empty).
 * Each input starts from a fresh plugin with network "n" and endpoint "e",
 * and may carry a second request after another 0x00 (so that Join-then-
 * something sequences are reachable).
 *
 * Properties beyond "no crash" (plugin_fake.h's call() checks the reply
 * shape and that the seed never leaks): a path the driver API defines is
 * never answered 404, any other path always is; shutdown leaves no device.
 */
#include "tests/fuzz/plugin_fake.h"

static const char *const known[] = {
    "/Plugin.Activate", "/NetworkDriver.GetCapabilities", "/NetworkDriver.CreateNetwork",
    "/NetworkDriver.DeleteNetwork", "/NetworkDriver.AllocateNetwork",
    "/NetworkDriver.FreeNetwork", "/NetworkDriver.CreateEndpoint",
    "/NetworkDriver.DeleteEndpoint", "/NetworkDriver.EndpointOperInfo", "/NetworkDriver.Join",
    "/NetworkDriver.Leave", "/NetworkDriver.DiscoverNew", "/NetworkDriver.DiscoverDelete",
    "/NetworkDriver.ProgramExternalConnectivity", "/NetworkDriver.RevokeExternalConnectivity",
    NULL,
};

static bool is_known(const char *path)
{
    for (const char *const *k = known; *k; k++)
        if (!strcmp(path, *k))
            return true;
    return false;
}

/* One request; returns how many input bytes it used. */
static size_t request(struct plugin *p, const uint8_t *data, size_t size, bool has_seed)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t plen = nul ? (size_t)(nul - data) : size;
    const uint8_t *body = nul ? nul + 1 : data + size;
    const uint8_t *next = memchr(body, 0, (size_t)(data + size - body));
    size_t blen = next ? (size_t)(next - body) : (size_t)(data + size - body);
    char *path = malloc(plen + 1), *b = malloc(blen ? blen : 1);
    unsigned status;

    CHECK(path && b);
    memcpy(path, data, plen);
    path[plen] = '\0';
    memcpy(b, body, blen);      /* exact size: ASan sees any over-read */
    status = call(p, path, b, blen, has_seed);
    CHECK(is_known(path) ? status == 200 : status == 404);
    free(path);
    free(b);
    return (size_t)((next ? next + 1 : data + size) - data);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wg_log_set_level(WG_LOG_SILENT);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct plugin p;
    bool has_seed = memmem(data, size, SEED, strlen(SEED)) != NULL;
    size_t used;

    if (size > 65536)
        return 0;
    fake_plugin_open(&p);
    used = request(&p, data, size, has_seed);
    if (used < size)
        request(&p, data + used, size - used, has_seed);
    fake_plugin_close(&p);
    return 0;
}
