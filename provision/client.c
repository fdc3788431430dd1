/* client.c - see client.h.  What the attestation must show, beyond the
 * verifier's checks (attest/verify.c): nonce = the fresh one of this offer
 * (no replayed document), public_key = the key in the answer (the key we
 * are about to trust), user_data = SHA-256 of this offer's bytes (the hub
 * saw exactly what we signed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "provision/client.h"
#include "provision/io.h"

static int exchange(const struct wg_sockaddr *hub, const uint8_t *offer, size_t offer_len,
                    uint8_t **answer, size_t *answer_len, char *why, size_t why_len)
{
    int fd = prov_dial(hub, PROV_IO_TIMEOUT_MS), rc;
    char addr[WG_SOCKADDR_STR_MAX];

    wg_sockaddr_format_human(hub, addr);
    if (fd < 0) {
        snprintf(why, why_len, "provisioning connect to %s: %s", addr, strerror(-fd));
        return fd;
    }
    if ((rc = prov_write_all(fd, offer, offer_len, PROV_IO_TIMEOUT_MS)) < 0 ||
        (rc = prov_read_message(fd, PROV_IO_TIMEOUT_MS, answer, answer_len)) < 0)
        snprintf(why, why_len, "provisioning exchange with %s: %s", addr, strerror(-rc));
    close(fd);
    return rc;
}

static int check_attestation(const struct prov_answer *a, const uint8_t *offer, size_t offer_len,
                             const struct prov_offer *o, const struct prov_client_policy *pol,
                             char *why, size_t why_len)
{
    struct attest_policy ap = {
        .root_pem = pol->root_pem, .at = time(NULL), .check_freshness = true,
        .nonce = o->nonce, .nonce_len = PROV_NONCE_LEN,
        .public_key = a->hub_key, .public_key_len = WG_KEY_LEN,
    };
    struct attest_result res;
    struct attest_doc doc;
    uint8_t digest[crypto_hash_sha256_BYTES];
    int rc;

    memcpy(ap.pcr, pol->pcr, sizeof(ap.pcr));
    memcpy(ap.pcr_len, pol->pcr_len, sizeof(ap.pcr_len));
    if (!a->doc_len) {
        snprintf(why, why_len, "attestation failed (format check): the hub sent no document");
        return -EPERM;
    }
    rc = attest_verify(a->doc, a->doc_len, &ap, &res, &doc);
    if (rc == -EPERM)
        snprintf(why, why_len, "attestation failed (%s check): %s",
                 attest_check_name(res.failed), res.why);
    else if (rc < 0)
        snprintf(why, why_len, "attestation: %s", strerror(-rc));
    if (rc == 0) {
        crypto_hash_sha256(digest, offer, offer_len);
        if (!doc.user_data.ptr || doc.user_data.len != sizeof(digest) ||
            sodium_memcmp(doc.user_data.ptr, digest, sizeof(digest)) != 0) {
            snprintf(why, why_len, "attestation failed (user-data check): the document "
                                   "does not cover this offer");
            rc = -EPERM;
        }
    }
    attest_doc_free(&doc);
    return rc;
}

int prov_client_exchange(const struct wg_sockaddr *hub, struct prov_offer *o,
                         const uint8_t sk[PROV_SECKEY_LEN], const struct prov_client_policy *pol,
                         uint8_t hub_key[WG_KEY_LEN], char *why, size_t why_len)
{
    uint8_t *offer = NULL, *msg = NULL;
    size_t offer_len = 0, msg_len = 0;
    struct prov_answer a;
    int rc;

    randombytes_buf(o->nonce, sizeof(o->nonce));
    if ((rc = prov_offer_encode(o, sk, &offer, &offer_len)) < 0) {
        snprintf(why, why_len, "cannot encode the provisioning offer: %s", strerror(-rc));
        return rc;
    }
    if ((rc = exchange(hub, offer, offer_len, &msg, &msg_len, why, why_len)) < 0)
        goto out;
    if ((rc = prov_answer_parse(msg, msg_len, &a)) < 0) {
        snprintf(why, why_len, "the hub's provisioning answer is malformed");
        goto out;
    }
    if (a.status != PROV_OK) {
        snprintf(why, why_len, "hub refused the offer: %s%s%s", prov_status_text(a.status),
                 a.message[0] ? ": " : "", a.message);
        rc = -EPERM;
        goto out;
    }
    if (pol->mode != PROV_MODE_NONE &&
        (rc = check_attestation(&a, offer, offer_len, o, pol, why, why_len)) < 0)
        goto out;
    memcpy(hub_key, a.hub_key, WG_KEY_LEN);
    rc = 0;
out:
    free(offer);
    free(msg);
    return rc;
}
