/* io.h - provisioning connections: dial, listen, and one whole message
 * read or written within a deadline.  TCP for tcp/udp networks, AF_VSOCK
 * for vsock networks; one message each way per connection. */
#ifndef WGVSOCK_PROVISION_IO_H
#define WGVSOCK_PROVISION_IO_H

#include <stddef.h>
#include <stdint.h>

#include "wgcore/sockaddr.h"

#define PROV_IO_TIMEOUT_MS 5000

/* Non-blocking connect to addr (AF_INET, AF_INET6 or AF_VSOCK) within
 * timeout_ms; returns the connected fd or -errno. */
int prov_dial(const struct wg_sockaddr *addr, int timeout_ms);
/* A listening socket on port: vsock (any CID) if vsock, else dual-stack
 * TCP on ::.  fd or -errno. */
int prov_listen(uint16_t port, bool vsock);
/* Read one message (header + body no larger than its type allows) within
 * timeout_ms.  *out malloc'ed.  0, -ETIMEDOUT, -EBADMSG, -EMSGSIZE,
 * -ECONNRESET (closed early), -ENOMEM. */
int prov_read_message(int fd, int timeout_ms, uint8_t **out, size_t *out_len);
int prov_write_all(int fd, const uint8_t *buf, size_t len, int timeout_ms);

#endif
