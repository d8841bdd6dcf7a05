/* Time zones without setenv("TZ"): parses the system's TZif files (RFC 8536, the v2+ 64-bit
 * section plus the POSIX TZ footer for instants past the table) and converts instants between
 * UTC and local civil time for one named IANA zone, correct across DST changes. Loaded zones
 * are immutable, so one zone may be used from any number of threads at once. */
#ifndef HD_COMMON_TZ_H
#define HD_COMMON_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "server/common/err.h"

typedef struct hd_tz hd_tz;

/* Longest zone name accepted ("America/Argentina/ComodRivadavia" is 32). */
#define HD_TZ_NAME_MAX 64

/* Local civil time. Fields are plain numbers (month 1-12, day 1-31, wday 0 = Sunday). */
typedef struct hd_tz_civil {
    int year;
    int month;
    int day;
    int hour;
    int min;
    int sec;
    int wday;          /* filled by conversions from UTC; ignored on input */
    int32_t utc_off_s; /* local - UTC in seconds; filled by conversions from UTC */
    int is_dst;        /* filled by conversions from UTC */
} hd_tz_civil;

/* How hd_tz_from_local resolves a local time that occurs twice (autumn fold) or never
 * (spring gap). */
typedef enum hd_tz_pick {
    /* fold: the earlier instant (the first pass, still in DST); gap: the instant the clocks
     * jumped to, i.e. the first valid local time after the gap (01:30 in a 01:00->02:00 gap
     * becomes 02:00). What business hours want: an interval starting in a gap starts when
     * the day's hours really begin. */
    HD_TZ_EARLIER = 0,
    /* fold: the later instant (second pass); gap: same as HD_TZ_EARLIER. */
    HD_TZ_LATER = 1,
} hd_tz_pick;

/* Loads zone `name` ("Europe/London", "UTC") from dir (NULL: $TZDIR if set, else
 * /usr/share/zoneinfo). Names must be relative, without "..", at most HD_TZ_NAME_MAX-1
 * bytes. Returns 0 with *out owned (free with hd_tz_free), or HD_EINVAL (bad name),
 * HD_ENOTFOUND (no such zone), HD_ECORRUPT (not a valid TZif file), HD_ENOMEM, HD_EIO. */
int hd_tz_load(hd_tz **out, const char *name, const char *dir, hd_err *err);

/* Parses len bytes of TZif data (v1, v2, v3 or v4) as zone `name` (copied; may be NULL).
 * The bytes are outside input: every count and index is checked. Returns 0 with *out owned
 * (free with hd_tz_free), HD_ECORRUPT (with detail), or HD_ENOMEM. */
int hd_tz_parse(hd_tz **out, const char *name, const void *data, size_t len, hd_err *err);

/* Parses a POSIX TZ rule string ("EST5EDT,M3.2.0,M11.1.0", "<+03>-3", "UTC0") as a zone
 * with no transition table. Returns 0 with *out owned (free with hd_tz_free), HD_EINVAL
 * (with detail) or HD_ENOMEM. */
int hd_tz_parse_posix(hd_tz **out, const char *rule, hd_err *err);

/* Frees a zone. NULL is allowed. */
void hd_tz_free(hd_tz *tz);

/* Returns a process-wide shared zone for name, loading it on first use from the default
 * directory; later calls return the same zone. Thread-safe. The zone is borrowed until
 * hd_tz_cache_clear (never free it). Returns 0, or the errors of hd_tz_load. */
int hd_tz_get(const hd_tz **out, const char *name, hd_err *err);

/* Frees every zone hd_tz_get returned (shutdown, tests). No zone from the cache may be in
 * use. */
void hd_tz_cache_clear(void);

/* Returns the zone's name, borrowed until the zone is freed ("" when parsed without one). */
const char *hd_tz_name(const hd_tz *tz);

/* Returns local - UTC in seconds at instant utc_s (Unix seconds); *is_dst (may be NULL)
 * gets whether DST is in effect. */
int32_t hd_tz_offset(const hd_tz *tz, int64_t utc_s, int *is_dst);

/* Returns the first instant after utc_s at which the zone's offset may change (a transition
 * of the table or of the footer rule), or INT64_MAX when it never changes again. Lets
 * callers walk constant-offset pieces of time (business hours, cron schedules). */
int64_t hd_tz_next_transition(const hd_tz *tz, int64_t utc_s);

/* Converts instant utc_s (Unix seconds) to local civil time in *out (all fields set). */
void hd_tz_to_local(const hd_tz *tz, int64_t utc_s, hd_tz_civil *out);

/* Converts the local civil time in *local (year..sec; wday/utc_off_s/is_dst ignored;
 * fields may be out of range, e.g. day 32 or min -5, and are normalised like mktime) to
 * Unix seconds in *out, resolving folds and gaps as `pick` says. Returns 0, or HD_EINVAL
 * when the year is outside -100000..100000. */
int hd_tz_from_local(const hd_tz *tz, const hd_tz_civil *local, hd_tz_pick pick, int64_t *out,
                     hd_err *err);

/* ---- Proleptic Gregorian calendar helpers (no zone involved) ------------------------- */

/* Returns days since 1970-01-01 of year-month-day (month 1-12; out-of-range months and
 * days are normalised, e.g. month 13 = January of year+1). */
int64_t hd_tz_days_from_civil(int64_t year, int month, int day);

/* Sets *year, *month (1-12), *day (1-31) from days since 1970-01-01. */
void hd_tz_civil_from_days(int64_t days, int64_t *year, int *month, int *day);

/* Returns the weekday (0 = Sunday) of days since 1970-01-01. */
int hd_tz_weekday(int64_t days);

#endif
