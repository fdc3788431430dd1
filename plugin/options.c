/* options.c - CreateNetwork options and IPAM data -> struct net_config.
 *
 * Every message here is shown by `docker network create` to a person, so it
 * names the option, says what was wrong and what is expected.  Secrets (the
 * seed) are never copied into a message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "plugin/options.h"
#include "wgcore/secret_mem.h"

#define SEED_FILE_MAX (16 * 1024)

static const char *const engine_names[] = {
    [TUNNEL_AUTO] = "auto", [TUNNEL_WGCORE] = "wgcore", [TUNNEL_KERNEL] = "kernel",
};

const char *net_engine_name(enum tunnel_engine e)
{
    return (unsigned)e < sizeof(engine_names) / sizeof(engine_names[0]) ? engine_names[e] : "?";
}

int net_engine_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(engine_names) / sizeof(engine_names[0]); i++)
        if (!strcmp(name, engine_names[i]))
            return (int)i;
    return -1;
}

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Strict decimal in [min, max]: no sign, no spaces, no hex, no empty. */
static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;

    if (!*s || strlen(s) > 10)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* "A.B.C.D/len" or "IPV6/len" -> allowed-ip (host bits cleared, as wg does). */
static int parse_cidr(const char *text, struct wg_allowedip *out)
{
    char buf[NET_ADDR_TEXT_MAX];
    const char *slash = strchr(text, '/');
    unsigned long cidr;
    size_t len;

    if (!slash || (len = (size_t)(slash - text)) == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->ip) == 1) {
        out->family = AF_INET;
        if (parse_uint(slash + 1, 0, 32, &cidr))
            return -1;
    } else if (inet_pton(AF_INET6, buf, out->ip) == 1) {
        out->family = AF_INET6;
        if (parse_uint(slash + 1, 0, 128, &cidr))
            return -1;
    } else {
        return -1;
    }
    out->cidr = (uint8_t)cidr;
    for (unsigned i = 0; i < 16; i++) {
        unsigned bit = i * 8;
        if (bit >= cidr)
            out->ip[i] = 0;
        else if (cidr - bit < 8)
            out->ip[i] &= (uint8_t)(0xff << (8 - (cidr - bit)));
    }
    return 0;
}

int net_parse_allowed_ips(const char *text, struct wg_allowedip *out, size_t max,
                          size_t *n, char err[NET_ERR_MAX])
{
    const char *p = text;

    *n = 0;
    while (*p) {
        char item[NET_ADDR_TEXT_MAX];
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        /* Tolerate spaces after commas, as wg(8) does. */
        while (len && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0 || len >= sizeof(item))
            return net_fail(err, "wgvsock.allowed-ips: expected a comma-separated list of "
                        "addresses with prefix length, e.g. 0.0.0.0/0,::/0");
        memcpy(item, p, len);
        item[len] = '\0';
        if (*n == max)
            return net_fail(err, "wgvsock.allowed-ips: more than %zu entries", max);
        if (parse_cidr(item, &out[*n]))
            return net_fail(err, "wgvsock.allowed-ips: '%s' is not an address with a prefix "
                        "length (e.g. 10.0.0.0/8 or fd00::/64)", item);
        (*n)++;
        if (!end)
            break;
        p = end + 1;
        if (!*p)
            return net_fail(err, "wgvsock.allowed-ips: trailing comma");
    }
    if (*n == 0)
        return net_fail(err, "wgvsock.allowed-ips: empty; give e.g. 0.0.0.0/0,::/0");
    return 0;
}

/* Decode base64 into a scratch secret just to check it; wipes it again. */
static int check_b64_secret(const char *b64, bool allow_empty)
{
    struct kd_secret *s = wg_secret_alloc(sizeof(*s));
    int ret;

    if (!s)
        return -1;
    ret = kd_secret_from_b64(s, b64);
    if (ret == 0 && !allow_empty && s->len == 0)
        ret = -1;
    wg_secret_free(s, sizeof(*s));
    return ret;
}

int net_read_seed_file(const char *path, struct kd_secret *seed, char err[NET_ERR_MAX])
{
    char *buf;
    ssize_t n;
    size_t len = 0;
    struct stat st;
    int fd, ret = -1;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return net_fail(err, "cannot open seed file %s: %s", path, strerror(errno));
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return net_fail(err, "seed file %s is not a regular file", path);
    }
    buf = wg_secret_alloc(SEED_FILE_MAX + 1);
    if (!buf) {
        close(fd);
        return net_fail(err, "out of memory reading seed file %s", path);
    }
    while (len < SEED_FILE_MAX + 1) {
        n = read(fd, buf + len, SEED_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            net_fail(err, "cannot read seed file %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > SEED_FILE_MAX) {
        net_fail(err, "seed file %s is larger than %d bytes; it should hold one base64 line",
             path, SEED_FILE_MAX);
        goto out;
    }
    buf[len] = '\0';
    if (memchr(buf, '\0', len) || kd_secret_from_b64(seed, buf) || seed->len == 0) {
        kd_secret_wipe(seed);
        /* Never suggest writing to path: it may be any file (a typo
         * naming /etc/shadow), and overwriting it would be the damage. */
        net_fail(err, "seed file %s does not hold a base64 seed (one line of base64; "
             "see docs/KEYDERIVE.md to create a seed in a new file)", path);
        goto out;
    }
    ret = 0;
out:
    wg_secret_free(buf, SEED_FILE_MAX + 1);
    close(fd);
    return ret;
}

int net_config_secrets(const struct net_config *cfg, const char *plugin_seed_file,
                       struct kd_secret *seed, struct kd_secret *additional,
                       char err[NET_ERR_MAX])
{
    switch (cfg->seed_source) {
    case NET_SEED_OPTION:
        if (kd_secret_from_b64(seed, cfg->seed_b64) || seed->len == 0)
            return net_fail(err, "wgvsock.seed is not valid base64");
        break;
    case NET_SEED_FILE:
        if (net_read_seed_file(cfg->seed_file, seed, err))
            return -1;
        break;
    case NET_SEED_PLUGIN:
        if (!plugin_seed_file || !*plugin_seed_file)
            return net_fail(err, "no seed for this network: set WGVSOCK_SEED_FILE in the "
                        "plugin's environment (recommended), or give -o wgvsock.seed-file=PATH "
                        "or -o wgvsock.seed=BASE64");
        if (net_read_seed_file(plugin_seed_file, seed, err))
            return -1;
        break;
    }
    if (cfg->seed_fp_set) {
        uint8_t fp[SEED_FP_LEN];
        char mine[SEED_FP_HEX_LEN + 1], theirs[SEED_FP_HEX_LEN + 1];

        seed_fp_compute(seed, fp);
        if (sodium_memcmp(fp, cfg->seed_fp, SEED_FP_LEN)) {
            kd_secret_wipe(seed);
            seed_fp_to_hex(fp, mine);
            seed_fp_to_hex(cfg->seed_fp, theirs);
            return net_fail(err, "this node's seed is not the network's: its fingerprint is %s, "
                            "the network was created with seed fingerprint %s (every node of a "
                            "swarm needs the same seed: copy the manager's plugin seed file, "
                            "whose path make plugin-seed prints, over this node's)",
                            mine, theirs);
        }
    }
    if (kd_secret_from_b64(additional, cfg->additional_b64)) {
        kd_secret_wipe(seed);
        return net_fail(err, "wgvsock.additional is not valid base64");
    }
    return 0;
}

struct net_secrets *net_secrets_load(const struct net_config *cfg, const char *plugin_seed_file,
                                     char err[NET_ERR_MAX])
{
    struct net_secrets *s = wg_secret_alloc(sizeof(*s));

    if (!s) {
        net_fail(err, "out of memory");
        return NULL;
    }
    if (net_config_secrets(cfg, plugin_seed_file, &s->seed, &s->additional, err)) {
        wg_secret_free(s, sizeof(*s));
        return NULL;
    }
    return s;
}

void net_secrets_free(struct net_secrets *s)
{
    wg_secret_free(s, sizeof(*s));
}

/* Option value from the generic map by canonical name or alias; both given
 * with different values is an error (which one would the operator mean?). */
static int get_opt(const json_t *generic, const char *name, const char *alias, const char **out,
                   char err[NET_ERR_MAX])
{
    const json_t *a = generic ? json_object_get(generic, name) : NULL;
    const json_t *b = (generic && alias) ? json_object_get(generic, alias) : NULL;

    *out = NULL;
    if (a && !json_is_string(a))
        return net_fail(err, "option %s must be a string", name);
    if (b && !json_is_string(b))
        return net_fail(err, "option %s must be a string", alias);
    if (a && b && strcmp(json_string_value(a), json_string_value(b)) != 0)
        return net_fail(err, "options %s and %s are the same setting and disagree; give only one",
                    name, alias);
    if (a)
        *out = json_string_value(a);
    else if (b)
        *out = json_string_value(b);
    return 0;
}

/* A Docker boolean option: JSON true/false, or the strings "true"/"false". */
static int get_bool(const json_t *options, const char *key, bool *out, char err[NET_ERR_MAX])
{
    const json_t *v = options ? json_object_get(options, key) : NULL;

    *out = false;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_string(v) && (!strcmp(json_string_value(v), "true") ||
                              !strcmp(json_string_value(v), "false"))) {
        *out = !strcmp(json_string_value(v), "true");
        return 0;
    }
    return net_fail(err, "%s must be true or false", key);
}

static int copy_str(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);

    if (len >= size)
        return -1;
    memcpy(dst, src, len + 1);
    return 0;
}

/* IPAM data entry -> pool (CIDR) and gateway (address only).  The gateway
 * comes as "A.B.C.D/len" from Docker; a bare address is accepted too. */
static int parse_ipam(const json_t *entry, int family, const char *what,
                      char pool[NET_ADDR_TEXT_MAX], char gw[NET_ADDR_TEXT_MAX],
                      struct wg_allowedip *pool_out, char err[NET_ERR_MAX])
{
    const json_t *jp = json_object_get(entry, "Pool"), *jg = json_object_get(entry, "Gateway");
    uint8_t tmp[16];

    if (!json_is_object(entry))
        return net_fail(err, "%s: expected an object", what);
    if (!json_is_string(jp) || parse_cidr(json_string_value(jp), pool_out) ||
        pool_out->family != family || copy_str(pool, NET_ADDR_TEXT_MAX, json_string_value(jp)))
        return net_fail(err, "%s: missing or invalid Pool (expected an %s subnet)", what,
                    family == AF_INET ? "IPv4" : "IPv6");
    gw[0] = '\0';
    if (jg && !json_is_null(jg) && !(json_is_string(jg) && !*json_string_value(jg))) {
        const char *g = json_is_string(jg) ? json_string_value(jg) : "";
        const char *slash = strchr(g, '/');
        size_t len = slash ? (size_t)(slash - g) : strlen(g);

        if (len == 0 || len >= NET_ADDR_TEXT_MAX)
            return net_fail(err, "%s: invalid Gateway", what);
        memcpy(gw, g, len);
        gw[len] = '\0';
        if (inet_pton(family, gw, tmp) != 1)
            return net_fail(err, "%s: invalid Gateway '%s'", what, gw);
    }
    return 0;
}

static int add_pool(struct net_config *cfg, const struct wg_allowedip *pool, char err[NET_ERR_MAX])
{
    if (cfg->n_pools >= NET_POOLS_MAX)
        return net_fail(err, "more than %d subnets in one network", NET_POOLS_MAX);
    cfg->pools[cfg->n_pools++] = *pool;
    return 0;
}

static bool pool_contains(const struct wg_allowedip *pool, const uint8_t *ip)
{
    unsigned full = pool->cidr / 8, rest = pool->cidr % 8;

    if (memcmp(pool->ip, ip, full))
        return false;
    return !rest || !((pool->ip[full] ^ ip[full]) & (uint8_t)(0xff << (8 - rest)));
}

int net_check_endpoint_address(const struct net_config *cfg, const char *addr,
                               char err[NET_ERR_MAX])
{
    struct wg_allowedip a;
    bool any = false;

    char host[NET_ADDR_TEXT_MAX];
    size_t len = strcspn(addr, "/");

    memset(&a, 0, sizeof(a));
    if (len == 0 || len >= sizeof(host))
        return net_fail(err, "invalid address '%.64s' for the endpoint", addr);
    memcpy(host, addr, len);
    host[len] = '\0';
    if (inet_pton(AF_INET, host, a.ip) == 1)
        a.family = AF_INET;
    else if (inet_pton(AF_INET6, host, a.ip) == 1)
        a.family = AF_INET6;
    else
        return net_fail(err, "invalid address '%.64s' for the endpoint", addr);
    for (size_t i = 0; i < cfg->n_pools; i++) {
        if (cfg->pools[i].family != a.family)
            continue;
        any = true;
        if (pool_contains(&cfg->pools[i], a.ip))
            return 0;
    }
    if (!any)
        return 0;   /* no subnet of that family to check against */
    return net_fail(err, "address %.64s is outside the network's subnet%s (%s%s%s)", addr,
                    cfg->n_pools > 1 ? "s" : "", a.family == AF_INET ? cfg->pool4 : cfg->pool6,
                    cfg->n_pools > 1 ? ", " : "", cfg->n_pools > 1 ? "..." : "");
}

/* ---- one option each: value (NULL if not given) -> cfg.  In table order,
 * so each may rely on the ones above it (transport first; ipv6 and internal
 * are known before any). ---- */

static int opt_transport(struct net_config *cfg, const char *v, const json_t *generic,
                         char err[NET_ERR_MAX])
{
    int t;

    cfg->transport = WG_TRANSPORT_VSOCK;
    if (!v)
        return 0;
    t = wg_transport_from_name(v);
    if (t < 0)
        return net_fail(err, "wgvsock.transport: unknown transport '%.64s'; use vsock, tcp, "
                    "tcp4, tcp6 or udp", v);
    cfg->transport = (enum wg_transport_kind)t;
    return 0;
}

/* The kernel carries UDP only, so kernel with another transport can never
 * work; whether this host has it is engine.c's. */
static int opt_engine(struct net_config *cfg, const char *v, const json_t *generic,
                      char err[NET_ERR_MAX])
{
    int e;

    cfg->engine = TUNNEL_WGCORE;
    if (!v)
        return 0;
    e = net_engine_from_name(v);
    if (e < 0)
        return net_fail(err, "wgvsock.engine: unknown engine '%.32s'; use auto, kernel or "
                    "wgcore", v);
    cfg->engine_opt = (enum tunnel_engine)e;
    if (cfg->engine_opt == TUNNEL_KERNEL && cfg->transport != WG_TRANSPORT_UDP)
        return net_fail(err, "wgvsock.engine=kernel needs wgvsock.transport=udp: kernel "
                    "WireGuard carries UDP only (this network uses %s)",
                    wg_transport_name(cfg->transport));
    return 0;
}

/* Chosen explicitly, never guessed from the bytes (a CRC header parses as a
 * valid no-CRC length followed by garbage). */
static int opt_stream_crc(struct net_config *cfg, const char *v, const json_t *generic,
                          char err[NET_ERR_MAX])
{
    if (!v)
        return 0;
    if (strcmp(v, "true") && strcmp(v, "false"))
        return net_fail(err, "wgvsock.stream-crc: '%.32s' is not true or false (false: no "
                    "CRC, for hubs running wireguard-go-vsock v0.2.3 or older)", v);
    if (cfg->transport == WG_TRANSPORT_UDP)
        return net_fail(err, "wgvsock.stream-crc: only stream transports (vsock, tcp, tcp4, "
                    "tcp6) have frames; this network uses udp");
    cfg->stream_crc_set = true;
    cfg->stream_no_crc = !strcmp(v, "false");
    return 0;
}

static int opt_peer(struct net_config *cfg, const char *v, const json_t *generic,
                    char err[NET_ERR_MAX])
{
    if (!v || !*v)
        return net_fail(err, "missing option wgvsock.peer: the hub's address, e.g. "
                    "-o wgvsock.peer=host(2):8172 (vsock) or -o wgvsock.peer=192.0.2.1:51820");
    if (copy_str(cfg->peer_text, sizeof(cfg->peer_text), v) ||
        wg_sockaddr_parse(&cfg->peer, v, cfg->transport == WG_TRANSPORT_VSOCK))
        return net_fail(err, "wgvsock.peer: cannot parse '%.64s'; expected ADDRESS:PORT such as "
                    "host(2):8172, vm(16):51820, 0.0.0.2:8172 (vsock), 127.0.0.1:51820 or "
                    "[::1]:51820", v);
    if (cfg->transport != WG_TRANSPORT_VSOCK && cfg->peer.addr.sa.sa_family == AF_VSOCK)
        return net_fail(err, "wgvsock.peer: '%s' is a vsock address but wgvsock.transport is %s; "
                    "use -o wgvsock.transport=vsock or an IP address",
                    cfg->peer_text, wg_transport_name(cfg->transport));
    if ((cfg->transport == WG_TRANSPORT_TCP4 && cfg->peer.addr.sa.sa_family != AF_INET) ||
        (cfg->transport == WG_TRANSPORT_TCP6 && cfg->peer.addr.sa.sa_family != AF_INET6))
        return net_fail(err, "wgvsock.peer: '%s' does not match wgvsock.transport=%s",
                    cfg->peer_text, wg_transport_name(cfg->transport));
    return 0;
}

/* Optional for an attested hub (its attested key is used; if given, it
 * must match): the wgvsock.attest* options are parsed here, first. */
static int opt_peerkey(struct net_config *cfg, const char *v, const json_t *generic,
                       char err[NET_ERR_MAX])
{
    if (net_attest_parse(&cfg->attest, generic, err))
        return -1;
    cfg->attest.peerkey_given = v && *v;
    if (!cfg->attest.peerkey_given && cfg->attest.mode == NET_ATTEST_OFF)
        return net_fail(err, "missing option wgvsock.peerkey: the hub's WireGuard public key "
                    "(wg pubkey < hub.key), or wgvsock.attest to learn it from the hub");
    if (cfg->attest.peerkey_given && kd_key_from_b64(cfg->peer_key, v))
        return net_fail(err, "wgvsock.peerkey: not a WireGuard public key (expected 44 "
                    "characters of base64, as printed by wg pubkey)");
    return 0;
}

/* Option, file, or the plugin's own (recommended). */
static int opt_seed(struct net_config *cfg, const char *v, const json_t *generic,
                    char err[NET_ERR_MAX])
{
    cfg->seed_source = NET_SEED_PLUGIN;
    if (!v)
        return 0;
    cfg->seed_source = NET_SEED_OPTION;
    if (copy_str(cfg->seed_b64, sizeof(cfg->seed_b64), v) || check_b64_secret(v, false))
        return net_fail(err, "wgvsock.seed: not valid base64 (or empty); create a seed with "
                    "head -c 32 /dev/urandom | base64");
    return 0;
}

static int opt_seed_file(struct net_config *cfg, const char *v, const json_t *generic,
                         char err[NET_ERR_MAX])
{
    if (!v)
        return 0;
    if (cfg->seed_source == NET_SEED_OPTION)
        return net_fail(err, "give either wgvsock.seed or wgvsock.seed-file, not both");
    cfg->seed_source = NET_SEED_FILE;
    if (v[0] != '/' || copy_str(cfg->seed_file, sizeof(cfg->seed_file), v))
        return net_fail(err, "wgvsock.seed-file: expected an absolute path readable by the plugin");
    return 0;
}

/* Set by a swarm manager's AllocateNetwork (allocate.c); checked wherever
 * the seed is read (net_config_secrets). */
static int opt_seed_fp(struct net_config *cfg, const char *v, const json_t *generic,
                       char err[NET_ERR_MAX])
{
    if (!v)
        return 0;
    if (seed_fp_from_hex(v, cfg->seed_fp))
        return net_fail(err, "wgvsock.seed-fingerprint: expected %d hex digits (set by the "
                        "swarm manager's plugin, not by hand)", SEED_FP_HEX_LEN);
    cfg->seed_fp_set = true;
    return 0;
}

static int opt_additional(struct net_config *cfg, const char *v, const json_t *generic,
                          char err[NET_ERR_MAX])
{
    if (copy_str(cfg->additional_b64, sizeof(cfg->additional_b64),
                 v ? v : KD_DEFAULT_ADDITIONAL_B64) ||
        check_b64_secret(cfg->additional_b64, true))
        return net_fail(err, "wgvsock.additional: not valid base64 (it must match the hub's "
                    "keyderive --add value)");
    return 0;
}

static int opt_keepalive(struct net_config *cfg, const char *v, const json_t *generic,
                         char err[NET_ERR_MAX])
{
    unsigned long num;

    cfg->keepalive = NET_DEFAULT_KEEPALIVE;
    if (!v)
        return 0;
    if (parse_uint(v, 0, 65535, &num))
        return net_fail(err, "wgvsock.keepalive: '%.32s' is not a number of seconds between 0 "
                    "(off) and 65535", v);
    cfg->keepalive = (uint16_t)num;
    return 0;
}

/* IPv6 needs 1280. */
static int opt_mtu(struct net_config *cfg, const char *v, const json_t *generic,
                   char err[NET_ERR_MAX])
{
    unsigned long min = cfg->ipv6 ? 1280 : NET_MTU_MIN, num;

    cfg->mtu = WG_DEFAULT_MTU;
    if (!v)
        return 0;
    if (parse_uint(v, min, NET_MTU_MAX, &num))
        return net_fail(err, "wgvsock.mtu: '%.32s' is not an MTU between %lu and %u", v, min,
                    NET_MTU_MAX);
    cfg->mtu = (unsigned)num;
    return 0;
}

/* Explicit here; else parse_pools() gives --internal only the network's own
 * subnets (the hub's tunnel addresses), and any other network everything. */
static int opt_allowed_ips(struct net_config *cfg, const char *v, const json_t *generic,
                           char err[NET_ERR_MAX])
{
    if (!v)
        return 0;
    cfg->allowed_ips_set = true;
    return net_parse_allowed_ips(v, cfg->allowed_ips, NET_ALLOWED_IPS_MAX, &cfg->n_allowed_ips,
                                 err);
}

/* The options we know, in the order they are parsed: the canonical name
 * and, where the Python driver had one, its name (so its users keep their
 * `docker network create` lines); what --help says.  A row without a parser
 * is a group parsed elsewhere (attest_opts.c) and is listed only.  The
 * numbers in the help text are checked below. */
static const struct net_option {
    const char *name;
    const char *alias;
    int (*parse)(struct net_config *cfg, const char *v, const json_t *generic,
                 char err[NET_ERR_MAX]);
    const char *help;
} net_options[] = {
    { "wgvsock.transport", NULL, opt_transport, "vsock, tcp, tcp4, tcp6 or udp [vsock]" },
    { "wgvsock.engine", NULL, opt_engine,
      "auto, kernel (host WireGuard, udp only) or wgcore [auto:\n"
      "kernel for udp where the host kernel has WireGuard]" },
    { "wgvsock.stream-crc", NULL, opt_stream_crc,
      "true or false, not with udp [true, or WGVSOCK_STREAM_CRC]" },
    { "wgvsock.peer", "io.bestov.wg.peer", opt_peer,
      "the hub, e.g. host(2):8172 or 127.0.0.1:51820 [required]" },
    { "wgvsock.peerkey", "io.bestov.wg.peerkey", opt_peerkey,
      "the hub's public key [required unless wgvsock.attest]" },
    { "wgvsock.seed", "io.bestov.wg.seed", opt_seed,
      "base64 seed, visible in docker network inspect\n[the plugin's seed file]" },
    { "wgvsock.seed-file", NULL, opt_seed_file,
      "absolute path of a seed file [the plugin's seed file]" },
    { "wgvsock.seed-fingerprint", NULL, opt_seed_fp,
      "16 hex digits, added by a swarm manager's plugin:\n"
      "nodes whose seed differs refuse the network [none]" },
    { "wgvsock.additional", "io.bestov.wg.additional", opt_additional,
      "second derivation input, base64 [" KD_DEFAULT_ADDITIONAL_B64 "]" },
    { "wgvsock.keepalive", NULL, opt_keepalive, "seconds, 0 = off [25]" },
    /* Docker's generic MTU option, which other drivers honour too. */
    { "wgvsock.mtu", "com.docker.network.driver.mtu", opt_mtu,
      "576..65472, 1280+ with IPv6 [1420]" },
    { "wgvsock.allowed-ips", NULL, opt_allowed_ips,
      "CIDRs [0.0.0.0/0,::/0; --internal: the subnets]" },
    { "wgvsock.attest", NULL, NULL,
      "nitro, test or none: verify and provision an attested hub\n"
      "(wgvsockd --provision, docs/PROVISIONING.md) [off]" },
    { "wgvsock.attest-root", NULL, NULL,
      "absolute path of the trusted root certificate (PEM)\n[the AWS Nitro Enclaves root]" },
    { "wgvsock.attest-pcr0..8", NULL, NULL, "expected PCRs, hex [not checked]" },
    { "wgvsock.provision-port", NULL, NULL, "the hub's provisioning port [wgvsock.peer's + 1]" },
};
#define N_NET_OPTIONS (sizeof(net_options) / sizeof(net_options[0]))
_Static_assert(NET_DEFAULT_KEEPALIVE == 25 && NET_MTU_MIN == 576 && NET_MTU_MAX == 65472 &&
               WG_DEFAULT_MTU == 1420, "net_options[] help text states these numbers");

static bool known_option(const char *key)
{
    for (size_t i = 0; i < N_NET_OPTIONS; i++)
        if (net_options[i].parse && (!strcmp(key, net_options[i].name) ||
                                     (net_options[i].alias && !strcmp(key, net_options[i].alias))))
            return true;
    return net_attest_is_option(key);
}

/* "unknown option X; known options are A, B, ... (see docs/OPTIONS.md)" */
static int fail_unknown(const char *key, char err[NET_ERR_MAX])
{
    size_t len;

    net_fail(err, "unknown option %.64s; known options are ", key);
    for (size_t i = 0; i < N_NET_OPTIONS; i++) {
        len = strlen(err);
        snprintf(err + len, NET_ERR_MAX - len, "%s%s", net_options[i].name,
                 i + 1 < N_NET_OPTIONS ? ", " : " (see docs/OPTIONS.md)");
    }
    return -1;
}

void net_options_help(FILE *f)
{
    for (size_t i = 0; i < N_NET_OPTIONS; i++) {
        const struct net_option *o = &net_options[i];
        const char *h = o->help;

        fprintf(f, "  %-22s", o->name);
        for (;;) {
            const char *nl = strchr(h, '\n');
            int n = nl ? (int)(nl - h) : (int)strlen(h);

            fprintf(f, "  %.*s\n", n, h);
            if (!nl)
                break;
            h = nl + 1;
            fprintf(f, "  %-22s", "");
        }
        if (o->alias)
            fprintf(f, "  %-22s  (alias %s)\n", "", o->alias);
    }
}

/* Every IPv4Data / IPv6Data pool (the first one's text is the network's
 * subnet and gateway), and the allowed-ips that follow from them. */
static int parse_pools(struct net_config *cfg, const json_t *v4, const json_t *v6,
                       char err[NET_ERR_MAX])
{
    const json_t *lists[2] = { v4, v6 };

    for (int l = 0; l < 2; l++) {
        int family = l ? AF_INET6 : AF_INET;
        const char *what = l ? "IPv6Data" : "IPv4Data";

        for (size_t i = 0; json_is_array(lists[l]) && i < json_array_size(lists[l]); i++) {
            char pool_text[NET_ADDR_TEXT_MAX], gw[NET_ADDR_TEXT_MAX];
            struct wg_allowedip pool;

            if (parse_ipam(json_array_get(lists[l], i), family, what, pool_text, gw, &pool, err) ||
                add_pool(cfg, &pool, err))
                return -1;
            if (i == 0) {
                memcpy(l ? cfg->pool6 : cfg->pool4, pool_text, sizeof(pool_text));
                memcpy(l ? cfg->gateway6 : cfg->gateway4, gw, sizeof(gw));
            }
            if (cfg->internal && !cfg->allowed_ips_set && cfg->n_allowed_ips < NET_ALLOWED_IPS_MAX)
                cfg->allowed_ips[cfg->n_allowed_ips++] = pool;
        }
    }
    if (!cfg->allowed_ips_set && !cfg->internal)
        return net_parse_allowed_ips("0.0.0.0/0,::/0", cfg->allowed_ips, NET_ALLOWED_IPS_MAX,
                                     &cfg->n_allowed_ips, err);
    return 0;
}

int net_config_parse(struct net_config *cfg, const json_t *request,
                     const char *plugin_seed_file, bool check_seed,
                     char err[NET_ERR_MAX])
{
    const json_t *options = NULL, *generic = NULL, *v4, *v6, *value;
    struct net_secrets *secrets;
    const char *key;
    int ret = -1;

    memset(cfg, 0, sizeof(*cfg));
    err[0] = '\0';
    if (!json_is_object(request)) {
        net_fail(err, "malformed request: expected a JSON object");
        goto out;
    }
    options = json_object_get(request, "Options");
    if (options && json_is_null(options))
        options = NULL;
    if (options && !json_is_object(options)) {
        net_fail(err, "malformed request: Options must be an object");
        goto out;
    }
    generic = options ? json_object_get(options, "com.docker.network.generic") : NULL;
    if (generic && json_is_null(generic))
        generic = NULL;
    if (generic && !json_is_object(generic)) {
        net_fail(err, "malformed request: com.docker.network.generic must be an object");
        goto out;
    }

    /* An unknown option of ours is almost always a typo that would
     * otherwise silently change the network's keys or its hub. */
    json_object_foreach((json_t *)generic, key, value) {
        if ((has_prefix(key, "wgvsock.") || has_prefix(key, "io.bestov.wg.")) &&
            !known_option(key)) {
            fail_unknown(key, err);
            goto out;
        }
    }
    if (get_bool(options, "com.docker.network.internal", &cfg->internal, err) ||
        get_bool(options, "com.docker.network.enable_ipv6", &cfg->ipv6, err))
        goto out;
    for (size_t i = 0; i < N_NET_OPTIONS; i++) {
        const struct net_option *o = &net_options[i];
        const char *v;

        if (o->parse && (get_opt(generic, o->name, o->alias, &v, err) ||
                         o->parse(cfg, v, generic, err)))
            goto out;
    }

    /* IPAM: an IPv4 pool is required, its address is what the key is
     * derived from. */
    v4 = json_object_get(request, "IPv4Data");
    v6 = json_object_get(request, "IPv6Data");
    if (!json_is_array(v4) || json_array_size(v4) == 0) {
        net_fail(err, "no IPv4 subnet: wgvsock derives each container's key from its IPv4 "
             "address, so the network needs one (docker network create --subnet ...)");
        goto out;
    }
    if (v6 && !json_is_null(v6) && !json_is_array(v6)) {
        net_fail(err, "malformed request: IPv6Data must be an array");
        goto out;
    }
    if (parse_pools(cfg, v4, v6, err))
        goto out;

    if (check_seed) {
        secrets = net_secrets_load(cfg, plugin_seed_file, err);
        if (!secrets)
            goto out;
        net_secrets_free(secrets);
    }
    ret = 0;
out:
    /* The one way out: a failed parse keeps no secret. */
    if (ret)
        net_config_wipe(cfg);
    return ret;
}

void net_config_wipe(struct net_config *cfg)
{
    if (cfg)
        sodium_memzero(cfg->seed_b64, sizeof(cfg->seed_b64));
}
