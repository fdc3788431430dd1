/* cli.c - the `keyderive` command.
 *
 *   keyderive [--add B64] SEED_B64 ADDRESS          private key (the Python
 *                                                  driver's exact interface)
 *   keyderive pubkey [--add B64] SEED_B64 ADDRESS   public key
 *   keyderive peers --subnet CIDR ... SEED_B64      [Peer] blocks for the hub
 *
 * Error discipline: every input is validated before anything is written to
 * stdout, so a bad invocation prints one line on stderr, exits 2 and leaves
 * stdout empty.  Secrets (seed, additional) are never part of a message:
 * errors name the argument, not its value.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "keyderive/keyderive.h"
#include "keyderive/subnet.h"

#define EXIT_BAD_INPUT 2
#define EXIT_INTERNAL 1

/* Largest secret file read: base64 of KD_SECRET_MAX bytes plus generous
 * room for surrounding whitespace. */
#define SECRET_FILE_MAX 8192

enum command { CMD_PRIVATE, CMD_PUBKEY, CMD_PEERS };
enum format { FMT_WG, FMT_UAPI, FMT_JSON };

/* Process-wide so that every exit path can wipe them (see fail()). */
static struct kd_secret seed, additional;

static void wipe_secrets(void)
{
    kd_secret_wipe(&seed);
    kd_secret_wipe(&additional);
}

static void __attribute__((noreturn, format(printf, 2, 3)))
fail(int status, const char *fmt, ...)
{
    va_list ap;

    wipe_secrets();
    fputs("keyderive: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

static const char usage_text[] =
"NAME\n"
"    keyderive - derive per-endpoint WireGuard keys from a secret seed\n"
"\n"
"SYNOPSIS\n"
"    keyderive [--add B64 | --add-file FILE] SEED_B64 ADDRESS\n"
"    keyderive [--add B64 | --add-file FILE] --seed-file FILE ADDRESS\n"
"    keyderive pubkey [--add B64 | --add-file FILE] (SEED_B64 | --seed-file FILE) ADDRESS\n"
"    keyderive peers --subnet CIDR [--skip-gateway] [--range FIRST-LAST]\n"
"                    [--format wg|uapi|json] [--force]\n"
"                    [--add B64 | --add-file FILE] (SEED_B64 | --seed-file FILE)\n"
"    keyderive --help\n"
"\n"
"DESCRIPTION\n"
"    Every wgvsock endpoint's WireGuard private key is derived, not stored:\n"
"\n"
"        priv = clamp(SHA3-256(seed || additional || address))\n"
"\n"
"    seed and additional are the bytes of their base64 arguments, address is\n"
"    the endpoint's IPv4 address as 4 bytes or IPv6 address as 16 bytes, in\n"
"    network order.  SHA3-256 is FIPS-202 SHA3 (Python's hashlib.sha3_256).\n"
"    clamp is the usual Curve25519 clamping; the public key is the X25519\n"
"    base-point multiple.  The result is byte-identical to the Python driver\n"
"    keyderive replaces, so existing hub configurations keep working.\n"
"\n"
"COMMANDS\n"
"    (none)  Print the private key of ADDRESS, base64 with padding (the\n"
"            format of wg genkey).  Same arguments and output as the\n"
"            original script.\n"
"    pubkey  Print the public key of ADDRESS (what wg pubkey would print\n"
"            for the private key).\n"
"    peers   Print the public keys of every host address of a subnet, as\n"
"            configuration for the hub.\n"
"    help    Print this text.\n"
"\n"
"ARGUMENTS\n"
"    SEED_B64   The secret seed, standard base64 with padding.  \"-\" reads it\n"
"               from standard input.  Prefer --seed-file or \"-\": an argument\n"
"               is visible in ps(1) and shell history.\n"
"    ADDRESS    A.B.C.D or an IPv6 address, optionally followed by /LEN,\n"
"               which is checked and then ignored.\n"
"\n"
"OPTIONS\n"
"    --add B64          The additional string, base64 (may be empty: --add '').\n"
"                       Default: YmVzdG92Lmlv, the base64 of \"bestov.io\".\n"
"    --add-file FILE    Read the additional's base64 from FILE (\"-\": stdin).\n"
"    --seed-file FILE   Read the seed's base64 from FILE (\"-\": stdin).\n"
"                       Whitespace around the base64 text is ignored.\n"
"    --subnet CIDR      (peers) The network, e.g. 10.0.42.0/24 or fd00:42::/120.\n"
"                       Host bits must be zero.\n"
"    --skip-gateway     (peers) Skip the first host address, where Docker puts\n"
"                       the network's gateway.\n"
"    --range FIRST-LAST (peers) Only addresses from FIRST to LAST inclusive.\n"
"                       Each is an address inside the subnet or a decimal\n"
"                       offset from the network address (in 10.0.42.0/24,\n"
"                       21-30 means 10.0.42.21 to 10.0.42.30).\n"
"    --format FMT       (peers) wg (default), uapi or json; see OUTPUT.\n"
"    --force            (peers) Allow more than 65536 peers.\n"
"    -h, --help         Print this text and exit.\n"
"\n"
"HOST ADDRESSES (peers)\n"
"    IPv4 /0-/30: every address except the network and broadcast addresses.\n"
"    IPv4 /31, /32: every address (point-to-point links, single hosts).\n"
"    IPv6 /0-/126: every address except the all-zeros subnet-router anycast\n"
"    address.  IPv6 /127, /128: every address.  --skip-gateway then drops the\n"
"    first remaining address and --range narrows the rest.\n"
"\n"
"OUTPUT (peers)\n"
"    wg    One block per address, separated by blank lines; valid input for\n"
"          wg addconf / wg setconf / wg-quick:\n"
"              [Peer]\n"
"              PublicKey = <base64>\n"
"              AllowedIPs = 10.0.42.2/32        (IPv6: /128)\n"
"    uapi  One complete wg(8) userspace-API set request: \"set=1\", then per\n"
"          peer \"public_key=<hex>\", \"replace_allowed_ips=true\",\n"
"          \"allowed_ip=<addr>/32\", and a final empty line.  Write it to a\n"
"          control socket such as /var/run/wireguard/wg0.sock.\n"
"    json  An array of {\"address\": \"10.0.42.2\", \"public_key\": \"<base64>\"}.\n"
"\n"
"EXIT STATUS\n"
"    0 success; 2 bad input (invalid base64, empty seed, bad address, subnet\n"
"    or range, too many peers, unreadable file; one message on stderr and\n"
"    nothing on stdout); 1 internal error (hash failure, write error).\n"
"\n"
"SECURITY\n"
"    The seed and the additional are never printed in messages and are wiped\n"
"    from memory (and from this process's argument list) after use.  Anyone\n"
"    with the seed and the additional can compute every endpoint's key.\n"
"\n"
"EXAMPLES\n"
"    keyderive --seed-file /etc/wgvsock/seed 10.0.42.2 > priv\n"
"    keyderive pubkey --seed-file /etc/wgvsock/seed 10.0.42.2\n"
"    keyderive peers --seed-file /etc/wgvsock/seed --subnet 10.0.42.0/24 \\\n"
"        --skip-gateway --range 21-30 | wg addconf wg0 /dev/stdin\n"
"\n"
"    See docs/KEYDERIVE.md for the scheme and operator workflows.\n";

struct options {
    enum command cmd;
    const char *add_b64;           /* argv string, wiped after decoding */
    const char *add_file;
    const char *seed_file;
    const char *subnet;
    const char *range;
    enum format format;
    bool skip_gateway, force;
    bool peers_only_option_seen;
};

/* Read a base64 secret from a file (or stdin for "-") and decode it.  what
 * names the secret in messages. */
static void read_secret_file(struct kd_secret *out, const char *path, const char *what)
{
    char text[SECRET_FILE_MAX + 1];
    bool is_stdin = !strcmp(path, "-");
    size_t n = 0;
    int fd = 0;

    if (!is_stdin) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            fail(EXIT_BAD_INPUT, "cannot open %s file '%s': %s", what, path, strerror(errno));
    }
    for (;;) {
        ssize_t r = read(fd, text + n, sizeof(text) - 1 - n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int err = errno;

            sodium_memzero(text, sizeof(text));
            fail(EXIT_BAD_INPUT, "cannot read %s from %s: %s", what,
                 is_stdin ? "standard input" : path, strerror(err));
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == sizeof(text) - 1) {
            char extra;

            /* Full buffer: it is only an error if there is more. */
            do
                r = read(fd, &extra, 1);
            while (r < 0 && errno == EINTR);
            if (r != 0) {
                sodium_memzero(text, sizeof(text));
                sodium_memzero(&extra, sizeof(extra));
                fail(EXIT_BAD_INPUT, "%s input is larger than %d bytes", what, SECRET_FILE_MAX);
            }
            break;
        }
    }
    if (!is_stdin)
        close(fd);
    text[n] = '\0';
    /* An embedded NUL would silently truncate the secret. */
    if (strlen(text) != n || kd_secret_from_b64(out, text) != 0) {
        sodium_memzero(text, sizeof(text));
        fail(EXIT_BAD_INPUT, "%s from %s is not valid base64 (standard alphabet, with padding)",
             what, is_stdin ? "standard input" : "file");
    }
    sodium_memzero(text, sizeof(text));
}

/* Decode a base64 secret given on the command line, then blank the argument
 * so it no longer shows in /proc/PID/cmdline. */
static void secret_from_arg(struct kd_secret *out, char *arg, const char *what)
{
    int ret = kd_secret_from_b64(out, arg);

    sodium_memzero(arg, strlen(arg));
    if (ret != 0)
        fail(EXIT_BAD_INPUT, "%s is not valid base64 (standard alphabet, with padding)", what);
}

static void parse_args(int argc, char **argv, struct options *o, char ***pos, int *npos)
{
    enum { OPT_ADD = 256, OPT_ADD_FILE, OPT_SEED_FILE, OPT_SUBNET, OPT_SKIP_GATEWAY,
           OPT_RANGE, OPT_FORMAT, OPT_FORCE };
    static const struct option longopts[] = {
        { "add",          required_argument, NULL, OPT_ADD },
        { "add-file",     required_argument, NULL, OPT_ADD_FILE },
        { "seed-file",    required_argument, NULL, OPT_SEED_FILE },
        { "subnet",       required_argument, NULL, OPT_SUBNET },
        { "skip-gateway", no_argument,       NULL, OPT_SKIP_GATEWAY },
        { "range",        required_argument, NULL, OPT_RANGE },
        { "format",       required_argument, NULL, OPT_FORMAT },
        { "force",        no_argument,       NULL, OPT_FORCE },
        { "help",         no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    /* getopt's own messages could quote an option's value ("--ad=SECRET"),
     * so report errors ourselves, naming only the option. */
    opterr = 0;
    /* Options may follow positionals, as with the Python script's argparse. */
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage_text, stdout);
            exit(fflush(stdout) == 0 ? 0 : EXIT_INTERNAL);
        case OPT_ADD:
            /* Last one wins, as with argparse; earlier ones are blanked. */
            if (o->add_b64)
                sodium_memzero((char *)o->add_b64, strlen(o->add_b64));
            o->add_b64 = optarg;
            break;
        case OPT_ADD_FILE:
            o->add_file = optarg;
            break;
        case OPT_SEED_FILE:
            o->seed_file = optarg;
            break;
        case OPT_SUBNET:
            o->subnet = optarg;
            o->peers_only_option_seen = true;
            break;
        case OPT_SKIP_GATEWAY:
            o->skip_gateway = true;
            o->peers_only_option_seen = true;
            break;
        case OPT_RANGE:
            o->range = optarg;
            o->peers_only_option_seen = true;
            break;
        case OPT_FORMAT:
            if (!strcmp(optarg, "wg"))
                o->format = FMT_WG;
            else if (!strcmp(optarg, "uapi"))
                o->format = FMT_UAPI;
            else if (!strcmp(optarg, "json"))
                o->format = FMT_JSON;
            else
                fail(EXIT_BAD_INPUT, "--format must be wg, uapi or json");
            o->peers_only_option_seen = true;
            break;
        case OPT_FORCE:
            o->force = true;
            o->peers_only_option_seen = true;
            break;
        case ':':
        case '?': {
            const char *bad = argv[optind - 1];
            int len = (int)strcspn(bad, "=");

            if (optopt && optopt < 256)
                fail(EXIT_BAD_INPUT, c == ':' ? "option -%c needs a value (see --help)"
                                             : "unknown option -%c (see --help)", optopt);
            fail(EXIT_BAD_INPUT, c == ':' ? "option %.*s needs a value (see --help)"
                                         : "unknown or ambiguous option %.*s (see --help)",
                 len, bad);
        }
        default:
            fail(EXIT_INTERNAL, "option parsing failed");
        }
    }
    *pos = argv + optind;
    *npos = argc - optind;

    /* The command is the first positional.  None of these words is valid
     * padded base64, so the original two-argument form stays unambiguous. */
    o->cmd = CMD_PRIVATE;
    if (*npos > 0) {
        const char *w = (*pos)[0];

        if (!strcmp(w, "help")) {
            fputs(usage_text, stdout);
            exit(fflush(stdout) == 0 ? 0 : EXIT_INTERNAL);
        }
        if (!strcmp(w, "pubkey") || !strcmp(w, "peers")) {
            o->cmd = !strcmp(w, "pubkey") ? CMD_PUBKEY : CMD_PEERS;
            (*pos)++;
            (*npos)--;
        }
    }
}

/* Load seed and additional from wherever the options say; positional is the
 * SEED_B64 argument or NULL when --seed-file was given. */
static void load_secrets(const struct options *o, char *seed_arg)
{
    bool seed_stdin = seed_arg ? !strcmp(seed_arg, "-") : !strcmp(o->seed_file, "-");

    if (o->add_b64 && o->add_file)
        fail(EXIT_BAD_INPUT, "give either --add or --add-file, not both");
    if (seed_stdin && o->add_file && !strcmp(o->add_file, "-"))
        fail(EXIT_BAD_INPUT, "seed and additional cannot both come from standard input");

    if (seed_arg && !seed_stdin)
        secret_from_arg(&seed, seed_arg, "SEED_B64");
    else
        read_secret_file(&seed, seed_arg ? "-" : o->seed_file, "seed");
    if (seed.len == 0)
        fail(EXIT_BAD_INPUT, "the seed is empty");

    if (o->add_file)
        read_secret_file(&additional, o->add_file, "additional");
    else if (o->add_b64)
        secret_from_arg(&additional, (char *)o->add_b64, "--add value");
    else if (kd_secret_from_b64(&additional, KD_DEFAULT_ADDITIONAL_B64) != 0)
        fail(EXIT_INTERNAL, "default additional does not decode");
}

static int run_single(const struct options *o, char **pos, int npos)
{
    struct kd_address addr;
    uint8_t key[KD_KEY_LEN];
    char b64[KD_KEY_B64_LEN + 1];
    int ret;

    if (npos != (o->seed_file ? 1 : 2))
        fail(EXIT_BAD_INPUT, o->seed_file ? "expected ADDRESS after --seed-file FILE (see --help)"
                                          : "expected SEED_B64 and ADDRESS (see --help)");
    if (o->seed_file && npos == 1 && !strcmp(pos[0], "-"))
        fail(EXIT_BAD_INPUT, "give the seed either as an argument or with --seed-file, not both");
    /* Check the (non-secret) address first: a bad one then costs no
     * secret handling at all. */
    if (kd_address_parse(&addr, pos[npos - 1]) != 0)
        fail(EXIT_BAD_INPUT, "ADDRESS is not an IPv4 or IPv6 address (optionally with a valid /LEN)");
    load_secrets(o, o->seed_file ? NULL : pos[0]);

    ret = o->cmd == CMD_PUBKEY ? kd_derive_public(key, &seed, &additional, &addr)
                               : kd_derive_private(key, &seed, &additional, &addr);
    wipe_secrets();
    if (ret != 0) {
        sodium_memzero(key, sizeof(key));
        fail(EXIT_INTERNAL, "key derivation failed");
    }
    kd_key_to_b64(b64, key);
    sodium_memzero(key, sizeof(key));
    printf("%s\n", b64);
    sodium_memzero(b64, sizeof(b64));
    return 0;
}

static void print_peer(enum format fmt, const struct kd_address *addr,
                       const uint8_t pub[KD_KEY_LEN], bool first)
{
    char text[INET6_ADDRSTRLEN], b64[KD_KEY_B64_LEN + 1], hex[2 * KD_KEY_LEN + 1];
    unsigned int plen = addr->family == AF_INET ? 32 : 128;

    if (!inet_ntop(addr->family, addr->bytes, text, sizeof(text)))
        fail(EXIT_INTERNAL, "cannot format address: %s", strerror(errno));
    switch (fmt) {
    case FMT_WG:
        kd_key_to_b64(b64, pub);
        printf("%s[Peer]\nPublicKey = %s\nAllowedIPs = %s/%u\n", first ? "" : "\n",
               b64, text, plen);
        break;
    case FMT_UAPI:
        sodium_bin2hex(hex, sizeof(hex), pub, KD_KEY_LEN);
        printf("public_key=%s\nreplace_allowed_ips=true\nallowed_ip=%s/%u\n", hex, text, plen);
        break;
    case FMT_JSON:
        kd_key_to_b64(b64, pub);
        /* Neither an address nor base64 ever needs JSON escaping. */
        printf("%s  {\"address\": \"%s\", \"public_key\": \"%s\"}", first ? "" : ",\n",
               text, b64);
        break;
    }
}

static int run_peers(const struct options *o, char **pos, int npos)
{
    struct kd_subnet sn;
    struct kd_host_range hosts;
    const char *why = NULL;
    kd_u128 count, v;
    char cnt[40];

    if (!o->subnet)
        fail(EXIT_BAD_INPUT, "peers needs --subnet CIDR (see --help)");
    if (npos != (o->seed_file ? 0 : 1))
        fail(EXIT_BAD_INPUT, o->seed_file ? "peers takes no argument besides options when --seed-file is given"
                                          : "peers expects exactly one SEED_B64 argument (or --seed-file)");
    if (kd_subnet_parse(&sn, o->subnet, &why) != 0)
        fail(EXIT_BAD_INPUT, "--subnet: %s", why);
    if (kd_subnet_select(&hosts, &sn, o->skip_gateway, o->range, &why) != 0)
        fail(EXIT_BAD_INPUT, "%s", why);
    count = kd_host_range_count(&hosts);
    if (count > KD_PEERS_MAX && !o->force) {
        kd_u128_to_dec(cnt, count);
        fail(EXIT_BAD_INPUT, "this would print %s peers, more than %d; narrow it with --range or pass --force",
             cnt, KD_PEERS_MAX);
    }
    load_secrets(o, o->seed_file ? NULL : pos[0]);

    if (o->format == FMT_UAPI)
        fputs("set=1\n", stdout);
    else if (o->format == FMT_JSON)
        fputs("[\n", stdout);
    /* v == hosts.last ends the loop before v++ could wrap at the top of
     * the IPv6 space. */
    for (v = hosts.first;; v++) {
        struct kd_address addr;
        uint8_t pub[KD_KEY_LEN];

        kd_subnet_address(&addr, &sn, v);
        if (kd_derive_public(pub, &seed, &additional, &addr) != 0)
            fail(EXIT_INTERNAL, "key derivation failed");
        print_peer(o->format, &addr, pub, v == hosts.first);
        if (v == hosts.last)
            break;
    }
    wipe_secrets();
    if (o->format == FMT_UAPI)
        fputs("\n", stdout);
    else if (o->format == FMT_JSON)
        fputs("\n]\n", stdout);
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = { .format = FMT_WG };
    char **pos;
    int npos, ret;

    if (sodium_init() < 0)
        fail(EXIT_INTERNAL, "libsodium initialisation failed");
    parse_args(argc, argv, &o, &pos, &npos);
    if (o.cmd != CMD_PEERS && o.peers_only_option_seen)
        fail(EXIT_BAD_INPUT, "--subnet, --skip-gateway, --range, --format and --force belong to 'keyderive peers'");

    ret = o.cmd == CMD_PEERS ? run_peers(&o, pos, npos) : run_single(&o, pos, npos);
    if (fflush(stdout) != 0 || ferror(stdout))
        fail(EXIT_INTERNAL, "writing output: %s", strerror(errno));
    return ret;
}
