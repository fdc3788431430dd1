/* proto_config.c - a device's protocol state: create and destroy, and the
 * wg(8) set/get (apply, get) on it.
 *
 * apply validates and allocates every new peer before it takes the config
 * lock, so a bad request changes nothing and the data path waits only for
 * the short write section.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "wgcore/aead.h"
#include "wgcore/allowedips.h"
#include "wgcore/peer.h"
#include "wgcore/proto_state.h"
#include "wgcore/ratelimiter.h"
#include "wgcore/secret_mem.h"

int wg_proto_create(const struct wg_proto_io *io, struct wg_proto **out)
{
    struct wg_proto *p;
    pthread_rwlockattr_t attr;

    if (!io || !io->realtime)
        return -EINVAL;
    wg_noise_init();
    wg_aead_select();
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->io = *io;
    p->id = wg_secret_alloc(sizeof(*p->id));
    p->aips = wg_allowedips_new();
    p->ratelimiter = wg_ratelimiter_new();
    if (!p->id || !p->aips || !p->ratelimiter) {
        wg_secret_free(p->id, sizeof(*p->id));
        wg_allowedips_free(p->aips);
        wg_ratelimiter_free(p->ratelimiter);
        free(p);
        return -ENOMEM;
    }
    /* Writer-preferring, so a busy data path cannot starve wg set. */
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&p->cfg_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&p->load_lock, NULL);
    wg_cookie_checker_init(&p->cookie_checker);
    wg_index_init(&p->index);
    *out = p;
    return 0;
}

void wg_proto_destroy(struct wg_proto *p)
{
    if (!p)
        return;
    pthread_rwlock_wrlock(&p->cfg_lock);
    while (p->peers_head)
        wg_peer_remove(p, p->peers_head);
    pthread_rwlock_unlock(&p->cfg_lock);
    wg_allowedips_free(p->aips);
    wg_ratelimiter_free(p->ratelimiter);
    wg_cookie_checker_destroy(&p->cookie_checker);
    wg_index_destroy(&p->index);
    pthread_mutex_destroy(&p->load_lock);
    pthread_rwlock_destroy(&p->cfg_lock);
    wg_secret_free(p->id, sizeof(*p->id));
    sodium_memzero(p, sizeof(*p));
    free(p);
}

void wg_proto_set_mtu(struct wg_proto *p, unsigned mtu)
{
    atomic_store(&p->mtu, mtu);
}

static int validate_config(const struct wg_device_config *cfg)
{
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct wg_peer_config *pc = &cfg->peers[i];

        if (pc->has_endpoint) {
            int fam = pc->endpoint.addr.sa.sa_family;
            if (fam != AF_UNSPEC && fam != AF_INET && fam != AF_INET6 && fam != AF_VSOCK)
                return -EINVAL;
        }
        if (pc->n_allowed_ips && !pc->allowed_ips)
            return -EINVAL;
        for (size_t j = 0; j < pc->n_allowed_ips; j++) {
            const struct wg_allowedip *a = &pc->allowed_ips[j];
            if (!((a->family == AF_INET && a->cidr <= 32) ||
                  (a->family == AF_INET6 && a->cidr <= 128)))
                return -EINVAL;
        }
    }
    return 0;
}

static bool is_own_key(struct wg_proto *p, const uint8_t pub[32])
{
    return p->id->has_identity && sodium_memcmp(p->id->public_key, pub, 32) == 0;
}

static void set_private_key(struct wg_proto *p, const uint8_t key[32])
{
    struct wg_peer *peer, *next;

    if (sodium_is_zero(key, 32)) {
        if (!p->id->has_identity)
            return;
        sodium_memzero(p->id, sizeof(*p->id));
    } else {
        if (p->id->has_identity && sodium_memcmp(p->id->private_key, key, 32) == 0)
            return;
        memcpy(p->id->private_key, key, 32);
        wg_noise_public_from_private(p->id->public_key, key);
        p->id->has_identity = true;
    }
    wg_cookie_checker_set_key(&p->cookie_checker, p->id->has_identity ? p->id->public_key : NULL);
    for (peer = p->peers_head; peer; peer = next) {
        next = peer->next;
        /* A peer with our own public key makes no sense: drop it (kernel). */
        if (is_own_key(p, peer->public_key)) {
            wg_peer_remove(p, peer);
            continue;
        }
        pthread_mutex_lock(&peer->lock);
        wg_noise_precompute_static_static(&peer->handshake, p->id);
        wg_noise_handshake_clear(&peer->handshake, &p->index);
        /* Sessions made with the old key stop sending; the next packet
         * makes a new handshake with the new key. */
        wg_keypairs_expire_send(&peer->keypairs);
        peer->has_sent_handshake = false;
        pthread_mutex_unlock(&peer->lock);
    }
}

static int apply_peer(struct wg_proto *p, const struct wg_peer_config *pc,
                      struct wg_peer **fresh, uint64_t now)
{
    struct wg_peer *peer = wg_peer_lookup(p, pc->public_key);
    int err = 0;

    if (pc->remove) {
        if (peer)
            wg_peer_remove(p, peer);
        return 0;
    }
    if (is_own_key(p, pc->public_key))
        return 0;
    if (!peer) {
        if (pc->update_only || !*fresh)
            return 0;
        peer = *fresh;
        *fresh = NULL;
        wg_peer_link(p, peer);
        /* Existing peers were recomputed by set_private_key if needed. */
        wg_noise_precompute_static_static(&peer->handshake, p->id);
    }

    pthread_mutex_lock(&peer->lock);
    if (pc->has_preshared_key)
        memcpy(peer->handshake.preshared_key, pc->preshared_key, 32);
    if (pc->has_endpoint)
        peer->endpoint = pc->endpoint;
    pthread_mutex_unlock(&peer->lock);

    if (pc->replace_allowed_ips)
        wg_allowedips_remove_peer(p->aips, peer);
    for (size_t j = 0; j < pc->n_allowed_ips; j++) {
        const struct wg_allowedip *a = &pc->allowed_ips[j];
        int r = wg_allowedips_insert(p->aips, a->family, a->ip, a->cidr, peer);
        if (r < 0 && !err)
            err = r;
    }

    if (pc->has_persistent_keepalive) {
        pthread_mutex_lock(&peer->lock);
        uint16_t prior = peer->persistent_keepalive;
        peer->persistent_keepalive = pc->persistent_keepalive;
        if (!pc->persistent_keepalive)
            peer->timers.persistent_keepalive = 0;
        else if (!prior)
            wg_peer_send_keepalive(peer, now);   /* start at once, as the kernel */
        pthread_mutex_unlock(&peer->lock);
    }
    return err;
}

int wg_proto_apply(struct wg_proto *p, const struct wg_device_config *cfg, uint64_t now)
{
    struct wg_peer **fresh = NULL;
    int err;

    if (!cfg || (cfg->n_peers && !cfg->peers))
        return -EINVAL;
    err = validate_config(cfg);
    if (err)
        return err;
    /* Allocate every peer that may be created before changing anything. */
    if (cfg->n_peers) {
        fresh = calloc(cfg->n_peers, sizeof(*fresh));
        if (!fresh)
            return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->n_peers; i++) {
        if (cfg->peers[i].remove || cfg->peers[i].update_only)
            continue;
        fresh[i] = wg_peer_new(p, cfg->peers[i].public_key);
        if (!fresh[i]) {
            for (size_t j = 0; j < i; j++)
                wg_peer_put(fresh[j]);
            free(fresh);
            return -ENOMEM;
        }
    }

    pthread_rwlock_wrlock(&p->cfg_lock);
    if (cfg->has_private_key)
        set_private_key(p, cfg->private_key);
    if (cfg->replace_peers)
        while (p->peers_head)
            wg_peer_remove(p, p->peers_head);
    for (size_t i = 0; i < cfg->n_peers; i++) {
        int r = apply_peer(p, &cfg->peers[i], &fresh[i], now);
        if (r && !err)
            err = r;    /* -ENOMEM inserting allowed-ips: reported, rest applied */
    }
    pthread_rwlock_unlock(&p->cfg_lock);

    for (size_t i = 0; i < cfg->n_peers; i++)
        wg_peer_put(fresh[i]);
    free(fresh);
    return err;
}

int wg_proto_get(struct wg_proto *p, struct wg_device_info *info, uint64_t now)
{
    struct wg_peer *peer;
    size_t i = 0;

    (void)now;
    pthread_rwlock_rdlock(&p->cfg_lock);
    info->has_private_key = p->id->has_identity;
    if (p->id->has_identity) {
        memcpy(info->private_key, p->id->private_key, 32);
        memcpy(info->public_key, p->id->public_key, 32);
    } else {
        memset(info->private_key, 0, 32);
        memset(info->public_key, 0, 32);
    }
    info->n_peers = 0;
    info->peers = NULL;
    if (p->n_peers) {
        info->peers = calloc(p->n_peers, sizeof(*info->peers));
        if (!info->peers)
            goto nomem;
    }
    for (peer = p->peers_head; peer; peer = peer->next, i++) {
        struct wg_peer_info *pi = &info->peers[i];
        size_t n;

        info->n_peers = i + 1;
        memcpy(pi->public_key, peer->public_key, 32);
        pthread_mutex_lock(&peer->lock);
        pi->has_preshared_key = !sodium_is_zero(peer->handshake.preshared_key, 32);
        memcpy(pi->preshared_key, peer->handshake.preshared_key, 32);
        pi->has_endpoint = peer->endpoint.addr.sa.sa_family != AF_UNSPEC;
        pi->endpoint = peer->endpoint;
        pi->persistent_keepalive = peer->persistent_keepalive;
        pi->last_handshake = peer->last_handshake_real;
        pi->rx_bytes = peer->rx_bytes;
        pi->tx_bytes = peer->tx_bytes;
        pthread_mutex_unlock(&peer->lock);
        n = wg_allowedips_list(p->aips, peer, NULL, 0);
        if (n) {
            pi->allowed_ips = calloc(n, sizeof(*pi->allowed_ips));
            if (!pi->allowed_ips)
                goto nomem;
            pi->n_allowed_ips = wg_allowedips_list(p->aips, peer, pi->allowed_ips, n);
        }
    }
    pthread_rwlock_unlock(&p->cfg_lock);
    return 0;
nomem:
    pthread_rwlock_unlock(&p->cfg_lock);
    for (i = 0; i < info->n_peers; i++)
        free(info->peers[i].allowed_ips);
    if (info->peers)
        sodium_memzero(info->peers, info->n_peers * sizeof(*info->peers));
    free(info->peers);
    info->peers = NULL;
    info->n_peers = 0;
    sodium_memzero(info->private_key, 32);
    return -ENOMEM;
}
