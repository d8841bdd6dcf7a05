/* Cron parsing and next-run search. The search walks local calendar dates (pure date
 * arithmetic) and converts only candidate wall times to UTC, so DST rules come from the
 * zone database alone. */
#include "reporter/cron.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reporter/localtz.h"

typedef struct field_def {
    const char *name;
    int lo, hi;
    const char *const *names; /* names for lo.. (NULL: numbers only) */
} field_def;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const wday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const field_def fields[5] = {
    {"minute", 0, 59, NULL},           {"hour", 0, 23, NULL},
    {"day of month", 1, 31, NULL},     {"month", 1, 12, month_names},
    {"day of week", 0, 7, wday_names},
};

static int parse_num(const char **p, const field_def *f, int *out)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        int digits = 0;
        while (isdigit((unsigned char)*s) && digits < 3) {
            v = v * 10 + (*s - '0');
            s++;
            digits++;
        }
        if (isdigit((unsigned char)*s))
            return -1;
        *p = s;
        *out = (int)v;
        return 0;
    }
    if (f->names && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) &&
        isalpha((unsigned char)s[2])) {
        int n = f == &fields[3] ? 12 : 7;
        for (int i = 0; i < n; i++)
            if (!strncasecmp(s, f->names[i], 3)) {
                *p = s + 3;
                *out = f->lo + i;
                return 0;
            }
    }
    return -1;
}

/* Parses one field's comma list into bits; star set when the field is exactly '*'. */
static int parse_field(uint64_t *bits, int *star, const char *s, size_t len, const field_def *f,
                       hd_err *err)
{
    char buf[128];
    if (len == 0 || len >= sizeof buf)
        return hd_err_set(err, HD_EINVAL, "cron %s: empty or too long", f->name);
    memcpy(buf, s, len);
    buf[len] = 0;
    *bits = 0;
    *star = !strcmp(buf, "*");
    const char *p = buf;
    for (;;) {
        int lo, hi, step = 1;
        if (*p == '*') {
            lo = f->lo;
            hi = f->hi == 7 ? 6 : f->hi;
            p++;
        } else {
            if (parse_num(&p, f, &lo))
                goto bad;
            hi = lo;
            if (*p == '-') {
                p++;
                if (parse_num(&p, f, &hi))
                    goto bad;
            }
        }
        if (*p == '/') {
            p++;
            const char *q = p;
            if (parse_num(&p, &fields[0], &step) || step < 1 || p == q)
                goto bad;
            if (hi == lo && buf[0] != '*')
                hi = f->hi == 7 ? 6 : f->hi;
        }
        if (lo < f->lo || hi > f->hi || lo > hi)
            return hd_err_set(err, HD_EINVAL, "cron %s: %d-%d outside %d-%d", f->name, lo, hi,
                              f->lo, f->hi);
        for (int v = lo; v <= hi; v += step)
            *bits |= 1ull << (f->hi == 7 && v == 7 ? 0 : v);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p)
            goto bad;
        return 0;
    }
bad:
    return hd_err_set(err, HD_EINVAL, "cron %s: cannot read \"%s\"", f->name, buf);
}

int hd_cron_parse(hd_cron *out, const char *expr, hd_err *err)
{
    memset(out, 0, sizeof *out);
    const char *p = expr;
    uint64_t bits[5];
    int star[5];
    for (int i = 0; i < 5; i++) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (p == start)
            return hd_err_set(err, HD_EINVAL, "cron: expected 5 fields, found %d", i);
        int rc = parse_field(&bits[i], &star[i], start, (size_t)(p - start), &fields[i], err);
        if (rc)
            return rc;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return hd_err_set(err, HD_EINVAL, "cron: more than 5 fields");
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->mday = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->wday = (uint8_t)bits[4];
    out->mday_star = star[2];
    out->wday_star = star[4];
    return 0;
}

/* Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static bool day_matches(const hd_cron *c, int m, int d, int wday)
{
    if (!(c->month & (1u << m)))
        return false;
    bool md = (c->mday >> d) & 1u, wd = (c->wday >> wday) & 1u;
    if (!c->mday_star && !c->wday_star)
        return md || wd;
    return md && wd;
}

int hd_cron_next(int64_t *out, const hd_cron *c, const char *zone, int64_t after_s, hd_err *err)
{
    hd_localtm lt;
    if (hd_localtz_from_unix(&lt, zone, after_s))
        return hd_err_set(err, HD_EINVAL, "unknown time zone \"%s\"", zone);
    /* Start a day early: a gap run of the previous day can land after after_s. */
    int64_t day0 = days_from_civil(lt.year, lt.mon, lt.mday) - 1;
    for (int64_t day = day0; day < day0 + 5 * 366 + 2; day++) {
        int y, m, d;
        civil_from_days(day, &y, &m, &d);
        int wday = (int)(((day % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
        if (!day_matches(c, m, d, wday))
            continue;
        for (int h = 0; h < 24; h++) {
            if (!(c->hour & (1u << h)))
                continue;
            for (int mi = 0; mi < 60; mi++) {
                if (!(c->minute & (1ull << mi)))
                    continue;
                /* Far before after_s even with any offset change: no need to convert. */
                int64_t approx = day * 86400 + h * 3600 + mi * 60 - lt.utc_offset_s;
                if (approx < after_s - 6 * 3600)
                    continue;
                int64_t t;
                bool exists;
                if (hd_localtz_to_unix(&t, &exists, zone, y, m, d, h, mi))
                    return hd_err_set(err, HD_EINVAL, "unknown time zone \"%s\"", zone);
                if (t > after_s) {
                    *out = t;
                    return 0;
                }
            }
        }
    }
    return hd_err_set(err, HD_ENOTFOUND, "cron: no run within 5 years");
}
