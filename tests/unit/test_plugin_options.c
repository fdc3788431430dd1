/* test_plugin_options.c - CreateNetwork options and IPAM data: every option,
 * its default, its aliases, and the message a person gets for each mistake.
 * A lenient parser here would give containers keys the hub does not know. */
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

#include "plugin/options.h"

#define PEERKEY "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
#define SEED    "dGVzdHNlZWQtdGVzdHNlZWQtdGVzdHNlZWQtMTIzNA=="   /* "testseed-testseed-testseed-1234" */

static struct net_config cfg;
static char err[NET_ERR_MAX];
static char tmpdir[64];

/* A CreateNetwork request: generic options as "k=v" strings, NULL-ended. */
static json_t *request_v(bool internal, bool ipv6, const char *pool4, const char *gw4,
                         const char *pool6, const char *const *kv)
{
    json_t *generic = json_object(), *req;

    for (; kv && *kv; kv++) {
        const char *eq = strchr(*kv, '=');
        char key[128];
        assert_non_null(eq);
        snprintf(key, sizeof(key), "%.*s", (int)(eq - *kv), *kv);
        json_object_set_new(generic, key, json_string(eq + 1));
    }
    req = json_pack("{s:s, s:{s:o, s:b, s:b}, s:[], s:[]}", "NetworkID", "n1", "Options",
                    "com.docker.network.generic", generic, "com.docker.network.internal",
                    internal, "com.docker.network.enable_ipv6", ipv6, "IPv4Data", "IPv6Data");
    assert_non_null(req);
    if (pool4)
        json_array_append_new(json_object_get(req, "IPv4Data"),
                              gw4 ? json_pack("{s:s, s:s, s:s}", "AddressSpace", "", "Pool", pool4,
                                              "Gateway", gw4)
                                  : json_pack("{s:s}", "Pool", pool4));
    if (pool6)
        json_array_append_new(json_object_get(req, "IPv6Data"),
                              json_pack("{s:s, s:s}", "Pool", pool6, "Gateway", "fd77::1/64"));
    return req;
}

static int parse_kv(const char *plugin_seed, bool check, const char *const *kv)
{
    json_t *req = request_v(false, false, "10.77.0.0/24", "10.77.0.1/24", NULL, kv);
    int r = net_config_parse(&cfg, req, plugin_seed, check, err);
    json_decref(req);
    return r;
}

#define PARSE(...) parse_kv(NULL, true, (const char *const[]){ __VA_ARGS__, NULL })
#define BASE "wgvsock.transport=udp", "wgvsock.peer=127.0.0.1:51820", "wgvsock.peerkey=" PEERKEY

static void expect_err(int r, const char *needle)
{
    assert_int_equal(r, -1);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not contain '%s'", err, needle);
}

static void test_minimal_defaults(void **state)
{
    assert_int_equal(PARSE(BASE, "wgvsock.seed=" SEED), 0);
    assert_int_equal(cfg.transport, WG_TRANSPORT_UDP);
    assert_int_equal(cfg.peer.addr.sa.sa_family, AF_INET);
    assert_int_equal(ntohs(cfg.peer.addr.in.sin_port), 51820);
    assert_string_equal(cfg.peer_text, "127.0.0.1:51820");
    assert_int_equal(cfg.keepalive, 25);
    assert_int_equal(cfg.mtu, 1420);
    assert_int_equal(cfg.seed_source, NET_SEED_OPTION);
    assert_string_equal(cfg.additional_b64, KD_DEFAULT_ADDITIONAL_B64);
    assert_string_equal(cfg.pool4, "10.77.0.0/24");
    assert_string_equal(cfg.gateway4, "10.77.0.1");
    assert_string_equal(cfg.pool6, "");
    assert_false(cfg.internal);
    assert_false(cfg.ipv6);
    /* allowed-ips default: everything, both families */
    assert_int_equal(cfg.n_allowed_ips, 2);
    assert_int_equal(cfg.allowed_ips[0].family, AF_INET);
    assert_int_equal(cfg.allowed_ips[0].cidr, 0);
    assert_int_equal(cfg.allowed_ips[1].family, AF_INET6);
    assert_int_equal(cfg.allowed_ips[1].cidr, 0);
    uint8_t key[32];
    assert_int_equal(kd_key_from_b64(key, PEERKEY), 0);
    assert_memory_equal(cfg.peer_key, key, 32);
}

static void test_vsock_default_transport(void **state)
{
    assert_int_equal(PARSE("wgvsock.peer=host(2):8172", "wgvsock.peerkey=" PEERKEY,
                           "wgvsock.seed=" SEED), 0);
    assert_int_equal(cfg.transport, WG_TRANSPORT_VSOCK);
    assert_int_equal(cfg.peer.addr.sa.sa_family, AF_VSOCK);
    assert_int_equal(cfg.peer.addr.vm.svm_cid, 2);
    assert_int_equal(cfg.peer.addr.vm.svm_port, 8172);
    /* dotted CID on a vsock network */
    assert_int_equal(PARSE("wgvsock.peer=0.0.0.16:51820", "wgvsock.peerkey=" PEERKEY,
                           "wgvsock.seed=" SEED), 0);
    assert_int_equal(cfg.peer.addr.sa.sa_family, AF_VSOCK);
    assert_int_equal(cfg.peer.addr.vm.svm_cid, 16);
    assert_int_equal(PARSE("wgvsock.transport=vsock", "wgvsock.peer=vm(16):51820",
                           "wgvsock.peerkey=" PEERKEY, "wgvsock.seed=" SEED), 0);
    assert_int_equal(cfg.peer.addr.vm.svm_cid, 16);
}

static void test_transports(void **state)
{
    assert_int_equal(PARSE("wgvsock.transport=tcp", "wgvsock.peer=[::1]:51820",
                           "wgvsock.peerkey=" PEERKEY, "wgvsock.seed=" SEED), 0);
    assert_int_equal(cfg.transport, WG_TRANSPORT_TCP);
    assert_int_equal(cfg.peer.addr.sa.sa_family, AF_INET6);
    expect_err(PARSE("wgvsock.transport=quic", "wgvsock.peer=127.0.0.1:1",
                     "wgvsock.peerkey=" PEERKEY, "wgvsock.seed=" SEED), "unknown transport 'quic'");
    expect_err(PARSE("wgvsock.transport=udp", "wgvsock.peer=host(2):8172",
                     "wgvsock.peerkey=" PEERKEY, "wgvsock.seed=" SEED), "is a vsock address");
    expect_err(PARSE("wgvsock.transport=tcp4", "wgvsock.peer=[::1]:1",
                     "wgvsock.peerkey=" PEERKEY, "wgvsock.seed=" SEED), "does not match");
}

static void test_aliases(void **state)
{
    assert_int_equal(PARSE("wgvsock.transport=udp", "io.bestov.wg.peer=127.0.0.1:51820",
                           "io.bestov.wg.peerkey=" PEERKEY, "io.bestov.wg.seed=" SEED,
                           "io.bestov.wg.additional=YWRk"), 0);
    assert_string_equal(cfg.peer_text, "127.0.0.1:51820");
    assert_string_equal(cfg.additional_b64, "YWRk");
    assert_int_equal(cfg.seed_source, NET_SEED_OPTION);
    /* both names, same value: fine; different: which one is meant? */
    assert_int_equal(PARSE(BASE, "io.bestov.wg.peer=127.0.0.1:51820", "wgvsock.seed=" SEED), 0);
    expect_err(PARSE(BASE, "io.bestov.wg.peer=127.0.0.2:51820", "wgvsock.seed=" SEED),
               "wgvsock.peer and io.bestov.wg.peer");
    /* Docker's generic MTU option */
    assert_int_equal(PARSE(BASE, "wgvsock.seed=" SEED, "com.docker.network.driver.mtu=1380"), 0);
    assert_int_equal(cfg.mtu, 1380);
}

static void test_unknown_option(void **state)
{
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.peer-key=x"),
               "unknown option wgvsock.peer-key");
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "io.bestov.wg.foo=1"),
               "unknown option io.bestov.wg.foo");
    /* other drivers' / Docker's own options are not ours to judge */
    assert_int_equal(PARSE(BASE, "wgvsock.seed=" SEED, "com.example.label=1"), 0);
}

/* One table drives parsing, the "known options" message and --help: every
 * option the parser takes is in both, aliases in --help. */
static void test_one_option_table(void **state)
{
    static const char *const names[] = {
        "wgvsock.transport", "wgvsock.engine", "wgvsock.stream-crc", "wgvsock.peer",
        "wgvsock.peerkey", "wgvsock.seed", "wgvsock.seed-file", "wgvsock.additional",
        "wgvsock.keepalive", "wgvsock.mtu", "wgvsock.allowed-ips", "wgvsock.attest",
        "wgvsock.attest-root", "wgvsock.provision-port",
    };
    static const char *const aliases[] = {
        "io.bestov.wg.peer", "io.bestov.wg.peerkey", "io.bestov.wg.seed",
        "io.bestov.wg.additional", "com.docker.network.driver.mtu",
    };
    char *help = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&help, &len);

    assert_non_null(f);
    net_options_help(f);
    assert_int_equal(fclose(f), 0);
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.nope=1"), "unknown option wgvsock.nope");
    assert_non_null(strstr(err, "(see docs/OPTIONS.md)"));     /* the whole list fits */
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strstr(err, names[i]))
            fail_msg("'%s' missing from '%s'", names[i], err);
        if (!strstr(help, names[i]))
            fail_msg("'%s' missing from --help", names[i]);
    }
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (!strstr(help, aliases[i]))
            fail_msg("alias '%s' missing from --help", aliases[i]);
    free(help);
}

/* A parse that fails after the seed option was read leaves no seed behind
 * (one way out of net_config_parse, wiping). */
static void test_failure_wipes_seed(void **state)
{
    static const char zero[sizeof(cfg.seed_b64)];

    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.keepalive=x"), "wgvsock.keepalive");
    assert_memory_equal(cfg.seed_b64, zero, sizeof(zero));
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.mtu=9"), "wgvsock.mtu");
    assert_memory_equal(cfg.seed_b64, zero, sizeof(zero));
}

static void test_missing_required(void **state)
{
    expect_err(PARSE("wgvsock.peerkey=" PEERKEY, "wgvsock.seed=" SEED),
               "missing option wgvsock.peer");
    expect_err(PARSE("wgvsock.transport=udp", "wgvsock.peer=127.0.0.1:1", "wgvsock.seed=" SEED),
               "missing option wgvsock.peerkey");
    expect_err(PARSE(BASE), "no seed");
    expect_err(PARSE(BASE), "WGVSOCK_SEED_FILE");
}

static void test_bad_peer_and_key(void **state)
{
    static const char *bad_peers[] = { "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
                                       "foo:1", "[::1]", "1.2.3.4:5:6", " 1.2.3.4:5", NULL };
    for (const char **p = bad_peers; *p; p++) {
        char opt[64];
        snprintf(opt, sizeof(opt), "wgvsock.peer=%s", *p);
        expect_err(PARSE("wgvsock.transport=udp", opt, "wgvsock.peerkey=" PEERKEY,
                         "wgvsock.seed=" SEED), "wgvsock.peer: cannot parse");
    }
    static const char *bad_keys[] = { "abc", "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8yk=",
                                      "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw",
                                      "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=x", NULL };
    for (const char **k = bad_keys; *k; k++) {
        char opt[128];
        snprintf(opt, sizeof(opt), "wgvsock.peerkey=%s", *k);
        expect_err(PARSE("wgvsock.transport=udp", "wgvsock.peer=127.0.0.1:1", opt,
                         "wgvsock.seed=" SEED), "not a WireGuard public key");
    }
}

static void test_seed_sources(void **state)
{
    char path[128], opt[160];
    FILE *f;

    /* a bad seed is reported without echoing it */
    expect_err(PARSE(BASE, "wgvsock.seed=notbase64secret!"), "wgvsock.seed: not valid base64");
    assert_null(strstr(err, "notbase64secret"));
    expect_err(PARSE(BASE, "wgvsock.seed="), "wgvsock.seed");
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.seed-file=/x"), "not both");
    expect_err(PARSE(BASE, "wgvsock.seed-file=relative/path"), "absolute path");
    expect_err(PARSE(BASE, "wgvsock.seed-file=/nonexistent/seed"),
               "cannot open seed file /nonexistent/seed");
    /* reloading saved state does not need the file to be there yet */
    assert_int_equal(parse_kv(NULL, false, (const char *const[]){ BASE,
                     "wgvsock.seed-file=/nonexistent/seed", NULL }), 0);
    assert_int_equal(cfg.seed_source, NET_SEED_FILE);
    assert_string_equal(cfg.seed_file, "/nonexistent/seed");

    snprintf(path, sizeof(path), "%s/seed", tmpdir);
    f = fopen(path, "w");
    fprintf(f, "  %s\n\n", SEED);
    fclose(f);
    snprintf(opt, sizeof(opt), "wgvsock.seed-file=%s", path);
    assert_int_equal(parse_kv(NULL, true, (const char *const[]){ BASE, opt, NULL }), 0);
    assert_int_equal(cfg.seed_source, NET_SEED_FILE);
    /* plugin-wide seed file */
    assert_int_equal(parse_kv(path, true, (const char *const[]){ BASE, NULL }), 0);
    assert_int_equal(cfg.seed_source, NET_SEED_PLUGIN);
    expect_err(parse_kv("/nonexistent/plugin-seed", true, (const char *const[]){ BASE, NULL }),
               "/nonexistent/plugin-seed");

    /* secrets come out identical whatever the source */
    struct kd_secret *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *add = malloc(sizeof(*add));
    struct kd_secret *ref = malloc(sizeof(*ref));
    assert_int_equal(kd_secret_from_b64(ref, SEED), 0);
    assert_int_equal(net_config_secrets(&cfg, path, a, add, err), 0);
    assert_int_equal(a->len, ref->len);
    assert_memory_equal(a->bytes, ref->bytes, ref->len);
    assert_int_equal(add->len, 9);
    assert_memory_equal(add->bytes, "bestov.io", 9);
    assert_int_equal(PARSE(BASE, "wgvsock.seed=" SEED), 0);
    assert_int_equal(net_config_secrets(&cfg, NULL, b, add, err), 0);
    assert_int_equal(b->len, ref->len);
    assert_memory_equal(b->bytes, ref->bytes, ref->len);
    free(a); free(b); free(add); free(ref);
}

static void test_seed_file_errors(void **state)
{
    struct kd_secret *s = malloc(sizeof(*s));
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/empty", tmpdir);
    fclose(fopen(path, "w"));
    assert_int_equal(net_read_seed_file(path, s, err), -1);
    assert_non_null(strstr(err, "does not hold a base64 seed"));
    /* never suggests writing to the path named (it may be any file) */
    assert_null(strstr(err, "> "));
    assert_null(strstr(err, "urandom"));

    snprintf(path, sizeof(path), "%s/garbage", tmpdir);
    f = fopen(path, "w");
    fputs("this is not base64 at all\n", f);
    fclose(f);
    assert_int_equal(net_read_seed_file(path, s, err), -1);
    assert_null(strstr(err, "this is not"));        /* content never echoed */

    snprintf(path, sizeof(path), "%s/big", tmpdir);
    f = fopen(path, "w");
    for (int i = 0; i < 20000; i++)
        fputc('A', f);
    fclose(f);
    assert_int_equal(net_read_seed_file(path, s, err), -1);
    assert_non_null(strstr(err, "larger than"));

    assert_int_equal(net_read_seed_file(tmpdir, s, err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    free(s);
}

static void test_additional(void **state)
{
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.additional=%%%"),
               "wgvsock.additional: not valid base64");
    /* an empty additional is legal (keyderive --add "") */
    assert_int_equal(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.additional="), 0);
    assert_string_equal(cfg.additional_b64, "");
}

static void test_keepalive(void **state)
{
    assert_int_equal(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.keepalive=0"), 0);
    assert_int_equal(cfg.keepalive, 0);
    assert_int_equal(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.keepalive=65535"), 0);
    assert_int_equal(cfg.keepalive, 65535);
    static const char *bad[] = { "", "-1", "65536", "abc", "25s", " 25", "0x19", "99999999999",
                                 NULL };
    for (const char **b = bad; *b; b++) {
        char opt[64];
        snprintf(opt, sizeof(opt), "wgvsock.keepalive=%s", *b);
        expect_err(PARSE(BASE, "wgvsock.seed=" SEED, opt), "wgvsock.keepalive");
    }
}

static void test_mtu(void **state)
{
    assert_int_equal(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.mtu=576"), 0);
    assert_int_equal(cfg.mtu, 576);
    assert_int_equal(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.mtu=9000"), 0);
    assert_int_equal(cfg.mtu, 9000);
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.mtu=575"), "between 576 and 65472");
    /* The engine's maximum (WG_TUN_MTU_MAX): anything above passed
     * CreateNetwork once and then failed every Join. */
    assert_int_equal(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.mtu=65472"), 0);
    assert_int_equal(cfg.mtu, 65472);
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.mtu=65473"), "between 576 and 65472");
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.mtu=65535"), "wgvsock.mtu");
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "com.docker.network.driver.mtu=65500"),
               "between 576 and 65472");
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.mtu=65536"), "wgvsock.mtu");
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.mtu=big"), "wgvsock.mtu");

    /* IPv6 needs 1280 */
    json_t *req = request_v(false, true, "10.77.0.0/24", "10.77.0.1/24", "fd77::/64",
                            (const char *const[]){ BASE, "wgvsock.seed=" SEED,
                                                   "wgvsock.mtu=1200", NULL });
    expect_err(net_config_parse(&cfg, req, NULL, true, err), "between 1280 and");
    json_decref(req);
}

/* wgvsock.stream-crc: explicit true/false, stream transports only; unset
 * leaves the choice to the plugin's WGVSOCK_STREAM_CRC at Join. */
static void test_stream_crc(void **state)
{
#define TCP "wgvsock.transport=tcp", "wgvsock.peer=127.0.0.1:51820", "wgvsock.peerkey=" PEERKEY, \
            "wgvsock.seed=" SEED
    assert_int_equal(PARSE(TCP), 0);
    assert_false(cfg.stream_crc_set);
    assert_int_equal(PARSE(TCP, "wgvsock.stream-crc=false"), 0);
    assert_true(cfg.stream_crc_set);
    assert_true(cfg.stream_no_crc);
    assert_int_equal(PARSE(TCP, "wgvsock.stream-crc=true"), 0);
    assert_true(cfg.stream_crc_set);
    assert_false(cfg.stream_no_crc);
    assert_int_equal(PARSE("wgvsock.peer=host(2):8172", "wgvsock.peerkey=" PEERKEY,
                           "wgvsock.seed=" SEED, "wgvsock.stream-crc=false"), 0);
    assert_int_equal(cfg.transport, WG_TRANSPORT_VSOCK);
    assert_true(cfg.stream_no_crc);
    assert_int_equal(PARSE("wgvsock.transport=tcp6", "wgvsock.peer=[::1]:51820",
                           "wgvsock.peerkey=" PEERKEY, "wgvsock.seed=" SEED,
                           "wgvsock.stream-crc=false"), 0);
    assert_true(cfg.stream_no_crc);
    /* never guessed: only the two words */
    expect_err(PARSE(TCP, "wgvsock.stream-crc=0"), "wgvsock.stream-crc: '0' is not true or false");
    expect_err(PARSE(TCP, "wgvsock.stream-crc=no"), "not true or false");
    expect_err(PARSE(TCP, "wgvsock.stream-crc="), "not true or false");
    expect_err(PARSE(TCP, "wgvsock.stream-crc=auto"), "not true or false");
    /* udp has no frames */
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.stream-crc=false"),
               "only stream transports");
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.stream-crc=true"), "this network uses udp");
    /* a typo is still an unknown option, and the list names the new one */
    expect_err(PARSE(TCP, "wgvsock.stream_crc=false"), "wgvsock.stream-crc");
#undef TCP
}

static void test_allowed_ips(void **state)
{
    assert_int_equal(PARSE(BASE, "wgvsock.seed=" SEED,
                           "wgvsock.allowed-ips=10.0.0.1/8, fd00::1/64,192.168.1.0/24"), 0);
    assert_true(cfg.allowed_ips_set);
    assert_int_equal(cfg.n_allowed_ips, 3);
    assert_int_equal(cfg.allowed_ips[0].family, AF_INET);
    assert_int_equal(cfg.allowed_ips[0].cidr, 8);
    assert_memory_equal(cfg.allowed_ips[0].ip, "\x0a\x00\x00\x00", 4);   /* host bits cleared */
    assert_int_equal(cfg.allowed_ips[1].family, AF_INET6);
    assert_int_equal(cfg.allowed_ips[1].cidr, 64);
    assert_int_equal(cfg.allowed_ips[1].ip[15], 0);
    assert_int_equal(cfg.allowed_ips[2].cidr, 24);

    static const char *bad[] = { "", "10.0.0.0", "10.0.0.0/33", "::/129", "10.0.0.0/8,",
                                 ",10.0.0.0/8", "10.0.0.0/8,,::/0", "bogus/8", "10.0.0.0/-1",
                                 "10.0.0.0/8x", NULL };
    for (const char **b = bad; *b; b++) {
        char opt[64];
        snprintf(opt, sizeof(opt), "wgvsock.allowed-ips=%s", *b);
        expect_err(PARSE(BASE, "wgvsock.seed=" SEED, opt), "wgvsock.allowed-ips");
    }
    /* at most NET_ALLOWED_IPS_MAX */
    char big[NET_ALLOWED_IPS_MAX * 16 + 64] = "wgvsock.allowed-ips=";
    for (int i = 0; i <= NET_ALLOWED_IPS_MAX; i++)
        snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s10.%d.0.0/16", i ? "," : "", i);
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, big), "more than 64");
}

static void test_internal_and_ipv6(void **state)
{
    json_t *req = request_v(true, true, "10.77.0.0/24", "10.77.0.1/24", "fd77::/64",
                            (const char *const[]){ BASE, "wgvsock.seed=" SEED, NULL });
    assert_int_equal(net_config_parse(&cfg, req, NULL, true, err), 0);
    assert_true(cfg.internal);
    assert_true(cfg.ipv6);
    assert_string_equal(cfg.pool6, "fd77::/64");
    assert_string_equal(cfg.gateway6, "fd77::1");
    /* internal: only the network's own subnets go through the tunnel */
    assert_int_equal(cfg.n_allowed_ips, 2);
    assert_int_equal(cfg.allowed_ips[0].family, AF_INET);
    assert_int_equal(cfg.allowed_ips[0].cidr, 24);
    assert_memory_equal(cfg.allowed_ips[0].ip, "\x0a\x4d\x00\x00", 4);
    assert_int_equal(cfg.allowed_ips[1].family, AF_INET6);
    assert_int_equal(cfg.allowed_ips[1].cidr, 64);
    json_decref(req);
}

static void test_ipam_errors(void **state)
{
    const char *const kv[] = { BASE, "wgvsock.seed=" SEED, NULL };
    json_t *req = request_v(false, false, NULL, NULL, NULL, kv);

    expect_err(net_config_parse(&cfg, req, NULL, true, err), "no IPv4 subnet");
    json_decref(req);
    req = request_v(false, false, "10.77.0.0", "10.77.0.1/24", NULL, kv);
    expect_err(net_config_parse(&cfg, req, NULL, true, err), "invalid Pool");
    json_decref(req);
    req = request_v(false, false, "fd00::/64", NULL, NULL, kv);
    expect_err(net_config_parse(&cfg, req, NULL, true, err), "expected an IPv4 subnet");
    json_decref(req);
    req = request_v(false, false, "10.77.0.0/24", "10.77.0.300/24", NULL, kv);
    expect_err(net_config_parse(&cfg, req, NULL, true, err), "invalid Gateway");
    json_decref(req);
    /* no gateway at all is fine (no default route then) */
    req = request_v(false, false, "10.77.0.0/24", NULL, NULL, kv);
    assert_int_equal(net_config_parse(&cfg, req, NULL, true, err), 0);
    assert_string_equal(cfg.gateway4, "");
    json_decref(req);
}

static void test_malformed_shapes(void **state)
{
    static const char *bad[] = {
        "[]", "{\"Options\":[]}",
        "{\"Options\":{\"com.docker.network.generic\":[]}}",
        "{\"Options\":{\"com.docker.network.generic\":{\"wgvsock.peer\":1}}}",
        "{\"Options\":{\"com.docker.network.internal\":\"maybe\"}}",
        "{\"Options\":{},\"IPv4Data\":{}}",
        "{\"Options\":{},\"IPv4Data\":[1]}",
        NULL,
    };
    for (const char **b = bad; *b; b++) {
        json_t *req = json_loads(*b, 0, NULL);
        assert_non_null(req);
        assert_int_equal(net_config_parse(&cfg, req, NULL, true, err), -1);
        assert_true(strlen(err) > 0);
        json_decref(req);
    }
    assert_int_equal(net_config_parse(&cfg, NULL, NULL, true, err), -1);
    /* Options: null and generic absent -> the first missing option is named */
    json_t *req = json_loads("{\"Options\":null,\"IPv4Data\":[{\"Pool\":\"10.0.0.0/8\"}]}", 0, NULL);
    expect_err(net_config_parse(&cfg, req, NULL, true, err), "missing option wgvsock.peer");
    json_decref(req);
}

static void test_string_booleans(void **state)
{
    json_t *req = json_pack("{s:{s:s, s:{s:s, s:s, s:s}}, s:[{s:s}]}", "Options",
                            "com.docker.network.internal", "true", "com.docker.network.generic",
                            "wgvsock.peer", "host(2):1", "wgvsock.peerkey", PEERKEY,
                            "wgvsock.seed", SEED, "IPv4Data", "Pool", "10.0.0.0/8");
    assert_int_equal(net_config_parse(&cfg, req, NULL, true, err), 0);
    assert_true(cfg.internal);
    json_decref(req);
}

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/test_plugin_options.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd);
}

/* wgvsock.attest*: peerkey optional with attestation, every option checked. */
static void test_attest_options(void **state)
{
#define ABASE "wgvsock.transport=tcp", "wgvsock.peer=127.0.0.1:51820", "wgvsock.seed=" SEED
#define PCR48 "000000000000000000000000000000000000000000000000" \
              "000000000000000000000000000000000000000000000000"
    assert_int_equal(PARSE(ABASE, "wgvsock.attest=nitro"), 0);
    assert_int_equal(cfg.attest.mode, NET_ATTEST_NITRO);
    assert_false(cfg.attest.peerkey_given);
    assert_int_equal(cfg.attest.root[0], 0);                     /* the pinned AWS root */
    assert_int_equal(PARSE(ABASE, "wgvsock.attest=nitro", "wgvsock.peerkey=" PEERKEY,
                           "wgvsock.attest-pcr0=" PCR48, "wgvsock.attest-pcr8=" PCR48,
                           "wgvsock.provision-port=7000"), 0);
    assert_true(cfg.attest.peerkey_given);
    assert_int_equal(cfg.attest.pcr_len[0], 48);
    assert_int_equal(cfg.attest.pcr_len[8], 48);
    assert_int_equal(cfg.attest.pcr_len[1], 0);
    assert_int_equal(cfg.attest.provision_port, 7000);
    assert_int_equal(PARSE(ABASE, "wgvsock.attest=none"), 0);
    assert_int_equal(cfg.attest.mode, NET_ATTEST_NONE);
    assert_int_equal(PARSE(BASE, "wgvsock.seed=" SEED), 0);
    assert_int_equal(cfg.attest.mode, NET_ATTEST_OFF);
    expect_err(PARSE(ABASE), "missing option wgvsock.peerkey");
    expect_err(PARSE(ABASE, "wgvsock.attest=yes"), "not nitro, test or none");
    expect_err(PARSE(ABASE, "wgvsock.attest=test"), "needs wgvsock.attest-root");
    expect_err(PARSE(ABASE, "wgvsock.attest=nitro", "wgvsock.attest-root=relative.pem"),
               "absolute path");
    expect_err(PARSE(ABASE, "wgvsock.attest=nitro", "wgvsock.attest-root=/nonexistent.pem"),
               "absolute path");
    expect_err(PARSE(ABASE, "wgvsock.attest=nitro", "wgvsock.attest-pcr0=00"), "96 hex digits");
    expect_err(PARSE(ABASE, "wgvsock.attest=nitro", "wgvsock.attest-pcr0=" PCR48 "zz"),
               "96 hex digits");
    expect_err(PARSE(ABASE, "wgvsock.attest=none", "wgvsock.attest-pcr0=" PCR48),
               "needs wgvsock.attest=nitro or test");
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.attest-pcr0=" PCR48),
               "needs wgvsock.attest=nitro or test");
    expect_err(PARSE(ABASE, "wgvsock.attest=nitro", "wgvsock.attest-pcr9=" PCR48),
               "unknown option wgvsock.attest-pcr9");
    expect_err(PARSE(ABASE, "wgvsock.attest=nitro", "wgvsock.provision-port=0"), "not a port");
    expect_err(PARSE(BASE, "wgvsock.seed=" SEED, "wgvsock.provision-port=7000"),
               "needs wgvsock.attest");
#undef ABASE
#undef PCR48
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_vsock_default_transport),
        cmocka_unit_test(test_transports),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_unknown_option),
        cmocka_unit_test(test_one_option_table),
        cmocka_unit_test(test_failure_wipes_seed),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_bad_peer_and_key),
        cmocka_unit_test(test_seed_sources),
        cmocka_unit_test(test_seed_file_errors),
        cmocka_unit_test(test_additional),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_mtu),
        cmocka_unit_test(test_stream_crc),
        cmocka_unit_test(test_allowed_ips),
        cmocka_unit_test(test_internal_and_ipv6),
        cmocka_unit_test(test_ipam_errors),
        cmocka_unit_test(test_malformed_shapes),
        cmocka_unit_test(test_attest_options),
        cmocka_unit_test(test_string_booleans),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
