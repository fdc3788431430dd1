/* test_wg_log.c - the logger: LOG_LEVEL parsing, level filtering, one
 * timestamped line per message, long messages truncated with their
 * newline kept, errno preserved. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "wgcore/wgcore.h"

/* Runs fn with stderr redirected into a buffer; returns its text. */
static char captured[8192];

static void capture(void (*fn)(void))
{
    FILE *f = tmpfile();
    int saved = dup(STDERR_FILENO);
    size_t n;

    assert_non_null(f);
    dup2(fileno(f), STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(f);
    n = fread(captured, 1, sizeof(captured) - 1, f);
    captured[n] = 0;
    fclose(f);
}

static void test_from_env(void **state)
{
    unsetenv("LOG_LEVEL");
    assert_int_equal(wg_log_level_from_env(), WG_LOG_ERROR);
    setenv("LOG_LEVEL", "debug", 1);
    assert_int_equal(wg_log_level_from_env(), WG_LOG_DEBUG);
    setenv("LOG_LEVEL", "verbose", 1);
    assert_int_equal(wg_log_level_from_env(), WG_LOG_VERBOSE);
    setenv("LOG_LEVEL", "error", 1);
    assert_int_equal(wg_log_level_from_env(), WG_LOG_ERROR);
    setenv("LOG_LEVEL", "silent", 1);
    assert_int_equal(wg_log_level_from_env(), WG_LOG_SILENT);
    setenv("LOG_LEVEL", "nonsense", 1);
    assert_int_equal(wg_log_level_from_env(), WG_LOG_ERROR);
    unsetenv("LOG_LEVEL");
}

static void emit_all(void)
{
    errno = EPIPE;
    wg_log(WG_LOG_ERROR, "e %d", 1);
    wg_log(WG_LOG_VERBOSE, "v %s", "two");
    wg_log(WG_LOG_DEBUG, "d");
    wg_log(WG_LOG_SILENT, "never");
    assert_int_equal(errno, EPIPE);
}

static int lines(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_levels(void **state)
{
    wg_log_set_level(WG_LOG_ERROR);
    capture(emit_all);
    assert_int_equal(lines(captured), 1);
    assert_non_null(strstr(captured, "ERROR: e 1\n"));
    /* 2026-11-26T14:16:05.609Z */
    assert_int_equal(captured[4], '-');
    assert_int_equal(captured[10], 'T');
    assert_int_equal(captured[23], 'Z');

    wg_log_set_level(WG_LOG_VERBOSE);
    capture(emit_all);
    assert_int_equal(lines(captured), 2);
    assert_non_null(strstr(captured, "v two\n"));

    wg_log_set_level(WG_LOG_DEBUG);
    capture(emit_all);
    assert_int_equal(lines(captured), 3);
    assert_null(strstr(captured, "never"));

    wg_log_set_level(WG_LOG_SILENT);
    capture(emit_all);
    assert_int_equal(captured[0], 0);
    wg_log_set_level(WG_LOG_ERROR);
}

static void emit_long(void)
{
    char big[3000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    wg_log(WG_LOG_ERROR, "%s", big);
    wg_log(WG_LOG_ERROR, "after");
}

static void test_truncation(void **state)
{
    wg_log_set_level(WG_LOG_ERROR);
    capture(emit_long);
    assert_int_equal(lines(captured), 2);
    assert_true(strlen(captured) < 1100);
    assert_non_null(strstr(captured, "xxx\n"));
    assert_non_null(strstr(captured, "after\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_env),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
