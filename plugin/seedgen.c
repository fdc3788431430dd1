/* seedgen.c - the first-start seed (see seedgen.h).
 *
 * O_CREAT|O_EXCL: two starts racing, or a seed the user put there, are never
 * overwritten.  The file is written in full and fsync'ed before it counts:
 * a truncated seed would derive other keys than the hub expects, so a
 * failed write removes the file and the next start tries again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "plugin/seedgen.h"

int seedgen_create(const char *path)
{
    unsigned char raw[SEEDGEN_BYTES];
    char b64[sodium_base64_ENCODED_LEN(SEEDGEN_BYTES, sodium_base64_VARIANT_ORIGINAL) + 1];
    char *dir, *slash;
    FILE *f;
    int fd, ret;

    if (access(path, F_OK) == 0)
        return 0;
    if (errno != ENOENT)
        return -errno;
    if (sodium_init() < 0)
        return -EIO;
    dir = strdup(path);
    if (!dir)
        return -ENOMEM;
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) && errno != EEXIST) {
            ret = -errno;
            free(dir);
            return ret;
        }
    }
    free(dir);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : -errno;
    /* Unbuffered: no copy of the seed left in a stdio buffer. */
    f = fdopen(fd, "w");
    if (!f || setvbuf(f, NULL, _IONBF, 0)) {
        ret = -errno;
        if (f)
            fclose(f);
        else
            close(fd);
        unlink(path);
        return ret;
    }
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(b64, sizeof(b64) - 1, raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(raw, sizeof(raw));
    strcat(b64, "\n");
    ret = fputs(b64, f) < 0 ? -EIO : 0;
    sodium_memzero(b64, sizeof(b64));
    if (!ret && fsync(fd))
        ret = -errno;
    if (fclose(f) && !ret)
        ret = -errno;
    if (ret) {
        unlink(path);
        return ret;
    }
    return 1;
}
