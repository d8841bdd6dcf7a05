/* Business-time arithmetic against an independent brute force: every UTC minute is
 * classified with glibc's localtime_r (its own TZif reader) and the calendar's rules, then
 * minutes are counted one by one. Thousands of random calendars (lunch breaks, night shifts
 * over the 01:00/02:00 DST changes, 24h days, holidays incl. recurring) and random starts
 * biased towards DST weekends, in Europe/London and America/New_York. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "server/sla/calendar.h"

static uint64_t rng = 0x2545f4914f6cdd1du;
static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

typedef struct cal_case {
    hd_sla_interval iv[16];
    size_t n_iv;
    hd_sla_holiday hol[8];
    size_t n_hol;
} cal_case;

static void random_calendar(cal_case *c)
{
    memset(c, 0, sizeof(*c));
    for (int d = 0; d < 7; d++) {
        switch (rnd(7)) {
        case 0: /* day off */
            break;
        case 1: /* with lunch */
            c->iv[c->n_iv++] = (hd_sla_interval){d, 9 * 60, 12 * 60};
            c->iv[c->n_iv++] = (hd_sla_interval){d, 13 * 60, 17 * 60 + 30};
            break;
        case 2: /* night shift over the DST change hours */
            c->iv[c->n_iv++] = (hd_sla_interval){d, (int)rnd(90), 150 + (int)rnd(60)};
            c->iv[c->n_iv++] = (hd_sla_interval){d, 22 * 60, 1440};
            break;
        case 3: /* all day */
            c->iv[c->n_iv++] = (hd_sla_interval){d, 0, 1440};
            break;
        default: {
            int s = 7 * 60 + (int)rnd(180);
            c->iv[c->n_iv++] = (hd_sla_interval){d, s, s + 60 + (int)rnd(600)};
        }
        }
    }
    if (c->n_iv == 0)
        c->iv[c->n_iv++] = (hd_sla_interval){1, 9 * 60, 17 * 60};
    c->n_hol = rnd(6);
    for (size_t i = 0; i < c->n_hol; i++) {
        int recurring = rnd(3) == 0;
        c->hol[i] = (hd_sla_holiday){recurring ? 0 : 2024 + (int)rnd(3), 1 + (int)rnd(12),
                                     1 + (int)rnd(28)};
    }
    /* Often a holiday on the DST weekends themselves. */
    if (rnd(2))
        c->hol[c->n_hol++] = (hd_sla_holiday){0, 3, 29};
}

static int brute_working(const cal_case *c, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm g;
    localtime_r(&tt, &g);
    for (size_t i = 0; i < c->n_hol; i++)
        if ((c->hol[i].year == 0 || c->hol[i].year == g.tm_year + 1900) &&
            c->hol[i].month == g.tm_mon + 1 && c->hol[i].day == g.tm_mday)
            return 0;
    int m = g.tm_hour * 60 + g.tm_min;
    for (size_t i = 0; i < c->n_iv; i++)
        if (c->iv[i].wday == g.tm_wday && m >= c->iv[i].start_min && m < c->iv[i].end_min)
            return 1;
    return 0;
}

/* Due instant of `minutes` working minutes from start, minute by minute. */
static int64_t brute_add(const cal_case *c, int64_t start, int64_t minutes)
{
    int64_t done = 0;
    for (int64_t t = start;; t += 60) {
        if (!brute_working(c, t))
            continue;
        if (minutes == 0)
            return t;
        if (++done == minutes)
            return t + 60;
    }
}

static int64_t brute_count(const cal_case *c, int64_t a, int64_t b)
{
    int64_t n = 0;
    for (int64_t t = a; t < b; t += 60)
        n += brute_working(c, t);
    return n;
}

static int64_t random_start(void)
{
    /* 2024-01-01 .. 2026-12-31, half of them within a week around a DST weekend. */
    static const int64_t dst_days[] = {1711843200, 1729987200, 1710028800, 1730595600,
                                       1743292800, 1761436800, 1741478400, 1762045200,
                                       1774742400, 1792886400, 1772928000, 1793494800};
    if (rnd(2))
        return (dst_days[rnd(12)] - 3 * 86400 + (int64_t)rnd(6 * 86400)) / 60 * 60;
    return (1704067200 + (int64_t)rnd(3 * 365 * 86400ULL)) / 60 * 60;
}

static void setup_zone(const char *zone)
{
    char buf[64];
    snprintf(buf, sizeof(buf), ":%s", zone);
    setenv("TZ", buf, 1);
    tzset();
}

static void compare_with_brute_force(const char *zone, int cases)
{
    setup_zone(zone);
    for (int k = 0; k < cases; k++) {
        cal_case c;
        random_calendar(&c);
        hd_sla_calendar_def def = {zone, c.n_iv, c.iv, c.n_hol, c.hol};
        hd_sla_calendar *cal = NULL;
        hd_err err;
        assert_int_equal(hd_sla_calendar_compile(&cal, &def, &err), 0);
        int64_t start = random_start();
        int64_t r = rnd(10);
        int64_t minutes = r == 0 ? 0 : r < 7 ? (int64_t)rnd(600) : (int64_t)rnd(12000);
        int64_t due = 0;
        assert_int_equal(hd_sla_calendar_add(cal, start, minutes * 60, &due, &err), 0);
        int64_t want = brute_add(&c, start, minutes);
        if (due != want)
            fail_msg("%s case %d: start %lld + %lld min: calendar %lld, brute force %lld", zone, k,
                     (long long)start, (long long)minutes, (long long)due, (long long)want);
        int64_t b = start + (int64_t)rnd(14 * 86400) / 60 * 60;
        int64_t got = hd_sla_calendar_count(cal, start, b);
        int64_t wantn = brute_count(&c, start, b) * 60;
        if (got != wantn)
            fail_msg("%s case %d: count [%lld, %lld): calendar %lld s, brute force %lld s", zone, k,
                     (long long)start, (long long)b, (long long)got, (long long)wantn);
        /* The two agree with each other too: counting up to the due time gives the target. */
        if (minutes > 0)
            assert_int_equal(hd_sla_calendar_count(cal, start, due), minutes * 60);
        hd_sla_calendar_free(cal);
    }
}

static void london_matches_brute_force_over_random_calendars_and_dst(void **s)
{
    (void)s;
    compare_with_brute_force("Europe/London", 1500);
}

static void new_york_matches_brute_force_over_random_calendars_and_dst(void **s)
{
    (void)s;
    compare_with_brute_force("America/New_York", 1500);
}

static const hd_sla_interval office[] = {
    {1, 540, 720},  {1, 780, 1020}, {2, 540, 720},  {2, 780, 1020}, {3, 540, 720},
    {3, 780, 1020}, {4, 540, 720},  {4, 780, 1020}, {5, 540, 720},  {5, 780, 1020},
};

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return hd_tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static void zero_minutes_is_the_start_of_the_next_business_period(void **s)
{
    (void)s;
    hd_sla_calendar_def def = {"Europe/London", 10, office, 0, NULL};
    hd_sla_calendar *cal = NULL;
    hd_err err;
    int64_t due;
    assert_int_equal(hd_sla_calendar_compile(&cal, &def, &err), 0);
    /* Saturday 2026-01-10 11:00 -> Monday 09:00 (GMT = UTC in January). */
    assert_int_equal(hd_sla_calendar_add(cal, utc(2026, 1, 10, 11, 0), 0, &due, &err), 0);
    assert_int_equal(due, utc(2026, 1, 12, 9, 0));
    /* In the lunch break -> 13:00. */
    assert_int_equal(hd_sla_calendar_add(cal, utc(2026, 1, 12, 12, 15), 0, &due, &err), 0);
    assert_int_equal(due, utc(2026, 1, 12, 13, 0));
    /* Inside hours: the instant itself. */
    assert_int_equal(hd_sla_calendar_add(cal, utc(2026, 1, 12, 10, 0), 0, &due, &err), 0);
    assert_int_equal(due, utc(2026, 1, 12, 10, 0));
    hd_sla_calendar_free(cal);
}

static void target_spans_lunch_weekend_and_recurring_holiday(void **s)
{
    (void)s;
    hd_sla_holiday hol[] = {{0, 1, 12}}; /* every 12 January */
    hd_sla_calendar_def def = {"Europe/London", 10, office, 1, hol};
    hd_sla_calendar *cal = NULL;
    hd_err err;
    int64_t due;
    assert_int_equal(hd_sla_calendar_compile(&cal, &def, &err), 0);
    /* Friday 2026-01-09 16:00 + 4 h: 1 h Friday, Monday 12th is a holiday, Tuesday 09:00-12:00
     * is 3 h -> Tuesday 12:00. */
    assert_int_equal(hd_sla_calendar_add(cal, utc(2026, 1, 9, 16, 0), 4 * 3600, &due, &err), 0);
    assert_int_equal(due, utc(2026, 1, 13, 12, 0));
    /* + 4 h 30 min -> past lunch, 13:30. */
    assert_int_equal(hd_sla_calendar_add(cal, utc(2026, 1, 9, 16, 0), 270 * 60, &due, &err), 0);
    assert_int_equal(due, utc(2026, 1, 13, 13, 30));
    /* Multi-week: 3 weeks of 7 h days = 105 h from Monday 2026-02-02 09:00 -> Friday 20th 17:00. */
    assert_int_equal(hd_sla_calendar_add(cal, utc(2026, 2, 2, 9, 0), 105 * 3600, &due, &err), 0);
    assert_int_equal(due, utc(2026, 2, 20, 17, 0));
    hd_sla_calendar_free(cal);
}

static void day_spanning_the_spring_change_is_an_hour_shorter(void **s)
{
    (void)s;
    hd_sla_interval sun[] = {{0, 0, 1440}};
    hd_sla_calendar_def def = {"America/New_York", 1, sun, 0, NULL};
    hd_sla_calendar *cal = NULL;
    hd_err err;
    assert_int_equal(hd_sla_calendar_compile(&cal, &def, &err), 0);
    /* Sunday 2026-03-08 local midnight (EST, 05:00Z) to Monday midnight (EDT, 04:00Z). */
    assert_int_equal(hd_sla_calendar_count(cal, utc(2026, 3, 8, 5, 0), utc(2026, 3, 9, 4, 0)),
                     23 * 3600);
    /* Autumn: Sunday 2026-11-01 is 25 h long. */
    assert_int_equal(hd_sla_calendar_count(cal, utc(2026, 11, 1, 4, 0), utc(2026, 11, 2, 5, 0)),
                     25 * 3600);
    hd_sla_calendar_free(cal);
}

static void invalid_calendars_are_refused_with_a_reason(void **s)
{
    (void)s;
    hd_sla_calendar *cal = NULL;
    hd_err err;
    hd_sla_interval overlap[] = {{1, 540, 720}, {1, 700, 800}};
    hd_sla_calendar_def d1 = {"Europe/London", 2, overlap, 0, NULL};
    assert_int_equal(hd_sla_calendar_compile(&cal, &d1, &err), HD_EINVAL);
    assert_non_null(strstr(err.detail, "overlapping"));
    hd_sla_calendar_def d2 = {"Mars/Base", 10, office, 0, NULL};
    assert_int_equal(hd_sla_calendar_compile(&cal, &d2, &err), HD_EINVAL);
    assert_non_null(strstr(err.detail, "time zone"));
    hd_sla_interval bad[] = {{7, 0, 10}};
    hd_sla_calendar_def d3 = {"UTC", 1, bad, 0, NULL};
    assert_int_equal(hd_sla_calendar_compile(&cal, &d3, &err), HD_EINVAL);
    hd_sla_holiday feb30[] = {{2026, 2, 30}};
    hd_sla_calendar_def d4 = {"UTC", 10, office, 1, feb30};
    assert_int_equal(hd_sla_calendar_compile(&cal, &d4, &err), HD_EINVAL);
    hd_sla_calendar_def d5 = {"UTC", 0, NULL, 0, NULL};
    assert_int_equal(hd_sla_calendar_compile(&cal, &d5, &err), HD_EINVAL);
    assert_null(cal);
    int64_t due;
    hd_sla_calendar_def ok = {"UTC", 10, office, 0, NULL};
    assert_int_equal(hd_sla_calendar_compile(&cal, &ok, &err), 0);
    assert_int_equal(hd_sla_calendar_add(cal, 0, -60, &due, &err), HD_EINVAL);
    hd_sla_calendar_free(cal);
}

static int teardown(void **s)
{
    (void)s;
    hd_tz_cache_clear();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(london_matches_brute_force_over_random_calendars_and_dst),
        cmocka_unit_test(new_york_matches_brute_force_over_random_calendars_and_dst),
        cmocka_unit_test(zero_minutes_is_the_start_of_the_next_business_period),
        cmocka_unit_test(target_spans_lunch_weekend_and_recurring_holiday),
        cmocka_unit_test(day_spanning_the_spring_change_is_an_hour_shorter),
        cmocka_unit_test(invalid_calendars_are_refused_with_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
