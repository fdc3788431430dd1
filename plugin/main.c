/* main.c - wgvsock-plugin: the libnetwork remote network driver.
 *
 * Runs in the foreground (systemd, managed plugin).  Start-up is fast and
 * does no network I/O: Docker retries a down plugin for ~30 s per call, so
 * the socket must answer as soon as possible after a restart.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plugin/forward.h"
#include "plugin/fdbudget.h"
#include "plugin/adopt.h"
#include "plugin/log.h"
#include "plugin/publish.h"
#include "plugin/seedgen.h"
#include "plugin/server.h"
#include "plugin/shutdown.h"
#include "plugin/state.h"
#include "plugin/tunnel.h"
#include "wgcore/harden.h"
#include "wgcore/secret_mem.h"
#include "wgcore/workers.h"      /* WG_WORKERS_MAX, for --help */

#define PLUGIN_VERSION "0.1.0"
#define DEFAULT_SOCKET "/run/docker/plugins/wgvsock.sock"
#define DEFAULT_STATE_DIR "/var/lib/wgvsock"

static void usage(FILE *f)
{
    fprintf(f,
"Usage: wgvsock-plugin [OPTIONS]\n"
"\n"
"The wgvsock Docker network driver (libnetwork remote driver).  Gives every\n"
"container on a wgvsock network a WireGuard interface whose key is derived\n"
"from the network's seed and the container's IPv4 address, tunnelled to a\n"
"hub over AF_VSOCK, TCP or UDP.  Runs in the foreground; SIGTERM/SIGINT stop\n"
"it and leave the containers' interfaces in place: the next start (a restart,\n"
"an upgrade, or after a crash) takes them over, and the containers' traffic\n"
"only pauses meanwhile.  An interface goes away with its container\n"
"(Leave/DeleteEndpoint), or at the next start if the container went away.\n"
"\n"
"Options:\n"
"  -s, --socket PATH       unix socket to serve (default " DEFAULT_SOCKET ")\n"
"  -d, --state-dir DIR     networks and endpoints are kept here, 0600\n"
"                          (default " DEFAULT_STATE_DIR ")\n"
"  -c, --control-dir DIR   wg(8) control sockets of the containers' devices\n"
"                          (default " WG_CONTROL_DIR "; \"\" for none)\n"
"  -f, --seed-file PATH    the seed for networks that set none themselves\n"
"                          (default: $WGVSOCK_SEED_FILE)\n"
"  -h, --help              this help\n"
"  -V, --version           print the version\n"
"\n"
"Environment:\n"
"  WGVSOCK_SEED_FILE       file holding the base64 seed (recommended: the seed\n"
"                          then never appears in `docker network inspect`)\n"
"  LOG_LEVEL               error (default), verbose (or info), debug, silent\n"
"  WGVSOCK_SEED_GENERATE=1 create WGVSOCK_SEED_FILE with a random seed if it\n"
"                          does not exist (the managed plugin's default)\n"
"  WGVSOCK_SANDBOX_ROOT    prefix for the containers' namespace files (published\n"
"                          ports) when dockerd runs in another mount namespace,\n"
"                          e.g. /proc/<dockerd PID>/root (without it the other\n"
"                          mount namespaces' /proc/PID/root are tried)\n"
"  WGVSOCK_STREAM_CRC      0: stream frames without CRC (wireguard-go-vsock\n"
"                          <= v0.2.3 hubs) for networks that do not set\n"
"                          wgvsock.stream-crc; 1 or unset: with CRC\n"
"  WGVSOCK_WORKERS=N       crypto worker threads shared by all devices (default:\n"
"                          online CPUs, at most %u; none on one CPU; 0: none)\n"
"  WGVSOCK_AEAD            openssl (default) or sodium: ChaCha20-Poly1305 backend\n"
"  WGVSOCK_TUN_OFFLOAD=0   plain TUN devices without offloads (default: on)\n"
"  WGVSOCK_UDP_OFFLOAD=0   no UDP GSO/GRO on the UDP transport (default: on)\n"
"  WGVSOCK_SCOPE           local (default) or global: global for swarm services\n"
"                          (the manager allocates addresses for every node);\n"
"                          a global driver's networks need a swarm\n"
"\n"
"Network options (docker network create -o KEY=VALUE), [default]:\n",
            WG_WORKERS_MAX);
    net_options_help(f);
    fputs("See docs/OPTIONS.md.\n"
          "\n"
          "Exit status: 0 after SIGTERM/SIGINT; 1 if it cannot start (state directory,\n"
          "socket, another instance answering on it); 2 for bad arguments or environment.\n", f);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "socket", required_argument, NULL, 's' },
        { "state-dir", required_argument, NULL, 'd' },
        { "control-dir", required_argument, NULL, 'c' },
        { "seed-file", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *socket_path = DEFAULT_SOCKET, *state_dir = DEFAULT_STATE_DIR;
    const char *control_dir = WG_CONTROL_DIR, *seed_file = getenv("WGVSOCK_SEED_FILE");
    const char *crc = getenv("WGVSOCK_STREAM_CRC"), *scope = getenv("WGVSOCK_SCOPE"), *gen;
    struct plugin plugin = { .tun = &tunnel_engines_ops };
    struct server *srv = NULL;
    char err[512];
    struct adopt_pending *pending;
    time_t reap_at;
    sigset_t sigs;
    unsigned long nofile, capacity;
    int opt, sig, ret;

    while ((opt = getopt_long(argc, argv, "s:d:c:f:hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 's': socket_path = optarg; break;
        case 'd': state_dir = optarg; break;
        case 'c': control_dir = optarg; break;
        case 'f': seed_file = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("wgvsock-plugin %s\n", PLUGIN_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "wgvsock-plugin: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!*socket_path || !*state_dir) {
        fprintf(stderr, "wgvsock-plugin: --socket and --state-dir must not be empty\n");
        return 2;
    }
    /* As wgvsockd: 0 or 1, anything else is a mistake, not a guess. */
    if (crc && *crc && strcmp(crc, "0") && strcmp(crc, "1")) {
        fprintf(stderr, "wgvsock-plugin: WGVSOCK_STREAM_CRC must be 0 or 1, not '%s'\n", crc);
        return 2;
    }
    plugin.stream_no_crc = crc && !strcmp(crc, "0");
    if (scope && *scope && strcmp(scope, "local") && strcmp(scope, "global")) {
        fprintf(stderr, "wgvsock-plugin: WGVSOCK_SCOPE must be local or global, not '%s'\n",
                scope);
        return 2;
    }
    plugin.global_scope = scope && !strcmp(scope, "global");
    if (seed_file && !*seed_file)
        seed_file = NULL;
    wg_log_set_level(wg_log_level_from_env());
    /* Errors on stderr, the rest on stdout: dockerd logs a managed plugin's
     * stdout at level info and its stderr at level error. */
    wg_log_set_info_fd(STDOUT_FILENO);
    /* Private keys and seeds must never reach a core file. */
    ret = wg_harden_no_dump();
    if (ret)
        pl_err("cannot disable core dumps: %s", strerror(-ret));

    /* Signals are taken by sigwait() below; every thread started from here
     * on (HTTP, devices) inherits the mask. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (seed_file && (gen = getenv("WGVSOCK_SEED_GENERATE")) && !strcmp(gen, "1")) {
        /* The managed plugin: a seed of its own in its persistent state. */
        ret = seedgen_create(seed_file);
        if (ret < 0) {
            fprintf(stderr, "wgvsock-plugin: cannot create the seed file %s: %s\n", seed_file,
                    strerror(-ret));
            return 1;
        }
        if (ret > 0)
            fprintf(stdout, "wgvsock-plugin: generated a new seed in %s (managed plugin: on the "
                    "host under /var/lib/docker/plugins/<plugin ID>/propagated-mount/; "
                    "`make plugin-peers SUBNET=...` prints the hub's peers)\n", seed_file);
        fflush(stdout);
    }
    if (seed_file) {
        /* Check now so a wrong path shows up in the plugin's log at once;
         * it stays an error per network, not a reason to refuse to start. */
        struct kd_secret *s = wg_secret_alloc(sizeof(*s));
        char why[NET_ERR_MAX];
        if (s && net_read_seed_file(seed_file, s, why))
            pl_err("WGVSOCK_SEED_FILE: %s", why);
        wg_secret_free(s, sizeof(*s));
    }

    ret = state_open(state_dir, seed_file, &plugin.state);
    if (ret) {
        fprintf(stderr, "wgvsock-plugin: cannot open state directory %s: %s\n", state_dir,
                strerror(-ret));
        return 1;
    }
    plugin.seed_file = seed_file;
    plugin.control_dir = control_dir;
    ret = fwd_start(&plugin.fwd);
    if (ret) {
        fprintf(stderr, "wgvsock-plugin: cannot start the port forwarder: %s\n", strerror(-ret));
        state_close(plugin.state);
        return 1;
    }

    nofile = fdbudget_init(&capacity);
    ret = server_start(&plugin, socket_path, &srv, err, sizeof(err));
    if (ret) {
        fprintf(stderr, "wgvsock-plugin: %s\n", err);
        fwd_stop(plugin.fwd);
        state_close(plugin.state);
        return 1;
    }
    /* One start-up line unless silenced: not an error, so not via wg_log. */
    if (wg_log_level_from_env() != WG_LOG_SILENT)
        fprintf(stdout, "wgvsock-plugin %s listening on %s (state %s; open file limit %lu: "
                "room for about %lu containers)\n", PLUGIN_VERSION, socket_path, state_dir,
                nofile, capacity);
    fflush(stdout);

    /* The server answers already: Docker's calls (a DeleteEndpoint for a
     * container stopped while we were down) are not kept waiting. */
    pending = plugin_adopt(&plugin);
    reap_at = time(NULL) + ADOPT_GRACE_S;
    /* After adoption, which deletes the endpoints of containers gone. */
    publish_restore(&plugin);

    /* SIGHUP (systemctl reload) has nothing to reload: the seed file is
     * read at every derivation anyway. */
    for (;;) {
        struct timespec ts = { .tv_sec = reap_at - time(NULL) };

        if (pending && ts.tv_sec <= 0) {
            plugin_adopt_reap(&plugin, pending);
            pending = NULL;
        }
        sig = pending ? sigtimedwait(&sigs, NULL, &ts) : sigwaitinfo(&sigs, NULL);
        if (sig == SIGHUP) {
            pl_info("SIGHUP ignored: nothing to reload");
            continue;
        }
        if (sig > 0)
            break;
    }
    pl_info("signal %d: exiting; the containers' interfaces stay for the next start", sig);

    server_stop(srv);
    fwd_stop(plugin.fwd);
    plugin_adopt_reap(NULL, pending);
    /* An upgrade or restart keeps the tunnels: only Leave/DeleteEndpoint
     * (or the container's end) deletes an interface. */
    plugin_destroy_devices(&plugin);
    state_close(plugin.state);
    return 0;
}
