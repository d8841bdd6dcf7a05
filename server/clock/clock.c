/* The injectable clock (see clock.h): an atomic test time that, when non-zero, replaces
 * CLOCK_REALTIME. */
#include "server/clock/clock.h"

#include <stdatomic.h>
#include <time.h>

static _Atomic int64_t test_ms;

int64_t hd_clock_now_ms(void)
{
    int64_t t = atomic_load(&test_ms);
    if (t > 0)
        return t;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hd_clock_set_test_ms(int64_t ms)
{
    atomic_store(&test_ms, ms > 0 ? ms : 0);
}

void hd_clock_advance_ms(int64_t delta_ms)
{
    atomic_fetch_add(&test_ms, delta_ms);
}
