/* attested_hub.c - see attested_hub.h.
 *
 * One mutex serialises every exchange: the hub refuses an offer whose
 * serial is not above the last one it applied, so offers must reach it in
 * the order their serials were taken, and the peer list must be read in
 * that same order so the latest offer is always the complete one.  An
 * exchange is bounded (PROV_IO_TIMEOUT_MS per step); the state lock is not
 * held while it runs. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "plugin/attested_hub.h"
#include "plugin/log.h"
#include "provision/client.h"
#include "provision/keys.h"

#define AH_NETS_MAX 256
#define AH_DEFAULT_INTERVAL_S 10

static pthread_mutex_t ah_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t ah_serial;
static struct {                        /* the last attested key per network */
    char net_id[PL_ID_MAX + 1];
    uint8_t key[WG_KEY_LEN];
} ah_keys[AH_NETS_MAX];

static const char *key_file(struct plugin *p, char buf[NET_PATH_MAX])
{
    const char *env = getenv("WGVSOCK_PROVISION_KEY_FILE");
    if (env && *env)
        return env;
    if (!p->state->dir)
        return NULL;
    snprintf(buf, NET_PATH_MAX, "%s/provision.key", p->state->dir);
    return buf;
}

static uint64_t next_serial(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
    ah_serial = now > ah_serial ? now : ah_serial + 1;
    return ah_serial;
}

/* The offer: hub address = gateway/prefix of the first IPv4 pool, and one
 * peer per endpoint of the network (its derived key and IPv4 /32). */
static int build_offer(struct plugin *p, const char *net_id, const struct net_config *cfg,
                       struct prov_offer *o, char err[NET_ERR_MAX])
{
    struct kd_address gw;
    const char *slash = strchr(cfg->pool4, '/');

    memset(o, 0, sizeof(*o));
    if (kd_address_parse(&gw, cfg->gateway4) || gw.family != AF_INET || !slash)
        return net_fail(err, "an attested network needs an IPv4 gateway (the hub's tunnel "
                        "address): docker network create --gateway ...");
    o->hub_address = (struct wg_allowedip){ .family = AF_INET, .cidr = (uint8_t)atoi(slash + 1) };
    memcpy(o->hub_address.ip, gw.bytes, 4);
    o->mtu = (uint16_t)cfg->mtu;
    if (!(o->peers = calloc(PROV_MAX_PEERS, sizeof(*o->peers))))
        return net_fail(err, "out of memory");
    state_lock(p->state);
    for (struct pl_endpoint *e = p->state->eps; e; e = e->next) {
        struct kd_address a;
        if (strcmp(e->net_id, net_id) || kd_address_parse(&a, e->addr4) || a.family != AF_INET)
            continue;
        if (o->n_peers == PROV_MAX_PEERS) {
            state_unlock(p->state);
            return net_fail(err, "more than %d endpoints on an attested network", PROV_MAX_PEERS);
        }
        struct prov_peer *peer = &o->peers[o->n_peers];
        if (kd_key_from_b64(peer->public_key, e->pubkey))
            continue;
        peer->ip = (struct wg_allowedip){ .family = AF_INET, .cidr = 32 };
        memcpy(peer->ip.ip, a.bytes, 4);
        o->n_peers++;
    }
    state_unlock(p->state);
    return 0;
}

static void policy_of(const struct net_config *cfg, struct prov_client_policy *pol, char **root)
{
    memset(pol, 0, sizeof(*pol));
    *root = NULL;
    pol->mode = cfg->attest.mode == NET_ATTEST_NITRO ? PROV_MODE_NITRO :
                cfg->attest.mode == NET_ATTEST_TEST ? PROV_MODE_TEST : PROV_MODE_NONE;
    for (int i = 0; i < NET_ATTEST_PCRS; i++) {
        memcpy(pol->pcr[i], cfg->attest.pcr[i], cfg->attest.pcr_len[i]);
        pol->pcr_len[i] = cfg->attest.pcr_len[i];
    }
    if (*cfg->attest.root) {
        FILE *f = fopen(cfg->attest.root, "re");
        if (f && (*root = calloc(1, 65537)) && fread(*root, 1, 65536, f) > 0)
            pol->root_pem = *root;
        if (f)
            fclose(f);
    }
}

/* The hub's provisioning address: its WireGuard address, port + 1. */
static struct wg_sockaddr provision_addr(const struct net_config *cfg)
{
    struct wg_sockaddr a = cfg->peer;
    uint16_t port = cfg->attest.provision_port;
    if (a.addr.sa.sa_family == AF_VSOCK) {
        a.addr.vm.svm_port = port ? port : a.addr.vm.svm_port + 1;
    } else {
        uint16_t wg = ntohs(a.addr.sa.sa_family == AF_INET ? a.addr.in.sin_port : a.addr.in6.sin6_port);
        uint16_t p = htons(port ? port : (uint16_t)(wg + 1));
        if (a.addr.sa.sa_family == AF_INET)
            a.addr.in.sin_port = p;
        else
            a.addr.in6.sin6_port = p;
    }
    return a;
}

/* Put a new hub key on every joined device of the network (state lock
 * held: ep_delete takes an endpoint out under it before destroying). */
static void update_devices(struct plugin *p, const char *net_id, const struct net_config *cfg,
                           const uint8_t key[WG_KEY_LEN])
{
    struct wg_peer_config peer = {
        .has_endpoint = true, .endpoint = cfg->peer,
        .has_persistent_keepalive = true, .persistent_keepalive = cfg->keepalive,
        .replace_allowed_ips = true, .n_allowed_ips = cfg->n_allowed_ips,
        .allowed_ips = (struct wg_allowedip *)cfg->allowed_ips,
    };
    struct wg_device_config dc = { .replace_peers = true, .n_peers = 1, .peers = &peer };
    char err[NET_ERR_MAX];

    memcpy(peer.public_key, key, WG_KEY_LEN);
    if (!p->tun->apply)
        return;
    state_lock(p->state);
    for (struct pl_endpoint *e = p->state->eps; e; e = e->next) {
        if (!e->dev || strcmp(e->net_id, net_id))
            continue;
        if (p->tun->apply(p->tun_ctx, e->dev, &dc, err))
            pl_err("endpoint %.12s: cannot switch to the re-attested hub key: %s", e->id, err);
        else
            pl_info("endpoint %.12s: hub re-attested with a new key", e->id);
    }
    state_unlock(p->state);
}

/* Remember the attested key; if it changed, move the joined devices to it. */
static void note_key(struct plugin *p, const char *net_id, const struct net_config *cfg,
                     const uint8_t key[WG_KEY_LEN])
{
    int slot = -1, free_slot = -1;
    for (int i = 0; i < AH_NETS_MAX; i++) {
        if (!strcmp(ah_keys[i].net_id, net_id))
            slot = i;
        else if (!ah_keys[i].net_id[0] && free_slot < 0)
            free_slot = i;
    }
    if (slot >= 0 && !memcmp(ah_keys[slot].key, key, WG_KEY_LEN))
        return;
    if (slot >= 0)
        update_devices(p, net_id, cfg, key);
    else if ((slot = free_slot) < 0)
        return;
    snprintf(ah_keys[slot].net_id, sizeof(ah_keys[slot].net_id), "%s", net_id);
    memcpy(ah_keys[slot].key, key, WG_KEY_LEN);
}

/* One exchange with the network's hub (ah_lock held). */
static int provision(struct plugin *p, const char *net_id, const struct net_config *cfg,
                     uint8_t hub_key[WG_KEY_LEN], char err[NET_ERR_MAX])
{
    uint8_t sk[PROV_SECKEY_LEN], pk[PROV_PUBKEY_LEN];
    char path_buf[NET_PATH_MAX], *root = NULL, why[NET_ERR_MAX];
    const char *path = key_file(p, path_buf);
    struct prov_client_policy pol;
    struct prov_offer o;
    int rc = -EIO;

    if (!path)
        return net_fail(err, "no provisioning key: set WGVSOCK_PROVISION_KEY_FILE");
    if (sodium_init() < 0 || (rc = prov_key_load(path, true, sk, pk)) < 0)
        return net_fail(err, "cannot load the provisioning key %s: %s", path,
                        rc == -EINVAL ? "not a key" : strerror(-rc));
    if (build_offer(p, net_id, cfg, &o, err)) {
        sodium_memzero(sk, sizeof(sk));
        free(o.peers);
        return -1;
    }
    struct wg_sockaddr hub = provision_addr(cfg);
    if ((hub.addr.sa.sa_family == AF_VSOCK && hub.addr.vm.svm_port == 0) ||
        (hub.addr.sa.sa_family == AF_INET && hub.addr.in.sin_port == 0) ||
        (hub.addr.sa.sa_family == AF_INET6 && hub.addr.in6.sin6_port == 0)) {
        sodium_memzero(sk, sizeof(sk));
        free(o.peers);
        return net_fail(err, "wgvsock.peer's port is 65535, so port + 1 does not exist: set "
                        "wgvsock.provision-port");
    }
    o.serial = next_serial();
    policy_of(cfg, &pol, &root);
    rc = prov_client_exchange(&hub, &o, sk, &pol, hub_key, why, sizeof(why));
    sodium_memzero(sk, sizeof(sk));
    free(root);
    free(o.peers);
    if (rc < 0)
        return net_fail(err, "attested hub %s: %s", cfg->peer_text, why);
    if (cfg->attest.peerkey_given && memcmp(hub_key, cfg->peer_key, WG_KEY_LEN))
        return net_fail(err, "attested hub %s: its attested key is not wgvsock.peerkey",
                        cfg->peer_text);
    note_key(p, net_id, cfg, hub_key);
    return 0;
}

/* ---- the refresher ---- */

static unsigned interval_s(void)
{
    const char *v = getenv("WGVSOCK_PROVISION_INTERVAL");
    long n = v ? strtol(v, NULL, 10) : 0;
    return n >= 1 && n <= 3600 ? (unsigned)n : AH_DEFAULT_INTERVAL_S;
}

static pthread_mutex_t refresher_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t refresher_wake = PTHREAD_COND_INITIALIZER;
static bool refresher_running, refresher_stopping;
static pthread_t refresher_thread;

/* false once ah_stop() was called. */
static bool refresher_sleep(unsigned seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&refresher_lock);
    while (!refresher_stopping &&
           pthread_cond_timedwait(&refresher_wake, &refresher_lock, &until) != ETIMEDOUT)
        ;
    bool go_on = !refresher_stopping;
    pthread_mutex_unlock(&refresher_lock);
    return go_on;
}

static void refresh_network(struct plugin *p, const char *net_id)
{
    struct net_config *cfg = malloc(sizeof(*cfg));
    struct pl_network *net;
    uint8_t key[WG_KEY_LEN];
    char err[NET_ERR_MAX];

    if (!cfg)
        return;
    state_lock(p->state);
    net = state_find_net(p->state, net_id);
    if (net)
        memcpy(cfg, net->cfg, sizeof(*cfg));
    state_unlock(p->state);
    if (net && cfg->attest.mode != NET_ATTEST_OFF) {
        pthread_mutex_lock(&ah_lock);
        if (provision(p, net_id, cfg, key, err))
            pl_err("network %.12s: provisioning the hub: %s", net_id, err);
        pthread_mutex_unlock(&ah_lock);
    }
    if (net)
        net_config_wipe(cfg);
    free(cfg);
}

static void *refresher(void *arg)
{
    struct plugin *p = arg;
    static char ids[AH_NETS_MAX][PL_ID_MAX + 1];      /* this thread's only */

    while (refresher_sleep(interval_s())) {
        size_t n = 0;
        state_lock(p->state);
        for (struct pl_network *net = p->state->nets; net && n < AH_NETS_MAX; net = net->next) {
            if (net->cfg->attest.mode == NET_ATTEST_OFF)
                continue;
            for (struct pl_endpoint *e = p->state->eps; e; e = e->next)
                if (e->dev && !strcmp(e->net_id, net->id)) {
                    snprintf(ids[n++], PL_ID_MAX + 1, "%s", net->id);
                    break;
                }
        }
        state_unlock(p->state);
        for (size_t i = 0; i < n; i++)
            refresh_network(p, ids[i]);
    }
    return NULL;
}

static void start_refresher(struct plugin *p)
{
    pthread_mutex_lock(&refresher_lock);
    if (!refresher_running && !refresher_stopping) {
        if (pthread_create(&refresher_thread, NULL, refresher, p) == 0)
            refresher_running = true;
        else
            pl_err("cannot start the attested-hub refresher");
    }
    pthread_mutex_unlock(&refresher_lock);
}

void ah_stop(void)
{
    pthread_mutex_lock(&refresher_lock);
    refresher_stopping = true;
    bool join = refresher_running;
    pthread_cond_broadcast(&refresher_wake);
    pthread_mutex_unlock(&refresher_lock);
    if (join)
        pthread_join(refresher_thread, NULL);
}

/* ---- the hooks ---- */

int ah_network_check(struct plugin *p, const char *net_id, const struct net_config *cfg,
                     char err[NET_ERR_MAX])
{
    uint8_t key[WG_KEY_LEN];
    if (cfg->attest.mode == NET_ATTEST_OFF)
        return 0;
    pthread_mutex_lock(&ah_lock);
    int rc = provision(p, net_id, cfg, key, err);
    pthread_mutex_unlock(&ah_lock);
    return rc;
}

int ah_join(struct plugin *p, const char *net_id, const struct net_config *cfg,
            uint8_t hub_key[WG_KEY_LEN], char err[NET_ERR_MAX])
{
    pthread_mutex_lock(&ah_lock);
    int rc = provision(p, net_id, cfg, hub_key, err);
    pthread_mutex_unlock(&ah_lock);
    if (rc == 0)
        start_refresher(p);
    return rc;
}

void ah_endpoint_gone(struct plugin *p, const char *net_id)
{
    refresh_network(p, net_id);
}
