/* plugin.h - one running driver: its state, how it makes devices, and the
 * configuration that is the plugin's own rather than a network's. */
#ifndef WGVSOCK_PLUGIN_PLUGIN_H
#define WGVSOCK_PLUGIN_PLUGIN_H

#include "plugin/state.h"
#include "plugin/tunnel.h"

struct plugin {
    struct pl_state *state;
    const struct tunnel_ops *tun;
    void *tun_ctx;
    const char *seed_file;      /* WGVSOCK_SEED_FILE, NULL if unset */
    const char *control_dir;    /* wg(8) sockets; "" = none */
    /* WGVSOCK_STREAM_CRC=0: stream framing without CRC for networks that
     * do not set wgvsock.stream-crc themselves. */
    bool stream_no_crc;
};

/* Destroys every endpoint's device (shutdown); the state files stay. */
void plugin_destroy_devices(struct plugin *p);

#endif
