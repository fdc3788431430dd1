/* aead.c - ChaCha20-Poly1305 (IETF) for transport data, two backends.
 *
 * libsodium is simple and stateless.  OpenSSL's EVP is much faster on
 * CPUs with wide vector units but needs a cipher context; allocating one
 * per packet would be both slow and an allocation in the data path, and
 * sharing one between threads is not allowed.  So each thread lazily
 * creates its own pair (seal, open), initialised with the cipher once;
 * per packet only key and nonce are set.  A pthread key's destructor
 * frees them when the thread exits.  Should a context ever fail to be
 * created, that call falls back to libsodium: both produce identical
 * bytes, so the fallback is invisible on the wire.
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <openssl/evp.h>

#include "wgcore/aead.h"

/* Default backend when WGVSOCK_AEAD is unset: the faster one as measured
 * by bench-aead (docs/BENCHMARKS.md, "Data-path AEAD"). */
#define WG_AEAD_DEFAULT WG_AEAD_OPENSSL

static _Atomic int current_impl = WG_AEAD_DEFAULT;
static pthread_once_t select_once = PTHREAD_ONCE_INIT;

static void select_from_env(void)
{
    const char *v = getenv("WGVSOCK_AEAD");

    if (sodium_init() < 0)
        abort();                        /* libsodium unusable: nothing works */
    if (v && !strcmp(v, "sodium"))
        atomic_store(&current_impl, WG_AEAD_SODIUM);
    else if (v && !strcmp(v, "openssl"))
        atomic_store(&current_impl, WG_AEAD_OPENSSL);
}

void wg_aead_select(void)
{
    pthread_once(&select_once, select_from_env);
}

void wg_aead_force(enum wg_aead_impl impl)
{
    wg_aead_select();                   /* so a later select cannot undo this */
    atomic_store(&current_impl, impl == WG_AEAD_OPENSSL ? WG_AEAD_OPENSSL : WG_AEAD_SODIUM);
}

enum wg_aead_impl wg_aead_current(void)
{
    return (enum wg_aead_impl)atomic_load_explicit(&current_impl, memory_order_relaxed);
}

const char *wg_aead_name(enum wg_aead_impl impl)
{
    return impl == WG_AEAD_OPENSSL ? "openssl" : "sodium";
}

static inline void make_nonce(uint8_t nonce[12], uint64_t counter)
{
    memset(nonce, 0, 4);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

/* ---- OpenSSL per-thread contexts ---- */

struct evp_pair {
    EVP_CIPHER_CTX *seal, *open;
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static bool tls_key_ok;
static __thread struct evp_pair *tls_pair;
static __thread bool tls_failed;

static void pair_free(void *arg)
{
    struct evp_pair *p = arg;

    if (!p)
        return;
    EVP_CIPHER_CTX_free(p->seal);
    EVP_CIPHER_CTX_free(p->open);
    free(p);
}

static void tls_key_init(void)
{
    tls_key_ok = pthread_key_create(&tls_key, pair_free) == 0;
}

static struct evp_pair *thread_pair(void)
{
    struct evp_pair *p = tls_pair;

    if (__builtin_expect(p != NULL, 1))
        return p;
    if (tls_failed)
        return NULL;
    pthread_once(&tls_once, tls_key_init);
    p = calloc(1, sizeof(*p));
    if (!tls_key_ok || !p)
        goto fail;
    p->seal = EVP_CIPHER_CTX_new();
    p->open = EVP_CIPHER_CTX_new();
    if (!p->seal || !p->open ||
        EVP_EncryptInit_ex(p->seal, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1 ||
        EVP_DecryptInit_ex(p->open, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1 ||
        pthread_setspecific(tls_key, p) != 0)
        goto fail;
    tls_pair = p;
    return p;
fail:
    pair_free(p);
    tls_failed = true;
    return NULL;
}

static bool ossl_seal(uint8_t *dst, const uint8_t *src, size_t len,
                      const uint8_t nonce[12], const uint8_t key[32])
{
    struct evp_pair *p = thread_pair();
    int outl = 0, finl = 0;

    if (!p || len > INT_MAX - 64)
        return false;
    if (EVP_EncryptInit_ex(p->seal, NULL, NULL, key, nonce) != 1)
        return false;                   /* nothing written: fall back */
    /* Past this point dst (possibly == src) is being overwritten, so a
     * fallback could no longer re-read the plaintext.  These calls cannot
     * fail for this cipher once initialised; if they do, stop rather than
     * send garbage. */
    if ((len && EVP_EncryptUpdate(p->seal, dst, &outl, src, (int)len) != 1) ||
        EVP_EncryptFinal_ex(p->seal, dst + outl, &finl) != 1 ||
        (size_t)outl + (size_t)finl != len ||
        EVP_CIPHER_CTX_ctrl(p->seal, EVP_CTRL_AEAD_GET_TAG, WG_AEAD_TAG, dst + len) != 1)
        abort();
    return true;
}

/* Returns 1 authentic, 0 forged, -1 backend failure (caller falls back). */
static int ossl_open(uint8_t *dst, const uint8_t *src, size_t len,
                     const uint8_t nonce[12], const uint8_t key[32])
{
    struct evp_pair *p = thread_pair();
    size_t plen = len - WG_AEAD_TAG;
    uint8_t tag[WG_AEAD_TAG];
    int outl = 0, finl = 0;

    if (!p || len > INT_MAX - 64)
        return -1;
    /* Copy the tag first: with dst == src it sits right after the bytes
     * being decrypted and must not be read after they are written. */
    memcpy(tag, src + plen, WG_AEAD_TAG);
    if (EVP_DecryptInit_ex(p->open, NULL, NULL, key, nonce) != 1 ||
        EVP_CIPHER_CTX_ctrl(p->open, EVP_CTRL_AEAD_SET_TAG, WG_AEAD_TAG, tag) != 1)
        return -1;
    if (plen && EVP_DecryptUpdate(p->open, dst, &outl, src, (int)plen) != 1)
        return 0;
    if (EVP_DecryptFinal_ex(p->open, dst + outl, &finl) != 1)
        return 0;
    return (size_t)outl + (size_t)finl == plen;
}

/* ---- public ---- */

static void sodium_seal(uint8_t *dst, const uint8_t *src, size_t len,
                        const uint8_t nonce[12], const uint8_t key[32])
{
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL, src, len,
                                                       NULL, 0, NULL, nonce, key);
}

void wg_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
                  const uint8_t key[32])
{
    uint8_t nonce[12];

    make_nonce(nonce, counter);
    if (wg_aead_current() == WG_AEAD_OPENSSL && ossl_seal(dst, src, len, nonce, key))
        return;
    sodium_seal(dst, src, len, nonce, key);
}

bool wg_aead_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
                  const uint8_t key[32])
{
    uint8_t nonce[12];

    if (len < WG_AEAD_TAG)
        return false;
    make_nonce(nonce, counter);
    if (wg_aead_current() == WG_AEAD_OPENSSL) {
        int r = ossl_open(dst, src, len, nonce, key);
        if (r >= 0)
            return r == 1;
    }
    return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
               dst, NULL, src, len - WG_AEAD_TAG, src + len - WG_AEAD_TAG,
               NULL, 0, nonce, key) == 0;
}
