/* hex.h - lower-case hex for PCRs, nonces and keys on command lines and in
 * JSON. */
#ifndef WGVSOCK_ATTEST_HEX_H
#define WGVSOCK_ATTEST_HEX_H

#include <stddef.h>
#include <stdint.h>

/* out must hold 2 * len + 1 bytes. */
void hex_encode(const uint8_t *in, size_t len, char *out);
/* Decodes exactly strlen(in) / 2 bytes (an even number of hex digits, at
 * most max); returns the byte count or -EINVAL. */
int hex_decode(const char *in, uint8_t *out, size_t max);

#endif
