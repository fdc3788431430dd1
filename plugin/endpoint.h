/* endpoint.h - the per-container calls: CreateEndpoint (derive the key),
 * Join (create the device), Leave, DeleteEndpoint (destroy it),
 * EndpointOperInfo.  Handlers as plugin.h describes them.
 */
#ifndef WGVSOCK_PLUGIN_ENDPOINT_H
#define WGVSOCK_PLUGIN_ENDPOINT_H

#include "plugin/link.h"
#include "plugin/plugin.h"

/* The host-side TUN name for an endpoint: "wgv" + its first 12 characters. */
void ep_ifname(char out[PL_IFNAME_MAX], const char *endpoint_id);

int ep_create(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int ep_delete(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int ep_join(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int ep_leave(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);
int ep_info(struct plugin *p, const json_t *req, json_t **resp, char err[NET_ERR_MAX]);

/* The alias that tags an endpoint's interface wherever it is: "wgvsock:" +
 * its ID (an ID is unique per host, so no other plugin instance matches). */
#define EP_TAG_PREFIX "wgvsock:"
#define EP_TAG_MAX (sizeof(EP_TAG_PREFIX) + PL_ID_MAX)
void ep_tag(char out[EP_TAG_MAX], const char *endpoint_id);

/* Derives ep's key and makes its device from the network's cfg: a new
 * interface named ep->ifname (adopt_netns -1), or the existing one adopt
 * (its name and ifindex) in adopt_netns.  0, or -1 + err. */
int ep_make_device(struct plugin *p, const struct pl_endpoint *ep, struct net_config *cfg,
                   int adopt_netns, const struct link_info *adopt, void **dev,
                   char err[NET_ERR_MAX]);
/* Stream framing without CRC: the network's wgvsock.stream-crc, else the
 * plugin's default. */
bool ep_stream_no_crc(const struct plugin *p, const struct net_config *cfg);
/* Heap copy of a network's config (state lock held), NULL if unknown;
 * free with ep_free_net_config (wipes it). */
struct net_config *ep_copy_net_config(struct plugin *p, const char *net_id);
void ep_free_net_config(struct net_config *c);
/* The engine of e's network (TUNNEL_WGCORE if it is gone); takes the lock. */
enum tunnel_engine ep_engine(struct plugin *p, const struct pl_endpoint *e);
/* For an endpoint already off the list: destroys its device (or deletes the
 * interface an earlier process left), removes its control socket, then its
 * file, and frees it. */
void ep_forget(struct plugin *p, struct pl_endpoint *e);
/* Removes DIR/IFNAME.sock if nothing answers on it. */
void ep_remove_stale_control(const char *dir, const char *ifname);

#endif
