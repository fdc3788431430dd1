/* keys.h - the plugin's provisioning key (Ed25519, libsodium): a file with
 * the base64 of its 32-byte seed, 0600; the hub is given the base64 of the
 * public key (`wgvsock-attest provision-key FILE` prints it). */
#ifndef WGVSOCK_PROVISION_KEYS_H
#define WGVSOCK_PROVISION_KEYS_H

#include <stdint.h>

#include "provision/proto.h"

/* Load the key in path; with create, make a new one (0600) if the file does
 * not exist.  0, -ENOENT, -EINVAL (not a key), -errno.  sk is secret:
 * sodium_memzero it when done. */
int prov_key_load(const char *path, bool create, uint8_t sk[PROV_SECKEY_LEN],
                  uint8_t pk[PROV_PUBKEY_LEN]);
/* base64 public key -> 32 bytes.  0 or -EINVAL. */
int prov_pubkey_parse(const char *b64, uint8_t pk[PROV_PUBKEY_LEN]);
/* 32 bytes -> base64 (45 bytes with the NUL). */
void prov_pubkey_format(const uint8_t pk[PROV_PUBKEY_LEN], char out[48]);

#endif
