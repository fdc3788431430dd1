/* log.h - the plugin logs through the engine's logger (LOG_LEVEL), so a
 * device's messages and the plugin's interleave in one stream.
 * Never pass a seed or a private key to these. */
#ifndef WGVSOCK_PLUGIN_LOG_H
#define WGVSOCK_PLUGIN_LOG_H

#include "wgcore/wgcore.h"

#define pl_err(...)   wg_log(WG_LOG_ERROR, "plugin: " __VA_ARGS__)
#define pl_info(...)  wg_log(WG_LOG_VERBOSE, "plugin: " __VA_ARGS__)
#define pl_debug(...) wg_log(WG_LOG_DEBUG, "plugin: " __VA_ARGS__)

#endif
