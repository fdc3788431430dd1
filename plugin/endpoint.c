/* endpoint.c - a container's endpoint: its key, its device, its teardown.
 *
 * The private key is derived from (seed, additional, IPv4 address) at
 * CreateEndpoint, to fail early and record the public key, and again at
 * Join, where it goes into the device; it is wiped from our buffers right
 * after and never stored.  The state lock is never held while reading a seed
 * file or creating/destroying a device, so one slow container start never
 * delays another's calls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "plugin/attested_hub.h"
#include "plugin/endpoint.h"
#include "plugin/fdbudget.h"
#include "plugin/forward.h"
#include "plugin/link.h"
#include "plugin/log.h"

void ep_ifname(char out[PL_IFNAME_MAX], const char *endpoint_id)
{
    snprintf(out, PL_IFNAME_MAX, "wgv%.12s", endpoint_id);
}

/* Heap copy of a network's config, taken under the lock so that the slow
 * part can run without it. */
struct net_config *ep_copy_net_config(struct plugin *p, const char *net_id)
{
    struct pl_network *n = state_find_net(p->state, net_id);
    struct net_config *c;

    if (!n || !(c = malloc(sizeof(*c))))
        return NULL;
    memcpy(c, n->cfg, sizeof(*c));
    return c;
}

void ep_free_net_config(struct net_config *c)
{
    if (c) {
        net_config_wipe(c);
        free(c);
    }
}

/* priv (and pub) for an endpoint address of a network.  0 or -1 + err. */
static int derive(struct plugin *p, const struct net_config *cfg, const char *addr4,
                  uint8_t priv[KD_KEY_LEN], uint8_t pub[KD_KEY_LEN], char err[NET_ERR_MAX])
{
    struct net_secrets *s = NULL;
    struct kd_address addr;
    int ret = -1;

    if (kd_address_parse(&addr, addr4) || addr.family != AF_INET) {
        net_fail(err, "invalid IPv4 address '%.64s' for the endpoint", addr4);
        goto out;
    }
    s = net_secrets_load(cfg, p->seed_file, err);
    if (!s)
        goto out;
    if (kd_derive_private(priv, &s->seed, &s->additional, &addr) ||
        kd_public_from_private(pub, priv)) {
        sodium_memzero(priv, KD_KEY_LEN);
        net_fail(err, "key derivation failed");
        goto out;
    }
    ret = 0;
out:
    net_secrets_free(s);
    return ret;
}

int ep_create(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX])
{
    struct pl_endpoint ep;
    struct net_config *cfg;
    const json_t *iface;
    const char *addr4, *addr6, *mac;
    uint8_t priv[KD_KEY_LEN], pub[KD_KEY_LEN];
    struct pl_endpoint *old;
    int ret;

    memset(&ep, 0, sizeof(ep));
    if (pl_request_id(req, "NetworkID", ep.net_id, err) || pl_request_id(req, "EndpointID", ep.id, err))
        return -1;
    iface = json_object_get(req, "Interface");
    if (!json_is_object(iface))
        return net_fail(err, "no address for the endpoint: wgvsock needs Docker's IPAM to give "
                    "each container an IPv4 address (its key is derived from it)");
    addr4 = json_string_value(json_object_get(iface, "Address"));
    addr6 = json_string_value(json_object_get(iface, "AddressIPv6"));
    mac = json_string_value(json_object_get(iface, "MacAddress"));
    if (mac && *mac)
        return net_fail(err, "a wgvsock interface is a WireGuard (TUN) device and has no MAC "
                    "address; remove --mac-address");
    if (!addr4 || !*addr4)
        return net_fail(err, "no IPv4 address for the endpoint: wgvsock derives each container's "
                    "key from its IPv4 address");
    if (strlen(addr4) >= sizeof(ep.addr4) || (addr6 && strlen(addr6) >= sizeof(ep.addr6)))
        return net_fail(err, "malformed request: address too long");
    strcpy(ep.addr4, addr4);
    strcpy(ep.addr6, addr6 ? addr6 : "");
    if (*ep.addr6) {
        struct kd_address a6;
        if (kd_address_parse(&a6, ep.addr6) || a6.family != AF_INET6)
            return net_fail(err, "invalid IPv6 address '%.64s' for the endpoint", ep.addr6);
    }
    ep_ifname(ep.ifname, ep.id);

    state_lock(p->state);
    cfg = ep_copy_net_config(p, ep.net_id);
    state_unlock(p->state);
    if (!cfg)
        return net_fail(err, "network %.12s is not known to the wgvsock plugin (was its state "
                    "directory lost?); recreate the network", ep.net_id);

    ret = derive(p, cfg, ep.addr4, priv, pub, err);
    sodium_memzero(priv, sizeof(priv));
    /* Docker's IPAM hands out addresses of the network's subnets; anything
     * else would derive a key (and a tunnel address) the hub never expects.
     * (After derive(), which says what is wrong with a malformed address.) */
    if (!ret)
        ret = net_check_endpoint_address(cfg, ep.addr4, err) ||
              (*ep.addr6 && net_check_endpoint_address(cfg, ep.addr6, err));
    ep_free_net_config(cfg);
    if (ret)
        return -1;
    kd_key_to_b64(ep.pubkey, pub);

    state_lock(p->state);
    old = state_find_ep(p->state, ep.id);
    if (old) {
        /* A repeated CreateEndpoint for the same endpoint is harmless. */
        ret = (!strcmp(old->net_id, ep.net_id) && !strcmp(old->addr4, ep.addr4)) ? 0 : -EEXIST;
    } else if (!state_find_net(p->state, ep.net_id)) {
        ret = -ENOENT;
    } else if (state_find_ifname(p->state, ep.ifname)) {
        ret = -EADDRINUSE;
    } else {
        ret = state_add_ep(p->state, &ep);
    }
    state_unlock(p->state);
    switch (ret) {
    case 0:
        break;
    case -EEXIST:
        return net_fail(err, "endpoint %.12s already exists with another address or network", ep.id);
    case -ENOENT:
        return net_fail(err, "network %.12s was removed meanwhile", ep.net_id);
    case -EADDRINUSE:
        return net_fail(err, "interface name %s is already used by another endpoint", ep.ifname);
    default:
        return net_fail(err, "cannot save endpoint state: %s", strerror(-ret));
    }
    pl_crash_point("create:saved");
    pl_info("endpoint %.12s: %s on network %.12s, public key %s", ep.id, ep.addr4, ep.net_id,
            ep.pubkey);
    /* No "Interface": Docker chose the addresses and we add no MAC. */
    *resp = json_object();
    return 0;
}

bool ep_stream_no_crc(const struct plugin *p, const struct net_config *cfg)
{
    return cfg->transport != WG_TRANSPORT_UDP &&
           (cfg->stream_crc_set ? cfg->stream_no_crc : p->stream_no_crc);
}

void ep_tag(char out[EP_TAG_MAX], const char *endpoint_id)
{
    snprintf(out, EP_TAG_MAX, "%s%s", EP_TAG_PREFIX, endpoint_id);
}

int ep_make_device(struct plugin *p, const struct pl_endpoint *ep, struct net_config *cfg,
                   int adopt_netns, const struct link_info *adopt, void **dev,
                   char err[NET_ERR_MAX])
{
    struct wg_peer_config peer;
    struct wg_device_config dc;
    struct tunnel_spec spec;
    uint8_t pub[KD_KEY_LEN];
    char tag[EP_TAG_MAX];
    int ret = -1;

    memset(&dc, 0, sizeof(dc));
    memset(&peer, 0, sizeof(peer));
    if (derive(p, cfg, ep->addr4, dc.private_key, pub, err))
        goto out;
    dc.has_private_key = true;
    dc.replace_peers = true;
    dc.n_peers = 1;
    dc.peers = &peer;
    memcpy(peer.public_key, cfg->peer_key, KD_KEY_LEN);
    /* An attested hub (Join, or adoption after a plugin restart):
     * provisioned and verified before the device exists or is adopted, so
     * no packet reaches a hub that failed a check. */
    if (cfg->attest.mode != NET_ATTEST_OFF && ah_join(p, ep->net_id, cfg, peer.public_key, err))
        goto out;
    peer.has_endpoint = true;
    peer.endpoint = cfg->peer;
    peer.has_persistent_keepalive = true;
    peer.persistent_keepalive = cfg->keepalive;
    peer.replace_allowed_ips = true;
    peer.n_allowed_ips = cfg->n_allowed_ips;
    peer.allowed_ips = cfg->allowed_ips;
    ep_tag(tag, ep->id);
    spec = (struct tunnel_spec){
        .ifname = ep->ifname,
        .engine = cfg->engine,
        .tag = tag,
        .adopt_netns = adopt_netns,
        .adopt_ifname = adopt ? adopt->ifname : NULL,
        .adopt_ifindex = adopt ? adopt->ifindex : 0,
        .transport = cfg->transport,
        .stream_no_crc = ep_stream_no_crc(p, cfg),
        .mtu = cfg->mtu,
        .control_dir = p->control_dir ? p->control_dir : "",
        .config = &dc,
    };
    if (p->tun->create(p->tun_ctx, &spec, dev, err))
        goto out;
    ret = 0;
out:
    sodium_memzero(&dc, sizeof(dc));
    return ret;
}

static json_t *join_reply(const struct pl_endpoint *ep, const struct net_config *cfg)
{
    json_t *r = json_pack("{s:{s:s, s:s}, s:b}", "InterfaceName", "SrcName", ep->ifname,
                          "DstPrefix", "wg", "DisableGatewayService", 1);

    /* Gateway = the network's gateway (the hub's tunnel address) gives
     * "default via GW dev wg0" without docker_gwbridge, and keeps working
     * when the container is on several networks.  --internal: no default
     * route; the subnet's connected route still reaches the hub. */
    if (r && !cfg->internal) {
        if (*cfg->gateway4)
            json_object_set_new(r, "Gateway", json_string(cfg->gateway4));
        if (cfg->ipv6 && *cfg->gateway6 && *ep->addr6)
            json_object_set_new(r, "GatewayIPv6", json_string(cfg->gateway6));
    }
    return r;
}

/* A known endpoint named with another network: refused, changes nothing. */
static int wrong_network(char err[NET_ERR_MAX], const char *ep_id, const char *net_id)
{
    return net_fail(err, "endpoint %.12s is not on network %.12s", ep_id, net_id);
}

#define JOIN_WAIT_BUSY_MS 5000

int ep_join(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX])
{
    char net_id[PL_ID_MAX + 1], ep_id[PL_ID_MAX + 1];
    const char *sandbox_key;
    struct pl_endpoint *e, copy;
    struct net_config *cfg = NULL;
    void *dev = NULL;
    int ret = -1;

    if (pl_request_id(req, "NetworkID", net_id, err) || pl_request_id(req, "EndpointID", ep_id, err))
        return -1;
    sandbox_key = json_string_value(json_object_get(req, "SandboxKey"));
    if (!sandbox_key || strlen(sandbox_key) >= NET_PATH_MAX)
        sandbox_key = "";

    state_lock(p->state);
    e = state_find_ep(p->state, ep_id);
    /* Being adopted at start (adopt.c): that takes milliseconds; then the
     * answer is the same as for a repeated Join. */
    for (int i = 0; i < JOIN_WAIT_BUSY_MS / 10 && e && e->busy; i++) {
        state_unlock(p->state);
        usleep(10000);
        state_lock(p->state);
        e = state_find_ep(p->state, ep_id);
    }
    if (!e || strcmp(e->net_id, net_id)) {
        state_unlock(p->state);
        return net_fail(err, "endpoint %.12s is not known to the wgvsock plugin on network %.12s",
                    ep_id, net_id);
    }
    if (e->busy) {
        state_unlock(p->state);
        return net_fail(err, "endpoint %.12s is already being joined", ep_id);
    }
    cfg = ep_copy_net_config(p, net_id);
    if (!cfg) {
        state_unlock(p->state);
        return net_fail(err, "network %.12s is not known to the wgvsock plugin", net_id);
    }
    if (e->dev) {
        /* Already joined: same answer again. */
        *resp = join_reply(e, cfg);
        state_unlock(p->state);
        ep_free_net_config(cfg);
        return *resp ? 0 : net_fail(err, "out of memory");
    }
    /* Saved before the interface exists: a crash from here on leaves a
     * file that tells the next process to look for it. */
    e->joined = true;
    /* Where published ports are forwarded to (publish.c), and where the
     * next process looks for the interface first (adopt.c). */
    snprintf(e->sandbox_key, sizeof(e->sandbox_key), "%s", sandbox_key);
    ret = state_save_ep(p->state, e);
    if (ret) {
        e->joined = false;
        state_unlock(p->state);
        ep_free_net_config(cfg);
        return net_fail(err, "cannot save endpoint state: %s", strerror(-ret));
    }
    ret = -1;
    e->busy = true;
    copy = *e;
    state_unlock(p->state);
    pl_crash_point("join:saved");

    /* Refused whole, before anything exists, rather than EMFILE halfway;
     * a kernel device holds no fd of ours (its netlink sockets are gone
     * when create returns). */
    if ((cfg->engine != TUNNEL_KERNEL && fdbudget_check_join(err)) ||
        ep_make_device(p, &copy, cfg, -1, NULL, &dev, err))
        goto out;
    pl_crash_point("join:created");
    ret = 0;
out:

    state_lock(p->state);
    e = state_find_ep(p->state, ep_id);
    if (e) {
        e->busy = false;
        if (ret == 0) {
            e->dev = dev;
            dev = NULL;
        } else {
            e->joined = false;
            (void)state_save_ep(p->state, e);
        }
    } else if (ret == 0) {
        ret = net_fail(err, "endpoint %.12s was deleted during Join", ep_id);
    }
    if (ret == 0 && !(*resp = join_reply(&copy, cfg)))
        ret = net_fail(err, "out of memory");
    state_unlock(p->state);
    if (dev)
        p->tun->destroy(p->tun_ctx, dev);
    if (!e)     /* DeleteEndpoint left the file to us: the interface is gone now */
        state_unlink_ep(p->state, ep_id);
    if (ret == 0)
        pl_info("endpoint %.12s joined: %s, engine %s, MTU %u%s", ep_id, copy.ifname,
                net_engine_name(cfg->engine), cfg->mtu,
                ep_stream_no_crc(p, cfg) ? ", stream frames without CRC" : "");
    ep_free_net_config(cfg);
    return ret;
}

int ep_leave(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX])
{
    char net_id[PL_ID_MAX + 1], ep_id[PL_ID_MAX + 1];
    struct pl_endpoint *e;
    bool other;

    if (pl_request_id(req, "NetworkID", net_id, err) || pl_request_id(req, "EndpointID", ep_id, err))
        return -1;
    state_lock(p->state);
    e = state_find_ep(p->state, ep_id);
    other = e && strcmp(e->net_id, net_id);
    state_unlock(p->state);
    if (other)
        return wrong_network(err, ep_id, net_id);
    /* The device stays until DeleteEndpoint: libnetwork moves the interface
     * back to the host under its SrcName after Leave, and a Join may follow.
     * An unknown endpoint (plugin restarted) has nothing to undo. */
    *resp = json_object();
    return 0;
}

/* After a crash the old process's wg(8) sockets stay behind; remove the
 * endpoint's one if nothing answers on it any more. */
void ep_remove_stale_control(const char *dir, const char *ifname)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct stat st;
    int fd, r;

    if (!dir || !*dir ||
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock", dir, ifname) >=
            (int)sizeof(sun.sun_path) ||
        lstat(sun.sun_path, &st) || !S_ISSOCK(st.st_mode))
        return;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    if (r && errno == ECONNREFUSED && unlink(sun.sun_path) == 0)
        pl_info("removed stale control socket %s", sun.sun_path);
    close(fd);
}

enum tunnel_engine ep_engine(struct plugin *p, const struct pl_endpoint *e)
{
    enum tunnel_engine engine = TUNNEL_WGCORE;
    struct pl_network *n;

    state_lock(p->state);
    if ((n = state_find_net(p->state, e->net_id)))
        engine = n->cfg->engine;
    state_unlock(p->state);
    return engine;
}

void ep_forget(struct plugin *p, struct pl_endpoint *e)
{
    enum tunnel_engine engine = ep_engine(p, e);

    /* Docker revokes published ports first; this is in case it did not. */
    if (e->ports)
        fwd_unpublish(p->fwd, e->id);
    if (e->dev) {
        p->tun->destroy(p->tun_ctx, e->dev);
        e->dev = NULL;
        pl_crash_point("delete:destroyed");
    } else if (engine != TUNNEL_WGCORE) {
        /* Joined before a plugin restart; libnetwork moved the device
         * back under its name at Leave. */
        if (p->tun->destroy_stale)
            p->tun->destroy_stale(p->tun_ctx, engine, e->ifname);
    } else if (e->joined) {
        /* Not adopted (yet): its interface, if any, is back in our
         * namespace after Leave, or went away with the container's. */
        char tag[EP_TAG_MAX];
        struct link_info li;

        ep_tag(tag, e->id);
        if (!link_find_by_alias(-1, tag, &li) && !link_delete(li.ifname))
            pl_info("endpoint %.12s: deleted its interface %s", e->id, li.ifname);
    }
    ep_remove_stale_control(p->control_dir, e->ifname);
    state_unlink_ep(p->state, e->id);
    state_free_ep(e);
}

int ep_delete(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX])
{
    char net_id[PL_ID_MAX + 1], ep_id[PL_ID_MAX + 1];
    struct pl_endpoint *e;
    bool busy = false;

    if (pl_request_id(req, "NetworkID", net_id, err) || pl_request_id(req, "EndpointID", ep_id, err))
        return -1;
    state_lock(p->state);
    e = state_find_ep(p->state, ep_id);
    if (e && strcmp(e->net_id, net_id)) {
        state_unlock(p->state);
        return wrong_network(err, ep_id, net_id);
    }
    /* The file goes last, once the interface is gone (ep_forget); during a
     * Join or an adoption, whoever finishes it removes both. */
    e = state_remove_ep(p->state, ep_id);
    busy = e && e->busy;
    state_unlock(p->state);
    if (e && busy) {
        /* Docker revokes published ports first; this is in case it did not. */
        if (e->ports)
            fwd_unpublish(p->fwd, ep_id);
        pl_info("endpoint %.12s deleted while its device is being made", ep_id);
        state_free_ep(e);
    } else if (e) {
        ep_forget(p, e);
        pl_info("endpoint %.12s deleted", ep_id);
        ah_endpoint_gone(p, net_id);       /* an attested hub drops the peer */
    } else {
        /* Forgotten at start-up while its container was stopping: Leave
         * has given its interface back to us since. */
        char tag[EP_TAG_MAX];
        struct link_info li;

        ep_tag(tag, ep_id);
        if (!link_find_by_alias(-1, tag, &li) && !link_delete(li.ifname))
            pl_info("DeleteEndpoint for unknown endpoint %.12s: deleted its interface %s",
                    ep_id, li.ifname);
        else
            pl_debug("DeleteEndpoint for unknown endpoint %.12s: already gone", ep_id);
    }
    *resp = json_object();
    return 0;
}

int ep_info(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX])
{
    char net_id[PL_ID_MAX + 1], ep_id[PL_ID_MAX + 1];
    struct pl_endpoint *e;
    json_t *value = NULL;

    if (pl_request_id(req, "NetworkID", net_id, err) || pl_request_id(req, "EndpointID", ep_id, err))
        return -1;
    state_lock(p->state);
    e = state_find_ep(p->state, ep_id);
    if (e && strcmp(e->net_id, net_id)) {
        state_unlock(p->state);
        return wrong_network(err, ep_id, net_id);
    }
    if (e) {
        struct pl_network *n = state_find_net(p->state, e->net_id);
        value = json_pack("{s:s, s:s, s:b}", "InterfaceName", e->ifname, "PublicKey", e->pubkey,
                          "Joined", e->dev != NULL);
        /* The ports really bound, in Docker's key and shape. */
        if (value && e->ports)
            json_object_set_new(value, "com.docker.network.portmap", json_deep_copy(e->ports));
        if (value && n) {
            json_object_set_new(value, "Peer", json_string(n->cfg->peer_text));
            json_object_set_new(value, "Transport",
                                json_string(wg_transport_name(n->cfg->transport)));
            json_object_set_new(value, "Engine", json_string(net_engine_name(n->cfg->engine)));
        }
    } else {
        value = json_object();
    }
    state_unlock(p->state);
    if (!value)
        return net_fail(err, "out of memory");
    *resp = json_pack("{s:o}", "Value", value);
    return *resp ? 0 : net_fail(err, "out of memory");
}
