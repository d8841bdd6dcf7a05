/* Wall-clock <-> UTC conversion in an IANA time zone, for the reporter only (cron times,
 * local days of a report). A stop-gap over the C library's zoneinfo reader until the
 * shared server/common/tz.h lands; the reporter switches to it then. Not thread-safe
 * (uses TZ): the reporter converts from one thread. */
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

/* Returns true when zone names a zone file under /usr/share/zoneinfo (or is "UTC"). */
bool hd_localtz_valid(const char *zone);

/* Fills *out with the local time of unix_s in zone. Returns 0 or HD_EINVAL (bad zone). */
int hd_localtz_from_unix(hd_localtm *out, const char *zone, int64_t unix_s);

/* Converts a local wall-clock time in zone to Unix seconds. *exists is set false when the
 * time falls in a DST gap (the result is then the first instant after the gap). For an
 * ambiguous time (the repeated hour) the earlier instant is returned. Returns 0 or
 * HD_EINVAL. */
int hd_localtz_to_unix(int64_t *out, bool *exists, const char *zone, int year, int mon, int mday,
                       int hour, int min);

/* Days since 1970-01-01 of the local date of unix_s in zone (floor). */
int64_t hd_localtz_day(const char *zone, int64_t unix_s);

#endif
