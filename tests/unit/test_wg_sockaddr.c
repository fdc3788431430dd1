/* test_wg_sockaddr.c - endpoint parsing and printing: IPv4, IPv6 with
 * scope, the vsock names and the dotted-CID form, and every malformed input
 * we could think of (all EINVAL, none may crash or touch the output). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <cmocka.h>

#include "wgcore/sockaddr.h"

static void check_roundtrip(const char *in, bool vsock, const char *out, const char *human)
{
    struct wg_sockaddr ep;
    char buf[WG_SOCKADDR_STR_MAX];

    assert_int_equal(wg_sockaddr_parse(&ep, in, vsock), 0);
    wg_sockaddr_format(&ep, buf);
    assert_string_equal(buf, out);
    if (human) {
        wg_sockaddr_format_human(&ep, buf);
        assert_string_equal(buf, human);
    }
}

static void test_ipv4(void **state)
{
    struct wg_sockaddr ep;

    assert_int_equal(wg_sockaddr_parse(&ep, "192.0.2.7:51820", false), 0);
    assert_int_equal(ep.addr.sa.sa_family, AF_INET);
    assert_int_equal(ntohs(ep.addr.in.sin_port), 51820);
    assert_int_equal(ntohl(ep.addr.in.sin_addr.s_addr), 0xc0000207);
    assert_int_equal(wg_sockaddr_socklen(&ep), sizeof(struct sockaddr_in));
    check_roundtrip("192.0.2.7:51820", false, "192.0.2.7:51820", "192.0.2.7:51820");
    check_roundtrip("0.0.0.2:1", false, "0.0.0.2:1", NULL);
    check_roundtrip("1.2.3.4:65535", false, "1.2.3.4:65535", NULL);
    check_roundtrip("1.2.3.4:00080", false, "1.2.3.4:80", NULL);
}

static void test_ipv6(void **state)
{
    struct wg_sockaddr ep;
    char buf[WG_SOCKADDR_STR_MAX];

    assert_int_equal(wg_sockaddr_parse(&ep, "[::1]:51820", false), 0);
    assert_int_equal(ep.addr.sa.sa_family, AF_INET6);
    assert_int_equal(ntohs(ep.addr.in6.sin6_port), 51820);
    assert_int_equal(wg_sockaddr_socklen(&ep), sizeof(struct sockaddr_in6));
    check_roundtrip("[2001:db8::1]:1", false, "[2001:db8::1]:1", NULL);
    check_roundtrip("[2001:DB8:0:0::1]:443", false, "[2001:db8::1]:443", NULL);
    check_roundtrip("[fe80::1%7]:51820", false, "[fe80::1%7]:51820", NULL);
    assert_int_equal(wg_sockaddr_parse(&ep, "[fe80::1%lo]:9", false), 0);
    assert_int_equal(ep.addr.in6.sin6_scope_id, if_nametoindex("lo"));
    wg_sockaddr_format(&ep, buf);
    assert_non_null(strstr(buf, "%"));
    /* longest address with the longest scope never prints truncated */
    assert_int_equal(wg_sockaddr_parse(&ep, "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%4294967295]:65535", false), 0);
    wg_sockaddr_format(&ep, buf);
    assert_true(strlen(buf) < WG_SOCKADDR_STR_MAX);
    assert_int_equal(buf[strlen(buf) - 1], '5');
}

static void test_vsock_names(void **state)
{
    struct wg_sockaddr ep;

    check_roundtrip("host(2):8172", false, "0.0.0.2:8172", "host(2):8172");
    check_roundtrip("host(2):8172", true, "0.0.0.2:8172", "host(2):8172");
    check_roundtrip("local(1):5000", false, "0.0.0.1:5000", "local(1):5000");
    check_roundtrip("hypervisor(0):1", false, "0.0.0.0:1", "hypervisor(0):1");
    check_roundtrip("vm(16):51820", false, "0.0.0.16:51820", "vm(16):51820");
    check_roundtrip("vm(3):1", true, "0.0.0.3:1", "vm(3):1");
    check_roundtrip("vm(4294967294):1", true, "255.255.255.254:1", "vm(4294967294):1");
    check_roundtrip("vm(70000):9", true, "0.1.17.112:9", "vm(70000):9");
    assert_int_equal(wg_sockaddr_parse(&ep, "vm(16):51820", false), 0);
    assert_int_equal(ep.addr.sa.sa_family, AF_VSOCK);
    assert_int_equal(ep.addr.vm.svm_cid, 16);
    assert_int_equal(ep.addr.vm.svm_port, 51820);
    assert_int_equal(wg_sockaddr_socklen(&ep), sizeof(struct sockaddr_vm));
}

static void test_vsock_dotted(void **state)
{
    struct wg_sockaddr ep;

    assert_int_equal(wg_sockaddr_parse(&ep, "0.0.0.2:8172", true), 0);
    assert_int_equal(ep.addr.sa.sa_family, AF_VSOCK);
    assert_int_equal(ep.addr.vm.svm_cid, 2);
    assert_int_equal(ep.addr.vm.svm_port, 8172);
    /* most-significant byte first */
    assert_int_equal(wg_sockaddr_parse(&ep, "0.0.1.0:1", true), 0);
    assert_int_equal(ep.addr.vm.svm_cid, 256);
    check_roundtrip("0.0.0.16:51820", true, "0.0.0.16:51820", "vm(16):51820");
    check_roundtrip("0.0.0.1:5000", true, "0.0.0.1:5000", "local(1):5000");
    /* the same text without vsock is plain IPv4 */
    assert_int_equal(wg_sockaddr_parse(&ep, "0.0.0.2:8172", false), 0);
    assert_int_equal(ep.addr.sa.sa_family, AF_INET);
}

static void test_invalid(void **state)
{
    static const char *bad[] = {
        "", ":", ":51820", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536",
        "1.2.3.4:99999999999999999999", "1.2.3.4:-1", "1.2.3.4:+80", "1.2.3.4: 80",
        "1.2.3.4:80 ", " 1.2.3.4:80", "1.2.3:80", "1.2.3.4.5:80", "256.1.1.1:80",
        "1.2.3.4:80:80", "::1:80", "[::1]", "[::1]:", "[::1]:0", "[::1]80", "[]:80",
        "[::1:80", "::1]:80", "[1.2.3.4]:80", "[::1%]:80", "[::1%nosuchif0]:80",
        "[::1%lo%lo]:80", "[zz::1]:80", "host:80", "host(2)", "host(2):", "host(2):0",
        "host(3):80", "vm(2):80", "vm(1):80", "vm(0):80", "vm():80", "vm(x):80",
        "vm(-5):80", "vm(4294967295):80", "vm(4294967296):80", "vm(99999999999):80",
        "vm(3)x:80", "vm(3:80", "vm3):80", "VM(3):80", "local(2):80", "hypervisor(1):80",
        "(3):80", "vm((3)):80", "example.com:80", "1.2.3.4:80\n", "\xff\xfe:1",
        "[fe80::1%123456789012345678901234567890]:1",
        "[aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa]:1",
    };
    struct wg_sockaddr ep, before;

    memset(&ep, 0xa5, sizeof(ep));
    before = ep;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (wg_sockaddr_parse(&ep, bad[i], false) != -EINVAL)
            fail_msg("accepted (ip): \"%s\"", bad[i]);
        if (wg_sockaddr_parse(&ep, bad[i], true) != -EINVAL)
            fail_msg("accepted (vsock): \"%s\"", bad[i]);
        assert_memory_equal(&ep, &before, sizeof(ep));
    }
    /* vsock: IPv6 is not a CID, and 255.255.255.255 is VMADDR_CID_ANY */
    assert_int_equal(wg_sockaddr_parse(&ep, "[::1]:80", true), -EINVAL);
    assert_int_equal(wg_sockaddr_parse(&ep, "255.255.255.255:80", true), -EINVAL);
    assert_int_equal(wg_sockaddr_parse(&ep, NULL, false), -EINVAL);
}

static void test_long_garbage(void **state)
{
    char big[4096];
    struct wg_sockaddr ep;

    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(wg_sockaddr_parse(&ep, big, false), -EINVAL);
    big[100] = ':';
    assert_int_equal(wg_sockaddr_parse(&ep, big, true), -EINVAL);
    big[0] = '[';
    assert_int_equal(wg_sockaddr_parse(&ep, big, false), -EINVAL);
    memcpy(big, "vm(", 3);
    big[200] = ')';
    assert_int_equal(wg_sockaddr_parse(&ep, big, false), -EINVAL);
}

static void test_equal(void **state)
{
    struct wg_sockaddr a, b;

    assert_int_equal(wg_sockaddr_parse(&a, "1.2.3.4:5", false), 0);
    assert_int_equal(wg_sockaddr_parse(&b, "1.2.3.4:5", false), 0);
    memset(a.addr.in.sin_zero, 0x55, sizeof(a.addr.in.sin_zero));  /* padding ignored */
    assert_true(wg_sockaddr_equal(&a, &b));
    assert_int_equal(wg_sockaddr_parse(&b, "1.2.3.4:6", false), 0);
    assert_false(wg_sockaddr_equal(&a, &b));
    assert_int_equal(wg_sockaddr_parse(&b, "1.2.3.4:5", true), 0);   /* vsock cid */
    assert_false(wg_sockaddr_equal(&a, &b));
    assert_int_equal(wg_sockaddr_parse(&a, "vm(16):5", false), 0);
    assert_int_equal(wg_sockaddr_parse(&b, "0.0.0.16:5", true), 0);
    assert_true(wg_sockaddr_equal(&a, &b));
    assert_int_equal(wg_sockaddr_parse(&a, "[::1]:5", false), 0);
    assert_int_equal(wg_sockaddr_parse(&b, "[::1%1]:5", false), 0);
    assert_false(wg_sockaddr_equal(&a, &b));
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_true(wg_sockaddr_equal(&a, &b));
    assert_int_equal(wg_sockaddr_socklen(&a), 0);
    char buf[WG_SOCKADDR_STR_MAX];
    wg_sockaddr_format(&a, buf);
    assert_string_equal(buf, "(none)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_vsock_names),
        cmocka_unit_test(test_vsock_dotted),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_long_garbage),
        cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
