/* test_wg_uapi.c - the wg(8) userspace protocol text: every "set" key, every
 * way a request can be malformed (each leaves the config empty, so nothing
 * reaches the device), a config of dozens of peers and tens of thousands of
 * allowed-ips, and the "get" answer byte for byte, including vsock
 * endpoints, which must come back in the dotted form wg(8) can read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <sodium.h>

#include "wgcore/uapi.h"

#define K1 "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define K2 "c3ffa15ba1e1e3a4a1b6c0d2f1e0d9c8b7a69584736251403f2e1d0c0b0a0908"
#define K3 "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceae6b4c37268"

static void hex32(uint8_t out[32], const char *hex)
{
    for (int i = 0; i < 32; i++) {
        unsigned v;

        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static uint32_t ip4(const struct wg_allowedip *a)
{
    uint32_t v;

    memcpy(&v, a->ip, 4);       /* ip[] is not 4-byte aligned */
    return ntohl(v);
}

static int parse(const char *text, struct wg_device_config *cfg)
{
    return wg_uapi_parse_set(text, strlen(text), cfg);
}

static void assert_empty(const struct wg_device_config *cfg)
{
    static const struct wg_device_config zero;

    assert_memory_equal(cfg, &zero, sizeof(zero));
}

static void test_every_key(void **state)
{
    struct wg_device_config cfg;
    uint8_t k[32];
    const char *text =
        "private_key=" K1 "\n"
        "listen_port=51820\n"
        "fwmark=4294967295\n"
        "replace_peers=true\n"
        "public_key=" K2 "\n"
        "update_only=true\n"
        "preshared_key=" K3 "\n"
        "endpoint=192.0.2.1:51820\n"
        "persistent_keepalive_interval=25\n"
        "replace_allowed_ips=true\n"
        "allowed_ip=10.0.0.0/8\n"
        "allowed_ip=fd00::1/128\n"
        "protocol_version=1\n"
        "public_key=" K3 "\n"
        "remove=true\n"
        "public_key=" K1 "\n"
        "endpoint=[2001:db8::1]:443\n";

    assert_int_equal(parse(text, &cfg), 0);
    assert_true(cfg.has_private_key);
    hex32(k, K1);
    assert_memory_equal(cfg.private_key, k, 32);
    assert_true(cfg.has_listen_port);
    assert_int_equal(cfg.listen_port, 51820);
    assert_true(cfg.has_fwmark);
    assert_int_equal(cfg.fwmark, 4294967295u);
    assert_true(cfg.replace_peers);
    assert_int_equal(cfg.n_peers, 3);

    struct wg_peer_config *p = &cfg.peers[0];
    hex32(k, K2);
    assert_memory_equal(p->public_key, k, 32);
    assert_true(p->update_only);
    assert_false(p->remove);
    assert_true(p->has_preshared_key);
    hex32(k, K3);
    assert_memory_equal(p->preshared_key, k, 32);
    assert_true(p->has_endpoint);
    assert_int_equal(p->endpoint.addr.sa.sa_family, AF_INET);
    assert_int_equal(ntohl(p->endpoint.addr.in.sin_addr.s_addr), 0xc0000201);
    assert_int_equal(ntohs(p->endpoint.addr.in.sin_port), 51820);
    assert_true(p->has_persistent_keepalive);
    assert_int_equal(p->persistent_keepalive, 25);
    assert_true(p->replace_allowed_ips);
    assert_int_equal(p->n_allowed_ips, 2);
    assert_int_equal(p->allowed_ips[0].family, AF_INET);
    assert_int_equal(p->allowed_ips[0].cidr, 8);
    assert_int_equal(p->allowed_ips[0].ip[0], 10);
    assert_int_equal(p->allowed_ips[1].family, AF_INET6);
    assert_int_equal(p->allowed_ips[1].cidr, 128);
    assert_int_equal(p->allowed_ips[1].ip[0], 0xfd);
    assert_int_equal(p->allowed_ips[1].ip[15], 1);

    p = &cfg.peers[1];
    assert_true(p->remove);
    assert_false(p->has_endpoint);
    assert_int_equal(p->n_allowed_ips, 0);

    p = &cfg.peers[2];
    assert_false(p->remove);
    assert_false(p->update_only);
    assert_false(p->has_preshared_key);
    assert_false(p->has_persistent_keepalive);
    assert_false(p->replace_allowed_ips);
    assert_int_equal(p->endpoint.addr.sa.sa_family, AF_INET6);
    assert_int_equal(ntohs(p->endpoint.addr.in6.sin6_port), 443);
    wg_uapi_config_free(&cfg);
    assert_empty(&cfg);
}

static void test_device_values(void **state)
{
    struct wg_device_config cfg;
    static const uint8_t zero[32];

    /* An all-zero private key is "remove the key", not an error. */
    assert_int_equal(parse("private_key=" "0000000000000000000000000000000000000000000000000000000000000000\n"
                           "listen_port=0\nfwmark=0\n", &cfg), 0);
    assert_true(cfg.has_private_key);
    assert_memory_equal(cfg.private_key, zero, 32);
    assert_true(cfg.has_listen_port);
    assert_int_equal(cfg.listen_port, 0);
    assert_true(cfg.has_fwmark);
    assert_int_equal(cfg.fwmark, 0);
    wg_uapi_config_free(&cfg);

    /* Upper-case hex, leading zeros, and a last line without '\n'. */
    assert_int_equal(parse("private_key=E84B5A6D2717C1003A13B431570353DBACA9146CF150C5F8575680FEBA52027A\n"
                           "listen_port=0065535", &cfg), 0);
    assert_int_equal(cfg.listen_port, 65535);
    {
        uint8_t k[32];

        hex32(k, K1);
        assert_memory_equal(cfg.private_key, k, 32);
    }
    wg_uapi_config_free(&cfg);

    /* The empty body is a valid no-op set. */
    assert_int_equal(wg_uapi_parse_set("", 0, &cfg), 0);
    assert_empty(&cfg);
    assert_int_equal(wg_uapi_parse_set(NULL, 0, &cfg), 0);
    assert_empty(&cfg);
    wg_uapi_config_free(&cfg);
}

static void test_allowedip_masking(void **state)
{
    struct wg_device_config cfg;
    struct wg_allowedip *a;
    static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x30 };

    assert_int_equal(parse("public_key=" K1 "\n"
                           "allowed_ip=10.1.2.3/8\n"
                           "allowed_ip=192.168.77.200/21\n"
                           "allowed_ip=0.0.0.0/0\n"
                           "allowed_ip=1.2.3.4/32\n"
                           "allowed_ip=2001:db8:1234:5678::1/44\n"
                           "allowed_ip=::/0\n"
                           "allowed_ip=1.2.3.4/032\n", &cfg), 0);
    a = cfg.peers[0].allowed_ips;
    assert_int_equal(cfg.peers[0].n_allowed_ips, 7);
    assert_int_equal(ip4(&a[0]), 0x0a000000);
    assert_int_equal(ip4(&a[1]), 0xc0a84800);
    assert_int_equal(a[1].cidr, 21);
    assert_int_equal(ip4(&a[2]), 0);
    assert_int_equal(ip4(&a[3]), 0x01020304);
    assert_memory_equal(a[4].ip, v6, 16);
    assert_int_equal(a[4].cidr, 44);
    assert_int_equal(a[5].family, AF_INET6);
    assert_int_equal(a[5].cidr, 0);
    assert_int_equal(a[6].cidr, 32);
    wg_uapi_config_free(&cfg);
}

/* vsock endpoints: the names parse to AF_VSOCK; the dotted form stays IPv4
 * at this layer (a vsock device reads it as a CID). */
static void test_vsock_endpoints(void **state)
{
    struct wg_device_config cfg;

    assert_int_equal(parse("public_key=" K1 "\nendpoint=host(2):8172\n"
                           "public_key=" K2 "\nendpoint=vm(16):51820\n"
                           "public_key=" K3 "\nendpoint=0.0.0.2:8172\n"
                           "public_key=" K1 "\nendpoint=local(1):5000\n", &cfg), 0);
    assert_int_equal(cfg.peers[0].endpoint.addr.sa.sa_family, AF_VSOCK);
    assert_int_equal(cfg.peers[0].endpoint.addr.vm.svm_cid, 2);
    assert_int_equal(cfg.peers[0].endpoint.addr.vm.svm_port, 8172);
    assert_int_equal(cfg.peers[1].endpoint.addr.vm.svm_cid, 16);
    assert_int_equal(cfg.peers[2].endpoint.addr.sa.sa_family, AF_INET);
    assert_int_equal(ntohl(cfg.peers[2].endpoint.addr.in.sin_addr.s_addr), 2);
    assert_int_equal(ntohs(cfg.peers[2].endpoint.addr.in.sin_port), 8172);
    assert_int_equal(cfg.peers[3].endpoint.addr.vm.svm_cid, 1);
    wg_uapi_config_free(&cfg);
}

/* Every malformed request: the given error and an empty config. */
static void test_errors(void **state)
{
    static const struct { const char *text; int err; } cases[] = {
        /* line structure */
        { "\n", -EINVAL },
        { "listen_port=1\n\nfwmark=1\n", -EINVAL },
        { "listen_port\n", -EINVAL },
        { "=1\n", -EINVAL },
        { "listen_port 1\n", -EINVAL },
        /* unknown keys and versions */
        { "foo=1\n", -EPROTO },
        { "listen_port =1\n", -EPROTO },
        { "Listen_port=1\n", -EPROTO },
        { "last_handshake_time_sec=0\n", -EPROTO },
        { "public_key=" K1 "\nrx_bytes=1\n", -EPROTO },
        { "public_key=" K1 "\nprotocol_version=2\n", -EPROTO },
        { "public_key=" K1 "\nprotocol_version=0\n", -EPROTO },
        { "public_key=" K1 "\nprotocol_version=x\n", -EINVAL },
        { "public_key=" K1 "\nprotocol_version=\n", -EINVAL },
        /* keys */
        { "private_key=\n", -EINVAL },
        { "private_key=" K1 "0\n", -EINVAL },
        { "private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027\n", -EINVAL },
        { "private_key=g84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\n", -EINVAL },
        { "private_key= " K1 "\n", -EINVAL },
        { "private_key=" K1 " \n", -EINVAL },
        { "public_key=xyz\n", -EINVAL },
        { "public_key=" K1 "\npreshared_key=" K2 "z\n", -EINVAL },
        /* numbers */
        { "listen_port=65536\n", -EINVAL },
        { "listen_port=-1\n", -EINVAL },
        { "listen_port=+1\n", -EINVAL },
        { "listen_port= 1\n", -EINVAL },
        { "listen_port=1 \n", -EINVAL },
        { "listen_port=\n", -EINVAL },
        { "listen_port=0x10\n", -EINVAL },
        { "fwmark=4294967296\n", -EINVAL },
        { "fwmark=99999999999999999999999\n", -EINVAL },
        { "public_key=" K1 "\npersistent_keepalive_interval=65536\n", -EINVAL },
        /* booleans */
        { "replace_peers=false\n", -EINVAL },
        { "replace_peers=TRUE\n", -EINVAL },
        { "replace_peers=\n", -EINVAL },
        { "public_key=" K1 "\nremove=1\n", -EINVAL },
        { "public_key=" K1 "\nupdate_only=yes\n", -EINVAL },
        { "public_key=" K1 "\nreplace_allowed_ips=true \n", -EINVAL },
        /* placement */
        { "endpoint=1.2.3.4:5\n", -EINVAL },
        { "allowed_ip=10.0.0.0/8\n", -EINVAL },
        { "remove=true\n", -EINVAL },
        { "protocol_version=1\n", -EINVAL },
        { "public_key=" K1 "\nlisten_port=1\n", -EINVAL },
        { "public_key=" K1 "\nprivate_key=" K2 "\n", -EINVAL },
        { "public_key=" K1 "\nreplace_peers=true\n", -EINVAL },
        /* endpoints */
        { "public_key=" K1 "\nendpoint=\n", -EINVAL },
        { "public_key=" K1 "\nendpoint=1.2.3.4\n", -EINVAL },
        { "public_key=" K1 "\nendpoint=1.2.3.4:0\n", -EINVAL },
        { "public_key=" K1 "\nendpoint=1.2.3.4:65536\n", -EINVAL },
        { "public_key=" K1 "\nendpoint=1.2.3:51820\n", -EINVAL },
        { "public_key=" K1 "\nendpoint=example.com:51820\n", -EINVAL },
        { "public_key=" K1 "\nendpoint=[::1]\n", -EINVAL },
        { "public_key=" K1 "\nendpoint=::1:51820\n", -EINVAL },
        { "public_key=" K1 "\nendpoint=:51820\n", -EINVAL },
        { "public_key=" K1 "\nendpoint=vm(2):51820\n", -EINVAL },
        { "public_key=" K1 "\nendpoint=host(2)\n", -EINVAL },
        { "public_key=" K1 "\nendpoint=host(3):1\n", -EINVAL },
        { "public_key=" K1 "\nendpoint=vm(-1):1\n", -EINVAL },
        { "public_key=" K1 "\nendpoint=vm(16):\n", -EINVAL },
        { "public_key=" K1 "\nendpoint=vm():1\n", -EINVAL },
        /* allowed-ips */
        { "public_key=" K1 "\nallowed_ip=\n", -EINVAL },
        { "public_key=" K1 "\nallowed_ip=10.0.0.0\n", -EINVAL },
        { "public_key=" K1 "\nallowed_ip=10.0.0.0/\n", -EINVAL },
        { "public_key=" K1 "\nallowed_ip=10.0.0.0/33\n", -EINVAL },
        { "public_key=" K1 "\nallowed_ip=10.0.0.0/+8\n", -EINVAL },
        { "public_key=" K1 "\nallowed_ip=10.0.0.0/0008\n", -EINVAL },
        { "public_key=" K1 "\nallowed_ip=10.0.0.0/8/8\n", -EINVAL },
        { "public_key=" K1 "\nallowed_ip=10.0.0/8\n", -EINVAL },
        { "public_key=" K1 "\nallowed_ip=/8\n", -EINVAL },
        { "public_key=" K1 "\nallowed_ip=::/129\n", -EINVAL },
        { "public_key=" K1 "\nallowed_ip=fe80::1%lo/64\n", -EINVAL },
        { "public_key=" K1 "\nallowed_ip=10.0.0.0/8 \n", -EINVAL },
        { "public_key=" K1 "\nallowed_ip=1:2:3:4:5:6:7:8:9/64\n", -EINVAL },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wg_device_config cfg;
        int err = parse(cases[i].text, &cfg);

        if (err != cases[i].err)
            fail_msg("case %zu \"%s\": got %d, want %d", i, cases[i].text, err, cases[i].err);
        assert_empty(&cfg);
    }
}

/* Errors after lots of valid lines still leave nothing behind (and, under
 * ASan, leak nothing), and a NUL anywhere is refused. */
static void test_error_after_big_prefix(void **state)
{
    size_t cap = 64 * 4096, len = 0;
    char *text = malloc(cap);
    struct wg_device_config cfg;

    assert_non_null(text);
    len += (size_t)sprintf(text + len, "private_key=" K1 "\nreplace_peers=true\n");
    for (int p = 0; p < 20; p++) {
        len += (size_t)sprintf(text + len, "public_key=%064x\n", p + 1);
        for (int i = 0; i < 300; i++)
            len += (size_t)sprintf(text + len, "allowed_ip=10.%d.%d.0/24\n", p, i % 256);
    }
    assert_true(len + 64 < cap);
    assert_int_equal(wg_uapi_parse_set(text, len, &cfg), 0);
    assert_int_equal(cfg.n_peers, 20);
    wg_uapi_config_free(&cfg);

    strcpy(text + len, "allowed_ip=10.0.0.0/40\n");
    assert_int_equal(wg_uapi_parse_set(text, strlen(text), &cfg), -EINVAL);
    assert_empty(&cfg);

    text[100] = '\0';
    assert_int_equal(wg_uapi_parse_set(text, len, &cfg), -EINVAL);
    assert_empty(&cfg);
    free(text);
}

/* Every byte value in a key: accepted exactly when it is a hex digit. */
static void test_hex_alphabet(void **state)
{
    char text[128];

    for (int c = 1; c < 256; c++) {
        struct wg_device_config cfg;
        int err;

        if (c == '\n')
            continue;
        snprintf(text, sizeof(text), "private_key=%s\n", K1);
        text[12 + 17] = (char)c;
        err = parse(text, &cfg);
        if (isxdigit(c)) {
            assert_int_equal(err, 0);
            wg_uapi_config_free(&cfg);
        } else if (err != -EINVAL) {
            fail_msg("byte 0x%02x in a key: got %d", c, err);
        }
    }
}

/* Dozens of peers, tens of thousands of allowed-ips: parse must stay linear. */
static void test_big_config(void **state)
{
    const int peers = 64, per_peer = 1000;
    size_t cap = (size_t)peers * per_peer * 48 + 65536, len = 0;
    char *text = malloc(cap);
    struct wg_device_config cfg;
    struct timespec t0, t1;

    assert_non_null(text);
    for (int p = 0; p < peers; p++) {
        len += (size_t)sprintf(text + len, "public_key=%064x\nendpoint=10.255.%d.1:%d\n"
                               "replace_allowed_ips=true\n", p + 1, p, 1000 + p);
        for (int i = 0; i < per_peer; i++) {
            if (i & 1)
                len += (size_t)sprintf(text + len, "allowed_ip=fd00:%x:%x::/64\n", p, i);
            else
                len += (size_t)sprintf(text + len, "allowed_ip=%d.%d.%d.0/24\n", 10 + p, i >> 8, i & 255);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(wg_uapi_parse_set(text, len, &cfg), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(cfg.n_peers, peers);
    for (int p = 0; p < peers; p++) {
        assert_int_equal(cfg.peers[p].n_allowed_ips, per_peer);
        assert_int_equal(cfg.peers[p].public_key[31], p + 1);
        assert_int_equal(cfg.peers[p].allowed_ips[0].ip[0], 10 + p);
        assert_int_equal(cfg.peers[p].allowed_ips[per_peer - 1].family, AF_INET6);
    }
    /* ~2.7 MB; a quadratic parser would take minutes. */
    assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 2000);
    wg_uapi_config_free(&cfg);
    free(text);
}

/* ---- get ---- */

static void test_format_exact(void **state)
{
    struct wg_allowedip ips[3] = {
        { .family = AF_INET, .cidr = 24, .ip = { 10, 0, 0, 0 } },
        { .family = AF_INET6, .cidr = 64, .ip = { 0xfd, 0, 0, 1 } },
        { .family = AF_INET, .cidr = 32, .ip = { 0, 0, 0, 2 } },
    };
    struct wg_peer_info peers[3] = { 0 };
    struct wg_device_info info = { 0 };
    char *s;

    info.has_private_key = true;
    hex32(info.private_key, K1);
    info.listen_port = 51820;
    info.fwmark = 0x1234;
    info.n_peers = 3;
    info.peers = peers;

    hex32(peers[0].public_key, K2);
    peers[0].has_preshared_key = true;
    hex32(peers[0].preshared_key, K3);
    peers[0].has_endpoint = true;
    assert_int_equal(wg_sockaddr_parse(&peers[0].endpoint, "192.0.2.1:51820", false), 0);
    peers[0].persistent_keepalive = 25;
    peers[0].last_handshake.tv_sec = 1700000000;
    peers[0].last_handshake.tv_nsec = 123456789;
    peers[0].rx_bytes = 18446744073709551615ull;
    peers[0].tx_bytes = 92;
    peers[0].n_allowed_ips = 2;
    peers[0].allowed_ips = ips;

    hex32(peers[1].public_key, K3);
    peers[1].has_endpoint = true;
    /* A vsock endpoint goes out dotted, so wg(8) can read it. */
    assert_int_equal(wg_sockaddr_parse(&peers[1].endpoint, "vm(16):8172", false), 0);
    peers[1].n_allowed_ips = 1;
    peers[1].allowed_ips = ips + 2;

    hex32(peers[2].public_key, K1);
    peers[2].has_endpoint = true;
    assert_int_equal(wg_sockaddr_parse(&peers[2].endpoint, "[2001:db8::1]:443", false), 0);

    s = wg_uapi_format_get(&info);
    assert_non_null(s);
    assert_string_equal(s,
        "private_key=" K1 "\n"
        "listen_port=51820\n"
        "fwmark=4660\n"
        "public_key=" K2 "\n"
        "preshared_key=" K3 "\n"
        "protocol_version=1\n"
        "endpoint=192.0.2.1:51820\n"
        "last_handshake_time_sec=1700000000\n"
        "last_handshake_time_nsec=123456789\n"
        "tx_bytes=92\n"
        "rx_bytes=18446744073709551615\n"
        "persistent_keepalive_interval=25\n"
        "allowed_ip=10.0.0.0/24\n"
        "allowed_ip=fd00:1::/64\n"
        "public_key=" K3 "\n"
        "protocol_version=1\n"
        "endpoint=0.0.0.16:8172\n"
        "last_handshake_time_sec=0\n"
        "last_handshake_time_nsec=0\n"
        "tx_bytes=0\n"
        "rx_bytes=0\n"
        "persistent_keepalive_interval=0\n"
        "allowed_ip=0.0.0.2/32\n"
        "public_key=" K1 "\n"
        "protocol_version=1\n"
        "endpoint=[2001:db8::1]:443\n"
        "last_handshake_time_sec=0\n"
        "last_handshake_time_nsec=0\n"
        "tx_bytes=0\n"
        "rx_bytes=0\n"
        "persistent_keepalive_interval=0\n");
    free(s);

    /* A device with nothing configured answers nothing but errno later. */
    memset(&info, 0, sizeof(info));
    s = wg_uapi_format_get(&info);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

/* Config -> (as a device would report it) -> get text -> the lines a set
 * would need: a big config survives the trip, vsock endpoints included. */
static void test_roundtrip_big(void **state)
{
    const int peers = 40, per_peer = 600;
    size_t cap = (size_t)peers * per_peer * 48 + 65536, len = 0, rlen = 0;
    char *text = malloc(cap), *s, *rebuilt = malloc(cap);
    struct wg_device_config cfg, again;
    struct wg_device_info info = { 0 };
    size_t slen;

    assert_non_null(text);
    assert_non_null(rebuilt);
    len += (size_t)sprintf(text + len, "private_key=" K1 "\nlisten_port=8172\n");
    for (int p = 0; p < peers; p++) {
        len += (size_t)sprintf(text + len, "public_key=%064x\n", 0x1000 + p);
        if (p % 3 == 0)
            len += (size_t)sprintf(text + len, "endpoint=vm(%d):8172\n", 3 + p);
        else if (p % 3 == 1)
            len += (size_t)sprintf(text + len, "endpoint=0.0.0.2:%d\n", 1 + p);
        else
            len += (size_t)sprintf(text + len, "endpoint=[fd00::%x]:51820\n", p);
        if (p & 1)
            len += (size_t)sprintf(text + len, "preshared_key=" K3 "\n");
        len += (size_t)sprintf(text + len, "persistent_keepalive_interval=%d\n", p);
        for (int i = 0; i < per_peer; i++)
            len += (size_t)sprintf(text + len, i & 1 ? "allowed_ip=fd%02x:%x::/96\n"
                                                     : "allowed_ip=172.%d.%d.128/25\n",
                                   16 + p, i & 255);
    }
    assert_int_equal(wg_uapi_parse_set(text, len, &cfg), 0);

    info.has_private_key = cfg.has_private_key;
    memcpy(info.private_key, cfg.private_key, 32);
    info.listen_port = cfg.listen_port;
    info.n_peers = cfg.n_peers;
    info.peers = calloc(cfg.n_peers, sizeof(*info.peers));
    assert_non_null(info.peers);
    for (size_t i = 0; i < cfg.n_peers; i++) {
        struct wg_peer_config *c = &cfg.peers[i];
        struct wg_peer_info *p = &info.peers[i];

        memcpy(p->public_key, c->public_key, 32);
        p->has_preshared_key = c->has_preshared_key;
        memcpy(p->preshared_key, c->preshared_key, 32);
        p->has_endpoint = c->has_endpoint;
        p->endpoint = c->endpoint;
        p->persistent_keepalive = c->persistent_keepalive;
        p->n_allowed_ips = c->n_allowed_ips;
        p->allowed_ips = c->allowed_ips;
    }
    s = wg_uapi_format_get_reserve(&info, 16, &slen);
    assert_non_null(s);
    assert_int_equal(strlen(s), slen);
    memcpy(s + slen, "errno=0\n\n", 10);    /* the reserve is writable */

    /* Keep the lines a set understands; drop the read-only counters. */
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "last_handshake", 14) || !strncmp(line, "tx_bytes", 8) ||
            !strncmp(line, "rx_bytes", 8) || !strncmp(line, "errno", 5))
            continue;
        rlen += (size_t)sprintf(rebuilt + rlen, "%s\n", line);
    }
    assert_int_equal(wg_uapi_parse_set(rebuilt, rlen, &again), 0);
    assert_int_equal(again.n_peers, cfg.n_peers);
    assert_memory_equal(again.private_key, cfg.private_key, 32);
    assert_int_equal(again.listen_port, 8172);
    for (size_t i = 0; i < cfg.n_peers; i++) {
        struct wg_peer_config *a = &again.peers[i], *c = &cfg.peers[i];
        struct wg_sockaddr want = c->endpoint;

        assert_memory_equal(a->public_key, c->public_key, 32);
        assert_int_equal(a->has_preshared_key, c->has_preshared_key);
        assert_memory_equal(a->preshared_key, c->preshared_key, 32);
        assert_int_equal(a->persistent_keepalive, c->persistent_keepalive);
        assert_int_equal(a->n_allowed_ips, c->n_allowed_ips);
        assert_memory_equal(a->allowed_ips, c->allowed_ips, c->n_allowed_ips * sizeof(struct wg_allowedip));
        /* vm(N) comes back dotted: the same CID as an IPv4 number. */
        if (want.addr.sa.sa_family == AF_VSOCK) {
            assert_int_equal(a->endpoint.addr.sa.sa_family, AF_INET);
            assert_int_equal(ntohl(a->endpoint.addr.in.sin_addr.s_addr), want.addr.vm.svm_cid);
            assert_int_equal(ntohs(a->endpoint.addr.in.sin_port), want.addr.vm.svm_port);
        } else {
            assert_true(wg_sockaddr_equal(&a->endpoint, &want));
        }
    }
    sodium_memzero(s, slen);
    free(s);
    free(info.peers);
    wg_uapi_config_free(&again);
    wg_uapi_config_free(&cfg);
    free(text);
    free(rebuilt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_device_values),
        cmocka_unit_test(test_allowedip_masking),
        cmocka_unit_test(test_vsock_endpoints),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_after_big_prefix),
        cmocka_unit_test(test_hex_alphabet),
        cmocka_unit_test(test_big_config),
        cmocka_unit_test(test_format_exact),
        cmocka_unit_test(test_roundtrip_big),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
