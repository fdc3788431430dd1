/* stream_frame.c - length + CRC-32 framing of WireGuard messages on a stream.
 *
 * The CRC is not security (WireGuard authenticates every message); it is
 * what wireguard-go-vsock puts on the wire, and it catches a desynchronised
 * stream early instead of feeding the engine garbage lengths.
 *
 * The CRC comes from libdeflate (PCLMUL/ARM-CRC where the CPU has them, a
 * portable slicing version elsewhere): zlib's crc32 was ~10 % of each side
 * of a stream tunnel.  bench-crc32 compares it with zlib and isa-l.
 */
#include <errno.h>
#include <string.h>
#include <libdeflate.h>

#include "wgcore/stream_frame.h"

static uint32_t frame_crc(const uint8_t *p, size_t len)
{
    return libdeflate_crc32(0, p, len);
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int wg_frame_encode_hdr(uint8_t hdr[WG_FRAME_HDR_CRC], const uint8_t *payload, size_t len, bool crc)
{
    if (len > WG_FRAME_MAX_SEND)
        return -EMSGSIZE;
    put_le16(hdr, (uint16_t)len);
    if (crc)
        put_le32(hdr + 2, frame_crc(payload, len));
    return (int)wg_frame_hdr_len(crc);
}

int wg_frame_encode(uint8_t *out, size_t cap, const uint8_t *payload, size_t len, bool crc)
{
    size_t hl = wg_frame_hdr_len(crc);

    if (len > WG_FRAME_MAX_SEND)
        return -EMSGSIZE;
    if (cap < hl + len)
        return -ENOBUFS;
    wg_frame_encode_hdr(out, payload, len, crc);
    memmove(out + hl, payload, len);
    return (int)(hl + len);
}

void wg_frame_decoder_init(struct wg_frame_decoder *d, uint8_t *buf, size_t cap, bool crc)
{
    d->buf = buf;
    d->cap = cap;
    d->start = d->end = 0;
    d->crc = crc;
}

size_t wg_frame_decoder_feed(struct wg_frame_decoder *d, const uint8_t *data, size_t len)
{
    size_t room;
    uint8_t *p = wg_frame_decoder_space(d, &room);

    if (len > room)
        len = room;
    memcpy(p, data, len);
    wg_frame_decoder_commit(d, len);
    return len;
}

int wg_frame_decoder_next(struct wg_frame_decoder *d, uint8_t **payload, uint32_t *len)
{
    size_t hl = wg_frame_hdr_len(d->crc), avail = d->end - d->start;
    uint8_t *p = d->buf + d->start;
    uint32_t n;

    if (avail < hl)
        return 0;
    n = (uint32_t)p[0] | (uint32_t)p[1] << 8;
    if (avail < hl + n)
        return 0;
    if (d->crc && get_le32(p + 2) != frame_crc(p + hl, n))
        return -EBADMSG;
    *payload = p + hl;
    *len = n;
    d->start += hl + n;
    return 1;
}

void wg_frame_decoder_compact(struct wg_frame_decoder *d)
{
    size_t left = d->end - d->start;

    if (d->start == 0)
        return;
    if (left)
        memmove(d->buf, d->buf + d->start, left);
    d->start = 0;
    d->end = left;
}
