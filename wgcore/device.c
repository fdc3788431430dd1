/* device.c - one WireGuard interface: TUN + transport + protocol + threads.
 *
 * Threads (all created here or by the transport, all joined by destroy):
 *   TX     reads batches from the TUN and pipelines them: tx_prepare on this
 *          thread, tx_seal on the worker pool, tx_finish + transport send
 *          back on this thread in submission order.  Up to TX_INFLIGHT
 *          batches are in flight, so the next batch is read and routed while
 *          the workers encrypt the previous ones; each peer's packets leave
 *          in order because prepare and finish both run here, in order.
 *          It also runs the protocol's timers (wg_proto_tick) when they are
 *          due, between batches or as its poll timeout: one thread less per
 *          device, which matters when the plugin hosts hundreds.
 *   RX     the transport's receive thread(s) call dev_rx with a batch:
 *          copied into pool buffers, rx_prepare, rx_open on the workers
 *          (the calling thread helps), rx_finish, write to the TUN.  One
 *          batch at a time (rx_lock): UDP has a thread per address family.
 *   control  the wg(8) socket thread, if the host opened one (control.h),
 *          calling apply/get.
 *
 * Namespaces: the device's sockets belong to the namespace it was created
 * in.  Binding happens later (first need), possibly from a caller in
 * another namespace (the plugin's HTTP threads), so apply binds from inside
 * the creation namespace.  The TUN may move anywhere; tun.c works by fd.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "wgcore/clock.h"
#include "wgcore/device_internal.h"
#include "wgcore/pktpool.h"
#include "wgcore/proto.h"
#include "wgcore/thread.h"
#include "wgcore/transport.h"
#include "wgcore/tun.h"
#include "wgcore/handshake_queue.h"
#include "wgcore/workers.h"

#define TX_INFLIGHT 4
#define POOL_BUFFERS ((TX_INFLIGHT + 1) * WG_BATCH_MAX)

struct tx_slot {
    struct wg_job job;
    unsigned n;
    struct wg_pkt pkts[WG_BATCH_MAX];
};

struct wg_device {
    char ifname[IFNAMSIZ];              /* name at creation (control socket, logs) */
    enum wg_transport_kind kind;
    int netns_fd;                       /* where the sockets live */
    struct wg_tun tun;
    struct wg_pktpool *pool;
    struct wg_workers *workers;
    struct wg_transport *transport;
    struct wg_proto *proto;
    struct wg_hsq *hsq;                 /* handshake messages, off the RX path */
    bool inline_handshakes;             /* WGVSOCK_HANDSHAKE_QUEUE=0 (bench only) */

    pthread_mutex_t cfg_lock;           /* apply: bind + proto apply as one */
    uint32_t fwmark;                    /* read by get under cfg_lock */

    pthread_t tx_thread;
    bool tx_started;
    unsigned mtu;                       /* as last told to the protocol */
    int stop_efd;                       /* wakes the TX thread's poll */
    struct tx_slot tx[TX_INFLIGHT];

    pthread_mutex_t rx_lock;
    struct wg_job rx_job;
    struct wg_pkt rx_pkts[WG_BATCH_MAX];

    pthread_mutex_t state_lock;
    pthread_cond_t state_cond;          /* gone / stopping (wait) */
    bool stopping;
    const char *gone_reason;
    unsigned waiters;
};

#define dev_log(dev, lvl, fmt, ...) wg_log(lvl, "%s: " fmt, (dev)->ifname, ##__VA_ARGS__)

static void set_gone(struct wg_device *dev, const char *reason)
{
    pthread_mutex_lock(&dev->state_lock);
    if (!dev->gone_reason) {
        dev->gone_reason = reason;
        dev_log(dev, WG_LOG_VERBOSE, "%s", reason);
    }
    pthread_cond_broadcast(&dev->state_cond);
    pthread_mutex_unlock(&dev->state_lock);
}

static bool stopping(struct wg_device *dev)
{
    return __atomic_load_n(&dev->stopping, __ATOMIC_ACQUIRE);
}

/* ---- protocol <-> transport glue ---- */

static void dev_emit(void *ctx, const struct wg_sockaddr *ep, const uint8_t *msg, uint32_t len)
{
    struct wg_device *dev = ctx;
    struct wg_msg m = { .ep = *ep, .data = (uint8_t *)msg, .len = len };

    if (dev->transport)
        (void)wg_transport_send(dev->transport, &m, 1);
}

static void dev_reconnected(void *ctx, const struct wg_sockaddr *ep)
{
    struct wg_device *dev = ctx;

    if (dev->proto && !stopping(dev))
        wg_proto_endpoint_reconnected(dev->proto, ep, wg_now());
}

/* ---- RX: transport thread ---- */

/* WGVSOCK_HANDSHAKE_QUEUE=0 runs handshakes on the receiving thread, as
 * before the queue: only so bench/handshake_flood.sh can measure what the
 * queue buys in one run.  Never for production. */
static bool handshake_queue_disabled(void)
{
    const char *v = getenv("WGVSOCK_HANDSHAKE_QUEUE");

    return v && strcmp(v, "0") == 0;
}

static void dev_rx(void *ctx, struct wg_msg *msgs, unsigned n)
{
    struct wg_device *dev = ctx;
    struct wg_pkt *pkts = dev->rx_pkts;
    unsigned k = 0, open = 0;
    unsigned char from[WG_BATCH_MAX];   /* pkts[j] came from msgs[from[j]] */
    int r;

    if (n > WG_BATCH_MAX)
        n = WG_BATCH_MAX;
    pthread_mutex_lock(&dev->rx_lock);
    /* Copy into our own WG_PKT_CAP buffers: transport buffers are only
     * valid during this call, and GRO (tun_gso.c) appends the following
     * segments of a flow to the first one in place, which in a stream
     * transport's read buffer would overwrite the next frame. */
    for (unsigned i = 0; i < n; i++) {
        struct wg_pkt *p = &pkts[k];

        if (!msgs[i].len || msgs[i].len > WG_MAX_MESSAGE)
            continue;
        /* Diffie-Hellman belongs to the handshake thread; a full queue
         * drops the message (load shedding, as the kernel). */
        if (!dev->inline_handshakes && wg_hsq_is_handshake(msgs[i].data, msgs[i].len)) {
            (void)wg_hsq_push(dev->hsq, &msgs[i].ep, msgs[i].data, msgs[i].len);
            continue;
        }
        memcpy(p->head, msgs[i].data, msgs[i].len);
        p->off = 0;
        p->len = msgs[i].len;
        p->ep = msgs[i].ep;
        p->verdict = WG_PKT_DROP;
        p->peer = p->keypair = NULL;
        p->counter = 0;
        from[k++] = (unsigned char)i;
    }
    if (!k)
        goto out;
    wg_proto_rx_prepare(dev->proto, pkts, k, wg_now());
    for (unsigned i = 0; i < k; i++)
        open += pkts[i].verdict == WG_PKT_OPEN;
    if (open) {
        wg_workers_submit(dev->workers, &dev->rx_job, wg_proto_rx_open, pkts, k);
        wg_workers_wait(dev->workers, &dev->rx_job);
    }
    wg_proto_rx_finish(dev->proto, pkts, k, wg_now());
    for (unsigned j = 0; j < k; j++)
        msgs[from[j]].authenticated = pkts[j].authenticated;
    r = wg_tun_write_batch(&dev->tun, pkts, k);
    if (r == -EBADFD)
        set_gone(dev, "interface deleted");
out:
    pthread_mutex_unlock(&dev->rx_lock);
}

/* ---- handshake thread (handshake_queue.c) ---- */

static void dev_handshakes(void *ctx, struct wg_pkt *pkts, unsigned n)
{
    struct wg_device *dev = ctx;

    if (stopping(dev))
        return;
    /* rx_prepare does all of a handshake message's work (nothing to open,
     * nothing for the TUN); replies go out through dev_emit. */
    wg_proto_rx_prepare(dev->proto, pkts, n, wg_now());
    for (unsigned i = 0; i < n; i++)
        if (pkts[i].authenticated)
            wg_transport_trust(dev->transport, &pkts[i].ep);
}

/* ---- TX thread ---- */

static void tx_finish(struct wg_device *dev, struct tx_slot *s)
{
    struct wg_msg msgs[WG_BATCH_MAX];
    unsigned k = 0;

    wg_workers_wait(dev->workers, &s->job);
    wg_proto_tx_finish(dev->proto, s->pkts, s->n, wg_now());
    for (unsigned i = 0; i < s->n; i++) {
        const struct wg_pkt *p = &s->pkts[i];

        if (p->verdict != WG_PKT_SEND)
            continue;
        msgs[k].ep = p->ep;
        msgs[k].data = wg_pkt_data(p);
        msgs[k].len = p->len;
        k++;
    }
    if (k)
        (void)wg_transport_send(dev->transport, msgs, k);
    s->n = 0;
}

/* The protocol's timers; returns when they are next due (at least 1 ms and
 * at most WG_PROTO_TICK_NS away, so a protocol asking for "now" cannot
 * make us spin and a quiet one is still polled). */
static uint64_t run_timers(struct wg_device *dev, uint64_t now)
{
    uint64_t next = wg_proto_tick(dev->proto, now);

    if (next > now + WG_PROTO_TICK_NS)
        next = now + WG_PROTO_TICK_NS;
    if (next < now + 1000000)
        next = now + 1000000;
    return next;
}

/* An MTU changed from outside (ip link set mtu, libnetwork) reaches the
 * protocol's padding rule within MTU_CHECK_NS, or at once when a packet
 * longer than the known MTU shows up. */
#define MTU_CHECK_NS 2000000000ull

static void refresh_mtu(struct wg_device *dev)
{
    unsigned mtu;

    if (wg_tun_get_mtu(&dev->tun, &mtu) || mtu == __atomic_load_n(&dev->mtu, __ATOMIC_RELAXED))
        return;
    wg_proto_set_mtu(dev->proto, mtu);
    __atomic_store_n(&dev->mtu, mtu, __ATOMIC_RELAXED);
    dev_log(dev, WG_LOG_VERBOSE, "MTU is now %u", mtu);
}

static void *tx_main(void *arg)
{
    struct wg_device *dev = arg;
    unsigned head = 0, tail = 0;        /* in-flight slots [head, tail) */
    struct pollfd pfd[2] = {
        { .fd = dev->tun.fd, .events = POLLIN },
        { .fd = dev->stop_efd, .events = POLLIN },
    };

    uint64_t next_tick = 0, next_mtu = 0, now;

    pthread_setname_np(pthread_self(), "wg-tx");

    while (!stopping(dev)) {
        struct tx_slot *s = &dev->tx[tail % TX_INFLIGHT];
        int n, timeout;

        now = wg_now();
        if (now >= next_tick)
            next_tick = run_timers(dev, now);
        if (now >= next_mtu) {
            refresh_mtu(dev);
            next_mtu = now + MTU_CHECK_NS;
        }
        n = wg_tun_read_batch(&dev->tun, s->pkts, WG_BATCH_MAX);

        if (n > 0) {
            s->n = (unsigned)n;
            if (s->pkts[n - 1].len > __atomic_load_n(&dev->mtu, __ATOMIC_RELAXED))
                refresh_mtu(dev);
            wg_proto_tx_prepare(dev->proto, s->pkts, s->n, wg_now());
            wg_workers_submit(dev->workers, &s->job, wg_proto_tx_seal, s->pkts, s->n);
            tail++;
            while (head != tail && wg_job_done(&dev->tx[head % TX_INFLIGHT].job))
                tx_finish(dev, &dev->tx[head++ % TX_INFLIGHT]);
            if (tail - head == TX_INFLIGHT)
                tx_finish(dev, &dev->tx[head++ % TX_INFLIGHT]);
            if (n == WG_BATCH_MAX)
                continue;               /* likely more queued: keep reading */
        }
        /* The TUN queue is empty (or broken): send what is in flight
         * before sleeping, so no packet waits for the next one. */
        while (head != tail)
            tx_finish(dev, &dev->tx[head++ % TX_INFLIGHT]);
        if (n == -EBADFD) {
            set_gone(dev, "interface deleted");
            break;
        }
        if (n < 0 && n != -EINTR && n != -EAGAIN) {
            dev_log(dev, WG_LOG_ERROR, "TUN read: %s", strerror(-n));
            usleep(10000);              /* never spin on a persistent error */
        }
        if (n != 0)
            continue;
        now = wg_now();
        timeout = next_tick > now ? (int)((next_tick - now + 999999) / 1000000) : 0;
        if (poll(pfd, 2, timeout) < 0 && errno != EINTR) {
            dev_log(dev, WG_LOG_ERROR, "poll: %s", strerror(errno));
            usleep(10000);
        }
        if (pfd[0].revents & POLLNVAL) {
            set_gone(dev, "interface deleted");
            break;
        }
    }
    while (head != tail)
        tx_finish(dev, &dev->tx[head++ % TX_INFLIGHT]);
    return NULL;
}

/* ---- lifecycle ---- */

int wg_device_create(const struct wg_device_params *params, struct wg_device **out)
{
    struct wg_device *dev;
    struct wg_transport_params tp;
    struct wg_proto_io io;
    uint8_t *bufs[POOL_BUFFERS];
    unsigned mtu;
    int err;

    if (!params || !out || !params->ifname)
        return -EINVAL;
    *out = NULL;
    if (!*params->ifname || strlen(params->ifname) >= IFNAMSIZ)
        return -EINVAL;
    if ((unsigned)params->transport > WG_TRANSPORT_VSOCK)
        return -EINVAL;
    mtu = params->mtu ? params->mtu : WG_DEFAULT_MTU;
    if (mtu < WG_TUN_MTU_MIN || mtu > WG_TUN_MTU_MAX)
        return -EINVAL;
    dev = calloc(1, sizeof(*dev));
    if (!dev)
        return -ENOMEM;
    snprintf(dev->ifname, sizeof(dev->ifname), "%s", params->ifname);
    dev->kind = params->transport;
    dev->tun.fd = -1;
    dev->stop_efd = -1;
    pthread_mutex_init(&dev->cfg_lock, NULL);
    pthread_mutex_init(&dev->rx_lock, NULL);
    pthread_mutex_init(&dev->state_lock, NULL);
    pthread_cond_init(&dev->state_cond, NULL);

    dev->netns_fd = wg_netns_current();
    if (dev->netns_fd < 0) {
        err = dev->netns_fd;
        goto fail;
    }
    if ((err = wg_pktpool_create(POOL_BUFFERS, &dev->pool)))
        goto fail;
    if (wg_pktpool_get(dev->pool, bufs, POOL_BUFFERS) != POOL_BUFFERS) {
        err = -ENOMEM;
        goto fail;
    }
    for (unsigned s = 0; s < TX_INFLIGHT; s++)
        for (unsigned i = 0; i < WG_BATCH_MAX; i++)
            dev->tx[s].pkts[i].head = bufs[s * WG_BATCH_MAX + i];
    for (unsigned i = 0; i < WG_BATCH_MAX; i++)
        dev->rx_pkts[i].head = bufs[TX_INFLIGHT * WG_BATCH_MAX + i];
    dev->workers = wg_workers_get();    /* NULL: everything inline */

    if (params->has_tun_netns) {
        int saved;

        /* TUNSETIFF finds the interface in the namespace the fd was opened
         * in: only the open needs to happen there.  It also creates one
         * when the name is gone (moved or renamed meanwhile): the ifindex
         * tells, and closing our new, non-persistent one deletes it. */
        err = params->tun_ifname ? wg_netns_enter(params->tun_netns_fd, &saved) : -EINVAL;
        if (!err) {
            err = wg_tun_open(&dev->tun, params->tun_ifname, mtu);
            if (!err && params->tun_ifindex &&
                (int)if_nametoindex(dev->tun.name) != params->tun_ifindex)
                err = -ENODEV;
            wg_netns_leave(saved);
        }
    } else {
        err = wg_tun_open(&dev->tun, params->ifname, mtu);
    }
    if (err) {
        dev_log(dev, WG_LOG_ERROR, "cannot create TUN: %s", strerror(-err));
        goto fail;
    }
    memset(&tp, 0, sizeof(tp));
    tp.kind = params->transport;
    tp.stream_no_crc = params->stream_no_crc;
    tp.dial_only = params->dial_only;
    tp.rx = dev_rx;
    tp.reconnected = dev_reconnected;
    tp.ctx = dev;
    if ((err = wg_transport_create(&tp, &dev->transport)))
        goto fail;
    io.ctx = dev;
    io.emit = dev_emit;
    io.realtime = wg_clock_realtime;
    if ((err = wg_proto_create(&io, &dev->proto)))
        goto fail;
    wg_proto_set_mtu(dev->proto, mtu);     /* padding never beyond the MTU */
    if ((err = wg_hsq_create(dev_handshakes, dev, &dev->hsq)))
        goto fail;
    dev->inline_handshakes = handshake_queue_disabled();
    dev->mtu = mtu;
    dev->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (dev->stop_efd < 0) {
        err = -errno;
        goto fail;
    }
    if ((err = wg_thread_start(&dev->tx_thread, tx_main, dev)))
        goto fail;
    dev->tx_started = true;

    dev_log(dev, WG_LOG_VERBOSE, "device up (transport %s, mtu %u, %u crypto workers)",
            wg_transport_name(dev->kind), mtu, wg_workers_count(dev->workers));
    *out = dev;
    return 0;
fail:
    wg_device_destroy(dev);
    return err;
}

static void device_free(struct wg_device *dev, bool keep_tun)
{
    uint64_t one = 1;

    if (!dev)
        return;
    pthread_mutex_lock(&dev->state_lock);
    __atomic_store_n(&dev->stopping, true, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&dev->state_cond);
    pthread_mutex_unlock(&dev->state_lock);
    if (dev->stop_efd >= 0)
        (void)!write(dev->stop_efd, &one, sizeof(one));
    if (dev->tx_started)
        pthread_join(dev->tx_thread, NULL);
    /* The handshake thread sends through the transport: stopped first (a
     * receive thread may still push: dropped), freed once those are gone. */
    wg_hsq_stop(dev->hsq);
    /* Joins the receive threads: no dev_rx or emit after this. */
    wg_transport_destroy(dev->transport);
    dev->transport = NULL;
    wg_hsq_destroy(dev->hsq);
    dev->hsq = NULL;
    if (dev->proto)
        wg_proto_destroy(dev->proto);
    if (dev->tun.persist && !keep_tun && wg_tun_set_persist(&dev->tun, false))
        dev_log(dev, WG_LOG_ERROR, "cannot clear TUNSETPERSIST: the interface stays");
    wg_tun_close(&dev->tun);

    /* wg_device_wait callers must be out before the memory goes. */
    pthread_mutex_lock(&dev->state_lock);
    while (dev->waiters)
        pthread_cond_wait(&dev->state_cond, &dev->state_lock);
    pthread_mutex_unlock(&dev->state_lock);

    wg_workers_put(dev->workers);
    wg_pktpool_destroy(dev->pool);      /* wipes packet buffers */
    if (dev->stop_efd >= 0)
        close(dev->stop_efd);
    if (dev->netns_fd >= 0)
        close(dev->netns_fd);
    pthread_cond_destroy(&dev->state_cond);
    pthread_mutex_destroy(&dev->state_lock);
    pthread_mutex_destroy(&dev->rx_lock);
    pthread_mutex_destroy(&dev->cfg_lock);
    explicit_bzero(dev, sizeof(*dev));
    free(dev);
}

void wg_device_destroy(struct wg_device *dev)
{
    device_free(dev, false);
}

void wg_device_detach(struct wg_device *dev)
{
    device_free(dev, true);
}

int wg_device_set_persist(struct wg_device *dev, bool persist)
{
    return dev ? wg_tun_set_persist(&dev->tun, persist) : -EINVAL;
}

const char *wg_device_ifname(const struct wg_device *dev)
{
    return dev ? dev->ifname : "";
}

int wg_device_set_mtu(struct wg_device *dev, unsigned mtu)
{
    int err;

    if (!dev)
        return -EINVAL;
    err = wg_tun_set_mtu(&dev->tun, mtu);
    if (!err) {
        wg_proto_set_mtu(dev->proto, mtu);
        __atomic_store_n(&dev->mtu, mtu, __ATOMIC_RELAXED);
    }
    return err;
}

void wg_device_set_gone(struct wg_device *dev, const char *reason)
{
    set_gone(dev, reason);
}

const char *wg_device_wait(struct wg_device *dev)
{
    const char *why;

    pthread_mutex_lock(&dev->state_lock);
    dev->waiters++;
    while (!dev->gone_reason && !dev->stopping)
        pthread_cond_wait(&dev->state_cond, &dev->state_lock);
    why = dev->gone_reason ? dev->gone_reason : "device destroyed";
    dev->waiters--;
    pthread_cond_broadcast(&dev->state_cond);
    pthread_mutex_unlock(&dev->state_lock);
    return why;
}

/* ---- configuration ---- */

int wg_device_convert_endpoint(enum wg_transport_kind kind, const struct wg_sockaddr *in,
                               struct wg_sockaddr *out)
{
    sa_family_t fam = in->addr.sa.sa_family;

    memset(out, 0, sizeof(*out));
    if (kind == WG_TRANSPORT_VSOCK) {
        if (fam == AF_INET) {
            if (!in->addr.in.sin_port)
                return -EINVAL;
            out->addr.vm.svm_family = AF_VSOCK;
            out->addr.vm.svm_cid = ntohl(in->addr.in.sin_addr.s_addr);
            out->addr.vm.svm_port = ntohs(in->addr.in.sin_port);
            return 0;
        }
        if (fam != AF_VSOCK || !in->addr.vm.svm_port || in->addr.vm.svm_port > 65535)
            return -EINVAL;
        *out = *in;
        return 0;
    }
    if (fam == AF_INET) {
        if (kind == WG_TRANSPORT_TCP6 || !in->addr.in.sin_port)
            return -EINVAL;
    } else if (fam == AF_INET6) {
        if (kind == WG_TRANSPORT_TCP4 || !in->addr.in6.sin6_port)
            return -EINVAL;
    } else {
        return -EINVAL;
    }
    *out = *in;
    return 0;
}

int wg_device_apply(struct wg_device *dev, const struct wg_device_config *cfg)
{
    struct wg_device_config c;
    struct wg_peer_config *peers = NULL;
    uint16_t old_port;
    uint32_t fwmark;
    bool rebound = false;
    int err = 0, saved = -1;

    if (!dev || !cfg || (cfg->n_peers && !cfg->peers))
        return -EINVAL;
    c = *cfg;
    /* Endpoints for our transport; a copy because cfg is the caller's. */
    if (cfg->n_peers) {
        peers = malloc(cfg->n_peers * sizeof(*peers));
        if (!peers)
            return -ENOMEM;
        memcpy(peers, cfg->peers, cfg->n_peers * sizeof(*peers));
        for (size_t i = 0; i < cfg->n_peers && !err; i++)
            if (peers[i].has_endpoint && !peers[i].remove)
                err = wg_device_convert_endpoint(dev->kind, &cfg->peers[i].endpoint,
                                                 &peers[i].endpoint);
        if (err)
            goto out_free;
        c.peers = peers;
    }

    pthread_mutex_lock(&dev->cfg_lock);
    fwmark = cfg->has_fwmark ? cfg->fwmark : dev->fwmark;
    old_port = wg_transport_port(dev->transport);
    /* Kernel semantics: a port is bound once the device has a use for one;
     * 0 = random (a new one each time it is set); the same port and mark
     * keep the sockets. */
    if ((cfg->has_listen_port &&
         !(old_port && cfg->listen_port == old_port && fwmark == dev->fwmark)) ||
        (old_port && fwmark != dev->fwmark) ||
        (!old_port && (cfg->n_peers || cfg->has_private_key))) {
        uint16_t port = cfg->has_listen_port ? cfg->listen_port : old_port;

        /* Sockets are made in the device's namespace, whoever calls (only
         * then: entering needs CAP_SYS_ADMIN). */
        err = wg_netns_enter(dev->netns_fd, &saved);
        if (!err) {
            err = wg_transport_bind(dev->transport, port, fwmark);
            wg_netns_leave(saved);
        }
        if (err) {
            dev_log(dev, WG_LOG_ERROR, "cannot bind port %u: %s", port, strerror(-err));
            goto out_unlock;
        }
        rebound = true;
    }
    err = wg_proto_apply(dev->proto, &c, wg_now());
    if (err) {
        /* Undo the port change so a failed set changes nothing we can. */
        if (rebound && old_port && old_port != wg_transport_port(dev->transport) &&
            !wg_netns_enter(dev->netns_fd, &saved)) {
            (void)wg_transport_bind(dev->transport, old_port, dev->fwmark);
            wg_netns_leave(saved);
        }
        goto out_unlock;
    }
    dev->fwmark = fwmark;
out_unlock:
    pthread_mutex_unlock(&dev->cfg_lock);
out_free:
    if (peers) {
        explicit_bzero(peers, cfg->n_peers * sizeof(*peers));  /* preshared keys */
        free(peers);
    }
    return err;
}

int wg_device_get(struct wg_device *dev, struct wg_device_info **out)
{
    struct wg_device_info *info;
    int err;

    if (!dev || !out)
        return -EINVAL;
    *out = NULL;
    info = calloc(1, sizeof(*info));
    if (!info)
        return -ENOMEM;
    err = wg_proto_get(dev->proto, info, wg_now());
    if (err) {
        wg_device_info_free(info);
        return err;
    }
    pthread_mutex_lock(&dev->cfg_lock);
    info->listen_port = wg_transport_port(dev->transport);
    info->fwmark = dev->fwmark;
    pthread_mutex_unlock(&dev->cfg_lock);
    *out = info;
    return 0;
}

void wg_device_info_free(struct wg_device_info *info)
{
    if (!info)
        return;
    if (info->peers) {
        for (size_t i = 0; i < info->n_peers; i++)
            free(info->peers[i].allowed_ips);
        explicit_bzero(info->peers, info->n_peers * sizeof(*info->peers));
        free(info->peers);
    }
    explicit_bzero(info, sizeof(*info));
    free(info);
}
