/* attest_fixture.h - helpers shared by the test_attest_* unit tests: the
 * genuine Nitro document of tests/attest/, and documents made by a fresh
 * test CA that are wrong in exactly one way. */
#ifndef WGVSOCK_TEST_ATTEST_FIXTURE_H
#define WGVSOCK_TEST_ATTEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "attest/attest.h"
#include "attest/build.h"

#define NITRO_FIXTURE        "tests/attest/nitro-doc-2025-09-09.b64"
#define NITRO_FIXTURE_TS     1757440781958ULL
#define NITRO_FIXTURE_AT     ((time_t)1757440782)
#define NITRO_LEAF_NOT_AFTER ((time_t)1757451581)   /* 2025-09-09T20:59:41Z */
#define NITRO_LEAF_NOT_BEFORE ((time_t)1757440778)  /* 2025-09-09T17:59:38Z */

/* The fixture's binary document (malloc'ed). */
static inline uint8_t *nitro_fixture(size_t *len)
{
    const char *root = getenv("WGVSOCK_ROOT");
    char path[4096], b64[16384];
    *len = 0;
    snprintf(path, sizeof(path), "%s/%s", root ? root : ".", NITRO_FIXTURE);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(b64, 1, sizeof(b64) - 1, f);
    fclose(f);
    while (n && (b64[n - 1] == '\n' || b64[n - 1] == '\r'))
        n--;
    b64[n] = 0;
    uint8_t *out = malloc(n);
    int l = out ? EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n) : -1;
    if (l < 0) {
        free(out);
        return NULL;
    }
    while (n && b64[n - 1] == '=') {       /* EVP_DecodeBlock counts padding as zeros */
        n--;
        l--;
    }
    *len = (size_t)l;
    return out;
}

/* A test CA in a temporary directory, with its key and certificates loaded
 * so a test can fill an attest_doc_spec and sign what it likes. */
struct test_ca {
    char dir[64];
    char *root_pem;
    EVP_PKEY *leaf_key;
    unsigned char *leaf_der, *root_der;
    int leaf_len, root_len;
};

static inline char *slurp(const char *dir, const char *file)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    if (buf && fread(buf, 1, 65535, f) == 0 && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static inline int test_ca_make(struct test_ca *ca, time_t not_before, time_t not_after)
{
    const char *why;
    memset(ca, 0, sizeof(*ca));
    snprintf(ca->dir, sizeof(ca->dir), "/tmp/wgvsock-attest-ut.XXXXXX");
    if (!mkdtemp(ca->dir) || attest_test_ca_create(ca->dir, not_before, not_after, &why) < 0)
        return -1;
    ca->root_pem = slurp(ca->dir, "root.pem");
    char path[256];
    snprintf(path, sizeof(path), "%s/hub.key", ca->dir);
    FILE *f = fopen(path, "r");
    ca->leaf_key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    snprintf(path, sizeof(path), "%s/hub-chain.pem", ca->dir);
    f = fopen(path, "r");
    X509 *leaf = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    X509 *root = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!leaf || !root || !ca->leaf_key || !ca->root_pem)
        return -1;
    ca->leaf_len = i2d_X509(leaf, &ca->leaf_der);
    ca->root_len = i2d_X509(root, &ca->root_der);
    X509_free(leaf);
    X509_free(root);
    return 0;
}

static inline void test_ca_free(struct test_ca *ca)
{
    const char *files[] = { "root.pem", "root.key", "hub-chain.pem", "hub.key" };
    char path[256];
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s", ca->dir, files[i]);
        unlink(path);
    }
    rmdir(ca->dir);
    free(ca->root_pem);
    EVP_PKEY_free(ca->leaf_key);
    OPENSSL_free(ca->leaf_der);
    OPENSSL_free(ca->root_der);
}

/* A valid spec for ca's leaf, timestamp ts_ms, PCR0..2 = 0x11.., nonce and
 * public key from the caller. */
static inline void test_ca_spec(const struct test_ca *ca, struct attest_doc_spec *s, uint64_t ts_ms)
{
    static const uint8_t pcr[48] = { 0x11, 0x11, 0x11, 0x11 };
    memset(s, 0, sizeof(*s));
    s->module_id = "unit-test";
    s->digest = "SHA384";
    s->timestamp_ms = ts_ms;
    s->pcr_len = 48;
    for (int i = 0; i < 3; i++)
        s->pcr[i] = pcr;
    s->certificate = (struct attest_bytes){ ca->leaf_der, (size_t)ca->leaf_len };
    s->cabundle[0] = (struct attest_bytes){ ca->root_der, (size_t)ca->root_len };
    s->n_cabundle = 1;
    s->alg = -35;
}

#endif
