/* build.h - encode and sign a document in the Nitro format (used by the
 * test attester, and by the unit tests to make documents that are wrong in
 * exactly one way). */
#ifndef WGVSOCK_ATTEST_BUILD_H
#define WGVSOCK_ATTEST_BUILD_H

#include <stdbool.h>
#include <cbor.h>
#include <openssl/evp.h>

#include "attest/attest.h"

struct attest_doc_spec {
    const char *module_id;
    const char *digest;                       /* "SHA384" */
    uint64_t timestamp_ms;
    const uint8_t *pcr[ATTEST_PCR_COUNT];     /* NULL: not in the document */
    size_t pcr_len;
    struct attest_bytes certificate;          /* the leaf, DER */
    struct attest_bytes cabundle[ATTEST_CABUNDLE_MAX];   /* root first */
    size_t n_cabundle;
    struct attest_request claims;             /* NULL pointers: CBOR null */
    int64_t alg;                              /* protected header's alg (-35) */
};

/* The COSE_Sign1 document (untagged, as the NSM sends it), signed by key
 * (P-384).  0, -EINVAL or -ENOMEM; *out is malloc'ed. */
int attest_doc_build(const struct attest_doc_spec *spec, EVP_PKEY *key, uint8_t **out,
                     size_t *out_len);

/* map[key] = value, dropping our references to both (either may be NULL
 * after a failed allocation); false on failure. */
bool build_map_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *value);

#endif
