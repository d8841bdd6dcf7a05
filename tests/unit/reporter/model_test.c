/* The report model's rules on hand-made tickets: local days across DST, backlog, period
 * vs previous period, SLA attribution by due time, percentiles from histograms, weekly
 * rows, and the period a schedule resolves to. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "reporter/model.h"
#include "reporter/schedule.h"

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm);
}

static hd_model *berlin_week(void)
{
    /* 2026-10-19 .. 2026-10-25 local (DST ends on the 25th). */
    hd_model *m = NULL;
    hd_err err;
    assert_int_equal(hd_model_create(&m, "t", "Europe/Berlin", HD_GROUP_DAY,
                                     utc(2026, 10, 18, 22, 0), utc(2026, 10, 25, 23, 0), &err),
                     0);
    assert_int_equal(m->n_days, 7);
    return m;
}

static void percentiles_are_nearest_rank_bucket_floors(void **state)
{
    (void)state;
    hd_hist h = {0};
    assert_int_equal(hd_hist_percentile(&h, 0.5), -1);
    for (int i = 1; i <= 10; i++)
        hd_hist_add(&h, i);
    assert_int_equal(hd_hist_percentile(&h, 0.5), 5);
    assert_int_equal(hd_hist_percentile(&h, 0.9), 9);
    hd_hist_add(&h, 1000); /* 5-minute buckets above 2 h */
    assert_int_equal(hd_hist_percentile(&h, 1.0), 1000);
    hd_hist_add(&h, 1003);
    assert_int_equal(hd_hist_percentile(&h, 1.0), 1000);
    assert_int_equal(hd_hist_floor(hd_hist_bucket(2000)), 1980); /* hourly above 24 h */
    assert_int_equal(hd_hist_bucket(999999), HD_HIST_BUCKETS - 1);
}

static void ticket_late_on_saturday_utc_counts_on_local_sunday(void **state)
{
    (void)state;
    hd_model *m = berlin_week();
    /* 2026-10-24 22:30 UTC = Sunday 00:30 CEST. */
    hd_model_ticket t = {.number = 1, .priority = 2, .created_s = utc(2026, 10, 24, 22, 30)};
    hd_model_add_ticket(m, &t);
    hd_model_finish(m);
    assert_int_equal(m->days[6].created, 1);
    assert_int_equal(m->days[5].created, 0);
    assert_int_equal(m->heat[6][0], 1); /* Sunday, 00:00 */
    assert_int_equal(m->prio_created[1], 1);
    hd_model_free(m);
}

static void backlog_counts_open_tickets_at_each_day_end(void **state)
{
    (void)state;
    hd_model *m = berlin_week();
    hd_model_ticket before_open = {.created_s = utc(2026, 10, 1, 10, 0)};
    hd_model_ticket before_solved_tue = {.created_s = utc(2026, 10, 1, 10, 0),
                                         .solved_s = utc(2026, 10, 20, 10, 0),
                                         .first_response_s = utc(2026, 10, 1, 11, 0)};
    hd_model_ticket wed_to_fri = {.created_s = utc(2026, 10, 21, 10, 0),
                                  .solved_s = utc(2026, 10, 23, 10, 0),
                                  .first_response_s = utc(2026, 10, 21, 11, 0),
                                  .res_min = 100,
                                  .csat = 5};
    hd_model_add_ticket(m, &before_open);
    hd_model_add_ticket(m, &before_solved_tue);
    hd_model_add_ticket(m, &wed_to_fri);
    hd_model_finish(m);
    const uint32_t want[7] = {2, 1, 2, 2, 1, 1, 1};
    for (int i = 0; i < 7; i++)
        assert_int_equal(m->days[i].backlog, want[i]);
    assert_int_equal(m->prev.backlog_end, 2);
    assert_int_equal(m->cur.backlog_end, 1);
    assert_int_equal(m->cur.solved, 2);
    assert_int_equal(m->days[4].csat[4], 1);
    hd_model_free(m);
}

static void sla_targets_count_in_the_period_their_due_time_falls_in(void **state)
{
    (void)state;
    hd_model *m = berlin_week();
    hd_model_ticket t = {.number = 7,
                         .priority = 1,
                         .category = "Billing",
                         .group = "Tier 1",
                         .agent = "Ada",
                         .created_s = utc(2026, 10, 18, 20, 0),
                         .sla = {2, 0, 1},
                         .due_s = {utc(2026, 10, 18, 21, 0), 0, utc(2026, 10, 19, 9, 0)},
                         .breached_by_min = {30, 0, 0}};
    hd_model_add_ticket(m, &t);
    hd_model_finish(m);
    assert_int_equal(m->prev.sla.breached[HD_TARGET_FIRST], 1); /* due before the period */
    assert_int_equal(m->cur.sla.breached[HD_TARGET_FIRST], 0);
    assert_int_equal(m->cur.sla.met[HD_TARGET_RESOLUTION], 1);
    assert_int_equal(m->sla_prio[0].met[HD_TARGET_RESOLUTION], 1);
    assert_string_equal(m->categories[0], "Billing");
    assert_int_equal(m->agents[0].sla_total, 1);
    assert_true(isnan(hd_model_pct(0, 0)));
    assert_true(fabs(hd_model_pct(3, 1) - 0.75) < 1e-12);
    hd_model_free(m);
}

static void weekly_rows_start_on_monday(void **state)
{
    (void)state;
    hd_model *m = NULL;
    hd_err err;
    /* Wednesday 2026-10-21 .. Tuesday 2026-11-03 UTC. */
    assert_int_equal(hd_model_create(&m, "t", "UTC", HD_GROUP_WEEK, utc(2026, 10, 21, 0, 0),
                                     utc(2026, 11, 4, 0, 0), &err),
                     0);
    hd_model_finish(m);
    hd_model_row rows[8];
    int n = hd_model_rows(m, rows, 8);
    assert_int_equal(n, 3);
    assert_int_equal(rows[1].day * 86400, utc(2026, 10, 26, 0, 0));
    assert_int_equal(rows[2].day * 86400, utc(2026, 11, 2, 0, 0));
    hd_model_free(m);
}

static void last_week_is_monday_to_monday_in_the_readers_zone(void **state)
{
    (void)state;
    int64_t from, to;
    /* Run on Monday 2026-10-26 08:00 CET: last week is 10-19 00:00 CEST .. 10-26 00:00 CET. */
    assert_int_equal(
        hd_model_period(&from, &to, HD_PERIOD_LAST_WEEK, "Europe/Berlin", utc(2026, 10, 26, 7, 0)),
        0);
    assert_int_equal(from, utc(2026, 10, 18, 22, 0));
    assert_int_equal(to, utc(2026, 10, 25, 23, 0));
    assert_int_equal(
        hd_model_period(&from, &to, HD_PERIOD_LAST_MONTH, "UTC", utc(2026, 3, 5, 0, 0)), 0);
    assert_int_equal(from, utc(2026, 2, 1, 0, 0));
    assert_int_equal(to, utc(2026, 3, 1, 0, 0));
}

static void missed_runs_collapse_to_the_latest_and_first_start_is_not_retroactive(void **state)
{
    (void)state;
    hd_cron c;
    hd_err err;
    assert_int_equal(hd_cron_parse(&c, "0 8 * * mon", &err), 0);
    int64_t due = 0;
    /* never ran, first seen Saturday: nothing due before the next Monday */
    assert_int_equal(hd_schedule_due(&due, &c, "Europe/Berlin", 0, utc(2026, 10, 17, 12, 0),
                                     utc(2026, 10, 19, 5, 59), &err),
                     0);
    assert_int_equal(hd_schedule_due(&due, &c, "Europe/Berlin", 0, utc(2026, 10, 17, 12, 0),
                                     utc(2026, 10, 19, 6, 0), &err),
                     1);
    assert_int_equal(due, utc(2026, 10, 19, 6, 0));
    /* down for three Mondays: one run, the latest */
    assert_int_equal(hd_schedule_due(&due, &c, "Europe/Berlin", utc(2026, 10, 19, 6, 0), 0,
                                     utc(2026, 11, 11, 10, 0), &err),
                     1);
    assert_int_equal(due, utc(2026, 11, 9, 7, 0));
    assert_int_equal(
        hd_schedule_due(&due, &c, "Europe/Berlin", due, 0, utc(2026, 11, 11, 11, 0), &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(percentiles_are_nearest_rank_bucket_floors),
        cmocka_unit_test(ticket_late_on_saturday_utc_counts_on_local_sunday),
        cmocka_unit_test(backlog_counts_open_tickets_at_each_day_end),
        cmocka_unit_test(sla_targets_count_in_the_period_their_due_time_falls_in),
        cmocka_unit_test(weekly_rows_start_on_monday),
        cmocka_unit_test(last_week_is_monday_to_monday_in_the_readers_zone),
        cmocka_unit_test(missed_runs_collapse_to_the_latest_and_first_start_is_not_retroactive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
