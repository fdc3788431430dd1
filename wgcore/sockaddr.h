/* sockaddr.h - a peer's transport address: IPv4/IPv6 (UDP or TCP) or AF_VSOCK.
 *
 * WireGuard calls it the peer's "endpoint" (and so do the UAPI keys and the
 * config fields); the type is wg_sockaddr because in plugin/ an endpoint is
 * Docker's (a container's attachment to a network).
 *
 * WireGuard's tools only know IP endpoints, so on the control socket a vsock
 * CID travels as an IPv4 address, most-significant byte first
 * ("0.0.0.2:8172" = host(2):8172).  Parsing also accepts the names
 * hypervisor(0), local(1), host(2) and vm(N) (N >= 3).
 */
#ifndef WGVSOCK_SOCKADDR_H
#define WGVSOCK_SOCKADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

struct wg_sockaddr {
    union {
        struct sockaddr sa;             /* sa_family AF_UNSPEC = no endpoint */
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
        struct sockaddr_vm vm;
    } addr;
};

#define WG_SOCKADDR_STR_MAX 64

/* Parse "1.2.3.4:51820", "[::1]:51820", "host(2):8172", "vm(16):51820",
 * "local(1):5000", "hypervisor(0):1".  With vsock=true, IPv4 text is a CID
 * ("0.0.0.2:8172") and the result is AF_VSOCK.  Port is mandatory and
 * 1..65535 (vsock: 0..65535 is not enough for "any", so also 1..).
 * 0, or -EINVAL for anything malformed (never crashes on any input). */
int wg_sockaddr_parse(struct wg_sockaddr *out, const char *text, bool vsock);
/* Format for wg(8): "1.2.3.4:51820", "[::1]:51820", vsock as "0.0.0.N:P". */
void wg_sockaddr_format(const struct wg_sockaddr *ep, char out[WG_SOCKADDR_STR_MAX]);
/* Human form for logs: vsock as "vm(16):51820" / "host(2):8172". */
void wg_sockaddr_format_human(const struct wg_sockaddr *ep, char out[WG_SOCKADDR_STR_MAX]);
bool wg_sockaddr_equal(const struct wg_sockaddr *a, const struct wg_sockaddr *b);
socklen_t wg_sockaddr_socklen(const struct wg_sockaddr *ep);

#endif
