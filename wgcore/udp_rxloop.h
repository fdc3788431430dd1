/* udp_rxloop.h - the process's shared UDP receive threads.
 *
 * Every UDP socket of every device in the process is served by one of a
 * few receive loops (one per online CPU, at most WG_RXLOOP_MAX), each an
 * epoll thread with its own receive buffers, instead of by threads of its
 * own.  A plugin hosting hundreds of devices then runs a handful of
 * receive threads instead of two per device, and an idle device keeps no
 * receive buffers.  A socket stays on the loop it was given, so its
 * datagrams are handled in order by one thread.
 *
 * The loops are created with the first socket and stopped with the last
 * (reference counted, like the crypto workers).
 */
#ifndef WGVSOCK_UDP_RXLOOP_H
#define WGVSOCK_UDP_RXLOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wgcore/transport.h"

#define WG_RXLOOP_MAX 8
#define WG_RXLOOP_BUF 65536u       /* one UDP_GRO receive at most */

/* What a loop lends a socket's ready() while it runs: WG_BATCH_MAX
 * receive slots, with their headers prepared by the loop. */
struct wg_rxloop_scratch {
    uint8_t *bufs;                              /* WG_BATCH_MAX * WG_RXLOOP_BUF, mmap'd */
    struct mmsghdr hdrs[WG_BATCH_MAX];
    struct iovec iov[WG_BATCH_MAX];
    struct wg_sockaddr from[WG_BATCH_MAX];
    union {
        char buf[CMSG_SPACE(sizeof(int))];      /* UDP_GRO: the segment size */
        struct cmsghdr align;
    } ctl[WG_BATCH_MAX];
    struct wg_msg msgs[WG_BATCH_MAX];
};

struct wg_rxloop;

/* A socket served by a loop.  ready() runs on the loop's thread when fd is
 * readable; it reads with MSG_DONTWAIT and returns when it would block or
 * has had its share (the loop comes back while the socket stays readable). */
struct wg_rxloop_entry {
    int fd;
    void (*ready)(struct wg_rxloop_entry *e, struct wg_rxloop_scratch *s);
    struct wg_rxloop *loop;     /* set by wg_rxloop_add */
};

/* Registers e->fd with one of the loops (started if need be).  0 or -errno. */
int wg_rxloop_add(struct wg_rxloop_entry *e);
/* Unregisters it; when this returns, ready() is not running for e and will
 * not run again.  Never call it from a ready() callback. */
void wg_rxloop_del(struct wg_rxloop_entry *e);
/* How many loop threads run now (for tests). */
unsigned wg_rxloop_threads(void);

#endif
