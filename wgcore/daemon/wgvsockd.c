/* wgvsockd - a userspace WireGuard interface served by wgcore.
 *
 * Command-line compatible with wireguard-go and wireguard-go-vsock, so
 * wg-quick (WG_QUICK_USERSPACE_IMPLEMENTATION=wgvsockd) and scripts written
 * for them keep working:
 *
 *   wgvsockd [-f|--foreground] [-n|--network vsock|tcp|tcp4|tcp6|udp]
 *            [--no-crc] [--mtu N] IFNAME
 *   wgvsockd --provision --provisioner-key PUB --attest nitro|test:CHAIN:KEY|none
 *            [--listen-port N] [--provision-port N] [-n NET] ... IFNAME
 *
 * With --provision (docs/PROVISIONING.md) the hub makes its own key, and
 * its address and peers come from offers signed by the plugin's
 * provisioning key on the provisioning port (provision/hub.c).
 *
 * It creates the TUN interface and its control socket
 * /var/run/wireguard/IFNAME.sock, then (unless -f) goes to the background;
 * the parent exits 0 only once the device is up, so `wgvsockd wg0 && wg
 * setconf wg0 ...` is race-free.  It exits 0, removing the socket, on
 * SIGTERM/SIGINT, when the socket file is deleted, or when the interface
 * is deleted.  Usage errors exit 2, failure to start exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "provision/hub.h"
#include "provision/keys.h"
#include "wgcore/control.h"
#include "wgcore/wgcore.h"
#include "wgcore/harden.h"
#include "wgcore/tun.h"          /* WG_TUN_MTU_MIN/MAX: what the engine accepts */
#include "wgcore/workers.h"      /* WG_WORKERS_MAX, for --help */

#ifndef WGVSOCK_VERSION
#define WGVSOCK_VERSION "0.1.0"
#endif

#define EXIT_USAGE 2

static const char *prog = "wgvsockd";

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: %s [-f|--foreground] [-n|--network NET] [--no-crc] [--mtu N] IFNAME\n"
        "       %s --version | --help\n"
        "\n"
        "Creates the WireGuard interface IFNAME (a TUN device) served by wgcore, with\n"
        "its wg(8) control socket at " WG_CONTROL_DIR "/IFNAME.sock.\n"
        "\n"
        "  -f, --foreground     stay in the foreground (also WG_PROCESS_FOREGROUND=1)\n"
        "  -n, --network NET    transport: vsock (default, as wireguard-go-vsock), tcp,\n"
        "                       tcp4, tcp6 (framed streams) or udp (as kernel WireGuard)\n"
        "      --no-crc         stream frames without CRC, for wireguard-go-vsock <= v0.2.3\n"
        "                       peers (also WGVSOCK_STREAM_CRC=0)\n"
        "      --mtu N          interface MTU, %u..%u (default %d)\n"
        "      --provision      take address and peers from signed offers on the\n"
        "                       provisioning port, attested (docs/PROVISIONING.md)\n"
        "      --provisioner-key PUB  the plugin's provisioning public key (base64)\n"
        "      --attest nitro|test:CHAIN_PEM:KEY_PEM|none  how to attest (test and\n"
        "                       none are insecure: for tests and development only)\n"
        "      --listen-port N  WireGuard port with --provision (default 51820)\n"
        "      --provision-port N  provisioning port (default: WireGuard port + 1)\n"
        "      --version        print the version and exit\n"
        "  -h, --help           print this help and exit\n"
        "\n"
        "Environment:\n"
        "  LOG_LEVEL=LEVEL        debug, verbose (or info), error (default) or silent\n"
        "  WGVSOCK_NETWORK=NET    the network when -n is not given (for wg-quick)\n"
        "  WGVSOCK_TEST_PCR0=HEX  --attest test: report this PCR0 (tests only)\n"
        "  WGVSOCK_STREAM_CRC=0|1 0 is --no-crc; 1 or unset: CRC (other values exit 2)\n"
        "  WG_PROCESS_FOREGROUND=1  same as -f\n"
        "  WGVSOCK_WORKERS=N      crypto worker threads (default: online CPUs, at most\n"
        "                         %u; none on one CPU; 0: encrypt on the device's threads)\n"
        "  WGVSOCK_AEAD=openssl|sodium  data-path ChaCha20-Poly1305 (default openssl)\n"
        "  WGVSOCK_TUN_OFFLOAD=0  plain TUN without offloads (default: TSO/checksum\n"
        "                         offloads on)\n"
        "  WGVSOCK_UDP_OFFLOAD=0  no UDP_SEGMENT/UDP_GRO on the UDP sockets (default: on\n"
        "                         where the kernel has them)\n"
        "\n"
        "Exit status: 0 after SIGTERM/SIGINT, removal of the control socket or of the\n"
        "interface; 1 if the interface cannot be created; 2 for bad arguments.\n",
        prog, prog, WG_TUN_MTU_MIN, WG_TUN_MTU_MAX, WG_DEFAULT_MTU, WG_WORKERS_MAX);
}

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
    exit(EXIT_USAGE);
}

/* Interface names as the kernel accepts them (dev_valid_name). */
static bool valid_ifname(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '/' || s[i] == ':' || (unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return false;
    return true;
}

static bool parse_mtu(const char *s, unsigned *out)
{
    unsigned long v = 0;

    if (!*s || strlen(s) > 5)
        return false;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    /* The engine's limits, checked here so that a wrong value is a usage
     * error (exit 2), not a failure to create the device (exit 1): 68 is
     * the IPv4 minimum (IPv6 on the interface needs 1280), and above
     * WG_TUN_MTU_MAX a sealed packet no longer fits one UDP datagram. */
    if (v < WG_TUN_MTU_MIN || v > WG_TUN_MTU_MAX)
        return false;
    *out = (unsigned)v;
    return true;
}

struct options {
    bool foreground;
    struct wg_device_params params;
    bool provision, has_provisioner_key, has_attest;
    struct prov_hub_params prov;
};

static uint16_t parse_port(const char *s, const char *what)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v < 1 || v > 65535)
        usage_error("invalid %s '%s' (expected 1..65535)", what, s);
    return (uint16_t)v;
}

static void parse_provision_opt(struct options *o, int c, const char *arg);

static void parse_args(int argc, char **argv, struct options *o)
{
    enum { OPT_NO_CRC = 256, OPT_MTU, OPT_VERSION, OPT_PROVISION, OPT_PROVISIONER_KEY,
           OPT_ATTEST, OPT_LISTEN_PORT, OPT_PROVISION_PORT };
    static const struct option longopts[] = {
        { "foreground", no_argument, NULL, 'f' },
        { "network", required_argument, NULL, 'n' },
        { "no-crc", no_argument, NULL, OPT_NO_CRC },
        { "mtu", required_argument, NULL, OPT_MTU },
        { "version", no_argument, NULL, OPT_VERSION },
        { "provision", no_argument, NULL, OPT_PROVISION },
        { "provisioner-key", required_argument, NULL, OPT_PROVISIONER_KEY },
        { "attest", required_argument, NULL, OPT_ATTEST },
        { "listen-port", required_argument, NULL, OPT_LISTEN_PORT },
        { "provision-port", required_argument, NULL, OPT_PROVISION_PORT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *fg = getenv("WG_PROCESS_FOREGROUND");
    const char *crc = getenv("WGVSOCK_STREAM_CRC");
    const char *net = getenv("WGVSOCK_NETWORK");
    int c, kind;

    memset(o, 0, sizeof(*o));
    o->params.transport = WG_TRANSPORT_VSOCK;
    /* For launchers that pass only IFNAME (wg-quick's
     * WG_QUICK_USERSPACE_IMPLEMENTATION); -n wins over it. */
    if (net && *net) {
        kind = wg_transport_from_name(net);
        if (kind < 0)
            usage_error("invalid WGVSOCK_NETWORK '%s' (expected vsock, tcp, tcp4, tcp6 or udp)", net);
        o->params.transport = (enum wg_transport_kind)kind;
    }
    o->foreground = fg && !strcmp(fg, "1");
    if (crc && *crc) {
        if (!strcmp(crc, "0"))
            o->params.stream_no_crc = true;
        else if (strcmp(crc, "1"))
            usage_error("WGVSOCK_STREAM_CRC must be 0 or 1, not '%s'", crc);
    }

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:fn:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            o->foreground = true;
            break;
        case 'n':
            kind = wg_transport_from_name(optarg);
            if (kind < 0)
                usage_error("invalid network '%s' (expected vsock, tcp, tcp4, tcp6 or udp)", optarg);
            o->params.transport = (enum wg_transport_kind)kind;
            break;
        case OPT_NO_CRC:
            o->params.stream_no_crc = true;
            break;
        case OPT_MTU:
            if (!parse_mtu(optarg, &o->params.mtu))
                usage_error("invalid MTU '%s' (expected %u..%u)", optarg, WG_TUN_MTU_MIN,
                            WG_TUN_MTU_MAX);
            break;
        case OPT_PROVISION:
        case OPT_PROVISIONER_KEY:
        case OPT_ATTEST:
        case OPT_LISTEN_PORT:
        case OPT_PROVISION_PORT:
            parse_provision_opt(o, c - OPT_PROVISION, optarg);
            break;
        case OPT_VERSION:
            printf("wgvsockd %s\n"
                   "Userspace WireGuard daemon (wgcore) with UDP, TCP and AF_VSOCK transports.\n",
                   WGVSOCK_VERSION);
            exit(0);
        case 'h':
            usage(stdout);
            exit(0);
        case ':':
            usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt)
                usage_error("unknown option '-%c'", optopt);
            usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        usage_error("missing interface name");
    if (optind + 1 < argc)
        usage_error("too many arguments (one interface name expected, got '%s' after '%s')",
                    argv[optind + 1], argv[optind]);
    if (!valid_ifname(argv[optind]))
        usage_error("invalid interface name '%s' (1 to 15 characters, no '/', ':' or spaces)",
                    argv[optind]);
    o->params.ifname = argv[optind];
    if (o->provision && (!o->has_provisioner_key || !o->has_attest))
        usage_error("--provision needs --provisioner-key and --attest");
    if (!o->provision && (o->has_provisioner_key || o->has_attest))
        usage_error("--provisioner-key and --attest need --provision");
    o->prov.vsock = o->params.transport == WG_TRANSPORT_VSOCK;
}

/* The --provision family, in the order of their enum (0 = --provision). */
static void parse_provision_opt(struct options *o, int which, const char *arg)
{
    const char *why;
    int rc;

    switch (which) {
    case 0:
        o->provision = true;
        if (!o->prov.wg_port)
            o->prov.wg_port = 51820;
        break;
    case 1:
        if (prov_pubkey_parse(arg, o->prov.provisioner_key) < 0)
            usage_error("invalid --provisioner-key (expected a base64 Ed25519 public key)");
        o->has_provisioner_key = true;
        break;
    case 2:
        if ((rc = prov_hub_parse_attest(arg, &o->prov, &why)) < 0)
            usage_error("invalid --attest '%s': %s (%s)", arg, why, strerror(-rc));
        o->has_attest = true;
        break;
    case 3:
        o->prov.wg_port = parse_port(arg, "--listen-port");
        break;
    case 4:
        o->prov.port = parse_port(arg, "--provision-port");
        break;
    }
}

/* ---- running ---- */

struct waiter {
    struct wg_device *dev;
    int fd;                 /* write end: written once wg_device_wait returns */
    const char *reason;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    char one = 1;

    /* Read by the main thread once the pipe wakes it: publish it first. */
    __atomic_store_n(&w->reason, wg_device_wait(w->dev), __ATOMIC_RELEASE);
    if (write(w->fd, &one, 1) != 1)
        wg_log(WG_LOG_ERROR, "cannot wake the main thread");
    return NULL;
}

/* Daemon mode: the parent waits on a pipe for the child's verdict, so it
 * exits 0 only once the interface and its control socket exist. */
static int go_background(void)
{
    int p[2], status = 1;
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0) {
        fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
        exit(1);
    }
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        close(p[1]);
        /* EOF without a byte: the child died before reporting. */
        if (read(p[0], &status, sizeof(status)) != sizeof(status))
            status = 1;
        _exit(status ? 1 : 0);
    }
    close(p[0]);
    if (setsid() < 0)
        wg_log(WG_LOG_ERROR, "setsid: %s", strerror(errno));
    if (chdir("/") < 0)
        wg_log(WG_LOG_ERROR, "chdir /: %s", strerror(errno));
    return p[1];
}

static void report(int fd, int status)
{
    if (fd < 0)
        return;
    if (write(fd, &status, sizeof(status)) != sizeof(status))
        wg_log(WG_LOG_ERROR, "cannot report to the parent process");
    close(fd);
}

/* Keys out of core dumps; as many fds as allowed (a hub's listener holds
 * one per peer connection).  Neither is a reason not to start. */
static void harden(void)
{
    unsigned long nofile;
    int err;

    err = wg_harden_no_dump();
    if (err)
        wg_log(WG_LOG_ERROR, "cannot disable core dumps: %s", strerror(-err));
    err = wg_raise_fd_limit(&nofile);
    if (err)
        wg_log(WG_LOG_ERROR, "cannot raise the open file limit: %s", strerror(-err));
    wg_log(WG_LOG_VERBOSE, "open file limit %lu", nofile);
}

int main(int argc, char **argv)
{
    struct options o;
    struct wg_device *dev;
    struct wg_control *control = NULL;
    struct waiter w = { 0 };
    struct prov_hub *hub = NULL;
    sigset_t sigs;
    pthread_t thread;
    int status_fd = -1, sfd, wp[2], err, null;
    struct pollfd pfd[2];

    parse_args(argc, argv, &o);
    wg_log_set_level(wg_log_level_from_env());
    harden();

    if (!o.foreground)
        status_fd = go_background();
    null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        close(null);
    }

    /* Blocked before any thread exists, so every device thread inherits the
     * mask and the signals reach only the signalfd below. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    /* A shell starts background jobs with SIGINT ignored, and an ignored
     * signal never reaches a signalfd: take the default back first. */
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    if (sfd < 0 || pipe2(wp, O_CLOEXEC) < 0) {
        wg_log(WG_LOG_ERROR, "%s: %s", o.params.ifname, strerror(errno));
        report(status_fd, 1);
        return 1;
    }

    err = wg_device_create(&o.params, &dev);
    if (!err) {
        err = wg_control_open_for(dev, WG_CONTROL_DIR, &control);
        if (err)
            wg_device_destroy(dev);
    }
    if (err) {
        const char *hint = "";

        if (err == -EBUSY || err == -EEXIST)
            hint = " (an interface of that name exists; another daemon?)";
        else if (err == -EADDRINUSE)
            hint = " (a running daemon answers on " WG_CONTROL_DIR "/IFNAME.sock)";
        wg_log(WG_LOG_ERROR, "%s: cannot create the interface: %s%s", o.params.ifname,
               strerror(-err), hint);
        /* Without a logger (LOG_LEVEL=silent) the operator still learns why. */
        if (wg_log_level_from_env() == WG_LOG_SILENT)
            fprintf(stderr, "%s: %s: %s%s\n", prog, o.params.ifname, strerror(-err), hint);
        report(status_fd, 1);
        return 1;
    }
    if (o.provision) {
        const char *why;
        if ((err = prov_hub_start(dev, &o.prov, &hub, &why)) < 0) {
            wg_log(WG_LOG_ERROR, "%s: --provision: %s: %s", o.params.ifname, why, strerror(-err));
            if (wg_log_level_from_env() == WG_LOG_SILENT)
                fprintf(stderr, "%s: --provision: %s: %s\n", prog, why, strerror(-err));
            wg_control_close(control);
            wg_device_destroy(dev);
            report(status_fd, 1);
            return 1;
        }
    }
    w.dev = dev;
    w.fd = wp[1];
    err = pthread_create(&thread, NULL, wait_thread, &w);
    if (err) {
        wg_log(WG_LOG_ERROR, "%s: pthread_create: %s", o.params.ifname, strerror(err));
        prov_hub_stop(hub);
        wg_control_close(control);
        wg_device_destroy(dev);
        report(status_fd, 1);
        return 1;
    }
    wg_log(WG_LOG_VERBOSE, "%s: wgvsockd %s up (network %s%s)", o.params.ifname, WGVSOCK_VERSION,
           wg_transport_name(o.params.transport), o.params.stream_no_crc ? ", no CRC" : "");
    report(status_fd, 0);

    pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
    pfd[1] = (struct pollfd){ .fd = wp[0], .events = POLLIN };
    for (;;) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            wg_log(WG_LOG_ERROR, "poll: %s", strerror(errno));
            break;
        }
        if (pfd[0].revents) {
            struct signalfd_siginfo si;

            if (read(sfd, &si, sizeof(si)) == sizeof(si))
                wg_log(WG_LOG_VERBOSE, "%s: %s, shutting down", o.params.ifname,
                       strsignal((int)si.ssi_signo));
            break;
        }
        if (pfd[1].revents) {
            const char *reason = __atomic_load_n(&w.reason, __ATOMIC_ACQUIRE);
            wg_log(WG_LOG_VERBOSE, "%s: %s, shutting down", o.params.ifname,
                   reason ? reason : "device stopped");
            break;
        }
    }
    prov_hub_stop(hub);
    wg_control_close(control);
    /* destroy also wakes a wg_device_wait still in progress. */
    wg_device_destroy(dev);
    pthread_join(thread, NULL);
    close(wp[0]);
    close(wp[1]);
    close(sfd);
    return 0;
}
