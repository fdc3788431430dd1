/* wg_netlink_tool.c - a command line over plugin/link.c and plugin/wg_genl.c,
 * for the QEMU guest (the host kernel has no WireGuard).  The guest script
 * drives it and checks every result with wg(8) and ip(8), so the plugin's
 * netlink code is tested against the kernel, not against itself:
 *
 *   wg_netlink_tool probe
 *   wg_netlink_tool create IFNAME MTU
 *   wg_netlink_tool kind IFNAME
 *   wg_netlink_tool set IFNAME [private-key FILE] [listen-port N] [fwmark N]
 *       [replace-peers] [peer PUBKEY [remove] [preshared-key FILE]
 *       [endpoint IP:PORT] [persistent-keepalive N] [allowed-ips CIDR,...]
 *       [replace-allowed-ips]]...
 *   wg_netlink_tool showconf IFNAME      (the format of `wg showconf`)
 *   wg_netlink_tool move IFNAME PID [NEWNAME]
 *   wg_netlink_tool delete IFNAME
 *
 * Exit status 0, or 1 with the error (strerror of the -errno) on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyderive/keyderive.h"
#include "plugin/link.h"
#include "plugin/options.h"
#include "plugin/wg_genl.h"

#define MAX_PEERS 16

static int fail(const char *what, int err)
{
    fprintf(stderr, "wg_netlink_tool: %s: %s\n", what, strerror(-err));
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: wg_netlink_tool probe|create|kind|set|showconf|move|delete ...\n");
    return 2;
}

static int read_key_file(const char *path, uint8_t key[WG_KEY_LEN])
{
    char buf[128] = "";
    FILE *f = fopen(path, "r");

    if (!f || !fgets(buf, sizeof(buf), f)) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return kd_key_from_b64(key, buf);
}

static int number(const char *s, unsigned long max, unsigned long *out)
{
    char *end;

    errno = 0;
    *out = strtoul(s, &end, 0);
    return (errno || end == s || *end || *out > max) ? -1 : 0;
}

static int cmd_set(const char *ifname, int argc, char **argv)
{
    static struct wg_peer_config peers[MAX_PEERS];
    static struct wg_allowedip ips[MAX_PEERS][NET_ALLOWED_IPS_MAX];
    struct wg_device_config cfg = { .peers = peers };
    struct wg_peer_config *p = NULL;
    char err[NET_ERR_MAX];
    unsigned long n;
    int ret;

    for (int i = 0; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(k, "replace-peers")) {
            cfg.replace_peers = true;
        } else if (p && !strcmp(k, "remove")) {
            p->remove = true;
        } else if (p && !strcmp(k, "replace-allowed-ips")) {
            p->replace_allowed_ips = true;
        } else if (!v) {
            return usage();
        } else if (!p && !strcmp(k, "private-key")) {
            if (read_key_file(v, cfg.private_key))
                return fail(v, -EINVAL);
            cfg.has_private_key = true, i++;
        } else if (!p && !strcmp(k, "listen-port")) {
            if (number(v, 65535, &n))
                return fail(v, -EINVAL);
            cfg.has_listen_port = true, cfg.listen_port = (uint16_t)n, i++;
        } else if (!p && !strcmp(k, "fwmark")) {
            if (number(v, UINT32_MAX, &n))
                return fail(v, -EINVAL);
            cfg.has_fwmark = true, cfg.fwmark = (uint32_t)n, i++;
        } else if (!strcmp(k, "peer")) {
            if (cfg.n_peers == MAX_PEERS)
                return fail("peer", -E2BIG);
            p = &peers[cfg.n_peers];
            p->allowed_ips = ips[cfg.n_peers++];
            if (kd_key_from_b64(p->public_key, v))
                return fail(v, -EINVAL);
            i++;
        } else if (p && !strcmp(k, "preshared-key")) {
            if (read_key_file(v, p->preshared_key))
                return fail(v, -EINVAL);
            p->has_preshared_key = true, i++;
        } else if (p && !strcmp(k, "endpoint")) {
            if (wg_sockaddr_parse(&p->endpoint, v, false))
                return fail(v, -EINVAL);
            p->has_endpoint = true, i++;
        } else if (p && !strcmp(k, "persistent-keepalive")) {
            if (number(v, 65535, &n))
                return fail(v, -EINVAL);
            p->has_persistent_keepalive = true, p->persistent_keepalive = (uint16_t)n, i++;
        } else if (p && !strcmp(k, "allowed-ips")) {
            if (net_parse_allowed_ips(v, p->allowed_ips, NET_ALLOWED_IPS_MAX, &p->n_allowed_ips,
                                      err)) {
                fprintf(stderr, "wg_netlink_tool: %s\n", err);
                return 1;
            }
            i++;
        } else {
            return usage();
        }
    }
    ret = wg_genl_set_device(ifname, &cfg);
    explicit_bzero(&cfg, sizeof(cfg));
    explicit_bzero(peers, sizeof(peers));
    return ret ? fail("set", ret) : 0;
}

static void print_key(const char *name, const uint8_t key[WG_KEY_LEN])
{
    char b64[KD_KEY_B64_LEN + 1];

    kd_key_to_b64(b64, key);
    printf("%s = %s\n", name, b64);
}

/* The layout of wireguard-tools' showconf, so the guest can diff the two. */
static int cmd_showconf(const char *ifname)
{
    struct wg_device_info *info;
    int ret = wg_genl_get_device(ifname, &info);

    if (ret)
        return fail("get", ret);
    printf("[Interface]\n");
    if (info->listen_port)
        printf("ListenPort = %u\n", info->listen_port);
    if (info->fwmark)
        printf("FwMark = 0x%x\n", info->fwmark);
    if (info->has_private_key)
        print_key("PrivateKey", info->private_key);
    for (size_t i = 0; i < info->n_peers; i++) {
        const struct wg_peer_info *p = &info->peers[i];
        char ep[WG_SOCKADDR_STR_MAX], ip[INET6_ADDRSTRLEN];

        printf("\n[Peer]\n");
        print_key("PublicKey", p->public_key);
        if (p->has_preshared_key)
            print_key("PresharedKey", p->preshared_key);
        if (p->n_allowed_ips)
            printf("AllowedIPs = ");
        for (size_t j = 0; j < p->n_allowed_ips; j++) {
            const struct wg_allowedip *a = &p->allowed_ips[j];
            inet_ntop(a->family, a->ip, ip, sizeof(ip));
            printf("%s%s/%u", j ? ", " : "", ip, a->cidr);
        }
        if (p->n_allowed_ips)
            printf("\n");
        if (p->has_endpoint) {
            wg_sockaddr_format(&p->endpoint, ep);
            printf("Endpoint = %s\n", ep);
        }
        if (p->persistent_keepalive)
            printf("PersistentKeepalive = %u\n", p->persistent_keepalive);
    }
    wg_device_info_free(info);
    return 0;
}

static int cmd_move(const char *ifname, const char *pid, const char *newname)
{
    char path[64];
    int fd, ret;

    snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(path, -errno);
    ret = link_move(ifname, fd, newname);
    close(fd);
    return ret ? fail("move", ret) : 0;
}

int main(int argc, char **argv)
{
    char kind[32];
    unsigned long mtu;
    int ret;

    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "probe")) {
        ret = wg_genl_probe();
        return ret ? fail("wireguard genetlink family", ret) : 0;
    }
    if (argc < 3)
        return usage();
    if (!strcmp(argv[1], "create") && argc == 4) {
        if (number(argv[3], 65535, &mtu))
            return usage();
        ret = link_create(argv[2], "wireguard", (unsigned)mtu);
        return ret ? fail("create", ret) : 0;
    }
    if (!strcmp(argv[1], "kind") && argc == 3) {
        if ((ret = link_get(argv[2], kind, sizeof(kind), NULL)))
            return fail("kind", ret);
        printf("%s\n", kind);
        return 0;
    }
    if (!strcmp(argv[1], "set"))
        return cmd_set(argv[2], argc - 3, argv + 3);
    if (!strcmp(argv[1], "showconf") && argc == 3)
        return cmd_showconf(argv[2]);
    if (!strcmp(argv[1], "move") && (argc == 4 || argc == 5))
        return cmd_move(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
    if (!strcmp(argv[1], "delete") && argc == 3) {
        ret = link_delete(argv[2]);
        return ret ? fail("delete", ret) : 0;
    }
    return usage();
}
