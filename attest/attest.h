/* attest.h - AWS Nitro Enclaves attestation documents: parse, verify, make.
 *
 * A document is a COSE_Sign1 (RFC 8152) structure, optionally tagged 18:
 *   [protected: bstr(map {1: -35 (ES384)}), unprotected: map,
 *    payload: bstr(CBOR map), signature: bstr(96 bytes, raw r || s)]
 * whose payload map holds module_id, digest ("SHA384"), timestamp (ms since
 * the epoch), pcrs {index: bstr 32/48/64}, certificate (the leaf, DER),
 * cabundle [root first ... issuer of the leaf, DER], and the optional
 * public_key, user_data and nonce (bstr up to 1024 bytes, or null).
 *
 * Parsing (doc.c) is bounded: the whole document, every field, the nesting
 * depth and every declared length are checked before libcbor builds a tree
 * (cbor_bounds.c).  Verification (verify.c) runs the checks in a fixed
 * order and names the first one that fails, so a caller can tell the
 * operator which check it was.  No function here prints anything.
 */
#ifndef WGVSOCK_ATTEST_H
#define WGVSOCK_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ATTEST_DOC_MAX        16384  /* a genuine document is ~4.5 KiB; 3 x 1024 B optional fields fit */
#define ATTEST_FIELD_MAX      1024   /* public_key, user_data, nonce (AWS's schema) */
#define ATTEST_PCR_COUNT      32     /* the NSM has 32 PCRs */
#define ATTEST_PCR_MAX_LEN    64     /* SHA-256/384/512 digests */
#define ATTEST_CABUNDLE_MAX   8      /* genuine: 4 (root, regional, zonal, instance) */
#define ATTEST_CERT_MAX       4096   /* one DER certificate */
#define ATTEST_NEST_MAX       8      /* CBOR nesting depth (genuine: 3) */
#define ATTEST_MODULE_ID_MAX  128
#define ATTEST_SIG_LEN        96     /* ES384: r || s, 48 bytes each */
#define ATTEST_MAX_AGE_S      300    /* a document older than this is stale */
#define ATTEST_FUTURE_SKEW_S  60     /* clock skew tolerated for a timestamp ahead of us */

/* The checks, in the order verify runs them. */
enum attest_check {
    ATTEST_OK = 0,
    ATTEST_CHECK_FORMAT,        /* not a well-formed, bounded document */
    ATTEST_CHECK_ALGORITHM,     /* protected header's alg is not ES384 */
    ATTEST_CHECK_CHAIN,         /* certificate chain to the trusted root at the given time */
    ATTEST_CHECK_SIGNATURE,     /* COSE_Sign1 signature by the leaf's key */
    ATTEST_CHECK_FRESHNESS,     /* timestamp within ATTEST_MAX_AGE_S of the given time */
    ATTEST_CHECK_NONCE,         /* nonce equals the one we sent */
    ATTEST_CHECK_PCR,           /* an expected PCR differs or is missing */
    ATTEST_CHECK_PUBLIC_KEY,    /* public_key differs from the expected one */
};
const char *attest_check_name(enum attest_check c);

struct attest_bytes {
    const uint8_t *ptr;   /* into the parsed tree; NULL when absent or CBOR null */
    size_t len;
};

/* A parsed document.  Every pointer points into trees owned by the struct;
 * attest_doc_free releases them. */
struct attest_doc {
    void *cose;                 /* cbor_item_t *: the COSE_Sign1 array */
    void *payload_map;          /* cbor_item_t *: the decoded payload */
    struct attest_bytes protected_hdr, payload, signature;
    int64_t alg;                /* from the protected header (-35 = ES384) */
    char module_id[ATTEST_MODULE_ID_MAX + 1];
    char digest[16];
    uint64_t timestamp_ms;
    struct attest_bytes pcrs[ATTEST_PCR_COUNT];   /* .ptr NULL: not in the document */
    struct attest_bytes certificate;
    struct attest_bytes cabundle[ATTEST_CABUNDLE_MAX];
    size_t n_cabundle;
    struct attest_bytes public_key, user_data, nonce;
};

/* 0, or -EMSGSIZE (too large), -EBADMSG (malformed; *why says how), -ENOMEM.
 * On failure *doc is left empty (attest_doc_free is still safe). */
int attest_doc_parse(const uint8_t *buf, size_t len, struct attest_doc *doc, const char **why);
void attest_doc_free(struct attest_doc *doc);

/* What a verifier expects.  root_pem NULL: the pinned AWS Nitro Enclaves
 * root (root.c).  A NULL nonce / public_key is not checked; pcrs are
 * checked only where pcr_len[i] != 0. */
struct attest_policy {
    const char *root_pem;               /* PEM text of the trusted root */
    time_t at;                          /* verification time (certificates and freshness) */
    bool check_freshness;
    const uint8_t *nonce; size_t nonce_len;
    const uint8_t *public_key; size_t public_key_len;
    uint8_t pcr[ATTEST_PCR_COUNT][ATTEST_PCR_MAX_LEN];
    size_t pcr_len[ATTEST_PCR_COUNT];
};

struct attest_result {
    enum attest_check failed;           /* ATTEST_OK when everything held */
    char why[192];                      /* a sentence for the operator */
};

/* Parse + verify.  Returns 0 if valid, -EPERM if a check failed (result
 * says which), -ENOMEM.  doc (optional) receives the parsed document
 * whenever it parsed, for printing; the caller frees it. */
int attest_verify(const uint8_t *buf, size_t len, const struct attest_policy *policy,
                  struct attest_result *result, struct attest_doc *doc);

/* The pinned AWS Nitro Enclaves root certificate (G1), PEM, and its
 * SHA-256 fingerprint; attest_root_self_check verifies the one against the
 * other (0 or -EBADMSG). */
extern const char attest_aws_root_pem[];
extern const char attest_aws_root_sha256[];
int attest_root_self_check(void);

/* --- making documents (test attester, nitro attester) --- */

/* What the hub is asked to attest (each may be NULL/0). */
struct attest_request {
    const uint8_t *nonce; size_t nonce_len;
    const uint8_t *public_key; size_t public_key_len;
    const uint8_t *user_data; size_t user_data_len;
};

/* A local signer of documents in the Nitro format (attest/test_ca.c):
 * leaf key + leaf certificate + the chain above it. */
struct attest_signer;
int attest_signer_load(const char *chain_pem_file, const char *key_pem_file,
                       struct attest_signer **out, const char **why);
void attest_signer_free(struct attest_signer *s);
/* The test attester's PCRs: PCR0..15, 48 zero bytes each (as a debug-mode
 * enclave reports them). */
/* Report pcr0 instead of zeros (tests: "another enclave image"). */
int attest_signer_set_pcr0(struct attest_signer *s, const uint8_t pcr0[48]);
int attest_signer_sign(const struct attest_signer *s, const struct attest_request *req,
                       uint64_t timestamp_ms, uint8_t **out, size_t *out_len);

/* A test CA in DIR: root.pem, root.key, hub-chain.pem (leaf + root),
 * hub.key.  Validity [not_before, not_after] for both certificates. */
int attest_test_ca_create(const char *dir, time_t not_before, time_t not_after, const char **why);

/* The Nitro Security Module (/dev/nsm): ask for a document. */
int attest_nitro_request(const struct attest_request *req, uint8_t **out, size_t *out_len,
                         const char **why);

#endif
