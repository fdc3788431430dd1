/* endpoint.h - a peer's transport address: IPv4/IPv6 (UDP or TCP) or AF_VSOCK.
 *
 * WireGuard's tools only know IP endpoints, so on the control socket a vsock
 * CID travels as an IPv4 address, most-significant byte first
 * ("0.0.0.2:8172" = host(2):8172).  Parsing also accepts the names
 * hypervisor(0), local(1), host(2) and vm(N) (N >= 3).
 */
#ifndef WGVSOCK_ENDPOINT_H
#define WGVSOCK_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

struct wg_endpoint {
    union {
        struct sockaddr sa;             /* sa_family AF_UNSPEC = no endpoint */
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
        struct sockaddr_vm vm;
    } addr;
};

#define WG_ENDPOINT_STR_MAX 64

/* Parse "1.2.3.4:51820", "[::1]:51820", "host(2):8172", "vm(16):51820",
 * "local(1):5000", "hypervisor(0):1".  With vsock=true, IPv4 text is a CID
 * ("0.0.0.2:8172") and the result is AF_VSOCK.  Port is mandatory and
 * 1..65535 (vsock: 0..65535 is not enough for "any", so also 1..).
 * 0, or EINVAL for anything malformed (never crashes on any input). */
int wg_endpoint_parse(struct wg_endpoint *out, const char *text, bool vsock);
/* Format for wg(8): "1.2.3.4:51820", "[::1]:51820", vsock as "0.0.0.N:P". */
void wg_endpoint_format(const struct wg_endpoint *ep, char out[WG_ENDPOINT_STR_MAX]);
/* Human form for logs: vsock as "vm(16):51820" / "host(2):8172". */
void wg_endpoint_format_human(const struct wg_endpoint *ep, char out[WG_ENDPOINT_STR_MAX]);
bool wg_endpoint_equal(const struct wg_endpoint *a, const struct wg_endpoint *b);
socklen_t wg_endpoint_socklen(const struct wg_endpoint *ep);

#endif
