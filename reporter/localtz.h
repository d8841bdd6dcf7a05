/* The reporter's view of time zones: broken-down local time and wall-clock -> UTC with the
 * rules cron and the reports need (a wall time in a spring gap maps to the jump, a repeated
 * one to its first pass). A thin adapter over the shared server/common/tz.h zones. */
#ifndef HD_REPORTER_LOCALTZ_H
#define HD_REPORTER_LOCALTZ_H

#include <stdbool.h>
#include <stdint.h>

/* A broken-down local time. */
typedef struct hd_localtm {
    int year, mon, mday; /* mon 1-12 */
    int hour, min, sec;
    int wday;         /* 0 = Sunday */
    int utc_offset_s; /* seconds east of UTC in effect */
} hd_localtm;

/* Returns true when zone names a loadable IANA zone (or is "UTC"). */
bool hd_localtz_valid(const char *zone);

/* Fills *out with the local time of unix_s in zone. Returns 0 or HD_EINVAL (bad zone). */
int hd_localtz_from_unix(hd_localtm *out, const char *zone, int64_t unix_s);

/* Converts a local wall-clock time in zone to Unix seconds. *exists is set false when the
 * time falls in a DST gap (the result is then the instant the clocks jumped). For an
 * ambiguous time (the repeated hour) the earlier instant is returned. Returns 0 or
 * HD_EINVAL. */
int hd_localtz_to_unix(int64_t *out, bool *exists, const char *zone, int year, int mon, int mday,
                       int hour, int min);

/* Days since 1970-01-01 of the local date of unix_s in zone (floor). */
int64_t hd_localtz_day(const char *zone, int64_t unix_s);

#endif
