/* test_wg_allowedips.c - the allowed-ips trie against a brute-force
 * reference (a flat list scanned linearly): thousands of random,
 * overlapping IPv4 and IPv6 prefixes, moves between peers, exact removal,
 * remove_peer and list, plus hand-written cases with known answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "wgcore/allowedips.h"

/* ---- deterministic PRNG (xorshift64*) ---- */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* ---- reference ---- */
struct ref_ent {
    int family;
    uint8_t ip[16];
    uint8_t cidr;
    void *peer;
};
#define REF_MAX 20000
static struct ref_ent ref[REF_MAX];
static size_t nref;

static void mask_ip(int family, uint8_t *ip, unsigned cidr)
{
    unsigned bytes = family == AF_INET ? 4 : 16;
    for (unsigned i = 0; i < bytes; i++) {
        unsigned lo = i * 8;
        if (cidr <= lo)
            ip[i] = 0;
        else if (cidr < lo + 8)
            ip[i] &= (uint8_t)(0xff00u >> (cidr - lo));
    }
    for (unsigned i = bytes; i < 16; i++)
        ip[i] = 0;
}

static bool prefix_covers(int family, const uint8_t *net, unsigned cidr, const uint8_t *ip)
{
    uint8_t m[16];
    memcpy(m, ip, 16);
    mask_ip(family, m, cidr);
    return memcmp(m, net, family == AF_INET ? 4 : 16) == 0;
}

static struct ref_ent *ref_find(int family, const uint8_t *ip, uint8_t cidr)
{
    uint8_t m[16] = {0};
    memcpy(m, ip, family == AF_INET ? 4 : 16);
    mask_ip(family, m, cidr);
    for (size_t i = 0; i < nref; i++)
        if (ref[i].family == family && ref[i].cidr == cidr && !memcmp(ref[i].ip, m, 16))
            return &ref[i];
    return NULL;
}

static void ref_insert(int family, const uint8_t *ip, uint8_t cidr, void *peer)
{
    struct ref_ent *e = ref_find(family, ip, cidr);
    if (e) {
        e->peer = peer;
        return;
    }
    assert_true(nref < REF_MAX);
    e = &ref[nref++];
    e->family = family;
    memset(e->ip, 0, 16);
    memcpy(e->ip, ip, family == AF_INET ? 4 : 16);
    mask_ip(family, e->ip, cidr);
    e->cidr = cidr;
    e->peer = peer;
}

static int ref_remove(int family, const uint8_t *ip, uint8_t cidr, void *peer)
{
    struct ref_ent *e = ref_find(family, ip, cidr);
    if (!e || e->peer != peer)
        return -ENOENT;
    *e = ref[--nref];
    return 0;
}

static void ref_remove_peer(void *peer)
{
    for (size_t i = 0; i < nref;)
        if (ref[i].peer == peer)
            ref[i] = ref[--nref];
        else
            i++;
}

static void *ref_lookup(int family, const uint8_t *ip)
{
    int best = -1;
    void *peer = NULL;
    for (size_t i = 0; i < nref; i++)
        if (ref[i].family == family && (int)ref[i].cidr > best &&
            prefix_covers(family, ref[i].ip, ref[i].cidr, ip)) {
            best = ref[i].cidr;
            peer = ref[i].peer;
        }
    return peer;
}

/* ---- random addresses clustered around a few bases, so prefixes overlap ---- */
static uint8_t bases[8][16];

static void rand_ip(int family, uint8_t ip[16])
{
    memcpy(ip, bases[rnd() % 8], 16);
    /* Flip a few random bits, mostly deep in the address. */
    unsigned bits = family == AF_INET ? 32 : 128;
    unsigned flips = (unsigned)(rnd() % 4);
    for (unsigned i = 0; i < flips; i++) {
        unsigned b = (unsigned)(rnd() % bits);
        ip[b / 8] ^= (uint8_t)(0x80u >> (b % 8));
    }
    if (family == AF_INET)
        memset(ip + 4, 0, 12);
}

static uint8_t rand_cidr(int family)
{
    unsigned bits = family == AF_INET ? 32 : 128;
    switch (rnd() % 4) {
    case 0: return (uint8_t)(rnd() % (bits + 1));
    case 1: return (uint8_t)bits;
    default: return (uint8_t)(bits / 2 + rnd() % (bits / 2 + 1));
    }
}

#define NPEERS 7
static char peers[NPEERS];

static int cmp_aip(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct wg_allowedip));
}

static void check_lists(struct wg_allowedips *t)
{
    static struct wg_allowedip got[REF_MAX], want[REF_MAX];
    size_t total = 0;

    for (int p = 0; p < NPEERS; p++) {
        size_t nw = 0;
        for (size_t i = 0; i < nref; i++)
            if (ref[i].peer == &peers[p]) {
                memset(&want[nw], 0, sizeof(want[nw]));
                want[nw].family = (uint8_t)ref[i].family;
                want[nw].cidr = ref[i].cidr;
                memcpy(want[nw].ip, ref[i].ip, 16);
                nw++;
            }
        size_t n = wg_allowedips_list(t, &peers[p], NULL, 0);
        assert_int_equal(n, nw);
        memset(got, 0, sizeof(got[0]) * (nw + 1));
        assert_int_equal(wg_allowedips_list(t, &peers[p], got, REF_MAX), nw);
        /* IPv4 entries come before IPv6 ones. */
        for (size_t i = 1; i < nw; i++)
            assert_false(got[i - 1].family == AF_INET6 && got[i].family == AF_INET);
        qsort(got, nw, sizeof(got[0]), cmp_aip);
        qsort(want, nw, sizeof(want[0]), cmp_aip);
        assert_memory_equal(got, want, nw * sizeof(got[0]));
        /* Truncated output: exactly max written, total still returned. */
        if (nw > 2) {
            struct wg_allowedip small[3];
            memset(small, 0xee, sizeof(small));
            assert_int_equal(wg_allowedips_list(t, &peers[p], small, 2), nw);
            assert_int_equal(small[2].family, 0xee);
        }
        total += nw;
    }
    assert_int_equal(total, nref);
}

static void check_lookups(struct wg_allowedips *t, int n)
{
    for (int i = 0; i < n; i++) {
        int family = rnd() & 1 ? AF_INET : AF_INET6;
        uint8_t ip[16];
        rand_ip(family, ip);
        assert_ptr_equal(wg_allowedips_lookup(t, family, ip), ref_lookup(family, ip));
    }
    /* Every stored prefix's own network address and its last address. */
    for (size_t i = 0; i < nref; i += 1 + nref / 200) {
        uint8_t ip[16];
        memcpy(ip, ref[i].ip, 16);
        assert_ptr_equal(wg_allowedips_lookup(t, ref[i].family, ip), ref_lookup(ref[i].family, ip));
        unsigned bits = ref[i].family == AF_INET ? 32 : 128;
        for (unsigned b = ref[i].cidr; b < bits; b++)
            ip[b / 8] |= (uint8_t)(0x80u >> (b % 8));
        assert_ptr_equal(wg_allowedips_lookup(t, ref[i].family, ip), ref_lookup(ref[i].family, ip));
    }
}

static void random_run(uint64_t seed, int ops)
{
    struct wg_allowedips *t = wg_allowedips_new();
    assert_non_null(t);
    rng_state = seed;
    nref = 0;
    for (int b = 0; b < 8; b++)
        for (int i = 0; i < 16; i++)
            bases[b][i] = (uint8_t)rnd();

    for (int op = 0; op < ops; op++) {
        int family = rnd() & 1 ? AF_INET : AF_INET6;
        uint8_t ip[16];
        uint8_t cidr;
        void *peer = &peers[rnd() % NPEERS];
        unsigned r = (unsigned)(rnd() % 100);

        rand_ip(family, ip);
        cidr = rand_cidr(family);
        if (r < 65) {
            /* host bits set on purpose: they must be masked off */
            assert_int_equal(wg_allowedips_insert(t, family, ip, cidr, peer), 0);
            ref_insert(family, ip, cidr, peer);
        } else if (r < 95) {
            /* remove: half the time an existing prefix (with the right or a
             * wrong peer), otherwise a random one */
            if (nref && (rnd() & 1)) {
                struct ref_ent e = ref[rnd() % nref];
                family = e.family;
                memcpy(ip, e.ip, 16);
                cidr = e.cidr;
                if (rnd() % 4)
                    peer = e.peer;
            }
            int want = ref_remove(family, ip, cidr, peer);
            assert_int_equal(wg_allowedips_remove(t, family, ip, cidr, peer), want);
        } else if (r < 97) {
            wg_allowedips_remove_peer(t, peer);
            ref_remove_peer(peer);
        } else {
            check_lists(t);
        }
        if (op % 64 == 0) {
            check_lookups(t, 100);
            assert_true(wg_allowedips_check(t));
        }
    }
    check_lookups(t, 2000);
    check_lists(t);
    assert_true(wg_allowedips_check(t));
    /* Drain everything: the trie must end up empty. */
    for (int p = 0; p < NPEERS; p++)
        wg_allowedips_remove_peer(t, &peers[p]);
    nref = 0;
    check_lists(t);
    check_lookups(t, 200);
    assert_true(wg_allowedips_check(t));
    wg_allowedips_free(t);
}

static void test_random_small(void **state)
{
    for (uint64_t s = 1; s <= 20; s++)
        random_run(s * 0x9E3779B97F4A7C15ull, 600);
}

static void test_random_large(void **state)
{
    random_run(0xdeadbeefcafef00dull, 12000);
}

/* Many prefixes, inserted in bulk, then half removed one by one. */
static void test_bulk(void **state)
{
    struct wg_allowedips *t = wg_allowedips_new();
    rng_state = 42;
    nref = 0;
    for (int b = 0; b < 8; b++)
        for (int i = 0; i < 16; i++)
            bases[b][i] = (uint8_t)rnd();
    for (int i = 0; i < 8000; i++) {
        int family = i & 1 ? AF_INET : AF_INET6;
        uint8_t ip[16];
        for (int j = 0; j < 16; j++)
            ip[j] = (uint8_t)rnd();
        if (i % 3 == 0)
            rand_ip(family, ip);
        if (family == AF_INET)
            memset(ip + 4, 0, 12);
        uint8_t cidr = rand_cidr(family);
        void *peer = &peers[rnd() % NPEERS];
        assert_int_equal(wg_allowedips_insert(t, family, ip, cidr, peer), 0);
        ref_insert(family, ip, cidr, peer);
    }
    check_lookups(t, 3000);
    check_lists(t);
    for (size_t n = nref / 2; n > 0; n--) {
        struct ref_ent e = ref[rnd() % nref];
        assert_int_equal(wg_allowedips_remove(t, e.family, e.ip, e.cidr, e.peer), 0);
        assert_int_equal(ref_remove(e.family, e.ip, e.cidr, e.peer), 0);
        assert_int_equal(wg_allowedips_remove(t, e.family, e.ip, e.cidr, e.peer), -ENOENT);
    }
    check_lookups(t, 3000);
    check_lists(t);
    assert_true(wg_allowedips_check(t));
    wg_allowedips_free(t);
}

static void ip4(uint8_t out[16], const char *s)
{
    memset(out, 0, 16);
    assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

static void ip6(uint8_t out[16], const char *s)
{
    assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

static void test_known(void **state)
{
    struct wg_allowedips *t = wg_allowedips_new();
    void *a = &peers[0], *b = &peers[1], *c = &peers[2];
    uint8_t ip[16];

    ip4(ip, "10.0.0.0");
    assert_null(wg_allowedips_lookup(t, AF_INET, ip));
    assert_int_equal(wg_allowedips_insert(t, AF_INET, ip, 8, a), 0);
    ip4(ip, "10.1.2.3");                              /* host bits set */
    assert_int_equal(wg_allowedips_insert(t, AF_INET, ip, 16, b), 0);
    ip4(ip, "10.1.2.3");
    assert_int_equal(wg_allowedips_insert(t, AF_INET, ip, 32, c), 0);
    ip4(ip, "0.0.0.0");
    assert_int_equal(wg_allowedips_insert(t, AF_INET, ip, 0, c), 0);

    ip4(ip, "10.1.2.3");   assert_ptr_equal(wg_allowedips_lookup(t, AF_INET, ip), c);
    ip4(ip, "10.1.2.4");   assert_ptr_equal(wg_allowedips_lookup(t, AF_INET, ip), b);
    ip4(ip, "10.1.255.255"); assert_ptr_equal(wg_allowedips_lookup(t, AF_INET, ip), b);
    ip4(ip, "10.2.0.0");   assert_ptr_equal(wg_allowedips_lookup(t, AF_INET, ip), a);
    ip4(ip, "11.0.0.0");   assert_ptr_equal(wg_allowedips_lookup(t, AF_INET, ip), c);
    /* IPv4 and IPv6 are separate tables. */
    memset(ip, 0, 16);
    ip[0] = 10;
    assert_null(wg_allowedips_lookup(t, AF_INET6, ip));

    /* list gives the masked network */
    struct wg_allowedip out[4];
    assert_int_equal(wg_allowedips_list(t, b, out, 4), 1);
    assert_int_equal(out[0].family, AF_INET);
    assert_int_equal(out[0].cidr, 16);
    assert_memory_equal(out[0].ip, ((uint8_t[16]){10, 1}), 16);

    /* moving 10.1.0.0/16 to a */
    ip4(ip, "10.1.0.0");
    assert_int_equal(wg_allowedips_insert(t, AF_INET, ip, 16, a), 0);
    assert_int_equal(wg_allowedips_list(t, b, NULL, 0), 0);
    assert_int_equal(wg_allowedips_list(t, a, NULL, 0), 2);
    ip4(ip, "10.1.9.9");  assert_ptr_equal(wg_allowedips_lookup(t, AF_INET, ip), a);
    /* remove needs the owner */
    ip4(ip, "10.1.0.0");
    assert_int_equal(wg_allowedips_remove(t, AF_INET, ip, 16, b), -ENOENT);
    assert_int_equal(wg_allowedips_remove(t, AF_INET, ip, 15, a), -ENOENT);
    assert_int_equal(wg_allowedips_remove(t, AF_INET, ip, 16, a), 0);
    assert_int_equal(wg_allowedips_remove(t, AF_INET, ip, 16, a), -ENOENT);
    ip4(ip, "10.1.9.9");  assert_ptr_equal(wg_allowedips_lookup(t, AF_INET, ip), a);
    ip4(ip, "10.1.2.3");  assert_ptr_equal(wg_allowedips_lookup(t, AF_INET, ip), c);

    /* IPv6 */
    ip6(ip, "fd00::");
    assert_int_equal(wg_allowedips_insert(t, AF_INET6, ip, 8, a), 0);
    ip6(ip, "fd00:1234::1");
    assert_int_equal(wg_allowedips_insert(t, AF_INET6, ip, 128, b), 0);
    ip6(ip, "::");
    assert_int_equal(wg_allowedips_insert(t, AF_INET6, ip, 0, c), 0);
    ip6(ip, "fd00:1234::1"); assert_ptr_equal(wg_allowedips_lookup(t, AF_INET6, ip), b);
    ip6(ip, "fd00:1234::2"); assert_ptr_equal(wg_allowedips_lookup(t, AF_INET6, ip), a);
    ip6(ip, "2001:db8::1");  assert_ptr_equal(wg_allowedips_lookup(t, AF_INET6, ip), c);
    ip6(ip, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    assert_ptr_equal(wg_allowedips_lookup(t, AF_INET6, ip), c);

    /* c's list: 10.1.2.3/32, 0.0.0.0/0, ::/0 - IPv4 first */
    assert_int_equal(wg_allowedips_list(t, c, out, 4), 3);
    assert_int_equal(out[0].family, AF_INET);
    assert_int_equal(out[1].family, AF_INET);
    assert_int_equal(out[2].family, AF_INET6);
    assert_int_equal(out[2].cidr, 0);

    wg_allowedips_remove_peer(t, c);
    ip6(ip, "2001:db8::1");  assert_null(wg_allowedips_lookup(t, AF_INET6, ip));
    ip4(ip, "10.1.2.3");     assert_ptr_equal(wg_allowedips_lookup(t, AF_INET, ip), a);
    ip4(ip, "11.0.0.0");     assert_null(wg_allowedips_lookup(t, AF_INET, ip));
    wg_allowedips_free(t);
}

/* list reports a peer's prefixes in the order they were added (IPv4
 * first), as kernel WireGuard does, so wg showconf mirrors the config. */
static void test_list_order(void **state)
{
    struct wg_allowedips *t = wg_allowedips_new();
    static const char *v4s[] = { "10.9.0.0", "10.1.0.0", "192.168.0.0", "10.5.0.0", "0.0.0.0" };
    static const uint8_t cidrs[] = { 16, 16, 24, 16, 0 };
    struct wg_allowedip out[8];
    uint8_t ip[16];

    ip6(ip, "fd00::");
    assert_int_equal(wg_allowedips_insert(t, AF_INET6, ip, 8, &peers[3]), 0);
    for (int i = 0; i < 5; i++) {
        ip4(ip, v4s[i]);
        assert_int_equal(wg_allowedips_insert(t, AF_INET, ip, cidrs[i], &peers[3]), 0);
        /* interleave another peer's prefixes */
        ip[3] = 1;
        assert_int_equal(wg_allowedips_insert(t, AF_INET, ip, 32, &peers[4]), 0);
    }
    assert_int_equal(wg_allowedips_list(t, &peers[3], out, 8), 6);
    for (int i = 0; i < 5; i++) {
        ip4(ip, v4s[i]);
        assert_int_equal(out[i].family, AF_INET);
        assert_int_equal(out[i].cidr, cidrs[i]);
        assert_memory_equal(out[i].ip, ip, 16);
    }
    assert_int_equal(out[5].family, AF_INET6);
    /* re-inserting an owned prefix keeps its place; a move goes last */
    ip4(ip, "10.9.0.0");
    assert_int_equal(wg_allowedips_insert(t, AF_INET, ip, 16, &peers[3]), 0);
    ip4(ip, "10.1.0.0");
    assert_int_equal(wg_allowedips_insert(t, AF_INET, ip, 16, &peers[4]), 0);
    assert_int_equal(wg_allowedips_insert(t, AF_INET, ip, 16, &peers[3]), 0);
    assert_int_equal(wg_allowedips_list(t, &peers[3], out, 8), 6);
    assert_int_equal(out[0].ip[1], 9);
    assert_int_equal(out[1].ip[0], 192);
    assert_int_equal(out[3].cidr, 0);
    assert_int_equal(out[4].ip[1], 1);
    assert_true(wg_allowedips_check(t));
    wg_allowedips_free(t);
}

/* Hundreds of peers coming and going: exercises the per-peer map
 * (growth, probing across the end of the table, deletion). */
static void test_many_peers(void **state)
{
    enum { NP = 700 };
    static char many[NP];
    static int owned[NP];
    struct wg_allowedips *t = wg_allowedips_new();
    uint8_t ip[16] = {0};

    memset(owned, 0, sizeof(owned));
    rng_state = 777;
    for (int step = 0; step < 20000; step++) {
        int p = (int)(rnd() % NP);
        /* peer p owns 10.(p>>8).(p&255).0/24 .. up to 3 hosts below it */
        ip[0] = 10, ip[1] = (uint8_t)(p >> 8), ip[2] = (uint8_t)p, ip[3] = 0;
        switch (rnd() % 4) {
        case 0:
        case 1:
            if (owned[p] < 4) {
                ip[3] = (uint8_t)owned[p];
                assert_int_equal(wg_allowedips_insert(t, AF_INET, ip, owned[p] ? 32 : 24, &many[p]), 0);
                owned[p]++;
            }
            break;
        case 2:
            if (owned[p]) {
                owned[p]--;
                ip[3] = (uint8_t)owned[p];
                assert_int_equal(wg_allowedips_remove(t, AF_INET, ip, owned[p] ? 32 : 24, &many[p]), 0);
            }
            break;
        default:
            wg_allowedips_remove_peer(t, &many[p]);
            owned[p] = 0;
            break;
        }
        int q = (int)(rnd() % NP);
        assert_int_equal(wg_allowedips_list(t, &many[q], NULL, 0), owned[q]);
        ip[1] = (uint8_t)(q >> 8), ip[2] = (uint8_t)q, ip[3] = 200;
        assert_ptr_equal(wg_allowedips_lookup(t, AF_INET, ip), owned[q] ? &many[q] : NULL);
        if (step % 500 == 0)
            assert_true(wg_allowedips_check(t));
    }
    for (int p = 0; p < NP; p++)
        assert_int_equal(wg_allowedips_list(t, &many[p], NULL, 0), owned[p]);
    assert_true(wg_allowedips_check(t));
    wg_allowedips_free(t);
}

static void test_invalid(void **state)
{
    struct wg_allowedips *t = wg_allowedips_new();
    uint8_t ip[16] = {1, 2, 3, 4};

    assert_int_equal(wg_allowedips_insert(t, AF_INET, ip, 33, &peers[0]), -EINVAL);
    assert_int_equal(wg_allowedips_insert(t, AF_INET6, ip, 129, &peers[0]), -EINVAL);
    assert_int_equal(wg_allowedips_insert(t, AF_UNIX, ip, 8, &peers[0]), -EINVAL);
    assert_int_equal(wg_allowedips_insert(t, AF_INET, ip, 8, NULL), -EINVAL);
    assert_int_equal(wg_allowedips_remove(t, AF_INET, ip, 33, &peers[0]), -EINVAL);
    assert_int_equal(wg_allowedips_remove(t, AF_INET, ip, 8, &peers[0]), -ENOENT);
    assert_null(wg_allowedips_lookup(t, AF_UNIX, ip));
    assert_int_equal(wg_allowedips_list(t, &peers[0], NULL, 0), 0);
    wg_allowedips_remove_peer(t, &peers[0]);
    wg_allowedips_free(t);
    wg_allowedips_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_list_order),
        cmocka_unit_test(test_many_peers),
        cmocka_unit_test(test_random_small),
        cmocka_unit_test(test_random_large),
        cmocka_unit_test(test_bulk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
