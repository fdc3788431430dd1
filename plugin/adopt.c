/* adopt.c - see adopt.h.
 *
 * Endpoints being adopted are marked busy under the state lock first, so a
 * DeleteEndpoint arriving meanwhile (a container stopped during the outage:
 * Docker retries) only takes them off the list; whoever finishes the device
 * then destroys it and removes the file, as after a Join.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/adopt.h"
#include "plugin/endpoint.h"
#include "plugin/link.h"
#include "plugin/log.h"
#include "plugin/netns.h"
#include "wgcore/tun.h"

#define ADOPT_THREADS 8

enum fate { FATE_LOST, FATE_ADOPT, FATE_ADOPT_LOCAL, FATE_FORGET, FATE_KEEP };

struct adoptee {
    struct pl_endpoint ep;      /* a copy */
    int netns_fd;               /* where the interface is; -1: not found */
    struct link_info link;
    bool local;                 /* in our own namespace */
    bool twice;                 /* the tag shows up in two places: adopt neither */
    enum fate fate;
};

struct adopt_pending {
    size_t n;
    struct {
        char id[PL_ID_MAX + 1];
        bool local;             /* adopted in our namespace (else never joined) */
    } v[];
};

struct adoption {
    struct plugin *p;
    struct adoptee *v;
    size_t n;
    struct stat own;            /* our namespace */
    size_t namespaces;          /* visited by the scan */
    bool scan_failed;
    size_t next;                /* next to adopt (atomic) */
};

static bool is_own_ns(const struct adoption *a, int fd)
{
    struct stat st;

    return !fstat(fd, &st) && st.st_ino == a->own.st_ino && st.st_dev == a->own.st_dev;
}

static struct adoptee *by_tag(struct adoption *a, const char *alias)
{
    const char *id = alias + strlen(EP_TAG_PREFIX);

    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->v[i].ep.id, id))
            return &a->v[i];
    return NULL;
}

static void found(struct adoption *a, struct adoptee *t, int netns_fd,
                  const struct link_info *link)
{
    if (t->netns_fd >= 0) {
        struct stat a1, a2;

        if (fstat(t->netns_fd, &a1) || fstat(netns_fd, &a2) || a1.st_ino != a2.st_ino ||
            a1.st_dev != a2.st_dev || t->link.ifindex != link->ifindex)
            t->twice = true;
        return;
    }
    t->netns_fd = dup(netns_fd);
    if (t->netns_fd < 0)
        return;
    t->link = *link;
    t->local = is_own_ns(a, netns_fd);
}

struct scan_ctx {
    struct adoption *a;
    int netns_fd;
};

static int scan_link(void *ctx, const char *alias, const struct link_info *link)
{
    struct scan_ctx *s = ctx;
    struct adoptee *t = by_tag(s->a, alias);

    if (t)
        found(s->a, t, s->netns_fd, link);
    return 0;
}

static int scan_ns(void *ctx, int netns_fd)
{
    struct adoption *a = ctx;
    struct scan_ctx s = { a, netns_fd };
    int r = link_each_alias(netns_fd, EP_TAG_PREFIX, scan_link, &s);

    a->namespaces++;
    /* A namespace whose last process just exited is gone anyway; anything
     * else means we may have missed an interface. */
    if (r && r != -EINVAL && r != -ENOENT) {
        pl_err("adopt: cannot list the links of a network namespace: %s", strerror(-r));
        a->scan_failed = true;
    }
    return 0;
}

/* Sandbox keys first (cheap, exact), then every namespace for the rest. */
static void locate(struct adoption *a)
{
    size_t missing = 0;
    int r;

    for (size_t i = 0; i < a->n; i++) {
        struct adoptee *t = &a->v[i];
        char tag[EP_TAG_MAX];
        struct link_info li;
        int fd;

        if (!*t->ep.sandbox_key || (fd = netns_open_sandbox(t->ep.sandbox_key)) < 0)
            continue;
        ep_tag(tag, t->ep.id);
        if (!link_find_by_alias(fd, tag, &li))
            found(a, t, fd, &li);
        close(fd);
    }
    for (size_t i = 0; i < a->n; i++)
        missing += a->v[i].netns_fd < 0;
    if (!missing)
        return;
    r = netns_each(scan_ns, a);
    if (r) {
        pl_err("adopt: cannot scan the network namespaces: %s", strerror(-r));
        a->scan_failed = true;
    } else if (a->namespaces <= 1) {
        /* A PID namespace of our own (a managed plugin without pidhost):
         * "not found" would mean nothing. */
        pl_err("adopt: no network namespace but ours is visible; nothing is deleted");
        a->scan_failed = true;
    }
}

/* Marks the endpoint done: the device goes to it, or (deleted meanwhile)
 * is destroyed and the file removed. */
static void finish(struct plugin *p, const char *id, void *dev, const char *ifname)
{
    struct pl_endpoint *e;

    state_lock(p->state);
    e = state_find_ep(p->state, id);
    if (e) {
        e->busy = false;
        e->dev = dev;
        dev = NULL;
    }
    state_unlock(p->state);
    if (!e) {
        if (dev)
            p->tun->destroy(p->tun_ctx, dev);
        ep_remove_stale_control(p->control_dir, ifname);
        state_unlink_ep(p->state, id);
        pl_info("endpoint %.12s was deleted during its adoption", id);
    }
}

/* Looks for t's interface again (libnetwork moved it since the scan). */
static bool relocate(struct adoption *a, struct adoptee *t)
{
    struct adoption one = { .p = a->p, .v = t, .n = 1, .own = a->own };

    if (t->netns_fd >= 0)
        close(t->netns_fd);
    t->netns_fd = -1;
    t->twice = false;
    locate(&one);
    return t->netns_fd >= 0 && !t->twice &&
           (!t->local || (t->link.flags & IFF_UP));
}

#define ADOPT_TRIES 3

static void adopt_one(struct adoption *a, struct adoptee *t)
{
    struct plugin *p = a->p;
    struct net_config *cfg;
    char err[NET_ERR_MAX];
    void *dev = NULL;
    int tries = 0;

    state_lock(p->state);
    cfg = ep_copy_net_config(p, t->ep.net_id);
    state_unlock(p->state);
    /* The interface can move between the scan and the attach (a Join
     * answered just before the crash, a container stopping): the attach
     * then fails (ifindex check) and we look again. */
    while (cfg && ep_make_device(p, &t->ep, cfg, t->netns_fd, &t->link, &dev, err) &&
           ++tries < ADOPT_TRIES && relocate(a, t))
        pl_info("adopt: endpoint %.12s: %s; its interface moved, trying again", t->ep.id, err);
    if (!cfg) {
        pl_err("adopt: endpoint %.12s: its network %.12s is gone", t->ep.id, t->ep.net_id);
    } else if (!dev) {
        pl_err("adopt: endpoint %.12s: %s", t->ep.id, err);
    } else {
        pl_info("endpoint %.12s adopted: %s (ifindex %d)%s%s", t->ep.id, t->link.ifname,
                t->link.ifindex, t->local ? " in the plugin's namespace" : "",
                ep_stream_no_crc(p, cfg) ? ", stream frames without CRC" : "");
    }
    ep_free_net_config(cfg);
    finish(p, t->ep.id, dev, t->ep.ifname);
}

static void *adopt_thread(void *arg)
{
    struct adoption *a = arg;
    size_t i;

    while ((i = __atomic_fetch_add(&a->next, 1, __ATOMIC_RELAXED)) < a->n)
        if (a->v[i].fate == FATE_ADOPT || a->v[i].fate == FATE_ADOPT_LOCAL)
            adopt_one(a, &a->v[i]);
    return NULL;
}

/* Device creation is mostly waiting on the kernel (thread starts, ioctls):
 * a few threads bring hundreds of tunnels back well within Docker's
 * patience. */
static void adopt_all(struct adoption *a)
{
    pthread_t th[ADOPT_THREADS];
    size_t started = 0, want = a->n < ADOPT_THREADS ? a->n : ADOPT_THREADS;

    while (started < want && pthread_create(&th[started], NULL, adopt_thread, a) == 0)
        started++;
    adopt_thread(a);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
}

static void forget(struct plugin *p, const char *id, const char *why)
{
    struct pl_endpoint *e;

    /* Busy because of us: no one else holds it. */
    state_lock(p->state);
    e = state_remove_ep(p->state, id);
    state_unlock(p->state);
    if (!e) {
        /* DeleteEndpoint came first and left the rest to us. */
        finish(p, id, NULL, "");
        return;
    }
    pl_info("endpoint %.12s: %s; deleting it", id, why);
    ep_forget(p, e);
}

/* wgv*.sock files of earlier processes that no device answers on. */
static void sweep_control(const char *dir)
{
    struct dirent *de;
    DIR *d;

    if (!dir || !*dir || !(d = opendir(dir)))
        return;
    while ((de = readdir(d))) {
        char ifname[PL_IFNAME_MAX];
        size_t len = strlen(de->d_name);

        if (strncmp(de->d_name, "wgv", 3) || len < 6 || len - 5 >= sizeof(ifname) ||
            strcmp(de->d_name + len - 5, ".sock"))
            continue;
        memcpy(ifname, de->d_name, len - 5);
        ifname[len - 5] = '\0';
        ep_remove_stale_control(dir, ifname);
    }
    closedir(d);
}

struct adopt_pending *plugin_adopt(struct plugin *p)
{
    struct adoption a = { .p = p };
    struct adopt_pending *pend = NULL;
    size_t n = 0, k = 0, adopted = 0, forgotten = 0;
    int own;

    own = wg_netns_current();
    if (own < 0 || fstat(own, &a.own)) {
        pl_err("adopt: cannot identify our network namespace; nothing adopted");
        if (own >= 0)
            close(own);
        return NULL;
    }
    close(own);

    state_lock(p->state);
    for (struct pl_endpoint *e = p->state->eps; e; e = e->next)
        n++;
    a.v = calloc(n ? n : 1, sizeof(*a.v));
    pend = calloc(1, sizeof(*pend) + (n ? n : 1) * sizeof(pend->v[0]));
    for (struct pl_endpoint *e = p->state->eps; e && a.v && pend; e = e->next) {
        /* Kernel WireGuard devices kept working without us: adopting one
         * only gives it a handle again (tunnel_kernel.c); found the same
         * way, by its tag. */
        if (e->dev || e->busy)
            continue;
        if (!e->joined) {
            snprintf(pend->v[pend->n].id, sizeof(pend->v[0].id), "%s", e->id);
            pend->v[pend->n++].local = false;
            continue;
        }
        e->busy = true;
        a.v[a.n].ep = *e;
        a.v[a.n].netns_fd = -1;
        a.n++;
    }
    state_unlock(p->state);
    if (!a.v || !pend) {
        pl_err("adopt: out of memory; nothing adopted");
        free(a.v);
        free(pend);
        return NULL;
    }

    locate(&a);
    for (size_t i = 0; i < a.n; i++) {
        struct adoptee *t = &a.v[i];

        if (t->twice)
            t->fate = FATE_KEEP;
        else if (t->netns_fd < 0)
            t->fate = a.scan_failed ? FATE_KEEP : FATE_FORGET;
        else if (!t->local)
            t->fate = FATE_ADOPT;
        else
            t->fate = (t->link.flags & IFF_UP) ? FATE_ADOPT_LOCAL : FATE_FORGET;
    }
    adopt_all(&a);
    for (size_t i = 0; i < a.n; i++) {
        struct adoptee *t = &a.v[i];

        switch (t->fate) {
        case FATE_ADOPT_LOCAL:
            snprintf(pend->v[pend->n].id, sizeof(pend->v[0].id), "%s", t->ep.id);
            pend->v[pend->n++].local = true;
            /* fall through */
        case FATE_ADOPT:
            adopted++;
            break;
        case FATE_FORGET:
            forget(p, t->ep.id, t->netns_fd < 0 ? "its interface is gone (container stopped)"
                                                : "its interface was given back (Leave)");
            forgotten++;
            break;
        default:
            finish(p, t->ep.id, NULL, t->ep.ifname);
            pl_err("adopt: endpoint %.12s: %s; not adopted, kept for DeleteEndpoint", t->ep.id,
                   t->twice ? "its tag is on two interfaces"
                            : "interface not found, but the scan was incomplete");
            break;
        }
        if (t->netns_fd >= 0)
            close(t->netns_fd);
    }
    k = a.n;
    free(a.v);
    sweep_control(p->control_dir);
    if (k)
        pl_info("adopt: %zu joined endpoints: %zu adopted, %zu deleted", k, adopted, forgotten);
    if (!pend->n) {
        free(pend);
        return NULL;
    }
    return pend;
}

void plugin_adopt_reap(struct plugin *p, struct adopt_pending *pend)
{
    for (size_t i = 0; p && pend && i < pend->n; i++) {
        const char *id = pend->v[i].id;
        struct pl_endpoint *e;
        bool orphan;

        if (pend->v[i].local) {
            /* Still here: libnetwork never took it into a container. */
            char tag[EP_TAG_MAX];
            struct link_info li;

            ep_tag(tag, id);
            if (link_find_by_alias(-1, tag, &li))
                continue;
        }
        state_lock(p->state);
        e = state_find_ep(p->state, id);
        orphan = e && !e->busy && (pend->v[i].local ? e->dev != NULL : !e->joined && !e->dev);
        if (orphan)
            e = state_remove_ep(p->state, id);
        state_unlock(p->state);
        if (orphan) {
            pl_info("endpoint %.12s: %s after %d s; deleting it", id,
                    pend->v[i].local ? "its interface is still not in a container"
                                     : "never joined", ADOPT_GRACE_S);
            ep_forget(p, e);
        }
    }
    free(pend);
}
