/* tun.h - the device's TUN interface, driven through its file descriptor.
 *
 * The plugin lets libnetwork move the interface into a container's network
 * namespace and rename it, while the device keeps the fd.  So everything
 * after creation works from the fd: the current name comes from TUNGETIFF,
 * the namespace the interface now lives in from TUNGETDEVNETNS, and deletion
 * shows up on the fd itself (poll reports POLLERR, read fails with EBADFD)
 * in whatever namespace the interface was deleted.
 *
 * Packets move in batches of struct wg_pkt so IFF_VNET_HDR (one read = one
 * GSO super-packet, split into many) can replace the per-packet loop later
 * without touching the callers.
 */
#ifndef WGVSOCK_TUN_H
#define WGVSOCK_TUN_H

#include <net/if.h>
#include "wgcore/pkt.h"
#include "wgcore/tun_gso.h"

#define WG_TUN_MTU_MIN 68u
/* The largest inner packet whose sealed message (16 header + padding to 16
 * + 16 tag) still fits one IPv4 UDP datagram (65507 bytes). */
#define WG_TUN_MTU_MAX 65472u
/* Largest plaintext packet read from the TUN into a WG_PKT_CAP buffer. */
#define WG_TUN_READ_MAX (WG_PKT_CAP - WG_PKT_HEADROOM - WG_PKT_TAILROOM)

struct wg_tun {
    int fd;                         /* O_NONBLOCK, IFF_TUN | IFF_NO_PI */
    char name[IFNAMSIZ];            /* name at creation; see wg_tun_ifname */
    bool vnet;                      /* IFF_VNET_HDR: offloads (tun_gso.h) */
    bool persist;                   /* TUNSETPERSIST set by us */
    struct wg_gso gso;              /* super-packet being segmented */
};

/* Creates (or attaches to a persistent) TUN named name in the calling
 * thread's network namespace, sets mtu and brings it up.  With offloads
 * (the default; WGVSOCK_TUN_OFFLOAD=0 turns them off) the kernel may hand
 * over TCP super-packets and unchecksummed packets; reads return them
 * segmented and checksummed, so callers never see the difference.
 * 0 or -errno. */
int wg_tun_open(struct wg_tun *tun, const char *name, unsigned mtu);
/* Closes the fd: a non-persistent interface disappears with it. */
void wg_tun_close(struct wg_tun *tun);
/* TUNSETPERSIST on or off (off + close deletes the interface). 0 or -errno. */
int wg_tun_set_persist(struct wg_tun *tun, bool persist);

/* The interface's current name (it may have been renamed). 0 or -errno;
 * -EBADFD once the interface is gone. */
int wg_tun_ifname(const struct wg_tun *tun, char name[IFNAMSIZ]);
/* A new fd for the network namespace the interface lives in now (caller
 * closes), or -errno. */
int wg_tun_netns(const struct wg_tun *tun);
/* MTU get/set wherever the interface is now.  0 or -errno. */
int wg_tun_set_mtu(const struct wg_tun *tun, unsigned mtu);
int wg_tun_get_mtu(const struct wg_tun *tun, unsigned *mtu);

/* Reads up to n packets, stopping at the first EAGAIN (a super-packet
 * that does not fit the batch continues in the next call).  Each pkts[i].head
 * must point to a WG_PKT_CAP buffer; the packet lands at WG_PKT_HEADROOM
 * (off/len set).  Returns the number read (0 = nothing pending), or -errno
 * when nothing was read because of an error (-EBADFD: interface deleted). */
int wg_tun_read_batch(struct wg_tun *tun, struct wg_pkt *pkts, unsigned n);
/* Writes every packet whose verdict is WG_PKT_DELIVER (at most
 * WG_BATCH_MAX per call).  With offloads, TCP segments that continue one
 * another are coalesced first (GRO, see tun_gso.h; buffers are modified).
 * Returns how many writes were done, or -EBADFD when the interface is
 * gone.  Packets the kernel refuses (malformed, no memory) are dropped. */
int wg_tun_write_batch(const struct wg_tun *tun, struct wg_pkt *pkts, unsigned n);

/* Run a section in another network namespace: enter nsfd on the calling
 * thread, saving where it was.  *saved = -1 when the thread already was
 * there (then leave is a no-op).  0 or -errno. */
int wg_netns_enter(int nsfd, int *saved);
/* Back to the namespace saved by wg_netns_enter; closes saved. */
void wg_netns_leave(int saved);
/* An fd for the calling thread's network namespace, or -errno. */
int wg_netns_current(void);

#endif
