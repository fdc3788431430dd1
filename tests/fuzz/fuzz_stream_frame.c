/* fuzz_stream_frame.c - libFuzzer target for the stream framing
 * (stream_frame.c): reassembly of frames from a byte stream cut anywhere.
 *
 * Input: FLAGS NSPLITS SPLITS[NSPLITS] STREAM... (at most MAX_STREAM bytes)
 *   FLAGS bit 0: CRC framing (else the <= v0.2.3 length-only framing)
 *   FLAGS bit 1: grow the buffer on demand from 4 KiB, as the stream
 *                transport does for a connection not yet authenticated
 *                (wg_frame_decoder_need + rebase), else one fixed buffer of
 *                WG_FRAME_DECODER_MIN bytes
 *   SPLITS: chunk sizes (byte * 8 + 1), cycled over: how the stream arrives.
 *
 * Properties: the frames decoded chunk by chunk are exactly those decoded
 * from the whole stream at once (same payloads, same order), a CRC error is
 * seen at the same frame, and what is left pending is the same.  Every
 * frame decoded re-encodes to its own bytes (encode/decode round trip).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wgcore/stream_frame.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define MAX_STREAM 200000u
#define MAX_FRAMES (MAX_STREAM / WG_FRAME_HDR_NOCRC + 1)   /* never reached */
#define GROW_FIRST 4096u

struct frame { size_t off, len; };     /* payload position in the stream */

/* Reference: the whole stream in one buffer.  Returns the number of frames,
 * *bad: a CRC error after them, *pending: bytes left undecoded. */
static size_t decode_whole(const uint8_t *s, size_t n, bool crc, struct frame *out,
                           bool *bad, size_t *pending)
{
    uint8_t *buf = malloc(n ? n : 1);
    struct wg_frame_decoder d;
    uint8_t *payload;
    uint32_t len;
    size_t k = 0;
    int r;

    CHECK(buf);
    memcpy(buf, s, n);
    wg_frame_decoder_init(&d, buf, n, crc);
    d.end = n;
    while ((r = wg_frame_decoder_next(&d, &payload, &len)) == 1) {
        CHECK(k < MAX_FRAMES);
        out[k].off = (size_t)(payload - buf);
        out[k].len = len;
        k++;
    }
    *bad = r == -EBADMSG;
    *pending = wg_frame_decoder_pending(&d);
    free(buf);
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct frame ref[MAX_FRAMES];
    bool crc, grow, bad_ref, bad = false;
    size_t nsplits, n, nref, pending_ref, pos = 0, k = 0, turn = 0;
    const uint8_t *splits, *s;
    struct wg_frame_decoder d;
    uint8_t *buf;
    size_t cap;

    if (size < 2 || size > MAX_STREAM)
        return 0;
    crc = data[0] & 1;
    grow = data[0] & 2;
    nsplits = data[1] % 33;
    if (size < 2 + nsplits)
        return 0;
    splits = data + 2;
    s = data + 2 + nsplits;
    n = size - 2 - nsplits;
    nref = decode_whole(s, n, crc, ref, &bad_ref, &pending_ref);

    cap = grow ? GROW_FIRST : WG_FRAME_DECODER_MIN;
    buf = malloc(cap);
    CHECK(buf);
    wg_frame_decoder_init(&d, buf, cap, crc);
    while (pos < n && !bad) {
        size_t chunk = nsplits ? (size_t)splits[turn++ % nsplits] * 8 + 1 : n - pos;
        uint8_t *payload;
        uint32_t len;
        int r;

        if (chunk > n - pos)
            chunk = n - pos;
        if (grow && wg_frame_decoder_need(&d) > d.cap) {
            /* as rbuf_ready: only as large as the frame being assembled */
            size_t want = wg_frame_decoder_need(&d);
            uint8_t *nb = realloc(d.buf, want);

            CHECK(nb);
            wg_frame_decoder_rebase(&d, nb, want);
        }
        {
            size_t room;

            (void)wg_frame_decoder_space(&d, &room);
            CHECK(room > 0);    /* the decoder always has room after compact */
            if (chunk > room)
                chunk = room;
        }
        CHECK(wg_frame_decoder_feed(&d, s + pos, chunk) == chunk);
        pos += chunk;
        while ((r = wg_frame_decoder_next(&d, &payload, &len)) == 1) {
            uint8_t enc[WG_FRAME_HDR_CRC + WG_FRAME_MAX_RECV];
            int e;

            CHECK(k < nref);
            CHECK(len == ref[k].len && !memcmp(payload, s + ref[k].off, len));
            /* round trip: the frame's bytes in the stream are its encoding */
            e = wg_frame_encode(enc, sizeof(enc), payload, len, crc);
            if (len <= WG_FRAME_MAX_SEND) {
                CHECK(e == (int)(wg_frame_hdr_len(crc) + len));
                CHECK(!memcmp(enc, s + ref[k].off - wg_frame_hdr_len(crc), (size_t)e));
            } else {
                CHECK(e == -EMSGSIZE);
            }
            k++;
        }
        if (r == -EBADMSG)
            bad = true;
        wg_frame_decoder_compact(&d);
    }
    CHECK(k == nref);
    CHECK(bad == bad_ref);
    if (!bad)
        CHECK(wg_frame_decoder_pending(&d) == pending_ref);
    free(d.buf);
    return 0;
}
