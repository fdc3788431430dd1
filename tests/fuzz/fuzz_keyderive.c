/* fuzz_keyderive.c - libFuzzer target for keyderive's parsers and derivation.
 *
 * Beyond "does not crash", each parser is checked against a property that a
 * strict parser must have:
 *   - base64: the accepted text (after trimming whitespace) is exactly the
 *     canonical encoding of what it decoded to, i.e. no two texts give the
 *     same secret;
 *   - addresses: an accepted address prints and re-parses to the same bytes;
 *   - subnets: the selected host range lies inside the subnet, is non-empty
 *     and excludes network/broadcast where the rules say so;
 *   - derivation: keys are clamped, deterministic, and pub == X25519(priv).
 *
 * Input layout: the whole input is tried as each kind of text; then it is
 * split on '\n' into fields "secret\naddress\nsubnet\nrange\nflags" for the
 * combined checks; the raw bytes also drive a derivation.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "keyderive/keyderive.h"
#include "keyderive/subnet.h"

#define FUZZ_MAX_INPUT 16384
#define FIELDS 5

/* A failed property: abort so libFuzzer records the input as a crash. */
#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The text between leading and trailing whitespace, as keyderive trims it. */
static void trimmed(const char *s, const char **start, size_t *len)
{
    const char *e;

    while (*s && is_space(*s))
        s++;
    e = s + strlen(s);
    while (e > s && is_space(e[-1]))
        e--;
    *start = s;
    *len = (size_t)(e - s);
}

static void check_secret(const char *text)
{
    static struct kd_secret sec;      /* 4 KiB: keep it off the stack */
    static char enc[(KD_SECRET_MAX + 2) / 3 * 4 + 1];
    const char *t;
    size_t tlen;

    if (kd_secret_from_b64(&sec, text) != 0) {
        CHECK(sec.len == 0);
        return;
    }
    CHECK(sec.len <= KD_SECRET_MAX);
    trimmed(text, &t, &tlen);
    sodium_bin2base64(enc, sizeof(enc), sec.bytes, sec.len, sodium_base64_VARIANT_ORIGINAL);
    CHECK(strlen(enc) == tlen && memcmp(enc, t, tlen) == 0);
    kd_secret_wipe(&sec);
}

static void check_key(const char *text)
{
    uint8_t key[KD_KEY_LEN];
    char enc[KD_KEY_B64_LEN + 1];
    const char *t;
    size_t tlen;

    if (kd_key_from_b64(key, text) != 0)
        return;
    trimmed(text, &t, &tlen);
    kd_key_to_b64(enc, key);
    CHECK(tlen == KD_KEY_B64_LEN && memcmp(enc, t, tlen) == 0);
}

static void check_address(const char *text, struct kd_address *out)
{
    char buf[INET6_ADDRSTRLEN];
    struct kd_address again;

    if (kd_address_parse(out, text) != 0) {
        out->family = 0;
        return;
    }
    CHECK(out->family == AF_INET || out->family == AF_INET6);
    CHECK(inet_ntop(out->family, out->bytes, buf, sizeof(buf)) != NULL);
    CHECK(kd_address_parse(&again, buf) == 0);
    CHECK(again.family == out->family && memcmp(again.bytes, out->bytes, 16) == 0);
}

static void check_subnet(const char *cidr, const char *range, const char *flags)
{
    struct kd_subnet s;
    struct kd_host_range r;
    const char *why = NULL;
    unsigned int bits;
    char dec[40];

    if (kd_subnet_parse(&s, cidr, &why) != 0) {
        CHECK(why != NULL);
        return;
    }
    bits = s.family == AF_INET ? 32 : 128;
    CHECK(s.prefix <= bits && s.network <= s.last);
    if (s.family == AF_INET)
        CHECK(s.last <= 0xffffffffu);
    why = NULL;
    if (kd_subnet_select(&r, &s, flags[0] == '1', range[0] ? range : NULL, &why) != 0) {
        CHECK(why != NULL);
        return;
    }
    CHECK(s.network <= r.first && r.first <= r.last && r.last <= s.last);
    if (s.prefix + 2 <= bits) {
        CHECK(r.first > s.network);
        if (s.family == AF_INET)
            CHECK(r.last < s.last);
    }
    CHECK(kd_host_range_count(&r) >= 1);
    kd_u128_to_dec(dec, kd_host_range_count(&r));
    CHECK(dec[0] >= '1' && dec[0] <= '9');
    /* The extreme addresses convert without trouble. */
    {
        struct kd_address a;

        kd_subnet_address(&a, &s, r.last);
        CHECK(a.family == s.family);
    }
}

static void check_derivation(const struct kd_secret *seed, const struct kd_secret *add,
                             const struct kd_address *addr)
{
    uint8_t priv[KD_KEY_LEN], priv2[KD_KEY_LEN], pub[KD_KEY_LEN], pub2[KD_KEY_LEN];

    CHECK(kd_derive_private(priv, seed, add, addr) == 0);
    CHECK((priv[0] & 7) == 0 && (priv[31] & 0xc0) == 0x40);
    CHECK(kd_derive_private(priv2, seed, add, addr) == 0);
    CHECK(memcmp(priv, priv2, KD_KEY_LEN) == 0);
    CHECK(kd_public_from_private(pub, priv) == 0);
    CHECK(kd_derive_public(pub2, seed, add, addr) == 0);
    CHECK(memcmp(pub, pub2, KD_KEY_LEN) == 0);
}

/* Raw bytes: [seed len][add len][family bit] seed additional address. */
static void derive_raw(const uint8_t *data, size_t size)
{
    static struct kd_secret seed, add;
    struct kd_address addr = { 0 };
    size_t slen, alen, need;

    if (size < 3)
        return;
    slen = data[0];
    alen = data[1];
    addr.family = (data[2] & 1) ? AF_INET6 : AF_INET;
    need = 3 + slen + alen + (addr.family == AF_INET ? 4 : 16);
    if (size < need)
        return;
    seed.len = slen;
    memcpy(seed.bytes, data + 3, slen);
    add.len = alen;
    memcpy(add.bytes, data + 3 + slen, alen);
    memcpy(addr.bytes, data + 3 + slen + alen, addr.family == AF_INET ? 4 : 16);
    check_derivation(&seed, &add, &addr);
    kd_secret_wipe(&seed);
    kd_secret_wipe(&add);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);   /* libFuzzer calls it */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[FUZZ_MAX_INPUT + 1];
    static struct kd_secret seed, add;
    char *field[FIELDS], *p;
    struct kd_address addr;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    check_secret(text);
    check_key(text);
    check_address(text, &addr);
    derive_raw(data, size);

    /* Split "secret\naddress\nsubnet\nrange\nflags"; missing fields are "". */
    p = text;
    for (int i = 0; i < FIELDS; i++) {
        field[i] = p;
        p += strcspn(p, "\n");
        if (*p)
            *p++ = '\0';
    }
    check_secret(field[0]);
    check_address(field[1], &addr);
    check_subnet(field[2], field[3], field[4]);

    /* A well-formed secret and address derive a key; the additional is the
     * default one, as with the CLI's compatible form. */
    if (addr.family && kd_secret_from_b64(&seed, field[0]) == 0) {
        CHECK(kd_secret_from_b64(&add, KD_DEFAULT_ADDITIONAL_B64) == 0);
        check_derivation(&seed, &add, &addr);
    }
    kd_secret_wipe(&seed);
    kd_secret_wipe(&add);
    return 0;
}
