/* cose.h - COSE_Sign1 with ES384 (RFC 8152): the bytes that are signed, and
 * the raw r || s signature of the Nitro format, on OpenSSL. */
#ifndef WGVSOCK_ATTEST_COSE_H
#define WGVSOCK_ATTEST_COSE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#define COSE_ALG_ES384 (-35)

/* Sig_structure ["Signature1", protected, h'' (external_aad), payload],
 * CBOR-encoded into a malloc'ed buffer.  0 or -ENOMEM. */
int cose_sig_structure(const uint8_t *prot, size_t prot_len, const uint8_t *payload,
                       size_t payload_len, uint8_t **out, size_t *out_len);

/* 0 if sig (r || s, 48 bytes each) is key's ECDSA P-384/SHA-384 signature
 * of msg; -EPERM if not; -EINVAL if key is not a P-384 EC key. */
int cose_es384_verify(EVP_PKEY *key, const uint8_t *msg, size_t msg_len, const uint8_t sig[96]);
/* Sign msg with a P-384 key into r || s.  0, -EINVAL or -ENOMEM. */
int cose_es384_sign(EVP_PKEY *key, const uint8_t *msg, size_t msg_len, uint8_t sig[96]);

#endif
