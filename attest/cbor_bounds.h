/* cbor_bounds.h - check untrusted CBOR before libcbor builds a tree of it. */
#ifndef WGVSOCK_ATTEST_CBOR_BOUNDS_H
#define WGVSOCK_ATTEST_CBOR_BOUNDS_H

#include <stddef.h>
#include <stdint.h>

/* 0 if buf is exactly one well-formed CBOR item whose containers (arrays,
 * maps, tags, indefinite strings) nest at most max_depth deep and whose
 * declared element counts fit in the bytes that remain; else -EBADMSG.
 * Without this, cbor_load would allocate for whatever count a header
 * claims and recurse as deep as the input nests. */
int cbor_bounds_check(const uint8_t *buf, size_t len, unsigned max_depth);

#endif
