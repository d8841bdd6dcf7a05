/* Rollup counters: day buckets, add and get in a write txn, never below zero, keys in
 * (metric, day, dim) order so one metric's days are one contiguous range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/rollup/rollup.h"
#include "server/store/store.h"
#include "tests/unit/server/tickets/fixture.h"

typedef struct op {
    const char *metric;
    uint32_t day, dim;
    int64_t delta;
} op;

static int apply_add(hd_txn *txn, void *arg, hd_err *err)
{
    const op *o = arg;
    return hd_rollup_add(txn, o->metric, o->day, o->dim, o->delta, err);
}

static uint64_t get(hd_store *s, const char *metric, uint32_t day, uint32_t dim)
{
    hd_txn *txn;
    hd_err err = {0};
    uint64_t v = 99;
    assert_int_equal(hd_store_read_begin(s, &txn, &err), 0);
    assert_int_equal(hd_rollup_get(txn, metric, day, dim, &v, &err), 0);
    hd_store_read_end(txn);
    return v;
}

static void day_buckets_are_utc_days_since_the_epoch(void **state)
{
    (void)state;
    assert_int_equal(hd_rollup_day(0), 0);
    assert_int_equal(hd_rollup_day(86399999), 0);
    assert_int_equal(hd_rollup_day(86400000), 1);
    assert_int_equal(hd_rollup_day(-1), 0); /* before 1970 clamps to day 0 */
}

static void counters_add_up_per_metric_day_and_dim_and_never_go_negative(void **state)
{
    (void)state;
    hd_store *s = tf_store_open("rollup");
    hd_err err = {0};
    op ops[] = {
        {"m", 10, 0, 1}, {"m", 10, 0, 2}, {"m", 11, 0, 5}, {"m", 10, 3, 7}, {"n", 10, 0, 1}};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        assert_int_equal(hd_store_write(s, apply_add, &ops[i], &err), 0);
    assert_int_equal(get(s, "m", 10, 0), 3);
    assert_int_equal(get(s, "m", 11, 0), 5);
    assert_int_equal(get(s, "m", 10, 3), 7);
    assert_int_equal(get(s, "n", 10, 0), 1);
    assert_int_equal(get(s, "m", 12, 0), 0);
    op down = {"m", 10, 0, -3};
    assert_int_equal(hd_store_write(s, apply_add, &down, &err), 0);
    assert_int_equal(get(s, "m", 10, 0), 0);
    op below = {"m", 10, 0, -1};
    assert_int_equal(hd_store_write(s, apply_add, &below, &err), HD_ECORRUPT);
    assert_non_null(strstr(err.detail, "goes below 0"));
    assert_int_equal(get(s, "m", 10, 0), 0);
    hd_store_close(s);
}

static void keys_order_by_metric_then_day_then_dim(void **state)
{
    (void)state;
    hd_key a, b;
    hd_rollup_key(&a, "m", 10, 9);
    hd_rollup_key(&b, "m", 11, 0);
    assert_true(memcmp(a.buf, b.buf, a.len) < 0);
    hd_rollup_key(&b, "m", 10, 10);
    assert_true(memcmp(a.buf, b.buf, a.len) < 0);
    hd_rollup_key(&b, "ma", 0, 0);
    assert_true(memcmp(a.buf, b.buf, a.len < b.len ? a.len : b.len) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(day_buckets_are_utc_days_since_the_epoch),
        cmocka_unit_test(counters_add_up_per_metric_day_and_dim_and_never_go_negative),
        cmocka_unit_test(keys_order_by_metric_then_day_then_dim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
