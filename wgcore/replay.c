/* replay.c - RFC 6479 anti-replay window.
 *
 * The bitmap is a ring of 64-bit words.  Bit (c mod 64) of word
 * (c / 64 mod N) records counter c.  When a newer counter arrives, the
 * words between the old and the new head are cleared (at most the whole
 * ring), instead of shifting the bitmap: O(1) amortised per packet.  One
 * word of the ring is always the partially-filled head word, which is why
 * the usable window is WG_REPLAY_BITS_TOTAL - 64.
 */
#include <string.h>

#include "wgcore/replay.h"

#define WORDS (WG_REPLAY_BITS_TOTAL / 64u)

_Static_assert((WORDS & (WORDS - 1)) == 0, "ring size must be a power of two");

void wg_replay_init(struct wg_replay *r)
{
    memset(r, 0, sizeof(*r));
}

bool wg_replay_accept(struct wg_replay *r, uint64_t counter, uint64_t limit)
{
    if (counter >= limit)
        return false;

    /* Work with counter + 1 so that "greatest" can use 0 for "nothing
     * seen"; counter < limit <= UINT64_MAX makes this overflow-free. */
    uint64_t c = counter + 1;

    if (c > r->greatest) {
        uint64_t new_word = c / 64u, old_word = r->greatest / 64u;
        uint64_t n = new_word - old_word;

        if (n > WORDS)
            n = WORDS;
        /* Clear the words the head moves over (they held counters that
         * have now fallen out of the window). */
        for (uint64_t i = 1; i <= n; i++)
            r->bitmap[(old_word + i) & (WORDS - 1)] = 0;
        r->greatest = c;
    } else if (r->greatest - c > WG_REPLAY_WINDOW) {
        /* Too old.  Up to WINDOW behind the greatest is still tracked:
         * its word is at most WORDS - 1 behind the head word. */
        return false;
    }

    uint64_t *w = &r->bitmap[(c / 64u) & (WORDS - 1)];
    uint64_t bit = 1ull << (c & 63u);

    if (*w & bit)
        return false;                   /* replay */
    *w |= bit;
    return true;
}
