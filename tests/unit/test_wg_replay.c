/* test_wg_replay.c - the RFC 6479 replay window: counter 0, exact window
 * edges, ring wraparound, too-old and duplicate counters, the limit, big
 * jumps, and random sequences checked against a naive model (a plain set
 * of every accepted counter). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wgcore/replay.h"

#define W WG_REPLAY_WINDOW
#define NOLIMIT UINT64_MAX
#define REJECT_AFTER_MESSAGES (UINT64_MAX - 8192ull)

static struct wg_replay r;

static void test_zero_and_order(void **state)
{
    wg_replay_init(&r);
    assert_true(wg_replay_accept(&r, 0, NOLIMIT));
    assert_false(wg_replay_accept(&r, 0, NOLIMIT));
    for (uint64_t c = 1; c < 3 * WG_REPLAY_BITS_TOTAL; c++)
        assert_true(wg_replay_accept(&r, c, NOLIMIT));
    for (uint64_t c = 3 * WG_REPLAY_BITS_TOTAL - W - 1; c < 3 * WG_REPLAY_BITS_TOTAL; c++)
        assert_false(wg_replay_accept(&r, c, NOLIMIT));
    assert_false(wg_replay_accept(&r, 0, NOLIMIT));
}

static void test_window_edges(void **state)
{
    const uint64_t g = 20000;

    wg_replay_init(&r);
    assert_true(wg_replay_accept(&r, g, NOLIMIT));
    /* Exactly W behind is still inside, W + 1 is too old. */
    assert_false(wg_replay_accept(&r, g - W - 1, NOLIMIT));
    assert_true(wg_replay_accept(&r, g - W, NOLIMIT));
    assert_false(wg_replay_accept(&r, g - W, NOLIMIT));
    assert_true(wg_replay_accept(&r, g - 1, NOLIMIT));
    assert_true(wg_replay_accept(&r, g - W + 1, NOLIMIT));
    /* Advancing by one pushes g - W out. */
    assert_true(wg_replay_accept(&r, g + 1, NOLIMIT));
    assert_false(wg_replay_accept(&r, g - W + 1 - 1, NOLIMIT));
    assert_false(wg_replay_accept(&r, g - W + 1, NOLIMIT));   /* duplicate */
    assert_true(wg_replay_accept(&r, g - W + 2, NOLIMIT));

    /* Right after the start: everything from 0 is within the window. */
    wg_replay_init(&r);
    assert_true(wg_replay_accept(&r, W, NOLIMIT));
    assert_true(wg_replay_accept(&r, 0, NOLIMIT));
    wg_replay_init(&r);
    assert_true(wg_replay_accept(&r, W + 1, NOLIMIT));
    assert_false(wg_replay_accept(&r, 0, NOLIMIT));
    assert_true(wg_replay_accept(&r, 1, NOLIMIT));
}

/* Every counter of the window survives many trips around the ring: the
 * head moving over a word must clear it, and only it. */
static void test_ring_wraparound(void **state)
{
    wg_replay_init(&r);
    uint64_t c = 0;
    for (int lap = 0; lap < 40; lap++) {
        uint64_t step = 1 + (uint64_t)lap * 997 % 300;
        c += step;
        assert_true(wg_replay_accept(&r, c, NOLIMIT));
        assert_false(wg_replay_accept(&r, c, NOLIMIT));
        /* every other counter in the window behind c, out of order */
        for (uint64_t d = 1; d <= W && d <= c; d += 61)
            wg_replay_accept(&r, c - d, NOLIMIT);
        for (uint64_t d = 1; d <= W && d <= c; d += 61)
            assert_false(wg_replay_accept(&r, c - d, NOLIMIT));
    }
    /* A jump of more than the whole ring clears everything. */
    wg_replay_init(&r);
    for (uint64_t i = 0; i < WG_REPLAY_BITS_TOTAL; i++)
        assert_true(wg_replay_accept(&r, i, NOLIMIT));
    c = 5 * WG_REPLAY_BITS_TOTAL + 17;
    assert_true(wg_replay_accept(&r, c, NOLIMIT));
    for (uint64_t d = 1; d <= W; d++)
        assert_true(wg_replay_accept(&r, c - d, NOLIMIT));
    assert_false(wg_replay_accept(&r, c - W - 1, NOLIMIT));
    /* Jumps of exactly one ring and one word. */
    wg_replay_init(&r);
    assert_true(wg_replay_accept(&r, 100, NOLIMIT));
    assert_true(wg_replay_accept(&r, 100 + WG_REPLAY_BITS_TOTAL, NOLIMIT));
    assert_false(wg_replay_accept(&r, 100, NOLIMIT));       /* too old */
    assert_true(wg_replay_accept(&r, 100 + WG_REPLAY_BITS_TOTAL - W, NOLIMIT));
    assert_true(wg_replay_accept(&r, 100 + WG_REPLAY_BITS_TOTAL + 64, NOLIMIT));
    assert_false(wg_replay_accept(&r, 100 + WG_REPLAY_BITS_TOTAL + 64, NOLIMIT));
    assert_false(wg_replay_accept(&r, 100 + WG_REPLAY_BITS_TOTAL, NOLIMIT));
}

static void test_limit(void **state)
{
    wg_replay_init(&r);
    assert_false(wg_replay_accept(&r, REJECT_AFTER_MESSAGES, REJECT_AFTER_MESSAGES));
    assert_false(wg_replay_accept(&r, UINT64_MAX, REJECT_AFTER_MESSAGES));
    assert_true(wg_replay_accept(&r, REJECT_AFTER_MESSAGES - 1, REJECT_AFTER_MESSAGES));
    assert_false(wg_replay_accept(&r, REJECT_AFTER_MESSAGES - 1, REJECT_AFTER_MESSAGES));
    assert_true(wg_replay_accept(&r, REJECT_AFTER_MESSAGES - 2, REJECT_AFTER_MESSAGES));
    assert_false(wg_replay_accept(&r, 0, REJECT_AFTER_MESSAGES));
    /* The largest representable counter with the largest limit. */
    wg_replay_init(&r);
    assert_true(wg_replay_accept(&r, UINT64_MAX - 1, UINT64_MAX));
    assert_false(wg_replay_accept(&r, UINT64_MAX - 1, UINT64_MAX));
    assert_false(wg_replay_accept(&r, UINT64_MAX, UINT64_MAX));
    assert_true(wg_replay_accept(&r, UINT64_MAX - 1 - W, UINT64_MAX));
    assert_false(wg_replay_accept(&r, UINT64_MAX - 2 - W, UINT64_MAX));
    /* limit 0 accepts nothing */
    wg_replay_init(&r);
    assert_false(wg_replay_accept(&r, 0, 0));
}

/* ---- random sequences vs a naive model ---- */
static uint64_t rs;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

#define SPAN (1u << 21)
static uint8_t seen[SPAN];

static void test_random_vs_model(void **state)
{
    long total = 0;

    for (int run = 0; run < 20; run++) {
        bool any = false;
        int steps = 0;
        uint64_t g = 0;
        const uint64_t limit = SPAN - 100;

        rs = 0x1234567ull + (uint64_t)run * 7919;
        memset(seen, 0, sizeof(seen));
        wg_replay_init(&r);
        for (int i = 0; i < 60000; i++) {
            uint64_t c;
            switch (rnd() % 7) {
            case 0: c = g + 1; break;
            case 1: c = g + rnd() % 20; break;
            case 2: c = g > W + 50 ? g - W - 50 + rnd() % 100 : rnd() % 100; break;  /* edge */
            case 3: c = g - (g ? rnd() % (g + 1) : 0); break;                        /* older */
            case 4:                                                                  /* jump */
                c = g + (rnd() % 16 ? rnd() % 70 : rnd() % (2 * WG_REPLAY_BITS_TOTAL));  /* past the ring */
                break;
            case 5: c = g > W ? g - W + rnd() % 3 - 1 : g; break;                    /* edge */
            default: c = rnd() % (g + 1); break;
            }
            if (c >= SPAN)
                c = rnd() % SPAN;
            bool want = c < limit && !seen[c] && (!any || c > g || g - c <= W);
            bool got = wg_replay_accept(&r, c, limit);
            if (got != want)
                fail_msg("run %d step %d counter %llu greatest %llu: got %d want %d", run, i,
                         (unsigned long long)c, (unsigned long long)g, got, want);
            if (want) {
                seen[c] = 1;
                if (!any || c > g)
                    g = c;
                any = true;
            }
            if (g > limit - 1000)
                break;
            steps++;
        }
        total += steps;
    }
    assert_true(total > 20 * 20000);     /* the runs really exercised the window */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_and_order),
        cmocka_unit_test(test_window_edges),
        cmocka_unit_test(test_ring_wraparound),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_random_vs_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
