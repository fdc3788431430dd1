/* test_plugin_state.c - what survives a plugin restart: networks and
 * endpoints written 0600 with an atomic rename, read back, bad files set
 * aside, orphans dropped, and a seed file stored by path only. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "plugin/state.h"

#define PEERKEY "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
#define SEED    "dGVzdHNlZWQtdGVzdHNlZWQtdGVzdHNlZWQtMTIzNA=="

static char dir[64];

static json_t *net_request(const char *id, const char *seed_kv_key, const char *seed_kv_val)
{
    json_t *req = json_pack("{s:s, s:{s:{s:s, s:s, s:s}}, s:[{s:s, s:s}], s:[]}",
                            "NetworkID", id, "Options", "com.docker.network.generic",
                            "wgvsock.transport", "udp", "wgvsock.peer", "127.0.0.1:51820",
                            "wgvsock.peerkey", PEERKEY, "IPv4Data", "Pool", "10.77.0.0/24",
                            "Gateway", "10.77.0.1/24", "IPv6Data");
    json_object_set_new(json_object_get(json_object_get(req, "Options"),
                                        "com.docker.network.generic"),
                        seed_kv_key, json_string(seed_kv_val));
    return req;
}

static void add_net(struct pl_state *st, const char *id, const char *k, const char *v)
{
    struct net_config *cfg = malloc(sizeof(*cfg));
    char err[NET_ERR_MAX];
    json_t *req = net_request(id, k, v);

    assert_int_equal(net_config_parse(cfg, req, NULL, false, err), 0);
    assert_int_equal(state_add_net(st, id, cfg, req), 0);
}

static struct pl_endpoint make_ep(const char *id, const char *net, const char *addr)
{
    struct pl_endpoint ep;

    memset(&ep, 0, sizeof(ep));
    strcpy(ep.id, id);
    strcpy(ep.net_id, net);
    strcpy(ep.addr4, addr);
    snprintf(ep.ifname, sizeof(ep.ifname), "wgv%.12s", id);
    strcpy(ep.pubkey, PEERKEY);
    return ep;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    static char buf[65536];
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void test_valid_id(void **state)
{
    assert_true(state_valid_id("a"));
    assert_true(state_valid_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_true(state_valid_id("net_1-A"));
    assert_false(state_valid_id(""));
    assert_false(state_valid_id(NULL));
    assert_false(state_valid_id("../etc"));
    assert_false(state_valid_id("a/b"));
    assert_false(state_valid_id(".hidden"));
    assert_false(state_valid_id("a b"));
    assert_false(state_valid_id("a\nb"));
    char long_id[PL_ID_MAX + 2];
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[PL_ID_MAX + 1] = '\0';
    assert_false(state_valid_id(long_id));
    long_id[PL_ID_MAX] = '\0';
    assert_true(state_valid_id(long_id));
}

static void test_persist_and_reload(void **state)
{
    struct pl_state *st;
    char path[256];
    struct pl_endpoint ep = make_ep("ep1", "net1", "10.77.0.2/24");

    assert_int_equal(state_open(dir, NULL, &st), 0);
    assert_int_equal(mode_of(dir) & 0077, 0);
    add_net(st, "net1", "wgvsock.seed", SEED);
    assert_int_equal(state_add_ep(st, &ep), 0);
    assert_int_equal(state_add_ep(st, &ep), -EEXIST);
    snprintf(path, sizeof(path), "%s/networks/net1.json", dir);
    assert_int_equal(mode_of(path), 0600);
    snprintf(path, sizeof(path), "%s/endpoints/ep1.json", dir);
    assert_int_equal(mode_of(path), 0600);
    assert_non_null(strstr(slurp(path), "\"Address\":\"10.77.0.2/24\""));
    state_find_ep(st, "ep1")->dev = (void *)1;     /* runtime only */
    state_close(st);

    assert_int_equal(state_open(dir, NULL, &st), 0);
    struct pl_network *n = state_find_net(st, "net1");
    assert_non_null(n);
    assert_int_equal(n->cfg->transport, WG_TRANSPORT_UDP);
    assert_string_equal(n->cfg->gateway4, "10.77.0.1");
    assert_int_equal(n->cfg->seed_source, NET_SEED_OPTION);
    struct pl_endpoint *e = state_find_ep(st, "ep1");
    assert_non_null(e);
    assert_string_equal(e->net_id, "net1");
    assert_string_equal(e->addr4, "10.77.0.2/24");
    assert_string_equal(e->addr6, "");
    assert_string_equal(e->ifname, "wgvep1");
    assert_string_equal(e->pubkey, PEERKEY);
    assert_null(e->dev);
    assert_ptr_equal(state_find_ifname(st, "wgvep1"), e);

    /* take + delete remove the files */
    e = state_take_ep(st, "ep1");
    assert_non_null(e);
    free(e);
    assert_null(state_take_ep(st, "ep1"));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(state_del_net(st, "net1"), 0);
    assert_int_equal(state_del_net(st, "net1"), -ENOENT);
    snprintf(path, sizeof(path), "%s/networks/net1.json", dir);
    assert_int_equal(access(path, F_OK), -1);
    state_close(st);

    assert_int_equal(state_open(dir, NULL, &st), 0);
    assert_null(st->nets);
    assert_null(st->eps);
    state_close(st);
}

/* What adoption after a restart relies on (adopt.h): Joined and SandboxKey
 * come back, and the two-step removal keeps the file until told. */
static void test_joined_survives_and_file_goes_last(void **state)
{
    struct pl_state *st;
    struct pl_endpoint *e, ep = make_ep("ep2", "net2", "10.77.0.3/24");
    char path[256];

    assert_int_equal(state_open(dir, NULL, &st), 0);
    add_net(st, "net2", "wgvsock.seed", SEED);
    assert_int_equal(state_add_ep(st, &ep), 0);
    snprintf(path, sizeof(path), "%s/endpoints/ep2.json", dir);
    assert_null(strstr(slurp(path), "Joined"));             /* only once joined */
    e = state_find_ep(st, "ep2");
    e->joined = true;
    strcpy(e->sandbox_key, "/var/run/docker/netns/0123abcd");
    assert_int_equal(state_save_ep(st, e), 0);
    assert_non_null(strstr(slurp(path), "\"Joined\":true"));
    state_close(st);

    assert_int_equal(state_open(dir, NULL, &st), 0);
    e = state_find_ep(st, "ep2");
    assert_non_null(e);
    assert_true(e->joined);
    assert_string_equal(e->sandbox_key, "/var/run/docker/netns/0123abcd");
    /* off the list, file still there (a crash now tells the next start) */
    e = state_remove_ep(st, "ep2");
    assert_non_null(e);
    assert_null(state_find_ep(st, "ep2"));
    assert_int_equal(access(path, F_OK), 0);
    state_unlink_ep(st, "ep2");
    assert_int_equal(access(path, F_OK), -1);
    state_free_ep(e);
    assert_int_equal(state_del_net(st, "net2"), 0);
    state_close(st);
}

static void test_seed_file_stored_by_path(void **state)
{
    struct pl_state *st;
    char path[256], seedpath[256];
    FILE *f;

    snprintf(seedpath, sizeof(seedpath), "%s-seed", dir);
    f = fopen(seedpath, "w");
    fputs(SEED "\n", f);
    fclose(f);
    assert_int_equal(state_open(dir, NULL, &st), 0);
    add_net(st, "net2", "wgvsock.seed-file", seedpath);
    snprintf(path, sizeof(path), "%s/networks/net2.json", dir);
    assert_non_null(strstr(slurp(path), seedpath));
    assert_null(strstr(slurp(path), SEED));
    state_close(st);
    unlink(seedpath);
    /* the file may be gone at start-up: the network still loads */
    assert_int_equal(state_open(dir, NULL, &st), 0);
    assert_non_null(state_find_net(st, "net2"));
    assert_int_equal(state_del_net(st, "net2"), 0);
    state_close(st);
}

static void test_bad_files_set_aside(void **state)
{
    struct pl_state *st;
    char path[256];
    FILE *f;

    assert_int_equal(state_open(dir, NULL, &st), 0);
    add_net(st, "good", "wgvsock.seed", SEED);
    state_close(st);

    snprintf(path, sizeof(path), "%s/networks/broken.json", dir);
    f = fopen(path, "w");
    fputs("{\"NetworkID\":", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/networks/invalid.json", dir);
    f = fopen(path, "w");
    fputs("{\"Options\":{}}", f);                       /* valid JSON, invalid network */
    fclose(f);
    snprintf(path, sizeof(path), "%s/endpoints/orphan.json", dir);
    f = fopen(path, "w");
    fputs("{\"EndpointID\":\"orphan\",\"NetworkID\":\"gone\",\"Address\":\"10.0.0.2/24\","
          "\"AddressIPv6\":\"\",\"InterfaceName\":\"wgvorphan\",\"PublicKey\":\"x\"}", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/endpoints/partial.json", dir);
    f = fopen(path, "w");
    fputs("{\"NetworkID\":\"good\"}", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/endpoints/.tmp-abcdef", dir);    /* crash mid-write */
    fclose(fopen(path, "w"));
    snprintf(path, sizeof(path), "%s/endpoints/README", dir);         /* not ours: ignored */
    fclose(fopen(path, "w"));

    assert_int_equal(state_open(dir, NULL, &st), 0);
    assert_non_null(state_find_net(st, "good"));
    assert_null(state_find_net(st, "broken"));
    assert_null(state_find_net(st, "invalid"));
    assert_null(state_find_ep(st, "orphan"));
    assert_null(state_find_ep(st, "partial"));
    snprintf(path, sizeof(path), "%s/networks/broken.json.bad", dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof(path), "%s/networks/invalid.json.bad", dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof(path), "%s/endpoints/partial.json.bad", dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof(path), "%s/endpoints/orphan.json", dir);      /* dropped */
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof(path), "%s/endpoints/.tmp-abcdef", dir);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof(path), "%s/endpoints/README", dir);
    assert_int_equal(access(path, F_OK), 0);
    state_close(st);
}

static void test_memory_only(void **state)
{
    struct pl_state *st;
    struct pl_endpoint ep = make_ep("e", "n", "10.77.0.9/24");

    assert_int_equal(state_open(NULL, NULL, &st), 0);
    add_net(st, "n", "wgvsock.seed", SEED);
    assert_int_equal(state_add_ep(st, &ep), 0);
    assert_non_null(state_find_ep(st, "e"));
    struct pl_endpoint bad = make_ep("e/../x", "n", "10.77.0.9/24");
    assert_int_equal(state_add_ep(st, &bad), -EINVAL);
    state_close(st);
}

static void test_unusable_dir(void **state)
{
    struct pl_state *st;
    char path[256];

    /* the state directory's place is taken by a file: a clear failure,
     * not a plugin that runs and forgets everything */
    snprintf(path, sizeof(path), "%s-file", dir);
    fclose(fopen(path, "w"));
    assert_int_equal(state_open(path, NULL, &st), -ENOTDIR);
    strcat(path, "/sub");
    assert_int_equal(state_open(path, NULL, &st), -ENOTDIR);
    path[strlen(path) - 4] = '\0';
    unlink(path);
}

static void test_creates_parents(void **state)
{
    struct pl_state *st;
    char path[256];

    snprintf(path, sizeof(path), "%s-p/a/b", dir);
    assert_int_equal(state_open(path, NULL, &st), 0);
    assert_int_equal(mode_of(path), 0700);
    state_close(st);
    snprintf(path, sizeof(path), "rm -rf '%s-p'", dir);
    assert_int_equal(system(path), 0);
}

static int setup(void **state)
{
    strcpy(dir, "/tmp/test_plugin_state.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_id),
        cmocka_unit_test(test_persist_and_reload),
        cmocka_unit_test(test_joined_survives_and_file_goes_last),
        cmocka_unit_test(test_seed_file_stored_by_path),
        cmocka_unit_test(test_bad_files_set_aside),
        cmocka_unit_test(test_memory_only),
        cmocka_unit_test(test_unusable_dir),
        cmocka_unit_test(test_creates_parents),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
