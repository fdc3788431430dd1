/* wgcore.h - public API of wgvsock's userspace WireGuard engine.
 *
 * A wg_device is one WireGuard interface: a TUN device, a transport (UDP,
 * TCP or AF_VSOCK stream) bound in the namespace where the device was
 * created, and the protocol state of its peers.  Its host may open a wg(8)
 * control socket on it (control.h).  The plugin hosts many devices in one
 * process; wgvsockd hosts one.
 *
 * Threads are the device's own: create starts them, destroy joins them.
 * Every function here is safe to call from any thread.  Every function that
 * can fail returns 0 or -errno, as the kernel's do; only the wg(8) text
 * protocol (uapi) writes a number out, as errno=-N.
 */
#ifndef WGVSOCK_WGCORE_H
#define WGVSOCK_WGCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "wgcore/sockaddr.h"

#define WG_KEY_LEN 32
#define WG_DEFAULT_MTU 1420
#define WG_CONTROL_DIR "/var/run/wireguard"

enum wg_transport_kind {
    WG_TRANSPORT_UDP = 0,   /* dual-stack UDP, as kernel WireGuard */
    WG_TRANSPORT_TCP,       /* dual-stack TCP stream, framed */
    WG_TRANSPORT_TCP4,
    WG_TRANSPORT_TCP6,
    WG_TRANSPORT_VSOCK,     /* AF_VSOCK SOCK_STREAM, framed */
};
/* "udp", "tcp", "tcp4", "tcp6", "vsock" -> kind; -EINVAL if unknown. */
int wg_transport_from_name(const char *name);
const char *wg_transport_name(enum wg_transport_kind kind);

struct wg_device_params {
    const char *ifname;             /* TUN interface name, 1..15 chars */
    enum wg_transport_kind transport;
    bool stream_no_crc;             /* stream framing without CRC (<= v0.2.3 peers) */
    unsigned mtu;                   /* 0: WG_DEFAULT_MTU */
    /* Stream transports: open no listening socket, only dial the peers'
     * endpoints (a container's device: its hub never dials it, so a
     * listener would only be an open port on every host address). */
    bool dial_only;
    /* Attach to the existing TUN named tun_ifname in this network namespace
     * instead of creating ifname here (the sockets stay in the caller's;
     * ifname still names the control socket and the logs): how a restarted
     * plugin takes over a persistent TUN that now lives in a container. */
    bool has_tun_netns;
    int tun_netns_fd;
    const char *tun_ifname;
    int tun_ifindex;                /* != 0: -ENODEV unless it is this one */
};

struct wg_device;

/* Creates the TUN interface (up, with the MTU), the transport (not bound until
 * a listen port or first peer needs it: kernel semantics, port 0 = random),
 * and starts the device's threads.  0 or -errno. */
int wg_device_create(const struct wg_device_params *params, struct wg_device **out);
/* Stops threads, closes the TUN (the interface disappears, persistent or
 * not), wipes all key material.  The host closes the device's control
 * socket (wg_control_close) first. */
void wg_device_destroy(struct wg_device *dev);
/* The same, except that a persistent TUN stays (without carrier until a new
 * process attaches to it): for a process that exits and leaves its
 * interfaces to its successor. */
void wg_device_detach(struct wg_device *dev);
/* TUNSETPERSIST: a persistent interface outlives this process.  0 or -errno. */
int wg_device_set_persist(struct wg_device *dev, bool persist);

const char *wg_device_ifname(const struct wg_device *dev);
int wg_device_set_mtu(struct wg_device *dev, unsigned mtu);   /* 0 or -errno */

/* Blocks until the device should go away on its own: the interface was
 * deleted, or wg_device_set_gone() said why (the control socket file was
 * removed: control.h).  Returns the reason as a short static string.
 * wg_device_destroy() from another thread also wakes it. */
const char *wg_device_wait(struct wg_device *dev);
/* Makes wg_device_wait() return reason (a static string; the first one
 * given wins). */
void wg_device_set_gone(struct wg_device *dev, const char *reason);

/* ---- configuration: the wg(8) "set" operation, already parsed ---- */

struct wg_allowedip {
    uint8_t family;                 /* AF_INET or AF_INET6 */
    uint8_t cidr;
    uint8_t ip[16];                 /* network order; 4 bytes used for IPv4 */
};

struct wg_peer_config {
    uint8_t public_key[WG_KEY_LEN];
    bool remove;
    bool update_only;
    bool has_preshared_key;
    uint8_t preshared_key[WG_KEY_LEN];   /* all zero: remove the psk */
    bool has_endpoint;
    struct wg_sockaddr endpoint;
    bool has_persistent_keepalive;
    uint16_t persistent_keepalive;       /* seconds, 0 = off */
    bool replace_allowed_ips;
    size_t n_allowed_ips;
    struct wg_allowedip *allowed_ips;
};

struct wg_device_config {
    bool has_private_key;
    uint8_t private_key[WG_KEY_LEN];     /* all zero: remove the key */
    bool has_listen_port;
    uint16_t listen_port;
    bool has_fwmark;
    uint32_t fwmark;
    bool replace_peers;
    size_t n_peers;
    struct wg_peer_config *peers;
};

/* Applies a configuration.  0 or -errno (the control socket reports it as
 * errno=-N), e.g. -EADDRINUSE for a busy port.
 * Validation that can fail happens before anything changes.  On a vsock
 * device an AF_INET endpoint is read as a CID ("0.0.0.2" = host(2)); an
 * AF_VSOCK endpoint on an IP device is EINVAL. */
int wg_device_apply(struct wg_device *dev, const struct wg_device_config *cfg);

/* ---- the wg(8) "get" operation ---- */

struct wg_peer_info {
    uint8_t public_key[WG_KEY_LEN];
    bool has_preshared_key;
    uint8_t preshared_key[WG_KEY_LEN];
    bool has_endpoint;
    struct wg_sockaddr endpoint;
    uint16_t persistent_keepalive;
    struct timespec last_handshake;      /* CLOCK_REALTIME; 0/0 = never */
    uint64_t rx_bytes, tx_bytes;         /* wire bytes, as kernel WireGuard */
    size_t n_allowed_ips;
    struct wg_allowedip *allowed_ips;
};

struct wg_device_info {
    bool has_private_key;
    uint8_t private_key[WG_KEY_LEN];
    uint8_t public_key[WG_KEY_LEN];
    uint16_t listen_port;                /* the bound port, 0 if not bound */
    uint32_t fwmark;
    size_t n_peers;
    struct wg_peer_info *peers;
};

/* Snapshot of the device.  0 or -errno; free with wg_device_info_free
 * (which wipes the keys). */
int wg_device_get(struct wg_device *dev, struct wg_device_info **out);
void wg_device_info_free(struct wg_device_info *info);

/* ---- logging: LOG_LEVEL=debug|verbose|error|silent ---- */
enum wg_log_level { WG_LOG_SILENT = 0, WG_LOG_ERROR, WG_LOG_VERBOSE, WG_LOG_DEBUG };
void wg_log_set_level(enum wg_log_level level);
enum wg_log_level wg_log_level_from_env(void);   /* reads LOG_LEVEL; default error */
/* Where info and debug lines go (default stderr; errors always go there):
 * the plugin uses stdout, which dockerd logs at level info (it logs a
 * managed plugin's stderr as errors, whatever the line says). */
void wg_log_set_info_fd(int fd);
void wg_log(enum wg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
