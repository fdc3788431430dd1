/* test_wg_frame.c - stream framing against byte-exact fixtures: encode and
 * decode agree with frames computed independently (Python's zlib.crc32),
 * frames split at every byte boundary, many frames per buffer, bad CRC,
 * the size limits, EOF mid-frame and the explicit no-CRC mode. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "wgcore/stream_frame.h"

/* A 148-byte handshake initiation (type 1) as wireguard-go-vsock frames it:
 * 94 00 = length 148, then CRC-32 0x4b6bd04e little-endian, then the
 * message.  Generated with: struct.pack('<HI', len(p), zlib.crc32(p)) + p,
 * p = b'\1\0\0\0' + bytes((i*37+11) & 0xff for i in range(144)). */
static const uint8_t initiation_frame[154] = {
    0x94, 0x00, 0x4e, 0xd0, 0x6b, 0x4b, 0x01, 0x00, 0x00, 0x00, 0x0b, 0x30,
    0x55, 0x7a, 0x9f, 0xc4, 0xe9, 0x0e, 0x33, 0x58, 0x7d, 0xa2, 0xc7, 0xec,
    0x11, 0x36, 0x5b, 0x80, 0xa5, 0xca, 0xef, 0x14, 0x39, 0x5e, 0x83, 0xa8,
    0xcd, 0xf2, 0x17, 0x3c, 0x61, 0x86, 0xab, 0xd0, 0xf5, 0x1a, 0x3f, 0x64,
    0x89, 0xae, 0xd3, 0xf8, 0x1d, 0x42, 0x67, 0x8c, 0xb1, 0xd6, 0xfb, 0x20,
    0x45, 0x6a, 0x8f, 0xb4, 0xd9, 0xfe, 0x23, 0x48, 0x6d, 0x92, 0xb7, 0xdc,
    0x01, 0x26, 0x4b, 0x70, 0x95, 0xba, 0xdf, 0x04, 0x29, 0x4e, 0x73, 0x98,
    0xbd, 0xe2, 0x07, 0x2c, 0x51, 0x76, 0x9b, 0xc0, 0xe5, 0x0a, 0x2f, 0x54,
    0x79, 0x9e, 0xc3, 0xe8, 0x0d, 0x32, 0x57, 0x7c, 0xa1, 0xc6, 0xeb, 0x10,
    0x35, 0x5a, 0x7f, 0xa4, 0xc9, 0xee, 0x13, 0x38, 0x5d, 0x82, 0xa7, 0xcc,
    0xf1, 0x16, 0x3b, 0x60, 0x85, 0xaa, 0xcf, 0xf4, 0x19, 0x3e, 0x63, 0x88,
    0xad, 0xd2, 0xf7, 0x1c, 0x41, 0x66, 0x8b, 0xb0, 0xd5, 0xfa, 0x1f, 0x44,
    0x69, 0x8e, 0xb3, 0xd8, 0xfd, 0x22, 0x47, 0x6c, 0x91, 0xb6,
};

/* The CRC-32 check value: crc32("123456789") = 0xcbf43926. */
static const uint8_t check_frame[15] = {
    0x09, 0x00, 0x26, 0x39, 0xf4, 0xcb, '1', '2', '3', '4', '5', '6', '7', '8', '9',
};

static uint8_t dbuf[4 * WG_FRAME_DECODER_MIN];

static void test_encode_fixture(void **state)
{
    uint8_t out[200];

    assert_int_equal(wg_frame_encode(out, sizeof(out), initiation_frame + 6, 148, true), 154);
    assert_memory_equal(out, initiation_frame, 154);
    assert_int_equal(wg_frame_encode(out, sizeof(out), (const uint8_t *)"123456789", 9, true), 15);
    assert_memory_equal(out, check_frame, 15);
    /* header only */
    uint8_t hdr[6];
    assert_int_equal(wg_frame_encode_hdr(hdr, initiation_frame + 6, 148, true), 6);
    assert_memory_equal(hdr, initiation_frame, 6);
    /* buffer too small */
    assert_int_equal(wg_frame_encode(out, 153, initiation_frame + 6, 148, true), -ENOBUFS);
}

static void test_decode_fixture(void **state)
{
    struct wg_frame_decoder d;
    uint8_t *p;
    uint32_t len;

    wg_frame_decoder_init(&d, dbuf, sizeof(dbuf), true);
    assert_int_equal(wg_frame_decoder_feed(&d, initiation_frame, sizeof(initiation_frame)), 154);
    assert_int_equal(wg_frame_decoder_next(&d, &p, &len), 1);
    assert_int_equal(len, 148);
    assert_int_equal(p[0], 1);
    assert_memory_equal(p, initiation_frame + 6, 148);
    assert_int_equal(wg_frame_decoder_next(&d, &p, &len), 0);
    assert_int_equal(wg_frame_decoder_pending(&d), 0);
    /* re-encoding the decoded payload gives the same bytes */
    uint8_t out[200];
    assert_int_equal(wg_frame_encode(out, sizeof(out), p, len, true), 154);
    assert_memory_equal(out, initiation_frame, 154);
}

/* Every split of two concatenated frames into two reads decodes both. */
static void test_split_every_boundary(void **state)
{
    uint8_t stream[154 + 15];
    struct wg_frame_decoder d;

    memcpy(stream, initiation_frame, 154);
    memcpy(stream + 154, check_frame, 15);
    for (size_t cut = 0; cut <= sizeof(stream); cut++) {
        uint8_t *p;
        uint32_t len;
        int got = 0;

        wg_frame_decoder_init(&d, dbuf, sizeof(dbuf), true);
        wg_frame_decoder_feed(&d, stream, cut);
        while (wg_frame_decoder_next(&d, &p, &len) == 1) {
            assert_int_equal(len, got == 0 ? 148 : 9);
            assert_memory_equal(p, got == 0 ? initiation_frame + 6 : check_frame + 6, len);
            got++;
        }
        wg_frame_decoder_compact(&d);
        wg_frame_decoder_feed(&d, stream + cut, sizeof(stream) - cut);
        while (wg_frame_decoder_next(&d, &p, &len) == 1) {
            assert_int_equal(len, got == 0 ? 148 : 9);
            assert_memory_equal(p, got == 0 ? initiation_frame + 6 : check_frame + 6, len);
            got++;
        }
        assert_int_equal(got, 2);
        assert_int_equal(wg_frame_decoder_pending(&d), 0);
    }
}

/* One byte per read. */
static void test_byte_at_a_time(void **state)
{
    struct wg_frame_decoder d;
    uint8_t *p;
    uint32_t len;
    int got = 0;

    wg_frame_decoder_init(&d, dbuf, WG_FRAME_DECODER_MIN, true);
    for (int rep = 0; rep < 3; rep++) {
        for (size_t i = 0; i < sizeof(initiation_frame); i++) {
            assert_int_equal(wg_frame_decoder_feed(&d, initiation_frame + i, 1), 1);
            int r = wg_frame_decoder_next(&d, &p, &len);
            assert_int_equal(r, i + 1 == sizeof(initiation_frame));
            if (r == 1) {
                assert_memory_equal(p, initiation_frame + 6, 148);
                got++;
            }
            wg_frame_decoder_compact(&d);
        }
    }
    assert_int_equal(got, 3);
}

static void test_many_frames_one_buffer(void **state)
{
    enum { N = 500 };
    static uint8_t stream[N * 1500];
    size_t off = 0;
    struct wg_frame_decoder d;
    uint8_t *p;
    uint32_t len;
    unsigned got = 0, i = 0;

    for (unsigned k = 0; k < N; k++) {
        uint8_t payload[1400];
        size_t l = 32 + (k * 7) % 1300;

        memset(payload, (int)k, l);
        int r = wg_frame_encode(stream + off, sizeof(stream) - off, payload, l, true);
        assert_true(r > 0);
        off += (size_t)r;
    }
    /* feed in 4000-byte reads, as a socket would deliver */
    wg_frame_decoder_init(&d, dbuf, sizeof(dbuf), true);
    while (i < off) {
        i += wg_frame_decoder_feed(&d, stream + i, off - i < 4000 ? off - i : 4000);
        while (wg_frame_decoder_next(&d, &p, &len) == 1) {
            assert_int_equal(len, 32 + (got * 7) % 1300);
            assert_int_equal(p[0], (uint8_t)got);
            assert_int_equal(p[len - 1], (uint8_t)got);
            got++;
        }
        wg_frame_decoder_compact(&d);
    }
    assert_int_equal(got, N);
}

static void test_bad_crc(void **state)
{
    for (size_t flip = 2; flip < sizeof(initiation_frame); flip++) {
        uint8_t bad[154];
        struct wg_frame_decoder d;
        uint8_t *p;
        uint32_t len;

        memcpy(bad, initiation_frame, sizeof(bad));
        bad[flip] ^= 0x01;
        wg_frame_decoder_init(&d, dbuf, sizeof(dbuf), true);
        wg_frame_decoder_feed(&d, check_frame, sizeof(check_frame));   /* good first */
        wg_frame_decoder_feed(&d, bad, sizeof(bad));
        assert_int_equal(wg_frame_decoder_next(&d, &p, &len), 1);
        assert_int_equal(wg_frame_decoder_next(&d, &p, &len), -EBADMSG);
    }
}

static void test_sizes(void **state)
{
    static uint8_t big[70000], out[70000];
    struct wg_frame_decoder d;
    uint8_t *p;
    uint32_t len;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 13);
    /* sender limit 65530 */
    assert_int_equal(wg_frame_encode(out, sizeof(out), big, 65530, true), 65536);
    assert_int_equal(wg_frame_encode(out, sizeof(out), big, 65531, true), -EMSGSIZE);
    assert_int_equal(wg_frame_encode(out, sizeof(out), big, 65535, false), -EMSGSIZE);
    uint8_t hdr[6];
    assert_int_equal(wg_frame_encode_hdr(hdr, big, 70000, true), -EMSGSIZE);
    /* a 65535-byte frame from a peer is accepted, with a minimal buffer */
    uint32_t crc = 0;
    {
        /* build by hand: the encoder refuses it */
        crc = (uint32_t)crc32(0, big, 65535);
    }
    out[0] = 0xff; out[1] = 0xff;
    out[2] = (uint8_t)crc; out[3] = (uint8_t)(crc >> 8); out[4] = (uint8_t)(crc >> 16); out[5] = (uint8_t)(crc >> 24);
    memcpy(out + 6, big, 65535);
    wg_frame_decoder_init(&d, dbuf, WG_FRAME_DECODER_MIN, true);
    assert_int_equal(wg_frame_decoder_feed(&d, out, 65541), 65541);
    assert_int_equal(wg_frame_decoder_next(&d, &p, &len), 1);
    assert_int_equal(len, 65535);
    assert_memory_equal(p, big, 65535);
    /* an empty frame is legal framing (the engine drops it) */
    wg_frame_decoder_compact(&d);
    uint8_t empty[6] = { 0, 0, 0, 0, 0, 0 };
    wg_frame_decoder_feed(&d, empty, 6);
    assert_int_equal(wg_frame_decoder_next(&d, &p, &len), 1);
    assert_int_equal(len, 0);
}

static void test_eof_mid_frame(void **state)
{
    for (size_t cut = 1; cut < sizeof(initiation_frame); cut++) {
        struct wg_frame_decoder d;
        uint8_t *p;
        uint32_t len;

        wg_frame_decoder_init(&d, dbuf, sizeof(dbuf), true);
        wg_frame_decoder_feed(&d, initiation_frame, cut);
        assert_int_equal(wg_frame_decoder_next(&d, &p, &len), 0);
        /* the stream ends here: the transport sees pending bytes = error */
        assert_int_equal(wg_frame_decoder_pending(&d), cut);
    }
}

static void test_no_crc_mode(void **state)
{
    uint8_t out[200];
    struct wg_frame_decoder d;
    uint8_t *p;
    uint32_t len;

    assert_int_equal(wg_frame_encode(out, sizeof(out), initiation_frame + 6, 148, false), 150);
    assert_int_equal(out[0], 0x94);
    assert_int_equal(out[1], 0x00);
    assert_memory_equal(out + 2, initiation_frame + 6, 148);
    wg_frame_decoder_init(&d, dbuf, sizeof(dbuf), false);
    for (size_t i = 0; i < 150; i++) {
        wg_frame_decoder_feed(&d, out + i, 1);
        assert_int_equal(wg_frame_decoder_next(&d, &p, &len), i == 149);
    }
    assert_int_equal(len, 148);
    assert_memory_equal(p, initiation_frame + 6, 148);
    /* a CRC frame read in no-CRC mode is not silently accepted as the same
     * message: the CRC bytes become payload (modes are never guessed) */
    wg_frame_decoder_init(&d, dbuf, sizeof(dbuf), false);
    wg_frame_decoder_feed(&d, initiation_frame, sizeof(initiation_frame));
    assert_int_equal(wg_frame_decoder_next(&d, &p, &len), 1);
    assert_int_equal(len, 148);
    assert_memory_not_equal(p, initiation_frame + 6, 148);
}

static void test_garbage_never_overruns(void **state)
{
    /* random bytes: every outcome is a frame inside the buffer, "need
     * more", or -EBADMSG; never a pointer outside what was fed */
    srand(1234);
    for (int round = 0; round < 200; round++) {
        struct wg_frame_decoder d;
        uint8_t junk[3000], *p;
        uint32_t len;
        int r;

        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (uint8_t)rand();
        if (round & 1)
            junk[0] = 4, junk[1] = 0;       /* small lengths too */
        wg_frame_decoder_init(&d, dbuf, sizeof(dbuf), round % 3 != 0);
        wg_frame_decoder_feed(&d, junk, sizeof(junk));
        while ((r = wg_frame_decoder_next(&d, &p, &len)) == 1)
            assert_true(p >= dbuf && p + len <= dbuf + sizeof(junk));
        assert_true(r == 0 || r == -EBADMSG);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_fixture),
        cmocka_unit_test(test_decode_fixture),
        cmocka_unit_test(test_split_every_boundary),
        cmocka_unit_test(test_byte_at_a_time),
        cmocka_unit_test(test_many_frames_one_buffer),
        cmocka_unit_test(test_bad_crc),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_eof_mid_frame),
        cmocka_unit_test(test_no_crc_mode),
        cmocka_unit_test(test_garbage_never_overruns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
