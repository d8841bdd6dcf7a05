/* The load generator's histogram: percentiles against an exact sort of the same data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <math.h>

#include <cmocka.h>

#include "tests/bench/hist.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* xorshift64*: deterministic data, the same on every run. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static uint64_t exact_percentile(const uint64_t *sorted, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1];
}

/* Latency-like data: a log-uniform spread from 1 us to ~1 s, in nanoseconds, with some
 * exact small values. */
static void check_against_sort(size_t n, uint64_t seed)
{
    uint64_t *v = malloc(n * sizeof(*v));
    hd_hist *h = hd_hist_create();
    assert_non_null(v);
    assert_non_null(h);
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        double e = (double)(rnd(&s) % 1000000) / 1000000.0 * 20.0; /* 2^0 .. 2^20 */
        v[i] = (uint64_t)(1000.0 * pow(2.0, e)) + (i % 7 == 0 ? i % 200 : 0);
        if (i % 11 == 0)
            v[i] = rnd(&s) % 256;
        hd_hist_record(h, v[i]);
    }
    qsort(v, n, sizeof(*v), cmp_u64);
    static const double ps[] = {1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        uint64_t want = exact_percentile(v, n, ps[i]);
        uint64_t got = hd_hist_percentile(h, ps[i]);
        double rel = want ? fabs((double)got - (double)want) / (double)want : (double)got;
        if (rel > 0.005)
            fail_msg("p%.2f: histogram %llu, exact %llu (%.3f%% off)", ps[i],
                     (unsigned long long)got, (unsigned long long)want, rel * 100);
    }
    assert_int_equal(hd_hist_count(h), n);
    assert_int_equal(hd_hist_min(h), v[0]);
    assert_int_equal(hd_hist_max(h), v[n - 1]);
    assert_int_equal(hd_hist_percentile(h, 100), v[n - 1]);
    free(v);
    hd_hist_destroy(h);
}

static void percentiles_of_random_data_are_within_half_a_percent_of_exact_sort(void **state)
{
    (void)state;
    check_against_sort(200000, 0x9e3779b97f4a7c15ull);
    check_against_sort(1000, 42);
    check_against_sort(7, 7);
}

static void values_below_256_are_exact(void **state)
{
    (void)state;
    hd_hist *h = hd_hist_create();
    for (uint64_t i = 1; i <= 100; i++)
        hd_hist_record(h, i);
    assert_int_equal(hd_hist_percentile(h, 50), 50);
    assert_int_equal(hd_hist_percentile(h, 99), 99);
    assert_int_equal(hd_hist_percentile(h, 1), 1);
    assert_true(fabs(hd_hist_mean(h) - 50.5) < 1e-9);
    hd_hist_destroy(h);
}

static void merge_equals_recording_into_one(void **state)
{
    (void)state;
    hd_hist *a = hd_hist_create(), *b = hd_hist_create(), *all = hd_hist_create();
    uint64_t s = 1;
    for (int i = 0; i < 50000; i++) {
        uint64_t x = rnd(&s) % 5000000;
        hd_hist_record(i % 2 ? a : b, x);
        hd_hist_record(all, x);
    }
    hd_hist_merge(a, b);
    assert_int_equal(hd_hist_count(a), hd_hist_count(all));
    assert_int_equal(hd_hist_min(a), hd_hist_min(all));
    assert_int_equal(hd_hist_max(a), hd_hist_max(all));
    for (double p = 1; p <= 100; p += 0.5)
        assert_int_equal(hd_hist_percentile(a, p), hd_hist_percentile(all, p));
    hd_hist_destroy(a);
    hd_hist_destroy(b);
    hd_hist_destroy(all);
}

static void empty_histogram_reports_zero_and_huge_values_clamp(void **state)
{
    (void)state;
    hd_hist *h = hd_hist_create();
    assert_int_equal(hd_hist_percentile(h, 99), 0);
    assert_int_equal(hd_hist_count(h), 0);
    hd_hist_record(h, UINT64_MAX);
    assert_int_equal(hd_hist_count(h), 1);
    assert_int_equal(hd_hist_max(h), (1ull << 42) - 1);
    hd_hist_reset(h);
    assert_int_equal(hd_hist_count(h), 0);
    hd_hist_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(percentiles_of_random_data_are_within_half_a_percent_of_exact_sort),
        cmocka_unit_test(values_below_256_are_exact),
        cmocka_unit_test(merge_equals_recording_into_one),
        cmocka_unit_test(empty_histogram_reports_zero_and_huge_values_clamp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
