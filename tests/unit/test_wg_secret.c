/* test_wg_secret.c - secret memory (wgcore/secret_mem.c): zeroed and page
 * aligned, marked "dd" (no dump) in smaps, locked (VmLck grows, and goes
 * back on free), wiped before it is unmapped (munmap is wrapped by the
 * linker, see tests/module.mk), and used for the identity, peers and
 * keypairs (the "dd" mappings follow wg_proto create/apply/destroy and
 * keypairs).  Sanitizer builds replace mlock with a no-op, so VmLck is
 * only checked in normal builds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "wgcore/clock.h"
#include "wgcore/keypair.h"
#include "wgcore/proto.h"
#include "wgcore/secret_mem.h"
#include "wgcore/wgcore.h"

/* ---- munmap seen by the linker's --wrap=munmap: was it all zero? ---- */
int __real_munmap(void *addr, size_t len);
int __wrap_munmap(void *addr, size_t len);

static void *watched;               /* the mapping whose unmap we check */
static int watched_unmaps;
static bool watched_was_zero;

int __wrap_munmap(void *addr, size_t len)
{
    if (watched && addr == watched) {
        const unsigned char *b = addr;
        bool zero = true;

        for (size_t i = 0; i < len; i++)
            zero &= b[i] == 0;
        watched_was_zero = zero;
        watched_unmaps++;
    }
    return __real_munmap(addr, len);
}

/* VmLck of this process, in kB. */
static long vm_locked_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
            break;
    fclose(f);
    assert_true(kb >= 0);
    return kb;
}

/* KiB in mappings marked MADV_DONTDUMP ("dd" in smaps' VmFlags). */
static long dontdump_kb(void)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    long size = 0, total = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "Size: %ld kB", &size) == 1)
            continue;
        if (strncmp(line, "VmFlags:", 8) == 0 && strstr(line, " dd"))
            total += size;
    }
    fclose(f);
    return total;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MLOCK_INTERCEPTED 1     /* the sanitizers' mlock does nothing */
#else
#define MLOCK_INTERCEPTED 0
#endif

/* Can this process lock n more pages (root, or RLIMIT_MEMLOCK room)? */
static bool can_lock(size_t pages)
{
    struct rlimit rl;

    if (geteuid() == 0)
        return true;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
        return false;
    return rl.rlim_cur == RLIM_INFINITY ||
           rl.rlim_cur >= (rlim_t)(vm_locked_kb() * 1024) + pages * (rlim_t)sysconf(_SC_PAGESIZE);
}

static void test_zeroed_aligned_wiped(void **state)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *m = wg_secret_alloc(100);

    (void)state;
    assert_non_null(m);
    assert_int_equal((uintptr_t)m % (uintptr_t)page, 0);
    for (long i = 0; i < page; i++)
        assert_int_equal(m[i], 0);
    memset(m, 0xa5, (size_t)page);             /* the whole span is usable */
    watched = m;
    watched_unmaps = 0;
    wg_secret_free(m, 100);
    watched = NULL;
    assert_int_equal(watched_unmaps, 1);
    assert_true(watched_was_zero);
    wg_secret_free(NULL, 100);                 /* allowed, no-op */
}

/* smaps marks MADV_DONTDUMP mappings with the "dd" VmFlag. */
static void test_not_dumped(void **state)
{
    unsigned char *m = wg_secret_alloc(64);
    char want[64], line[512];
    bool in_mapping = false, dd = false, found = false;
    FILE *f;

    (void)state;
    assert_non_null(m);
    snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)m);
    f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        if (strchr(line, '-') && strncmp(line, want, strlen(want)) == 0) {
            in_mapping = found = true;
            continue;
        }
        if (in_mapping && strncmp(line, "VmFlags:", 8) == 0) {
            dd = strstr(line, " dd") != NULL;
            break;
        }
    }
    fclose(f);
    assert_true(found);
    assert_true(dd);
    wg_secret_free(m, 64);
}

static void test_locked_and_unlocked(void **state)
{
    long before, page_kb = sysconf(_SC_PAGESIZE) / 1024;
    void *m;

    (void)state;
    if (MLOCK_INTERCEPTED || !can_lock(3))
        skip();
    before = vm_locked_kb();
    m = wg_secret_alloc(2 * (size_t)sysconf(_SC_PAGESIZE) + 1);
    assert_non_null(m);
    assert_int_equal(vm_locked_kb(), before + 3 * page_kb);
    wg_secret_free(m, 2 * (size_t)sysconf(_SC_PAGESIZE) + 1);
    assert_int_equal(vm_locked_kb(), before);
}

/* The engine's key holders live in secret memory. */
static void test_used_for_keys(void **state)
{
    struct wg_proto_io io = { .realtime = wg_clock_realtime };
    struct wg_peer_config peer = { .has_preshared_key = true };
    struct wg_device_config cfg = { .has_private_key = true, .n_peers = 1, .peers = &peer };
    struct wg_keypair *kp;
    struct wg_proto *p;
    long base, with_proto, with_peer;

    (void)state;
    base = dontdump_kb();
    kp = wg_keypair_new();
    assert_non_null(kp);
    assert_true(dontdump_kb() > base);
    wg_keypair_put(kp);
    assert_int_equal(dontdump_kb(), base);

    assert_int_equal(wg_proto_create(&io, &p), 0);
    with_proto = dontdump_kb();
    assert_true(with_proto > base);             /* the static identity */
    memset(cfg.private_key, 0x41, sizeof(cfg.private_key));
    memset(peer.public_key, 0x09, sizeof(peer.public_key));
    memset(peer.preshared_key, 0x42, sizeof(peer.preshared_key));
    assert_int_equal(wg_proto_apply(p, &cfg, 1), 0);
    with_peer = dontdump_kb();
    assert_true(with_peer > with_proto);        /* the peer's handshake state */
    wg_proto_destroy(p);
    assert_int_equal(dontdump_kb(), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zeroed_aligned_wiped),
        cmocka_unit_test(test_not_dumped),
        cmocka_unit_test(test_locked_and_unlocked),
        cmocka_unit_test(test_used_for_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
