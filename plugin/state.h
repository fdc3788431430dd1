/* state.h - the plugin's networks and endpoints, in memory and on disk.
 *
 * Docker does not replay CreateNetwork/CreateEndpoint after a plugin restart,
 * so every network and endpoint is written to the state directory (one 0600
 * JSON file each, written to a temporary file and renamed over the old one)
 * before the call that created it is answered, and read back at start-up.
 *
 *   DIR/networks/<NetworkID>.json   the CreateNetwork request (Options,
 *                                   IPv4Data, IPv6Data): re-parsed on load
 *   DIR/endpoints/<EndpointID>.json address(es), interface name, public key;
 *                                   once ports are published, also the
 *                                   container's SandboxKey and the Ports
 *                                   bound (publish.h); from Join on
 *                                   "Joined": true (adopt.h)
 *
 * A seed given as wgvsock.seed is part of Options (Docker stores it too); a
 * seed file is stored by path only; the plugin's WGVSOCK_SEED_FILE is not
 * stored at all.  With dir == NULL nothing touches the disk (tests, fuzzing).
 *
 * One mutex guards the lists; callers hold it (state_lock) around lookups
 * and changes, and never across slow work such as creating a device.
 */
#ifndef WGVSOCK_PLUGIN_STATE_H
#define WGVSOCK_PLUGIN_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <jansson.h>

#include "plugin/options.h"

#define PL_ID_MAX 128
#define PL_IFNAME_MAX 16      /* IFNAMSIZ, with the NUL */

struct pl_network {
    char id[PL_ID_MAX + 1];
    struct net_config *cfg;
    json_t *saved;            /* what is persisted (holds the request's Options) */
    struct pl_network *next;
};

struct pl_endpoint {
    char id[PL_ID_MAX + 1];
    char net_id[PL_ID_MAX + 1];
    char addr4[NET_ADDR_TEXT_MAX];      /* CIDR, as Docker gave it */
    char addr6[NET_ADDR_TEXT_MAX];      /* "" if none */
    char ifname[PL_IFNAME_MAX];
    char pubkey[KD_KEY_B64_LEN + 1];    /* derived public key, base64 */
    char sandbox_key[NET_PATH_MAX];     /* the container's netns file, from Join; "" if none */
    json_t *ports;                      /* published ports (pm_to_json), NULL if none */
    /* Persisted before Join creates the interface, so that a later process
     * knows there may be one to adopt (adopt.c). */
    bool joined;
    void *dev;                          /* the tunnel once joined; not persisted */
    bool busy;                          /* a Join or adoption is creating dev */
    struct pl_endpoint *next;
};

struct pl_state {
    pthread_mutex_t lock;
    char *dir;                          /* NULL: memory only */
    struct pl_network *nets;
    struct pl_endpoint *eps;
};

/* Opens (creating, mode 0700) the state directory and loads every saved
 * network and endpoint; unreadable or invalid files are reported and left
 * aside (renamed *.bad) so that one bad file never stops the plugin.
 * dir NULL: memory only.  0 or -errno. */
int state_open(const char *dir, const char *plugin_seed_file, struct pl_state **out);
/* Frees everything (does not touch devices: destroy those first). */
void state_close(struct pl_state *st);

void state_lock(struct pl_state *st);
void state_unlock(struct pl_state *st);

/* Docker's IDs are 64 hex digits; accept 1..PL_ID_MAX of [A-Za-z0-9_-] so
 * an ID can always be a file name and never a path. */
bool state_valid_id(const char *id);

struct pl_network *state_find_net(struct pl_state *st, const char *id);
struct pl_endpoint *state_find_ep(struct pl_state *st, const char *id);
/* The endpoint using this interface name, if any. */
struct pl_endpoint *state_find_ifname(struct pl_state *st, const char *ifname);

/* Persist, then insert (or replace the network of the same id, whose
 * endpoints stay); takes ownership of cfg and saved on success only.
 * 0 or -errno. */
int state_add_net(struct pl_state *st, const char *id, struct net_config *cfg, json_t *saved);
/* Unlinks the file and frees the network.  0 or -ENOENT. */
int state_del_net(struct pl_state *st, const char *id);

/* Persist a copy of *ep, then insert it.  0 or -errno. */
int state_add_ep(struct pl_state *st, const struct pl_endpoint *ep);
/* Unlinks the file and unlinks the endpoint from the list; the caller
 * destroys ep->dev and frees it with state_free_ep().  NULL if unknown. */
struct pl_endpoint *state_take_ep(struct pl_state *st, const char *id);
/* The same in two steps: off the list now, the file later (once the
 * interface is gone, so that a crash in between leaves a file that tells
 * the next process about the interface). */
struct pl_endpoint *state_remove_ep(struct pl_state *st, const char *id);
void state_unlink_ep(struct pl_state *st, const char *id);
/* Frees an endpoint taken from the list (not its device). */
void state_free_ep(struct pl_endpoint *e);
/* Rewrites the file of an endpoint in the list (after a change of its
 * sandbox_key or ports).  0 or -errno. */
int state_save_ep(struct pl_state *st, const struct pl_endpoint *e);

/* "Take the devices under the lock, destroy them outside it": takes the lock
 * itself, moves the devices of every endpoint (net_id NULL) or of one
 * network's endpoints into devs (at most max) and clears them there.  With
 * forget, those endpoints are also removed as by state_take_ep() and freed
 * (every matching one, with a device or not, unless max cut the call short).
 * Returns how many devices were taken; while that is max, call again. */
size_t state_take_devices(struct pl_state *st, const char *net_id, bool forget, void **devs,
                          size_t max);

#endif
