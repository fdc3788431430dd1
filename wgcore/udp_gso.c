/* udp_gso.c - grouping messages for UDP_SEGMENT and splitting UDP_GRO
 * receives; no I/O (see udp_gso.h, used by transport_udp.c). */
#include "wgcore/udp_gso.h"

unsigned wg_udp_gso_run(const struct wg_msg *msgs, unsigned n, unsigned max_segs, size_t max_bytes)
{
    uint32_t size;
    size_t total;
    unsigned k;

    if (!n)
        return 0;
    size = msgs[0].len;
    total = size;
    for (k = 1; k < n && k < max_segs; k++) {
        const struct wg_msg *m = &msgs[k];

        if (m->len > size || !m->len || total + m->len > max_bytes ||
            !wg_sockaddr_equal(&m->ep, &msgs[0].ep))
            break;
        total += m->len;
        if (m->len < size)
            return k + 1;       /* a short segment can only be the last */
    }
    return k;
}

unsigned wg_udp_gro_split(const struct wg_sockaddr *from, uint8_t *data, size_t len, size_t gso_size,
                          size_t *off, struct wg_msg *out, unsigned cap)
{
    unsigned k = 0;

    if (!gso_size)
        gso_size = len;
    while (*off < len && k < cap) {
        size_t piece = len - *off < gso_size ? len - *off : gso_size;

        out[k].ep = *from;
        out[k].data = data + *off;
        out[k].len = (uint32_t)piece;
        *off += piece;
        k++;
    }
    return k;
}
