/* TZif (RFC 8536) and POSIX TZ rule parsing, and UTC <-> local conversion for one zone.
 * Everything the file says is checked before use: it may come from anywhere. Leap-second
 * records ("right/" zones) are skipped: the project counts POSIX seconds. */
#include "server/common/tz.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest TZif file accepted (the biggest system zone is ~3 KiB). */
#define TZ_FILE_MAX (1u << 20)
/* Offsets beyond +-25 h are not real zones. */
#define TZ_OFF_MAX (25 * 3600)

/* One POSIX rule date: Jn (julian, no Feb 29), n (zero-based, with Feb 29) or Mm.w.d. */
typedef struct tz_date {
    char kind;      /* 'J', 'D' or 'M' */
    int a;          /* day (J, D) or month (M) */
    int week;       /* M: 1-5 (5 = last) */
    int wday;       /* M: 0-6 */
    int32_t time_s; /* local time of day of the change, may be <0 or >24h (v3) */
} tz_date;

typedef struct tz_rule {
    int32_t std_off; /* local - UTC */
    int has_dst;
    int32_t dst_off;
    tz_date start, end;
} tz_rule;

struct hd_tz {
    char name[HD_TZ_NAME_MAX];
    size_t n_trans;
    int64_t *trans; /* ascending transition instants */
    uint8_t *idx;   /* type index per transition */
    size_t n_types;
    int32_t *off;   /* per type */
    uint8_t *isdst; /* per type */
    int has_rule;   /* footer rule applies after the last transition */
    tz_rule rule;
};

/* ---- calendar ------------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t hd_tz_days_from_civil(int64_t year, int month, int day)
{
    /* Howard Hinnant's days_from_civil, after normalising the month. */
    int64_t m0 = (int64_t)month - 1;
    year += floor_div(m0, 12);
    int64_t m = m0 - floor_div(m0, 12) * 12 + 1;
    int64_t y = m <= 2 ? year - 1 : year;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t mp = (m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 + (int64_t)day - 1;
}

void hd_tz_civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = yoe + era * 400 + (m <= 2);
    *month = (int)m;
    *day = (int)d;
}

int hd_tz_weekday(int64_t days)
{
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ---- POSIX rules ---------------------------------------------------------------------- */

static int parse_num(const char **p, int lo, int hi, int *out)
{
    const char *s = *p;
    long v = 0;
    int n = 0;
    while (*s >= '0' && *s <= '9' && n < 9) {
        v = v * 10 + (*s - '0');
        s++;
        n++;
    }
    if (n == 0 || v < lo || v > hi)
        return -1;
    *p = s;
    *out = (int)v;
    return 0;
}

/* [+-]hh[:mm[:ss]], hours up to max_h. */
static int parse_hms(const char **p, int max_h, int32_t *out)
{
    int sign = 1, h = 0, m = 0, sec = 0;
    if (**p == '+' || **p == '-') {
        sign = **p == '-' ? -1 : 1;
        (*p)++;
    }
    if (parse_num(p, 0, max_h, &h) < 0)
        return -1;
    if (**p == ':') {
        (*p)++;
        if (parse_num(p, 0, 59, &m) < 0)
            return -1;
        if (**p == ':') {
            (*p)++;
            if (parse_num(p, 0, 59, &sec) < 0)
                return -1;
        }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return 0;
}

static int parse_abbr(const char **p)
{
    const char *s = *p;
    int n = 0;
    if (*s == '<') {
        s++;
        while (*s && *s != '>') {
            s++;
            n++;
        }
        if (*s != '>' || n < 3)
            return -1;
        *p = s + 1;
        return 0;
    }
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
        s++;
        n++;
    }
    if (n < 3)
        return -1;
    *p = s;
    return 0;
}

static int parse_date(const char **p, tz_date *d)
{
    d->time_s = 7200;
    if (**p == 'J') {
        (*p)++;
        d->kind = 'J';
        if (parse_num(p, 1, 365, &d->a) < 0)
            return -1;
    } else if (**p == 'M') {
        (*p)++;
        d->kind = 'M';
        if (parse_num(p, 1, 12, &d->a) < 0 || **p != '.')
            return -1;
        (*p)++;
        if (parse_num(p, 1, 5, &d->week) < 0 || **p != '.')
            return -1;
        (*p)++;
        if (parse_num(p, 0, 6, &d->wday) < 0)
            return -1;
    } else {
        d->kind = 'D';
        if (parse_num(p, 0, 365, &d->a) < 0)
            return -1;
    }
    if (**p == '/') {
        (*p)++;
        if (parse_hms(p, 167, &d->time_s) < 0)
            return -1;
    }
    return 0;
}

/* Parses rule into *r; 0 or -1. An empty rule is invalid here. */
static int parse_rule(const char *s, tz_rule *r)
{
    const char *p = s;
    int32_t v;
    memset(r, 0, sizeof(*r));
    if (parse_abbr(&p) < 0 || parse_hms(&p, 24, &v) < 0)
        return -1;
    r->std_off = -v;
    if (*p == '\0')
        return 0;
    if (parse_abbr(&p) < 0)
        return -1;
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*p != ',' && *p != '\0') {
        if (parse_hms(&p, 24, &v) < 0)
            return -1;
        r->dst_off = -v;
    }
    if (*p == '\0') {
        /* No dates: POSIX leaves it to the implementation; use the US rules like tzcode. */
        r->start = (tz_date){'M', 3, 2, 0, 7200};
        r->end = (tz_date){'M', 11, 1, 0, 7200};
        return 0;
    }
    if (*p != ',')
        return -1;
    p++;
    if (parse_date(&p, &r->start) < 0 || *p != ',')
        return -1;
    p++;
    if (parse_date(&p, &r->end) < 0 || *p != '\0')
        return -1;
    return 0;
}

/* Seconds since the epoch of local midnight-based time of date d in year y, counted as if
 * local time were UTC (the caller subtracts the offset in effect). */
static int64_t rule_local(const tz_date *d, int64_t y)
{
    int64_t days;
    if (d->kind == 'J') {
        days = hd_tz_days_from_civil(y, 1, 1) + d->a - 1;
        if (is_leap(y) && d->a >= 60)
            days++;
    } else if (d->kind == 'D') {
        days = hd_tz_days_from_civil(y, 1, 1) + d->a;
    } else {
        int64_t first = hd_tz_days_from_civil(y, d->a, 1);
        int64_t next = hd_tz_days_from_civil(y, d->a + 1, 1);
        int delta = (d->wday - hd_tz_weekday(first) + 7) % 7;
        days = first + delta + (int64_t)(d->week - 1) * 7;
        while (days >= next)
            days -= 7;
    }
    return days * 86400 + d->time_s;
}

static int32_t rule_offset(const tz_rule *r, int64_t t, int *isdst)
{
    if (!r->has_dst) {
        *isdst = 0;
        return r->std_off;
    }
    int64_t y;
    int mo, dd;
    hd_tz_civil_from_days(floor_div(t + r->std_off, 86400), &y, &mo, &dd);
    /* The changes of the year around t and of its neighbours, in time order; the last one
     * at or before t decides. Works for both hemispheres and for changes near New Year. */
    int64_t when[6];
    int dst[6];
    int n = 0;
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        when[n] = rule_local(&r->start, yy) - r->std_off;
        dst[n++] = 1;
        when[n] = rule_local(&r->end, yy) - r->dst_off;
        dst[n++] = 0;
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && when[j - 1] > when[j]; j--) {
            int64_t tw = when[j];
            int td = dst[j];
            when[j] = when[j - 1];
            dst[j] = dst[j - 1];
            when[j - 1] = tw;
            dst[j - 1] = td;
        }
    int state = !dst[0];
    for (int i = 0; i < n && when[i] <= t; i++)
        state = dst[i];
    *isdst = state;
    return state ? r->dst_off : r->std_off;
}

/* ---- TZif ----------------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_hdr {
    int version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} tzif_hdr;

static int read_hdr(const unsigned char *p, size_t len, tzif_hdr *h)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return -1;
    h->version = p[4] == 0 ? 1 : p[4] - '0';
    if (h->version < 1 || h->version > 9)
        return -1;
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || h->timecnt > 100000 || h->leapcnt > 100000 ||
        h->charcnt > 100000 || (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return -1;
    return 0;
}

static size_t block_len(const tzif_hdr *h, size_t tsize)
{
    return (size_t)h->timecnt * tsize + h->timecnt + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

int hd_tz_parse(hd_tz **out, const char *name, const void *data, size_t len, hd_err *err)
{
    const unsigned char *p = data;
    hd_tz *tz = NULL;
    tzif_hdr h;
    size_t tsize = 4;
    int rc;

    *out = NULL;
    if (!data || read_hdr(p, len, &h) < 0) {
        rc = hd_err_set(err, HD_ECORRUPT, "tz %s: not a TZif file", name ? name : "");
        goto fail;
    }
    size_t need = 44 + block_len(&h, 4);
    if (len < need) {
        rc = hd_err_set(err, HD_ECORRUPT, "tz %s: truncated v1 data", name ? name : "");
        goto fail;
    }
    if (h.version >= 2) {
        p += need;
        len -= need;
        if (read_hdr(p, len, &h) < 0) {
            rc = hd_err_set(err, HD_ECORRUPT, "tz %s: bad v2 header", name ? name : "");
            goto fail;
        }
        tsize = 8;
        need = 44 + block_len(&h, 8);
        if (len < need) {
            rc = hd_err_set(err, HD_ECORRUPT, "tz %s: truncated v2 data", name ? name : "");
            goto fail;
        }
    }
    tz = calloc(1, sizeof(*tz));
    if (!tz) {
        rc = hd_err_set(err, HD_ENOMEM, "tz: out of memory");
        goto fail;
    }
    if (name)
        snprintf(tz->name, sizeof(tz->name), "%s", name);
    tz->n_trans = h.timecnt;
    tz->n_types = h.typecnt;
    tz->trans = calloc(h.timecnt ? h.timecnt : 1, sizeof(int64_t));
    tz->idx = calloc(h.timecnt ? h.timecnt : 1, 1);
    tz->off = calloc(h.typecnt, sizeof(int32_t));
    tz->isdst = calloc(h.typecnt, 1);
    if (!tz->trans || !tz->idx || !tz->off || !tz->isdst) {
        rc = hd_err_set(err, HD_ENOMEM, "tz: out of memory");
        goto fail;
    }
    const unsigned char *q = p + 44;
    for (uint32_t i = 0; i < h.timecnt; i++) {
        tz->trans[i] = tsize == 8 ? be64(q + i * 8) : (int32_t)be32(q + i * 4);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1]) {
            rc = hd_err_set(err, HD_ECORRUPT, "tz %s: transitions out of order", tz->name);
            goto fail;
        }
    }
    q += (size_t)h.timecnt * tsize;
    for (uint32_t i = 0; i < h.timecnt; i++) {
        tz->idx[i] = q[i];
        if (q[i] >= h.typecnt) {
            rc = hd_err_set(err, HD_ECORRUPT, "tz %s: type index out of range", tz->name);
            goto fail;
        }
    }
    q += h.timecnt;
    for (uint32_t i = 0; i < h.typecnt; i++) {
        int32_t off = (int32_t)be32(q + i * 6);
        if (off < -TZ_OFF_MAX || off > TZ_OFF_MAX || q[i * 6 + 4] > 1) {
            rc = hd_err_set(err, HD_ECORRUPT, "tz %s: bad local time type", tz->name);
            goto fail;
        }
        tz->off[i] = off;
        tz->isdst[i] = q[i * 6 + 4];
    }
    if (h.version >= 2) {
        /* Footer: "\n" rule "\n"; an empty rule means none. */
        const unsigned char *f = p + need;
        size_t flen = len - need;
        const unsigned char *nl = flen > 1 ? memchr(f + 1, '\n', flen - 1) : NULL;
        if (flen < 2 || f[0] != '\n' || !nl || nl - f - 1 >= 256) {
            rc = hd_err_set(err, HD_ECORRUPT, "tz %s: bad footer", tz->name);
            goto fail;
        }
        char rule[256];
        memcpy(rule, f + 1, (size_t)(nl - f - 1));
        rule[nl - f - 1] = '\0';
        if (rule[0] != '\0') {
            if (memchr(rule, '\0', (size_t)(nl - f - 1)) || parse_rule(rule, &tz->rule) < 0) {
                rc = hd_err_set(err, HD_ECORRUPT, "tz %s: bad footer rule", tz->name);
                goto fail;
            }
            tz->has_rule = 1;
        }
    }
    *out = tz;
    return 0;
fail:
    hd_tz_free(tz);
    return rc;
}

int hd_tz_parse_posix(hd_tz **out, const char *rule, hd_err *err)
{
    hd_tz *tz = NULL;
    int rc;

    *out = NULL;
    tz = calloc(1, sizeof(*tz));
    if (!tz) {
        rc = hd_err_set(err, HD_ENOMEM, "tz: out of memory");
        goto fail;
    }
    if (!rule || parse_rule(rule, &tz->rule) < 0) {
        rc = hd_err_set(err, HD_EINVAL, "tz: bad POSIX TZ rule \"%.64s\"", rule ? rule : "");
        goto fail;
    }
    tz->has_rule = 1;
    snprintf(tz->name, sizeof(tz->name), "%s", rule);
    *out = tz;
    return 0;
fail:
    hd_tz_free(tz);
    return rc;
}

void hd_tz_free(hd_tz *tz)
{
    if (!tz)
        return;
    free(tz->trans);
    free(tz->idx);
    free(tz->off);
    free(tz->isdst);
    free(tz);
}

static int name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= HD_TZ_NAME_MAX || name[0] == '/' || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '+' || c == '/' || c == '.';
        if (!ok || (c == '.' && name[i + 1] == '.') || (c == '/' && name[i + 1] == '/'))
            return 0;
    }
    return 1;
}

int hd_tz_load(hd_tz **out, const char *name, const char *dir, hd_err *err)
{
    char path[4096];
    unsigned char *buf = NULL;
    FILE *f = NULL;
    int rc;

    *out = NULL;
    if (!name_ok(name)) {
        rc = hd_err_set(err, HD_EINVAL, "tz: bad zone name \"%.64s\"", name ? name : "");
        goto fail;
    }
    if (!dir)
        dir = secure_getenv("TZDIR");
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
        rc = hd_err_set(err, HD_EINVAL, "tz: path too long for zone %s", name);
        goto fail;
    }
    f = fopen(path, "rb");
    if (!f) {
        rc = hd_err_set(err, errno == ENOENT || errno == ENOTDIR ? HD_ENOTFOUND : HD_EIO,
                        "tz: unknown zone %s (%s: %s)", name, path, strerror(errno));
        goto fail;
    }
    buf = malloc(TZ_FILE_MAX);
    if (!buf) {
        rc = hd_err_set(err, HD_ENOMEM, "tz: out of memory");
        goto fail;
    }
    size_t n = fread(buf, 1, TZ_FILE_MAX, f);
    if (ferror(f)) {
        /* A directory opens but does not read: it is no zone. */
        rc = hd_err_set(err, HD_ENOTFOUND, "tz: unknown zone %s (%s unreadable)", name, path);
        goto fail;
    }
    rc = hd_tz_parse(out, name, buf, n, err);
fail:
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

const char *hd_tz_name(const hd_tz *tz)
{
    return tz->name;
}

int32_t hd_tz_offset(const hd_tz *tz, int64_t utc_s, int *is_dst)
{
    int d;
    int32_t off;
    if (tz->n_trans == 0 || utc_s < tz->trans[0]) {
        if (tz->n_trans == 0 && tz->has_rule) {
            off = rule_offset(&tz->rule, utc_s, &d);
        } else {
            off = tz->off[0];
            d = tz->isdst[0];
        }
    } else if (utc_s >= tz->trans[tz->n_trans - 1] && tz->has_rule) {
        off = rule_offset(&tz->rule, utc_s, &d);
    } else {
        size_t lo = 0, hi = tz->n_trans; /* last transition <= utc_s is in [lo, hi) */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (tz->trans[mid] <= utc_s)
                lo = mid;
            else
                hi = mid;
        }
        off = tz->off[tz->idx[lo]];
        d = tz->isdst[tz->idx[lo]];
    }
    if (is_dst)
        *is_dst = d;
    return off;
}

static int64_t rule_next(const tz_rule *r, int64_t t)
{
    if (!r->has_dst)
        return INT64_MAX;
    int64_t y, best = INT64_MAX;
    int mo, dd;
    hd_tz_civil_from_days(floor_div(t + r->std_off, 86400), &y, &mo, &dd);
    for (int64_t yy = y - 1; yy <= y + 2; yy++) {
        int64_t a = rule_local(&r->start, yy) - r->std_off;
        int64_t b = rule_local(&r->end, yy) - r->dst_off;
        if (a > t && a < best)
            best = a;
        if (b > t && b < best)
            best = b;
    }
    return best;
}

int64_t hd_tz_next_transition(const hd_tz *tz, int64_t utc_s)
{
    if (tz->n_trans > 0 && utc_s < tz->trans[tz->n_trans - 1]) {
        size_t lo = 0, hi = tz->n_trans - 1; /* first transition > utc_s is in [lo, hi] */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (tz->trans[mid] > utc_s)
                hi = mid;
            else
                lo = mid + 1;
        }
        return tz->trans[lo];
    }
    return tz->has_rule ? rule_next(&tz->rule, utc_s) : INT64_MAX;
}

void hd_tz_to_local(const hd_tz *tz, int64_t utc_s, hd_tz_civil *out)
{
    int d;
    int32_t off = hd_tz_offset(tz, utc_s, &d);
    int64_t l = utc_s + off;
    int64_t days = floor_div(l, 86400);
    int64_t sod = l - days * 86400;
    int64_t y;
    hd_tz_civil_from_days(days, &y, &out->month, &out->day);
    out->year = (int)y;
    out->hour = (int)(sod / 3600);
    out->min = (int)(sod / 60 % 60);
    out->sec = (int)(sod % 60);
    out->wday = hd_tz_weekday(days);
    out->utc_off_s = off;
    out->is_dst = d;
}

int hd_tz_from_local(const hd_tz *tz, const hd_tz_civil *local, hd_tz_pick pick, int64_t *out,
                     hd_err *err)
{
    if (local->year < -100000 || local->year > 100000)
        return hd_err_set(err, HD_EINVAL, "tz: year %d out of range", local->year);
    int64_t l = (hd_tz_days_from_civil(local->year, local->month, 1) + local->day - 1) * 86400 +
                (int64_t)local->hour * 3600 + (int64_t)local->min * 60 + local->sec;
    /* Offsets never reach a day, so these are the offsets before and after l's instant. */
    int32_t ob = hd_tz_offset(tz, l - 86400, NULL);
    int32_t oa = hd_tz_offset(tz, l + 86400, NULL);
    int64_t ub = l - ob, ua = l - oa;
    int vb = hd_tz_offset(tz, ub, NULL) == ob;
    int va = hd_tz_offset(tz, ua, NULL) == oa;
    if (vb && va) {
        int64_t lo = ub < ua ? ub : ua, hi = ub < ua ? ua : ub;
        *out = pick == HD_TZ_LATER ? hi : lo;
        return 0;
    }
    if (vb || va) {
        *out = vb ? ub : ua;
        return 0;
    }
    /* A gap: answer the instant the clocks jumped, the first u in [min, max] whose offset is
     * no longer the one before. */
    int64_t lo = ub < ua ? ub : ua, hi = ub < ua ? ua : ub;
    if (hd_tz_offset(tz, lo, NULL) != ob) {
        *out = lo;
        return 0;
    }
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (hd_tz_offset(tz, mid, NULL) == ob)
            lo = mid;
        else
            hi = mid;
    }
    *out = hi;
    return 0;
}

/* ---- process-wide cache -------------------------------------------------------------- */

typedef struct tz_cached {
    struct tz_cached *next;
    hd_tz *tz;
} tz_cached;

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static tz_cached *cache_head;

int hd_tz_get(const hd_tz **out, const char *name, hd_err *err)
{
    int rc = 0;
    hd_tz *tz = NULL;
    tz_cached *c;

    *out = NULL;
    pthread_mutex_lock(&cache_mu);
    for (c = cache_head; c; c = c->next)
        if (name && strcmp(c->tz->name, name) == 0)
            break;
    if (c) {
        *out = c->tz;
        goto done;
    }
    rc = hd_tz_load(&tz, name, NULL, err);
    if (rc < 0)
        goto done;
    c = malloc(sizeof(*c));
    if (!c) {
        hd_tz_free(tz);
        rc = hd_err_set(err, HD_ENOMEM, "tz: out of memory");
        goto done;
    }
    c->tz = tz;
    c->next = cache_head;
    cache_head = c;
    *out = tz;
done:
    pthread_mutex_unlock(&cache_mu);
    return rc;
}

void hd_tz_cache_clear(void)
{
    pthread_mutex_lock(&cache_mu);
    while (cache_head) {
        tz_cached *c = cache_head;
        cache_head = c->next;
        hd_tz_free(c->tz);
        free(c);
    }
    pthread_mutex_unlock(&cache_mu);
}
