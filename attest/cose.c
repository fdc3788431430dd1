/* cose.c - COSE_Sign1/ES384 on OpenSSL.  COSE carries an ECDSA signature
 * as the two 48-byte big-endian integers r and s back to back; OpenSSL
 * speaks DER (ECDSA-Sig-Value), so we convert through ECDSA_SIG both ways
 * and never touch ASN.1 ourselves. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "attest/cose.h"

#define P384_SCALAR 48

/* Push a new item; it belongs to the array afterwards (false: out of memory). */
static bool push_new(cbor_item_t *arr, cbor_item_t *item)
{
    if (!item)
        return false;
    bool ok = cbor_array_push(arr, item);
    cbor_decref(&item);
    return ok;
}

int cose_sig_structure(const uint8_t *prot, size_t prot_len, const uint8_t *payload,
                       size_t payload_len, uint8_t **out, size_t *out_len)
{
    cbor_item_t *arr = cbor_new_definite_array(4);
    int rc = -ENOMEM;

    *out = NULL;
    if (!arr)
        return -ENOMEM;
    if (!push_new(arr, cbor_build_string("Signature1")) ||
        !push_new(arr, cbor_build_bytestring(prot, prot_len)) ||
        !push_new(arr, cbor_build_bytestring((const uint8_t *)"", 0)) ||
        !push_new(arr, cbor_build_bytestring(payload, payload_len)))
        goto out;
    size_t cap = 0;
    *out_len = cbor_serialize_alloc(arr, out, &cap);
    if (*out_len == 0) {
        free(*out);
        *out = NULL;
        goto out;
    }
    rc = 0;
out:
    cbor_decref(&arr);
    return rc;
}

static bool is_p384(EVP_PKEY *key)
{
    char group[32];
    size_t n = 0;
    return EVP_PKEY_is_a(key, "EC") &&
           EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                          sizeof(group), &n) == 1 &&
           strcmp(group, SN_secp384r1) == 0;
}

int cose_es384_verify(EVP_PKEY *key, const uint8_t *msg, size_t msg_len, const uint8_t sig[96])
{
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    EVP_MD_CTX *md = NULL;
    unsigned char *der = NULL;
    int der_len, rc = -ENOMEM;

    if (!is_p384(key))
        return -EINVAL;
    r = BN_bin2bn(sig, P384_SCALAR, NULL);
    s = BN_bin2bn(sig + P384_SCALAR, P384_SCALAR, NULL);
    es = ECDSA_SIG_new();
    if (!r || !s || !es || ECDSA_SIG_set0(es, r, s) != 1)
        goto out;
    r = s = NULL;                                  /* owned by es now */
    if ((der_len = i2d_ECDSA_SIG(es, &der)) <= 0)
        goto out;
    if (!(md = EVP_MD_CTX_new()) ||
        EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) != 1)
        goto out;
    rc = EVP_DigestVerify(md, der, (size_t)der_len, msg, msg_len) == 1 ? 0 : -EPERM;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    return rc;
}

int cose_es384_sign(EVP_PKEY *key, const uint8_t *msg, size_t msg_len, uint8_t sig[96])
{
    EVP_MD_CTX *md = NULL;
    unsigned char der[160];
    size_t der_len = sizeof(der);
    ECDSA_SIG *es = NULL;
    int rc = -ENOMEM;

    if (!is_p384(key))
        return -EINVAL;
    if (!(md = EVP_MD_CTX_new()) ||
        EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) != 1 ||
        EVP_DigestSign(md, der, &der_len, msg, msg_len) != 1)
        goto out;
    const unsigned char *p = der;
    if (!(es = d2i_ECDSA_SIG(NULL, &p, (long)der_len)))
        goto out;
    if (BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, P384_SCALAR) != P384_SCALAR ||
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + P384_SCALAR, P384_SCALAR) != P384_SCALAR)
        goto out;
    rc = 0;
out:
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    return rc;
}
