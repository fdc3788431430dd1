/* sockaddr.c - parsing and printing of peer transport addresses.
 *
 * Strict by design: the control socket hands us whatever a user typed, and
 * a lenient parser would silently send a peer's traffic somewhere else.
 * Every malformed input is -EINVAL; nothing here can overrun on any input.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wgcore/sockaddr.h"

#ifndef VMADDR_CID_LOCAL
#define VMADDR_CID_LOCAL 1
#endif

/* "0".."65535", digits only: strtoul would accept signs and spaces. */
static int parse_u32_digits(const char *s, size_t len, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;

    if (len == 0 || len > 10)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
    uint32_t v;

    if (parse_u32_digits(s, strlen(s), 65535, &v) || v == 0)
        return -EINVAL;
    *port = (uint16_t)v;
    return 0;
}

static void set_vsock(struct wg_sockaddr *out, uint32_t cid, uint16_t port)
{
    memset(out, 0, sizeof(*out));
    out->addr.vm.svm_family = AF_VSOCK;
    out->addr.vm.svm_cid = cid;
    out->addr.vm.svm_port = port;
}

/* "host(2)", "vm(16)", ...: the names wireguard-go-vsock prints.  The
 * number in parentheses must agree with the name, so "vm(2)" (which would
 * be the host) is rejected rather than guessed. */
static int parse_vsock_name(const char *host, size_t len, uint32_t *cid)
{
    static const struct { const char *name; uint32_t cid; } fixed[] = {
        { "hypervisor", VMADDR_CID_HYPERVISOR },
        { "local", VMADDR_CID_LOCAL },
        { "host", VMADDR_CID_HOST },
    };
    const char *open = memchr(host, '(', len);
    size_t name_len, num_len;
    uint32_t n;

    if (!open || len < 3 || host[len - 1] != ')')
        return -EINVAL;
    name_len = (size_t)(open - host);
    num_len = len - name_len - 2;
    if (parse_u32_digits(open + 1, num_len, UINT32_MAX, &n))
        return -EINVAL;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (strlen(fixed[i].name) == name_len && !memcmp(host, fixed[i].name, name_len)) {
            if (n != fixed[i].cid)
                return -EINVAL;
            *cid = n;
            return 0;
        }
    }
    /* VMADDR_CID_ANY is a wildcard, never a destination. */
    if (name_len == 2 && !memcmp(host, "vm", 2) && n >= 3 && n != VMADDR_CID_ANY) {
        *cid = n;
        return 0;
    }
    return -EINVAL;
}

static int parse_scope(const char *s, uint32_t *scope)
{
    unsigned idx;

    if (!*s)
        return -EINVAL;
    if (!parse_u32_digits(s, strlen(s), UINT32_MAX, scope))
        return 0;
    if (strlen(s) >= IF_NAMESIZE)
        return -EINVAL;
    idx = if_nametoindex(s);
    if (!idx)
        return -EINVAL;
    *scope = idx;
    return 0;
}

int wg_sockaddr_parse(struct wg_sockaddr *out, const char *text, bool vsock)
{
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    const char *colon, *port_str;
    size_t host_len;
    uint16_t port;
    struct wg_sockaddr ep;

    if (!out || !text)
        return -EINVAL;
    memset(&ep, 0, sizeof(ep));

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        char *pct;
        struct in6_addr a6;
        uint32_t scope = 0;

        if (vsock || !close || close[1] != ':')
            return -EINVAL;
        host_len = (size_t)(close - text - 1);
        if (host_len == 0 || host_len >= sizeof(host))
            return -EINVAL;
        memcpy(host, text + 1, host_len);
        host[host_len] = '\0';
        if (parse_port(close + 2, &port))
            return -EINVAL;
        pct = strchr(host, '%');
        if (pct) {
            *pct = '\0';
            if (parse_scope(pct + 1, &scope))
                return -EINVAL;
        }
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return -EINVAL;
        ep.addr.in6.sin6_family = AF_INET6;
        ep.addr.in6.sin6_addr = a6;
        ep.addr.in6.sin6_port = htons(port);
        ep.addr.in6.sin6_scope_id = scope;
        *out = ep;
        return 0;
    }

    colon = strrchr(text, ':');
    if (!colon)
        return -EINVAL;
    host_len = (size_t)(colon - text);
    port_str = colon + 1;
    if (host_len == 0 || host_len >= sizeof(host) || memchr(text, ':', host_len))
        return -EINVAL;
    memcpy(host, text, host_len);
    host[host_len] = '\0';
    if (parse_port(port_str, &port))
        return -EINVAL;

    if (host[host_len - 1] == ')') {
        uint32_t cid;

        if (parse_vsock_name(host, host_len, &cid))
            return -EINVAL;
        set_vsock(&ep, cid, port);
        *out = ep;
        return 0;
    }

    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) != 1)
        return -EINVAL;
    if (vsock) {
        /* The CID travels most-significant byte first: 0.0.0.2 = host(2). */
        uint32_t cid = ntohl(a4.s_addr);

        if (cid == VMADDR_CID_ANY)
            return -EINVAL;
        set_vsock(&ep, cid, port);
    } else {
        ep.addr.in.sin_family = AF_INET;
        ep.addr.in.sin_addr = a4;
        ep.addr.in.sin_port = htons(port);
    }
    *out = ep;
    return 0;
}

void wg_sockaddr_format(const struct wg_sockaddr *ep, char out[WG_SOCKADDR_STR_MAX])
{
    char a[INET6_ADDRSTRLEN];

    switch (ep->addr.sa.sa_family) {
    case AF_INET:
        inet_ntop(AF_INET, &ep->addr.in.sin_addr, a, sizeof(a));
        snprintf(out, WG_SOCKADDR_STR_MAX, "%s:%u", a, ntohs(ep->addr.in.sin_port));
        return;
    case AF_INET6:
        inet_ntop(AF_INET6, &ep->addr.in6.sin6_addr, a, sizeof(a));
        /* A numeric scope: getaddrinfo(AI_NUMERICHOST) in wg(8) reads it. */
        if (ep->addr.in6.sin6_scope_id) {
            char tmp[96];
            int k = snprintf(tmp, sizeof(tmp), "[%s%%%u]:%u", a,
                             ep->addr.in6.sin6_scope_id, ntohs(ep->addr.in6.sin6_port));

            /* Only a 45-char v4-embedded address with a 10-digit scope
             * could exceed the buffer; never print a truncated endpoint. */
            if (k > 0 && k < WG_SOCKADDR_STR_MAX) {
                memcpy(out, tmp, (size_t)k + 1);
                return;
            }
        }
        snprintf(out, WG_SOCKADDR_STR_MAX, "[%s]:%u", a, ntohs(ep->addr.in6.sin6_port));
        return;
    case AF_VSOCK: {
        uint32_t c = ep->addr.vm.svm_cid;

        snprintf(out, WG_SOCKADDR_STR_MAX, "%u.%u.%u.%u:%u", c >> 24, (c >> 16) & 0xff,
                 (c >> 8) & 0xff, c & 0xff, ep->addr.vm.svm_port);
        return;
    }
    default:
        snprintf(out, WG_SOCKADDR_STR_MAX, "(none)");
    }
}

void wg_sockaddr_format_human(const struct wg_sockaddr *ep, char out[WG_SOCKADDR_STR_MAX])
{
    uint32_t c;
    const char *name;

    if (ep->addr.sa.sa_family != AF_VSOCK) {
        wg_sockaddr_format(ep, out);
        return;
    }
    c = ep->addr.vm.svm_cid;
    switch (c) {
    case VMADDR_CID_HYPERVISOR: name = "hypervisor"; break;
    case VMADDR_CID_LOCAL: name = "local"; break;
    case VMADDR_CID_HOST: name = "host"; break;
    default: name = "vm"; break;
    }
    snprintf(out, WG_SOCKADDR_STR_MAX, "%s(%u):%u", name, c, ep->addr.vm.svm_port);
}

bool wg_sockaddr_equal(const struct wg_sockaddr *a, const struct wg_sockaddr *b)
{
    if (a->addr.sa.sa_family != b->addr.sa.sa_family)
        return false;
    switch (a->addr.sa.sa_family) {
    case AF_INET:
        return a->addr.in.sin_port == b->addr.in.sin_port &&
               a->addr.in.sin_addr.s_addr == b->addr.in.sin_addr.s_addr;
    case AF_INET6:
        return a->addr.in6.sin6_port == b->addr.in6.sin6_port &&
               a->addr.in6.sin6_scope_id == b->addr.in6.sin6_scope_id &&
               !memcmp(&a->addr.in6.sin6_addr, &b->addr.in6.sin6_addr, 16);
    case AF_VSOCK:
        return a->addr.vm.svm_cid == b->addr.vm.svm_cid &&
               a->addr.vm.svm_port == b->addr.vm.svm_port;
    default:
        return true;    /* both "no endpoint" */
    }
}

socklen_t wg_sockaddr_socklen(const struct wg_sockaddr *ep)
{
    switch (ep->addr.sa.sa_family) {
    case AF_INET: return sizeof(struct sockaddr_in);
    case AF_INET6: return sizeof(struct sockaddr_in6);
    case AF_VSOCK: return sizeof(struct sockaddr_vm);
    default: return 0;
    }
}
