/* Local time through the C library (tzset/localtime_r/mktime) with TZ switched to the
 * requested zone (and left there: the reporter's only use of TZ is through here). */
#include "reporter/localtz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/common/err.h"

/* The zone TZ was last set to: switching costs a zone-file read, so it is kept. */
static char current_tz[160];

static int zone_enter(const char *zone)
{
    if (!strcmp(zone, current_tz))
        return 0;
    if (!hd_localtz_valid(zone))
        return HD_EINVAL;
    snprintf(current_tz, sizeof current_tz, "%s", zone);
    setenv("TZ", zone, 1);
    tzset();
    return 0;
}

static void zone_leave(void)
{
}

static long gmtoff_at(int64_t unix_s)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    localtime_r(&t, &tm);
    return tm.tm_gmtoff;
}

bool hd_localtz_valid(const char *zone)
{
    if (!zone || !*zone || strlen(zone) > 128)
        return false;
    if (!strcmp(zone, "UTC"))
        return true;
    if (zone[0] == '/' || strstr(zone, ".."))
        return false;
    for (const char *p = zone; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '/' || *p == '_' || *p == '-' || *p == '+'))
            return false;
    char path[300];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zone);
    return access(path, R_OK) == 0;
}

int hd_localtz_from_unix(hd_localtm *out, const char *zone, int64_t unix_s)
{
    if (zone_enter(zone))
        return HD_EINVAL;
    time_t t = (time_t)unix_s;
    struct tm tm;
    localtime_r(&t, &tm);
    zone_leave();
    out->year = tm.tm_year + 1900;
    out->mon = tm.tm_mon + 1;
    out->mday = tm.tm_mday;
    out->hour = tm.tm_hour;
    out->min = tm.tm_min;
    out->sec = tm.tm_sec;
    out->wday = tm.tm_wday;
    out->utc_offset_s = (int)tm.tm_gmtoff;
    return 0;
}

int hd_localtz_to_unix(int64_t *out, bool *exists, const char *zone, int year, int mon, int mday,
                       int hour, int min)
{
    if (zone_enter(zone))
        return HD_EINVAL;
    /* Try both DST guesses; keep the earliest that maps back to the same wall time. */
    int64_t best = INT64_MAX;
    for (int dst = 0; dst <= 1; dst++) {
        struct tm tm = {.tm_year = year - 1900,
                        .tm_mon = mon - 1,
                        .tm_mday = mday,
                        .tm_hour = hour,
                        .tm_min = min,
                        .tm_isdst = dst};
        time_t t = mktime(&tm);
        struct tm back;
        localtime_r(&t, &back);
        if (back.tm_hour == hour && back.tm_min == min && back.tm_mday == mday && t < best)
            best = t;
    }
    *exists = best != INT64_MAX;
    if (!*exists) {
        /* In a gap: the run belongs at the instant the clocks jump (the first local time
         * after the missing wall time), found as the offset change near the guess. */
        struct tm tm = {.tm_year = year - 1900,
                        .tm_mon = mon - 1,
                        .tm_mday = mday,
                        .tm_hour = hour,
                        .tm_min = min,
                        .tm_isdst = -1};
        int64_t guess = (int64_t)mktime(&tm);
        int64_t lo = guess - 4 * 3600, hi = guess + 4 * 3600;
        long off_lo = gmtoff_at(lo);
        for (int i = 0; i < 64 && hi - lo > 1; i++) {
            int64_t mid = lo + (hi - lo) / 2;
            if (gmtoff_at(mid) == off_lo)
                lo = mid;
            else
                hi = mid;
        }
        best = hi;
    }
    zone_leave();
    *out = best;
    return 0;
}

int64_t hd_localtz_day(const char *zone, int64_t unix_s)
{
    hd_localtm lt;
    if (hd_localtz_from_unix(&lt, zone, unix_s))
        return unix_s >= 0 ? unix_s / 86400 : (unix_s - 86399) / 86400;
    int64_t l = unix_s + lt.utc_offset_s;
    return l >= 0 ? l / 86400 : (l - 86399) / 86400;
}
