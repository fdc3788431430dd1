/* bench/crc32.c - CRC-32 (IEEE, the stream framing's checksum) backends.
 *
 * Checks that zlib, libdeflate and (when built with it) isa-l agree on the
 * check value and on random buffers, then measures MB/s for the frame sizes
 * the stream transport sees (64-byte keepalives, 1440-byte MTU packets,
 * 8 KiB and maximal 65530-byte frames).  Each cell is the median of 3
 * interleaved rounds; the ratio to zlib is printed beside it.
 * wgcore/stream_frame.c uses libdeflate (see docs/BENCHMARKS.md).
 *
 *   bench-crc32 [-t SECONDS_PER_CELL]       default 0.2
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <libdeflate.h>
#ifdef HAVE_ISAL
#include <isa-l/crc.h>
#endif

typedef uint32_t (*crc_fn)(const uint8_t *p, size_t len);

static uint32_t crc_zlib(const uint8_t *p, size_t len) { return (uint32_t)crc32(0L, p, (uInt)len); }
static uint32_t crc_libdeflate(const uint8_t *p, size_t len) { return libdeflate_crc32(0, p, len); }
#ifdef HAVE_ISAL
static uint32_t crc_isal(const uint8_t *p, size_t len) { return crc32_gzip_refl(0, (uint8_t *)p, len); }
#endif

static const struct { const char *name; crc_fn fn; } impls[] = {
    { "zlib", crc_zlib },
    { "libdeflate", crc_libdeflate },
#ifdef HAVE_ISAL
    { "isa-l", crc_isal },
#endif
};
#define NIMPL (sizeof(impls) / sizeof(impls[0]))
static const size_t sizes[] = { 64, 1440, 8192, 65530 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
#define ROUNDS 3

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double measure(crc_fn fn, const uint8_t *buf, size_t len, double secs)
{
    volatile uint32_t sink = 0;
    uint64_t bytes = 0;
    double t0 = now_s(), t;

    do {
        for (int i = 0; i < 64; i++)
            sink += fn(buf, len);
        bytes += 64 * (uint64_t)len;
    } while ((t = now_s()) - t0 < secs);
    (void)sink;
    return (double)bytes / (t - t0) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    static uint8_t buf[65536];
    double secs = 0.2, mbs[NSIZES][NIMPL][ROUNDS];
    int opt, bad = 0;

    while ((opt = getopt(argc, argv, "t:")) != -1) {
        if (opt != 't' || (secs = atof(optarg)) <= 0) {
            fprintf(stderr, "usage: %s [-t SECONDS_PER_CELL]\n", argv[0]);
            return 2;
        }
    }
    srand(1);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rand();
    /* Same answers first: a fast wrong CRC is worthless. */
    for (size_t k = 0; k < NIMPL; k++) {
        if (impls[k].fn((const uint8_t *)"123456789", 9) != 0xcbf43926u) {
            printf("%s: wrong check value\n", impls[k].name);
            bad = 1;
        }
        for (size_t len = 0; len <= 4096; len += 7)
            if (impls[k].fn(buf + len % 13, len) != crc_zlib(buf + len % 13, len)) {
                printf("%s: differs from zlib at %zu bytes\n", impls[k].name, len);
                bad = 1;
                break;
            }
    }
    if (bad)
        return 1;
    /* Interleaved: round r measures every size and backend before r+1. */
    for (int r = 0; r < ROUNDS; r++)
        for (size_t s = 0; s < NSIZES; s++)
            for (size_t k = 0; k < NIMPL; k++)
                mbs[s][k][r] = measure(impls[k].fn, buf, sizes[s], secs);
    printf("CRC-32 MB/s, median of %d interleaved rounds of %.2f s (x = ratio to zlib)\n", ROUNDS, secs);
    printf("%8s", "bytes");
    for (size_t k = 0; k < NIMPL; k++)
        printf(" %20s", impls[k].name);
    printf("\n");
    for (size_t s = 0; s < NSIZES; s++) {
        double base = 0;

        printf("%8zu", sizes[s]);
        for (size_t k = 0; k < NIMPL; k++) {
            qsort(mbs[s][k], ROUNDS, sizeof(double), cmp_double);
            if (k == 0)
                base = mbs[s][k][ROUNDS / 2];
            printf(" %11.0f (%5.1fx)", mbs[s][k][ROUNDS / 2], mbs[s][k][ROUNDS / 2] / base);
        }
        printf("\n");
    }
    return 0;
}
