/* Adapter from the reporter's local-time calls to the shared zone cache (hd_tz_get):
 * zones load once per process and are safe to use from any thread. */
#include "reporter/localtz.h"

#include "server/common/err.h"
#include "server/common/tz.h"

static const hd_tz *zone_get(const char *zone)
{
    const hd_tz *tz = NULL;
    hd_err err;
    if (!zone || hd_tz_get(&tz, zone, &err))
        return NULL;
    return tz;
}

bool hd_localtz_valid(const char *zone)
{
    return zone_get(zone) != NULL;
}

int hd_localtz_from_unix(hd_localtm *out, const char *zone, int64_t unix_s)
{
    const hd_tz *tz = zone_get(zone);
    if (!tz)
        return HD_EINVAL;
    hd_tz_civil c;
    hd_tz_to_local(tz, unix_s, &c);
    *out = (hd_localtm){.year = c.year,
                        .mon = c.month,
                        .mday = c.day,
                        .hour = c.hour,
                        .min = c.min,
                        .sec = c.sec,
                        .wday = c.wday,
                        .utc_offset_s = c.utc_off_s};
    return 0;
}

int hd_localtz_to_unix(int64_t *out, bool *exists, const char *zone, int year, int mon, int mday,
                       int hour, int min)
{
    const hd_tz *tz = zone_get(zone);
    if (!tz)
        return HD_EINVAL;
    hd_tz_civil c = {.year = year, .month = mon, .day = mday, .hour = hour, .min = min};
    hd_err err;
    if (hd_tz_from_local(tz, &c, HD_TZ_EARLIER, out, &err))
        return HD_EINVAL;
    /* A wall time that exists reads back as itself. */
    hd_tz_civil back;
    hd_tz_to_local(tz, *out, &back);
    *exists = back.hour == hour && back.min == min && back.day == mday;
    return 0;
}

int64_t hd_localtz_day(const char *zone, int64_t unix_s)
{
    const hd_tz *tz = zone_get(zone);
    int64_t l = unix_s + (tz ? hd_tz_offset(tz, unix_s, NULL) : 0);
    return l >= 0 ? l / 86400 : (l - 86399) / 86400;
}
