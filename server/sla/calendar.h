/* Business-time calendars: weekly working intervals (several a day, e.g. with a lunch
 * break) in an IANA zone, and holidays (single dates or recurring every year). Answers the
 * two questions SLA clocks ask: when does a span of working time starting at t end (due
 * time), and how much working time lies between two instants. Wall-clock semantics across
 * DST: an interval 09:00-17:00 is 09:00 to 17:00 on the local clock, so it is 7 or 9 real
 * hours on change days when the change falls inside it. A compiled calendar is immutable
 * and may be shared by threads. */
#ifndef HD_SLA_CALENDAR_H
#define HD_SLA_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#include "server/common/err.h"
#include "server/common/tz.h"

/* Most intervals and holidays one calendar holds. */
#define HD_SLA_INTERVALS_MAX 64
#define HD_SLA_HOLIDAYS_MAX  512

/* Working time on one weekday, [start_min, end_min) in local minutes of the day. */
typedef struct hd_sla_interval {
    int wday;      /* 0 = Sunday .. 6 = Saturday */
    int start_min; /* 0..1439 */
    int end_min;   /* start_min+1..1440 */
} hd_sla_interval;

/* A day off: the whole local date. year 0 = every year on month/day. */
typedef struct hd_sla_holiday {
    int year;
    int month;
    int day;
} hd_sla_holiday;

/* A calendar as configured. Everything is borrowed by hd_sla_calendar_compile. */
typedef struct hd_sla_calendar_def {
    const char *tz_name; /* IANA zone, e.g. "Europe/London" */
    size_t n_intervals;
    const hd_sla_interval *intervals;
    size_t n_holidays;
    const hd_sla_holiday *holidays;
} hd_sla_calendar_def;

typedef struct hd_sla_calendar hd_sla_calendar;

/* Validates def and builds a calendar. Returns 0 with *out owned (free with
 * hd_sla_calendar_free), or HD_EINVAL with the reason in err: no intervals, an interval out
 * of range, overlapping (or touching-unsorted duplicate) intervals on a day, a bad holiday
 * date, too many entries, or an unknown zone ("unknown time zone ..."); HD_ENOMEM. */
int hd_sla_calendar_compile(hd_sla_calendar **out, const hd_sla_calendar_def *def, hd_err *err);

/* Frees a calendar. NULL is allowed. */
void hd_sla_calendar_free(hd_sla_calendar *cal);

/* Returns the calendar's zone, borrowed until the calendar is freed. */
const hd_tz *hd_sla_calendar_tz(const hd_sla_calendar *cal);

/* Returns 1 if the local date year-month-day is a holiday of cal. */
int hd_sla_calendar_is_holiday(const hd_sla_calendar *cal, int64_t year, int month, int day);

/* Sets *due_s to the instant (Unix seconds) at which `secs` seconds of working time counted
 * from start_s have passed. secs == 0 gives the first working instant at or after start_s
 * (the start of the next business period when start_s is outside hours). secs > 0 may end
 * exactly at an interval's end (17:00). Cost: one step per local day crossed. Returns 0, or
 * HD_EINVAL when secs < 0 or no working time exists within 50 years (e.g. every working day
 * a holiday). */
int hd_sla_calendar_add(const hd_sla_calendar *cal, int64_t start_s, int64_t secs, int64_t *due_s,
                        hd_err *err);

/* Returns the working seconds in [a_s, b_s) (0 when b_s <= a_s). Cost: one step per local
 * day crossed. */
int64_t hd_sla_calendar_count(const hd_sla_calendar *cal, int64_t a_s, int64_t b_s);

/* Returns 1 if instant t_s lies in working time. */
int hd_sla_calendar_is_working(const hd_sla_calendar *cal, int64_t t_s);

#endif
