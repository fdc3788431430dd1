/* tun_gso.c - see tun_gso.h. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "wgcore/tun_gso.h"

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Sum of big-endian 16-bit words (odd tail padded with zero), unfolded.
 * The one's-complement sum commutes with byte swapping (RFC 1071), so the
 * loop adds native 32-bit words into a 64-bit accumulator (no carries to
 * handle for 16 GiB) and swaps once at the end. */
uint32_t wg_csum_add(uint32_t sum, const uint8_t *data, uint32_t len)
{
    uint64_t s = 0;
    uint32_t i = 0, w;
    uint16_t h;

    for (; i + 16 <= len; i += 16) {
        uint32_t a, b, c, d;

        memcpy(&a, data + i, 4);
        memcpy(&b, data + i + 4, 4);
        memcpy(&c, data + i + 8, 4);
        memcpy(&d, data + i + 12, 4);
        s += (uint64_t)a + b + c + d;
    }
    for (; i + 4 <= len; i += 4) {
        memcpy(&w, data + i, 4);
        s += w;
    }
    if (i + 2 <= len) {
        memcpy(&h, data + i, 2);
        s += h;
        i += 2;
    }
    if (i < len) {
        uint8_t tail[2] = { data[i], 0 };

        memcpy(&h, tail, 2);
        s += h;
    }
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    h = (uint16_t)s;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    h = (uint16_t)(h << 8 | h >> 8);
#endif
    s = (uint64_t)sum + h;
    return (uint32_t)((s & 0xffffffffu) + (s >> 32));
}

uint16_t wg_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

int wg_gso_csum_partial(uint8_t *pkt, uint32_t len, uint32_t csum_start, uint32_t csum_offset)
{
    uint16_t c;

    if (csum_start >= len || csum_offset > len - csum_start || len - csum_start - csum_offset < 2)
        return -EINVAL;
    c = wg_csum_fold(wg_csum_add(0, pkt + csum_start, len - csum_start));
    /* UDP uses 0 for "no checksum": a computed 0 is sent as 0xffff. */
    if (!c && csum_offset == 6)
        c = 0xffff;
    wr16(pkt + csum_start + csum_offset, c);
    return 0;
}

int wg_gso_begin(struct wg_gso *g, const struct virtio_net_hdr *h, const uint8_t *pkt,
                 uint32_t len)
{
    uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
    uint32_t l4, thl;

    g->active = false;
    if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6)
        return -EOPNOTSUPP;
    if (len > WG_PKT_CAP - WG_PKT_HEADROOM || len < 20)
        return -EINVAL;
    g->v6 = type == VIRTIO_NET_HDR_GSO_TCPV6;
    if (!g->v6) {
        if (pkt[0] >> 4 != 4 || pkt[9] != IPPROTO_TCP)
            return -EINVAL;
        l4 = (pkt[0] & 0xf) * 4u;
        if (l4 < 20 || rd16(pkt + 2) != len)
            return -EINVAL;
    } else {
        /* Extension headers never come with TSO from Linux's TCP. */
        if (len < 40 || pkt[0] >> 4 != 6 || pkt[6] != IPPROTO_TCP ||
            rd16(pkt + 4) + 40u != len)
            return -EINVAL;
        l4 = 40;
    }
    if (len < l4 + 20)
        return -EINVAL;
    thl = (pkt[l4 + 12] >> 4) * 4u;
    if (thl < 20 || len < l4 + thl)
        return -EINVAL;
    g->mss = le16toh(h->gso_size);
    if (!g->mss)
        return -EINVAL;
    g->l4_off = l4;
    g->hdr_len = l4 + thl;
    g->len = len;
    g->off = 0;
    memcpy(g->buf, pkt, len);
    g->active = true;
    return 0;
}

unsigned wg_gso_emit(struct wg_gso *g, struct wg_pkt *pkts, unsigned n)
{
    const uint8_t *src = g->buf;
    uint32_t payload = g->len - g->hdr_len;
    unsigned k = 0;

    while (g->active && k < n) {
        struct wg_pkt *p = &pkts[k];
        uint8_t *d = p->head + WG_PKT_HEADROOM;
        uint32_t seg = payload - g->off < g->mss ? payload - g->off : g->mss;
        bool first = g->off == 0, last = g->off + seg >= payload;
        uint8_t *tcp = d + g->l4_off;
        uint32_t tcplen = g->hdr_len - g->l4_off + seg, sum;

        memcpy(d, src, g->hdr_len);
        memcpy(d + g->hdr_len, src + g->hdr_len + g->off, seg);
        if (!g->v6) {
            uint16_t id = rd16(src + 4);

            wr16(d + 2, (uint16_t)(g->hdr_len + seg));
            wr16(d + 4, (uint16_t)(id + g->off / g->mss));
            wr16(d + 10, 0);
            wr16(d + 10, wg_csum_fold(wg_csum_add(0, d, g->l4_off)));
            /* pseudo header: saddr, daddr, proto, TCP length */
            sum = wg_csum_add(0, d + 12, 8);
        } else {
            wr16(d + 4, (uint16_t)tcplen);
            sum = wg_csum_add(0, d + 8, 32);
        }
        sum += IPPROTO_TCP + tcplen;
        wr32(tcp + 4, rd32(src + g->l4_off + 4) + g->off);        /* seq */
        if (!last)
            tcp[13] &= (uint8_t)~0x09;              /* FIN, PSH: last only */
        if (!first)
            tcp[13] &= (uint8_t)~0x80;              /* CWR: first only */
        wr16(tcp + 16, 0);
        wr16(tcp + 16, wg_csum_fold(wg_csum_add(sum, tcp, tcplen)));

        p->off = WG_PKT_HEADROOM;
        p->len = g->hdr_len + seg;
        p->verdict = WG_PKT_DROP;
        memset(&p->ep, 0, sizeof(p->ep));
        p->peer = p->keypair = NULL;
        p->counter = 0;
        k++;
        g->off += seg;
        if (g->off >= payload)
            g->active = false;
    }
    return k;
}

/* ---- GRO (write direction) ---- */

#define GRO_FLOWS 8
#define TCP_ACK 0x10
#define TCP_PSH 0x08

struct gro_flow {
    struct wg_pkt *head;
    unsigned idx;           /* head's index in the batch */
    uint32_t iphl, thl;
    uint32_t mss;           /* payload of the first segment */
    uint32_t last;          /* payload of the last appended segment */
    uint32_t next_seq;
    unsigned count;
    bool v6, closed;
};

/* Is this a TCP segment we may coalesce?  Fills iphl/thl/payload. */
static bool gro_candidate(const struct wg_pkt *p, bool *v6, uint32_t *iphl, uint32_t *thl,
                          uint32_t *payload)
{
    const uint8_t *d = wg_pkt_data(p);
    uint32_t len = p->len;

    if (p->verdict != WG_PKT_DELIVER || len < 40)
        return false;
    if (d[0] >> 4 == 4) {
        /* No options, not a fragment (DF is fine). */
        if (d[0] != 0x45 || d[9] != IPPROTO_TCP || rd16(d + 2) != len ||
            (rd16(d + 6) & ~0x4000))
            return false;
        *v6 = false;
        *iphl = 20;
    } else if (d[0] >> 4 == 6) {
        if (len < 60 || d[6] != IPPROTO_TCP || rd16(d + 4) + 40u != len)
            return false;
        *v6 = true;
        *iphl = 40;
    } else {
        return false;
    }
    *thl = (d[*iphl + 12] >> 4) * 4u;
    if (*thl < 20 || *iphl + *thl >= len)
        return false;                       /* pure ACKs are not merged */
    /* Only ACK, optionally PSH: SYN/FIN/RST/URG/ECE/CWR end a flow. */
    if ((d[*iphl + 13] & (uint8_t)~TCP_PSH) != TCP_ACK)
        return false;
    *payload = len - *iphl - *thl;
    return true;
}

/* Can segment p (same shape) be appended to flow f? */
static bool gro_follows(const struct gro_flow *f, const struct wg_pkt *p, bool v6, uint32_t iphl,
                        uint32_t thl, uint32_t payload)
{
    const uint8_t *h = wg_pkt_data(f->head), *d = wg_pkt_data(p);
    const uint8_t *ht = h + iphl, *dt = d + iphl;

    if (f->closed || f->v6 != v6 || f->thl != thl || f->last != f->mss || payload > f->mss)
        return false;
    if (f->head->len + payload > 65535 || rd32(dt + 4) != f->next_seq)
        return false;
    if (!v6) {
        /* tos, ttl, protocol; addresses */
        if (h[1] != d[1] || h[8] != d[8] || memcmp(h + 12, d + 12, 8))
            return false;
    } else {
        /* version/class/flow label, hop limit; addresses */
        if (memcmp(h, d, 4) || h[7] != d[7] || memcmp(h + 8, d + 8, 32))
            return false;
    }
    /* ports; ack; doff; window; urgent; options must match exactly */
    return !memcmp(ht, dt, 4) && !memcmp(ht + 8, dt + 8, 5) && !memcmp(ht + 14, dt + 14, 2) &&
           !memcmp(ht + 18, dt + 18, thl - 18);
}

static struct gro_flow *gro_lookup(struct gro_flow *flows, unsigned nf, const struct wg_pkt *p,
                                   bool v6, uint32_t iphl)
{
    const uint8_t *d = wg_pkt_data(p);

    for (unsigned i = 0; i < nf; i++) {
        const uint8_t *h = wg_pkt_data(flows[i].head);

        if (flows[i].v6 != v6)
            continue;
        if (!memcmp(h + iphl, d + iphl, 4) &&
            (v6 ? !memcmp(h + 8, d + 8, 32) : !memcmp(h + 12, d + 12, 8)))
            return &flows[i];
    }
    return NULL;
}

static void gro_finish(const struct gro_flow *f, struct virtio_net_hdr *hdr)
{
    uint8_t *d = wg_pkt_data(f->head), *t = d + f->iphl;
    uint32_t tcplen = f->head->len - f->iphl, sum;

    if (f->count < 2)
        return;
    if (!f->v6) {
        wr16(d + 2, (uint16_t)f->head->len);
        wr16(d + 10, 0);
        wr16(d + 10, wg_csum_fold(wg_csum_add(0, d, 20)));
        sum = wg_csum_add(0, d + 12, 8);
    } else {
        wr16(d + 4, (uint16_t)tcplen);
        sum = wg_csum_add(0, d + 8, 32);
    }
    sum += IPPROTO_TCP + tcplen;
    /* CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum. */
    wr16(t + 16, (uint16_t)~wg_csum_fold(sum));
    memset(hdr, 0, sizeof(*hdr));
    hdr->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    hdr->gso_type = f->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
    hdr->gso_size = htole16((uint16_t)f->mss);
    hdr->hdr_len = htole16((uint16_t)(f->iphl + f->thl));
    hdr->csum_start = htole16((uint16_t)f->iphl);
    hdr->csum_offset = htole16(16);
}

void wg_gro_batch(struct wg_pkt *pkts, unsigned n, struct virtio_net_hdr *hdrs, bool *absorbed)
{
    struct gro_flow flows[GRO_FLOWS];
    unsigned nf = 0;

    for (unsigned i = 0; i < n; i++) {
        struct wg_pkt *p = &pkts[i];
        struct gro_flow *f;
        uint32_t iphl, thl, payload;
        bool v6;

        memset(&hdrs[i], 0, sizeof(hdrs[i]));
        absorbed[i] = false;
        if (!gro_candidate(p, &v6, &iphl, &thl, &payload))
            continue;
        f = gro_lookup(flows, nf, p, v6, iphl);
        if (f && gro_follows(f, p, v6, iphl, thl, payload) &&
            f->head->off + f->head->len + payload <= WG_PKT_CAP) {
            memcpy(wg_pkt_data(f->head) + f->head->len, wg_pkt_data(p) + iphl + thl, payload);
            f->head->len += payload;
            f->next_seq += payload;
            f->last = payload;
            f->count++;
            if (wg_pkt_data(p)[iphl + 13] & TCP_PSH) {
                wg_pkt_data(f->head)[iphl + 13] |= TCP_PSH;
                f->closed = true;           /* the kernel's GRO flushes on PSH */
            }
            absorbed[i] = true;
            continue;
        }
        /* A new head: replaces the flow's old head, or takes a free slot
         * (the oldest one is finished when the table is full). */
        if (f) {
            gro_finish(f, &hdrs[f->idx]);
        } else if (nf < GRO_FLOWS) {
            f = &flows[nf++];
        } else {
            f = &flows[0];
            gro_finish(f, &hdrs[f->idx]);
            memmove(&flows[0], &flows[1], (GRO_FLOWS - 1) * sizeof(flows[0]));
            f = &flows[GRO_FLOWS - 1];
        }
        f->head = p;
        f->idx = i;
        f->iphl = iphl;
        f->thl = thl;
        f->mss = f->last = payload;
        f->next_seq = rd32(wg_pkt_data(p) + iphl + 4) + payload;
        f->count = 1;
        f->v6 = v6;
        f->closed = (wg_pkt_data(p)[iphl + 13] & TCP_PSH) != 0;
    }
    for (unsigned i = 0; i < nf; i++)
        gro_finish(&flows[i], &hdrs[flows[i].idx]);
}
