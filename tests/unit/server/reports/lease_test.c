/* Report-run leases on a real store: one holder at a time, renewal by the holder, takeover
 * after expiry, never again once done, and completion only by the holder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/reports/lease.h"

typedef struct fixture {
    char dir[64];
    hd_store *store;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/hd-lease-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    hd_store_opts o = {.path = f->dir, .unsafe_nosync = 1};
    hd_err err;
    assert_int_equal(hd_store_open(&f->store, &o, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hd_store_close(f->store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static hd_lease_state acquire(fixture *f, const char *key, const char *holder, uint32_t ttl,
                              int64_t now_ms)
{
    hd_lease_op op;
    hd_err err;
    assert_int_equal(hd_lease_prepare(&op, key, holder, ttl, now_ms, &err), 0);
    assert_int_equal(hd_store_write(f->store, hd_lease_acquire_apply, &op, &err), 0);
    return op.out;
}

static int complete(fixture *f, const char *key, const char *holder)
{
    hd_lease_op op;
    hd_err err;
    assert_int_equal(hd_lease_prepare(&op, key, holder, 1, 0, &err), 0);
    return hd_store_write(f->store, hd_lease_complete_apply, &op, &err);
}

static void second_reporter_is_refused_while_the_first_holds_the_run(void **state)
{
    fixture *f = *state;
    hd_lease_state a = acquire(f, "weekly@1", "host-a:1", 60, 1000);
    assert_true(a.granted);
    hd_lease_state b = acquire(f, "weekly@1", "host-b:2", 60, 2000);
    assert_false(b.granted);
    assert_false(b.done);
    assert_string_equal(b.holder, "host-a:1");
    assert_int_equal(b.expire_ms, 61000);
    hd_lease_state again = acquire(f, "weekly@1", "host-a:1", 60, 3000);
    assert_true(again.granted); /* renewal by the holder */
    assert_int_equal(again.expire_ms, 63000);
}

static void expired_unfinished_lease_is_taken_over(void **state)
{
    fixture *f = *state;
    assert_true(acquire(f, "weekly@2", "host-a:1", 10, 0).granted);
    assert_true(acquire(f, "weekly@2", "host-b:2", 10, 10000).granted);
    assert_int_equal(complete(f, "weekly@2", "host-a:1"), HD_ESTATE);
    assert_int_equal(complete(f, "weekly@2", "host-b:2"), 0);
}

static void done_run_is_never_granted_again(void **state)
{
    fixture *f = *state;
    assert_true(acquire(f, "weekly@3", "host-a:1", 10, 0).granted);
    assert_int_equal(complete(f, "weekly@3", "host-a:1"), 0);
    assert_int_equal(complete(f, "weekly@3", "host-a:1"), 0); /* idempotent */
    hd_lease_state later = acquire(f, "weekly@3", "host-b:2", 10, 999999999);
    assert_false(later.granted);
    assert_true(later.done);
    hd_lease_state self = acquire(f, "weekly@3", "host-a:1", 10, 999999999);
    assert_false(self.granted);
}

static void completing_an_unknown_run_and_bad_inputs_fail(void **state)
{
    fixture *f = *state;
    assert_int_equal(complete(f, "never", "x"), HD_ENOTFOUND);
    hd_lease_op op;
    hd_err err;
    assert_int_equal(hd_lease_prepare(&op, "", "x", 1, 0, &err), HD_EINVAL);
    assert_int_equal(hd_lease_prepare(&op, "k", "with space", 1, 0, &err), HD_EINVAL);
    assert_int_equal(hd_lease_prepare(&op, "k", "x", 0, 0, &err), HD_EINVAL);
    assert_int_equal(hd_lease_prepare(&op, "k", "x", 3601, 0, &err), HD_EINVAL);
}

static void completed_records_are_removed_after_retention_unfinished_ones_kept(void **state)
{
    fixture *f = *state;
    assert_true(acquire(f, "daily@old", "host-a:1", 10, 0).granted);
    assert_int_equal(complete(f, "daily@old", "host-a:1"), 0);
    assert_true(acquire(f, "daily@open", "host-a:1", 10, 0).granted); /* never completed */
    assert_true(acquire(f, "daily@recent", "host-a:1", 10, HD_LEASE_RETENTION_MS).granted);
    assert_int_equal(complete(f, "daily@recent", "host-a:1"), 0);

    /* Just inside retention of daily@old's expiry (10 s): nothing goes. */
    hd_lease_op op;
    hd_err err;
    assert_int_equal(hd_lease_prepare(&op, "daily@x", "h", 10, HD_LEASE_RETENTION_MS + 9999, &err),
                     0);
    assert_int_equal(hd_store_write(f->store, hd_lease_acquire_apply, &op, &err), 0);
    assert_int_equal(op.purged, 0);
    assert_true(acquire(f, "daily@old", "host-b:2", 10, HD_LEASE_RETENTION_MS + 9999).done);

    /* Past it: only the completed old record goes; the run could be leased afresh. */
    assert_int_equal(hd_lease_prepare(&op, "daily@y", "h", 10, HD_LEASE_RETENTION_MS + 10001, &err),
                     0);
    assert_int_equal(hd_store_write(f->store, hd_lease_acquire_apply, &op, &err), 0);
    assert_int_equal(op.purged, 1);
    assert_int_equal(complete(f, "daily@old", "host-a:1"), HD_ENOTFOUND);
    assert_true(acquire(f, "daily@recent", "host-b:2", 10, HD_LEASE_RETENTION_MS + 10001).done);
    hd_lease_state open = acquire(f, "daily@open", "host-b:2", 10, HD_LEASE_RETENTION_MS + 10001);
    assert_true(open.granted); /* expired unfinished: taken over, not purged */
}

static void one_acquire_removes_at_most_the_purge_bound(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < HD_LEASE_PURGE_MAX + 5; i++) {
        char key[32];
        snprintf(key, sizeof key, "run@%d", i);
        assert_true(acquire(f, key, "h", 1, 0).granted);
        assert_int_equal(complete(f, key, "h"), 0);
    }
    int64_t later = HD_LEASE_RETENTION_MS + 2000;
    hd_lease_op op;
    hd_err err;
    assert_int_equal(hd_lease_prepare(&op, "next", "h", 10, later, &err), 0);
    assert_int_equal(hd_store_write(f->store, hd_lease_acquire_apply, &op, &err), 0);
    assert_int_equal(op.purged, HD_LEASE_PURGE_MAX);
    assert_int_equal(hd_lease_prepare(&op, "next", "h", 10, later, &err), 0);
    assert_int_equal(hd_store_write(f->store, hd_lease_acquire_apply, &op, &err), 0);
    assert_int_equal(op.purged, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(second_reporter_is_refused_while_the_first_holds_the_run,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(expired_unfinished_lease_is_taken_over, setup, teardown),
        cmocka_unit_test_setup_teardown(done_run_is_never_granted_again, setup, teardown),
        cmocka_unit_test_setup_teardown(completing_an_unknown_run_and_bad_inputs_fail, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            completed_records_are_removed_after_retention_unfinished_ones_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(one_acquire_removes_at_most_the_purge_bound, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
