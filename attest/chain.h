/* chain.h - the document's certificate chain, checked with OpenSSL. */
#ifndef WGVSOCK_ATTEST_CHAIN_H
#define WGVSOCK_ATTEST_CHAIN_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>

#include "attest/attest.h"

/* Verify doc's leaf certificate through its cabundle to the root given as
 * PEM, at time `at`.  On success returns 0 and the leaf's public key in
 * *leaf_key (the caller frees it).  -EPERM with a reason in why, or
 * -ENOMEM. */
int attest_chain_verify(const struct attest_doc *doc, const char *root_pem, time_t at,
                        EVP_PKEY **leaf_key, char *why, size_t why_len);

#endif
