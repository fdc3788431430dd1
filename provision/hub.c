/* hub.c - see hub.h.  One connection at a time, each bounded by
 * PROV_IO_TIMEOUT_MS and PROV_OFFER_MAX: a client that stalls delays the
 * next offer by at most the timeout and costs nothing else.  An offer is
 * applied only after its signature, serial and every field have been
 * checked; if applying fails part-way, what was changed is put back. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "attest/attest.h"
#include "attest/hex.h"
#include "provision/hub.h"
#include "provision/hub_addr.h"
#include "provision/io.h"

struct prov_hub {
    struct wg_device *dev;
    struct prov_hub_params p;
    uint8_t public_key[WG_KEY_LEN];
    int listen_fd, stop_fd;
    pthread_t thread;
    uint64_t last_serial;
    bool has_address;
    struct wg_allowedip address;             /* the address the last offer set */
};

int prov_hub_parse_attest(const char *spec, struct prov_hub_params *p, const char **why)
{
    *why = "expected nitro, none or test:CHAIN_PEM:KEY_PEM";
    if (strcmp(spec, "nitro") == 0) {
        p->attester = PROV_ATTEST_NITRO;
        return 0;
    }
    if (strcmp(spec, "none") == 0) {
        p->attester = PROV_ATTEST_NONE;
        return 0;
    }
    if (strncmp(spec, "test:", 5) != 0)
        return -EINVAL;
    char *chain = strdup(spec + 5), *key = chain ? strchr(chain, ':') : NULL;
    int rc = -EINVAL;
    if (key) {
        *key++ = 0;
        rc = attest_signer_load(chain, key, &p->signer, why);
        if (rc == 0)
            p->attester = PROV_ATTEST_TEST;
        /* Tests only: the test attester claims another image. */
        const char *pcr0 = getenv("WGVSOCK_TEST_PCR0");
        uint8_t v[48];
        if (rc == 0 && pcr0 && *pcr0) {
            if (hex_decode(pcr0, v, sizeof(v)) == (int)sizeof(v))
                attest_signer_set_pcr0(p->signer, v);
            else {
                *why = "WGVSOCK_TEST_PCR0 is not 96 hex digits";
                attest_signer_free(p->signer);
                p->signer = NULL;
                rc = -EINVAL;
            }
        }
    }
    free(chain);
    return rc;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The offer's peer set as one configuration that turns the current set
 * into it: peers not offered are removed, offered ones added or given their
 * address.  Not wg's replace_peers: that would drop the sessions of peers
 * that stay, and every container would stall until it re-handshakes. */
static int peer_diff(struct prov_hub *h, const struct prov_offer *o, struct wg_device_config *cfg)
{
    struct wg_device_info *info = NULL;
    int rc = wg_device_get(h->dev, &info);
    if (rc < 0)
        return rc;
    cfg->peers = calloc(info->n_peers + o->n_peers + 1, sizeof(*cfg->peers));
    if (!cfg->peers) {
        wg_device_info_free(info);
        return -ENOMEM;
    }
    for (size_t i = 0; i < info->n_peers; i++) {
        bool offered = false;
        for (size_t j = 0; j < o->n_peers && !offered; j++)
            offered = !memcmp(info->peers[i].public_key, o->peers[j].public_key, WG_KEY_LEN);
        if (offered)
            continue;
        struct wg_peer_config *pc = &cfg->peers[cfg->n_peers++];
        memcpy(pc->public_key, info->peers[i].public_key, WG_KEY_LEN);
        pc->remove = true;
    }
    wg_device_info_free(info);
    for (size_t i = 0; i < o->n_peers; i++) {
        struct wg_peer_config *pc = &cfg->peers[cfg->n_peers++];
        memcpy(pc->public_key, o->peers[i].public_key, WG_KEY_LEN);
        pc->replace_allowed_ips = true;
        pc->n_allowed_ips = 1;
        pc->allowed_ips = (struct wg_allowedip *)&o->peers[i].ip;
    }
    return 0;
}

static int apply_offer(struct prov_hub *h, const struct prov_offer *o, const char **why)
{
    const char *ifname = wg_device_ifname(h->dev);
    struct wg_device_config cfg = { 0 };
    bool new_address = !h->has_address || memcmp(&h->address, &o->hub_address, sizeof(o->hub_address));
    int rc;

    *why = "cannot read the current peers";
    if ((rc = peer_diff(h, o, &cfg)) < 0)
        return rc;
    *why = "cannot set the tunnel address";
    if (new_address && (rc = hub_addr_add(ifname, &o->hub_address)) < 0 && rc != -EEXIST)
        goto out;
    *why = "cannot apply the peers";
    if ((rc = wg_device_apply(h->dev, &cfg)) < 0) {
        if (new_address)
            hub_addr_del(ifname, &o->hub_address);     /* put it back as it was */
        goto out;
    }
    if (new_address && h->has_address &&
        memcmp(h->address.ip, o->hub_address.ip, sizeof(o->hub_address.ip)))
        hub_addr_del(ifname, &h->address);
    h->address = o->hub_address;
    h->has_address = true;
    *why = "cannot set the MTU";
    rc = wg_device_set_mtu(h->dev, o->mtu);
out:
    free(cfg.peers);
    return rc;
}

static int attest(struct prov_hub *h, const uint8_t *offer, size_t offer_len,
                  const struct prov_offer *o, uint8_t **doc, size_t *doc_len, const char **why)
{
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, offer, offer_len);
    struct attest_request req = {
        .nonce = o->nonce, .nonce_len = PROV_NONCE_LEN,
        .public_key = h->public_key, .public_key_len = WG_KEY_LEN,
        .user_data = digest, .user_data_len = sizeof(digest),
    };
    *doc = NULL;
    *doc_len = 0;
    switch (h->p.attester) {
    case PROV_ATTEST_NONE:
        return 0;
    case PROV_ATTEST_TEST:
        *why = "the test signer failed";
        return attest_signer_sign(h->p.signer, &req, now_ms(), doc, doc_len);
    case PROV_ATTEST_NITRO:
        return attest_nitro_request(&req, doc, doc_len, why);
    }
    return -EINVAL;
}

static void answer(int fd, uint8_t status, const uint8_t key[WG_KEY_LEN], const uint8_t *doc,
                   size_t doc_len, const char *msg)
{
    struct prov_answer a = { .status = status, .doc = doc, .doc_len = doc_len };
    uint8_t *buf;
    size_t len;
    if (key)
        memcpy(a.hub_key, key, WG_KEY_LEN);
    snprintf(a.message, sizeof(a.message), "%s", msg ? msg : "");
    if (prov_answer_encode(&a, &buf, &len) == 0) {
        prov_write_all(fd, buf, len, PROV_IO_TIMEOUT_MS);
        free(buf);
    }
}

static void serve_one(struct prov_hub *h, int fd)
{
    uint8_t *msg = NULL, *doc = NULL;
    size_t len = 0, doc_len = 0;
    struct prov_offer o;
    const char *why = "";
    int rc;

    if ((rc = prov_read_message(fd, PROV_IO_TIMEOUT_MS, &msg, &len)) < 0) {
        wg_log(WG_LOG_ERROR, "provision: no offer read: %s", strerror(-rc));
        if (rc == -EBADMSG || rc == -EMSGSIZE)
            answer(fd, PROV_ERR_MALFORMED, NULL, NULL, 0, "not a provisioning offer");
        return;
    }
    rc = prov_offer_parse(msg, len, h->p.provisioner_key, &o, &why);
    if (rc < 0) {
        wg_log(WG_LOG_ERROR, "provision: offer refused: %s", why);
        answer(fd, rc == -EPERM ? PROV_ERR_SIGNATURE : PROV_ERR_MALFORMED, NULL, NULL, 0,
               rc == -EPERM ? "" : why);
        goto out;
    }
    if (o.serial <= h->last_serial) {
        wg_log(WG_LOG_ERROR, "provision: offer refused: serial %llu not above %llu (replay?)",
               (unsigned long long)o.serial, (unsigned long long)h->last_serial);
        answer(fd, PROV_ERR_STALE, NULL, NULL, 0, "serial not above the last applied one");
        goto out_offer;
    }
    if ((rc = apply_offer(h, &o, &why)) < 0) {
        wg_log(WG_LOG_ERROR, "provision: %s: %s", why, strerror(-rc));
        answer(fd, PROV_ERR_APPLY, NULL, NULL, 0, why);
        goto out_offer;
    }
    h->last_serial = o.serial;
    wg_log(WG_LOG_VERBOSE, "provision: applied offer %llu: %zu peer(s)",
           (unsigned long long)o.serial, o.n_peers);
    if ((rc = attest(h, msg, len, &o, &doc, &doc_len, &why)) < 0) {
        wg_log(WG_LOG_ERROR, "provision: cannot attest: %s: %s", why, strerror(-rc));
        answer(fd, PROV_ERR_ATTEST, h->public_key, NULL, 0, why);
        goto out_offer;
    }
    answer(fd, PROV_OK, h->public_key, doc, doc_len, "");
    free(doc);
out_offer:
    prov_offer_free(&o);
out:
    free(msg);
}

static void *hub_thread(void *arg)
{
    struct prov_hub *h = arg;
    for (;;) {
        struct pollfd p[2] = { { .fd = h->listen_fd, .events = POLLIN },
                               { .fd = h->stop_fd, .events = POLLIN } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        serve_one(h, fd);
        close(fd);
    }
    return NULL;
}

static int set_identity(struct prov_hub *h)
{
    struct wg_device_config cfg = { .has_private_key = true, .has_listen_port = true,
                                    .listen_port = h->p.wg_port };
    struct wg_device_info *info = NULL;
    int rc;

    randombytes_buf(cfg.private_key, WG_KEY_LEN);
    cfg.private_key[0] &= 248;                         /* X25519 clamping */
    cfg.private_key[31] = (cfg.private_key[31] & 127) | 64;
    rc = wg_device_apply(h->dev, &cfg);
    sodium_memzero(cfg.private_key, sizeof(cfg.private_key));
    if (rc < 0 || (rc = wg_device_get(h->dev, &info)) < 0)
        return rc;
    memcpy(h->public_key, info->public_key, WG_KEY_LEN);
    wg_device_info_free(info);
    return 0;
}

int prov_hub_start(struct wg_device *dev, struct prov_hub_params *p, struct prov_hub **out,
                   const char **why)
{
    struct prov_hub *h = calloc(1, sizeof(*h));
    int rc = -EIO;

    if (!h)
        return -ENOMEM;
    h->dev = dev;
    h->p = *p;
    p->signer = NULL;                                  /* ours now */
    h->listen_fd = h->stop_fd = -1;
    *why = "cannot set the hub's key and WireGuard port";
    if (sodium_init() < 0 || (rc = set_identity(h)) < 0)
        goto fail;
    *why = "cannot listen on the provisioning port";
    uint16_t port = h->p.port ? h->p.port : (uint16_t)(h->p.wg_port + 1);
    if ((rc = h->listen_fd = prov_listen(port, h->p.vsock)) < 0)
        goto fail;
    if ((h->stop_fd = eventfd(0, EFD_CLOEXEC)) < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = -pthread_create(&h->thread, NULL, hub_thread, h)) < 0)
        goto fail;
    if (h->p.attester == PROV_ATTEST_TEST)
        wg_log(WG_LOG_ERROR, "provision: INSECURE: attesting with a test CA, which proves "
                             "nothing about the code running here");
    else if (h->p.attester == PROV_ATTEST_NONE)
        wg_log(WG_LOG_ERROR, "provision: INSECURE: no attestation (--attest none)");
    wg_log(WG_LOG_VERBOSE, "provision: listening on %s port %u", h->p.vsock ? "vsock" : "tcp", port);
    *out = h;
    return 0;
fail:
    if (h->listen_fd >= 0)
        close(h->listen_fd);
    if (h->stop_fd >= 0)
        close(h->stop_fd);
    attest_signer_free(h->p.signer);
    free(h);
    return rc;
}

void prov_hub_stop(struct prov_hub *h)
{
    uint64_t one = 1;
    if (!h)
        return;
    if (write(h->stop_fd, &one, sizeof(one)) != sizeof(one))
        wg_log(WG_LOG_ERROR, "provision: cannot stop the thread");
    pthread_join(h->thread, NULL);
    close(h->listen_fd);
    close(h->stop_fd);
    attest_signer_free(h->p.signer);
    free(h);
}
