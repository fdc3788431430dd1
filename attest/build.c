/* build.c - encode a Nitro-format document with libcbor and sign it
 * (COSE_Sign1, ES384) with OpenSSL through cose.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "attest/build.h"
#include "attest/cose.h"

bool build_map_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *value)
{
    bool ok = key && value &&
              cbor_map_add(map, (struct cbor_pair){ .key = key, .value = value });
    if (key)
        cbor_decref(&key);
    if (value)
        cbor_decref(&value);
    return ok;
}

static cbor_item_t *bytes_or_null(const uint8_t *p, size_t n)
{
    return p ? cbor_build_bytestring(p, n) : cbor_new_null();
}

static cbor_item_t *build_pcrs(const struct attest_doc_spec *s)
{
    size_t n = 0;
    for (int i = 0; i < ATTEST_PCR_COUNT; i++)
        n += s->pcr[i] != NULL;
    cbor_item_t *map = cbor_new_definite_map(n);
    for (int i = 0; map && i < ATTEST_PCR_COUNT; i++) {
        if (s->pcr[i] && !build_map_put(map, cbor_build_uint8((uint8_t)i),
                              cbor_build_bytestring(s->pcr[i], s->pcr_len)))
            cbor_decref(&map);
    }
    return map;
}

static cbor_item_t *build_cabundle(const struct attest_doc_spec *s)
{
    cbor_item_t *arr = cbor_new_definite_array(s->n_cabundle);
    for (size_t i = 0; arr && i < s->n_cabundle; i++) {
        cbor_item_t *c = cbor_build_bytestring(s->cabundle[i].ptr, s->cabundle[i].len);
        bool ok = c && cbor_array_push(arr, c);
        if (c)
            cbor_decref(&c);
        if (!ok)
            cbor_decref(&arr);
    }
    return arr;
}

static cbor_item_t *build_payload(const struct attest_doc_spec *s)
{
    cbor_item_t *m = cbor_new_definite_map(9);
    const struct attest_request *c = &s->claims;
    if (!m)
        return NULL;
    if (!build_map_put(m, cbor_build_string("module_id"), cbor_build_string(s->module_id)) ||
        !build_map_put(m, cbor_build_string("digest"), cbor_build_string(s->digest)) ||
        !build_map_put(m, cbor_build_string("timestamp"), cbor_build_uint64(s->timestamp_ms)) ||
        !build_map_put(m, cbor_build_string("pcrs"), build_pcrs(s)) ||
        !build_map_put(m, cbor_build_string("certificate"),
             cbor_build_bytestring(s->certificate.ptr, s->certificate.len)) ||
        !build_map_put(m, cbor_build_string("cabundle"), build_cabundle(s)) ||
        !build_map_put(m, cbor_build_string("public_key"), bytes_or_null(c->public_key, c->public_key_len)) ||
        !build_map_put(m, cbor_build_string("user_data"), bytes_or_null(c->user_data, c->user_data_len)) ||
        !build_map_put(m, cbor_build_string("nonce"), bytes_or_null(c->nonce, c->nonce_len)))
        cbor_decref(&m);
    return m;
}

static cbor_item_t *build_int(int64_t v)
{
    return v < 0 ? cbor_build_negint64((uint64_t)(-1 - v)) : cbor_build_uint64((uint64_t)v);
}

/* Serialize item (and drop it); NULL on failure. */
static uint8_t *serialize(cbor_item_t *item, size_t *len)
{
    uint8_t *buf = NULL;
    size_t cap = 0;
    if (!item)
        return NULL;
    *len = cbor_serialize_alloc(item, &buf, &cap);
    cbor_decref(&item);
    if (*len == 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int attest_doc_build(const struct attest_doc_spec *s, EVP_PKEY *key, uint8_t **out,
                     size_t *out_len)
{
    uint8_t *payload = NULL, *prot = NULL, *tbs = NULL, sig[ATTEST_SIG_LEN];
    size_t payload_len = 0, prot_len = 0, tbs_len = 0;
    cbor_item_t *hdr = cbor_new_definite_map(1), *cose = NULL;
    int rc = -ENOMEM;

    *out = NULL;
    if (!hdr || !build_map_put(hdr, cbor_build_uint8(1), build_int(s->alg))) {
        if (hdr)
            cbor_decref(&hdr);
        return -ENOMEM;
    }
    if (!(prot = serialize(hdr, &prot_len)) || !(payload = serialize(build_payload(s), &payload_len)))
        goto out;
    if ((rc = cose_sig_structure(prot, prot_len, payload, payload_len, &tbs, &tbs_len)) < 0 ||
        (rc = cose_es384_sign(key, tbs, tbs_len, sig)) < 0)
        goto out;
    rc = -ENOMEM;
    cose = cbor_new_definite_array(4);
    cbor_item_t *parts[4] = {
        cbor_build_bytestring(prot, prot_len), cbor_new_definite_map(0),
        cbor_build_bytestring(payload, payload_len), cbor_build_bytestring(sig, sizeof(sig)),
    };
    bool ok = cose != NULL;
    for (int i = 0; i < 4; i++) {
        ok = ok && parts[i] && cbor_array_push(cose, parts[i]);
        if (parts[i])
            cbor_decref(&parts[i]);
    }
    if (!ok) {
        if (cose)
            cbor_decref(&cose);
        goto out;
    }
    if ((*out = serialize(cose, out_len)))
        rc = 0;
out:
    free(payload);
    free(prot);
    free(tbs);
    return rc;
}
