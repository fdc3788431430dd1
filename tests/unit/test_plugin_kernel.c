/* test_plugin_kernel.c - the kernel engine's code where this host can run it
 * without WireGuard: what link.c, wg_genl.c and tunnel_kernel.c refuse before
 * asking the kernel (bad names, an AF_VSOCK endpoint, bad allowed-ips, a
 * stream transport) and how they report a kernel without WireGuard.  Talking
 * to kernel WireGuard itself is tested in the QEMU guest
 * (tests/vm/test_kernel_wg.sh). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>
#include <cmocka.h>

#include "plugin/link.h"
#include "plugin/tunnel.h"
#include "plugin/wg_genl.h"

static void test_link_refuses_bad_names(void **state)
{
    char kind[32];

    assert_int_equal(link_create("", "wireguard", 1420), -EINVAL);
    assert_int_equal(link_create("0123456789abcdef", "wireguard", 1420), -EINVAL); /* 16 */
    assert_int_equal(link_create("a/b", "wireguard", 1420), -EINVAL);
    assert_int_equal(link_create("wgtest", "", 1420), -EINVAL);
    assert_int_equal(link_get("", kind, sizeof(kind), NULL), -EINVAL);
    assert_int_equal(link_delete("0123456789abcdef"), -EINVAL);
    assert_int_equal(link_move("lo", -1, NULL), -EINVAL);
}

static void test_link_lookup(void **state)
{
    char kind[32] = "x";
    int ifindex = 0;

    /* lo: a link without a kind, index 1 in any namespace */
    assert_int_equal(link_get("lo", kind, sizeof(kind), &ifindex), 0);
    assert_string_equal(kind, "");
    assert_int_equal(ifindex, 1);
    assert_int_equal(link_get("wgvnosuch17", kind, sizeof(kind), NULL), -ENODEV);
    assert_int_equal(link_delete("wgvnosuch17"), -ENODEV);
}

static void test_genl_refuses_before_sending(void **state)
{
    struct wg_allowedip ip = { .family = AF_INET, .cidr = 33 };
    struct wg_peer_config peer = { .has_endpoint = true };
    struct wg_device_config cfg = { .n_peers = 1, .peers = &peer };
    struct wg_device_info *info = (void *)1;

    assert_int_equal(wg_genl_set_device("", &cfg), -EINVAL);
    assert_int_equal(wg_genl_set_device("0123456789abcdef", &cfg), -EINVAL);
    assert_int_equal(wg_genl_get_device("", &info), -EINVAL);
    assert_null(info);
    /* kernel WireGuard has no AF_VSOCK */
    peer.endpoint.addr.vm.svm_family = AF_VSOCK;
    assert_int_equal(wg_genl_set_device("wg0", &cfg), -EAFNOSUPPORT);
    peer.has_endpoint = false;
    peer.n_allowed_ips = 1;
    peer.allowed_ips = &ip;
    assert_int_equal(wg_genl_set_device("wg0", &cfg), -EINVAL);
    peer.allowed_ips = NULL;
    assert_int_equal(wg_genl_set_device("wg0", &cfg), -EINVAL);
}

/* Whatever this kernel has: 0 with WireGuard, -ENOENT without; never a
 * crash or another error (unless netlink itself is missing). */
static void test_probe_answers(void **state)
{
    int ret = wg_genl_probe();

    assert_true(ret == 0 || ret == -ENOENT);
    assert_int_equal(tunnel_kernel_ops.probe(NULL, TUNNEL_KERNEL), ret);
    assert_int_equal(tunnel_engines_ops.probe(NULL, TUNNEL_KERNEL), ret);
    assert_int_equal(tunnel_engines_ops.probe(NULL, TUNNEL_WGCORE), 0);
}

static void test_kernel_refuses_streams(void **state)
{
    struct wg_device_config cfg = { 0 };
    struct tunnel_spec spec = { .ifname = "wgvtest17", .engine = TUNNEL_KERNEL, .adopt_netns = -1,
                                .transport = WG_TRANSPORT_TCP, .mtu = 1420, .config = &cfg };
    char err[NET_ERR_MAX] = "";
    void *dev = NULL;

    assert_int_equal(tunnel_kernel_ops.create(NULL, &spec, &dev, err), -1);
    assert_null(dev);
    assert_non_null(strstr(err, "udp only"));
    /* through the dispatcher too, nothing left behind */
    err[0] = '\0';
    assert_int_equal(tunnel_engines_ops.create(NULL, &spec, &dev, err), -1);
    assert_null(dev);
    assert_non_null(strstr(err, "udp only"));
}

/* Without WireGuard in the kernel, a kernel Join fails with the reason and
 * leaves no link; with it (as root), the device exists until destroyed. */
static void test_kernel_create(void **state)
{
    uint8_t key[WG_KEY_LEN] = { 1 };
    struct wg_device_config cfg = { .has_private_key = true };
    struct tunnel_spec spec = { .ifname = "wgvtest17", .engine = TUNNEL_KERNEL, .adopt_netns = -1,
                                .transport = WG_TRANSPORT_UDP, .mtu = 1420, .config = &cfg };
    char err[NET_ERR_MAX] = "", kind[32];
    void *dev = NULL;
    int ret;

    memcpy(cfg.private_key, key, sizeof(key));
    ret = tunnel_kernel_ops.create(NULL, &spec, &dev, err);
    if (wg_genl_probe() != 0 || geteuid() != 0) {
        assert_int_equal(ret, -1);
        assert_null(dev);
        assert_non_null(strstr(err, "cannot create kernel WireGuard interface wgvtest17"));
    } else {
        assert_int_equal(ret, 0);
        assert_int_equal(link_get("wgvtest17", kind, sizeof(kind), NULL), 0);
        assert_string_equal(kind, "wireguard");
        tunnel_kernel_ops.destroy(NULL, dev);
    }
    assert_int_equal(link_get("wgvtest17", NULL, 0, NULL), -ENODEV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_refuses_bad_names),
        cmocka_unit_test(test_link_lookup),
        cmocka_unit_test(test_genl_refuses_before_sending),
        cmocka_unit_test(test_probe_answers),
        cmocka_unit_test(test_kernel_refuses_streams),
        cmocka_unit_test(test_kernel_create),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
