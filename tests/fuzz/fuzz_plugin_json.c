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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/endpoint.h"
#include "plugin/routes.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define SEED "ZnV6ei1zZWVkLWZ1enotc2VlZC1mdXp6LXNlZWQ="    /* "fuzz-seed-fuzz-seed-fuzz-seed" */
#define PEERKEY "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="

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

static int live;

static int fake_create(void *ctx, const struct tunnel_spec *spec, void **dev, char err[NET_ERR_MAX])
{
    static const uint8_t zero[32];

    CHECK(spec->ifname && strlen(spec->ifname) >= 4 && strlen(spec->ifname) <= 15);
    CHECK(spec->config && spec->config->has_private_key && spec->config->n_peers == 1);
    CHECK(memcmp(spec->config->private_key, zero, 32) != 0);
    CHECK(spec->mtu >= NET_MTU_MIN && spec->mtu <= NET_MTU_MAX);
    *dev = malloc(1);
    CHECK(*dev);
    live++;
    return 0;
}

static void fake_destroy(void *ctx, void *dev)
{
    CHECK(dev);
    free(dev);
    live--;
}

static const struct tunnel_ops fake_ops = { .create = fake_create, .destroy = fake_destroy };

static void call(struct plugin *p, const char *path, const char *body, size_t len,
                 bool input_has_seed)
{
    struct route_reply r = { 0 };
    json_t *j;

    routes_handle(p, path, body, len, &r);
    CHECK(r.body);
    CHECK(r.status == 200 || r.status == 404);
    CHECK(strlen(r.body) > 0 && r.body[strlen(r.body) - 1] == '\n');
    j = json_loads(r.body, 0, NULL);
    CHECK(json_is_object(j));
    if (r.status == 404)
        CHECK(json_is_string(json_object_get(j, "Err")));
    if (!input_has_seed)
        CHECK(!strstr(r.body, SEED));
    json_decref(j);
    route_reply_free(&r);
}

static const char setup_net[] =
    "{\"NetworkID\":\"n\",\"Options\":{\"com.docker.network.generic\":{"
    "\"wgvsock.transport\":\"udp\",\"wgvsock.peer\":\"127.0.0.1:51820\","
    "\"wgvsock.peerkey\":\"" PEERKEY "\",\"wgvsock.seed\":\"" SEED "\"}},"
    "\"IPv4Data\":[{\"Pool\":\"10.1.0.0/16\",\"Gateway\":\"10.1.0.1/16\"}]}\n";
static const char setup_ep[] =
    "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{\"Address\":\"10.1.2.3/16\"}}\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wg_log_set_level(WG_LOG_SILENT);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct plugin p = { .tun = &fake_ops, .control_dir = "" };
    bool has_seed = memmem(data, size, SEED, strlen(SEED)) != NULL;
    size_t pos = 0;

    if (size > 65536)
        return 0;
    CHECK(state_open(NULL, NULL, &p.state) == 0);
    live = 0;
    call(&p, "/NetworkDriver.CreateNetwork", setup_net, strlen(setup_net), false);
    call(&p, "/NetworkDriver.CreateEndpoint", setup_ep, strlen(setup_ep), false);
    CHECK(state_find_ep(p.state, "e") != NULL);

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

    plugin_destroy_devices(&p);
    CHECK(live == 0);
    state_close(p.state);
    return 0;
}
