/* test_wg_control.c - the wg(8) control socket (control.c) on a real device:
 * requests split at every byte boundary, many requests on one connection,
 * a multi-megabyte set, clients that stall or vanish, stale and live socket
 * files, the 0600 mode, and the "gone" callback when the file is deleted
 * or replaced.  Needs root and /dev/net/tun; runs in its own network
 * namespace (unshare) so its interface never touches the host's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <cmocka.h>

#include "wgcore/control.h"
#include "wgcore/wgcore.h"

static char dir[256], sock_path[300], ifname[16];
static struct wg_device *dev;
static struct wg_control *control;    /* dev's, opened as a host does */
static bool have_device;

static void msleep(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

    nanosleep(&ts, NULL);
}

/* A unix socket address; a path too long for sun_path fails the test
 * rather than being cut short (and keeps gcc -O3's format-truncation quiet). */
static void unix_addr(struct sockaddr_un *sa, const char *path)
{
    size_t n = strlen(path);

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    assert_true(n < sizeof(sa->sun_path));
    memcpy(sa->sun_path, path, n + 1);
}

static int connect_to(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    unix_addr(&sa, path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);

        assert_true(w > 0);
        p += w;
        len -= (size_t)w;
    }
}

/* Reads answers until `count` "errno=N\n\n" endings were seen; malloc'ed. */
static char *read_answers(int fd, int count, size_t *len_out)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int seen = 0;

    assert_non_null(buf);
    while (seen < count) {
        ssize_t r;

        if (cap - len < 4096) {
            char *bigger = realloc(buf, cap * 2);

            assert_non_null(bigger);
            buf = bigger;
            cap *= 2;
        }
        r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        seen = 0;
        /* Each answer ends with its errno line and an empty line. */
        for (char *p = buf; (p = strstr(p, "errno=")); p++) {
            char *nl = strstr(p, "\n\n");

            if (nl && (p == buf || p[-1] == '\n') && nl == p + strcspn(p, "\n"))
                seen++;
        }
    }
    buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}

/* One request on a fresh connection, written in pieces of `chunk` bytes
 * (0: at once) with a pause between them; returns the answer. */
static char *request(const char *path, const char *req, size_t len, size_t chunk)
{
    int fd = connect_to(path);
    char *ans;

    assert_true(fd >= 0);
    if (!chunk)
        chunk = len;
    for (size_t off = 0; off < len; off += chunk) {
        write_all(fd, req + off, len - off < chunk ? len - off : chunk);
        if (off + chunk < len)
            msleep(1);
    }
    ans = read_answers(fd, 1, NULL);
    close(fd);
    return ans;
}

static char *req_str(const char *req)
{
    return request(sock_path, req, strlen(req), 0);
}

static int group_setup(void **state)
{
    struct wg_device_params p = { 0 };
    int err;

    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 || unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "needs root and /dev/net/tun: skipping\n");
        return 0;
    }
    snprintf(dir, sizeof(dir), "/tmp/wgctl-unit.XXXXXX");
    assert_non_null(mkdtemp(dir));
    /* A nested, missing directory: control.c creates it. */
    strcat(dir, "/run/wireguard");
    snprintf(ifname, sizeof(ifname), "wgcu%d", (int)(getpid() % 100000));
    snprintf(sock_path, sizeof(sock_path), "%s/%s.sock", dir, ifname);
    p.ifname = ifname;
    p.transport = WG_TRANSPORT_UDP;
    err = wg_device_create(&p, &dev);
    if (err) {
        fprintf(stderr, "wg_device_create: %s\n", strerror(-err));
        return -1;
    }
    err = wg_control_open_for(dev, dir, &control);
    if (err) {
        fprintf(stderr, "wg_control_open_for: %s\n", strerror(-err));
        return -1;
    }
    have_device = true;
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[400];

    wg_control_close(control);
    if (dev)
        wg_device_destroy(dev);
    if (dir[0]) {
        /* dir is <mkdtemp>/run/wireguard: remove the mkdtemp directory. */
        *strstr(dir, "/run/wireguard") = '\0';
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return 0;
}

#define NEED_DEVICE() do { if (!have_device) skip(); } while (0)

static void test_socket_file(void **state)
{
    struct stat st;

    NEED_DEVICE();
    assert_int_equal(stat(sock_path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
}

static void test_get_set(void **state)
{
    char *a;

    NEED_DEVICE();
    a = req_str("set=1\nprivate_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\n"
                "listen_port=0\n\n");
    assert_string_equal(a, "errno=0\n\n");
    free(a);
    a = req_str("get=1\n\n");
    assert_non_null(strstr(a, "private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\n"));
    assert_non_null(strstr(a, "listen_port="));
    assert_true(strlen(a) > 9 && !strcmp(a + strlen(a) - 9, "errno=0\n\n"));
    free(a);
    a = req_str("set=1\nbogus=1\n\n");
    assert_string_equal(a, "errno=-71\n\n");
    free(a);
    a = req_str("nonsense\n\n");
    assert_string_equal(a, "errno=-22\n\n");
    free(a);
}

/* A request split into two writes at every byte boundary, and one written
 * byte by byte: the server must reassemble them all. */
static void test_split_everywhere(void **state)
{
    char req[128], *a;

    NEED_DEVICE();
    for (int port = 0; port < 3; port++) {
        int n = snprintf(req, sizeof(req), "set=1\nfwmark=%d\n\n", 100 + port);

        for (int k = 1; k < n; k++) {
            int fd = connect_to(sock_path);

            assert_true(fd >= 0);
            write_all(fd, req, (size_t)k);
            msleep(1);
            write_all(fd, req + k, (size_t)(n - k));
            a = read_answers(fd, 1, NULL);
            close(fd);
            assert_string_equal(a, "errno=0\n\n");
            free(a);
        }
    }
    snprintf(req, sizeof(req), "set=1\nfwmark=777\nlisten_port=0\n\n");
    a = request(sock_path, req, strlen(req), 1);
    assert_string_equal(a, "errno=0\n\n");
    free(a);
    a = req_str("get=1\n\n");
    assert_non_null(strstr(a, "fwmark=777\n"));
    free(a);
}

/* Many requests in one write: every one is answered, in order. */
static void test_pipelined(void **state)
{
    const int n = 40;
    size_t len = 0, alen;
    char req[64 * 40], *a, *p;
    int fd, gets = 0;

    NEED_DEVICE();
    for (int i = 0; i < n; i++)
        len += (size_t)sprintf(req + len, i % 2 ? "set=1\nfwmark=%d\n\n" : "get=1\n\n", i);
    fd = connect_to(sock_path);
    assert_true(fd >= 0);
    write_all(fd, req, len);
    a = read_answers(fd, n, &alen);
    close(fd);
    /* The get after set "fwmark=i" reports fwmark=i. */
    p = a;
    for (int i = 0; i < n; i++) {
        char *end = strstr(p, "errno=0\n\n");

        assert_non_null(end);
        if (i % 2 == 0 && i > 0) {
            char want[32];

            snprintf(want, sizeof(want), "fwmark=%d\n", i - 1);
            *end = '\0';
            assert_non_null(strstr(p, want));
            gets++;
        }
        p = end + 9;
    }
    assert_int_equal(gets, n / 2 - 1);
    assert_int_equal((size_t)(p - a), alen);
    free(a);
}

/* A multi-megabyte set (tens of thousands of allowed-ips) and its get. */
static void test_big_request(void **state)
{
    const int peers = 20, per = 3000;
    size_t cap = (size_t)peers * per * 40 + 4096, len = 0;
    char *req = malloc(cap), *a;
    int count = 0;

    NEED_DEVICE();
    assert_non_null(req);
    len += (size_t)sprintf(req, "set=1\nreplace_peers=true\n");
    for (int p = 0; p < peers; p++) {
        len += (size_t)sprintf(req + len, "public_key=%064x\n", 0x100 + p);
        for (int i = 0; i < per; i++)
            len += (size_t)sprintf(req + len, "allowed_ip=10.%d.%d.%d/32\n", p, i >> 8, i & 255);
    }
    len += (size_t)sprintf(req + len, "\n");
    a = request(sock_path, req, len, 0);
    assert_string_equal(a, "errno=0\n\n");
    free(a);
    a = req_str("get=1\n\n");
    for (char *p = a; (p = strstr(p, "\nallowed_ip=")); p++)
        count++;
    assert_int_equal(count, peers * per);
    free(a);
    a = req_str("set=1\nreplace_peers=true\n\n");
    assert_string_equal(a, "errno=0\n\n");
    free(a);
    free(req);
}

/* Idle, half-written and vanished clients never hold up the others. */
static void test_bad_clients(void **state)
{
    int idle[10], fd;
    char *a;

    NEED_DEVICE();
    for (int i = 0; i < 10; i++) {
        idle[i] = connect_to(sock_path);
        assert_true(idle[i] >= 0);
        write_all(idle[i], "set=1\nfwmark=", 13);
    }
    /* A get answered to a client that is gone. */
    fd = connect_to(sock_path);
    write_all(fd, "get=1\n\nget=1\n\n", 14);
    close(fd);
    a = req_str("get=1\n\n");
    assert_non_null(strstr(a, "errno=0\n\n"));
    free(a);
    /* Truncated at EOF: answered with EINVAL, not applied. */
    fd = connect_to(sock_path);
    write_all(fd, "set=1\nfwmark=5\n", 15);
    shutdown(fd, SHUT_WR);
    a = read_answers(fd, 1, NULL);
    close(fd);
    assert_string_equal(a, "errno=-22\n\n");
    free(a);
    for (int i = 0; i < 10; i++)
        close(idle[i]);
    a = req_str("get=1\n\n");
    assert_null(strstr(a, "fwmark=5\n"));
    free(a);
}

static atomic_int gone_calls;
static void on_gone(void *ctx)
{
    atomic_fetch_add(&gone_calls, 1);
}

static bool wait_gone(int want)
{
    for (int i = 0; i < 300 && atomic_load(&gone_calls) < want; i++)
        msleep(10);
    return atomic_load(&gone_calls) >= want;
}

static void bind_stale(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    unix_addr(&sa, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);      /* the file stays, nobody listens: stale */
}

static void test_existing_files(void **state)
{
    struct wg_control *c;
    char path[400];
    struct stat st;
    int fd;

    NEED_DEVICE();
    /* The device's own socket is live. */
    assert_int_equal(wg_control_open(dev, dir, ifname, NULL, NULL, &c), -EADDRINUSE);
    assert_int_equal(stat(sock_path, &st), 0);

    /* A stale socket is replaced, then removed by close. */
    snprintf(path, sizeof(path), "%s/stale0.sock", dir);
    bind_stale(path);
    assert_int_equal(wg_control_open(dev, dir, "stale0", NULL, NULL, &c), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    {
        char *a = request(path, "get=1\n\n", 7, 0);

        assert_non_null(strstr(a, "errno=0\n\n"));
        free(a);
    }
    wg_control_close(c);
    assert_int_equal(stat(path, &st), -1);

    /* Something that is not a socket is never deleted. */
    snprintf(path, sizeof(path), "%s/plain0.sock", dir);
    fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(wg_control_open(dev, dir, "plain0", NULL, NULL, &c), -EEXIST);
    assert_int_equal(stat(path, &st), 0);
    unlink(path);

    /* Bad names and paths. */
    assert_int_equal(wg_control_open(dev, dir, "a/b", NULL, NULL, &c), -EINVAL);
    assert_int_equal(wg_control_open(dev, dir, "", NULL, NULL, &c), -EINVAL);
    {
        char longdir[200];

        memset(longdir, 'x', sizeof(longdir) - 1);
        longdir[0] = '/';
        longdir[sizeof(longdir) - 1] = '\0';
        assert_int_equal(wg_control_open(dev, longdir, "wg0", NULL, NULL, &c), -ENAMETOOLONG);
    }
}

static void test_gone_callback(void **state)
{
    struct wg_control *c;
    char path[400], other[400];
    struct stat st;

    NEED_DEVICE();
    /* Deleted. */
    atomic_store(&gone_calls, 0);
    snprintf(path, sizeof(path), "%s/gone0.sock", dir);
    assert_int_equal(wg_control_open(dev, dir, "gone0", on_gone, NULL, &c), 0);
    msleep(50);
    assert_int_equal(atomic_load(&gone_calls), 0);
    /* chmod fires inotify too, but the file is still ours. */
    assert_int_equal(chmod(path, 0600), 0);
    msleep(50);
    assert_int_equal(atomic_load(&gone_calls), 0);
    assert_int_equal(unlink(path), 0);
    assert_true(wait_gone(1));
    msleep(50);
    assert_int_equal(atomic_load(&gone_calls), 1);      /* once */
    wg_control_close(c);

    /* Replaced by another socket renamed over it: that file survives close. */
    atomic_store(&gone_calls, 0);
    snprintf(path, sizeof(path), "%s/gone1.sock", dir);
    snprintf(other, sizeof(other), "%s/.other.sock", dir);
    assert_int_equal(wg_control_open(dev, dir, "gone1", on_gone, NULL, &c), 0);
    bind_stale(other);
    assert_int_equal(rename(other, path), 0);
    assert_true(wait_gone(1));
    wg_control_close(c);
    assert_int_equal(stat(path, &st), 0);
    unlink(path);
}

/* More control sockets than get an inotify instance: removal of one
 * beyond them is still noticed, by the periodic stat. */
static void test_many_sockets(void **state)
{
    enum { N = 24 };
    struct wg_control *c[N];
    char name[32], path[400];

    NEED_DEVICE();
    atomic_store(&gone_calls, 0);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "many%d", i);
        assert_int_equal(wg_control_open(dev, dir, name, on_gone, NULL, &c[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        char *a;

        snprintf(path, sizeof(path), "%s/many%d.sock", dir, i);
        a = request(path, "get=1\n\n", 7, 0);
        assert_non_null(strstr(a, "errno=0\n\n"));
        free(a);
    }
    snprintf(path, sizeof(path), "%s/many%d.sock", dir, N - 1);
    assert_int_equal(unlink(path), 0);
    assert_true(wait_gone(1));
    snprintf(path, sizeof(path), "%s/many0.sock", dir);
    assert_int_equal(unlink(path), 0);
    assert_true(wait_gone(2));
    for (int i = 0; i < N; i++)
        wg_control_close(c[i]);
    for (int i = 1; i < N - 1; i++) {
        struct stat st;

        snprintf(path, sizeof(path), "%s/many%d.sock", dir, i);
        assert_int_equal(stat(path, &st), -1);     /* close removed them */
    }
    assert_int_equal(atomic_load(&gone_calls), 2);
}

/* The device's own socket removed: wg_device_wait says why (wgvsockd exits). */
static void test_device_wait(void **state)
{
    NEED_DEVICE();
    assert_int_equal(unlink(sock_path), 0);
    assert_non_null(strstr(wg_device_wait(dev), "control socket"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_socket_file),
        cmocka_unit_test(test_get_set),
        cmocka_unit_test(test_split_everywhere),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_big_request),
        cmocka_unit_test(test_bad_clients),
        cmocka_unit_test(test_existing_files),
        cmocka_unit_test(test_gone_callback),
        cmocka_unit_test(test_many_sockets),
        cmocka_unit_test(test_device_wait),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
