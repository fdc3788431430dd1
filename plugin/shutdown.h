/* shutdown.h - what the plugin does with its devices when it stops. */
#ifndef WGVSOCK_PLUGIN_SHUTDOWN_H
#define WGVSOCK_PLUGIN_SHUTDOWN_H

#include "plugin/plugin.h"

/* Frees every endpoint's device (shutdown); the state files stay.  Devices
 * are released where the engine can (tunnel_ops.release): kernel ones keep
 * working while the plugin is away, wgcore ones leave their persistent TUN
 * for the next process to adopt (adopt.h). */
void plugin_destroy_devices(struct plugin *p);

#endif
