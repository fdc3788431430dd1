/* verify.c - the checks a verifier runs on a document, in a fixed order:
 * format, algorithm, certificate chain (at policy->at), signature,
 * freshness, nonce, PCRs, public key.  The first that fails is reported by
 * name with a sentence for the operator; nothing is trusted from the
 * document before the signature check has passed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "attest/attest.h"
#include "attest/chain.h"
#include "attest/cose.h"

const char *attest_check_name(enum attest_check c)
{
    switch (c) {
    case ATTEST_OK:               return "ok";
    case ATTEST_CHECK_FORMAT:     return "format";
    case ATTEST_CHECK_ALGORITHM:  return "algorithm";
    case ATTEST_CHECK_CHAIN:      return "certificate-chain";
    case ATTEST_CHECK_SIGNATURE:  return "signature";
    case ATTEST_CHECK_FRESHNESS:  return "freshness";
    case ATTEST_CHECK_NONCE:      return "nonce";
    case ATTEST_CHECK_PCR:        return "pcr";
    case ATTEST_CHECK_PUBLIC_KEY: return "public-key";
    }
    return "unknown";
}

__attribute__((format(printf, 3, 4)))
static int fail(struct attest_result *r, enum attest_check c, const char *fmt, ...)
{
    va_list ap;

    r->failed = c;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
    return -EPERM;
}

static bool same(const struct attest_bytes *got, const uint8_t *want, size_t want_len)
{
    return got->ptr && got->len == want_len && CRYPTO_memcmp(got->ptr, want, want_len) == 0;
}

static int check_signature(const struct attest_doc *doc, EVP_PKEY *key, struct attest_result *r)
{
    uint8_t *tbs = NULL;
    size_t tbs_len = 0;
    int rc = cose_sig_structure(doc->protected_hdr.ptr, doc->protected_hdr.len,
                                doc->payload.ptr, doc->payload.len, &tbs, &tbs_len);
    if (rc < 0)
        return rc;
    rc = cose_es384_verify(key, tbs, tbs_len, doc->signature.ptr);
    free(tbs);
    if (rc == -EINVAL)
        return fail(r, ATTEST_CHECK_SIGNATURE, "%s", "the leaf key is not an EC P-384 key");
    if (rc < 0)
        return fail(r, ATTEST_CHECK_SIGNATURE, "%s",
                    "the COSE_Sign1 signature does not verify with the leaf key");
    return 0;
}

static int check_claims(const struct attest_doc *doc, const struct attest_policy *p,
                        struct attest_result *r)
{
    char msg[64];

    if (p->check_freshness) {
        int64_t at_ms = (int64_t)p->at * 1000, ts = (int64_t)doc->timestamp_ms;
        if (doc->timestamp_ms > INT64_MAX / 2 || ts > at_ms + ATTEST_FUTURE_SKEW_S * 1000)
            return fail(r, ATTEST_CHECK_FRESHNESS, "%s", "the document is dated in the future");
        if (at_ms - ts > ATTEST_MAX_AGE_S * 1000)
            return fail(r, ATTEST_CHECK_FRESHNESS, "%s",
                        "the document is older than 300 s (stale or replayed)");
    }
    if (p->nonce && !same(&doc->nonce, p->nonce, p->nonce_len))
        return fail(r, ATTEST_CHECK_NONCE, "%s",
                    "the nonce is not the one we sent (a replayed document?)");
    for (int i = 0; i < ATTEST_PCR_COUNT; i++) {
        if (p->pcr_len[i] && !same(&doc->pcrs[i], p->pcr[i], p->pcr_len[i])) {
            snprintf(msg, sizeof(msg), "%d", i);
            return fail(r, ATTEST_CHECK_PCR, "PCR%s differs from the expected value", msg);
        }
    }
    if (p->public_key && !same(&doc->public_key, p->public_key, p->public_key_len))
        return fail(r, ATTEST_CHECK_PUBLIC_KEY, "%s",
                    "the attested public key is not the hub's key");
    return 0;
}

int attest_verify(const uint8_t *buf, size_t len, const struct attest_policy *policy,
                  struct attest_result *r, struct attest_doc *out)
{
    struct attest_doc doc;
    EVP_PKEY *leaf_key = NULL;
    const char *why = NULL;
    char chain_why[160];
    int rc;

    r->failed = ATTEST_OK;
    r->why[0] = 0;
    if (out)
        memset(out, 0, sizeof(*out));
    rc = attest_doc_parse(buf, len, &doc, &why);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0)
        return fail(r, ATTEST_CHECK_FORMAT, "malformed document: %s", why);
    if (doc.alg != COSE_ALG_ES384) {
        rc = fail(r, ATTEST_CHECK_ALGORITHM, "%s", "the algorithm is not ES384 (-35)");
        goto out;
    }
    rc = attest_chain_verify(&doc, policy->root_pem ? policy->root_pem : attest_aws_root_pem,
                             policy->at, &leaf_key, chain_why, sizeof(chain_why));
    if (rc == -EPERM)
        rc = fail(r, ATTEST_CHECK_CHAIN, "%s", chain_why);
    if (rc < 0)
        goto out;
    if ((rc = check_signature(&doc, leaf_key, r)) < 0)
        goto out;
    rc = check_claims(&doc, policy, r);
out:
    EVP_PKEY_free(leaf_key);
    if (out)
        *out = doc;
    else
        attest_doc_free(&doc);
    return rc;
}
