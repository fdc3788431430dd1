/* fuzz_prov_offer.c - libFuzzer target for the provisioning offer parser
 * (provision/proto.c), what the hub reads from anyone who can reach its
 * provisioning port, and for the answer parser (what the plugin reads).
 *
 * The input is used three ways:
 *   1. as it is: an offer from someone without the key must be refused
 *      (never 0), the struct left empty;
 *   2. with a valid signature by a fixed test key appended: exercises the
 *      body parser behind the signature check; an accepted offer must be
 *      sane (counts, families, host routes, MTU) and re-encode to the very
 *      same bytes;
 *   3. as an answer: accepted ones have doc inside the buffer and a
 *      printable message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <sodium.h>

#include "provision/proto.h"
#include "wgcore/tun.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static uint8_t pk[PROV_PUBKEY_LEN], sk[PROV_SECKEY_LEN];

static void keys(void)
{
    static int done;
    uint8_t seed[32] = { 1, 2, 3 };
    if (done++)
        return;
    CHECK(sodium_init() >= 0);
    crypto_sign_seed_keypair(pk, sk, seed);
}

static void check_offer(const uint8_t *m, size_t len)
{
    struct prov_offer o;
    const char *why = NULL;
    int rc = prov_offer_parse(m, len, pk, &o, &why);
    if (rc < 0) {
        CHECK(why && !o.peers && o.n_peers == 0);
        CHECK(rc == -EBADMSG || rc == -EMSGSIZE || rc == -EPERM || rc == -ENOMEM);
        return;
    }
    CHECK(o.n_peers <= PROV_MAX_PEERS && o.mtu >= WG_TUN_MTU_MIN && o.mtu <= WG_TUN_MTU_MAX);
    for (size_t i = 0; i < o.n_peers; i++)
        CHECK(o.peers[i].ip.cidr == (o.peers[i].ip.family == AF_INET ? 32 : 128));
    uint8_t *again;
    size_t again_len;
    CHECK(prov_offer_encode(&o, sk, &again, &again_len) == 0);
    CHECK(again_len == len && memcmp(again, m, len) == 0);   /* Ed25519 is deterministic */
    free(again);
    prov_offer_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);   /* libFuzzer calls it */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    keys();
    check_offer(data, size);           /* accepted only if it carries our signature */

    if (size <= PROV_OFFER_MAX - PROV_SIG_LEN) {
        uint8_t *m = malloc(size + PROV_SIG_LEN);
        CHECK(m);
        memcpy(m, data, size);
        crypto_sign_detached(m + size, NULL, m, size, sk);
        check_offer(m, size + PROV_SIG_LEN);
        free(m);
    }

    struct prov_answer a;
    if (prov_answer_parse(data, size, &a) == 0) {
        CHECK(a.doc_len <= PROV_DOC_MAX);
        CHECK(!a.doc || (a.doc >= data && a.doc + a.doc_len <= data + size));
        for (const char *p = a.message; *p; p++)
            CHECK(*p >= 0x20 && *p <= 0x7e);
    }
    return 0;
}
