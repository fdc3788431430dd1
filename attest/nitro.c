/* nitro.c - the `nitro` attester: ask the Nitro Security Module for an
 * attestation document.  Only inside a Nitro Enclave is there a /dev/nsm;
 * this cannot run anywhere else, so it is kept to the minimum:
 *
 *   request  = CBOR {"Attestation": {"user_data": bstr|null,
 *                                    "nonce": bstr|null,
 *                                    "public_key": bstr|null}}
 *   response = CBOR {"Attestation": {"document": bstr}} or {"Error": text}
 *
 * exchanged with one ioctl, NSM_IOCTL_RAW = _IOWR(0x0A, 0, struct nsm_raw)
 * (Linux include/uapi/linux/nsm.h, defined here because Debian 12's
 * kernel headers predate it; the layout is the same as the older
 * out-of-tree driver's nsm_message of two iovecs).  The document the NSM
 * returns is checked by the plugin, not here. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cbor.h>

#include "attest/attest.h"
#include "attest/build.h"
#include "attest/cbor_bounds.h"

#define NSM_DEVICE            "/dev/nsm"
#define NSM_MAGIC             0x0A
#define NSM_REQUEST_MAX_SIZE  0x1000
#define NSM_RESPONSE_MAX_SIZE 0x3000

struct nsm_iovec { uint64_t addr, len; };
struct nsm_raw { struct nsm_iovec request, response; };
#define NSM_IOCTL_RAW _IOWR(NSM_MAGIC, 0x0, struct nsm_raw)

static bool put(cbor_item_t *map, const char *key, cbor_item_t *value)
{
    return build_map_put(map, cbor_build_string(key), value);
}

static cbor_item_t *opt_bytes(const uint8_t *p, size_t n)
{
    return p ? cbor_build_bytestring(p, n) : cbor_new_null();
}

static int encode_request(const struct attest_request *r, uint8_t **out, size_t *len)
{
    cbor_item_t *outer = cbor_new_definite_map(1), *inner = cbor_new_definite_map(3);
    size_t cap = 0;
    bool ok = outer && inner &&
              put(inner, "user_data", opt_bytes(r->user_data, r->user_data_len)) &&
              put(inner, "nonce", opt_bytes(r->nonce, r->nonce_len)) &&
              put(inner, "public_key", opt_bytes(r->public_key, r->public_key_len));
    if (ok) {
        ok = put(outer, "Attestation", inner);   /* put() drops our reference */
        inner = NULL;
    }
    *out = NULL;
    *len = ok ? cbor_serialize_alloc(outer, out, &cap) : 0;
    if (inner)
        cbor_decref(&inner);
    if (outer)
        cbor_decref(&outer);
    return *len ? 0 : -ENOMEM;
}

/* {"Attestation": {"document": bstr}} -> a copy of the document. */
static int decode_response(const uint8_t *buf, size_t len, uint8_t **out, size_t *out_len,
                           const char **why)
{
    struct cbor_load_result res;
    cbor_item_t *root = NULL;
    int rc = -EBADMSG;

    *why = "the NSM answered with an error or an unexpected message";
    if (cbor_bounds_check(buf, len, ATTEST_NEST_MAX) == 0)
        root = cbor_load(buf, len, &res);
    if (!root || !cbor_isa_map(root) || cbor_map_size(root) != 1)
        goto out;
    struct cbor_pair *p = cbor_map_handle(root);
    if (!cbor_isa_string(p[0].key) || cbor_string_length(p[0].key) != 11 ||
        memcmp(cbor_string_handle(p[0].key), "Attestation", 11) != 0 || !cbor_isa_map(p[0].value))
        goto out;
    struct cbor_pair *q = cbor_map_handle(p[0].value);
    for (size_t i = 0; i < cbor_map_size(p[0].value); i++) {
        if (!cbor_isa_string(q[i].key) || cbor_string_length(q[i].key) != 8 ||
            memcmp(cbor_string_handle(q[i].key), "document", 8) != 0 ||
            !cbor_isa_bytestring(q[i].value) || !cbor_bytestring_is_definite(q[i].value))
            continue;
        size_t n = cbor_bytestring_length(q[i].value);
        if (n == 0 || n > ATTEST_DOC_MAX || !(*out = malloc(n))) {
            rc = n ? -ENOMEM : -EBADMSG;
            goto out;
        }
        memcpy(*out, cbor_bytestring_handle(q[i].value), n);
        *out_len = n;
        rc = 0;
        break;
    }
out:
    if (root)
        cbor_decref(&root);
    return rc;
}

int attest_nitro_request(const struct attest_request *req, uint8_t **out, size_t *out_len,
                         const char **why)
{
    uint8_t *request = NULL, *response = NULL;
    size_t request_len = 0;
    int fd = -1, rc;

    *out = NULL;
    if ((rc = encode_request(req, &request, &request_len)) < 0) {
        *why = "cannot encode the NSM request";
        return rc;
    }
    rc = -EMSGSIZE;
    *why = "the NSM request is too large";
    if (request_len > NSM_REQUEST_MAX_SIZE)
        goto out;
    rc = -ENOMEM;
    if (!(response = malloc(NSM_RESPONSE_MAX_SIZE)))
        goto out;
    *why = "cannot open " NSM_DEVICE " (not inside a Nitro Enclave?)";
    if ((fd = open(NSM_DEVICE, O_RDWR | O_CLOEXEC)) < 0) {
        rc = -errno;
        goto out;
    }
    struct nsm_raw msg = {
        .request = { (uintptr_t)request, request_len },
        .response = { (uintptr_t)response, NSM_RESPONSE_MAX_SIZE },
    };
    *why = "the NSM request ioctl failed";
    if (ioctl(fd, NSM_IOCTL_RAW, &msg) < 0) {
        rc = -errno;
        goto out;
    }
    if (msg.response.len > NSM_RESPONSE_MAX_SIZE) {
        rc = -EBADMSG;
        goto out;
    }
    rc = decode_response(response, msg.response.len, out, out_len, why);
out:
    if (fd >= 0)
        close(fd);
    free(request);
    free(response);
    return rc;
}
