/* keys.c - see keys.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "provision/keys.h"

#define SEED_B64_MAX 64

static int decode32(const char *b64, size_t len, uint8_t out[32])
{
    size_t n = 0;
    const char *end = NULL;
    if (sodium_base642bin(out, 32, b64, len, " \t\r\n", &n, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 || n != 32 ||
        (end && end != b64 + len))
        return -EINVAL;
    return 0;
}

int prov_pubkey_parse(const char *b64, uint8_t pk[PROV_PUBKEY_LEN])
{
    return decode32(b64, strlen(b64), pk);
}

void prov_pubkey_format(const uint8_t pk[PROV_PUBKEY_LEN], char out[48])
{
    sodium_bin2base64(out, 48, pk, PROV_PUBKEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

static int create_key(const char *path, uint8_t seed[32])
{
    char b64[SEED_B64_MAX];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), rc = 0;
    if (fd < 0)
        return -errno;
    randombytes_buf(seed, 32);
    sodium_bin2base64(b64, sizeof(b64), seed, 32, sodium_base64_VARIANT_ORIGINAL);
    size_t n = strlen(b64);
    b64[n++] = '\n';
    if (write(fd, b64, n) != (ssize_t)n || fsync(fd) < 0)
        rc = -EIO;
    close(fd);
    sodium_memzero(b64, sizeof(b64));
    if (rc < 0)
        unlink(path);
    return rc;
}

int prov_key_load(const char *path, bool create, uint8_t sk[PROV_SECKEY_LEN],
                  uint8_t pk[PROV_PUBKEY_LEN])
{
    uint8_t seed[32];
    char b64[SEED_B64_MAX + 1];
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        rc = -errno;
        if (rc == -ENOENT && create)
            rc = create_key(path, seed);
        if (rc < 0)
            return rc;
    } else {
        ssize_t n = read(fd, b64, SEED_B64_MAX);
        close(fd);
        rc = n < 0 ? -errno : decode32(b64, (size_t)n, seed);
        sodium_memzero(b64, sizeof(b64));
        if (rc < 0)
            return rc;
    }
    crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(seed, sizeof(seed));
    return 0;
}
