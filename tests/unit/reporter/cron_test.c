/* Cron parsing and next-run times in a zone, across both DST changes of Europe/Berlin
 * (2026-03-29 spring forward at 02:00, 2026-10-25 fall back at 03:00). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "reporter/cron.h"

/* Unix seconds of a UTC wall time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm);
}

static int64_t next(const char *expr, const char *zone, int64_t after)
{
    hd_cron c;
    hd_err err;
    assert_int_equal(hd_cron_parse(&c, expr, &err), 0);
    int64_t t = 0;
    assert_int_equal(hd_cron_next(&t, &c, zone, after, &err), 0);
    return t;
}

static void weekly_monday_0800_berlin_stays_at_0800_local_across_fall_back(void **state)
{
    (void)state;
    int64_t t = next("0 8 * * 1", "Europe/Berlin", utc(2026, 10, 19, 6, 0));
    assert_int_equal(t, utc(2026, 10, 26, 7, 0)); /* 08:00 CET = 07:00 UTC */
    int64_t before = next("0 8 * * 1", "Europe/Berlin", utc(2026, 10, 12, 6, 0));
    assert_int_equal(before, utc(2026, 10, 19, 6, 0)); /* 08:00 CEST = 06:00 UTC */
}

static void weekly_run_across_spring_forward_moves_an_hour_earlier_in_utc(void **state)
{
    (void)state;
    assert_int_equal(next("0 8 * * mon", "Europe/Berlin", utc(2026, 3, 23, 7, 0)),
                     utc(2026, 3, 30, 6, 0));
}

static void time_in_the_spring_gap_fires_once_at_the_jump(void **state)
{
    (void)state;
    int64_t t = next("30 2 * * *", "Europe/Berlin", utc(2026, 3, 28, 12, 0));
    assert_int_equal(t, utc(2026, 3, 29, 1, 0)); /* 03:00 CEST, the first instant after */
    int64_t t2 = next("30 2 * * *", "Europe/Berlin", t);
    assert_int_equal(t2, utc(2026, 3, 30, 0, 30));
}

static void repeated_hour_at_fall_back_fires_once(void **state)
{
    (void)state;
    int64_t t = next("30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12, 0));
    assert_int_equal(t, utc(2026, 10, 25, 0, 30)); /* first 02:30 (CEST) */
    int64_t t2 = next("30 2 * * *", "Europe/Berlin", t);
    assert_int_equal(t2, utc(2026, 10, 26, 1, 30)); /* not the second 02:30 an hour later */
}

static void lists_ranges_steps_and_names(void **state)
{
    (void)state;
    int64_t base = utc(2026, 1, 1, 0, 0); /* a Thursday */
    assert_int_equal(next("*/15 * * * *", "UTC", base), utc(2026, 1, 1, 0, 15));
    assert_int_equal(next("0 9-17/4 * * *", "UTC", base), utc(2026, 1, 1, 9, 0));
    assert_int_equal(next("0 9-17/4 * * *", "UTC", utc(2026, 1, 1, 13, 0)), utc(2026, 1, 1, 17, 0));
    assert_int_equal(next("0 0 1 jan,jul *", "UTC", base), utc(2026, 7, 1, 0, 0));
    assert_int_equal(next("0 0 * * 7", "UTC", base), utc(2026, 1, 4, 0, 0)); /* 7 = Sunday */
    /* both day fields restricted: either matches (classic cron) */
    assert_int_equal(next("0 0 13 * fri", "UTC", base), utc(2026, 1, 2, 0, 0));
}

static void bad_expressions_are_rejected_with_the_field_named(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",          "* * * *",      "* * * * * *", "60 * * * *",  "* 24 * * *",
        "* * 0 * *", "* * * 13 *",   "* * * * 8",   "5-1 * * * *", "*/0 * * * *",
        "a * * * *", "1,,2 * * * *", "1- * * * *",  "0 0 * foo *", "99999 * * * *"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hd_cron c;
        hd_err err = {0};
        if (hd_cron_parse(&c, bad[i], &err) != HD_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_true(err.detail[0] != 0);
    }
}

static void impossible_date_and_unknown_zone_are_errors(void **state)
{
    (void)state;
    hd_cron c;
    hd_err err;
    int64_t t;
    assert_int_equal(hd_cron_parse(&c, "0 0 31 2 *", &err), 0);
    assert_int_equal(hd_cron_next(&t, &c, "UTC", 0, &err), HD_ENOTFOUND);
    assert_int_equal(hd_cron_parse(&c, "0 0 * * *", &err), 0);
    assert_int_equal(hd_cron_next(&t, &c, "Mars/Olympus", 0, &err), HD_EINVAL);
    assert_int_equal(hd_cron_next(&t, &c, "../../etc/passwd", 0, &err), HD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(weekly_monday_0800_berlin_stays_at_0800_local_across_fall_back),
        cmocka_unit_test(weekly_run_across_spring_forward_moves_an_hour_earlier_in_utc),
        cmocka_unit_test(time_in_the_spring_gap_fires_once_at_the_jump),
        cmocka_unit_test(repeated_hour_at_fall_back_fires_once),
        cmocka_unit_test(lists_ranges_steps_and_names),
        cmocka_unit_test(bad_expressions_are_rejected_with_the_field_named),
        cmocka_unit_test(impossible_date_and_unknown_zone_are_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
