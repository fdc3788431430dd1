/* allowedips.c - cryptokey routing table: one path-compressed binary trie
 * per address family.
 *
 * Keys are held as 128-bit integers with the first address bit in bit 127
 * (IPv4 addresses occupy the top 32 bits), so masking, comparing and
 * finding the first differing bit are single integer operations.
 *
 * Invariant: every node either owns a peer or has exactly two children
 * (an intermediate "fork" that path compression needs).  Insert and
 * remove keep it, so the trie never holds more than 2n-1 nodes for n
 * prefixes and a lookup visits at most one node per distinct prefix
 * length on the path.  A node's children are chosen by the key bit at
 * position node->cidr; both children extend node's prefix.
 *
 * Nodes also hang on per-peer lists (insertion order), so listing or
 * removing one peer's prefixes costs only that peer's share, and a node
 * knows its parent, so removal can restore the invariant bottom-up.
 *
 * Lookup is iterative and allocation-free.  Writers are serialised by the
 * caller (proto.c), which also keeps readers out while writing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "wgcore/allowedips.h"

typedef unsigned __int128 u128;

struct aip_node {
    struct aip_node *child[2];
    struct aip_node *parent;        /* NULL for a root */
    struct aip_node *pnext, *pprev; /* the owning peer's list (same family) */
    void *peer;                     /* NULL: fork node */
    u128 key;                       /* masked to cidr bits */
    uint8_t cidr;
    uint8_t fam;                    /* 0 IPv4, 1 IPv6 */
};

/* Per-peer lists make list and remove_peer O(prefixes of that peer): a
 * get on a device with dozens of peers and tens of thousands of prefixes
 * would otherwise walk the whole trie once per peer.  Peers are opaque,
 * so the list heads live in a small open-addressing map keyed by the
 * peer pointer (linear probing, backward-shift deletion). */
struct peer_ent {
    void *peer;                     /* NULL: free slot */
    struct aip_node *head[2], *tail[2];
};

struct wg_allowedips {
    struct aip_node *root[2];
    struct peer_ent *map;
    size_t map_cap;                 /* 0 or a power of two */
    size_t map_used;
};

static inline u128 mask_of(unsigned cidr)
{
    return cidr == 0 ? 0 : (~(u128)0) << (128 - cidr);
}

static inline unsigned bit_at(u128 key, unsigned pos)
{
    return (unsigned)(key >> (127 - pos)) & 1u;
}

/* Number of leading bits in which a and b agree (128 if equal). */
static inline unsigned common_bits(u128 a, u128 b)
{
    u128 x = a ^ b;
    uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;

    if (hi)
        return (unsigned)__builtin_clzll(hi);
    if (lo)
        return 64u + (unsigned)__builtin_clzll(lo);
    return 128u;
}

static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

static inline uint32_t load_be32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "allowedips.c: the byte-swapping loaders assume a little-endian host"
#endif

static u128 key_from_ip(int family, const uint8_t *ip)
{
    if (family == AF_INET)
        return (u128)load_be32(ip) << 96;
    return ((u128)load_be64(ip) << 64) | load_be64(ip + 8);
}

static void ip_from_key(int family, u128 key, uint8_t out[16])
{
    memset(out, 0, 16);
    for (unsigned i = 0; i < (family == AF_INET ? 4u : 16u); i++)
        out[i] = (uint8_t)(key >> (120 - 8 * i));
}

static int fam_index(int family)
{
    return family == AF_INET ? 0 : family == AF_INET6 ? 1 : -1;
}

static unsigned max_bits(int family)
{
    return family == AF_INET ? 32u : 128u;
}

/* ---- peer map ---- */

static size_t map_home(const struct wg_allowedips *t, const void *peer)
{
    uint64_t h = (uint64_t)(uintptr_t)peer * 0x9E3779B97F4A7C15ull;

    return (size_t)(h ^ (h >> 29)) & (t->map_cap - 1);
}

static struct peer_ent *map_find(const struct wg_allowedips *t, const void *peer)
{
    if (!t->map_cap)
        return NULL;
    for (size_t i = map_home(t, peer);; i = (i + 1) & (t->map_cap - 1)) {
        if (t->map[i].peer == peer)
            return &t->map[i];
        if (!t->map[i].peer)
            return NULL;
    }
}

static bool map_grow(struct wg_allowedips *t)
{
    size_t ncap = t->map_cap ? t->map_cap * 2 : 16;
    struct peer_ent *old = t->map, *nmap = calloc(ncap, sizeof(*nmap));
    size_t ocap = t->map_cap;

    if (!nmap)
        return false;
    t->map = nmap;
    t->map_cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].peer)
            continue;
        size_t j = map_home(t, old[i].peer);
        while (nmap[j].peer)
            j = (j + 1) & (ncap - 1);
        nmap[j] = old[i];
    }
    free(old);
    return true;
}

/* Makes sure peer has an entry (possibly with empty lists). */
static bool map_reserve(struct wg_allowedips *t, void *peer)
{
    if (map_find(t, peer))
        return true;
    if ((t->map_used + 1) * 2 > t->map_cap && !map_grow(t))
        return false;
    size_t i = map_home(t, peer);
    while (t->map[i].peer)
        i = (i + 1) & (t->map_cap - 1);
    memset(&t->map[i], 0, sizeof(t->map[i]));
    t->map[i].peer = peer;
    t->map_used++;
    return true;
}

/* Drops peer's entry if it owns nothing any more. */
static void map_prune(struct wg_allowedips *t, const void *peer)
{
    struct peer_ent *e = map_find(t, peer);

    if (!e || e->head[0] || e->head[1])
        return;
    size_t mask = t->map_cap - 1, i = (size_t)(e - t->map), j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!t->map[j].peer)
            break;
        size_t k = map_home(t, t->map[j].peer);
        /* The entry at j may fill the hole at i unless its home lies
         * cyclically in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            t->map[i] = t->map[j];
            i = j;
        }
    }
    memset(&t->map[i], 0, sizeof(t->map[i]));
    t->map_used--;
}

static void list_link(struct wg_allowedips *t, struct aip_node *n)
{
    struct peer_ent *e = map_find(t, n->peer);     /* reserved by the caller */

    n->pnext = NULL;
    n->pprev = e->tail[n->fam];
    if (n->pprev)
        n->pprev->pnext = n;
    else
        e->head[n->fam] = n;
    e->tail[n->fam] = n;
}

/* Unlinks n from its peer's list; the caller prunes the entry if wanted. */
static void list_unlink(struct wg_allowedips *t, struct aip_node *n)
{
    struct peer_ent *e = map_find(t, n->peer);

    if (n->pprev)
        n->pprev->pnext = n->pnext;
    else
        e->head[n->fam] = n->pnext;
    if (n->pnext)
        n->pnext->pprev = n->pprev;
    else
        e->tail[n->fam] = n->pprev;
    n->pnext = n->pprev = NULL;
}

/* ---- trie ---- */

struct wg_allowedips *wg_allowedips_new(void)
{
    return calloc(1, sizeof(struct wg_allowedips));
}

static void free_tree(struct aip_node *n)
{
    /* Depth is bounded (<= 129), so recursion is safe. */
    if (!n)
        return;
    free_tree(n->child[0]);
    free_tree(n->child[1]);
    free(n);
}

void wg_allowedips_free(struct wg_allowedips *t)
{
    if (!t)
        return;
    free_tree(t->root[0]);
    free_tree(t->root[1]);
    free(t->map);
    free(t);
}

static struct aip_node *node_new(u128 key, unsigned cidr, void *peer, int fi)
{
    struct aip_node *n = calloc(1, sizeof(*n));

    if (n) {
        n->key = key & mask_of(cidr);
        n->cidr = (uint8_t)cidr;
        n->peer = peer;
        n->fam = (uint8_t)fi;
    }
    return n;
}

int wg_allowedips_insert(struct wg_allowedips *t, int family, const uint8_t *ip,
                         uint8_t cidr, void *peer)
{
    int fi = fam_index(family);

    if (!t || fi < 0 || !ip || !peer || cidr > max_bits(family))
        return -EINVAL;
    if (!map_reserve(t, peer))
        return -ENOMEM;

    u128 key = key_from_ip(family, ip) & mask_of(cidr);
    struct aip_node **slot = &t->root[fi], *parent = NULL, *nn;

    for (;;) {
        struct aip_node *n = *slot;

        if (!n) {
            if (!(nn = node_new(key, cidr, peer, fi)))
                goto enomem;
            nn->parent = parent;
            *slot = nn;
            break;
        }
        unsigned lim = n->cidr < cidr ? n->cidr : cidr;
        unsigned common = common_bits(n->key, key);
        if (common > lim)
            common = lim;

        if (common == n->cidr && common == cidr) {
            /* Exists (or is a fork): it moves to the new peer. */
            if (n->peer == peer)
                return 0;
            if (n->peer) {
                void *old = n->peer;
                list_unlink(t, n);
                map_prune(t, old);
            }
            n->peer = peer;
            list_link(t, n);
            return 0;
        }
        if (common == n->cidr) {        /* n covers the new prefix: descend */
            parent = n;
            slot = &n->child[bit_at(key, n->cidr)];
            continue;
        }
        if (common == cidr) {           /* new prefix covers n: goes above it */
            if (!(nn = node_new(key, cidr, peer, fi)))
                goto enomem;
            nn->child[bit_at(n->key, cidr)] = n;
            nn->parent = n->parent;
            n->parent = nn;
            *slot = nn;
            break;
        }
        /* They diverge at bit `common`: a fork holds both. */
        struct aip_node *fork = node_new(key, common, NULL, fi);
        if (!fork || !(nn = node_new(key, cidr, peer, fi))) {
            free(fork);
            goto enomem;
        }
        fork->child[bit_at(key, common)] = nn;
        fork->child[bit_at(n->key, common)] = n;
        fork->parent = n->parent;
        n->parent = fork;
        nn->parent = fork;
        *slot = fork;
        break;
    }
    list_link(t, nn);
    return 0;
enomem:
    map_prune(t, peer);
    return -ENOMEM;
}

/* n lost its peer (or a child): keep the invariant that a peerless node
 * has two children.  Removing a childless node may leave its parent a
 * peerless node with one child, so walk up. */
static void compact_up(struct wg_allowedips *t, struct aip_node *n)
{
    while (n && !n->peer && !(n->child[0] && n->child[1])) {
        struct aip_node *child = n->child[0] ? n->child[0] : n->child[1];
        struct aip_node *parent = n->parent;
        struct aip_node **slot = parent ? &parent->child[parent->child[1] == n]
                                        : &t->root[n->fam];

        *slot = child;
        if (child)
            child->parent = parent;
        free(n);
        if (child)
            break;                      /* parent keeps its child count */
        n = parent;
    }
}

int wg_allowedips_remove(struct wg_allowedips *t, int family, const uint8_t *ip,
                         uint8_t cidr, void *peer)
{
    int fi = fam_index(family);

    if (!t || fi < 0 || !ip || cidr > max_bits(family))
        return -EINVAL;

    u128 key = key_from_ip(family, ip) & mask_of(cidr);
    struct aip_node *n = t->root[fi];

    while (n && n->cidr <= cidr && common_bits(n->key, key) >= n->cidr) {
        if (n->cidr == cidr) {
            if (!peer || n->peer != peer)
                return -ENOENT;
            list_unlink(t, n);
            map_prune(t, peer);
            n->peer = NULL;
            compact_up(t, n);
            return 0;
        }
        n = n->child[bit_at(key, n->cidr)];
    }
    return -ENOENT;
}

void wg_allowedips_remove_peer(struct wg_allowedips *t, void *peer)
{
    struct peer_ent *e = t && peer ? map_find(t, peer) : NULL;

    if (!e)
        return;
    for (int fi = 0; fi < 2; fi++) {
        struct aip_node *n = e->head[fi];
        e->head[fi] = e->tail[fi] = NULL;
        while (n) {
            struct aip_node *next = n->pnext;
            /* compact_up frees only peerless nodes: n and forks above it,
             * never another node of this list. */
            n->pnext = n->pprev = NULL;
            n->peer = NULL;
            compact_up(t, n);
            n = next;
        }
    }
    map_prune(t, peer);
}

static void *lookup_tree(const struct aip_node *n, u128 key)
{
    void *best = NULL;

    while (n) {
        if (common_bits(n->key, key) < n->cidr)
            break;
        if (n->peer)
            best = n->peer;
        if (n->cidr >= 128)
            break;
        n = n->child[bit_at(key, n->cidr)];
    }
    return best;
}

void *wg_allowedips_lookup(const struct wg_allowedips *t, int family, const uint8_t *ip)
{
    if (!t || !ip)
        return NULL;
    if (family == AF_INET)
        return lookup_tree(t->root[0], key_from_ip(AF_INET, ip));
    if (family == AF_INET6)
        return lookup_tree(t->root[1], key_from_ip(AF_INET6, ip));
    return NULL;
}

size_t wg_allowedips_list(const struct wg_allowedips *t, const void *peer,
                          struct wg_allowedip *out, size_t max)
{
    const struct peer_ent *e = t && peer ? map_find(t, peer) : NULL;
    size_t count = 0;

    if (!e)
        return 0;
    if (!out)
        max = 0;
    /* IPv4 first, then IPv6; each in the order the prefixes were added. */
    for (int fi = 0; fi < 2; fi++) {
        int family = fi ? AF_INET6 : AF_INET;
        for (const struct aip_node *n = e->head[fi]; n; n = n->pnext) {
            if (count < max) {
                out[count].family = (uint8_t)family;
                out[count].cidr = n->cidr;
                ip_from_key(family, n->key, out[count].ip);
            }
            count++;
        }
    }
    return count;
}

/* ---- self-check (tests and fuzzing) ---- */

static bool check_tree(const struct wg_allowedips *t, const struct aip_node *n,
                       const struct aip_node *parent, int fi, size_t *owned)
{
    if (!n)
        return true;
    if (n->parent != parent || n->fam != fi || n->cidr > (fi ? 128 : 32) ||
        (n->key & ~mask_of(n->cidr)) != 0)
        return false;
    if (!n->peer && !(n->child[0] && n->child[1]))
        return false;                   /* the compression invariant */
    if (parent) {
        /* extends the parent's prefix, on the side its bit says */
        if (n->cidr <= parent->cidr || common_bits(n->key, parent->key) < parent->cidr ||
            parent->child[bit_at(n->key, parent->cidr)] != n)
            return false;
    }
    if (n->peer) {
        const struct peer_ent *e = map_find(t, n->peer);
        if (!e)
            return false;
        (*owned)++;
    }
    return check_tree(t, n->child[0], n, fi, owned) &&
           check_tree(t, n->child[1], n, fi, owned);
}

bool wg_allowedips_check(const struct wg_allowedips *t)
{
    size_t owned = 0, listed = 0, used = 0;

    for (int fi = 0; fi < 2; fi++)
        if (!check_tree(t, t->root[fi], NULL, fi, &owned))
            return false;
    for (size_t i = 0; i < t->map_cap; i++) {
        const struct peer_ent *e = &t->map[i];
        if (!e->peer)
            continue;
        used++;
        if (!e->head[0] && !e->head[1])
            return false;               /* empty entries are pruned */
        for (int fi = 0; fi < 2; fi++) {
            const struct aip_node *prev = NULL;
            for (const struct aip_node *n = e->head[fi]; n; prev = n, n = n->pnext) {
                if (n->peer != e->peer || n->fam != fi || n->pprev != prev)
                    return false;
                listed++;
            }
            if (e->tail[fi] != prev)
                return false;
        }
    }
    return used == t->map_used && listed == owned;
}
