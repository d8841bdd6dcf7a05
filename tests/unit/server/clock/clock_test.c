/* The injectable clock: real time by default, a fixed test time when set, advanced by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "server/clock/clock.h"

static void real_clock_is_close_to_time_and_test_time_overrides_it(void **state)
{
    (void)state;
    int64_t real = hd_clock_now_ms();
    int64_t sys = (int64_t)time(NULL) * 1000;
    assert_true(real > sys - 2000 && real < sys + 2000);
    hd_clock_set_test_ms(1700000000123);
    assert_int_equal(hd_clock_now_ms(), 1700000000123);
    hd_clock_advance_ms(877);
    assert_int_equal(hd_clock_now_ms(), 1700000001000);
    assert_int_equal(hd_clock_now_ms(), 1700000001000); /* frozen, not ticking */
    hd_clock_set_test_ms(0);
    real = hd_clock_now_ms();
    assert_true(real > sys - 2000 && real < sys + 60000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_clock_is_close_to_time_and_test_time_overrides_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
