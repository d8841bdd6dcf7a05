/* Time zone conversions checked against glibc's localtime_r/mktime (an independent TZif
 * reader) over many random instants in zones with DST in both hemispheres, plus the DST
 * edges business hours depend on. glibc is driven through setenv("TZ") here only: the test is
 * single-threaded, the server code never does it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "server/common/tz.h"

static const char *const zones[] = {
    "Europe/London",       "America/New_York", "Australia/Sydney",  "Asia/Kolkata",
    "America/Sao_Paulo",   "Pacific/Chatham",  "Europe/Berlin",     "UTC",
    "Australia/Lord_Howe", "America/Santiago", "Africa/Casablanca", "Asia/Tehran",
};

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void use_glibc_zone(const char *name)
{
    char buf[128];
    snprintf(buf, sizeof(buf), ":%s", name);
    setenv("TZ", buf, 1);
    tzset();
}

static void to_local_matches_glibc_for_random_instants_1900_to_2100(void **state)
{
    (void)state;
    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        hd_tz *tz = NULL;
        hd_err err;
        assert_int_equal(hd_tz_load(&tz, zones[z], NULL, &err), 0);
        use_glibc_zone(zones[z]);
        for (int i = 0; i < 20000; i++) {
            /* 1902..2100: inside glibc's 32/64-bit range and past the tables' end (2037). */
            int64_t t = -2100000000LL + (int64_t)(next_rand() % 6200000000ULL);
            time_t tt = (time_t)t;
            struct tm g;
            hd_tz_civil c;
            localtime_r(&tt, &g);
            hd_tz_to_local(tz, t, &c);
            if (c.utc_off_s != g.tm_gmtoff || c.hour != g.tm_hour || c.day != g.tm_mday ||
                c.year != g.tm_year + 1900 || c.wday != g.tm_wday || c.is_dst != (g.tm_isdst > 0))
                fail_msg("%s t=%lld: ours off=%d %04d-%02d-%02d %02d dst=%d, glibc off=%ld "
                         "%04d-%02d-%02d %02d dst=%d",
                         zones[z], (long long)t, c.utc_off_s, c.year, c.month, c.day, c.hour,
                         c.is_dst, g.tm_gmtoff, g.tm_year + 1900, g.tm_mon + 1, g.tm_mday,
                         g.tm_hour, g.tm_isdst);
        }
        hd_tz_free(tz);
    }
}

static void from_local_round_trips_every_instant_outside_folds(void **state)
{
    (void)state;
    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        hd_tz *tz = NULL;
        hd_err err;
        assert_int_equal(hd_tz_load(&tz, zones[z], NULL, &err), 0);
        for (int i = 0; i < 20000; i++) {
            int64_t t = 0 + (int64_t)(next_rand() % 4200000000ULL);
            hd_tz_civil c;
            int64_t e = 0, l = 0;
            hd_tz_to_local(tz, t, &c);
            assert_int_equal(hd_tz_from_local(tz, &c, HD_TZ_EARLIER, &e, &err), 0);
            assert_int_equal(hd_tz_from_local(tz, &c, HD_TZ_LATER, &l, &err), 0);
            if (e != t && l != t)
                fail_msg("%s t=%lld: earlier %lld later %lld", zones[z], (long long)t, (long long)e,
                         (long long)l);
        }
        hd_tz_free(tz);
    }
}

static int64_t local_to_utc(const hd_tz *tz, int y, int mo, int d, int h, int mi, hd_tz_pick pick)
{
    hd_tz_civil c = {.year = y, .month = mo, .day = d, .hour = h, .min = mi};
    int64_t out = 0;
    hd_err err;
    assert_int_equal(hd_tz_from_local(tz, &c, pick, &out, &err), 0);
    return out;
}

static void london_spring_gap_resolves_to_the_jump_and_autumn_fold_to_either_pass(void **s)
{
    (void)s;
    hd_tz *tz = NULL;
    hd_err err;
    assert_int_equal(hd_tz_load(&tz, "Europe/London", NULL, &err), 0);
    /* 2026-03-29 01:00 GMT clocks go to 02:00 BST: 01:30 does not exist. */
    int64_t jump = 1774746000; /* 2026-03-29T01:00:00Z */
    assert_int_equal(local_to_utc(tz, 2026, 3, 29, 1, 30, HD_TZ_EARLIER), jump);
    assert_int_equal(local_to_utc(tz, 2026, 3, 29, 2, 0, HD_TZ_EARLIER), jump);
    /* 2026-10-25 02:00 BST back to 01:00 GMT: 01:30 happens twice. */
    int64_t first = local_to_utc(tz, 2026, 10, 25, 1, 30, HD_TZ_EARLIER);
    int64_t second = local_to_utc(tz, 2026, 10, 25, 1, 30, HD_TZ_LATER);
    assert_int_equal(first, 1792888200);  /* 00:30Z */
    assert_int_equal(second, 1792891800); /* 01:30Z */
    hd_tz_free(tz);
}

static void new_york_far_future_uses_the_footer_rule(void **s)
{
    (void)s;
    hd_tz *tz = NULL;
    hd_err err;
    assert_int_equal(hd_tz_load(&tz, "America/New_York", NULL, &err), 0);
    /* 2099-07-01 12:00Z is EDT (-4), 2099-01-01 12:00Z is EST (-5). */
    int64_t jul = (hd_tz_days_from_civil(2099, 7, 1) * 86400) + 43200;
    int64_t jan = (hd_tz_days_from_civil(2099, 1, 1) * 86400) + 43200;
    assert_int_equal(hd_tz_offset(tz, jul, NULL), -4 * 3600);
    assert_int_equal(hd_tz_offset(tz, jan, NULL), -5 * 3600);
    hd_tz_free(tz);
}

static void posix_rule_zone_matches_the_named_zone(void **s)
{
    (void)s;
    hd_tz *a = NULL, *b = NULL;
    hd_err err;
    assert_int_equal(hd_tz_parse_posix(&a, "EST5EDT,M3.2.0,M11.1.0", &err), 0);
    assert_int_equal(hd_tz_load(&b, "America/New_York", NULL, &err), 0);
    for (int i = 0; i < 20000; i++) {
        int64_t t = 1300000000 + (int64_t)(next_rand() % 2000000000ULL);
        assert_int_equal(hd_tz_offset(a, t, NULL), hd_tz_offset(b, t, NULL));
    }
    hd_tz_free(a);
    hd_tz_free(b);
}

static void offset_is_constant_until_the_next_transition(void **s)
{
    (void)s;
    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        hd_tz *tz = NULL;
        hd_err err;
        assert_int_equal(hd_tz_load(&tz, zones[z], NULL, &err), 0);
        for (int i = 0; i < 2000; i++) {
            int64_t t = (int64_t)(next_rand() % 4200000000ULL);
            int64_t n = hd_tz_next_transition(tz, t);
            assert_true(n > t);
            if (n == INT64_MAX)
                continue;
            int32_t o = hd_tz_offset(tz, t, NULL);
            for (int k = 0; k < 50; k++) {
                int64_t u = t + (int64_t)(next_rand() % (uint64_t)(n - t));
                if (hd_tz_offset(tz, u, NULL) != o)
                    fail_msg("%s: offset changes at %lld before next transition %lld", zones[z],
                             (long long)u, (long long)n);
            }
        }
        hd_tz_free(tz);
    }
}

static void unknown_and_hostile_zone_names_are_refused(void **s)
{
    (void)s;
    hd_tz *tz = NULL;
    hd_err err;
    assert_int_equal(hd_tz_load(&tz, "Mars/Olympus_Mons", NULL, &err), HD_ENOTFOUND);
    assert_int_equal(hd_tz_load(&tz, "../../etc/passwd", NULL, &err), HD_EINVAL);
    assert_int_equal(hd_tz_load(&tz, "/etc/passwd", NULL, &err), HD_EINVAL);
    assert_int_equal(hd_tz_load(&tz, "", NULL, &err), HD_EINVAL);
    assert_int_equal(hd_tz_load(&tz, "Europe", NULL, &err), HD_ENOTFOUND);
    assert_null(tz);
    assert_int_equal(hd_tz_parse(&tz, "x", "TZif2", 5, &err), HD_ECORRUPT);
    assert_int_equal(hd_tz_parse_posix(&tz, "E5", &err), HD_EINVAL);
}

static void shared_cache_returns_one_zone_per_name(void **s)
{
    (void)s;
    const hd_tz *a = NULL, *b = NULL;
    hd_err err;
    assert_int_equal(hd_tz_get(&a, "Europe/London", &err), 0);
    assert_int_equal(hd_tz_get(&b, "Europe/London", &err), 0);
    assert_ptr_equal(a, b);
    assert_string_equal(hd_tz_name(a), "Europe/London");
    hd_tz_cache_clear();
}

static void civil_day_helpers_agree_over_a_million_days(void **s)
{
    (void)s;
    for (int64_t d = -400000; d < 600000; d++) {
        int64_t y;
        int m, dd;
        hd_tz_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(hd_tz_days_from_civil(y, m, dd), d);
    }
    assert_int_equal(hd_tz_weekday(0), 4);
    assert_int_equal(hd_tz_days_from_civil(2026, 13, 1), hd_tz_days_from_civil(2027, 1, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(to_local_matches_glibc_for_random_instants_1900_to_2100),
        cmocka_unit_test(from_local_round_trips_every_instant_outside_folds),
        cmocka_unit_test(london_spring_gap_resolves_to_the_jump_and_autumn_fold_to_either_pass),
        cmocka_unit_test(new_york_far_future_uses_the_footer_rule),
        cmocka_unit_test(posix_rule_zone_matches_the_named_zone),
        cmocka_unit_test(offset_is_constant_until_the_next_transition),
        cmocka_unit_test(unknown_and_hostile_zone_names_are_refused),
        cmocka_unit_test(shared_cache_returns_one_zone_per_name),
        cmocka_unit_test(civil_day_helpers_agree_over_a_million_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
