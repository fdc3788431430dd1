/* attested_hub.h - the plugin's side of an attested, provisioned hub
 * (wgvsock.attest; docs/PROVISIONING.md).  Small hooks called from the
 * Docker handlers; the protocol itself is provision/client.c.
 *
 * Every offer lists all endpoints of the network that the plugin knows, so
 * the hub's peer set follows containers joining and leaving.  A refresher
 * thread re-provisions each attested network with joined endpoints every
 * WGVSOCK_PROVISION_INTERVAL seconds (default 10): a restarted hub gets its
 * peers back, and its new key -- once attested -- is put on the devices. */
#ifndef WGVSOCK_PLUGIN_ATTESTED_HUB_H
#define WGVSOCK_PLUGIN_ATTESTED_HUB_H

#include "plugin/options.h"
#include "plugin/plugin.h"

/* CreateNetwork: the hub must answer and attest now.  0 or -1 + err. */
int ah_network_check(struct plugin *p, const char *net_id, const struct net_config *cfg,
                     char err[NET_ERR_MAX]);
/* Join: provision the hub with the network's endpoints (this one
 * included), verify, and give the hub's attested key in hub_key (checked
 * against wgvsock.peerkey if that was given).  Nothing is sent to the hub's
 * WireGuard port before this returns 0.  0 or -1 + err naming the check. */
int ah_join(struct plugin *p, const char *net_id, const struct net_config *cfg,
            uint8_t hub_key[WG_KEY_LEN], char err[NET_ERR_MAX]);
/* DeleteEndpoint (after the endpoint left the state): offer the smaller
 * peer set.  Failures are logged only. */
void ah_endpoint_gone(struct plugin *p, const char *net_id);
/* Shutdown: stop the refresher before the state goes away. */
void ah_stop(void);

#endif
