/* pkt.h - the packet buffer every stage of the data path passes along: the
 * TUN reads into it, the protocol seals/opens it in place, the crypto
 * workers take slices of them, the transport sends it.  Only the type: no
 * stage depends on another through it.
 */
#ifndef WGVSOCK_PKT_H
#define WGVSOCK_PKT_H

#include <stdbool.h>
#include <stdint.h>

#include "wgcore/sockaddr.h"

/* A packet buffer.  Plaintext IP packets are read into head + WG_PKT_HEADROOM
 * so sealing in place can prepend the 16-byte transport header and append
 * padding and the 16-byte tag without copying. */
#define WG_PKT_HEADROOM 16u
#define WG_PKT_TAILROOM 32u              /* padding (<16) + Poly1305 tag (16) */
#define WG_PKT_CAP (WG_PKT_HEADROOM + 65535u + WG_PKT_TAILROOM)

enum wg_pkt_verdict {
    WG_PKT_DROP = 0,        /* nothing to do with it (dropped, counted) */
    WG_PKT_CONSUMED,        /* taken by the protocol (handshake, staged) */
    WG_PKT_SEAL,            /* after tx_prepare: seal it */
    WG_PKT_OPEN,            /* after rx_prepare: open it */
    WG_PKT_SEND,            /* after tx_finish: send data..len to ep */
    WG_PKT_DELIVER,         /* after rx_finish: write data..len to the TUN */
};

struct wg_pkt {
    uint8_t *head;                  /* buffer start (WG_PKT_CAP bytes) */
    uint32_t off;                   /* payload starts at head + off */
    uint32_t len;                   /* payload length */
    struct wg_sockaddr ep;          /* wire destination (tx) / source (rx) */
    enum wg_pkt_verdict verdict;
    bool authenticated;             /* rx: a handshake consumed or data opened and
                                     * accepted (for the transport's trust) */
    /* private to the protocol between the stages */
    void *peer;
    void *keypair;
    uint64_t counter;
};

static inline uint8_t *wg_pkt_data(const struct wg_pkt *p) { return p->head + p->off; }

#endif
