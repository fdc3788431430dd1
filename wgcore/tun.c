/* tun.c - see tun.h. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <linux/if_tun.h>

#include "wgcore/transport.h"
#include "wgcore/tun.h"
#include "wgcore/wgcore.h"

int wg_netns_current(void)
{
    int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

    return fd < 0 ? -errno : fd;
}

static bool same_ns(int a, int b)
{
    struct stat sa, sb;

    return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

int wg_netns_enter(int nsfd, int *saved)
{
    int cur = wg_netns_current();

    *saved = -1;
    if (cur < 0)
        return cur;
    if (same_ns(cur, nsfd)) {
        close(cur);
        return 0;
    }
    if (setns(nsfd, CLONE_NEWNET) < 0) {
        int err = -errno;

        close(cur);
        return err;
    }
    *saved = cur;
    return 0;
}

void wg_netns_leave(int saved)
{
    if (saved < 0)
        return;
    /* Failing here would leave this thread (maybe a caller's) in the
     * wrong namespace for good: nothing sane can continue. */
    if (setns(saved, CLONE_NEWNET) < 0) {
        wg_log(WG_LOG_ERROR, "cannot return to the original network namespace: %s",
               strerror(errno));
        abort();
    }
    close(saved);
}

int wg_tun_ifname(const struct wg_tun *tun, char name[IFNAMSIZ])
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    if (ioctl(tun->fd, TUNGETIFF, &ifr) < 0)
        return -errno;
    memcpy(name, ifr.ifr_name, IFNAMSIZ);
    name[IFNAMSIZ - 1] = 0;
    return 0;
}

int wg_tun_netns(const struct wg_tun *tun)
{
    int fd = ioctl(tun->fd, TUNGETDEVNETNS);

    if (fd >= 0)
        return fd;
    /* Kernels before 5.2: the interface can only be where we are. */
    if (errno == EINVAL || errno == ENOTTY)
        return wg_netns_current();
    return -errno;
}

/* ioctl on an interface by its current name, in the namespace it is in
 * now.  The name is read right before: a rename racing with this call
 * fails it with ENODEV rather than touching another interface's MTU
 * (names are unique per namespace and we are in the interface's one). */
static int if_ioctl(const struct wg_tun *tun, unsigned long req, struct ifreq *ifr)
{
    int ns, saved, s, err;

    ns = wg_tun_netns(tun);
    if (ns < 0)
        return ns;
    err = wg_netns_enter(ns, &saved);
    close(ns);
    if (err)
        return err;
    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    wg_netns_leave(saved);
    if (s < 0)
        return -errno;
    err = wg_tun_ifname(tun, ifr->ifr_name);
    if (!err && ioctl(s, req, ifr) < 0)
        err = -errno;
    close(s);
    return err;
}

int wg_tun_set_mtu(const struct wg_tun *tun, unsigned mtu)
{
    struct ifreq ifr;

    if (mtu < WG_TUN_MTU_MIN || mtu > WG_TUN_MTU_MAX)
        return -EINVAL;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_mtu = (int)mtu;
    return if_ioctl(tun, SIOCSIFMTU, &ifr);
}

int wg_tun_get_mtu(const struct wg_tun *tun, unsigned *mtu)
{
    struct ifreq ifr;
    int err;

    memset(&ifr, 0, sizeof(ifr));
    err = if_ioctl(tun, SIOCGIFMTU, &ifr);
    if (!err)
        *mtu = (unsigned)ifr.ifr_mtu;
    return err;
}

static int set_up(const struct wg_tun *tun)
{
    struct ifreq ifr;
    int err;

    memset(&ifr, 0, sizeof(ifr));
    err = if_ioctl(tun, SIOCGIFFLAGS, &ifr);
    if (err)
        return err;
    if (ifr.ifr_flags & IFF_UP)
        return 0;
    ifr.ifr_flags |= IFF_UP;
    return if_ioctl(tun, SIOCSIFFLAGS, &ifr);
}

static bool offload_wanted(void)
{
    const char *v = getenv("WGVSOCK_TUN_OFFLOAD");

    return !v || strcmp(v, "0");
}

int wg_tun_open(struct wg_tun *tun, const char *name, unsigned mtu)
{
    struct ifreq ifr;
    size_t len = name ? strlen(name) : 0;
    int err;

    memset(tun, 0, sizeof(*tun));
    tun->fd = -1;
    if (!len || len >= IFNAMSIZ || strchr(name, '/') || strchr(name, '%'))
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (name[i] <= ' ' || name[i] == ':' || name[i] == 0x7f)
            return -EINVAL;
    if (mtu < WG_TUN_MTU_MIN || mtu > WG_TUN_MTU_MAX)
        return -EINVAL;
    tun->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (tun->fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    if (offload_wanted()) {
        tun->gso.buf = malloc(WG_PKT_CAP);
        if (!tun->gso.buf) {
            close(tun->fd);
            tun->fd = -1;
            return -ENOMEM;
        }
        ifr.ifr_flags |= IFF_VNET_HDR;
    }
    memcpy(ifr.ifr_name, name, len);
    if (ioctl(tun->fd, TUNSETIFF, &ifr) < 0)
        goto fail;
    if (tun->gso.buf) {
        int hs = (int)WG_VNET_HDR_LEN;

        /* Without TSO the header still comes (all zero): harmless. */
        tun->vnet = ioctl(tun->fd, TUNSETVNETHDRSZ, &hs) == 0;
        if (tun->vnet && ioctl(tun->fd, TUNSETOFFLOAD,
                               TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) < 0)
            wg_log(WG_LOG_VERBOSE, "%s: no TUN offloads: %s", name, strerror(errno));
        if (!tun->vnet)
            goto fail;
    }
    memcpy(tun->name, ifr.ifr_name, IFNAMSIZ);
    tun->name[IFNAMSIZ - 1] = 0;
    if ((err = wg_tun_set_mtu(tun, mtu)) || (err = set_up(tun))) {
        errno = -err;
        goto fail;
    }
    return 0;
fail:
    err = -errno;
    close(tun->fd);
    tun->fd = -1;
    free(tun->gso.buf);
    tun->gso.buf = NULL;
    tun->vnet = false;
    return err;
}

int wg_tun_set_persist(struct wg_tun *tun, bool persist)
{
    if (ioctl(tun->fd, TUNSETPERSIST, (unsigned long)persist) < 0)
        return -errno;
    tun->persist = persist;
    return 0;
}

void wg_tun_close(struct wg_tun *tun)
{
    if (tun->fd >= 0)
        close(tun->fd);
    tun->fd = -1;
    if (tun->gso.buf) {
        explicit_bzero(tun->gso.buf, WG_PKT_CAP);
        free(tun->gso.buf);
    }
    tun->gso.buf = NULL;
    tun->gso.active = false;
}

static void pkt_reset(struct wg_pkt *p, uint32_t len)
{
    p->off = WG_PKT_HEADROOM;
    p->len = len;
    p->verdict = WG_PKT_DROP;
    memset(&p->ep, 0, sizeof(p->ep));
    p->peer = p->keypair = NULL;
    p->counter = 0;
}

/* A packet read with its virtio header in front (at HEADROOM - hdr len, so
 * the packet itself lands at HEADROOM).  Returns how many packets it became
 * in pkts[0..n): 1, a number of segments, or 0 (dropped / n == 0). */
static unsigned vnet_packet(struct wg_tun *tun, struct wg_pkt *pkts, unsigned n, uint32_t len)
{
    struct virtio_net_hdr h;
    uint8_t *data = pkts[0].head + WG_PKT_HEADROOM;

    memcpy(&h, data - WG_VNET_HDR_LEN, sizeof(h));
    if ((h.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_NONE) {
        if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
            wg_gso_csum_partial(data, len, le16toh(h.csum_start), le16toh(h.csum_offset)))
            return 0;
        pkt_reset(&pkts[0], len);
        return 1;
    }
    if (wg_gso_begin(&tun->gso, &h, data, len))
        return 0;
    return wg_gso_emit(&tun->gso, pkts, n);
}

int wg_tun_read_batch(struct wg_tun *tun, struct wg_pkt *pkts, unsigned n)
{
    unsigned got = 0;

    if (tun->gso.active)
        got = wg_gso_emit(&tun->gso, pkts, n);
    while (got < n && !tun->gso.active) {
        struct wg_pkt *p = &pkts[got];
        uint32_t hl = tun->vnet ? WG_VNET_HDR_LEN : 0;
        /* With offloads a super-packet may be 64 KiB + headers (more than
         * an IP packet can be): offer the whole buffer, or the kernel
         * fails the read instead of truncating. */
        size_t cap = tun->vnet ? WG_PKT_CAP - (WG_PKT_HEADROOM - hl) : WG_TUN_READ_MAX;
        ssize_t r = read(tun->fd, p->head + WG_PKT_HEADROOM - hl, cap);

        if (r > (ssize_t)hl) {
            if (tun->vnet)
                got += vnet_packet(tun, p, n - got, (uint32_t)r - hl);
            else
                pkt_reset(p, (uint32_t)r), got++;
            continue;
        }
        if (r >= 0) {
            if (r == 0)
                break;
            continue;                   /* shorter than its header: drop */
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || got)
            break;
        return -errno;
    }
    return (int)got;
}

int wg_tun_write_batch(const struct wg_tun *tun, struct wg_pkt *pkts, unsigned n)
{
    struct virtio_net_hdr hdrs[WG_BATCH_MAX];
    bool absorbed[WG_BATCH_MAX];
    int done = 0;

    if (n > WG_BATCH_MAX)
        n = WG_BATCH_MAX;
    if (tun->vnet)
        wg_gro_batch(pkts, n, hdrs, absorbed);
    for (unsigned i = 0; i < n; i++) {
        const struct wg_pkt *p = &pkts[i];
        struct iovec iov[2] = {
            { .iov_base = &hdrs[i], .iov_len = WG_VNET_HDR_LEN },
            { .iov_base = wg_pkt_data(p), .iov_len = p->len },
        };
        ssize_t r;

        if (p->verdict != WG_PKT_DELIVER || !p->len || (tun->vnet && absorbed[i]))
            continue;
        do
            r = tun->vnet ? writev(tun->fd, iov, 2) : write(tun->fd, iov[1].iov_base, p->len);
        while (r < 0 && errno == EINTR);
        if (r >= 0)
            done++;
        else if (errno == EBADFD)
            return -EBADFD;
    }
    return done;
}
