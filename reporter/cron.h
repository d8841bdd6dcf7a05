/* Cron expressions (minute hour day-of-month month day-of-week, with lists, ranges, steps,
 * `*`, month and weekday names) read in an IANA time zone, and the next run after a given
 * instant, correct across DST changes: a run whose wall time is skipped by a spring-forward
 * fires at the jump; a wall time repeated by a fall-back fires once (the first). */
#ifndef HD_REPORTER_CRON_H
#define HD_REPORTER_CRON_H

#include <stdint.h>

#include "server/common/err.h"

/* A parsed expression: one bit per allowed value. Plain value, no resources. */
typedef struct hd_cron {
    uint64_t minute;          /* bits 0-59 */
    uint32_t hour;            /* bits 0-23 */
    uint32_t mday;            /* bits 1-31 */
    uint16_t month;           /* bits 1-12 */
    uint8_t wday;             /* bits 0-6, Sunday = 0 (7 is accepted as Sunday) */
    int mday_star, wday_star; /* classic cron: when both are restricted, either matches */
} hd_cron;

/* Parses expr into *out. Returns HD_OK or HD_EINVAL with the field and reason in err. */
int hd_cron_parse(hd_cron *out, const char *expr, hd_err *err);

/* Sets *out to the first run strictly after after_s (Unix seconds) for c read in zone.
 * Returns HD_OK, HD_EINVAL (bad zone) or HD_ENOTFOUND (no match within 5 years, e.g.
 * "0 0 31 2 *"). */
int hd_cron_next(int64_t *out, const hd_cron *c, const char *zone, int64_t after_s, hd_err *err);

#endif
