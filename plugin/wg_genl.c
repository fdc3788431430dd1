/* wg_genl.c - the WireGuard generic-netlink family on libmnl (see wg_genl.h).
 *
 * Messages are built in one heap buffer that is wiped after use, because a
 * SET carries the private key and preshared keys.  A device whose peers do
 * not fit one message is refused with -EMSGSIZE rather than split: the
 * plugin sets one peer, and splitting would make a SET non-atomic.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <netinet/in.h>

#include "plugin/wg_genl.h"

#define WG_GENL_BUF (64 * 1024)     /* one SET; also each dump read */
#define WG_GENL_PEERS_MAX (1u << 20)
#define WG_GENL_ALLOWEDIPS_MAX (1u << 20)

struct genl {
    struct mnl_socket *nl;
    unsigned portid;
    unsigned seq;
    uint16_t family;
    char *buf;
};

static void genl_close(struct genl *g)
{
    if (g->buf) {
        explicit_bzero(g->buf, WG_GENL_BUF);
        free(g->buf);
    }
    if (g->nl)
        mnl_socket_close(g->nl);
    memset(g, 0, sizeof(*g));
}

static int genl_open(struct genl *g)
{
    memset(g, 0, sizeof(*g));
    g->buf = malloc(WG_GENL_BUF);
    g->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
    if (!g->buf || !g->nl) {
        int ret = g->buf ? -errno : -ENOMEM;
        genl_close(g);
        return ret;
    }
    if (mnl_socket_bind(g->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int ret = -errno;
        genl_close(g);
        return ret;
    }
    g->portid = mnl_socket_get_portid(g->nl);
    g->seq = (unsigned)time(NULL);
    return 0;
}

/* A request header for family/cmd in g->buf. */
static struct nlmsghdr *genl_start(struct genl *g, uint16_t family, uint8_t cmd, uint16_t flags)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(g->buf);
    struct genlmsghdr *gh;

    nlh->nlmsg_type = family;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    nlh->nlmsg_seq = ++g->seq;
    gh = mnl_nlmsg_put_extra_header(nlh, sizeof(*gh));
    gh->cmd = cmd;
    gh->version = family == GENL_ID_CTRL ? 1 : WG_GENL_VERSION;
    return nlh;
}

/* Sends nlh and feeds every reply to cb until the ack or the dump's end.
 * 0 or -errno (the kernel's error for the request included). */
static int genl_talk(struct genl *g, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
    unsigned seq = nlh->nlmsg_seq;
    ssize_t n;
    int ret;

    n = mnl_socket_sendto(g->nl, nlh, nlh->nlmsg_len);
    explicit_bzero(g->buf, nlh->nlmsg_len);     /* keys: sent, not kept */
    if (n < 0)
        return -errno;
    for (;;) {
        n = mnl_socket_recvfrom(g->nl, g->buf, WG_GENL_BUF);
        if (n < 0)
            return -errno;
        ret = mnl_cb_run(g->buf, (size_t)n, seq, g->portid, cb, data);
        if (ret < 0)
            return errno ? -errno : -EIO;
        if (ret == MNL_CB_STOP)
            return 0;
    }
}

static int family_attr_cb(const struct nlattr *attr, void *data)
{
    if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID &&
        mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
        *(uint16_t *)data = mnl_attr_get_u16(attr);
    return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
    return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr_cb, data);
}

/* Resolves the "wireguard" family into g->family; -ENOENT if absent. */
static int genl_resolve(struct genl *g)
{
    struct nlmsghdr *nlh = genl_start(g, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
    uint16_t id = 0;
    int ret;

    mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
    ret = genl_talk(g, nlh, family_cb, &id);
    if (ret)
        return ret;
    if (!id)
        return -ENOENT;
    g->family = id;
    return 0;
}

static int genl_open_wg(struct genl *g)
{
    int ret = genl_open(g);

    if (!ret && (ret = genl_resolve(g)))
        genl_close(g);
    return ret;
}

int wg_genl_probe(void)
{
    struct genl g;
    int ret = genl_open_wg(&g);

    if (!ret)
        genl_close(&g);
    return ret;
}

static bool ifname_ok(const char *ifname)
{
    size_t len = ifname ? strlen(ifname) : 0;

    return len > 0 && len < 16;
}

/* ---- SET ---- */

static bool put_allowedips(struct nlmsghdr *nlh, const struct wg_peer_config *p)
{
    struct nlattr *list = mnl_attr_nest_start_check(nlh, WG_GENL_BUF, WGPEER_A_ALLOWEDIPS);

    if (!list)
        return false;
    for (size_t i = 0; i < p->n_allowed_ips; i++) {
        const struct wg_allowedip *a = &p->allowed_ips[i];
        struct nlattr *one = mnl_attr_nest_start_check(nlh, WG_GENL_BUF, (uint16_t)i);

        if (!one ||
            !mnl_attr_put_u16_check(nlh, WG_GENL_BUF, WGALLOWEDIP_A_FAMILY, a->family) ||
            !mnl_attr_put_check(nlh, WG_GENL_BUF, WGALLOWEDIP_A_IPADDR,
                                a->family == AF_INET ? 4 : 16, a->ip) ||
            !mnl_attr_put_u8_check(nlh, WG_GENL_BUF, WGALLOWEDIP_A_CIDR_MASK, a->cidr))
            return false;
        mnl_attr_nest_end(nlh, one);
    }
    mnl_attr_nest_end(nlh, list);
    return true;
}

static bool put_peer(struct nlmsghdr *nlh, const struct wg_peer_config *p, uint16_t index)
{
    struct nlattr *nest = mnl_attr_nest_start_check(nlh, WG_GENL_BUF, index);
    uint32_t flags = (p->remove ? WGPEER_F_REMOVE_ME : 0) |
                     (p->update_only ? WGPEER_F_UPDATE_ONLY : 0) |
                     (p->replace_allowed_ips ? WGPEER_F_REPLACE_ALLOWEDIPS : 0);

    if (!nest ||
        !mnl_attr_put_check(nlh, WG_GENL_BUF, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->public_key) ||
        (flags && !mnl_attr_put_u32_check(nlh, WG_GENL_BUF, WGPEER_A_FLAGS, flags)))
        return false;
    if (!p->remove) {
        if (p->has_preshared_key &&
            !mnl_attr_put_check(nlh, WG_GENL_BUF, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN,
                                p->preshared_key))
            return false;
        if (p->has_endpoint &&
            !mnl_attr_put_check(nlh, WG_GENL_BUF, WGPEER_A_ENDPOINT,
                                p->endpoint.addr.sa.sa_family == AF_INET ?
                                sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6),
                                &p->endpoint.addr))
            return false;
        if (p->has_persistent_keepalive &&
            !mnl_attr_put_u16_check(nlh, WG_GENL_BUF, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
                                    p->persistent_keepalive))
            return false;
        if ((p->n_allowed_ips || p->replace_allowed_ips) && !put_allowedips(nlh, p))
            return false;
    }
    mnl_attr_nest_end(nlh, nest);
    return true;
}

/* What the kernel would refuse less clearly, refused here first. */
static int check_config(const struct wg_device_config *cfg)
{
    if (cfg->n_peers > UINT16_MAX || (cfg->n_peers && !cfg->peers))
        return -EINVAL;
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const struct wg_peer_config *p = &cfg->peers[i];
        sa_family_t af = p->endpoint.addr.sa.sa_family;

        if (p->has_endpoint && af != AF_INET && af != AF_INET6)
            return -EAFNOSUPPORT;
        if (p->n_allowed_ips > UINT16_MAX || (p->n_allowed_ips && !p->allowed_ips))
            return -EINVAL;
        for (size_t j = 0; j < p->n_allowed_ips; j++) {
            const struct wg_allowedip *a = &p->allowed_ips[j];
            if (!(a->family == AF_INET && a->cidr <= 32) &&
                !(a->family == AF_INET6 && a->cidr <= 128))
                return -EINVAL;
        }
    }
    return 0;
}

int wg_genl_set_device(const char *ifname, const struct wg_device_config *cfg)
{
    struct nlmsghdr *nlh;
    struct nlattr *peers;
    struct genl g;
    bool ok;
    int ret;

    if (!ifname_ok(ifname) || !cfg)
        return -EINVAL;
    if ((ret = check_config(cfg)))
        return ret;
    if ((ret = genl_open_wg(&g)))
        return ret;
    nlh = genl_start(&g, g.family, WG_CMD_SET_DEVICE, 0);
    ok = mnl_attr_put_strz_check(nlh, WG_GENL_BUF, WGDEVICE_A_IFNAME, ifname);
    if (ok && cfg->has_private_key)
        ok = mnl_attr_put_check(nlh, WG_GENL_BUF, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN,
                                cfg->private_key);
    if (ok && cfg->has_listen_port)
        ok = mnl_attr_put_u16_check(nlh, WG_GENL_BUF, WGDEVICE_A_LISTEN_PORT, cfg->listen_port);
    if (ok && cfg->has_fwmark)
        ok = mnl_attr_put_u32_check(nlh, WG_GENL_BUF, WGDEVICE_A_FWMARK, cfg->fwmark);
    if (ok && cfg->replace_peers)
        ok = mnl_attr_put_u32_check(nlh, WG_GENL_BUF, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS);
    if (ok && cfg->n_peers) {
        peers = mnl_attr_nest_start_check(nlh, WG_GENL_BUF, WGDEVICE_A_PEERS);
        ok = peers != NULL;
        for (size_t i = 0; ok && i < cfg->n_peers; i++)
            ok = put_peer(nlh, &cfg->peers[i], (uint16_t)i);
        if (ok)
            mnl_attr_nest_end(nlh, peers);
    }
    ret = ok ? genl_talk(&g, nlh, NULL, NULL) : -EMSGSIZE;
    genl_close(&g);
    return ret;
}

/* ---- GET ---- */

struct get_ctx {
    struct wg_device_info *info;
    size_t peers_cap;
    size_t *ips_cap;            /* per peer */
    struct wg_peer_info *peer;  /* being parsed */
    int err;
};

/* Grows *arr (of *cap elements of size) to hold n + 1; false on failure. */
static bool grow(void **arr, size_t *cap, size_t n, size_t size, size_t max)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return true;
    if (n >= max)
        return false;
    ncap = *cap ? *cap * 2 : 4;
    if (ncap > max)
        ncap = max;
    p = realloc(*arr, ncap * size);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

static int allowedip_attr_cb(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    uint16_t type = mnl_attr_get_type(attr);

    if (type <= WGALLOWEDIP_A_MAX)
        tb[type] = attr;
    return MNL_CB_OK;
}

static int allowedip_cb(const struct nlattr *attr, void *data)
{
    struct get_ctx *c = data;
    const struct nlattr *tb[WGALLOWEDIP_A_MAX + 1] = { 0 };
    struct wg_peer_info *p = c->peer;
    size_t idx = (size_t)(p - c->info->peers);
    struct wg_allowedip *a;
    uint16_t family;
    size_t len;

    if (mnl_attr_parse_nested(attr, allowedip_attr_cb, tb) < 0 ||
        !tb[WGALLOWEDIP_A_FAMILY] || !tb[WGALLOWEDIP_A_IPADDR] || !tb[WGALLOWEDIP_A_CIDR_MASK] ||
        mnl_attr_validate(tb[WGALLOWEDIP_A_FAMILY], MNL_TYPE_U16) ||
        mnl_attr_validate(tb[WGALLOWEDIP_A_CIDR_MASK], MNL_TYPE_U8))
        goto bad;
    family = mnl_attr_get_u16(tb[WGALLOWEDIP_A_FAMILY]);
    len = mnl_attr_get_payload_len(tb[WGALLOWEDIP_A_IPADDR]);
    if (!((family == AF_INET && len == 4) || (family == AF_INET6 && len == 16)))
        goto bad;
    if (!grow((void **)&p->allowed_ips, &c->ips_cap[idx], p->n_allowed_ips,
              sizeof(*p->allowed_ips), WG_GENL_ALLOWEDIPS_MAX)) {
        c->err = -ENOMEM;
        return MNL_CB_ERROR;
    }
    a = &p->allowed_ips[p->n_allowed_ips++];
    memset(a, 0, sizeof(*a));
    a->family = (uint8_t)family;
    a->cidr = mnl_attr_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]);
    memcpy(a->ip, mnl_attr_get_payload(tb[WGALLOWEDIP_A_IPADDR]), len);
    return MNL_CB_OK;
bad:
    c->err = -EPROTO;
    return MNL_CB_ERROR;
}

static int peer_attr_cb(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    uint16_t type = mnl_attr_get_type(attr);

    if (type <= WGPEER_A_MAX)
        tb[type] = attr;
    return MNL_CB_OK;
}

static bool is_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;

    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* One peer nest; a peer continued from the previous message (its
 * allowed-ips did not fit) repeats only its key and carries more ips. */
static int peer_cb(const struct nlattr *attr, void *data)
{
    struct get_ctx *c = data;
    struct wg_device_info *info = c->info;
    const struct nlattr *tb[WGPEER_A_MAX + 1] = { 0 };
    const uint8_t *key;
    struct wg_peer_info *p;

    if (mnl_attr_parse_nested(attr, peer_attr_cb, tb) < 0 || !tb[WGPEER_A_PUBLIC_KEY] ||
        mnl_attr_get_payload_len(tb[WGPEER_A_PUBLIC_KEY]) != WG_KEY_LEN)
        goto bad;
    key = mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]);
    if (info->n_peers && !memcmp(info->peers[info->n_peers - 1].public_key, key, WG_KEY_LEN)) {
        p = &info->peers[info->n_peers - 1];
    } else {
        size_t old_cap = c->peers_cap;
        size_t *ips_cap;

        if (!grow((void **)&info->peers, &c->peers_cap, info->n_peers, sizeof(*info->peers),
                  WG_GENL_PEERS_MAX))
            goto nomem;
        if (c->peers_cap != old_cap) {
            ips_cap = realloc(c->ips_cap, c->peers_cap * sizeof(*ips_cap));
            if (!ips_cap)
                goto nomem;
            c->ips_cap = ips_cap;
        }
        p = &info->peers[info->n_peers];
        memset(p, 0, sizeof(*p));
        c->ips_cap[info->n_peers] = 0;
        info->n_peers++;
        memcpy(p->public_key, key, WG_KEY_LEN);
    }
    if (tb[WGPEER_A_PRESHARED_KEY]) {
        if (mnl_attr_get_payload_len(tb[WGPEER_A_PRESHARED_KEY]) != WG_KEY_LEN)
            goto bad;
        memcpy(p->preshared_key, mnl_attr_get_payload(tb[WGPEER_A_PRESHARED_KEY]), WG_KEY_LEN);
        p->has_preshared_key = !is_zero(p->preshared_key, WG_KEY_LEN);
    }
    if (tb[WGPEER_A_ENDPOINT]) {
        size_t len = mnl_attr_get_payload_len(tb[WGPEER_A_ENDPOINT]);
        const struct sockaddr *sa = mnl_attr_get_payload(tb[WGPEER_A_ENDPOINT]);

        if ((len == sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) ||
            (len == sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6)) {
            memset(&p->endpoint, 0, sizeof(p->endpoint));
            memcpy(&p->endpoint.addr, sa, len);
            p->has_endpoint = true;
        } else {
            goto bad;
        }
    }
    if (tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) {
        if (mnl_attr_validate(tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL], MNL_TYPE_U16))
            goto bad;
        p->persistent_keepalive = mnl_attr_get_u16(tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
    }
    if (tb[WGPEER_A_LAST_HANDSHAKE_TIME]) {
        /* struct __kernel_timespec: two s64 */
        int64_t ts[2];
        if (mnl_attr_get_payload_len(tb[WGPEER_A_LAST_HANDSHAKE_TIME]) != sizeof(ts))
            goto bad;
        memcpy(ts, mnl_attr_get_payload(tb[WGPEER_A_LAST_HANDSHAKE_TIME]), sizeof(ts));
        p->last_handshake.tv_sec = (time_t)ts[0];
        p->last_handshake.tv_nsec = (long)ts[1];
    }
    if (tb[WGPEER_A_RX_BYTES] && !mnl_attr_validate(tb[WGPEER_A_RX_BYTES], MNL_TYPE_U64))
        p->rx_bytes = mnl_attr_get_u64(tb[WGPEER_A_RX_BYTES]);
    if (tb[WGPEER_A_TX_BYTES] && !mnl_attr_validate(tb[WGPEER_A_TX_BYTES], MNL_TYPE_U64))
        p->tx_bytes = mnl_attr_get_u64(tb[WGPEER_A_TX_BYTES]);
    if (tb[WGPEER_A_ALLOWEDIPS]) {
        c->peer = p;
        if (mnl_attr_parse_nested(tb[WGPEER_A_ALLOWEDIPS], allowedip_cb, c) < 0)
            return MNL_CB_ERROR;
    }
    return MNL_CB_OK;
nomem:
    c->err = -ENOMEM;
    return MNL_CB_ERROR;
bad:
    c->err = -EPROTO;
    return MNL_CB_ERROR;
}

static int device_attr_cb(const struct nlattr *attr, void *data)
{
    struct get_ctx *c = data;
    struct wg_device_info *info = c->info;

    switch (mnl_attr_get_type(attr)) {
    case WGDEVICE_A_PRIVATE_KEY:
        if (mnl_attr_get_payload_len(attr) != WG_KEY_LEN)
            break;
        memcpy(info->private_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
        info->has_private_key = !is_zero(info->private_key, WG_KEY_LEN);
        break;
    case WGDEVICE_A_PUBLIC_KEY:
        if (mnl_attr_get_payload_len(attr) == WG_KEY_LEN)
            memcpy(info->public_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
        break;
    case WGDEVICE_A_LISTEN_PORT:
        if (!mnl_attr_validate(attr, MNL_TYPE_U16))
            info->listen_port = mnl_attr_get_u16(attr);
        break;
    case WGDEVICE_A_FWMARK:
        if (!mnl_attr_validate(attr, MNL_TYPE_U32))
            info->fwmark = mnl_attr_get_u32(attr);
        break;
    case WGDEVICE_A_PEERS:
        return mnl_attr_parse_nested(attr, peer_cb, c) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
    }
    return MNL_CB_OK;
}

static int device_cb(const struct nlmsghdr *nlh, void *data)
{
    return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), device_attr_cb, data);
}

int wg_genl_get_device(const char *ifname, struct wg_device_info **out)
{
    struct get_ctx c = { 0 };
    struct nlmsghdr *nlh;
    struct genl g;
    int ret;

    *out = NULL;
    if (!ifname_ok(ifname))
        return -EINVAL;
    c.info = calloc(1, sizeof(*c.info));
    if (!c.info)
        return -ENOMEM;
    if ((ret = genl_open_wg(&g))) {
        wg_device_info_free(c.info);
        return ret;
    }
    nlh = genl_start(&g, g.family, WG_CMD_GET_DEVICE, NLM_F_DUMP);
    mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
    ret = genl_talk(&g, nlh, device_cb, &c);
    if (ret && c.err)
        ret = c.err;
    genl_close(&g);
    free(c.ips_cap);
    if (ret) {
        wg_device_info_free(c.info);
        return ret;
    }
    *out = c.info;
    return 0;
}
