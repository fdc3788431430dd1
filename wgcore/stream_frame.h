/* stream_frame.h - WireGuard messages on a byte stream (TCP, AF_VSOCK).
 *
 * Wire format of wireguard-go-vsock v0.2.4+, which deployed enclaves speak:
 *
 *     u16 LE payload length | u32 LE CRC-32 (zlib/IEEE) of payload | payload
 *
 * and nothing else on the stream: no hello, no version, no keepalive.  Peers
 * <= v0.2.3 send "u16 LE length | payload" without the CRC; that mode is
 * chosen explicitly (never guessed from the bytes).
 *
 * We send at most WG_FRAME_MAX_SEND payload bytes and accept up to 65535.
 * The decoder works over a caller-owned buffer that the stream is read
 * into: complete frames are returned in place (no copy), an incomplete
 * tail stays for the next read, however the stream was split.
 */
#ifndef WGVSOCK_STREAM_FRAME_H
#define WGVSOCK_STREAM_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WG_FRAME_HDR_CRC 6u
#define WG_FRAME_HDR_NOCRC 2u
#define WG_FRAME_MAX_SEND 65530u
#define WG_FRAME_MAX_RECV 65535u

static inline size_t wg_frame_hdr_len(bool crc) { return crc ? WG_FRAME_HDR_CRC : WG_FRAME_HDR_NOCRC; }

/* Writes header + payload to out.  Returns the frame length, or -EMSGSIZE
 * (payload > WG_FRAME_MAX_SEND) / -ENOBUFS (cap too small). */
int wg_frame_encode(uint8_t *out, size_t cap, const uint8_t *payload, size_t len, bool crc);
/* Writes only the header (for writev-style framing of a payload in place). */
int wg_frame_encode_hdr(uint8_t hdr[WG_FRAME_HDR_CRC], const uint8_t *payload, size_t len, bool crc);

/* Incremental decoder state.  buf must hold at least one maximal frame
 * (WG_FRAME_DECODER_MIN); larger buffers mean more frames per read. */
#define WG_FRAME_DECODER_MIN (WG_FRAME_HDR_CRC + WG_FRAME_MAX_RECV)

struct wg_frame_decoder {
    uint8_t *buf;
    size_t cap;
    size_t start;       /* first byte not yet decoded */
    size_t end;         /* one past the last byte read */
    bool crc;
};

void wg_frame_decoder_init(struct wg_frame_decoder *d, uint8_t *buf, size_t cap, bool crc);
/* Where the next read may go, and how much room is there (never 0 after
 * wg_frame_decoder_compact). */
static inline uint8_t *wg_frame_decoder_space(struct wg_frame_decoder *d, size_t *room)
{
    *room = d->cap - d->end;
    return d->buf + d->end;
}
static inline void wg_frame_decoder_commit(struct wg_frame_decoder *d, size_t n) { d->end += n; }
/* Copies in as much of data as fits; returns the number of bytes taken. */
size_t wg_frame_decoder_feed(struct wg_frame_decoder *d, const uint8_t *data, size_t len);
/* Next complete frame: 1 and *payload, *len (pointing into buf, valid until
 * the next compact), 0 if more bytes are needed, -EBADMSG on a CRC
 * mismatch (the stream is unusable from here on: close it). */
int wg_frame_decoder_next(struct wg_frame_decoder *d, uint8_t **payload, uint32_t *len);
/* Moves the undecoded tail to the front of buf; invalidates payload
 * pointers returned so far. */
void wg_frame_decoder_compact(struct wg_frame_decoder *d);
/* How large buf must be for the frame being assembled: the header until it
 * is in, then header + payload.  (Lets a caller grow buf only as needed.) */
static inline size_t wg_frame_decoder_need(const struct wg_frame_decoder *d)
{
    size_t hl = d->crc ? WG_FRAME_HDR_CRC : WG_FRAME_HDR_NOCRC;
    const uint8_t *p = d->buf + d->start;

    if (d->end - d->start < hl)
        return d->start + hl;
    return d->start + hl + ((size_t)p[0] | (size_t)p[1] << 8);
}
/* The caller moved (or grew) buf to nbuf of ncap bytes, contents kept. */
static inline void wg_frame_decoder_rebase(struct wg_frame_decoder *d, uint8_t *nbuf, size_t ncap)
{
    d->buf = nbuf;
    d->cap = ncap;
}
/* Bytes of an incomplete frame held: nonzero at EOF = stream ended mid-frame. */
static inline size_t wg_frame_decoder_pending(const struct wg_frame_decoder *d) { return d->end - d->start; }

#endif
