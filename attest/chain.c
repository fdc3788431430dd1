/* chain.c - leaf + cabundle to a trusted root, at a given time, with
 * OpenSSL's X509_STORE.  The store holds exactly one trusted certificate
 * (the pinned or configured root); the cabundle only supplies untrusted
 * intermediates, so a bundle carrying some other root proves nothing.
 *
 * Deliberately NOT set: X509_V_FLAG_X509_STRICT.  Genuine Nitro leaf
 * certificates have no Authority Key Identifier, which strict RFC 5280
 * checking rejects; the default checks (signatures, validity at `at`, CA
 * basic constraints and key usage of every issuer, path length) apply. */
#include <errno.h>
#include <stdio.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "attest/chain.h"

/* DER that must be exactly one certificate. */
static X509 *cert_from_der(const struct attest_bytes *b)
{
    const unsigned char *p = b->ptr;
    X509 *x = d2i_X509(NULL, &p, (long)b->len);
    if (x && p != b->ptr + b->len) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int attest_chain_verify(const struct attest_doc *doc, const char *root_pem, time_t at,
                        EVP_PKEY **leaf_key, char *why, size_t why_len)
{
    BIO *bio = NULL;
    X509 *root = NULL, *leaf = NULL;
    STACK_OF(X509) *untrusted = NULL;
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;
    int rc = -ENOMEM;

    *leaf_key = NULL;
    if (!(bio = BIO_new_mem_buf(root_pem, -1)) || !(untrusted = sk_X509_new_null()) ||
        !(store = X509_STORE_new()) || !(ctx = X509_STORE_CTX_new()))
        goto out;
    rc = -EPERM;
    if (!(root = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        snprintf(why, why_len, "the trusted root is not a PEM certificate");
        goto out;
    }
    if (!(leaf = cert_from_der(&doc->certificate))) {
        snprintf(why, why_len, "the leaf certificate is not DER X.509");
        goto out;
    }
    for (size_t i = 0; i < doc->n_cabundle; i++) {
        X509 *x = cert_from_der(&doc->cabundle[i]);
        if (!x || !sk_X509_push(untrusted, x)) {
            X509_free(x);
            snprintf(why, why_len, "cabundle[%zu] is not DER X.509", i);
            goto out;
        }
    }
    if (X509_STORE_add_cert(store, root) != 1 ||
        X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        rc = -ENOMEM;
        goto out;
    }
    X509_STORE_CTX_set_time(ctx, 0, at);
    if (X509_verify_cert(ctx) != 1) {
        int err = X509_STORE_CTX_get_error(ctx);
        snprintf(why, why_len, "certificate at depth %d: %s", X509_STORE_CTX_get_error_depth(ctx),
                 X509_verify_cert_error_string(err));
        goto out;
    }
    if (!(*leaf_key = X509_get_pubkey(leaf))) {
        snprintf(why, why_len, "the leaf certificate has no usable public key");
        goto out;
    }
    rc = 0;
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(leaf);
    X509_free(root);
    BIO_free(bio);
    return rc;
}
