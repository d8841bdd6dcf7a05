/* Rollup range reads on a real store: exact metric names and prefix patterns, only the days
 * asked for, every dimension, in key order, and a callback that stops or fails the scan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/reports/query.h"
#include "server/rollup/rollup.h"

typedef struct fixture {
    char dir[64];
    hd_store *store;
} fixture;

/* Days 10..20 of four metrics; value = day * 10 + dim, dims 0..2; plus a "now" gauge. */
static int seed(hd_txn *txn, void *arg, hd_err *err)
{
    (void)arg;
    static const char *const metrics[] = {"sla.met|p1|g0|c", "sla.met|p2|g7|cbilling", "sla.metx",
                                          "tickets.created"};
    for (size_t m = 0; m < 4; m++)
        for (uint32_t day = 10; day <= 20; day++)
            for (uint32_t dim = 0; dim < 3; dim++) {
                int rc = hd_rollup_add(txn, metrics[m], day, dim, day * 10 + dim, err);
                if (rc)
                    return rc;
            }
    return hd_rollup_add(txn, "sla.met|p1|g0|c", HD_ROLLUP_NOW, 0, 5, err);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/hd-rq-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    hd_store_opts o = {.path = f->dir, .unsafe_nosync = 1};
    hd_err err;
    assert_int_equal(hd_store_open(&f->store, &o, &err), 0);
    assert_int_equal(hd_store_write(f->store, seed, NULL, &err), 0);
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

typedef struct seen {
    char text[4096];
    size_t len;
    int stop_after; /* 0: never */
    int n;
} seen;

static int record(void *arg, const char *metric, uint32_t day, uint32_t dim, uint64_t value)
{
    seen *s = arg;
    s->len += (size_t)snprintf(s->text + s->len, sizeof s->text - s->len, "%s/%u/%u=%llu;", metric,
                               day, dim, (unsigned long long)value);
    s->n++;
    return s->stop_after && s->n == s->stop_after ? 1 : 0;
}

static int64_t scan(fixture *f, const char *pattern, uint32_t d0, uint32_t d1, seen *s)
{
    hd_txn *txn;
    hd_err err;
    assert_int_equal(hd_store_read_begin(f->store, &txn, &err), 0);
    int64_t n = hd_reports_rollup_scan(txn, pattern, d0, d1, record, s, &err);
    hd_store_read_end(txn);
    return n;
}

static void exact_metric_gives_every_dimension_of_the_days_in_range_only(void **state)
{
    seen s = {0};
    assert_int_equal(scan(*state, "tickets.created", 12, 13, &s), 6);
    assert_string_equal(s.text, "tickets.created/12/0=120;tickets.created/12/1=121;"
                                "tickets.created/12/2=122;tickets.created/13/0=130;"
                                "tickets.created/13/1=131;tickets.created/13/2=132;");
}

static void prefix_pattern_reads_each_matching_metric_in_range(void **state)
{
    seen s = {0};
    assert_int_equal(scan(*state, "sla.met|*", 20, 25, &s), 6);
    assert_string_equal(s.text, "sla.met|p1|g0|c/20/0=200;sla.met|p1|g0|c/20/1=201;"
                                "sla.met|p1|g0|c/20/2=202;sla.met|p2|g7|cbilling/20/0=200;"
                                "sla.met|p2|g7|cbilling/20/1=201;"
                                "sla.met|p2|g7|cbilling/20/2=202;");
}

static void ranges_outside_the_data_and_unknown_metrics_give_nothing(void **state)
{
    seen s = {0};
    assert_int_equal(scan(*state, "sla.met|*", 0, 9, &s), 0);
    assert_int_equal(scan(*state, "sla.met|*", 21, 30, &s), 0);
    assert_int_equal(scan(*state, "tickets.solved", 0, 100, &s), 0);
    assert_int_equal(scan(*state, "tickets.create", 0, 100, &s), 0); /* exact: no prefix */
    assert_int_equal(s.n, 0);
}

static void whole_history_of_a_prefix_is_every_counter_once(void **state)
{
    seen s = {0};
    assert_int_equal(scan(*state, "sla.*", 0, UINT32_MAX - 1, &s), 3 * 11 * 3);
}

static void callback_can_stop_the_scan_and_empty_patterns_are_refused(void **state)
{
    seen s = {.stop_after = 4};
    scan(*state, "sla.*", 0, 100, &s);
    assert_int_equal(s.n, 4);
    seen t = {0};
    assert_int_equal(scan(*state, "*", 0, 100, &t), HD_EINVAL);
    assert_int_equal(scan(*state, "", 0, 100, &t), HD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            exact_metric_gives_every_dimension_of_the_days_in_range_only, setup, teardown),
        cmocka_unit_test_setup_teardown(prefix_pattern_reads_each_matching_metric_in_range, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(ranges_outside_the_data_and_unknown_metrics_give_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(whole_history_of_a_prefix_is_every_counter_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(callback_can_stop_the_scan_and_empty_patterns_are_refused,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
