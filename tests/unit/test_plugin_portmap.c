/* test_plugin_portmap.c - Docker's port bindings (the exact JSON dockerd
 * 20.10 sends, logged from a real one) parsed and written back, every bad
 * shape refused with a message; and the forwarder on loopback in this
 * process's own network namespace: a port in use fails naming the port and
 * leaves no other port open, a range takes the first free port, port 0 one
 * of the ephemeral range, unpublish frees every port, and TCP and UDP
 * round-trip through it, and the bound on connections (one more is reset,
 * the others go on, a closed one makes room) and on UDP clients.  The
 * forwarder part needs root (setns). */
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
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "plugin/forward.h"
#include "plugin/portmap.h"

/* As dockerd 20.10 sent it for -p [::1]:18082:80 -p 127.0.0.1:18081:80 -p 18080:80. */
#define DOCKER_OPTIONS                                                                         \
    "{\"com.docker.network.endpoint.exposedports\":[{\"Proto\":6,\"Port\":80}],"              \
    "\"com.docker.network.portmap\":[{\"Proto\":6,\"IP\":\"\",\"Port\":80,\"HostIP\":\"::1\"," \
    "\"HostPort\":18082,\"HostPortEnd\":18082},{\"Proto\":6,\"IP\":\"\",\"Port\":80,"          \
    "\"HostIP\":\"127.0.0.1\",\"HostPort\":18081,\"HostPortEnd\":18081},{\"Proto\":6,"         \
    "\"IP\":\"\",\"Port\":80,\"HostIP\":\"\",\"HostPort\":18080,\"HostPortEnd\":18080}]}"

static int parse_text(const char *text, struct pm_binding **b, size_t *n, char err[NET_ERR_MAX])
{
    json_t *o = json_loads(text, 0, NULL);
    int ret;

    assert_non_null(o);
    ret = pm_parse(o, b, n, err);
    json_decref(o);
    return ret;
}

static void test_docker_shape(void **state)
{
    char err[NET_ERR_MAX] = "";
    struct pm_binding *b;
    size_t n;
    json_t *back;

    assert_int_equal(parse_text(DOCKER_OPTIONS, &b, &n, err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(b[0].proto, IPPROTO_TCP);
    assert_string_equal(b[0].host_ip, "::1");
    assert_int_equal(b[0].host_port, 18082);
    assert_int_equal(b[0].port, 80);
    assert_string_equal(b[1].host_ip, "127.0.0.1");
    assert_string_equal(b[2].host_ip, "");
    back = pm_to_json(b, n);
    assert_non_null(back);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(back, 2), "HostPort")), 18080);
    assert_string_equal(json_string_value(json_object_get(json_array_get(back, 2), "HostIP")),
                        "0.0.0.0");
    json_decref(back);
    free(b);

    /* -P, a udp port, a range, no ports at all */
    assert_int_equal(parse_text("{\"com.docker.network.portmap\":[{\"Proto\":17,\"IP\":\"\","
                                "\"Port\":53,\"HostIP\":\"\",\"HostPort\":0,\"HostPortEnd\":0},"
                                "{\"Proto\":6,\"Port\":80,\"HostPort\":8080,\"HostPortEnd\":8082}]}",
                                &b, &n, err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(b[0].proto, IPPROTO_UDP);
    assert_int_equal(b[0].host_port, 0);
    assert_int_equal(b[1].host_port_end, 8082);
    free(b);
    assert_int_equal(parse_text("{}", &b, &n, err), 0);
    assert_int_equal(n, 0);
    assert_null(b);
    assert_int_equal(pm_parse(NULL, &b, &n, err), 0);
}

static void test_bad_shapes(void **state)
{
    static const struct { const char *json, *word; } bad[] = {
        { "{\"com.docker.network.portmap\":{}}", "not a list" },
        { "{\"com.docker.network.portmap\":[1]}", "not an object" },
        { "{\"com.docker.network.portmap\":[{\"Proto\":132,\"Port\":80}]}", "protocol 132" },
        { "{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":0}]}", "0..65535" },
        { "{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":70000}]}", "0..65535" },
        { "{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":\"80\"}]}", "0..65535" },
        { "{\"com.docker.network.portmap\":[{\"Port\":80}]}", "Proto" },
        { "{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":80,\"HostPort\":90,"
          "\"HostPortEnd\":80}]}", "range" },
        { "{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":80,\"HostIP\":\"1.2.3\"}]}",
          "HostIP" },
        { "{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":80,\"HostIP\":7}]}", "HostIP" },
        { "{\"com.docker.network.endpoint.exposedports\":5}", "not a list" },
    };
    char err[NET_ERR_MAX];
    struct pm_binding *b;
    size_t n;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(parse_text(bad[i].json, &b, &n, err), -1);
        assert_null(b);
        if (!strstr(err, bad[i].word))
            fail_msg("%s: '%s' lacks '%s'", bad[i].json, err, bad[i].word);
    }
    /* Over the bound: refused before any allocation per entry. */
    {
        json_t *list = json_array(), *o;
        for (int i = 0; i <= PM_BINDINGS_MAX; i++)
            json_array_append_new(list, json_pack("{s:i, s:i}", "Proto", 6, "Port", 80));
        o = json_pack("{s:o}", PM_KEY_PORTMAP, list);
        assert_int_equal(pm_parse(o, &b, &n, err), -1);
        assert_non_null(strstr(err, "too many"));
        json_decref(o);
    }
}

/* ---- the forwarder, in our own network namespace ---- */

static int tcp_server(uint16_t *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static int connect_to(int type, uint16_t port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, type, 0);

    assert_true(fd >= 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool port_free(int type, uint16_t port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, type, 0), one = 1;
    bool ok;

    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static int udp_server(uint16_t port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* A new client sends word through the forwarder; the server sees it from
 * the forwarder's flow socket and answers there; the client gets the answer
 * from the published port. */
static void udp_round_trip(int srv, uint16_t host_port, const char *word)
{
    struct sockaddr_in from;
    socklen_t len = sizeof(from);
    struct pollfd pfd = { .events = POLLIN };
    char buf[32];
    int c = connect_to(SOCK_DGRAM, host_port);
    ssize_t n;

    assert_true(c >= 0);
    assert_int_equal(send(c, word, strlen(word), 0), (ssize_t)strlen(word));
    pfd.fd = srv;
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    n = recvfrom(srv, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
    assert_int_equal(n, (ssize_t)strlen(word));
    assert_int_equal(sendto(srv, buf, (size_t)n, 0, (struct sockaddr *)&from, len), n);
    pfd.fd = c;
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    assert_int_equal(recv(c, buf, sizeof(buf), 0), n);
    assert_memory_equal(buf, word, (size_t)n);
    close(c);
}

static void test_forwarder(void **state)
{
    struct pm_binding b[2];
    char err[NET_ERR_MAX] = "";
    uint16_t target, busy_port;
    int srv, busy, c, s, udp_srv;
    struct fwd *f;
    char buf[16];

    if (geteuid() != 0)
        skip();
    srv = tcp_server(&target);
    busy = tcp_server(&busy_port);
    assert_int_equal(fwd_start(&f), 0);

    /* A port in use: the error names it, and the other binding is closed. */
    memset(b, 0, sizeof(b));
    b[0] = (struct pm_binding){ .proto = IPPROTO_TCP, .port = target, .host_ip = "127.0.0.1" };
    b[1] = (struct pm_binding){ .proto = IPPROTO_TCP, .port = target, .host_ip = "127.0.0.1",
                                .host_port = busy_port, .host_port_end = busy_port };
    assert_int_equal(fwd_publish(f, "ep1", "/proc/self/ns/net", "127.0.0.1", b, 2, err), -1);
    {
        char want[32];
        snprintf(want, sizeof(want), "127.0.0.1:%u/tcp", busy_port);
        if (!strstr(err, want) || !strstr(err, "in use"))
            fail_msg("error '%s' does not name %s as in use", err, want);
    }
    assert_true(port_free(SOCK_STREAM, b[0].host_port));

    /* A range starting at the busy port takes the next free one. */
    b[0] = (struct pm_binding){ .proto = IPPROTO_TCP, .port = target, .host_ip = "127.0.0.1",
                                .host_port = busy_port, .host_port_end = busy_port + 1 };
    if (!port_free(SOCK_STREAM, busy_port + 1))
        skip();
    assert_int_equal(fwd_publish(f, "ep1", "/proc/self/ns/net", "127.0.0.1", b, 1, err), 0);
    assert_int_equal(b[0].host_port, busy_port + 1);
    /* Port 0: one from the ephemeral range; UDP to a server on target. */
    udp_srv = udp_server(target);
    b[1] = (struct pm_binding){ .proto = IPPROTO_UDP, .port = target, .host_ip = "127.0.0.1" };
    assert_int_equal(fwd_publish(f, "ep2", "/proc/self/ns/net", "127.0.0.1", &b[1], 1, err), 0);
    assert_true(b[1].host_port != 0);
    udp_round_trip(udp_srv, b[1].host_port, "one");
    udp_round_trip(udp_srv, b[1].host_port, "two");     /* another client: its own flow */
    close(udp_srv);

    /* TCP round trip through the forwarder. */
    c = connect_to(SOCK_STREAM, b[0].host_port);
    assert_true(c >= 0);
    s = accept(srv, NULL, NULL);
    assert_true(s >= 0);
    assert_int_equal(write(c, "ping", 4), 4);
    assert_int_equal(read(s, buf, sizeof(buf)), 4);
    assert_int_equal(write(s, "pong", 4), 4);
    assert_int_equal(read(c, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "pong", 4);
    close(s);
    assert_int_equal(read(c, buf, sizeof(buf)), 0);     /* the close is passed on */
    close(c);

    /* Unpublish frees the ports at once; unknown keys are ignored. */
    fwd_unpublish(f, "ep1");
    fwd_unpublish(f, "ep2");
    fwd_unpublish(f, "nonexistent");
    assert_true(port_free(SOCK_STREAM, b[0].host_port));
    assert_true(port_free(SOCK_DGRAM, b[1].host_port));
    fwd_stop(f);
    close(busy);
    close(srv);
}

/* FWD_CONNS_MAX connections at once: the next one is refused (reset) while
 * the others go on, and once one closes a new one is served again. */
static void test_connection_bound(void **state)
{
    static int clients[FWD_CONNS_MAX + 1], servers[FWD_CONNS_MAX + 1];
    struct pm_binding b = { .proto = IPPROTO_TCP, .host_ip = "127.0.0.1" };
    char err[NET_ERR_MAX] = "", buf[8];
    struct pollfd pfd = { .events = POLLIN };
    struct rlimit rl;
    uint16_t target;
    struct fwd *f;
    int srv, extra;

    if (geteuid() != 0)
        skip();
    /* 6 descriptors per relayed connection plus both ends here. */
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 10 * FWD_CONNS_MAX)
        skip();
    srv = tcp_server(&target);
    assert_int_equal(listen(srv, FWD_CONNS_MAX + 8), 0);
    b.port = target;
    assert_int_equal(fwd_start(&f), 0);
    assert_int_equal(fwd_publish(f, "ep", "/proc/self/ns/net", "127.0.0.1", &b, 1, err), 0);
    for (int i = 0; i < FWD_CONNS_MAX; i++) {
        clients[i] = connect_to(SOCK_STREAM, b.host_port);
        assert_true(clients[i] >= 0);
        servers[i] = accept(srv, NULL, NULL);   /* the forwarder connected */
        assert_true(servers[i] >= 0);
    }
    /* One more: the kernel completes the handshake, the forwarder resets it
     * and never connects to the server. */
    extra = connect_to(SOCK_STREAM, b.host_port);
    assert_true(extra >= 0);
    pfd.fd = extra;
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    assert_true(read(extra, buf, sizeof(buf)) <= 0);
    close(extra);
    pfd.fd = srv;
    assert_int_equal(poll(&pfd, 1, 200), 0);
    /* The first connection still relays. */
    assert_int_equal(write(clients[0], "x", 1), 1);
    assert_int_equal(read(servers[0], buf, 1), 1);
    /* Closing one makes room (both ends: the forwarder closes when both
     * directions are done). */
    close(clients[1]);
    close(servers[1]);
    for (int tries = 0; tries < 50; tries++) {
        extra = connect_to(SOCK_STREAM, b.host_port);
        assert_true(extra >= 0);
        pfd.fd = srv;
        if (poll(&pfd, 1, 100) == 1)
            break;
        close(extra);
        extra = -1;
    }
    assert_true(extra >= 0);
    servers[FWD_CONNS_MAX] = accept(srv, NULL, NULL);
    assert_true(servers[FWD_CONNS_MAX] >= 0);
    close(extra);
    close(servers[FWD_CONNS_MAX]);
    fwd_stop(f);
    for (int i = 0; i < FWD_CONNS_MAX; i++) {
        if (i != 1) {
            close(clients[i]);
            close(servers[i]);
        }
    }
    close(srv);
}

/* FWD_FLOWS_MAX UDP clients at once: a new client's datagram is dropped,
 * the known clients' still go through. */
static void test_flow_bound(void **state)
{
    static int clients[FWD_FLOWS_MAX + 1];
    struct pm_binding b = { .proto = IPPROTO_UDP, .host_ip = "127.0.0.1" };
    struct pollfd pfd = { .events = POLLIN };
    char err[NET_ERR_MAX] = "", buf[8];
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    struct fwd *f;
    int srv, n = 0;

    if (geteuid() != 0)
        skip();
    srv = udp_server(0);
    assert_int_equal(getsockname(srv, (struct sockaddr *)&sa, &len), 0);
    b.port = ntohs(sa.sin_port);
    assert_int_equal(fwd_start(&f), 0);
    assert_int_equal(fwd_publish(f, "ep", "/proc/self/ns/net", "127.0.0.1", &b, 1, err), 0);
    for (int i = 0; i <= FWD_FLOWS_MAX; i++) {
        clients[i] = connect_to(SOCK_DGRAM, b.host_port);
        assert_true(clients[i] >= 0);
        assert_int_equal(send(clients[i], "d", 1, 0), 1);
        /* One at a time, so that the last one is the one over the bound. */
        pfd.fd = srv;
        if (poll(&pfd, 1, i < FWD_FLOWS_MAX ? 5000 : 300) == 1) {
            assert_int_equal(recv(srv, buf, sizeof(buf), 0), 1);
            n++;
        }
    }
    assert_int_equal(n, FWD_FLOWS_MAX);
    /* A known client still gets through. */
    assert_int_equal(send(clients[0], "e", 1, 0), 1);
    pfd.fd = srv;
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    assert_int_equal(recv(srv, buf, sizeof(buf), 0), 1);
    assert_int_equal(buf[0], 'e');
    fwd_stop(f);
    for (int i = 0; i <= FWD_FLOWS_MAX; i++)
        close(clients[i]);
    close(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docker_shape),
        cmocka_unit_test(test_bad_shapes),
        cmocka_unit_test(test_forwarder),
        cmocka_unit_test(test_connection_bound),
        cmocka_unit_test(test_flow_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
