/* test_wg_vsock_port.c - vsock ports wider than wg(8)'s 16 bits.
 *
 * Linux gives vsock sockets 32-bit ports (VMADDR_PORT_ANY, the implicit
 * bind of connect()).  A wireguard-go-vsock peer that dials us has one; in
 * a "get" answer Debian's wg then fails (`showconf`: "Unknown error -101")
 * or crashes (`show` segfaults).  The endpoint must be left out instead,
 * while 16-bit vsock endpoints keep the dotted CID form.  (Our own dialled
 * and ephemeral ports are 16-bit: tests/vm/vsock_stream_check.c checks
 * that on real AF_VSOCK.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wgcore/uapi.h"

static char *get_with_vsock_peer(uint32_t cid, uint32_t port)
{
    struct wg_peer_info peer;
    struct wg_device_info info;

    memset(&peer, 0, sizeof(peer));
    memset(&info, 0, sizeof(info));
    memset(peer.public_key, 0xb9, sizeof(peer.public_key));
    peer.has_endpoint = true;
    peer.endpoint.addr.vm.svm_family = AF_VSOCK;
    peer.endpoint.addr.vm.svm_cid = cid;
    peer.endpoint.addr.vm.svm_port = port;
    info.listen_port = 5000;
    info.n_peers = 1;
    info.peers = &peer;
    return wg_uapi_format_get(&info);
}

static void test_16bit_port_is_dotted(void **state)
{
    char *s = get_with_vsock_peer(16, 51820);

    assert_non_null(s);
    assert_non_null(strstr(s, "\nendpoint=0.0.0.16:51820\n"));
    free(s);
    s = get_with_vsock_peer(1, 65535);
    assert_non_null(strstr(s, "\nendpoint=0.0.0.1:65535\n"));
    free(s);
}

static void test_32bit_port_is_left_out(void **state)
{
    char *s = get_with_vsock_peer(16, 3837674176u);

    assert_non_null(s);
    assert_null(strstr(s, "endpoint="));
    /* the rest of the peer is still there */
    assert_non_null(strstr(s, "public_key=b9b9"));
    assert_non_null(strstr(s, "\nlast_handshake_time_sec=0\n"));
    free(s);
    s = get_with_vsock_peer(2, 65536);
    assert_null(strstr(s, "endpoint="));
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_16bit_port_is_dotted),
        cmocka_unit_test(test_32bit_port_is_left_out),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
