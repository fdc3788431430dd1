/* control.h - the wg(8) control socket of one device.
 *
 * A unix stream socket at DIR/IFNAME.sock (mode 0600, DIR created 0755)
 * speaking the cross-platform userspace protocol ("get=1" / "set=1"); served
 * by one thread per device.  Requests are parsed by uapi.c and applied with
 * wg_device_apply()/wg_device_get() (uapi_handle.c).
 *
 * The host opens it on a device it created (wgvsockd, the plugin's tunnel)
 * and closes it before destroying the device: the device knows nothing of
 * its control socket.
 */
#ifndef WGVSOCK_CONTROL_H
#define WGVSOCK_CONTROL_H

#include "wgcore/wgcore.h"

struct wg_control;

/* Called once, from the control thread, when the socket file was deleted
 * or replaced by someone else (wireguard-go's signal to shut down). */
typedef void (*wg_control_gone_fn)(void *ctx);

/* Creates the socket, replacing a stale file but failing with -EADDRINUSE if
 * a live server answers on it.  0 or -errno. */
int wg_control_open(struct wg_device *dev, const char *dir, const char *ifname,
                    wg_control_gone_fn gone, void *ctx, struct wg_control **out);
/* What a host usually wants: the socket DIR/<wg_device_ifname(dev)>.sock,
 * whose removal makes wg_device_wait(dev) return "control socket removed".
 * 0 or -errno, as wg_control_open. */
int wg_control_open_for(struct wg_device *dev, const char *dir, struct wg_control **out);
/* Stops the thread and unlinks the socket (if it is still ours).  NULL: no-op. */
void wg_control_close(struct wg_control *c);

#endif
