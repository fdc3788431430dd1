/* cbor_bounds.c - a pre-pass over untrusted CBOR with libcbor's streaming
 * decoder: one callback per item head, no allocation.  We keep a small
 * stack of "items still expected" per open container to know the depth and
 * where the top-level item ends. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <cbor.h>

#include "attest/cbor_bounds.h"

#define BOUNDS_STACK_MAX 64
#define LEFT_INDEFINITE UINT64_MAX

struct bounds {
    uint64_t left[BOUNDS_STACK_MAX + 1];  /* [0]: the top-level item */
    unsigned depth, max_depth;
    size_t remaining;                     /* input bytes not yet decoded */
    bool bad, done;
};

/* One item (scalar, string or a closed container) completed at this level. */
static void consume(struct bounds *b)
{
    for (;;) {
        if (b->left[b->depth] == LEFT_INDEFINITE)
            return;                        /* ends at its break */
        if (--b->left[b->depth] > 0)
            return;
        if (b->depth == 0) {
            b->done = true;
            return;
        }
        b->depth--;                        /* the container is complete */
    }
}

static void open_container(struct bounds *b, uint64_t items)
{
    if (items == 0) {
        consume(b);
        return;
    }
    if (b->depth >= b->max_depth || (items != LEFT_INDEFINITE && items > b->remaining)) {
        b->bad = true;
        return;
    }
    b->left[++b->depth] = items;
}

static void on_scalar(void *ctx) { consume(ctx); }
static void on_u8(void *ctx, uint8_t v) { (void)v; consume(ctx); }
static void on_u16(void *ctx, uint16_t v) { (void)v; consume(ctx); }
static void on_u32(void *ctx, uint32_t v) { (void)v; consume(ctx); }
static void on_u64(void *ctx, uint64_t v) { (void)v; consume(ctx); }
static void on_string(void *ctx, cbor_data d, size_t n) { (void)d; (void)n; consume(ctx); }
static void on_float(void *ctx, float v) { (void)v; consume(ctx); }
static void on_double(void *ctx, double v) { (void)v; consume(ctx); }
static void on_bool(void *ctx, bool v) { (void)v; consume(ctx); }
static void on_indef(void *ctx) { open_container(ctx, LEFT_INDEFINITE); }
static void on_array(void *ctx, size_t n) { open_container(ctx, n); }
static void on_map(void *ctx, size_t n)
{
    struct bounds *b = ctx;
    if (n > SIZE_MAX / 2) { b->bad = true; return; }
    open_container(b, (uint64_t)n * 2);
}
static void on_tag(void *ctx, uint64_t v) { (void)v; open_container(ctx, 1); }
static void on_break(void *ctx)
{
    struct bounds *b = ctx;
    if (b->depth == 0 || b->left[b->depth] != LEFT_INDEFINITE) {
        b->bad = true;
        return;
    }
    b->depth--;
    consume(b);
}

static const struct cbor_callbacks bounds_callbacks = {
    .uint8 = on_u8, .uint16 = on_u16, .uint32 = on_u32, .uint64 = on_u64,
    .negint8 = on_u8, .negint16 = on_u16, .negint32 = on_u32, .negint64 = on_u64,
    .byte_string = on_string, .byte_string_start = on_indef,
    .string = on_string, .string_start = on_indef,
    .array_start = on_array, .indef_array_start = on_indef,
    .map_start = on_map, .indef_map_start = on_indef,
    .tag = on_tag,
    .float2 = on_float, .float4 = on_float, .float8 = on_double,
    .undefined = on_scalar, .null = on_scalar, .boolean = on_bool,
    .indef_break = on_break,
};

int cbor_bounds_check(const uint8_t *buf, size_t len, unsigned max_depth)
{
    struct bounds b;
    size_t pos = 0;

    memset(&b, 0, sizeof(b));
    b.left[0] = 1;
    b.max_depth = max_depth < BOUNDS_STACK_MAX ? max_depth : BOUNDS_STACK_MAX;
    while (!b.done) {
        if (pos >= len)
            return -EBADMSG;               /* truncated */
        b.remaining = len - pos;
        struct cbor_decoder_result r = cbor_stream_decode(buf + pos, len - pos,
                                                          &bounds_callbacks, &b);
        if (r.status != CBOR_DECODER_FINISHED || r.read == 0 || b.bad)
            return -EBADMSG;
        pos += r.read;
    }
    return pos == len ? 0 : -EBADMSG;      /* nothing may follow the item */
}
