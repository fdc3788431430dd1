/* seed_fp.c - a seed's non-secret fingerprint (see seed_fp.h). */
#include <string.h>

#include <sodium.h>

#include "plugin/seed_fp.h"

/* The BLAKE2b key is the domain: this hash is never any other hash of the
 * seed (keyderive's derivation uses its own construction). */
static const char fp_domain[] = "wgvsock seed fingerprint v1";

void seed_fp_compute(const struct kd_secret *seed, uint8_t fp[SEED_FP_LEN])
{
    uint8_t full[crypto_generichash_BYTES_MIN];

    crypto_generichash(full, sizeof(full), seed->bytes, seed->len,
                       (const unsigned char *)fp_domain, sizeof(fp_domain) - 1);
    memcpy(fp, full, SEED_FP_LEN);
    sodium_memzero(full, sizeof(full));
}

void seed_fp_to_hex(const uint8_t fp[SEED_FP_LEN], char hex[SEED_FP_HEX_LEN + 1])
{
    sodium_bin2hex(hex, SEED_FP_HEX_LEN + 1, fp, SEED_FP_LEN);
}

int seed_fp_from_hex(const char *hex, uint8_t fp[SEED_FP_LEN])
{
    size_t len;

    if (strlen(hex) != SEED_FP_HEX_LEN ||
        sodium_hex2bin(fp, SEED_FP_LEN, hex, SEED_FP_HEX_LEN, NULL, &len, NULL) || len != SEED_FP_LEN)
        return -1;
    return 0;
}
