/* portmap.h - Docker's published-port options, parsed and written back.
 *
 * ProgramExternalConnectivity carries Options["com.docker.network.portmap"],
 * a list of libnetwork PortBinding objects:
 *   {"Proto":6,"IP":"","Port":80,"HostIP":"127.0.0.1","HostPort":8080,"HostPortEnd":8080}
 * Proto is the IP protocol number (6 tcp, 17 udp, 132 sctp); HostIP "" means
 * every address; HostPort 0 (-P, -p 80) means "any port", and
 * HostPort..HostPortEnd a range to choose one port from (-p 8080-8082:80).
 * "-p 8080-8082:80-82" arrives as three bindings of one port each.
 * Options["com.docker.network.endpoint.exposedports"] lists {"Proto","Port"}
 * of EXPOSE/--expose; a port is only published if it has a binding, so that
 * list is checked for shape and otherwise needs nothing from us.
 */
#ifndef WGVSOCK_PLUGIN_PORTMAP_H
#define WGVSOCK_PLUGIN_PORTMAP_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <jansson.h>

#include "plugin/options.h"

#define PM_KEY_PORTMAP "com.docker.network.portmap"
#define PM_KEY_EXPOSED "com.docker.network.endpoint.exposedports"
#define PM_BINDINGS_MAX 256     /* per endpoint; each is one listening socket */
#define PM_IP_TEXT_MAX INET6_ADDRSTRLEN

struct pm_binding {
    uint8_t proto;              /* IPPROTO_TCP or IPPROTO_UDP */
    uint16_t port;              /* in the container */
    char host_ip[PM_IP_TEXT_MAX];   /* "" = every address */
    uint16_t host_port;         /* 0 = any (ephemeral range) */
    uint16_t host_port_end;     /* >= host_port; the port chosen is in between */
};

/* Parses the bindings of Options (a JSON object or null).  *out is malloc'ed
 * (NULL when there are none).  0, or -1 with a message for a person. */
int pm_parse(const json_t *options, struct pm_binding **out, size_t *n, char err[NET_ERR_MAX]);

/* The bindings in Docker's shape (host_port = the port really bound). */
json_t *pm_to_json(const struct pm_binding *b, size_t n);

/* "tcp", "udp". */
const char *pm_proto_name(uint8_t proto);

/* "127.0.0.1:8080/tcp", "[::1]:8080/udp", "*:8080/tcp" for messages. */
void pm_describe(const struct pm_binding *b, char *buf, size_t size);

#endif
