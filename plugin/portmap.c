/* portmap.c - Docker's PortBinding list in and out (see portmap.h).
 *
 * The options come from dockerd, but they are still checked as untrusted
 * input: a wrong type, an out-of-range port or an address that does not
 * parse is a clear error, never a guess.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/portmap.h"

const char *pm_proto_name(uint8_t proto)
{
    return proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_TCP ? "tcp" : "?";
}

void pm_describe(const struct pm_binding *b, char *buf, size_t size)
{
    bool v6 = strchr(b->host_ip, ':') != NULL;

    snprintf(buf, size, "%s%s%s:%u/%s", v6 ? "[" : "", *b->host_ip ? b->host_ip : "*",
             v6 ? "]" : "", b->host_port, pm_proto_name(b->proto));
}

/* An integer member in [min, max]; absent or null gives 0 when allowed. */
static int get_uint(const json_t *obj, const char *key, long long min, long long max,
                    bool optional, long long *out)
{
    const json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v)) {
        *out = 0;
        return optional ? 0 : -1;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static int parse_one(const json_t *o, struct pm_binding *b, size_t i, char err[NET_ERR_MAX])
{
    long long proto, port, hp, hpe;
    const json_t *ip;
    struct in6_addr a6;
    struct in_addr a4;

    if (!json_is_object(o))
        return net_fail(err, "malformed port binding %zu: not an object", i);
    if (get_uint(o, "Proto", 0, 255, false, &proto))
        return net_fail(err, "malformed port binding %zu: Proto", i);
    if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
        return net_fail(err, "published ports: protocol %lld is not supported by wgvsock "
                        "(tcp and udp are)", proto);
    if (get_uint(o, "Port", 1, 65535, false, &port) ||
        get_uint(o, "HostPort", 0, 65535, true, &hp) ||
        get_uint(o, "HostPortEnd", 0, 65535, true, &hpe))
        return net_fail(err, "malformed port binding %zu: ports must be 0..65535", i);
    if (hpe == 0)
        hpe = hp;
    if (hpe < hp || (hp == 0 && hpe != 0))
        return net_fail(err, "malformed port binding %zu: host port range %lld-%lld", i, hp, hpe);
    ip = json_object_get(o, "HostIP");
    memset(b, 0, sizeof(*b));
    if (ip && !json_is_null(ip)) {
        const char *s = json_string_value(ip);
        if (!s || strlen(s) >= sizeof(b->host_ip) ||
            (*s && inet_pton(AF_INET, s, &a4) != 1 && inet_pton(AF_INET6, s, &a6) != 1))
            return net_fail(err, "malformed port binding %zu: HostIP is not an IP address", i);
        strcpy(b->host_ip, s);
        /* 0.0.0.0 and :: are what "" means too. */
        if (!strcmp(s, "0.0.0.0") || !strcmp(s, "::"))
            b->host_ip[0] = '\0';
    }
    b->proto = (uint8_t)proto;
    b->port = (uint16_t)port;
    b->host_port = (uint16_t)hp;
    b->host_port_end = (uint16_t)hpe;
    return 0;
}

int pm_parse(const json_t *options, struct pm_binding **out, size_t *n, char err[NET_ERR_MAX])
{
    const json_t *list, *exposed;
    struct pm_binding *b;
    size_t count;

    *out = NULL;
    *n = 0;
    if (!options || json_is_null(options))
        return 0;
    if (!json_is_object(options))
        return net_fail(err, "malformed request: Options is not an object");
    exposed = json_object_get(options, PM_KEY_EXPOSED);
    if (exposed && !json_is_null(exposed) && !json_is_array(exposed))
        return net_fail(err, "malformed request: %s is not a list", PM_KEY_EXPOSED);
    list = json_object_get(options, PM_KEY_PORTMAP);
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return net_fail(err, "malformed request: %s is not a list", PM_KEY_PORTMAP);
    count = json_array_size(list);
    if (count == 0)
        return 0;
    if (count > PM_BINDINGS_MAX)
        return net_fail(err, "too many published ports (%zu, at most %d per container)", count,
                        PM_BINDINGS_MAX);
    b = calloc(count, sizeof(*b));
    if (!b)
        return net_fail(err, "out of memory");
    for (size_t i = 0; i < count; i++) {
        if (parse_one(json_array_get(list, i), &b[i], i, err)) {
            free(b);
            return -1;
        }
    }
    *out = b;
    *n = count;
    return 0;
}

json_t *pm_to_json(const struct pm_binding *b, size_t n)
{
    json_t *list = json_array();

    for (size_t i = 0; list && i < n; i++) {
        json_t *o = json_pack("{s:i, s:s, s:i, s:s, s:i, s:i}", "Proto", b[i].proto, "IP", "",
                              "Port", b[i].port, "HostIP",
                              *b[i].host_ip ? b[i].host_ip : "0.0.0.0",
                              "HostPort", b[i].host_port, "HostPortEnd", b[i].host_port);
        if (!o || json_array_append_new(list, o)) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}
