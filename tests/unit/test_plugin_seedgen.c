/* test_plugin_seedgen.c - the first-start seed: created 0600 with 32 random
 * bytes in base64 (directory made 0700 if missing), two seeds differ, and an
 * existing file - the user's own seed, or even an empty one - is never
 * touched; an unwritable place is an error, not a half-written file. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "plugin/seedgen.h"

static char dir[64];

static int setup(void **state)
{
    strcpy(dir, "/tmp/seedgen.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static size_t seed_bytes(const char *path, char text[128])
{
    unsigned char raw[64];
    size_t n = 0;
    FILE *f = fopen(path, "r");

    assert_non_null(f);
    assert_non_null(fgets(text, 128, f));
    fclose(f);
    text[strcspn(text, "\n")] = '\0';
    assert_int_equal(sodium_base642bin(raw, sizeof(raw), text, strlen(text), NULL, &n, NULL,
                                       sodium_base64_VARIANT_ORIGINAL), 0);
    return n;
}

static void test_create_and_keep(void **state)
{
    char path[128], path2[128], a[128], b[128];
    struct stat st;

    snprintf(path, sizeof(path), "%s/sub/seed", dir);
    assert_int_equal(seedgen_create(path), 1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path2, sizeof(path2), "%s/sub", dir);
    assert_int_equal(stat(path2, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(seed_bytes(path, a), SEEDGEN_BYTES);
    /* Again: kept as it is. */
    assert_int_equal(seedgen_create(path), 0);
    seed_bytes(path, b);
    assert_string_equal(a, b);
    /* Another one differs. */
    snprintf(path2, sizeof(path2), "%s/sub/seed2", dir);
    assert_int_equal(seedgen_create(path2), 1);
    seed_bytes(path2, b);
    assert_string_not_equal(a, b);
    /* An existing empty file is the user's business: untouched. */
    snprintf(path2, sizeof(path2), "%s/empty", dir);
    fclose(fopen(path2, "w"));
    assert_int_equal(seedgen_create(path2), 0);
    assert_int_equal(stat(path2, &st), 0);
    assert_int_equal(st.st_size, 0);
}

static void test_unwritable(void **state)
{
    char path[128];

    /* Two missing levels: only the last directory is made. */
    snprintf(path, sizeof(path), "%s/a/b/seed", dir);
    assert_int_equal(seedgen_create(path), -ENOENT);
    assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_keep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
