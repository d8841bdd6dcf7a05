/* Per-caller token buckets: bursts, refill over time, independent callers, the detail
 * text of a refusal, bounded table under many callers. Time is passed in: no sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/rpc/ratelimit.h"

static hd_ratelimit *make(double rate, double burst)
{
    hd_ratelimit *rl = NULL;
    hd_err err = {0};
    assert_int_equal(hd_ratelimit_create(&rl, rate, burst, &err), HD_OK);
    return rl;
}

static void burst_is_allowed_then_refused_with_retry_time(void **state)
{
    (void)state;
    hd_ratelimit *rl = make(10, 3);
    hd_err err = {0};
    int64_t wait = -1;
    for (int i = 0; i < 3; i++)
        assert_int_equal(hd_ratelimit_take(rl, 1, 7, 1000, &wait, &err), HD_OK);
    assert_int_equal(wait, 0);
    assert_int_equal(hd_ratelimit_take(rl, 1, 7, 1000, &wait, &err), HD_EFULL);
    assert_int_equal(wait, 100); /* 10/s: one token every 100 ms */
    assert_non_null(strstr(err.detail, "10 calls/s"));
    assert_non_null(strstr(err.detail, "burst 3"));
    assert_non_null(strstr(err.detail, "retry after 100 ms"));
    hd_ratelimit_destroy(rl);
}

static void tokens_refill_at_the_configured_rate_up_to_burst(void **state)
{
    (void)state;
    hd_ratelimit *rl = make(10, 2);
    hd_err err = {0};
    assert_int_equal(hd_ratelimit_take(rl, 1, 1, 0, NULL, &err), HD_OK);
    assert_int_equal(hd_ratelimit_take(rl, 1, 1, 0, NULL, &err), HD_OK);
    assert_int_equal(hd_ratelimit_take(rl, 1, 1, 50, NULL, &err), HD_EFULL);
    assert_int_equal(hd_ratelimit_take(rl, 1, 1, 100, NULL, &err), HD_OK);
    /* a long idle period refills only up to the burst */
    assert_int_equal(hd_ratelimit_take(rl, 1, 1, 100000, NULL, &err), HD_OK);
    assert_int_equal(hd_ratelimit_take(rl, 1, 1, 100000, NULL, &err), HD_OK);
    assert_int_equal(hd_ratelimit_take(rl, 1, 1, 100000, NULL, &err), HD_EFULL);
    hd_ratelimit_destroy(rl);
}

static void callers_have_separate_buckets_by_kind_and_id(void **state)
{
    (void)state;
    hd_ratelimit *rl = make(1, 1);
    hd_err err = {0};
    assert_int_equal(hd_ratelimit_take(rl, 1, 5, 0, NULL, &err), HD_OK);
    assert_int_equal(hd_ratelimit_take(rl, 1, 5, 0, NULL, &err), HD_EFULL);
    assert_int_equal(hd_ratelimit_take(rl, 1, 6, 0, NULL, &err), HD_OK);
    assert_int_equal(hd_ratelimit_take(rl, 3, 5, 0, NULL, &err), HD_OK);
    hd_ratelimit_destroy(rl);
}

static void many_callers_reuse_slots_and_a_hot_caller_stays_limited(void **state)
{
    (void)state;
    hd_ratelimit *rl = make(0.001, 1); /* one call per 1000 s */
    hd_err err = {0};
    assert_int_equal(hd_ratelimit_take(rl, 1, 0, 0, NULL, &err), HD_OK);
    for (uint64_t id = 1; id <= 4 * HD_RATELIMIT_SLOTS; id++) {
        int64_t now = (int64_t)id; /* one new caller per millisecond */
        assert_int_equal(hd_ratelimit_take(rl, 2, id, now, NULL, &err), HD_OK);
        /* the hot caller keeps its slot fresh, so it is not the one reclaimed */
        if (id % 64 == 0)
            assert_int_equal(hd_ratelimit_take(rl, 1, 0, now, NULL, &err), HD_EFULL);
    }
    hd_ratelimit_destroy(rl);
}

static void bad_rate_or_burst_is_refused(void **state)
{
    (void)state;
    hd_ratelimit *rl = NULL;
    hd_err err = {0};
    assert_int_equal(hd_ratelimit_create(&rl, 0, 1, &err), HD_EINVAL);
    assert_int_equal(hd_ratelimit_create(&rl, 5, 0.5, &err), HD_EINVAL);
    assert_null(rl);
    hd_ratelimit_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_is_allowed_then_refused_with_retry_time),
        cmocka_unit_test(tokens_refill_at_the_configured_rate_up_to_burst),
        cmocka_unit_test(callers_have_separate_buckets_by_kind_and_id),
        cmocka_unit_test(many_callers_reuse_slots_and_a_hot_caller_stays_limited),
        cmocka_unit_test(bad_rate_or_burst_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
