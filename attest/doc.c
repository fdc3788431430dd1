/* doc.c - parse an attestation document (COSE_Sign1 around a CBOR payload
 * map) into struct attest_doc.  Every size is bounded before libcbor
 * allocates anything (cbor_bounds.c); every field's type and length is
 * checked here; what verify.c relies on (alg, signature length, required
 * fields) is present when this returns 0.  Unknown payload keys are
 * ignored (forward compatibility); known keys may appear only once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "attest/attest.h"
#include "attest/cbor_bounds.h"

#define COSE_SIGN1_TAG     18
#define COSE_HDR_ALG       1
#define PROTECTED_HDR_MAX  64

static void bytes_of(const cbor_item_t *it, struct attest_bytes *out)
{
    out->ptr = cbor_bytestring_handle(it);
    out->len = cbor_bytestring_length(it);
}

/* A definite byte string of min..max bytes, or (nullable) CBOR null. */
static int get_bytes(const cbor_item_t *it, size_t min, size_t max, bool nullable,
                     struct attest_bytes *out)
{
    if (nullable && cbor_is_null(it)) {
        out->ptr = NULL;
        out->len = 0;
        return 0;
    }
    if (!cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
        return -EBADMSG;
    size_t n = cbor_bytestring_length(it);
    if (n < min || n > max)
        return -EBADMSG;
    bytes_of(it, out);
    if (!out->ptr && n == 0)
        out->ptr = (const uint8_t *)"";   /* present but empty */
    return 0;
}

static int get_text(const cbor_item_t *it, char *out, size_t outsz)
{
    if (!cbor_isa_string(it) || !cbor_string_is_definite(it))
        return -EBADMSG;
    size_t n = cbor_string_length(it);
    if (n >= outsz || (n && memchr(cbor_string_handle(it), 0, n)))
        return -EBADMSG;
    memcpy(out, cbor_string_handle(it), n);
    out[n] = 0;
    return 0;
}

static bool key_is(const cbor_item_t *key, const char *name)
{
    size_t n = strlen(name);
    return cbor_isa_string(key) && cbor_string_is_definite(key) &&
           cbor_string_length(key) == n && memcmp(cbor_string_handle(key), name, n) == 0;
}

/* libcbor over bytes already bounds-checked. */
static cbor_item_t *load(const uint8_t *buf, size_t len)
{
    struct cbor_load_result res;
    if (cbor_bounds_check(buf, len, ATTEST_NEST_MAX) < 0)
        return NULL;
    cbor_item_t *it = cbor_load(buf, len, &res);
    if (it && (res.error.code != CBOR_ERR_NONE || res.read != len)) {
        cbor_decref(&it);
        return NULL;
    }
    return it;
}

/* Protected header: a map that must name the algorithm (key 1). */
static int parse_protected(struct attest_doc *doc, const char **why)
{
    cbor_item_t *hdr = load(doc->protected_hdr.ptr, doc->protected_hdr.len);
    int rc = -EBADMSG;

    *why = "protected header is not a CBOR map";
    if (!hdr || !cbor_isa_map(hdr))
        goto out;
    *why = "protected header has no algorithm";
    struct cbor_pair *p = cbor_map_handle(hdr);
    for (size_t i = 0; i < cbor_map_size(hdr); i++) {
        if (!cbor_isa_uint(p[i].key) || cbor_get_int(p[i].key) != COSE_HDR_ALG)
            continue;
        if (cbor_isa_negint(p[i].value) && cbor_get_int(p[i].value) < INT64_MAX)
            doc->alg = -1 - (int64_t)cbor_get_int(p[i].value);
        else if (cbor_isa_uint(p[i].value) && cbor_get_int(p[i].value) <= INT64_MAX)
            doc->alg = (int64_t)cbor_get_int(p[i].value);
        else
            goto out;
        rc = 0;
    }
out:
    if (hdr)
        cbor_decref(&hdr);
    return rc;
}

static int parse_pcrs(struct attest_doc *doc, const cbor_item_t *map)
{
    if (!cbor_isa_map(map) || cbor_map_size(map) == 0 || cbor_map_size(map) > ATTEST_PCR_COUNT)
        return -EBADMSG;
    struct cbor_pair *p = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        if (!cbor_isa_uint(p[i].key) || cbor_get_int(p[i].key) >= ATTEST_PCR_COUNT)
            return -EBADMSG;
        struct attest_bytes *pcr = &doc->pcrs[cbor_get_int(p[i].key)];
        if (pcr->ptr || get_bytes(p[i].value, 32, ATTEST_PCR_MAX_LEN, false, pcr) < 0)
            return -EBADMSG;
        if (pcr->len != 32 && pcr->len != 48 && pcr->len != 64)
            return -EBADMSG;
    }
    return 0;
}

static int parse_cabundle(struct attest_doc *doc, const cbor_item_t *arr)
{
    if (!cbor_isa_array(arr) || cbor_array_size(arr) == 0 ||
        cbor_array_size(arr) > ATTEST_CABUNDLE_MAX)
        return -EBADMSG;
    cbor_item_t **items = cbor_array_handle(arr);
    for (size_t i = 0; i < cbor_array_size(arr); i++)
        if (get_bytes(items[i], 1, ATTEST_CERT_MAX, false, &doc->cabundle[i]) < 0)
            return -EBADMSG;
    doc->n_cabundle = cbor_array_size(arr);
    return 0;
}

enum { F_MODULE, F_DIGEST, F_TIME, F_PCRS, F_CERT, F_CABUNDLE, F_PUBKEY, F_USER, F_NONCE, F_COUNT };
static const char *const field_names[F_COUNT] = {
    "module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle",
    "public_key", "user_data", "nonce",
};

static int parse_field(struct attest_doc *doc, int f, const cbor_item_t *v)
{
    switch (f) {
    case F_MODULE:   return get_text(v, doc->module_id, sizeof(doc->module_id));
    case F_DIGEST:   return get_text(v, doc->digest, sizeof(doc->digest));
    case F_TIME:
        if (!cbor_isa_uint(v))
            return -EBADMSG;
        doc->timestamp_ms = cbor_get_int(v);
        return 0;
    case F_PCRS:     return parse_pcrs(doc, v);
    case F_CERT:     return get_bytes(v, 1, ATTEST_CERT_MAX, false, &doc->certificate);
    case F_CABUNDLE: return parse_cabundle(doc, v);
    case F_PUBKEY:   return get_bytes(v, 0, ATTEST_FIELD_MAX, true, &doc->public_key);
    case F_USER:     return get_bytes(v, 0, ATTEST_FIELD_MAX, true, &doc->user_data);
    case F_NONCE:    return get_bytes(v, 0, ATTEST_FIELD_MAX, true, &doc->nonce);
    }
    return -EBADMSG;
}

static int parse_payload(struct attest_doc *doc, const char **why)
{
    static __thread char msg[64];   /* *why outlives the call; one per thread */
    cbor_item_t *map = load(doc->payload.ptr, doc->payload.len);
    bool seen[F_COUNT] = { false };

    doc->payload_map = map;
    *why = "payload is not a bounded CBOR map";
    if (!map || !cbor_isa_map(map))
        return -EBADMSG;
    struct cbor_pair *p = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        for (int f = 0; f < F_COUNT; f++) {
            if (!key_is(p[i].key, field_names[f]))
                continue;
            snprintf(msg, sizeof(msg), "payload field %s is %s", field_names[f],
                     seen[f] ? "repeated" : "malformed or out of bounds");
            *why = msg;
            if (seen[f] || parse_field(doc, f, p[i].value) < 0)
                return -EBADMSG;
            seen[f] = true;
        }
    }
    for (int f = 0; f <= F_CABUNDLE; f++) {
        if (!seen[f]) {
            snprintf(msg, sizeof(msg), "payload has no %s", field_names[f]);
            *why = msg;
            return -EBADMSG;
        }
    }
    *why = "payload digest is not SHA384";
    return strcmp(doc->digest, "SHA384") == 0 ? 0 : -EBADMSG;
}

int attest_doc_parse(const uint8_t *buf, size_t len, struct attest_doc *doc, const char **why)
{
    const char *dummy;
    int rc;

    if (!why)
        why = &dummy;
    memset(doc, 0, sizeof(*doc));
    *why = "document larger than 16384 bytes";
    if (len > ATTEST_DOC_MAX)
        return -EMSGSIZE;
    /* COSE_Sign1 may carry tag 18 (0xd2, or 0xd8 0x12).  libcbor 0.8's
     * decoder refuses the one-byte form of tags 6..20 as "unassigned", so
     * the tag is stripped here rather than by libcbor; other tags fail below. */
    if (len >= 1 && buf[0] == 0xd2) {
        buf++;
        len--;
    } else if (len >= 2 && buf[0] == 0xd8 && buf[1] == COSE_SIGN1_TAG) {
        buf += 2;
        len -= 2;
    }
    *why = "not a bounded, well-formed CBOR item";
    cbor_item_t *root = load(buf, len);
    if (!root)
        return -EBADMSG;
    doc->cose = root;
    const cbor_item_t *arr = root;
    *why = "not a COSE_Sign1 array of 4";
    if (!cbor_isa_array(arr) || cbor_array_size(arr) != 4)
        goto bad;
    cbor_item_t **part = cbor_array_handle(arr);
    *why = "COSE_Sign1 part has the wrong type or size";
    if (get_bytes(part[0], 1, PROTECTED_HDR_MAX, false, &doc->protected_hdr) < 0 ||
        !cbor_isa_map(part[1]) ||
        get_bytes(part[2], 1, ATTEST_DOC_MAX, false, &doc->payload) < 0 ||
        get_bytes(part[3], ATTEST_SIG_LEN, ATTEST_SIG_LEN, false, &doc->signature) < 0)
        goto bad;
    if ((rc = parse_protected(doc, why)) < 0 || (rc = parse_payload(doc, why)) < 0)
        goto bad;
    return 0;
bad:
    attest_doc_free(doc);
    return -EBADMSG;
}

void attest_doc_free(struct attest_doc *doc)
{
    cbor_item_t *cose = doc->cose, *payload = doc->payload_map;
    if (cose)
        cbor_decref(&cose);
    if (payload)
        cbor_decref(&payload);
    memset(doc, 0, sizeof(*doc));
}
