/* Business-time arithmetic. Working time is the set of instants whose local time (in the
 * calendar's zone) falls in a weekday interval on a non-holiday date. Each local day is
 * turned into UTC segments by walking the zone's constant-offset pieces around that day, so
 * DST gaps (a 01:30 that never happens) and folds (a 01:30 that happens twice) count exactly
 * the instants a wall clock would show inside the interval. Zones that fold back across
 * midnight (rare) may visit a day's segments slightly out of order in hd_sla_calendar_add;
 * hd_sla_calendar_count is exact for every zone. */
#include "server/sla/calendar.h"

#include <stdlib.h>
#include <string.h>

/* Days searched for working time before giving up (50 years). */
#define CAL_DAYS_MAX (50 * 366)
/* Segments one local day can produce: intervals times offset pieces around the day. */
#define CAL_SEGS_MAX (HD_SLA_INTERVALS_MAX * 4)

struct hd_sla_calendar {
    const hd_tz *tz; /* from the shared cache */
    int n_day[7];
    hd_sla_interval day[7][HD_SLA_INTERVALS_MAX]; /* per weekday, sorted by start */
    size_t n_holidays;
    hd_sla_holiday *holidays; /* sorted by (year, month, day); year 0 first */
};

typedef struct seg {
    int64_t s, e;
} seg;

static int cmp_interval(const void *a, const void *b)
{
    const hd_sla_interval *x = a, *y = b;
    return x->start_min - y->start_min;
}

static int cmp_holiday(const void *a, const void *b)
{
    const hd_sla_holiday *x = a, *y = b;
    if (x->year != y->year)
        return x->year < y->year ? -1 : 1;
    if (x->month != y->month)
        return x->month - y->month;
    return x->day - y->day;
}

static int days_in_month(int year, int month)
{
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && (year == 0 || ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)))
        return 29; /* year 0 = recurring: allow Feb 29 */
    return n[month - 1];
}

int hd_sla_calendar_compile(hd_sla_calendar **out, const hd_sla_calendar_def *def, hd_err *err)
{
    hd_sla_calendar *cal = NULL;
    int rc;

    *out = NULL;
    if (def->n_intervals == 0 || def->n_intervals > HD_SLA_INTERVALS_MAX) {
        rc = hd_err_set(err, HD_EINVAL, "calendar: needs 1-%d working intervals, got %zu",
                        HD_SLA_INTERVALS_MAX, def->n_intervals);
        goto fail;
    }
    if (def->n_holidays > HD_SLA_HOLIDAYS_MAX) {
        rc = hd_err_set(err, HD_EINVAL, "calendar: at most %d holidays, got %zu",
                        HD_SLA_HOLIDAYS_MAX, def->n_holidays);
        goto fail;
    }
    cal = calloc(1, sizeof(*cal));
    if (!cal) {
        rc = hd_err_set(err, HD_ENOMEM, "calendar: out of memory");
        goto fail;
    }
    hd_err tzerr;
    if (hd_tz_get(&cal->tz, def->tz_name ? def->tz_name : "", &tzerr) < 0) {
        rc = hd_err_set(err, HD_EINVAL, "calendar: unknown time zone \"%.64s\"",
                        def->tz_name ? def->tz_name : "");
        goto fail;
    }
    for (size_t i = 0; i < def->n_intervals; i++) {
        const hd_sla_interval *iv = &def->intervals[i];
        if (iv->wday < 0 || iv->wday > 6 || iv->start_min < 0 || iv->end_min > 1440 ||
            iv->start_min >= iv->end_min) {
            rc = hd_err_set(err, HD_EINVAL,
                            "calendar: interval %zu: need weekday 0-6 and 0 <= start < end <= "
                            "1440 minutes (got day %d, %d-%d)",
                            i, iv->wday, iv->start_min, iv->end_min);
            goto fail;
        }
        cal->day[iv->wday][cal->n_day[iv->wday]++] = *iv;
    }
    for (int d = 0; d < 7; d++) {
        qsort(cal->day[d], (size_t)cal->n_day[d], sizeof(hd_sla_interval), cmp_interval);
        for (int i = 1; i < cal->n_day[d]; i++)
            if (cal->day[d][i].start_min < cal->day[d][i - 1].end_min) {
                rc = hd_err_set(err, HD_EINVAL,
                                "calendar: overlapping intervals on weekday %d (%d-%d and %d-%d)",
                                d, cal->day[d][i - 1].start_min, cal->day[d][i - 1].end_min,
                                cal->day[d][i].start_min, cal->day[d][i].end_min);
                goto fail;
            }
    }
    if (def->n_holidays) {
        cal->holidays = calloc(def->n_holidays, sizeof(hd_sla_holiday));
        if (!cal->holidays) {
            rc = hd_err_set(err, HD_ENOMEM, "calendar: out of memory");
            goto fail;
        }
    }
    for (size_t i = 0; i < def->n_holidays; i++) {
        const hd_sla_holiday *h = &def->holidays[i];
        if (h->year < 0 || h->year > 9999 || h->month < 1 || h->month > 12 || h->day < 1 ||
            h->day > days_in_month(h->year, h->month)) {
            rc = hd_err_set(err, HD_EINVAL, "calendar: holiday %zu: bad date %04d-%02d-%02d", i,
                            h->year, h->month, h->day);
            goto fail;
        }
        cal->holidays[i] = *h;
    }
    cal->n_holidays = def->n_holidays;
    if (cal->n_holidays)
        qsort(cal->holidays, cal->n_holidays, sizeof(hd_sla_holiday), cmp_holiday);
    *out = cal;
    return 0;
fail:
    hd_sla_calendar_free(cal);
    return rc;
}

void hd_sla_calendar_free(hd_sla_calendar *cal)
{
    if (!cal)
        return;
    free(cal->holidays);
    free(cal);
}

const hd_tz *hd_sla_calendar_tz(const hd_sla_calendar *cal)
{
    return cal->tz;
}

int hd_sla_calendar_is_holiday(const hd_sla_calendar *cal, int64_t year, int month, int day)
{
    hd_sla_holiday keys[2] = {{0, month, day}, {(int)year, month, day}};
    for (int k = 0; k < 2; k++)
        if (cal->n_holidays &&
            bsearch(&keys[k], cal->holidays, cal->n_holidays, sizeof(hd_sla_holiday), cmp_holiday))
            return 1;
    return 0;
}

/* Fills segs with the UTC segments of local day `day` (days since 1970-01-01 on the local
 * calendar), in UTC order; returns how many. */
static int day_segments(const hd_sla_calendar *cal, int64_t day, seg *segs)
{
    int64_t y;
    int mo, dd;
    hd_tz_civil_from_days(day, &y, &mo, &dd);
    int wd = hd_tz_weekday(day);
    if (cal->n_day[wd] == 0 || hd_sla_calendar_is_holiday(cal, y, mo, dd))
        return 0;
    /* Local seconds-as-UTC of the day's intervals; every instant whose local time is in
     * [L1, L2) lies within a day and a bit of them, whatever the offset. */
    int64_t base = day * 86400;
    int64_t w0 = base - 26 * 3600, w1 = base + 86400 + 26 * 3600;
    int n = 0;
    for (int64_t p0 = w0; p0 < w1 && n < CAL_SEGS_MAX;) {
        int32_t o = hd_tz_offset(cal->tz, p0, NULL);
        int64_t p1 = hd_tz_next_transition(cal->tz, p0);
        if (p1 > w1)
            p1 = w1;
        for (int i = 0; i < cal->n_day[wd] && n < CAL_SEGS_MAX; i++) {
            int64_t s = base + (int64_t)cal->day[wd][i].start_min * 60 - o;
            int64_t e = base + (int64_t)cal->day[wd][i].end_min * 60 - o;
            if (s < p0)
                s = p0;
            if (e > p1)
                e = p1;
            if (s < e) {
                if (n > 0 && segs[n - 1].e == s)
                    segs[n - 1].e = e; /* adjacent intervals across a piece boundary */
                else
                    segs[n++] = (seg){s, e};
            }
        }
        p0 = p1;
    }
    return n;
}

static int64_t local_day(const hd_sla_calendar *cal, int64_t t)
{
    int64_t l = t + hd_tz_offset(cal->tz, t, NULL);
    return l >= 0 ? l / 86400 : -((-l + 86399) / 86400);
}

int hd_sla_calendar_add(const hd_sla_calendar *cal, int64_t start_s, int64_t secs, int64_t *due_s,
                        hd_err *err)
{
    seg segs[CAL_SEGS_MAX];
    if (secs < 0)
        return hd_err_set(err, HD_EINVAL, "calendar: negative duration %lld", (long long)secs);
    int64_t d0 = local_day(cal, start_s);
    for (int64_t d = d0; d < d0 + CAL_DAYS_MAX; d++) {
        int n = day_segments(cal, d, segs);
        for (int i = 0; i < n; i++) {
            if (segs[i].e <= start_s)
                continue;
            int64_t s = segs[i].s > start_s ? segs[i].s : start_s;
            int64_t avail = segs[i].e - s;
            if (secs == 0) {
                *due_s = s;
                return 0;
            }
            if (secs <= avail) {
                *due_s = s + secs;
                return 0;
            }
            secs -= avail;
        }
    }
    return hd_err_set(err, HD_EINVAL, "calendar: no working time within 50 years");
}

int64_t hd_sla_calendar_count(const hd_sla_calendar *cal, int64_t a_s, int64_t b_s)
{
    seg segs[CAL_SEGS_MAX];
    int64_t total = 0;
    if (b_s <= a_s)
        return 0;
    /* One day either side: a fold across midnight can put a day's instants outside it. */
    int64_t d1 = local_day(cal, b_s) + 1;
    for (int64_t d = local_day(cal, a_s) - 1; d <= d1; d++) {
        int n = day_segments(cal, d, segs);
        for (int i = 0; i < n; i++) {
            int64_t s = segs[i].s > a_s ? segs[i].s : a_s;
            int64_t e = segs[i].e < b_s ? segs[i].e : b_s;
            if (s < e)
                total += e - s;
        }
    }
    return total;
}

int hd_sla_calendar_is_working(const hd_sla_calendar *cal, int64_t t_s)
{
    return hd_sla_calendar_count(cal, t_s, t_s + 1) == 1;
}
