/* Wall-clock time for records (create/update times, rollup days), with an override so
 * tests set and advance time instead of sleeping. */
#ifndef HD_CLOCK_CLOCK_H
#define HD_CLOCK_CLOCK_H

#include <stdint.h>

/* Returns milliseconds since the Unix epoch (CLOCK_REALTIME), or the test time when one is
 * set. Thread-safe. */
int64_t hd_clock_now_ms(void);

/* Tests only: makes hd_clock_now_ms return ms from now on (ms > 0), or the real clock
 * again (ms == 0). Thread-safe. */
void hd_clock_set_test_ms(int64_t ms);

/* Tests only: moves the test time forward by delta_ms (no effect on the real clock).
 * Thread-safe. */
void hd_clock_advance_ms(int64_t delta_ms);

#endif
