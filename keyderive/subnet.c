/* subnet.c - subnet parsing and host-address selection for `keyderive peers`.
 *
 * Nothing here is secret; everything is pure and reentrant.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "keyderive/subnet.h"

#define U128_MAX (~(kd_u128)0)

static unsigned int family_bits(int family)
{
    return family == AF_INET ? 32 : 128;
}

static kd_u128 address_value(const struct kd_address *a)
{
    size_t n = a->family == AF_INET ? 4 : 16;
    kd_u128 v = 0;

    for (size_t i = 0; i < n; i++)
        v = (v << 8) | a->bytes[i];
    return v;
}

void kd_subnet_address(struct kd_address *out, const struct kd_subnet *s, kd_u128 v)
{
    size_t n = s->family == AF_INET ? 4 : 16;

    memset(out, 0, sizeof(*out));
    out->family = s->family;
    for (size_t i = n; i-- > 0; v >>= 8)
        out->bytes[i] = (uint8_t)v;
}

/* Mask of the host part: the low (bits - prefix) bits.  Shifting a 128-bit
 * value by 128 is undefined, hence the special case. */
static kd_u128 host_mask(unsigned int bits, unsigned int prefix)
{
    unsigned int host_bits = bits - prefix;

    return host_bits >= 128 ? U128_MAX : (((kd_u128)1 << host_bits) - 1);
}

/* Plain decimal, no sign, no leading zeros, no overflow; 0 or -1. */
static int parse_dec(const char *p, size_t len, kd_u128 *out)
{
    kd_u128 v = 0;

    if (len == 0 || (p[0] == '0' && len > 1))
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned int d;

        if (p[i] < '0' || p[i] > '9')
            return -1;
        d = (unsigned int)(p[i] - '0');
        if (v > (U128_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int kd_subnet_parse(struct kd_subnet *out, const char *cidr, const char **why)
{
    struct kd_address a;
    const char *slash;
    kd_u128 prefix, mask;
    unsigned int bits;

    memset(out, 0, sizeof(*out));
    slash = cidr ? strchr(cidr, '/') : NULL;
    if (!slash) {
        *why = "subnet needs a prefix length, e.g. 10.0.42.0/24";
        return -1;
    }
    if (kd_address_parse(&a, cidr) != 0) {
        *why = "subnet is not an IPv4 or IPv6 address with a valid /prefix";
        return -1;
    }
    /* kd_address_parse validated the prefix range for the family. */
    if (parse_dec(slash + 1, strlen(slash + 1), &prefix) != 0) {
        *why = "subnet prefix length is not a number";
        return -1;
    }
    bits = family_bits(a.family);
    mask = host_mask(bits, (unsigned int)prefix);
    out->family = a.family;
    out->prefix = (unsigned int)prefix;
    out->network = address_value(&a);
    if (out->network & mask) {
        /* 10.0.42.5/24 is almost certainly a typo; guessing which network
         * was meant would silently print keys for the wrong hosts. */
        *why = "subnet has host bits set (give the network address, e.g. 10.0.42.0/24)";
        memset(out, 0, sizeof(*out));
        return -1;
    }
    out->last = out->network | mask;
    return 0;
}

/* One end of a --range: an address in s's family, or an offset from the
 * network address.  0, -1 if malformed, -2 if outside the subnet. */
static int parse_range_end(const struct kd_subnet *s, const char *p, size_t len, kd_u128 *out)
{
    char buf[INET6_ADDRSTRLEN + 1];
    struct kd_address a;
    kd_u128 off;

    if (memchr(p, '.', len) || memchr(p, ':', len)) {
        if (len >= sizeof(buf) || memchr(p, '/', len))
            return -1;
        memcpy(buf, p, len);
        buf[len] = '\0';
        if (kd_address_parse(&a, buf) != 0 || a.family != s->family)
            return -1;
        *out = address_value(&a);
        return *out < s->network || *out > s->last ? -2 : 0;
    }
    if (parse_dec(p, len, &off) != 0)
        return -1;
    if (off > s->last - s->network)
        return -2;
    *out = s->network + off;
    return 0;
}

int kd_subnet_select(struct kd_host_range *out, const struct kd_subnet *s,
                     bool skip_gateway, const char *range, const char **why)
{
    unsigned int bits = family_bits(s->family);
    struct kd_host_range r = { s->network, s->last };

    /* Network (and IPv4 broadcast) addresses are never endpoints, except
     * in the point-to-point and single-host prefixes where every address
     * is one. */
    if (s->prefix + 2 <= bits) {
        r.first++;
        if (s->family == AF_INET)
            r.last--;
    }
    if (skip_gateway) {
        if (r.first == r.last) {
            *why = "--skip-gateway leaves no host address in this subnet";
            return -1;
        }
        r.first++;
    }
    if (range) {
        const char *dash = strchr(range, '-');
        kd_u128 lo = 0, hi = 0;
        int rlo = -1, rhi = -1;

        if (dash && !strchr(dash + 1, '-')) {
            rlo = parse_range_end(s, range, (size_t)(dash - range), &lo);
            rhi = parse_range_end(s, dash + 1, strlen(dash + 1), &hi);
        }
        if (rlo == -1 || rhi == -1) {
            *why = "--range must be FIRST-LAST, each an address inside the subnet or an offset from its network address";
            return -1;
        }
        if (rlo || rhi) {
            *why = "--range goes outside the subnet";
            return -1;
        }
        if (lo > hi) {
            *why = "--range FIRST is after LAST";
            return -1;
        }
        if (hi < r.first || lo > r.last) {
            *why = "--range selects no host address (network, broadcast and skipped gateway never get a peer)";
            return -1;
        }
        if (lo > r.first)
            r.first = lo;
        if (hi < r.last)
            r.last = hi;
    }
    *out = r;
    return 0;
}

kd_u128 kd_host_range_count(const struct kd_host_range *r)
{
    kd_u128 d = r->last - r->first;

    return d == U128_MAX ? U128_MAX : d + 1;
}

void kd_u128_to_dec(char out[40], kd_u128 v)
{
    char tmp[40];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + (unsigned int)(v % 10));
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}
