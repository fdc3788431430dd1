/* fuzz_allowedips.c - libFuzzer target: random operation sequences on the
 * allowed-ips trie, checked step by step against a brute-force reference
 * (a flat list scanned linearly), and the trie's own invariants
 * (wg_allowedips_check).  Any disagreement aborts.
 *
 * Input: a sequence of operations, each
 *   op (1 byte) | cidr (1 byte) | address (4 or 16 bytes)
 * op bits 0-2: insert, insert, remove, remove_peer, lookup, list, remove-existing, lookup-last-covered;
 * bit 3: IPv6; bits 4-5: peer 0..3.  cidr is taken modulo (bits + 1) on
 * most ops but occasionally passed raw to hit the -EINVAL path.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "wgcore/allowedips.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define REF_MAX 512

struct ref_ent {
    int family;
    uint8_t ip[16];
    uint8_t cidr;
    void *peer;
};

static struct ref_ent ref[REF_MAX];
static size_t nref;
static char peers[4];

static void mask_ip(int family, uint8_t *ip, unsigned cidr)
{
    unsigned bytes = family == AF_INET ? 4 : 16;

    for (unsigned i = 0; i < 16; i++) {
        unsigned lo = i * 8;
        if (i >= bytes || cidr <= lo)
            ip[i] = 0;
        else if (cidr < lo + 8)
            ip[i] &= (uint8_t)(0xff00u >> (cidr - lo));
    }
}

static struct ref_ent *ref_find(int family, const uint8_t *net, uint8_t cidr)
{
    for (size_t i = 0; i < nref; i++)
        if (ref[i].family == family && ref[i].cidr == cidr && !memcmp(ref[i].ip, net, 16))
            return &ref[i];
    return NULL;
}

static void *ref_lookup(int family, const uint8_t *ip)
{
    int best = -1;
    void *peer = NULL;

    for (size_t i = 0; i < nref; i++) {
        uint8_t m[16];
        memcpy(m, ip, 16);
        mask_ip(family, m, ref[i].cidr);
        if (ref[i].family == family && (int)ref[i].cidr > best && !memcmp(m, ref[i].ip, 16)) {
            best = ref[i].cidr;
            peer = ref[i].peer;
        }
    }
    return peer;
}

static void check_list(struct wg_allowedips *t, void *peer)
{
    static struct wg_allowedip out[REF_MAX];
    size_t want = 0;

    for (size_t i = 0; i < nref; i++)
        want += ref[i].peer == peer;
    CHECK(wg_allowedips_list(t, peer, NULL, 0) == want);
    CHECK(wg_allowedips_list(t, peer, out, REF_MAX) == want);
    for (size_t i = 0; i < want; i++) {
        struct ref_ent *e = ref_find(out[i].family, out[i].ip, out[i].cidr);
        CHECK(e && e->peer == peer);
        CHECK(i == 0 || !(out[i - 1].family == AF_INET6 && out[i].family == AF_INET));
        for (size_t j = 0; j < i; j++)               /* no duplicates */
            CHECK(memcmp(&out[j], &out[i], sizeof(out[i])));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);   /* libFuzzer calls it */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wg_allowedips *t = wg_allowedips_new();
    size_t pos = 0;

    if (!t)
        return 0;
    nref = 0;
    while (pos + 2 <= size) {
        uint8_t op = data[pos], rawcidr = data[pos + 1];
        int family = op & 8 ? AF_INET6 : AF_INET;
        unsigned bits = family == AF_INET ? 32 : 128, alen = bits / 8;
        uint8_t ip[16] = {0}, net[16];
        void *peer = &peers[(op >> 4) & 3];
        uint8_t cidr = (op & 0xc0) == 0xc0 ? rawcidr : (uint8_t)(rawcidr % (bits + 1));

        pos += 2;
        if (pos + alen > size)
            break;
        memcpy(ip, data + pos, alen);
        pos += alen;
        memcpy(net, ip, 16);
        mask_ip(family, net, cidr);

        switch (op & 7) {
        case 0:
        case 1: {
            struct ref_ent *e = ref_find(family, net, cidr);
            if (!e && nref == REF_MAX)
                break;                                  /* keep the reference small */
            int r = wg_allowedips_insert(t, family, ip, cidr, peer);
            if (cidr > bits) {
                CHECK(r == -EINVAL);
                break;
            }
            CHECK(r == 0);
            if (!e) {
                e = &ref[nref++];
                e->family = family;
                memcpy(e->ip, net, 16);
                e->cidr = cidr;
            }
            e->peer = peer;
            break;
        }
        case 2:
        case 6: {
            if ((op & 7) == 6 && nref) {                /* an existing prefix */
                struct ref_ent *x = &ref[rawcidr % nref];
                family = x->family;
                memcpy(ip, x->ip, 16);
                memcpy(net, x->ip, 16);
                cidr = x->cidr;
            }
            int r = wg_allowedips_remove(t, family, ip, cidr, peer);
            if (cidr > (family == AF_INET ? 32 : 128)) {
                CHECK(r == -EINVAL);
                break;
            }
            struct ref_ent *e = ref_find(family, net, cidr);
            if (e && e->peer == peer) {
                CHECK(r == 0);
                *e = ref[--nref];
            } else {
                CHECK(r == -ENOENT);
            }
            break;
        }
        case 3:
            wg_allowedips_remove_peer(t, peer);
            for (size_t i = 0; i < nref;)
                if (ref[i].peer == peer)
                    ref[i] = ref[--nref];
                else
                    i++;
            break;
        case 4:
            CHECK(wg_allowedips_lookup(t, family, ip) == ref_lookup(family, ip));
            break;
        case 5:
            check_list(t, peer);
            CHECK(wg_allowedips_check(t));
            break;
        case 7:
            /* The last address of every stored prefix of this family. */
            for (size_t i = 0; i < nref; i++) {
                if (ref[i].family != family)
                    continue;
                memcpy(ip, ref[i].ip, 16);
                for (unsigned b = ref[i].cidr; b < bits; b++)
                    ip[b / 8] |= (uint8_t)(0x80u >> (b % 8));
                CHECK(wg_allowedips_lookup(t, family, ip) == ref_lookup(family, ip));
                CHECK(wg_allowedips_lookup(t, family, ref[i].ip) == ref_lookup(family, ref[i].ip));
            }
            break;
        }
    }
    for (int p = 0; p < 4; p++)
        check_list(t, &peers[p]);
    CHECK(wg_allowedips_check(t));      /* structure: parents, forks, peer lists */
    wg_allowedips_free(t);
    return 0;
}
