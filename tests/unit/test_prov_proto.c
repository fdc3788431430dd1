/* test_prov_proto.c - the provisioning messages (provision/proto.c): round
 * trips, and every way an offer must be refused -- signed by another key,
 * one byte changed, larger than the bound, counts that lie, addresses that
 * are not host routes, a key named twice -- and malformed answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include <sodium.h>

#include "provision/proto.h"

static uint8_t pk[PROV_PUBKEY_LEN], sk[PROV_SECKEY_LEN];
static uint8_t pk2[PROV_PUBKEY_LEN], sk2[PROV_SECKEY_LEN];

static int setup(void **state)
{
    if (sodium_init() < 0)
        return -1;
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(pk2, sk2);
    return 0;
}

static struct prov_peer peers[PROV_MAX_PEERS + 1];

static struct prov_offer sample(size_t n)
{
    struct prov_offer o = { .serial = 42, .mtu = 1420, .n_peers = n, .peers = peers };
    memset(o.nonce, 0xab, sizeof(o.nonce));
    o.hub_address = (struct wg_allowedip){ .family = AF_INET, .cidr = 24 };
    inet_pton(AF_INET, "10.77.0.1", o.hub_address.ip);
    for (size_t i = 0; i < n; i++) {
        memset(peers[i].public_key, 0, WG_KEY_LEN);
        memcpy(peers[i].public_key, &i, sizeof(i));
        peers[i].ip = (struct wg_allowedip){ .family = AF_INET, .cidr = 32 };
        uint32_t a = htonl(0x0a4d0002 + (uint32_t)i);
        memcpy(peers[i].ip.ip, &a, 4);
    }
    return o;
}

static int parse(const uint8_t *m, size_t len, const uint8_t *key)
{
    struct prov_offer got;
    const char *why = NULL;
    int rc = prov_offer_parse(m, len, key, &got, &why);
    if (rc == 0)
        prov_offer_free(&got);
    else
        assert_non_null(why);
    return rc;
}

static void test_offer_roundtrip(void **state)
{
    struct prov_offer o = sample(3), got;
    uint8_t *m;
    size_t len;
    const char *why;

    assert_int_equal(prov_offer_encode(&o, sk, &m, &len), 0);
    assert_int_equal(len, PROV_HDR_LEN + PROV_OFFER_FIXED + 3 * PROV_PEER_LEN + PROV_SIG_LEN);
    assert_int_equal(prov_offer_parse(m, len, pk, &got, &why), 0);
    assert_int_equal(got.serial, 42);
    assert_int_equal(got.mtu, 1420);
    assert_memory_equal(got.nonce, o.nonce, PROV_NONCE_LEN);
    assert_memory_equal(&got.hub_address, &o.hub_address, sizeof(o.hub_address));
    assert_int_equal(got.n_peers, 3);
    for (size_t i = 0; i < 3; i++)
        assert_memory_equal(&got.peers[i], &peers[i], sizeof(peers[i]));
    prov_offer_free(&got);
    free(m);

    o = sample(0);                                       /* no peers: a hub with none */
    assert_int_equal(prov_offer_encode(&o, sk, &m, &len), 0);
    assert_int_equal(parse(m, len, pk), 0);
    free(m);
    o = sample(PROV_MAX_PEERS);                          /* the largest legal offer */
    assert_int_equal(prov_offer_encode(&o, sk, &m, &len), 0);
    assert_int_equal(len, PROV_OFFER_MAX);
    assert_int_equal(parse(m, len, pk), 0);
    free(m);
}

static void test_offer_signature(void **state)
{
    struct prov_offer o = sample(2);
    uint8_t *m;
    size_t len;

    assert_int_equal(prov_offer_encode(&o, sk2, &m, &len), 0);   /* another key */
    assert_int_equal(parse(m, len, pk), -EPERM);
    assert_int_equal(parse(m, len, pk2), 0);
    free(m);
    assert_int_equal(prov_offer_encode(&o, sk, &m, &len), 0);
    for (size_t i = PROV_HDR_LEN; i < len; i++) {              /* any byte after the header */
        m[i] ^= 0x04;
        assert_int_equal(parse(m, len, pk), -EPERM);
        m[i] ^= 0x04;
    }
    for (size_t i = 0; i < PROV_HDR_LEN; i++) {                /* header: refused either way */
        m[i] ^= 0x04;
        assert_int_not_equal(parse(m, len, pk), 0);
        m[i] ^= 0x04;
    }
    assert_int_equal(parse(m, len - 1, pk), -EBADMSG);         /* truncated */
    assert_int_equal(parse(m, 5, pk), -EBADMSG);
    assert_int_equal(parse(m, 0, pk), -EBADMSG);
    free(m);
}

static void test_offer_bounds(void **state)
{
    struct prov_offer o = sample(PROV_MAX_PEERS + 1);
    uint8_t *m;
    size_t len;

    assert_int_equal(prov_offer_encode(&o, sk, &m, &len), -EINVAL);
    /* An offer one peer over the bound, signed correctly by hand: refused
     * for its size before anything else. */
    len = PROV_OFFER_MAX + PROV_PEER_LEN;
    m = calloc(1, len);
    memcpy(m, "WGVP\x01\x01\x00\x00", 8);
    uint32_t body = htonl((uint32_t)(len - PROV_HDR_LEN));
    memcpy(m + 8, &body, 4);
    m[PROV_HDR_LEN + 60] = (PROV_MAX_PEERS + 1) >> 8;
    m[PROV_HDR_LEN + 61] = (PROV_MAX_PEERS + 1) & 0xff;
    crypto_sign_detached(m + len - PROV_SIG_LEN, NULL, m, len - PROV_SIG_LEN, sk);
    assert_int_equal(parse(m, len, pk), -EMSGSIZE);
    uint8_t type;
    size_t body_len;
    assert_int_equal(prov_header_parse(m, &type, &body_len), -EMSGSIZE);
    free(m);
}

/* Re-sign a modified body so only the modification is under test. */
static void resign(uint8_t *m, size_t len)
{
    crypto_sign_detached(m + len - PROV_SIG_LEN, NULL, m, len - PROV_SIG_LEN, sk);
}

static void test_offer_fields(void **state)
{
    struct prov_offer o = sample(2);
    uint8_t *m;
    size_t len;
    uint8_t *body;

    assert_int_equal(prov_offer_encode(&o, sk, &m, &len), 0);
    body = m + PROV_HDR_LEN;
    body[61] = 3;                                    /* count says 3, bytes hold 2 */
    resign(m, len);
    assert_int_equal(parse(m, len, pk), -EBADMSG);
    body[61] = 2;
    body[40] = 0; body[41] = 10;                     /* MTU 10 */
    resign(m, len);
    assert_int_equal(parse(m, len, pk), -EBADMSG);
    body[40] = 1420 >> 8; body[41] = 1420 & 0xff;
    body[42] = 5;                                    /* family 5 */
    resign(m, len);
    assert_int_equal(parse(m, len, pk), -EBADMSG);
    body[42] = 4;
    body[43] = 33;                                   /* /33 */
    resign(m, len);
    assert_int_equal(parse(m, len, pk), -EBADMSG);
    body[43] = 24;
    uint8_t *peer1 = body + PROV_OFFER_FIXED + PROV_PEER_LEN;
    peer1[WG_KEY_LEN + 1] = 24;                      /* a peer with a /24: not a host */
    resign(m, len);
    assert_int_equal(parse(m, len, pk), -EBADMSG);
    peer1[WG_KEY_LEN + 1] = 32;
    memcpy(peer1, body + PROV_OFFER_FIXED, WG_KEY_LEN);   /* the same key twice */
    resign(m, len);
    assert_int_equal(parse(m, len, pk), -EBADMSG);
    free(m);
}

static void test_answer(void **state)
{
    static uint8_t doc[PROV_DOC_MAX + 1];
    struct prov_answer a = { .status = PROV_OK, .doc = doc, .doc_len = 100 }, got;
    uint8_t *m;
    size_t len;

    memset(a.hub_key, 7, WG_KEY_LEN);
    snprintf(a.message, sizeof(a.message), "fine");
    assert_int_equal(prov_answer_encode(&a, &m, &len), 0);
    assert_int_equal(prov_answer_parse(m, len, &got), 0);
    assert_int_equal(got.doc_len, 100);
    assert_ptr_equal(got.doc, m + PROV_HDR_LEN + 2 + WG_KEY_LEN + 2);
    assert_string_equal(got.message, "fine");
    assert_memory_equal(got.hub_key, a.hub_key, WG_KEY_LEN);
    assert_int_equal(prov_answer_parse(m, len - 1, &got), -EBADMSG);
    m[len - 1] = '\n';                               /* not printable */
    assert_int_equal(prov_answer_parse(m, len, &got), -EBADMSG);
    m[5] = PROV_TYPE_OFFER;                          /* an offer is not an answer */
    assert_int_not_equal(prov_answer_parse(m, len, &got), 0);
    free(m);
    a.doc_len = PROV_DOC_MAX + 1;
    assert_int_equal(prov_answer_encode(&a, &m, &len), -EINVAL);
    a.doc_len = PROV_DOC_MAX;
    assert_int_equal(prov_answer_encode(&a, &m, &len), 0);
    assert_int_equal(prov_answer_parse(m, len, &got), 0);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offer_roundtrip),
        cmocka_unit_test(test_offer_signature),
        cmocka_unit_test(test_offer_bounds),
        cmocka_unit_test(test_offer_fields),
        cmocka_unit_test(test_answer),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
