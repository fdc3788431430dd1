/* fuzz_attest_doc.c - libFuzzer target for the attestation document parser
 * (attest/doc.c behind attest/cbor_bounds.c) and the verifier that runs on
 * what it accepts: bytes from the network, before any signature is known
 * to be good.
 *
 * Properties beyond "does not crash":
 *   - a rejected document leaves the struct empty (no pointer to half a
 *     tree) with an errno of EBADMSG or EMSGSIZE;
 *   - an accepted one has what verify relies on: a 96-byte signature, a
 *     leaf, 1..8 cabundle entries, optional fields <= 1024 bytes, PCRs of
 *     32/48/64 bytes;
 *   - verification of anything the fuzzer makes fails (it cannot forge the
 *     pinned root's chain), and names a check.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attest.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);   /* libFuzzer calls it */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct attest_doc d;
    const char *why = NULL;
    int rc = attest_doc_parse(data, size, &d, &why);

    if (rc < 0) {
        CHECK(rc == -EBADMSG || rc == -EMSGSIZE || rc == -ENOMEM);
        CHECK(why != NULL && d.cose == NULL && d.payload_map == NULL);
        return 0;
    }
    CHECK(d.signature.len == ATTEST_SIG_LEN);
    CHECK(d.certificate.ptr && d.certificate.len <= ATTEST_CERT_MAX);
    CHECK(d.n_cabundle >= 1 && d.n_cabundle <= ATTEST_CABUNDLE_MAX);
    CHECK(d.public_key.len <= ATTEST_FIELD_MAX && d.user_data.len <= ATTEST_FIELD_MAX &&
          d.nonce.len <= ATTEST_FIELD_MAX);
    for (int i = 0; i < ATTEST_PCR_COUNT; i++)
        CHECK(!d.pcrs[i].ptr || d.pcrs[i].len == 32 || d.pcrs[i].len == 48 || d.pcrs[i].len == 64);
    CHECK(strcmp(d.digest, "SHA384") == 0);
    attest_doc_free(&d);

    /* The whole verifier on the same bytes, at a time within the genuine
     * seed's validity: only the unmodified seed may pass. */
    struct attest_policy pol = { .at = 1757440782, .check_freshness = true };
    struct attest_result res;
    rc = attest_verify(data, size, &pol, &res, NULL);
    CHECK(rc == 0 || rc == -EPERM || rc == -ENOMEM);
    CHECK(rc == 0 ? res.failed == ATTEST_OK : res.failed != ATTEST_OK);
    return 0;
}
