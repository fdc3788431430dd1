/* test_ca.c - the `test` attester: a local CA whose leaf signs documents in
 * the Nitro format, for tests and for VMs without a Nitro Security Module.
 * Such a document proves only that the signer holds the leaf key: the
 * hub logs it as insecure and the plugin accepts it only with
 * wgvsock.attest=test and an explicit wgvsock.attest-root.
 *
 * Certificates mirror genuine ones where verifiers care: EC P-384 keys,
 * ECDSA-SHA384 signatures, a CA root with keyCertSign, and a leaf WITHOUT
 * an Authority Key Identifier (as AWS issues them).  The test attester
 * reports PCR0..15 as 48 zero bytes, as a debug-mode enclave does (PCR0
 * can be set, so tests can play "another image"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest/attest.h"
#include "attest/build.h"

#define TEST_PCRS 16
#define TEST_PCR_LEN 48

struct attest_signer {
    EVP_PKEY *key;
    uint8_t *leaf; size_t leaf_len;                     /* DER */
    uint8_t *chain[ATTEST_CABUNDLE_MAX]; size_t chain_len[ATTEST_CABUNDLE_MAX];
    size_t n_chain;                                     /* root first */
    uint8_t pcr0[TEST_PCR_LEN];                         /* zeros unless overridden */
};

int attest_signer_set_pcr0(struct attest_signer *s, const uint8_t pcr0[48])
{
    memcpy(s->pcr0, pcr0, TEST_PCR_LEN);
    return 0;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = ext && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -ENOMEM;
}

static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *issuer_key, X509 *issuer, const char *cn,
                       bool ca, time_t not_before, time_t not_after)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    bool ok = x && name && RAND_bytes(serial, sizeof(serial)) == 1;

    serial[0] &= 0x7f;                                   /* a positive INTEGER */
    ok = ok && (bn = BN_bin2bn(serial, sizeof(serial), NULL)) &&
         BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
         X509_set_version(x, X509_VERSION_3) &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"wgvsock test", -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) &&
         X509_set_subject_name(x, name) &&
         X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) &&
         ASN1_TIME_set(X509_getm_notBefore(x), not_before) &&
         ASN1_TIME_set(X509_getm_notAfter(x), not_after) &&
         X509_set_pubkey(x, key);
    if (ok && ca)
        ok = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") == 0 &&
             add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") == 0 &&
             add_ext(x, x, NID_subject_key_identifier, "hash") == 0;
    else if (ok)
        ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
             add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") == 0;
    ok = ok && X509_sign(x, issuer_key, EVP_sha384()) > 0;
    BN_free(bn);
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int write_pem(const char *dir, const char *file, mode_t mode, X509 *c1, X509 *c2,
                     EVP_PKEY *key)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -ENOMEM;
    }
    bool ok = (!c1 || PEM_write_X509(f, c1)) && (!c2 || PEM_write_X509(f, c2)) &&
              (!key || PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
    return fclose(f) == 0 && ok ? 0 : -EIO;
}

int attest_test_ca_create(const char *dir, time_t not_before, time_t not_after, const char **why)
{
    EVP_PKEY *root_key = EVP_EC_gen("P-384"), *leaf_key = EVP_EC_gen("P-384");
    X509 *root = NULL, *leaf = NULL;
    int rc = -ENOMEM;

    *why = "cannot generate keys or certificates";
    if (!root_key || !leaf_key ||
        !(root = make_cert(root_key, root_key, NULL, "wgvsock test root", true, not_before, not_after)) ||
        !(leaf = make_cert(leaf_key, root_key, root, "wgvsock test hub", false, not_before, not_after)))
        goto out;
    *why = "cannot write into the directory";
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        goto out;
    }
    if ((rc = write_pem(dir, "root.pem", 0644, root, NULL, NULL)) < 0 ||
        (rc = write_pem(dir, "root.key", 0600, NULL, NULL, root_key)) < 0 ||
        (rc = write_pem(dir, "hub-chain.pem", 0644, leaf, root, NULL)) < 0 ||
        (rc = write_pem(dir, "hub.key", 0600, NULL, NULL, leaf_key)) < 0)
        goto out;
    rc = 0;
out:
    X509_free(leaf);
    X509_free(root);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(root_key);
    return rc;
}

void attest_signer_free(struct attest_signer *s)
{
    if (!s)
        return;
    EVP_PKEY_free(s->key);
    OPENSSL_free(s->leaf);
    for (size_t i = 0; i < s->n_chain; i++)
        OPENSSL_free(s->chain[i]);
    free(s);
}

/* The chain file: the leaf first, then its issuers up to the root. */
static int load_chain(struct attest_signer *s, FILE *f, const char **why)
{
    X509 *certs[ATTEST_CABUNDLE_MAX + 1];
    size_t n = 0;
    X509 *x;
    int rc = 0;

    while (n <= ATTEST_CABUNDLE_MAX && (x = PEM_read_X509(f, NULL, NULL, NULL)))
        certs[n++] = x;
    *why = "the chain file needs the leaf certificate and at least its root (PEM)";
    if (n < 2 || n > ATTEST_CABUNDLE_MAX)
        rc = -EINVAL;
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char *der = NULL;
        int len = i2d_X509(certs[i], &der);
        if (len <= 0) {
            rc = -ENOMEM;
            break;
        }
        if (i == 0) {
            s->leaf = der;
            s->leaf_len = (size_t)len;
        } else {                                         /* cabundle: root first */
            s->chain[n - 1 - i] = der;
            s->chain_len[n - 1 - i] = (size_t)len;
            s->n_chain++;
        }
    }
    if (rc == 0 && s->key && X509_check_private_key(certs[0], s->key) != 1) {
        *why = "the key does not belong to the leaf certificate";
        rc = -EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        X509_free(certs[i]);
    return rc;
}

int attest_signer_load(const char *chain_file, const char *key_file, struct attest_signer **out,
                       const char **why)
{
    struct attest_signer *s = calloc(1, sizeof(*s));
    FILE *f = NULL;
    int rc;

    *out = NULL;
    if (!s)
        return -ENOMEM;
    *why = "cannot read the key file (PEM private key)";
    if (!(f = fopen(key_file, "re")) || !(s->key = PEM_read_PrivateKey(f, NULL, NULL, NULL))) {
        rc = f ? -EINVAL : -errno;
        goto fail;
    }
    fclose(f);
    *why = "cannot read the certificate chain file";
    if (!(f = fopen(chain_file, "re"))) {
        rc = -errno;
        goto fail;
    }
    if ((rc = load_chain(s, f, why)) < 0)
        goto fail;
    fclose(f);
    *out = s;
    return 0;
fail:
    if (f)
        fclose(f);
    attest_signer_free(s);
    return rc;
}

int attest_signer_sign(const struct attest_signer *s, const struct attest_request *req,
                       uint64_t timestamp_ms, uint8_t **out, size_t *out_len)
{
    static const uint8_t zeros[TEST_PCR_LEN];
    struct attest_doc_spec spec = {
        .module_id = "wgvsock-test-attester", .digest = "SHA384",
        .timestamp_ms = timestamp_ms, .pcr_len = TEST_PCR_LEN,
        .certificate = { s->leaf, s->leaf_len }, .n_cabundle = s->n_chain,
        .claims = *req, .alg = -35,
    };
    for (int i = 0; i < TEST_PCRS; i++)
        spec.pcr[i] = zeros;
    spec.pcr[0] = s->pcr0;
    for (size_t i = 0; i < s->n_chain; i++)
        spec.cabundle[i] = (struct attest_bytes){ s->chain[i], s->chain_len[i] };
    return attest_doc_build(&spec, s->key, out, out_len);
}
