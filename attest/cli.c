/* cli.c - wgvsock-attest: inspect and verify attestation documents, and
 * make a CA for the `test` attester.
 *
 *   wgvsock-attest verify [--root PEM] [--at UNIX_TIME] [--nonce HEX]
 *                         [--pcr N=HEX]... FILE
 *   wgvsock-attest test-ca [--days N] DIR
 *   wgvsock-attest provision-key FILE | provision ...   (cli_provision.c)
 *
 * verify prints the document's fields and the verdict as one JSON object
 * on stdout and exits 0 if every check passed, 1 naming the failed check
 * otherwise, 2 for bad arguments.  FILE is the binary document or its
 * base64 ("-" reads stdin). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attest/attest.h"
#include "attest/hex.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: wgvsock-attest verify [--root PEM] [--at UNIX_TIME] [--nonce HEX]\n"
        "                             [--pcr N=HEX]... FILE\n"
        "       wgvsock-attest test-ca [--days N] DIR\n"
        "       wgvsock-attest provision-key FILE\n"
        "       wgvsock-attest provision --key FILE --hub ADDR:PORT [--vsock] --address IP/PREFIX\n"
        "                      [--mtu N] [--peer PUBKEY=IP]... [--attest nitro|test|none]\n"
        "                      [--root PEM] [--pcr N=HEX]...\n"
        "\n"
        "verify: check an AWS Nitro Enclaves attestation document (binary or base64;\n"
        "FILE - reads stdin): COSE_Sign1/ES384 signature, certificate chain to the\n"
        "root (default: the pinned AWS Nitro Enclaves root) at UNIX_TIME (default\n"
        "now), timestamp within 300 s of that time, and the nonce and PCRs if given.\n"
        "Prints JSON; exits 0 if valid, 1 if a check failed, 2 for bad arguments.\n"
        "\n"
        "test-ca: create DIR with root.pem, root.key, hub-chain.pem and hub.key, a CA\n"
        "for `wgvsockd --attest test:DIR/hub-chain.pem:DIR/hub.key` (valid N days,\n"
        "default 365).  For tests and VMs without an NSM: it proves nothing about\n"
        "the code that runs.\n");
}

/* The whole input, at most ATTEST_DOC_MAX bytes once decoded. */
static int read_document(const char *path, uint8_t **out, size_t *len)
{
    size_t cap = ATTEST_DOC_MAX * 2 + 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
    int rc = 0;

    if (!buf || !f) {
        rc = !buf ? -ENOMEM : -errno;
        goto out;
    }
    n = fread(buf, 1, cap + 1, f);
    if (n > cap) {
        rc = -EMSGSIZE;
        goto out;
    }
    /* A COSE_Sign1 starts with 0x84 (array of 4) or 0xd2 (tag 18). */
    if (n && buf[0] != 0x84 && buf[0] != 0xd2) {
        EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
        uint8_t *dec = malloc(n);
        int l1 = 0, l2 = 0;
        if (!ctx || !dec) {
            EVP_ENCODE_CTX_free(ctx);
            free(dec);
            rc = -ENOMEM;
            goto out;
        }
        EVP_DecodeInit(ctx);
        if (EVP_DecodeUpdate(ctx, dec, &l1, buf, (int)n) < 0 || EVP_DecodeFinal(ctx, dec + l1, &l2) < 0)
            rc = -EINVAL;
        EVP_ENCODE_CTX_free(ctx);
        free(buf);
        buf = dec;
        n = (size_t)(l1 + l2);
    }
out:
    if (f && f != stdin)
        fclose(f);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return 0;
}

static json_t *hex_or_null(const struct attest_bytes *b)
{
    if (!b->ptr)
        return json_null();
    char *s = malloc(2 * b->len + 1);
    if (!s)
        return json_null();
    hex_encode(b->ptr, b->len, s);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static json_t *asn1_time_json(const ASN1_TIME *t)
{
    struct tm tm;
    char buf[32];
    if (ASN1_TIME_to_tm(t, &tm) != 1)
        return json_null();
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

static json_t *certificate_json(const struct attest_bytes *der)
{
    const unsigned char *p = der->ptr;
    X509 *x = p ? d2i_X509(NULL, &p, (long)der->len) : NULL;
    char subject[256];
    if (!x)
        return json_null();
    X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
    json_t *j = json_pack("{s:s, s:o, s:o}", "subject", subject,
                          "not_before", asn1_time_json(X509_get0_notBefore(x)),
                          "not_after", asn1_time_json(X509_get0_notAfter(x)));
    X509_free(x);
    return j;
}

static json_t *document_json(const struct attest_doc *d)
{
    json_t *pcrs = json_object();
    for (int i = 0; i < ATTEST_PCR_COUNT; i++) {
        char idx[12];
        if (!d->pcrs[i].ptr)
            continue;
        snprintf(idx, sizeof(idx), "%d", i);
        json_object_set_new(pcrs, idx, hex_or_null(&d->pcrs[i]));
    }
    return json_pack("{s:s, s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:i}",
                     "module_id", d->module_id, "timestamp", (json_int_t)d->timestamp_ms,
                     "digest", d->digest, "pcrs", pcrs,
                     "public_key", hex_or_null(&d->public_key),
                     "user_data", hex_or_null(&d->user_data), "nonce", hex_or_null(&d->nonce),
                     "certificate", certificate_json(&d->certificate),
                     "cabundle_length", (int)d->n_cabundle);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    size_t n = 0;
    if (!f)
        return NULL;
    buf = malloc(65536 + 1);
    if (buf) {
        n = fread(buf, 1, 65536, f);
        buf[n] = 0;
    }
    fclose(f);
    return buf;
}

static int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        { "root", required_argument, NULL, 'r' }, { "at", required_argument, NULL, 'a' },
        { "nonce", required_argument, NULL, 'n' }, { "pcr", required_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' }, { 0 },
    };
    static struct attest_policy pol;
    static uint8_t nonce[ATTEST_FIELD_MAX];
    char *root = NULL, *end;
    int c, rc;

    pol.at = time(NULL);
    pol.check_freshness = true;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            free(root);
            if (!(root = read_text(optarg))) {
                fprintf(stderr, "wgvsock-attest: cannot read %s\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'a':
            errno = 0;
            pol.at = (time_t)strtoll(optarg, &end, 10);
            if (errno || *end || end == optarg || pol.at < 0) {
                fprintf(stderr, "wgvsock-attest: --at wants seconds since the epoch\n");
                return EXIT_USAGE;
            }
            break;
        case 'n':
            if ((rc = hex_decode(optarg, nonce, sizeof(nonce))) < 0) {
                fprintf(stderr, "wgvsock-attest: --nonce wants hex\n");
                return EXIT_USAGE;
            }
            pol.nonce = nonce;
            pol.nonce_len = (size_t)rc;
            break;
        case 'p': {
            long idx = strtol(optarg, &end, 10);
            if (end == optarg || *end != '=' || idx < 0 || idx >= ATTEST_PCR_COUNT ||
                (rc = hex_decode(end + 1, pol.pcr[idx], ATTEST_PCR_MAX_LEN)) <= 0) {
                fprintf(stderr, "wgvsock-attest: --pcr wants N=HEX (N 0..31)\n");
                return EXIT_USAGE;
            }
            pol.pcr_len[idx] = (size_t)rc;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!root && attest_root_self_check() < 0) {
        fprintf(stderr, "wgvsock-attest: the pinned root does not match its fingerprint\n");
        return 1;
    }
    pol.root_pem = root;

    uint8_t *buf = NULL;
    size_t len = 0;
    if ((rc = read_document(argv[optind], &buf, &len)) < 0) {
        fprintf(stderr, "wgvsock-attest: %s: %s\n", argv[optind], strerror(-rc));
        free(root);
        return rc == -ENOENT || rc == -EACCES ? EXIT_USAGE : 1;
    }
    struct attest_result res;
    struct attest_doc doc;
    rc = attest_verify(buf, len, &pol, &res, &doc);
    json_t *out = json_pack("{s:b, s:s}", "valid", rc == 0,
                            "check", rc == 0 ? "ok" : attest_check_name(res.failed));
    if (rc < 0)
        json_object_set_new(out, "reason", json_string(rc == -EPERM ? res.why : strerror(-rc)));
    if (doc.cose)
        json_object_set_new(out, "document", document_json(&doc));
    json_dumpf(out, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(out);
    if (rc < 0)
        fprintf(stderr, "wgvsock-attest: invalid: %s check failed: %s\n",
                attest_check_name(res.failed), rc == -EPERM ? res.why : strerror(-rc));
    attest_doc_free(&doc);
    free(buf);
    free(root);
    return rc == 0 ? 0 : 1;
}

static int cmd_test_ca(int argc, char **argv)
{
    static const struct option opts[] = {
        { "days", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' }, { 0 },
    };
    long days = 365;
    char *end;
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'd') {
            days = strtol(optarg, &end, 10);
            if (*end || end == optarg || days < 1 || days > 3650) {
                fprintf(stderr, "wgvsock-attest: --days wants 1..3650\n");
                return EXIT_USAGE;
            }
        } else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return EXIT_USAGE;
    }
    time_t now = time(NULL);
    const char *why = "";
    int rc = attest_test_ca_create(argv[optind], now - 3600, now + days * 86400, &why);
    if (rc < 0) {
        fprintf(stderr, "wgvsock-attest: %s: %s: %s\n", argv[optind], why, strerror(-rc));
        return 1;
    }
    printf("%s/root.pem\n%s/hub-chain.pem\n%s/hub.key\n", argv[optind], argv[optind], argv[optind]);
    return 0;
}

int cmd_provision_key(int argc, char **argv);   /* cli_provision.c */
int cmd_provision(int argc, char **argv);

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "provision-key") == 0)
        return cmd_provision_key(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "provision") == 0)
        return cmd_provision(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "test-ca") == 0)
        return cmd_test_ca(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return EXIT_USAGE;
}
