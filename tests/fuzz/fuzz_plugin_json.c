/* fuzz_plugin_json.c - libFuzzer target for the plugin's request handling:
 * routes_handle() exactly as the HTTP server calls it, with a memory-only
 * state and a fake tunnel (no disk, no TUN, no threads).
 *
 * Input: records separated by a 0x00 byte; a record's first byte picks the
 * call (mod the number of calls + 1 for an unknown path), the rest is the
 * body.  Each input starts from a fresh plugin that already has one network
 * ("n", seed given as an option) and one endpoint ("e"), so Join, Leave and
 * DeleteEndpoint paths are reachable from the first record.
 *
 * Properties beyond "no crash":
 *   - every reply is 200 or (unknown path only) 404, its body a JSON object
 *     ending in "\n"; a 404 always carries "Err";
 *   - the network's seed never appears in a reply unless the input holds it;
 *   - after the plugin shuts down, every device the fake created is gone
 *     (no leaked tunnels), and Join never hands over a zero private key.
 */
#include "tests/fuzz/plugin_fake.h"

static const char *const paths[] = {
    "/Plugin.Activate", "/NetworkDriver.GetCapabilities", "/NetworkDriver.CreateNetwork",
    "/NetworkDriver.DeleteNetwork", "/NetworkDriver.AllocateNetwork",
    "/NetworkDriver.FreeNetwork", "/NetworkDriver.CreateEndpoint",
    "/NetworkDriver.DeleteEndpoint", "/NetworkDriver.EndpointOperInfo", "/NetworkDriver.Join",
    "/NetworkDriver.Leave", "/NetworkDriver.DiscoverNew", "/NetworkDriver.DiscoverDelete",
    "/NetworkDriver.ProgramExternalConnectivity", "/NetworkDriver.RevokeExternalConnectivity",
    "/NetworkDriver.Unknown",
};
#define N_PATHS (sizeof(paths) / sizeof(paths[0]))

int LLVMFuzzerInitialize(int *argc, char ***argv);   /* libFuzzer calls it */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wg_log_set_level(WG_LOG_SILENT);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);   /* libFuzzer calls it */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct plugin p;
    bool has_seed = memmem(data, size, SEED, strlen(SEED)) != NULL;
    size_t pos = 0;

    if (size > 65536)
        return 0;
    fake_plugin_open(&p);

    while (pos < size) {
        const uint8_t *end = memchr(data + pos, 0, size - pos);
        size_t len = end ? (size_t)(end - (data + pos)) : size - pos;

        if (len > 0) {
            /* copy so ASan sees reads past the record's end */
            char *body = malloc(len - 1 ? len - 1 : 1);
            CHECK(body);
            memcpy(body, data + pos + 1, len - 1);
            call(&p, paths[data[pos] % N_PATHS], body, len - 1, has_seed);
            free(body);
        }
        pos += len + 1;
    }

    fake_plugin_close(&p);
    return 0;
}
