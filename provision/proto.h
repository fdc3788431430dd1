/* proto.h - the provisioning protocol's messages (docs/PROVISIONING.md).
 *
 * Every message: "WGVP" | u8 version (1) | u8 type | u16 0 | u32 BE body
 * length | body.  All integers big-endian, all sizes bounded; one offer and
 * one answer per connection.  Encoding and parsing are pure (no I/O), so
 * the fuzzer and the unit tests call exactly what the hub and the plugin
 * call.  Functions return 0 or -errno. */
#ifndef WGVSOCK_PROVISION_PROTO_H
#define WGVSOCK_PROVISION_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wgcore/wgcore.h"

#define PROV_VERSION        1
#define PROV_HDR_LEN        12
#define PROV_NONCE_LEN      32
#define PROV_SIG_LEN        64            /* Ed25519 */
#define PROV_PUBKEY_LEN     32            /* Ed25519 public key */
#define PROV_SECKEY_LEN     64            /* libsodium's Ed25519 secret key */
#define PROV_MAX_PEERS      1024
#define PROV_ADDR_LEN       18            /* u8 family (4|6) | u8 prefix | 16 bytes */
#define PROV_PEER_LEN       (WG_KEY_LEN + PROV_ADDR_LEN)
#define PROV_OFFER_FIXED    (8 + PROV_NONCE_LEN + 2 + PROV_ADDR_LEN + 2)
#define PROV_OFFER_MAX      (PROV_HDR_LEN + PROV_OFFER_FIXED + PROV_MAX_PEERS * PROV_PEER_LEN + PROV_SIG_LEN)
#define PROV_MESSAGE_MAX    255
#define PROV_DOC_MAX        16384         /* ATTEST_DOC_MAX */
#define PROV_ANSWER_MAX     (PROV_HDR_LEN + 2 + WG_KEY_LEN + 2 + PROV_DOC_MAX + 2 + PROV_MESSAGE_MAX)

enum prov_type { PROV_TYPE_OFFER = 1, PROV_TYPE_ANSWER = 2 };

enum prov_status {
    PROV_OK = 0,
    PROV_ERR_MALFORMED = 1,     /* not a valid offer */
    PROV_ERR_SIGNATURE = 2,     /* not signed by the provisioning key */
    PROV_ERR_STALE = 3,         /* serial not above the last applied one (replay) */
    PROV_ERR_APPLY = 4,         /* valid, but the hub could not apply it (nothing changed) */
    PROV_ERR_ATTEST = 5,        /* applied, but no attestation document could be made */
};

struct prov_peer {
    uint8_t public_key[WG_KEY_LEN];
    struct wg_allowedip ip;              /* the container's address (/32 or /128) */
};

struct prov_offer {
    uint64_t serial;                     /* strictly increasing per provisioning key */
    uint8_t nonce[PROV_NONCE_LEN];
    uint16_t mtu;
    struct wg_allowedip hub_address;     /* the hub's tunnel address and the subnet's prefix */
    size_t n_peers;
    struct prov_peer *peers;             /* malloc'ed by parse; the caller's for encode */
};

struct prov_answer {
    uint8_t status;                      /* enum prov_status */
    uint8_t hub_key[WG_KEY_LEN];         /* the hub's WireGuard public key */
    const uint8_t *doc;                  /* attestation document; into the message */
    size_t doc_len;                      /* 0: none (--attest none, or an error) */
    char message[PROV_MESSAGE_MAX + 1];  /* why, for an error; printable ASCII */
};

/* Header: the type and the body length, checked against the bound for
 * that type.  0, -EBADMSG (magic, version, reserved bits) or -EMSGSIZE. */
int prov_header_parse(const uint8_t hdr[PROV_HDR_LEN], uint8_t *type, size_t *body_len);

/* Encode an offer signed with sk; *out malloc'ed.  -EINVAL for an offer
 * that the hub would refuse (too many peers, bad family/prefix). */
int prov_offer_encode(const struct prov_offer *o, const uint8_t sk[PROV_SECKEY_LEN],
                      uint8_t **out, size_t *out_len);
/* Check the signature with pk FIRST, then parse.  0; -EPERM (signature),
 * -EBADMSG (malformed; *why says what), -EMSGSIZE; -ENOMEM. */
int prov_offer_parse(const uint8_t *msg, size_t len, const uint8_t pk[PROV_PUBKEY_LEN],
                     struct prov_offer *o, const char **why);
void prov_offer_free(struct prov_offer *o);

int prov_answer_encode(const struct prov_answer *a, uint8_t **out, size_t *out_len);
/* a->doc points into msg.  0 or -EBADMSG / -EMSGSIZE. */
int prov_answer_parse(const uint8_t *msg, size_t len, struct prov_answer *a);

const char *prov_status_text(uint8_t status);

#endif
