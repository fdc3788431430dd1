/* plugin_fake.h - what the plugin fuzz targets share (included by each
 * fuzz_plugin_*.c, one translation unit per target): a fake tunnel that
 * counts live devices and checks what Join hands it, one checked call of
 * routes_handle(), and a fresh plugin that already has network "n" and
 * endpoint "e".
 */
#ifndef WGVSOCK_FUZZ_PLUGIN_FAKE_H
#define WGVSOCK_FUZZ_PLUGIN_FAKE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/endpoint.h"
#include "plugin/routes.h"
#include "plugin/shutdown.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define SEED "ZnV6ei1zZWVkLWZ1enotc2VlZC1mdXp6LXNlZWQ="    /* "fuzz-seed-fuzz-seed-fuzz-seed" */
#define PEERKEY "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="


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

/* One call as the HTTP server makes it; returns the status.  Checked: 200
 * or 404, a JSON object ending in "\n", a 404 carries "Err", the seed never
 * in a reply unless the input held it. */
static unsigned call(struct plugin *p, const char *path, const char *body, size_t len,
                     bool input_has_seed)
{
    struct route_reply r = { 0 };
    unsigned status;
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
    status = r.status;
    route_reply_free(&r);
    return status;
}

static const char setup_net[] =
    "{\"NetworkID\":\"n\",\"Options\":{\"com.docker.network.generic\":{"
    "\"wgvsock.transport\":\"udp\",\"wgvsock.peer\":\"127.0.0.1:51820\","
    "\"wgvsock.peerkey\":\"" PEERKEY "\",\"wgvsock.seed\":\"" SEED "\"}},"
    "\"IPv4Data\":[{\"Pool\":\"10.1.0.0/16\",\"Gateway\":\"10.1.0.1/16\"}]}\n";
static const char setup_ep[] =
    "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{\"Address\":\"10.1.2.3/16\"}}\n";

static void fake_plugin_open(struct plugin *p)
{
    memset(p, 0, sizeof(*p));
    p->tun = &fake_ops;
    p->control_dir = "";
    CHECK(state_open(NULL, NULL, &p->state) == 0);
    live = 0;
    call(p, "/NetworkDriver.CreateNetwork", setup_net, strlen(setup_net), false);
    call(p, "/NetworkDriver.CreateEndpoint", setup_ep, strlen(setup_ep), false);
    CHECK(state_find_ep(p->state, "e") != NULL);
}

/* Shutdown destroys every device the fake created. */
static void fake_plugin_close(struct plugin *p)
{
    plugin_destroy_devices(p);
    CHECK(live == 0);
    state_close(p->state);
}

#endif
