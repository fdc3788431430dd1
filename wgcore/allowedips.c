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
    void *peer;                     /* NULL: fork node */
    u128 key;                       /* masked to cidr bits */
    uint8_t cidr;
};

struct wg_allowedips {
    struct aip_node *root4;
    struct aip_node *root6;
};

/* Depth bound for the removal walk: one node per prefix length 0..128. */
#define AIP_MAX_DEPTH 130

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

static struct aip_node **root_of(struct wg_allowedips *t, int family)
{
    if (family == AF_INET)
        return &t->root4;
    if (family == AF_INET6)
        return &t->root6;
    return NULL;
}

static unsigned max_bits(int family)
{
    return family == AF_INET ? 32u : 128u;
}

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
    free_tree(t->root4);
    free_tree(t->root6);
    free(t);
}

static struct aip_node *node_new(u128 key, unsigned cidr, void *peer)
{
    struct aip_node *n = calloc(1, sizeof(*n));

    if (n) {
        n->key = key & mask_of(cidr);
        n->cidr = (uint8_t)cidr;
        n->peer = peer;
    }
    return n;
}

int wg_allowedips_insert(struct wg_allowedips *t, int family, const uint8_t *ip,
                         uint8_t cidr, void *peer)
{
    struct aip_node **slot = t ? root_of(t, family) : NULL;

    if (!slot || !ip || !peer || cidr > max_bits(family))
        return -EINVAL;

    u128 key = key_from_ip(family, ip) & mask_of(cidr);

    for (;;) {
        struct aip_node *n = *slot;

        if (!n) {
            if (!(*slot = node_new(key, cidr, peer)))
                return -ENOMEM;
            return 0;
        }
        unsigned lim = n->cidr < cidr ? n->cidr : cidr;
        unsigned common = common_bits(n->key, key);
        if (common > lim)
            common = lim;

        if (common == n->cidr && common == cidr) {
            n->peer = peer;             /* exists: move to the new peer */
            return 0;
        }
        if (common == n->cidr) {        /* n covers the new prefix: descend */
            slot = &n->child[bit_at(key, n->cidr)];
            continue;
        }
        if (common == cidr) {           /* new prefix covers n: goes above it */
            struct aip_node *nn = node_new(key, cidr, peer);
            if (!nn)
                return -ENOMEM;
            nn->child[bit_at(n->key, cidr)] = n;
            *slot = nn;
            return 0;
        }
        /* They diverge at bit `common`: a fork holds both. */
        struct aip_node *leaf = node_new(key, cidr, peer);
        struct aip_node *fork = node_new(key, common, NULL);
        if (!leaf || !fork) {
            free(leaf);
            free(fork);
            return -ENOMEM;
        }
        fork->child[bit_at(key, common)] = leaf;
        fork->child[bit_at(n->key, common)] = n;
        *slot = fork;
        return 0;
    }
}

/* Restore the invariant at *slot after its node lost its peer or a child:
 * a peerless node with no child goes away, with one child is replaced by
 * that child.  Returns true if the node was removed. */
static bool compact(struct aip_node **slot)
{
    struct aip_node *n = *slot;

    if (n->peer || (n->child[0] && n->child[1]))
        return false;
    *slot = n->child[0] ? n->child[0] : n->child[1];
    free(n);
    return true;
}

int wg_allowedips_remove(struct wg_allowedips *t, int family, const uint8_t *ip,
                         uint8_t cidr, void *peer)
{
    struct aip_node **slot = t ? root_of(t, family) : NULL;
    struct aip_node **path[AIP_MAX_DEPTH];
    unsigned depth = 0;

    if (!slot || !ip || cidr > max_bits(family))
        return -EINVAL;

    u128 key = key_from_ip(family, ip) & mask_of(cidr);

    while (*slot) {
        struct aip_node *n = *slot;

        if (n->cidr > cidr || common_bits(n->key, key) < n->cidr)
            break;
        if (n->cidr == cidr) {
            if (!n->peer || n->peer != peer)
                return -ENOENT;
            n->peer = NULL;
            /* The node may go; if it does, its parent may have become a
             * fork with a single child, which must go too. */
            if (compact(slot) && depth > 0)
                compact(path[depth - 1]);
            return 0;
        }
        path[depth++] = slot;
        slot = &n->child[bit_at(key, n->cidr)];
    }
    return -ENOENT;
}

/* Post-order: children first, so a node sees its final children. */
static void remove_peer_rec(struct aip_node **slot, const void *peer)
{
    struct aip_node *n = *slot;

    if (!n)
        return;
    remove_peer_rec(&n->child[0], peer);
    remove_peer_rec(&n->child[1], peer);
    if (n->peer == peer)
        n->peer = NULL;
    compact(slot);
}

void wg_allowedips_remove_peer(struct wg_allowedips *t, void *peer)
{
    if (!t || !peer)
        return;
    remove_peer_rec(&t->root4, peer);
    remove_peer_rec(&t->root6, peer);
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
        return lookup_tree(t->root4, key_from_ip(AF_INET, ip));
    if (family == AF_INET6)
        return lookup_tree(t->root6, key_from_ip(AF_INET6, ip));
    return NULL;
}

struct list_ctx {
    const void *peer;
    struct wg_allowedip *out;
    size_t max, count;
    int family;
};

static void list_rec(const struct aip_node *n, struct list_ctx *c)
{
    if (!n)
        return;
    if (n->peer == c->peer) {
        if (c->count < c->max) {
            struct wg_allowedip *a = &c->out[c->count];
            a->family = (uint8_t)c->family;
            a->cidr = n->cidr;
            ip_from_key(c->family, n->key, a->ip);
        }
        c->count++;
    }
    list_rec(n->child[0], c);
    list_rec(n->child[1], c);
}

size_t wg_allowedips_list(const struct wg_allowedips *t, const void *peer,
                          struct wg_allowedip *out, size_t max)
{
    struct list_ctx c = { .peer = peer, .out = out, .max = out ? max : 0 };

    if (!t || !peer)
        return 0;
    c.family = AF_INET;
    list_rec(t->root4, &c);
    c.family = AF_INET6;
    list_rec(t->root6, &c);
    return c.count;
}
