/* cli_provision.c - the provisioning half of wgvsock-attest:
 *
 *   wgvsock-attest provision-key FILE
 *       create FILE (0600) with a new Ed25519 provisioning key if it does
 *       not exist; print its public key (for wgvsockd --provisioner-key)
 *   wgvsock-attest provision --key FILE --hub ADDR:PORT [--vsock]
 *       --address IP/PREFIX [--mtu N] [--peer PUBKEY=IP]...
 *       [--attest nitro|test|none] [--root PEM] [--pcr N=HEX]...
 *       send one offer, as the plugin does, and print the hub's attested
 *       key as JSON; exit 1 naming the failed step or check
 *
 * The plugin does the same through provision/client.c; this is for
 * operators checking a hub by hand, and for tests. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "attest/hex.h"
#include "provision/client.h"
#include "provision/keys.h"

#define EXIT_USAGE 2

int cmd_provision_key(int argc, char **argv);
int cmd_provision(int argc, char **argv);

int cmd_provision_key(int argc, char **argv)
{
    uint8_t sk[PROV_SECKEY_LEN], pk[PROV_PUBKEY_LEN];
    char b64[48];
    if (argc != 2) {
        fprintf(stderr, "Usage: wgvsock-attest provision-key FILE\n");
        return EXIT_USAGE;
    }
    int rc = sodium_init() < 0 ? -EIO : prov_key_load(argv[1], true, sk, pk);
    sodium_memzero(sk, sizeof(sk));
    if (rc < 0) {
        fprintf(stderr, "wgvsock-attest: %s: %s\n", argv[1],
                rc == -EINVAL ? "not a provisioning key" : strerror(-rc));
        return 1;
    }
    prov_pubkey_format(pk, b64);
    printf("%s\n", b64);
    return 0;
}

/* "IP/PREFIX" (host_only: "IP", as /32 or /128). */
static int parse_ip(const char *s, struct wg_allowedip *a, bool host_only)
{
    char buf[64], *slash;
    snprintf(buf, sizeof(buf), "%s", s);
    slash = strchr(buf, '/');
    if (slash)
        *slash++ = 0;
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, buf, a->ip) == 1)
        a->family = AF_INET;
    else if (inet_pton(AF_INET6, buf, a->ip) == 1)
        a->family = AF_INET6;
    else
        return -EINVAL;
    unsigned max = a->family == AF_INET ? 32 : 128;
    char *end;
    unsigned long prefix = slash ? strtoul(slash, &end, 10) : max;
    if ((slash && (*end || !*slash)) || prefix > max || (host_only && prefix != max))
        return -EINVAL;
    a->cidr = (uint8_t)prefix;
    return 0;
}

static void usage_provision(FILE *f)
{
    fprintf(f, "Usage: wgvsock-attest provision --key FILE --hub ADDR:PORT [--vsock]\n"
               "         --address IP/PREFIX [--mtu N] [--peer PUBKEY=IP]...\n"
               "         [--attest nitro|test|none] [--root PEM] [--pcr N=HEX]...\n");
}

int cmd_provision(int argc, char **argv)
{
    static const struct option opts[] = {
        { "key", required_argument, NULL, 'k' }, { "hub", required_argument, NULL, 'H' },
        { "vsock", no_argument, NULL, 'v' }, { "address", required_argument, NULL, 'a' },
        { "mtu", required_argument, NULL, 'm' }, { "peer", required_argument, NULL, 'p' },
        { "attest", required_argument, NULL, 'A' }, { "root", required_argument, NULL, 'r' },
        { "pcr", required_argument, NULL, 'P' },
        { "serial", required_argument, NULL, 'S' },     /* tests: replay an old serial */
        { 0 },
    };
    static struct prov_peer peers[PROV_MAX_PEERS];
    static struct prov_client_policy pol = { .mode = PROV_MODE_NITRO };
    struct prov_offer offer = { .mtu = WG_DEFAULT_MTU, .peers = peers };
    const char *key = NULL, *hub = NULL;
    bool vsock = false, have_addr = false;
    char *root = NULL, *end;
    uint64_t serial = 0;
    int c, rc;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k': key = optarg; break;
        case 'H': hub = optarg; break;
        case 'v': vsock = true; break;
        case 'a':
            if (parse_ip(optarg, &offer.hub_address, false) < 0)
                goto usage;
            have_addr = true;
            break;
        case 'm':
            offer.mtu = (uint16_t)strtoul(optarg, &end, 10);
            if (*end)
                goto usage;
            break;
        case 'p': {
            char *eq = strrchr(optarg, '=');   /* base64 keys end in = */
            if (!eq || offer.n_peers == PROV_MAX_PEERS)
                goto usage;
            *eq = 0;
            if (prov_pubkey_parse(optarg, peers[offer.n_peers].public_key) < 0 ||
                parse_ip(eq + 1, &peers[offer.n_peers].ip, true) < 0)
                goto usage;
            offer.n_peers++;
            break;
        }
        case 'A':
            pol.mode = !strcmp(optarg, "none") ? PROV_MODE_NONE :
                       !strcmp(optarg, "test") ? PROV_MODE_TEST : PROV_MODE_NITRO;
            if (pol.mode == PROV_MODE_NITRO && strcmp(optarg, "nitro"))
                goto usage;
            break;
        case 'r': {
            FILE *f = fopen(optarg, "re");
            free(root);
            root = calloc(1, 65537);
            if (!f || !root) {
                fprintf(stderr, "wgvsock-attest: cannot read %s\n", optarg);
                if (f)
                    fclose(f);
                free(root);
                return EXIT_USAGE;
            }
            if (fread(root, 1, 65536, f) == 0) {
                fclose(f);
                free(root);
                return EXIT_USAGE;
            }
            fclose(f);
            pol.root_pem = root;
            break;
        }
        case 'P': {
            long idx = strtol(optarg, &end, 10);
            if (end == optarg || *end != '=' || idx < 0 || idx >= ATTEST_PCR_COUNT ||
                (rc = hex_decode(end + 1, pol.pcr[idx], ATTEST_PCR_MAX_LEN)) <= 0)
                goto usage;
            pol.pcr_len[idx] = (size_t)rc;
            break;
        }
        case 'S':
            serial = strtoull(optarg, &end, 10);
            if (*end || !serial)
                goto usage;
            break;
        default:
            goto usage;
        }
    }
    struct wg_sockaddr addr;
    if (optind != argc || !key || !hub || !have_addr || wg_sockaddr_parse(&addr, hub, vsock) < 0)
        goto usage;
    uint8_t sk[PROV_SECKEY_LEN], pk[PROV_PUBKEY_LEN], hub_key[WG_KEY_LEN];
    if (sodium_init() < 0 || (rc = prov_key_load(key, false, sk, pk)) < 0) {
        fprintf(stderr, "wgvsock-attest: %s: cannot load the provisioning key\n", key);
        free(root);
        return 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    offer.serial = serial ? serial : (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
    char why[256];
    rc = prov_client_exchange(&addr, &offer, sk, &pol, hub_key, why, sizeof(why));
    sodium_memzero(sk, sizeof(sk));
    free(root);
    if (rc < 0) {
        printf("{\"ok\": false, \"reason\": \"%s\"}\n", why);   /* why: printable, no quotes */
        fprintf(stderr, "wgvsock-attest: %s\n", why);
        return 1;
    }
    char b64[48];
    prov_pubkey_format(hub_key, b64);
    printf("{\"ok\": true, \"hub_key\": \"%s\", \"attested\": %s}\n", b64,
           pol.mode == PROV_MODE_NONE ? "false" : "true");
    return 0;
usage:
    usage_provision(stderr);
    free(root);
    return EXIT_USAGE;
}
