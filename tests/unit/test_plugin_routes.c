/* test_plugin_routes.c - every remote-driver call as dockerd sends it, with
 * a fake tunnel in place of wgcore so Join runs without root or TUN: the
 * JSON answers, the device configuration Join hands over (the key must be
 * the one keyderive computes for the address), errors for malformed bodies,
 * unknown IDs and bad options, and the restart story. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "plugin/endpoint.h"
#include "plugin/routes.h"
#include "plugin/server.h"
#include "plugin/shutdown.h"

#define PEERKEY "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
#define SEED    "dGVzdHNlZWQtdGVzdHNlZWQtdGVzdHNlZWQtMTIzNA=="
#define NET     "4f1d2c3b4a5968778695a4b3c2d1e0f0f1e2d3c4b5a69788796a5b4c3d2e1f00"
#define NET2    "5f1d2c3b4a5968778695a4b3c2d1e0f0f1e2d3c4b5a69788796a5b4c3d2e1f00"
#define EP      "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9"
#define EP2     "1111222233334444555566667777888899990000aaaabbbbccccddddeeeeffff"

/* ---- the fake tunnel ---- */

struct fake_dev {
    char ifname[16];
    enum tunnel_engine engine;
    unsigned mtu;
    enum wg_transport_kind transport;
    bool stream_no_crc;
    char control_dir[64];
    uint8_t priv[32];
    struct wg_peer_config peer;
    struct wg_allowedip allowed[NET_ALLOWED_IPS_MAX];
};

static struct {
    int creates, destroys, releases, live;
    int fail_next;
    struct fake_dev last;
    int kernel_probe;               /* fake_kernel_ops: what probe answers */
    char stale[16];                 /* last destroy_stale(KERNEL, ifname) */
} fake;

static int fake_create(void *ctx, const struct tunnel_spec *spec, void **dev, char err[NET_ERR_MAX])
{
    struct fake_dev *d;

    fake.creates++;
    if (fake.fail_next) {
        fake.fail_next = 0;
        snprintf(err, NET_ERR_MAX, "fake tunnel refused %s", spec->ifname);
        return -1;
    }
    d = calloc(1, sizeof(*d));
    assert_non_null(d);
    assert_true(strlen(spec->ifname) <= 15);
    strcpy(d->ifname, spec->ifname);
    d->engine = spec->engine;
    d->mtu = spec->mtu;
    d->transport = spec->transport;
    d->stream_no_crc = spec->stream_no_crc;
    snprintf(d->control_dir, sizeof(d->control_dir), "%s", spec->control_dir);
    assert_true(spec->config->has_private_key);
    memcpy(d->priv, spec->config->private_key, 32);
    assert_int_equal(spec->config->n_peers, 1);
    d->peer = spec->config->peers[0];
    assert_true(d->peer.n_allowed_ips <= NET_ALLOWED_IPS_MAX);
    memcpy(d->allowed, d->peer.allowed_ips, d->peer.n_allowed_ips * sizeof(d->allowed[0]));
    d->peer.allowed_ips = d->allowed;
    fake.last = *d;
    fake.live++;
    *dev = d;
    return 0;
}

/* Called from several threads at shutdown (plugin_destroy_devices). */
static void fake_destroy(void *ctx, void *dev)
{
    if (!dev)
        abort();
    __atomic_fetch_add(&fake.destroys, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_sub(&fake.live, 1, __ATOMIC_SEQ_CST);
    free(dev);
}

/* wgcore only, as on a host without kernel WireGuard */
static const struct tunnel_ops fake_ops = { .create = fake_create, .destroy = fake_destroy };

static int fake_probe(void *ctx, enum tunnel_engine engine)
{
    return engine == TUNNEL_WGCORE ? 0 : fake.kernel_probe;
}

/* As tunnel_engines_ops: kernel devices are released at shutdown. */
static void fake_release(void *ctx, void *dev)
{
    struct fake_dev *d = dev;

    if (d->engine != TUNNEL_KERNEL) {
        fake_destroy(ctx, dev);
        return;
    }
    __atomic_fetch_add(&fake.releases, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_sub(&fake.live, 1, __ATOMIC_SEQ_CST);
    free(dev);
}

static void fake_destroy_stale(void *ctx, enum tunnel_engine engine, const char *ifname)
{
    assert_int_equal(engine, TUNNEL_KERNEL);
    snprintf(fake.stale, sizeof(fake.stale), "%s", ifname);
}

/* wgcore and a kernel engine whose availability is fake.kernel_probe */
static const struct tunnel_ops fake_kernel_ops = {
    .create = fake_create, .destroy = fake_destroy, .probe = fake_probe,
    .release = fake_release, .destroy_stale = fake_destroy_stale,
};
static const struct tunnel_ops *fake_tun = &fake_ops;

/* ---- helpers ---- */

static struct plugin pl;
static char dir[64], seedfile[96];

static void plugin_up(void)
{
    assert_int_equal(state_open(dir, seedfile, &pl.state), 0);
    pl.tun = fake_tun;
    pl.seed_file = seedfile;
    pl.control_dir = "/tmp/wgv-ctl";
}

static void plugin_down(void)
{
    plugin_destroy_devices(&pl);
    state_close(pl.state);
    pl.state = NULL;
}

/* POST path body -> parsed JSON reply (asserts on HTTP status). */
static json_t *call_status(const char *path, const char *body, unsigned status)
{
    struct route_reply r = { 0 };
    json_t *j;
    size_t len = body ? strlen(body) : 0;
    char *copy = malloc(len + 1);

    /* like dockerd: body ends in a newline; not NUL-terminated for us */
    memcpy(copy, body ? body : "", len);
    routes_handle(&pl, path, copy, len, &r);
    free(copy);
    assert_int_equal(r.status, status);
    assert_non_null(r.body);
    assert_true(strlen(r.body) > 0 && r.body[strlen(r.body) - 1] == '\n');
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_object(j));
    route_reply_free(&r);
    return j;
}

static json_t *call(const char *path, const char *body)
{
    return call_status(path, body, 200);
}

static void expect_ok(const char *path, const char *body)
{
    json_t *j = call(path, body);
    if (json_object_get(j, "Err"))
        fail_msg("%s: unexpected Err: %s", path, json_string_value(json_object_get(j, "Err")));
    json_decref(j);
}

static void expect_err(const char *path, const char *body, const char *needle)
{
    json_t *j = call(path, body);
    const char *e = json_string_value(json_object_get(j, "Err"));
    if (!e)
        fail_msg("%s: expected an Err containing '%s'", path, needle);
    if (!strstr(e, needle))
        fail_msg("%s: Err '%s' does not contain '%s'", path, e, needle);
    json_decref(j);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    static char bufs[4][8192];
    static int i;
    char *b = bufs[i++ % 4];
    va_list ap;

    va_start(ap, f);
    vsnprintf(b, sizeof(bufs[0]), f, ap);
    va_end(ap);
    return b;
}

/* dockerd's CreateNetwork, with extra generic options (JSON members) */
static const char *create_net_body(const char *id, const char *extra, bool internal, bool v6)
{
    return fmt("{\"NetworkID\":\"%s\",\"Options\":{\"com.docker.network.enable_ipv6\":%s,"
               "\"com.docker.network.generic\":{\"wgvsock.transport\":\"udp\","
               "\"wgvsock.peer\":\"127.0.0.1:51820\",\"wgvsock.peerkey\":\"" PEERKEY "\"%s},"
               "\"com.docker.network.internal\":%s},"
               "\"IPv4Data\":[{\"AddressSpace\":\"LocalDefault\",\"Gateway\":\"10.77.0.1/24\","
               "\"Pool\":\"10.77.0.0/24\"}],"
               "\"IPv6Data\":%s}\n", id, v6 ? "true" : "false", extra ? extra : "",
               internal ? "true" : "false",
               v6 ? "[{\"AddressSpace\":\"LocalDefault\",\"Gateway\":\"fd77::1/64\","
                    "\"Pool\":\"fd77::/64\"}]" : "[]");
}

static const char *create_ep_body(const char *net, const char *ep, const char *addr,
                                  const char *addr6, const char *mac)
{
    return fmt("{\"NetworkID\":\"%s\",\"EndpointID\":\"%s\",\"Interface\":{\"Address\":\"%s\","
               "\"AddressIPv6\":\"%s\",\"MacAddress\":\"%s\"},\"Options\":{"
               "\"com.docker.network.endpoint.exposedports\":[],"
               "\"com.docker.network.portmap\":[]}}\n", net, ep, addr, addr6, mac);
}

static const char *ids(const char *net, const char *ep)
{
    return fmt("{\"NetworkID\":\"%s\",\"EndpointID\":\"%s\"}\n", net, ep);
}

static const char *join_body(const char *net, const char *ep)
{
    return fmt("{\"NetworkID\":\"%s\",\"EndpointID\":\"%s\","
               "\"SandboxKey\":\"/var/run/docker/netns/3f2a\",\"Options\":{}}\n", net, ep);
}

static void expected_priv(uint8_t priv[32], const char *seed_b64, const char *add_b64,
                          const char *addr)
{
    struct kd_secret *seed = malloc(sizeof(*seed)), *add = malloc(sizeof(*add));
    struct kd_address a;

    assert_int_equal(kd_secret_from_b64(seed, seed_b64), 0);
    assert_int_equal(kd_secret_from_b64(add, add_b64), 0);
    assert_int_equal(kd_address_parse(&a, addr), 0);
    assert_int_equal(kd_derive_private(priv, seed, add, &a), 0);
    free(seed);
    free(add);
}

/* ---- tests ---- */

static void test_activate_and_capabilities(void **state)
{
    json_t *j = call("/Plugin.Activate", "");
    char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(txt, "{\"Implements\":[\"NetworkDriver\"]}");
    free(txt);
    json_decref(j);
    j = call("/Plugin.Activate", "{}\n");
    assert_non_null(json_object_get(j, "Implements"));
    json_decref(j);
    j = call("/NetworkDriver.GetCapabilities", "null\n");
    assert_string_equal(json_string_value(json_object_get(j, "Scope")), "local");
    assert_string_equal(json_string_value(json_object_get(j, "ConnectivityScope")), "local");
    json_decref(j);
}

static void test_unknown_path(void **state)
{
    json_t *j = call_status("/NetworkDriver.Frobnicate", "{}", 404);
    assert_non_null(json_string_value(json_object_get(j, "Err")));
    json_decref(j);
    j = call_status("/", "", 404);
    json_decref(j);
    j = call_status("/networkdriver.join", "{}", 404);     /* case matters */
    json_decref(j);
    struct route_reply r = { 0 };
    routes_handle(&pl, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    route_reply_free(&r);
}

static void test_malformed_bodies(void **state)
{
    static const char *paths[] = {
        "/NetworkDriver.CreateNetwork", "/NetworkDriver.DeleteNetwork",
        "/NetworkDriver.AllocateNetwork", "/NetworkDriver.FreeNetwork",
        "/NetworkDriver.CreateEndpoint", "/NetworkDriver.DeleteEndpoint",
        "/NetworkDriver.EndpointOperInfo", "/NetworkDriver.Join", "/NetworkDriver.Leave",
        "/NetworkDriver.DiscoverNew", "/NetworkDriver.DiscoverDelete",
        "/NetworkDriver.ProgramExternalConnectivity",
        "/NetworkDriver.RevokeExternalConnectivity", NULL,
    };
    static const char *bodies[] = { "", "{", "{\"NetworkID\":", "[]", "1", "\"x\"", "null",
                                    "{\"a\":1,\"a\":2}", "{}{}", "\xff\xfe",
                                    /* found by fuzz_plugin_json: jansson quotes the
                                     * invalid UTF-8 in its error text */
                                    "{\"Network\\\xd2\x90\xbb\xfe\x7f", NULL };
    for (const char **p = paths; *p; p++)
        for (const char **b = bodies; *b; b++)
            expect_err(*p, *b, "malformed request");
    /* NUL inside the body */
    struct route_reply r = { 0 };
    routes_handle(&pl, "/NetworkDriver.Join", "{\"NetworkID\":\"a\0b\"}", 19, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"Err\""));
    route_reply_free(&r);
}

static void test_bad_ids(void **state)
{
    static const char *bad[] = { "\"\"", "\"../../etc/passwd\"", "\"a/b\"", "1", "null",
                                 "{}", "\"a b\"", NULL };
    for (const char **b = bad; *b; b++) {
        expect_err("/NetworkDriver.CreateNetwork", fmt("{\"NetworkID\":%s}", *b),
                   "missing or invalid NetworkID");
        expect_err("/NetworkDriver.Join", fmt("{\"NetworkID\":\"n\",\"EndpointID\":%s}", *b),
                   "missing or invalid EndpointID");
        expect_err("/NetworkDriver.DeleteEndpoint",
                   fmt("{\"NetworkID\":%s,\"EndpointID\":\"e\"}", *b), "NetworkID");
    }
    expect_err("/NetworkDriver.Leave", "{}", "NetworkID");
}

static void test_lifecycle(void **state)
{
    uint8_t priv[32];
    json_t *j;

    expect_ok("/NetworkDriver.CreateNetwork", create_net_body(NET, NULL, false, false));
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""));
    assert_int_equal(fake.creates, 0);

    j = call("/NetworkDriver.EndpointOperInfo", ids(NET, EP));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "Value"),
                                                          "InterfaceName")), "wgv9a8b7c6d5e4f");
    assert_false(json_is_true(json_object_get(json_object_get(j, "Value"), "Joined")));
    json_decref(j);

    j = call("/NetworkDriver.Join", join_body(NET, EP));
    assert_null(json_object_get(j, "Err"));
    json_t *in = json_object_get(j, "InterfaceName");
    assert_string_equal(json_string_value(json_object_get(in, "SrcName")), "wgv9a8b7c6d5e4f");
    assert_string_equal(json_string_value(json_object_get(in, "DstPrefix")), "wg");
    assert_true(json_is_true(json_object_get(j, "DisableGatewayService")));
    assert_string_equal(json_string_value(json_object_get(j, "Gateway")), "10.77.0.1");
    assert_null(json_object_get(j, "GatewayIPv6"));
    assert_null(json_object_get(j, "StaticRoutes"));
    assert_null(json_object_get(j, "MacAddress"));
    json_decref(j);

    /* the device got the keyderive key for 10.77.0.2, the hub peer, the MTU */
    assert_int_equal(fake.creates, 1);
    assert_int_equal(fake.live, 1);
    assert_string_equal(fake.last.ifname, "wgv9a8b7c6d5e4f");
    assert_int_equal(fake.last.mtu, 1420);
    assert_int_equal(fake.last.transport, WG_TRANSPORT_UDP);
    assert_string_equal(fake.last.control_dir, "/tmp/wgv-ctl");
    expected_priv(priv, SEED, KD_DEFAULT_ADDITIONAL_B64, "10.77.0.2");
    assert_memory_equal(fake.last.priv, priv, 32);
    uint8_t pk[32];
    kd_key_from_b64(pk, PEERKEY);
    assert_memory_equal(fake.last.peer.public_key, pk, 32);
    assert_true(fake.last.peer.has_endpoint);
    assert_int_equal(fake.last.peer.endpoint.addr.sa.sa_family, AF_INET);
    assert_int_equal(ntohs(fake.last.peer.endpoint.addr.in.sin_port), 51820);
    assert_true(fake.last.peer.has_persistent_keepalive);
    assert_int_equal(fake.last.peer.persistent_keepalive, 25);
    assert_true(fake.last.peer.replace_allowed_ips);
    assert_int_equal(fake.last.peer.n_allowed_ips, 2);

    /* EndpointOperInfo shows the derived public key, never the private */
    uint8_t pub[32];
    char pub64[45];
    kd_public_from_private(pub, priv);
    kd_key_to_b64(pub64, pub);
    j = call("/NetworkDriver.EndpointOperInfo", ids(NET, EP));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "Value"),
                                                          "PublicKey")), pub64);
    assert_true(json_is_true(json_object_get(json_object_get(j, "Value"), "Joined")));
    char *txt = json_dumps(j, 0), priv64[45];
    kd_key_to_b64(priv64, priv);
    assert_null(strstr(txt, priv64));
    free(txt);
    json_decref(j);

    /* a repeated Join answers the same and creates nothing */
    j = call("/NetworkDriver.Join", join_body(NET, EP));
    assert_string_equal(json_string_value(json_object_get(j, "Gateway")), "10.77.0.1");
    json_decref(j);
    assert_int_equal(fake.creates, 1);

    /* docker stop order */
    expect_ok("/NetworkDriver.RevokeExternalConnectivity", ids(NET, EP));
    expect_ok("/NetworkDriver.Leave", ids(NET, EP));
    assert_int_equal(fake.live, 1);             /* the device lives until DeleteEndpoint */
    expect_ok("/NetworkDriver.DeleteEndpoint", ids(NET, EP));
    assert_int_equal(fake.live, 0);
    assert_int_equal(fake.destroys, 1);
    expect_ok("/NetworkDriver.DeleteEndpoint", ids(NET, EP));   /* again: already gone */
    assert_int_equal(fake.destroys, 1);
    expect_ok("/NetworkDriver.DeleteNetwork", fmt("{\"NetworkID\":\"%s\"}", NET));
    expect_ok("/NetworkDriver.DeleteNetwork", fmt("{\"NetworkID\":\"%s\"}", NET));
    char path[256];
    snprintf(path, sizeof(path), "%s/networks/%s.json", dir, NET);
    assert_int_equal(access(path, F_OK), -1);
}

static void test_other_calls(void **state)
{
    expect_err("/NetworkDriver.AllocateNetwork", "{\"NetworkID\":\"x\",\"Options\":{}}",
               "missing option wgvsock.peer");     /* test_swarm_allocate has the rest */
    expect_ok("/NetworkDriver.FreeNetwork", "{\"NetworkID\":\"x\"}");
    expect_ok("/NetworkDriver.DiscoverNew", "{\"DiscoveryType\":1,\"DiscoveryData\":{}}");
    expect_ok("/NetworkDriver.DiscoverDelete", "{\"DiscoveryType\":1,\"DiscoveryData\":{}}");
    expect_ok("/NetworkDriver.ProgramExternalConnectivity",
              "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Options\":{}}");
    expect_ok("/NetworkDriver.RevokeExternalConnectivity",
              "{\"NetworkID\":\"n\",\"EndpointID\":\"e\"}");
}

static void test_unknown_ids(void **state)
{
    /* teardown of what we never saw (plugin restarted): success */
    expect_ok("/NetworkDriver.Leave", ids(NET, EP));
    expect_ok("/NetworkDriver.DeleteEndpoint", ids(NET, EP));
    expect_ok("/NetworkDriver.DeleteNetwork", fmt("{\"NetworkID\":\"%s\"}", NET));
    json_t *j = call("/NetworkDriver.EndpointOperInfo", ids(NET, EP));
    assert_true(json_is_object(json_object_get(j, "Value")));
    json_decref(j);
    /* set-up on what we do not know: a clear error */
    expect_err("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""),
               "not known to the wgvsock plugin");
    expect_err("/NetworkDriver.Join", join_body(NET, EP), "not known to the wgvsock plugin");
    /* Join of an endpoint on another network */
    expect_ok("/NetworkDriver.CreateNetwork", create_net_body(NET, NULL, false, false));
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""));
    expect_err("/NetworkDriver.Join", join_body("othernet", EP), "not known");
    assert_int_equal(fake.creates, 0);
    /* every endpoint call checks the NetworkID: nothing changes */
    expect_ok("/NetworkDriver.Join", join_body(NET, EP));
    expect_err("/NetworkDriver.Leave", ids("othernet", EP), "not on network");
    expect_err("/NetworkDriver.EndpointOperInfo", ids("othernet", EP), "not on network");
    expect_err("/NetworkDriver.DeleteEndpoint", ids("othernet", EP), "not on network");
    assert_int_equal(fake.live, 1);
    json_t *j2 = call("/NetworkDriver.EndpointOperInfo", ids(NET, EP));
    assert_true(json_is_true(json_object_get(json_object_get(j2, "Value"), "Joined")));
    json_decref(j2);
    expect_ok("/NetworkDriver.DeleteEndpoint", ids(NET, EP));
    assert_int_equal(fake.live, 0);
}

static void test_create_endpoint_errors(void **state)
{
    expect_ok("/NetworkDriver.CreateNetwork", create_net_body(NET, NULL, false, false));
    expect_err("/NetworkDriver.CreateEndpoint",
               create_ep_body(NET, EP, "10.77.0.2/24", "", "02:42:0a:4d:00:02"), "MAC");
    expect_err("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "", "", ""),
               "no IPv4 address");
    expect_err("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "fd77::2/64", "", ""),
               "invalid IPv4 address");
    expect_err("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.256/24", "", ""),
               "invalid IPv4 address");
    expect_err("/NetworkDriver.CreateEndpoint",
               create_ep_body(NET, EP, "10.77.0.2/24", "10.0.0.1/64", ""), "invalid IPv6");
    expect_err("/NetworkDriver.CreateEndpoint",
               fmt("{\"NetworkID\":\"%s\",\"EndpointID\":\"%s\"}", NET, EP), "no address");
    expect_err("/NetworkDriver.CreateEndpoint",
               fmt("{\"NetworkID\":\"%s\",\"EndpointID\":\"%s\",\"Interface\":{\"Address\":7}}",
                   NET, EP), "no IPv4 address");
    /* outside the network's subnet (10.77.0.0/24): refused */
    expect_err("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.78.0.2/24", "", ""),
               "outside the network's subnet");
    expect_err("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.1.2/24", "", ""),
               "outside the network's subnet");
    /* none of these left an endpoint behind */
    expect_err("/NetworkDriver.Join", join_body(NET, EP), "not known");

    /* same endpoint twice: harmless; with another address: refused */
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""));
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""));
    expect_err("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.3/24", "", ""),
               "already exists");
    /* another endpoint whose ID starts the same: the interface name clashes */
    char ep_same_prefix[65];
    memcpy(ep_same_prefix, EP, 64);
    ep_same_prefix[64] = '\0';
    ep_same_prefix[63] = '0';
    expect_err("/NetworkDriver.CreateEndpoint",
               create_ep_body(NET, ep_same_prefix, "10.77.0.4/24", "", ""), "already used");
}

/* the standard CreateNetwork body with one generic option set (replaced) */
static const char *net_body_with(const char *key, const char *value)
{
    json_t *req = json_loads(create_net_body(NET, NULL, false, false), 0, NULL);
    char *txt;
    const char *out;

    assert_non_null(req);
    json_object_set_new(json_object_get(json_object_get(req, "Options"),
                                        "com.docker.network.generic"), key, json_string(value));
    txt = json_dumps(req, JSON_COMPACT);
    out = fmt("%s\n", txt);
    free(txt);
    json_decref(req);
    return out;
}

static void test_bad_network_options(void **state)
{
    static const struct { const char *key, *value, *needle; } cases[] = {
        { "wgvsock.transport", "sctp", "unknown transport 'sctp'" },
        { "wgvsock.peerkey", "short", "wgvsock.peerkey: not a WireGuard public key" },
        { "io.bestov.wg.peerkey", "short", "disagree" },
        { "wgvsock.peer", "hub.example:51820", "wgvsock.peer: cannot parse" },
        { "wgvsock.peer", "host(2):8172", "is a vsock address" },
        { "wgvsock.keepalive", "x", "wgvsock.keepalive" },
        { "wgvsock.mtu", "70000", "wgvsock.mtu" },
        { "wgvsock.allowed-ips", "nope", "wgvsock.allowed-ips" },
        { "wgvsock.seed-file", "/nonexistent/x", "cannot open seed file /nonexistent/x" },
        { "wgvsock.bogus", "1", "unknown option wgvsock.bogus" },
        { "wgvsock.seed", "!!secret!!", "wgvsock.seed: not valid base64" },
        { "wgvsock.additional", "!!", "wgvsock.additional" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = call("/NetworkDriver.CreateNetwork", net_body_with(cases[i].key, cases[i].value));
        const char *e = json_string_value(json_object_get(j, "Err"));
        assert_non_null(e);
        if (!strstr(e, cases[i].needle))
            fail_msg("case %zu: '%s' lacks '%s'", i, e, cases[i].needle);
        assert_null(strstr(e, "secret"));
        json_decref(j);
    }
    /* none of them created the network */
    expect_err("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""),
               "not known");
    /* no IPv4 pool */
    expect_err("/NetworkDriver.CreateNetwork",
               fmt("{\"NetworkID\":\"%s\",\"Options\":{\"com.docker.network.generic\":{"
                   "\"wgvsock.peer\":\"host(2):1\",\"wgvsock.peerkey\":\"" PEERKEY "\"}},"
                   "\"IPv4Data\":[],\"IPv6Data\":[]}", NET), "no IPv4 subnet");
    /* no seed anywhere */
    pl.seed_file = NULL;
    expect_err("/NetworkDriver.CreateNetwork", create_net_body(NET, NULL, false, false),
               "no seed");
    pl.seed_file = seedfile;
}

static void test_internal_no_gateway(void **state)
{
    expect_ok("/NetworkDriver.CreateNetwork", create_net_body(NET, NULL, true, false));
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""));
    json_t *j = call("/NetworkDriver.Join", join_body(NET, EP));
    assert_null(json_object_get(j, "Err"));
    assert_null(json_object_get(j, "Gateway"));
    assert_null(json_object_get(j, "GatewayIPv6"));
    assert_true(json_is_true(json_object_get(j, "DisableGatewayService")));
    json_decref(j);
    /* only the subnet goes through the tunnel */
    assert_int_equal(fake.last.peer.n_allowed_ips, 1);
    assert_int_equal(fake.last.peer.allowed_ips[0].cidr, 24);
}

static void test_ipv6_gateway_and_options(void **state)
{
    expect_ok("/NetworkDriver.CreateNetwork",
              create_net_body(NET, ",\"wgvsock.mtu\":\"1380\",\"wgvsock.keepalive\":\"0\","
                              "\"wgvsock.additional\":\"YWRk\"", false, true));
    expect_err("/NetworkDriver.CreateEndpoint",
               create_ep_body(NET, EP, "10.77.0.7/24", "fd78::7/64", ""), "outside the network");
    expect_ok("/NetworkDriver.CreateEndpoint",
              create_ep_body(NET, EP, "10.77.0.7/24", "fd77::7/64", ""));
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP2, "10.77.0.8/24", "", ""));
    json_t *j = call("/NetworkDriver.Join", join_body(NET, EP));
    assert_string_equal(json_string_value(json_object_get(j, "Gateway")), "10.77.0.1");
    assert_string_equal(json_string_value(json_object_get(j, "GatewayIPv6")), "fd77::1");
    json_decref(j);
    assert_int_equal(fake.last.mtu, 1380);
    assert_int_equal(fake.last.peer.persistent_keepalive, 0);
    uint8_t priv[32];
    expected_priv(priv, SEED, "YWRk", "10.77.0.7");
    assert_memory_equal(fake.last.priv, priv, 32);
    /* an endpoint without an IPv6 address gets no IPv6 gateway */
    j = call("/NetworkDriver.Join", join_body(NET, EP2));
    assert_null(json_object_get(j, "GatewayIPv6"));
    json_decref(j);
    assert_int_equal(fake.live, 2);
    /* DeleteNetwork with endpoints left: their devices go too */
    expect_ok("/NetworkDriver.DeleteNetwork", fmt("{\"NetworkID\":\"%s\"}", NET));
    assert_int_equal(fake.live, 0);
    expect_ok("/NetworkDriver.DeleteEndpoint", ids(NET, EP));
}

static void test_seed_option_and_vsock(void **state)
{
    /* seed as an option (no plugin seed), vsock transport */
    pl.seed_file = NULL;
    expect_ok("/NetworkDriver.CreateNetwork",
              fmt("{\"NetworkID\":\"%s\",\"Options\":{\"com.docker.network.generic\":{"
                  "\"io.bestov.wg.peer\":\"host(2):8172\",\"io.bestov.wg.peerkey\":\"" PEERKEY
                  "\",\"io.bestov.wg.seed\":\"YWJj\"}},\"IPv4Data\":[{\"Pool\":\"10.9.0.0/16\","
                  "\"Gateway\":\"10.9.0.1/16\"}]}", NET));
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.9.3.4/16", "", ""));
    json_t *j = call("/NetworkDriver.Join", join_body(NET, EP));
    assert_null(json_object_get(j, "Err"));
    json_decref(j);
    assert_int_equal(fake.last.transport, WG_TRANSPORT_VSOCK);
    assert_int_equal(fake.last.peer.endpoint.addr.sa.sa_family, AF_VSOCK);
    assert_int_equal(fake.last.peer.endpoint.addr.vm.svm_cid, 2);
    uint8_t priv[32];
    expected_priv(priv, "YWJj", KD_DEFAULT_ADDITIONAL_B64, "10.9.3.4");
    assert_memory_equal(fake.last.priv, priv, 32);
    pl.seed_file = seedfile;
}

/* Join on a network of transport T with generic options extra; returns the
 * stream_no_crc the device was created with, then tears everything down. */
static bool join_no_crc(const char *transport, const char *extra, bool restart)
{
    bool no_crc;

    expect_ok("/NetworkDriver.CreateNetwork",
              fmt("{\"NetworkID\":\"%s\",\"Options\":{\"com.docker.network.generic\":{"
                  "\"wgvsock.transport\":\"%s\",\"wgvsock.peer\":\"127.0.0.1:51820\","
                  "\"wgvsock.peerkey\":\"" PEERKEY "\"%s}},\"IPv4Data\":[{\"Pool\":"
                  "\"10.77.0.0/24\",\"Gateway\":\"10.77.0.1/24\"}]}", NET, transport, extra));
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""));
    if (restart) {
        /* the option comes back from the state directory, not from Docker */
        bool keep = pl.stream_no_crc;
        plugin_down();
        plugin_up();
        pl.stream_no_crc = keep;
    }
    fake.creates = 0;
    expect_ok("/NetworkDriver.Join", join_body(NET, EP));
    assert_int_equal(fake.creates, 1);
    no_crc = fake.last.stream_no_crc;
    expect_ok("/NetworkDriver.DeleteEndpoint", ids(NET, EP));
    expect_ok("/NetworkDriver.DeleteNetwork", fmt("{\"NetworkID\":\"%s\"}", NET));
    return no_crc;
}

/* wgvsock.stream-crc reaches the device; unset, the plugin's
 * WGVSOCK_STREAM_CRC default decides; udp never gets no-CRC. */
static void test_stream_crc_join(void **state)
{
    pl.stream_no_crc = false;
    assert_true(join_no_crc("tcp", ",\"wgvsock.stream-crc\":\"false\"", false));
    assert_false(join_no_crc("tcp", "", false));
    assert_false(join_no_crc("tcp", ",\"wgvsock.stream-crc\":\"true\"", false));
    assert_true(join_no_crc("tcp", ",\"wgvsock.stream-crc\":\"false\"", true));
    pl.stream_no_crc = true;            /* WGVSOCK_STREAM_CRC=0 */
    assert_true(join_no_crc("tcp", "", false));
    assert_true(join_no_crc("tcp4", "", true));
    assert_false(join_no_crc("tcp", ",\"wgvsock.stream-crc\":\"true\"", false));
    assert_false(join_no_crc("udp", "", false));
    expect_err("/NetworkDriver.CreateNetwork",
               create_net_body(NET, ",\"wgvsock.stream-crc\":\"false\"", false, false),
               "only stream transports");
    pl.stream_no_crc = false;
}

static void test_tunnel_failure(void **state)
{
    expect_ok("/NetworkDriver.CreateNetwork", create_net_body(NET, NULL, false, false));
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""));
    fake.fail_next = 1;
    expect_err("/NetworkDriver.Join", join_body(NET, EP), "fake tunnel refused wgv9a8b7c6d5e4f");
    assert_int_equal(fake.live, 0);
    /* Docker may try again */
    expect_ok("/NetworkDriver.Join", join_body(NET, EP));
    assert_int_equal(fake.live, 1);
}

static void test_seed_file_vanishes(void **state)
{
    expect_ok("/NetworkDriver.CreateNetwork", create_net_body(NET, NULL, false, false));
    pl.seed_file = "/nonexistent/seed";
    expect_err("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""),
               "cannot open seed file /nonexistent/seed");
    pl.seed_file = seedfile;
}

/* Swarm (issue 16): AllocateNetwork validates like CreateNetwork and hands
 * the options, with the seed's fingerprint, to every node's CreateNetwork;
 * a node whose seed differs refuses the network and its endpoints. */
static const char *allocate_body(const char *id, const char *extra)
{
    return fmt("{\"NetworkID\":\"%s\",\"Options\":{\"wgvsock.transport\":\"udp\","
               "\"wgvsock.peer\":\"127.0.0.1:51820\",\"wgvsock.peerkey\":\"" PEERKEY "\"%s},"
               "\"IPv4Data\":[{\"AddressSpace\":\"GlobalDefault\",\"Gateway\":\"10.77.0.1/24\","
               "\"Pool\":\"10.77.0.0/24\"}],\"IPv6Data\":[]}\n", id, extra ? extra : "");
}

static void write_seed(const char *b64)
{
    FILE *f = fopen(seedfile, "w");

    assert_non_null(f);
    fputs(b64, f);
    fputs("\n", f);
    assert_int_equal(fclose(f), 0);
}

static void test_swarm_allocate(void **state)
{
    static const char EP3[] = "3333222233334444555566667777888899990000aaaabbbbccccddddeeeeffff";
    struct kd_secret *seed = malloc(sizeof(*seed));
    uint8_t fp[SEED_FP_LEN];
    char hex[SEED_FP_HEX_LEN + 1], *opts;
    json_t *j, *o;

    pl.global_scope = true;
    j = call("/NetworkDriver.GetCapabilities", "null\n");
    assert_string_equal(json_string_value(json_object_get(j, "Scope")), "global");
    assert_string_equal(json_string_value(json_object_get(j, "ConnectivityScope")), "global");
    json_decref(j);
    pl.global_scope = false;

    /* the manager: options back, plus this seed's fingerprint */
    assert_non_null(seed);
    assert_int_equal(kd_secret_from_b64(seed, SEED), 0);
    seed_fp_compute(seed, fp);
    free(seed);
    seed_fp_to_hex(fp, hex);
    j = call("/NetworkDriver.AllocateNetwork", allocate_body(NET, NULL));
    assert_null(json_object_get(j, "Err"));
    o = json_object_get(j, "Options");
    assert_true(json_is_object(o));
    assert_int_equal(json_object_size(o), 4);
    assert_string_equal(json_string_value(json_object_get(o, "wgvsock.peer")), "127.0.0.1:51820");
    assert_string_equal(json_string_value(json_object_get(o, "wgvsock.seed-fingerprint")), hex);
    opts = json_dumps(o, JSON_COMPACT);
    assert_non_null(opts);
    json_decref(j);
    assert_int_equal(access(fmt("%s/networks/%s.json", dir, NET), F_OK), -1);  /* nothing kept */

    /* a mistake fails on the manager, as CreateNetwork would */
    expect_err("/NetworkDriver.AllocateNetwork",
               allocate_body(NET, ",\"wgvsock.keepalive\":\"often\""), "wgvsock.keepalive");
    expect_err("/NetworkDriver.AllocateNetwork", allocate_body(NET, ",\"wgvsock.mtu\":1400"),
               "not a string");
    expect_err("/NetworkDriver.AllocateNetwork", allocate_body(NET, ",\"wgvsock.tranport\":\"x\""),
               "unknown option wgvsock.tranport");
    expect_err("/NetworkDriver.AllocateNetwork",
               allocate_body(NET, ",\"wgvsock.seed-fingerprint\":\"00000000000000000\""),
               "16 hex digits");
    expect_err("/NetworkDriver.AllocateNetwork", fmt("{\"NetworkID\":\"%s\",\"Options\":[]}", NET),
               "Options must be an object");

    /* a node: CreateNetwork gets what AllocateNetwork answered */
    expect_ok("/NetworkDriver.CreateNetwork",
              fmt("{\"NetworkID\":\"%s\",\"Options\":{\"com.docker.network.generic\":%s},"
                  "\"IPv4Data\":[{\"AddressSpace\":\"GlobalDefault\",\"Gateway\":\"10.77.0.1/24\","
                  "\"Pool\":\"10.77.0.0/24\"}],\"IPv6Data\":[]}", NET, opts));
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""));
    expect_ok("/NetworkDriver.Join", join_body(NET, EP));
    assert_int_equal(fake.live, 1);
    free(opts);

    /* a node with another seed: its CreateNetwork is refused clearly */
    expect_err("/NetworkDriver.CreateNetwork",
               create_net_body(NET2, ",\"wgvsock.seed-fingerprint\":\"0011223344556677\"", false,
                               false), "seed fingerprint 0011223344556677");
    assert_int_equal(access(fmt("%s/networks/%s.json", dir, NET2), F_OK), -1);
    /* ...and so are its endpoints if the seed changes under a network */
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP2, "10.77.0.3/24", "", ""));
    write_seed("b3RoZXJzZWVkLW90aGVyc2VlZC1vdGhlcnNlZWQtMTIzNA==");
    expect_err("/NetworkDriver.Join", join_body(NET, EP2), "this node's seed is not the network's");
    expect_err("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP3, "10.77.0.4/24", "", ""),
               "this node's seed is not the network's");
    assert_int_equal(fake.live, 1);
    write_seed(SEED);
    expect_ok("/NetworkDriver.Join", join_body(NET, EP2));
    assert_int_equal(fake.live, 2);

    expect_ok("/NetworkDriver.FreeNetwork", fmt("{\"NetworkID\":\"%s\"}", NET));
    expect_err("/NetworkDriver.FreeNetwork", "{\"NetworkID\":\"../x\"}", "NetworkID");
}

static void test_restart(void **state)
{
    expect_ok("/NetworkDriver.CreateNetwork", create_net_body(NET, NULL, false, false));
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""));
    expect_ok("/NetworkDriver.Join", join_body(NET, EP));
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP2, "10.77.0.3/24", "", ""));

    /* the process dies: its devices with it (the fake frees them) */
    plugin_down();
    assert_int_equal(fake.live, 0);
    plugin_up();

    /* Docker does not replay CreateNetwork/CreateEndpoint */
    expect_ok("/NetworkDriver.Join", join_body(NET, EP2));
    assert_int_equal(fake.live, 1);
    uint8_t priv[32];
    expected_priv(priv, SEED, KD_DEFAULT_ADDITIONAL_B64, "10.77.0.3");
    assert_memory_equal(fake.last.priv, priv, 32);
    /* the old container stops: its device died with the old process */
    expect_ok("/NetworkDriver.Leave", ids(NET, EP));
    expect_ok("/NetworkDriver.DeleteEndpoint", ids(NET, EP));
    assert_int_equal(fake.live, 1);
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, "new1", "10.77.0.4/24", "", ""));
    expect_ok("/NetworkDriver.Join", join_body(NET, "new1"));
    assert_int_equal(fake.live, 2);
}

static void test_create_network_again(void **state)
{
    expect_ok("/NetworkDriver.CreateNetwork", create_net_body(NET, NULL, false, false));
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""));
    /* a repeated CreateNetwork (plugin re-enabled) wins; endpoints stay */
    expect_ok("/NetworkDriver.CreateNetwork",
              create_net_body(NET, ",\"wgvsock.mtu\":\"1300\"", false, false));
    expect_ok("/NetworkDriver.Join", join_body(NET, EP));
    assert_int_equal(fake.last.mtu, 1300);
    /* and it is what a restarted plugin reads back */
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP2, "10.77.0.3/24", "", ""));
    plugin_down();
    plugin_up();
    expect_ok("/NetworkDriver.Join", join_body(NET, EP2));
    assert_int_equal(fake.last.mtu, 1300);
}

/* CreateNetwork with transport and generic options extra; the Err or NULL
 * (the caller frees the reply returned in *reply). */
static const char *create_net_opts(const char *id, const char *transport, const char *extra,
                                   json_t **reply)
{
    *reply = call("/NetworkDriver.CreateNetwork",
                  fmt("{\"NetworkID\":\"%s\",\"Options\":{\"com.docker.network.generic\":{"
                      "\"wgvsock.transport\":\"%s\",\"wgvsock.peer\":\"%s\","
                      "\"wgvsock.peerkey\":\"" PEERKEY "\"%s}},\"IPv4Data\":[{\"Pool\":"
                      "\"10.77.0.0/24\",\"Gateway\":\"10.77.0.1/24\"}]}", id, transport,
                      strcmp(transport, "vsock") ? "127.0.0.1:51820" : "host(2):8172", extra));
    return json_string_value(json_object_get(*reply, "Err"));
}

/* The engine a network resolved to: Join's device and EndpointOperInfo. */
static enum tunnel_engine joined_engine(const char *transport, const char *extra)
{
    enum tunnel_engine engine;
    const char *err;
    json_t *j;

    err = create_net_opts(NET, transport, extra, &j);
    if (err)
        fail_msg("CreateNetwork %s%s: %s", transport, extra, err);
    json_decref(j);
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""));
    expect_ok("/NetworkDriver.Join", join_body(NET, EP));
    engine = fake.last.engine;
    j = call("/NetworkDriver.EndpointOperInfo", ids(NET, EP));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "Value"), "Engine")),
                        engine == TUNNEL_KERNEL ? "kernel" : "wgcore");
    json_decref(j);
    expect_ok("/NetworkDriver.DeleteEndpoint", ids(NET, EP));
    expect_ok("/NetworkDriver.DeleteNetwork", fmt("{\"NetworkID\":\"%s\"}", NET));
    return engine;
}

static void expect_create_err(const char *transport, const char *extra, const char *needle)
{
    json_t *j;
    const char *err = create_net_opts(NET2, transport, extra, &j);

    if (!err || !strstr(err, needle))
        fail_msg("CreateNetwork %s%s: Err '%s' lacks '%s'", transport, extra,
                 err ? err : "(none)", needle);
    json_decref(j);
}

/* This host: no WireGuard in the kernel. */
static void test_engine_without_kernel(void **state)
{
    assert_int_equal(joined_engine("udp", ""), TUNNEL_WGCORE);
    assert_int_equal(joined_engine("udp", ",\"wgvsock.engine\":\"auto\""), TUNNEL_WGCORE);
    assert_int_equal(joined_engine("udp", ",\"wgvsock.engine\":\"wgcore\""), TUNNEL_WGCORE);
    expect_create_err("udp", ",\"wgvsock.engine\":\"kernel\"",
                      "wgvsock.engine=kernel: this host's kernel has no WireGuard");
    expect_create_err("vsock", ",\"wgvsock.engine\":\"kernel\"",
                      "wgvsock.engine=kernel needs wgvsock.transport=udp");
    expect_create_err("udp", ",\"wgvsock.engine\":\"Kernel\"", "unknown engine 'Kernel'");
    expect_create_err("udp", ",\"wgvsock.engine\":\"\"", "unknown engine ''");
    /* a refused network is not half-created */
    expect_err("/NetworkDriver.CreateEndpoint", create_ep_body(NET2, EP, "10.77.0.2/24", "", ""),
               "is not known");
}

/* A host whose kernel has WireGuard. */
static void test_engine_with_kernel(void **state)
{
    fake_tun = pl.tun = &fake_kernel_ops;
    assert_int_equal(joined_engine("udp", ""), TUNNEL_KERNEL);
    assert_int_equal(joined_engine("udp", ",\"wgvsock.engine\":\"kernel\""), TUNNEL_KERNEL);
    assert_int_equal(joined_engine("udp", ",\"wgvsock.engine\":\"wgcore\""), TUNNEL_WGCORE);
    /* the kernel cannot carry streams */
    assert_int_equal(joined_engine("vsock", ""), TUNNEL_WGCORE);
    assert_int_equal(joined_engine("tcp", ""), TUNNEL_WGCORE);
    /* an MTU only wgcore takes */
    assert_int_equal(joined_engine("udp", ",\"wgvsock.mtu\":\"65460\""), TUNNEL_WGCORE);
    expect_create_err("udp", ",\"wgvsock.engine\":\"kernel\",\"wgvsock.mtu\":\"65460\"",
                      "above kernel WireGuard's maximum 65455");
    assert_int_equal(joined_engine("udp", ",\"wgvsock.mtu\":\"65455\""), TUNNEL_KERNEL);
    assert_int_equal(fake.last.mtu, 65455);
}

/* The engine is saved with the network; kernel devices outlive the
 * plugin and are deleted by name after a restart. */
static void test_kernel_engine_restart(void **state)
{
    json_t *j;

    fake_tun = pl.tun = &fake_kernel_ops;
    assert_null(create_net_opts(NET, "udp", "", &j));
    json_decref(j);
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""));
    expect_ok("/NetworkDriver.Join", join_body(NET, EP));
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP2, "10.77.0.3/24", "", ""));
    assert_int_equal(fake.last.engine, TUNNEL_KERNEL);

    plugin_down();                  /* released, not destroyed */
    assert_int_equal(fake.releases, 1);
    assert_int_equal(fake.destroys, 0);
    fake.kernel_probe = -ENOENT;    /* and the module went away meanwhile */
    plugin_up();

    expect_ok("/NetworkDriver.Join", join_body(NET, EP2));
    assert_int_equal(fake.last.engine, TUNNEL_KERNEL);
    expect_ok("/NetworkDriver.Leave", ids(NET, EP));
    expect_ok("/NetworkDriver.DeleteEndpoint", ids(NET, EP));
    assert_string_equal(fake.stale, "wgv9a8b7c6d5e4f");
    /* a wgcore network's endpoint never asks the kernel */
    fake.stale[0] = '\0';
    assert_null(create_net_opts(NET2, "tcp", "", &j));
    json_decref(j);
    expect_ok("/NetworkDriver.CreateEndpoint", create_ep_body(NET2, "e3", "10.77.0.4/24", "", ""));
    plugin_down();
    plugin_up();
    expect_ok("/NetworkDriver.DeleteEndpoint", ids(NET2, "e3"));
    assert_string_equal(fake.stale, "");
}

/* Attested networks: the kernel engine cannot follow a re-attested key, and
 * a hub that does not answer on its provisioning port fails the create
 * naming that step, with nothing created.  (Provisioning that succeeds or
 * fails a check: tests/provision, tests/e2e/test_docker_attest.sh.) */
static void test_attested_network_refusals(void **state)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char extra[128];

    fake_tun = pl.tun = &fake_kernel_ops;
    expect_create_err("udp", ",\"wgvsock.engine\":\"kernel\",\"wgvsock.attest\":\"none\"",
                      "cannot follow a re-attested hub");
    /* a port that refuses connections: bound, never listening */
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    snprintf(extra, sizeof(extra), ",\"wgvsock.attest\":\"none\",\"wgvsock.provision-port\":\"%u\"",
             ntohs(sin.sin_port));
    fake.creates = 0;
    expect_create_err("udp", extra, "provisioning connect to 127.0.0.1:");
    expect_create_err("tcp", extra, "Connection refused");
    close(fd);
    assert_int_equal(fake.creates, 0);
    expect_err("/NetworkDriver.CreateEndpoint", create_ep_body(NET, EP, "10.77.0.2/24", "", ""),
               "is not known");
}

/* More devices than plugin.c destroys in one parallel batch (64). */
static void test_shutdown_destroys_all(void **state)
{
    char ep[32];

    expect_ok("/NetworkDriver.CreateNetwork", create_net_body(NET, NULL, false, false));
    for (int i = 0; i < 70; i++) {
        snprintf(ep, sizeof(ep), "ep%02d", i);
        expect_ok("/NetworkDriver.CreateEndpoint",
                  create_ep_body(NET, ep, fmt("10.77.0.%d/24", 10 + i), "", ""));
        expect_ok("/NetworkDriver.Join", join_body(NET, ep));
    }
    assert_int_equal(fake.live, 70);
    plugin_destroy_devices(&pl);
    assert_int_equal(fake.live, 0);
    assert_int_equal(fake.destroys, 70);
}

/* DeleteNetwork with more joined endpoints left than network.c takes from
 * the state at once (16): every device goes, and every endpoint with it,
 * joined or not; another network's endpoints stay. */
static void test_delete_network_takes_all(void **state)
{
    char ep[32];
    json_t *r;

    expect_ok("/NetworkDriver.CreateNetwork", create_net_body(NET, NULL, false, false));
    expect_ok("/NetworkDriver.CreateNetwork", create_net_body(NET2, NULL, false, false));
    expect_ok("/NetworkDriver.CreateEndpoint",
              create_ep_body(NET2, "other", "10.77.0.200/24", "", ""));
    expect_ok("/NetworkDriver.Join", join_body(NET2, "other"));
    for (int i = 0; i < 40; i++) {
        snprintf(ep, sizeof(ep), "ep%02d", i);
        expect_ok("/NetworkDriver.CreateEndpoint",
                  create_ep_body(NET, ep, fmt("10.77.0.%d/24", 10 + i), "", ""));
        if (i % 4)
            expect_ok("/NetworkDriver.Join", join_body(NET, ep));
    }
    assert_int_equal(fake.live, 31);
    expect_ok("/NetworkDriver.DeleteNetwork", fmt("{\"NetworkID\":\"%s\"}", NET));
    assert_int_equal(fake.live, 1);
    assert_int_equal(fake.destroys, 30);
    for (int i = 0; i < 40; i++) {
        snprintf(ep, sizeof(ep), "ep%02d", i);
        state_lock(pl.state);
        assert_null(state_find_ep(pl.state, ep));
        state_unlock(pl.state);
    }
    r = call_status("/NetworkDriver.EndpointOperInfo",
                    fmt("{\"NetworkID\":\"%s\",\"EndpointID\":\"other\"}", NET2), 200);
    assert_true(json_is_true(json_object_get(json_object_get(r, "Value"), "Joined")));
    json_decref(r);
}

/* ---- the HTTP server on its unix socket (no root needed) ---- */

static int connect_unix(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_true(strlen(path) < sizeof(sun.sun_path));
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request on fd; returns the whole response (headers + body). */
static char *exchange(int fd, const char *req)
{
    static char buf[8192];
    size_t len = 0;

    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    /* Responses are small and carry Content-Length: read until the body
     * is complete. */
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        char *hdr_end, *cl;
        assert_true(n > 0);
        len += (size_t)n;
        buf[len] = '\0';
        if ((hdr_end = strstr(buf, "\r\n\r\n")) && (cl = strcasestr(buf, "Content-Length: ")) &&
            len >= (size_t)(hdr_end + 4 - buf) + strtoul(cl + 16, NULL, 10))
            return buf;
    }
}

static void test_server_socket_rules(void **state)
{
    char path[160], err[256];
    struct stat st;
    int fd, fd2;

    /* the directory is created */
    snprintf(path, sizeof(path), "%s/run/plugins/p.sock", dir);
    fd = server_listen_unix(path, err, sizeof(err));
    assert_true(fd >= 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    /* a live instance is refused */
    assert_int_equal(server_listen_unix(path, err, sizeof(err)), -EADDRINUSE);
    assert_non_null(strstr(err, "already listening"));
    /* a stale socket (nobody listening) is replaced */
    close(fd);
    fd2 = server_listen_unix(path, err, sizeof(err));
    assert_true(fd2 >= 0);
    close(fd2);
    /* something that is not a socket is never replaced */
    unlink(path);
    fclose(fopen(path, "w"));
    assert_int_equal(server_listen_unix(path, err, sizeof(err)), -EEXIST);
    assert_non_null(strstr(err, "not a socket"));
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    unlink(path);
}

static void test_server_http(void **state)
{
    char path[160], err[256];
    struct server *srv;
    char *r;
    int fd;

    snprintf(path, sizeof(path), "%s/http.sock", dir);
    assert_int_equal(server_start(&pl, path, &srv, err, sizeof(err)), 0);
    fd = connect_unix(path);
    assert_true(fd >= 0);
    /* as dockerd: POST, Accept, no Content-Type, newline-terminated body,
     * several calls on one kept-alive connection */
    r = exchange(fd, "POST /Plugin.Activate HTTP/1.1\r\nHost: plugin\r\n"
                     "Accept: application/vnd.docker.plugins.v1.2+json\r\n"
                     "Content-Length: 3\r\n\r\n{}\n");
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    assert_non_null(strcasestr(r, "Content-Type: application/vnd.docker.plugins.v1.2+json"));
    assert_non_null(strstr(r, "{\"Implements\":[\"NetworkDriver\"]}"));
    r = exchange(fd, fmt("POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nHost: plugin\r\n"
                         "Content-Length: %zu\r\n\r\n%s",
                         strlen(create_net_body(NET, NULL, false, false)),
                         create_net_body(NET, NULL, false, false)));
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    assert_non_null(strstr(r, "\r\n\r\n{}\n"));
    r = exchange(fd, "POST /NetworkDriver.Nope HTTP/1.1\r\nHost: plugin\r\n"
                     "Content-Length: 2\r\n\r\n{}");
    assert_non_null(strstr(r, "HTTP/1.1 404"));
    assert_non_null(strstr(r, "\"Err\""));
    r = exchange(fd, "GET /Plugin.Activate HTTP/1.1\r\nHost: plugin\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 405"));
    r = exchange(fd, "POST /NetworkDriver.Join HTTP/1.1\r\nHost: plugin\r\n"
                     "Content-Length: 5\r\n\r\n{\"a\":");
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    assert_non_null(strstr(r, "malformed request"));
    close(fd);
    server_stop(srv);
    /* the socket file goes with the server */
    assert_int_equal(access(path, F_OK), -1);
}

static int setup(void **state)
{
    FILE *f;

    strcpy(dir, "/tmp/test_plugin_routes.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(seedfile, sizeof(seedfile), "%s.seed", dir);
    f = fopen(seedfile, "w");
    if (!f)
        return -1;
    fputs(SEED "\n", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, seedfile);
    return system(cmd);
}

/* Each test starts a fresh plugin on an empty state directory. */
static int t_setup(void **state)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", dir);
    if (system(cmd))
        return -1;
    memset(&fake, 0, sizeof(fake));
    fake_tun = &fake_ops;
    plugin_up();
    return 0;
}

static int t_teardown(void **state)
{
    plugin_down();
    return fake.live == 0 ? 0 : -1;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, t_setup, t_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_activate_and_capabilities),
        T(test_unknown_path),
        T(test_malformed_bodies),
        T(test_bad_ids),
        T(test_lifecycle),
        T(test_other_calls),
        T(test_unknown_ids),
        T(test_create_endpoint_errors),
        T(test_bad_network_options),
        T(test_internal_no_gateway),
        T(test_ipv6_gateway_and_options),
        T(test_seed_option_and_vsock),
        T(test_stream_crc_join),
        T(test_tunnel_failure),
        T(test_seed_file_vanishes),
        T(test_swarm_allocate),
        T(test_restart),
        T(test_create_network_again),
        T(test_shutdown_destroys_all),
        T(test_delete_network_takes_all),
        T(test_engine_without_kernel),
        T(test_engine_with_kernel),
        T(test_kernel_engine_restart),
        T(test_attested_network_refusals),
        T(test_server_socket_rules),
        T(test_server_http),
    };
    /* Every error is logged; keep the test log readable unless asked. */
    wg_log_set_level(getenv("LOG_LEVEL") ? wg_log_level_from_env() : WG_LOG_SILENT);
    return cmocka_run_group_tests(tests, setup, teardown);
}
