/* ReportingService. Rollups come from the ROLLUPS table (UTC day buckets, summed into
 * Monday weeks) for any metric name or "prefix*" pattern, read over the range only; ticket
 * rows from one read transaction on a thread of the stream's own that waits for the client
 * (hd_rpc_stream_send_wait): a scan of TICKETS, or with breached_only the SLA breach log's
 * range, one row per message or (StreamReportTicketBatches) up to 512 per message; leases through
 * group commit (async finish from the store's acknowledgement). */
#include "server/api/reporting_api.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpdesk/v1/reporting.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "server/api/perm.h"
#include "server/app.h"
#include "server/clock/clock.h"
#include "server/common/tz.h"
#include "server/reports/facts.h"
#include "server/reports/lease.h"
#include "server/reports/query.h"
#include "server/rollup/rollup.h"
#include "server/sla/record.h"
#include "server/staff/staff.h"
#include "server/store/key.h"
#include "server/store/store.h"
#include "server/tickets/tickets.h"

#define STREAM_SEND_WAIT_MS 30000
/* GetReportRollups bounds: metric patterns per request, points per response (~2 MB packed,
 * under a client's default 4 MiB message limit). */
#define HD_REPORTS_METRICS_MAX 32
#define HD_REPORTS_POINTS_MAX  100000
/* Report streams run on threads of their own (they wait for the client); at most this many
 * at once. */
#define HD_REPORTS_STREAMS_MAX 4

static int64_t ts_s(const Google__Protobuf__Timestamp *t)
{
    return t ? t->seconds : 0;
}

static Google__Protobuf__Timestamp *ts_new(hd_arena *a, int64_t s)
{
    Google__Protobuf__Timestamp *t = hd_arena_alloc(a, sizeof *t);
    if (!t)
        return NULL;
    google__protobuf__timestamp__init(t);
    t->seconds = s;
    return t;
}

static int check_range(const Helpdesk__V1__ReportRange *r, hd_err *err)
{
    if (!r || !r->start_time || !r->end_time || ts_s(r->end_time) <= ts_s(r->start_time))
        return hd_err_set(err, HD_EINVAL, "range: start_time and end_time required, start < end");
    if (ts_s(r->end_time) - ts_s(r->start_time) > 800LL * 86400)
        return hd_err_set(err, HD_EINVAL, "range: at most 800 days");
    return 0;
}

/* ---- GetReportRollups ----------------------------------------------------------------- */

/* Builds the response's series while hd_reports_rollup_scan walks the counters: one series
 * per metric name met, points summed per (bucket, dim) within it. */
typedef struct series_build {
    hd_arena *a;
    int week;
    Helpdesk__V1__GetReportRollupsResponse *resp;
    size_t series_cap;
    Helpdesk__V1__RollupSeries *cur;
    uint32_t *dims; /* dims[i] of cur->points[i] */
    size_t cap;     /* of cur->points and dims */
    size_t bucket_first;
    uint32_t bucket_day;
    size_t total;
    int64_t now_s; /* bucket_start of "@now" gauge points */
} series_build;

static int grow(hd_arena *a, void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = hd_arena_calloc(a, ncap, size);
    if (!p)
        return HD_ENOMEM;
    if (*arr)
        memcpy(p, *arr, n * size);
    *arr = p;
    *cap = ncap;
    return 0;
}

static int series_open(series_build *b, const char *metric)
{
    Helpdesk__V1__GetReportRollupsResponse *r = b->resp;
    if (grow(b->a, (void **)&r->series, &b->series_cap, r->n_series, sizeof *r->series))
        return HD_ENOMEM;
    Helpdesk__V1__RollupSeries *s = hd_arena_alloc(b->a, sizeof *s);
    if (!s)
        return HD_ENOMEM;
    helpdesk__v1__rollup_series__init(s);
    s->metric = hd_arena_strdup(b->a, metric);
    if (!s->metric)
        return HD_ENOMEM;
    r->series[r->n_series++] = s;
    b->cur = s;
    b->dims = NULL;
    b->cap = 0;
    b->bucket_first = 0;
    return 0;
}

static int series_add(void *arg, const char *metric, uint32_t day, uint32_t dim, uint64_t value)
{
    series_build *b = arg;
    if (!value)
        return 0;
    if (!b->cur || strcmp(b->cur->metric, metric)) {
        int rc = series_open(b, metric);
        if (rc)
            return rc;
    }
    /* Weeks start on Monday; 1970-01-01 was a Thursday. */
    uint32_t bucket = b->week ? day - (day + 3) % 7 : day;
    Helpdesk__V1__RollupSeries *s = b->cur;
    if (!s->n_points || bucket != b->bucket_day) {
        b->bucket_first = s->n_points;
        b->bucket_day = bucket;
    }
    for (size_t i = b->bucket_first; i < s->n_points; i++)
        if (b->dims[i] == dim) {
            s->points[i]->value += value;
            return 0;
        }
    if (++b->total > HD_REPORTS_POINTS_MAX)
        return HD_ETOOBIG;
    size_t cap = b->cap;
    if (grow(b->a, (void **)&s->points, &cap, s->n_points, sizeof *s->points) ||
        grow(b->a, (void **)&b->dims, &b->cap, s->n_points, sizeof *b->dims))
        return HD_ENOMEM;
    Helpdesk__V1__RollupPoint *pt = hd_arena_alloc(b->a, sizeof *pt);
    if (!pt)
        return HD_ENOMEM;
    helpdesk__v1__rollup_point__init(pt);
    pt->bucket_start = ts_new(b->a, day == HD_ROLLUP_NOW ? b->now_s : (int64_t)bucket * 86400);
    pt->dimension = dim ? hd_arena_printf(b->a, "%u", dim) : (char *)"";
    pt->value = value;
    b->dims[s->n_points] = dim;
    s->points[s->n_points++] = pt;
    return pt->bucket_start && pt->dimension ? 0 : HD_ENOMEM;
}

/* ---- Local-day and period folds of the "rt." metrics (server/reports/facts.h) ---------- */

#define FOLD_CODES 65536

/* Sums the counters of one metric at a time into buckets (local days of tz, or the whole
 * range), by code: instants come in order within a metric, so each bucket is complete when
 * the next one starts and is flushed as points in code order. */
typedef struct fold_build {
    series_build *sb; /* the response and its series array */
    const hd_tz *tz;
    int period;
    int64_t start, end, now_s;
    int run;        /* the current metric is an "rt.run|" one */
    size_t pts_cap; /* of sb->cur->points */
    int64_t bucket; /* label of the bucket being summed; INT64_MIN = none */
    uint64_t *acc;  /* [FOLD_CODES] */
    uint32_t *touched;
    size_t n_touched;
} fold_build;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int fold_flush(fold_build *f)
{
    series_build *b = f->sb;
    Helpdesk__V1__RollupSeries *s = b->cur;
    qsort(f->touched, f->n_touched, sizeof *f->touched, cmp_u32);
    for (size_t i = 0; i < f->n_touched; i++) {
        uint32_t code = f->touched[i];
        if (++b->total > HD_REPORTS_POINTS_MAX)
            return HD_ETOOBIG;
        if (grow(b->a, (void **)&s->points, &f->pts_cap, s->n_points, sizeof *s->points))
            return HD_ENOMEM;
        Helpdesk__V1__RollupPoint *pt = hd_arena_alloc(b->a, sizeof *pt);
        if (!pt)
            return HD_ENOMEM;
        helpdesk__v1__rollup_point__init(pt);
        pt->bucket_start = ts_new(b->a, f->bucket);
        pt->dimension = code ? hd_arena_printf(b->a, "%u", code) : (char *)"";
        pt->value = f->acc[code];
        f->acc[code] = 0;
        s->points[s->n_points++] = pt;
        if (!pt->bucket_start || !pt->dimension)
            return HD_ENOMEM;
    }
    f->n_touched = 0;
    return 0;
}

static int fold_add(void *arg, const char *metric, uint32_t day, uint32_t dim, uint64_t value)
{
    fold_build *f = arg;
    series_build *b = f->sb;
    int rc;
    if (!value)
        return 0;
    if (!b->cur || strcmp(b->cur->metric, metric)) {
        if (b->cur && (rc = fold_flush(f)))
            return rc;
        if ((rc = series_open(b, metric)))
            return rc;
        f->pts_cap = 0;
        f->bucket = INT64_MIN;
        f->run = !strncmp(metric, HD_REPORTS_RUN, strlen(HD_REPORTS_RUN));
    }
    int64_t at;
    uint32_t code;
    if (f->run) {
        at = (int64_t)day * 86400 + (dim >> 2);
        code = HD_REPORTS_CODE_SLA + 4 * (dim & 3) + (f->now_s > at);
    } else {
        at = (int64_t)day * 86400 + (int64_t)(dim >> 16) * 3600;
        code = dim & 0xFFFF;
    }
    if (at < f->start || at >= f->end)
        return 0;
    int64_t label = f->start;
    if (!f->period) {
        int64_t local = at + hd_tz_offset(f->tz, at, NULL);
        label = (local >= 0 ? local / 86400 : -((-local + 86399) / 86400)) * 86400;
    }
    if (label != f->bucket) {
        if ((rc = fold_flush(f)))
            return rc;
        f->bucket = label;
    }
    if (!f->acc[code])
        f->touched[f->n_touched++] = code;
    f->acc[code] += value;
    return 0;
}

/* Adds the display names of the "|a<id>" and "|g<id>" mentions in the response's metric
 * names. */
static int add_names(hd_txn *txn, hd_arena *a, Helpdesk__V1__GetReportRollupsResponse *r)
{
    size_t cap = 0;
    for (size_t i = 0; i < r->n_series; i++) {
        const char *m = r->series[i]->metric;
        for (const char *p = strchr(m, '|'); p; p = strchr(p + 1, '|')) {
            if ((p[1] != 'a' && p[1] != 'g') || p[2] < '0' || p[2] > '9')
                continue;
            size_t n = 2;
            while (p[n] >= '0' && p[n] <= '9')
                n++;
            if (p[n] && p[n] != '|')
                continue;
            char *key = hd_arena_printf(a, "%.*s", (int)(n - 1), p + 1);
            if (!key)
                return HD_ENOMEM;
            size_t j = 0;
            while (j < r->n_names && strcmp(r->names[j]->key, key))
                j++;
            if (j < r->n_names)
                continue;
            uint64_t id = strtoull(key + 1, NULL, 10);
            char *name = NULL;
            hd_err e;
            if (!id) {
                name = (char *)"";
            } else if (key[0] == 'a') {
                Helpdesk__V1__Staff *st;
                if (hd_staff_get(txn, a, id, &st, &e) == 0 && st->name && *st->name)
                    name = st->name;
            } else {
                Helpdesk__V1__Group *g;
                if (hd_staff_group_get(txn, a, id, &g, &e) == 0 && g->name && *g->name)
                    name = g->name;
            }
            if (!name)
                name = hd_arena_printf(a, "#%llu", (unsigned long long)id);
            Helpdesk__V1__ReportName *rn = hd_arena_alloc(a, sizeof *rn);
            if (!name || !rn || grow(a, (void **)&r->names, &cap, r->n_names, sizeof *r->names))
                return HD_ENOMEM;
            helpdesk__v1__report_name__init(rn);
            rn->key = key;
            rn->name = name;
            r->names[r->n_names++] = rn;
        }
    }
    return 0;
}

static Helpdesk__V1__RollupSeries *resp_last_series(Helpdesk__V1__GetReportRollupsResponse *r)
{
    return r->series[r->n_series - 1];
}

static int get_rollups(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                       hd_err *err)
{
    const Helpdesk__V1__GetReportRollupsRequest *req =
        (const Helpdesk__V1__GetReportRollupsRequest *)reqm;
    hd_app *app = hd_rpc_call_app(call);
    int rc = check_range(req->range, err);
    if (rc)
        return rc;
    static const char *const defaults[] = {HD_TICKETS_ROLLUP_CREATED,
                                           HD_TICKETS_ROLLUP_CREATED_BY_PRIORITY};
    const char *const *metrics = req->n_metrics ? (const char *const *)req->metrics : defaults;
    size_t n_metrics = req->n_metrics ? req->n_metrics : 2;
    if (n_metrics > HD_REPORTS_METRICS_MAX)
        return hd_err_set(err, HD_EINVAL, "metrics: at most %d", HD_REPORTS_METRICS_MAX);
    series_build b = {.a = hd_rpc_call_arena(call),
                      .week = req->grouping == HELPDESK__V1__REPORT_GROUPING__REPORT_GROUPING_WEEK,
                      .resp = (Helpdesk__V1__GetReportRollupsResponse *)respm};
    int fold = req->grouping == HELPDESK__V1__REPORT_GROUPING__REPORT_GROUPING_LOCAL_DAY ||
               req->grouping == HELPDESK__V1__REPORT_GROUPING__REPORT_GROUPING_PERIOD;
    fold_build f = {.sb = &b,
                    .period =
                        req->grouping == HELPDESK__V1__REPORT_GROUPING__REPORT_GROUPING_PERIOD,
                    .start = ts_s(req->range->start_time),
                    .end = ts_s(req->range->end_time)};
    if (fold) {
        const char *zone =
            req->range->time_zone && *req->range->time_zone ? req->range->time_zone : "UTC";
        hd_err e;
        if (hd_tz_get(&f.tz, zone, &e))
            return hd_err_set(err, HD_EINVAL, "range.time_zone: unknown zone \"%s\"", zone);
        for (size_t i = 0; i < n_metrics; i++) {
            size_t len = strlen(metrics[i]);
            int gauge = len > 4 && !strcmp(metrics[i] + len - 4, "@now");
            if (strncmp(metrics[i], "rt.", 3) || (!gauge && strchr(metrics[i], '@')))
                return hd_err_set(err, HD_EINVAL,
                                  "metrics: local-day and period groupings take \"rt.\" "
                                  "metrics only, got \"%s\"",
                                  metrics[i]);
        }
        f.acc = hd_arena_calloc(b.a, FOLD_CODES, sizeof *f.acc);
        f.touched = hd_arena_calloc(b.a, FOLD_CODES, sizeof *f.touched);
        if (!f.acc || !f.touched)
            return hd_err_set(err, HD_ENOMEM, "out of memory");
    }
    uint32_t d0 = hd_rollup_day(ts_s(req->range->start_time) * 1000);
    uint32_t d1 = hd_rollup_day((ts_s(req->range->end_time) - 1) * 1000);
    b.now_s = hd_clock_now_ms() / 1000;
    f.now_s = b.now_s;
    hd_txn *txn;
    rc = hd_store_read_begin(app->store, &txn, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n_metrics && !rc; i++) {
        const char *m = metrics[i];
        size_t len = strlen(m);
        /* "name@now": the gauge under day HD_ROLLUP_NOW, in a series named as asked. */
        int gauge = len > 4 && !strcmp(m + len - 4, "@now");
        char *name = gauge ? hd_arena_printf(b.a, "%.*s", (int)(len - 4), m) : (char *)m;
        b.cur = NULL;
        /* An exact name always gets its series, empty or not. */
        if (!name || (len && m[len - 1] != '*' && series_open(&b, m))) {
            rc = hd_err_set(err, HD_ENOMEM, "out of memory");
            break;
        }
        if (gauge)
            b.cur->metric = name; /* points match it; renamed back below */
        int folding = fold && !gauge;
        f.n_touched = 0;
        f.pts_cap = 0;
        f.bucket = INT64_MIN;
        f.run = !strncmp(name, HD_REPORTS_RUN, strlen(HD_REPORTS_RUN));
        int64_t n = hd_reports_rollup_scan(
            txn, name, gauge ? HD_ROLLUP_NOW : d0, gauge ? HD_ROLLUP_NOW : d1,
            folding ? fold_add : series_add, folding ? (void *)&f : (void *)&b, err);
        if (folding && n >= 0 && b.cur && f.n_touched) {
            int frc = fold_flush(&f);
            if (frc)
                n = frc;
        }
        if (gauge)
            resp_last_series(b.resp)->metric = (char *)m;
        if (n == HD_ETOOBIG)
            rc = hd_err_set(err, HD_ETOOBIG,
                            "metrics: more than %d points; ask for fewer metrics, a shorter "
                            "range or weeks",
                            HD_REPORTS_POINTS_MAX);
        else if (n == HD_ENOMEM)
            rc = hd_err_set(err, HD_ENOMEM, "out of memory");
        else if (n < 0)
            rc = (int)n;
    }
    if (!rc && req->names && add_names(txn, b.a, b.resp))
        rc = hd_err_set(err, HD_ENOMEM, "out of memory");
    hd_store_read_end(txn);
    return rc;
}

/* ---- StreamReportTickets -------------------------------------------------------------- */

/* StreamReportTicketBatches: rows per message, and a bound on a batch's packed size far
 * under a client's default 4 MiB message limit (a row is ~150 bytes; subjects are short). */
#define HD_REPORTS_BATCH_ROWS  512
#define HD_REPORTS_BATCH_BYTES (256 * 1024)
/* Staff and group display names kept per stream (a read transaction sees one version). */
#define HD_REPORTS_NAMES_MAX 256

/* Display names by id, borrowed from stream_ctx.names until the stream ends. */
typedef struct name_cache {
    uint64_t id[HD_REPORTS_NAMES_MAX];
    char *name[HD_REPORTS_NAMES_MAX];
    size_t n;
} name_cache;

typedef struct stream_ctx {
    hd_rpc_call *call;
    hd_store *store;
    hd_txn *txn;
    int64_t now_s;
    hd_arena *scratch; /* one ticket's records; reset per ticket */
    hd_arena *row;     /* the rows not sent yet; reset after each send */
    hd_arena *names;   /* name cache strings; the whole stream */
    int64_t start, end;
    int include_open;
    int breached_only;
    int batched; /* StreamReportTicketBatches */
    name_cache agents, groups;
    Helpdesk__V1__ReportTicket *rows[HD_REPORTS_BATCH_ROWS];
    size_t n_rows, batch_bytes;
    hd_err *err;
} stream_ctx;

/* Display name of staff member or group id (group != 0) from the cache or the store: "" when
 * none, "#id" when the record is gone. Borrowed until the stream ends, or (cache full) until
 * c->row is reset; NULL when out of memory. */
static char *display_name(stream_ctx *c, uint64_t id, int group)
{
    if (!id)
        return (char *)"";
    name_cache *nc = group ? &c->groups : &c->agents;
    for (size_t i = 0; i < nc->n; i++)
        if (nc->id[i] == id)
            return nc->name[i];
    const char *name = NULL;
    hd_err e;
    if (group) {
        Helpdesk__V1__Group *g;
        if (hd_staff_group_get(c->txn, c->scratch, id, &g, &e) == 0 && g->name && *g->name)
            name = g->name;
    } else {
        Helpdesk__V1__Staff *st;
        if (hd_staff_get(c->txn, c->scratch, id, &st, &e) == 0 && st->name && *st->name)
            name = st->name;
    }
    hd_arena *a = nc->n < HD_REPORTS_NAMES_MAX ? c->names : c->row;
    char *out =
        name ? hd_arena_strdup(a, name) : hd_arena_printf(a, "#%llu", (unsigned long long)id);
    if (out && a == c->names) {
        nc->id[nc->n] = id;
        nc->name[nc->n++] = out;
    }
    return out;
}

/* A copy of s in c->row ("" stays the static empty string); NULL when out of memory. */
static char *row_str(stream_ctx *c, const char *s)
{
    if (!s || !*s)
        return (char *)s;
    return hd_arena_strdup(c->row, s);
}

/* A copy of t in c->row (NULL stays NULL); sets *oom when out of memory. */
static Google__Protobuf__Timestamp *row_ts(stream_ctx *c, const Google__Protobuf__Timestamp *t,
                                           int *oom)
{
    if (!t)
        return NULL;
    Google__Protobuf__Timestamp *o = hd_arena_alloc(c->row, sizeof *o);
    if (!o) {
        *oom = 1;
        return NULL;
    }
    google__protobuf__timestamp__init(o);
    o->seconds = t->seconds;
    o->nanos = t->nanos;
    return o;
}

/* Adds the ticket's SLA targets as the reports count them (server/reports/facts.h), with
 * the business minutes of the first response and resolution. */
static int sla_targets(stream_ctx *c, const Helpdesk__V1__Ticket *t, Helpdesk__V1__ReportTicket *r)
{
    hd_sla_ticket st;
    hd_err e;
    int rc = hd_sla_record_load(c->txn, t->id, &st, &e);
    if (rc && rc != HD_ENOTFOUND)
        return hd_err_set(c->err, rc, "%s", e.detail);
    hd_reports_fact f;
    hd_reports_fact_of(&f, t, rc == HD_ENOTFOUND ? NULL : &st);
    r->first_response_minutes = f.frt_min;
    r->resolution_minutes = f.res_min;
    r->targets = hd_arena_calloc(c->row, HD_SLA_TARGETS, sizeof *r->targets);
    if (!r->targets)
        return hd_err_set(c->err, HD_ENOMEM, "out of memory");
    for (int k = 0; k < HD_SLA_TARGETS; k++) {
        if (f.target[k].state == HD_REPORTS_TARGET_NONE)
            continue;
        Helpdesk__V1__ReportTargetState *ts = hd_arena_alloc(c->row, sizeof *ts);
        if (!ts)
            return hd_err_set(c->err, HD_ENOMEM, "out of memory");
        helpdesk__v1__report_target_state__init(ts);
        ts->target = (Helpdesk__V1__ReportSlaTarget)(k + 1);
        ts->due_time = ts_new(c->row, f.target[k].due_s);
        ts->breached = hd_reports_fact_breached(&f, k, c->now_s);
        if (ts->breached && f.target[k].met)
            ts->breached_by_minutes = f.target[k].late_min;
        else if (ts->breached)
            ts->breached_by_minutes = (uint32_t)((c->now_s - f.target[k].due_s) / 60); /* wall */
        r->targets[r->n_targets++] = ts;
    }
    return 0;
}

/* Sends one stream message (a row or a batch) and frees the rows' memory. */
static int send_msg(stream_ctx *c, const ProtobufCMessage *m)
{
    int rc = hd_rpc_stream_send_wait(c->call, m, STREAM_SEND_WAIT_MS);
    c->n_rows = 0;
    c->batch_bytes = 0;
    hd_arena_reset(c->row);
    if (rc == HD_ETIMEDOUT)
        return hd_err_set(c->err, rc, "stream: the client read nothing for %d s",
                          STREAM_SEND_WAIT_MS / 1000);
    if (rc)
        return hd_err_set(c->err, rc, "stream: %s", hd_strerror(rc));
    return 0;
}

/* Sends the rows held for the batch, if any. */
static int flush_rows(stream_ctx *c)
{
    if (!c->n_rows)
        return 0;
    Helpdesk__V1__ReportTicketBatch b = HELPDESK__V1__REPORT_TICKET_BATCH__INIT;
    b.n_tickets = c->n_rows;
    b.tickets = c->rows;
    return send_msg(c, &b.base);
}

/* Sends ticket t (borrowed: c->scratch memory) as a report row, or holds it for the batch.
 * The row copies what it needs into c->row. */
static int send_ticket(stream_ctx *c, const Helpdesk__V1__Ticket *t)
{
    Helpdesk__V1__ReportTicket *r = hd_arena_alloc(c->row, sizeof *r);
    if (!r)
        return hd_err_set(c->err, HD_ENOMEM, "out of memory");
    helpdesk__v1__report_ticket__init(r);
    int oom = 0;
    r->id = t->id;
    r->number = row_str(c, t->number);
    r->subject = row_str(c, t->subject);
    r->priority = (Helpdesk__V1__Priority)t->priority;
    r->category = row_str(c, t->category);
    r->group = display_name(c, t->group_id, 1);
    r->agent = display_name(c, t->assignee_id, 0);
    r->create_time = row_ts(c, t->create_time, &oom);
    r->first_response_time = row_ts(c, t->first_response_time, &oom);
    r->solve_time = row_ts(c, t->solve_time, &oom);
    if (oom || (t->number && !r->number) || (t->subject && !r->subject) ||
        (t->category && !r->category) || !r->group || !r->agent)
        return hd_err_set(c->err, HD_ENOMEM, "out of memory");
    if (t->rating)
        r->csat_score = t->rating->score;
    int rc = sla_targets(c, t, r);
    if (rc)
        return rc;
    if (!c->batched)
        return send_msg(c, &r->base);
    c->rows[c->n_rows++] = r;
    c->batch_bytes += protobuf_c_message_get_packed_size(&r->base) + 8;
    if (c->n_rows == HD_REPORTS_BATCH_ROWS || c->batch_bytes >= HD_REPORTS_BATCH_BYTES)
        return flush_rows(c);
    return 0;
}

/* Whether one of the ticket's SLA targets counts at or after the range's start (its due
 * time, or when it was met; server/reports/facts.h): a ticket solved before the range can
 * have a next-response target met after a later customer message. */
static int sla_due_since(stream_ctx *c, uint64_t ticket_id)
{
    hd_sla_ticket st;
    hd_err e;
    if (hd_sla_record_load(c->txn, ticket_id, &st, &e))
        return 0;
    for (int k = 0; k < HD_SLA_TARGETS; k++) {
        int64_t at = st.clocks[k].met_s ? st.clocks[k].met_s : st.clocks[k].due_s;
        if (st.clocks[k].active && at >= c->start)
            return 1;
    }
    return 0;
}

static int one_ticket(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    stream_ctx *c = arg;
    hd_arena_reset(c->scratch);
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(c->scratch, &pa);
    Helpdesk__V1__Ticket *t = helpdesk__v1__ticket__unpack(&pa, vlen, val);
    if (!t)
        return hd_err_set(c->err, HD_ECORRUPT, "ticket record does not unpack");
    int64_t created = ts_s(t->create_time), solved = ts_s(t->solve_time);
    int in_range = created >= c->start && created < c->end;
    int open_at_start = created < c->start && (!solved || solved >= c->start);
    if (!in_range && !(c->include_open && (open_at_start || sla_due_since(c, t->id))))
        return 0;
    return send_ticket(c, t);
}

/* Ticket ids with a breach recorded in [start, end) (unsorted, repeats possible). */
typedef struct breach_ids {
    uint64_t *ids;
    size_t n, cap;
    int64_t end;
} breach_ids;

static int one_breach(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    breach_ids *b = arg;
    hd_key_reader r;
    hd_err e;
    const void *name;
    int64_t at;
    uint64_t ticket;
    uint8_t target, kind;
    hd_key_reader_init(&r, key, klen);
    /* The escaped name has no NUL: its bytes plus the 2-byte terminator. */
    if (hd_key_read_bytes(&r, strlen(HD_SLA_KEY_BREACH) + 2, &name, &e) ||
        hd_key_read_i64(&r, &at, &e) || hd_key_read_u64(&r, &ticket, &e) ||
        hd_key_read_u8(&r, &target, &e) || hd_key_read_u8(&r, &kind, &e))
        return HD_ECORRUPT;
    if (at >= b->end)
        return 1;
    if (kind != 2) /* 1 = warning, 2 = breach */
        return 0;
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 1024;
        uint64_t *p = realloc(b->ids, ncap * sizeof *p);
        if (!p)
            return HD_ENOMEM;
        b->ids = p;
        b->cap = ncap;
    }
    b->ids[b->n++] = ticket;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* breached_only: the tickets of the SLA breach log ("sla.brk" + time + ticket + target +
 * kind in SETTINGS, written once per breach when the monitor records it at the due time)
 * within the range, each sent once in id order. Cost: the range's breaches, not the ticket
 * count. */
static int stream_breached(stream_ctx *c)
{
    breach_ids b = {.end = c->end};
    hd_key prefix, start;
    hd_key_init(&prefix);
    hd_key_str(&prefix, HD_SLA_KEY_BREACH);
    start = prefix;
    hd_key_i64(&start, c->start);
    hd_store_range range = {.prefix = &prefix, .start = &start};
    int64_t n = hd_store_scan(c->txn, HD_STORE_SETTINGS, &range, one_breach, &b, c->err);
    int rc = n < 0 ? (int)n : 0;
    if (rc == HD_ECORRUPT || rc == HD_ENOMEM)
        hd_err_set(c->err, rc, "sla breach log: %s", hd_strerror(rc));
    if (!rc && b.n)
        qsort(b.ids, b.n, sizeof *b.ids, cmp_u64);
    for (size_t i = 0; i < b.n && !rc; i++) {
        if (i && b.ids[i] == b.ids[i - 1])
            continue;
        hd_arena_reset(c->scratch);
        hd_key k;
        ProtobufCMessage *m;
        rc = hd_store_get_msg(c->txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, b.ids[i]),
                              &helpdesk__v1__ticket__descriptor, c->scratch, &m, c->err);
        if (rc == HD_ENOTFOUND) {
            rc = 0; /* gone since: nothing to list */
            continue;
        }
        if (!rc)
            rc = send_ticket(c, (const Helpdesk__V1__Ticket *)m);
    }
    free(b.ids);
    return rc;
}

static atomic_int streams_running;

static void stream_ctx_free(stream_ctx *c)
{
    hd_arena_destroy(c->scratch);
    hd_arena_destroy(c->row);
    hd_arena_destroy(c->names);
}

/* The stream's own thread: reads in one transaction, waits for the client as it sends, and
 * ends the call (the last use of c, which is call arena memory). */
static void *stream_main(void *arg)
{
    stream_ctx *c = arg;
    hd_rpc_call *call = c->call;
    hd_err err;
    hd_err_clear(&err);
    c->err = &err;
    hd_txn *txn;
    int rc = hd_store_read_begin(c->store, &txn, &err);
    if (rc == 0) {
        c->txn = txn;
        c->now_s = hd_clock_now_ms() / 1000;
        if (c->breached_only) {
            rc = stream_breached(c);
        } else {
            hd_store_range all = {0};
            int64_t n = hd_store_scan(txn, HD_STORE_TICKETS, &all, one_ticket, c, &err);
            rc = n < 0 ? (int)n : 0;
        }
        if (!rc)
            rc = flush_rows(c);
        hd_store_read_end(txn);
    }
    stream_ctx_free(c);
    if (rc && err.code != rc)
        hd_err_set(&err, rc, "stream: %s", hd_strerror(rc));
    hd_rpc_finish(call, rc ? &err : NULL);
    atomic_fetch_sub(&streams_running, 1);
    return NULL;
}

/* Starts the stream thread of StreamReportTickets (batched = 0) or
 * StreamReportTicketBatches (batched = 1); the request's fields are borrowed for the call. */
static int stream_start(hd_rpc_call *call, const Helpdesk__V1__ReportRange *range, int include_open,
                        int breached_only, int batched, hd_err *err)
{
    hd_app *app = hd_rpc_call_app(call);
    int rc = check_range(range, err);
    if (rc)
        return rc;
    if (breached_only && include_open)
        return hd_err_set(err, HD_EINVAL, "include_open: not with breached_only");
    stream_ctx *c = hd_arena_calloc(hd_rpc_call_arena(call), 1, sizeof *c);
    if (!c)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    c->call = call;
    c->store = app->store;
    c->scratch = hd_arena_create(0);
    c->row = hd_arena_create(0);
    c->names = hd_arena_create(0);
    c->start = ts_s(range->start_time);
    c->end = ts_s(range->end_time);
    c->include_open = include_open;
    c->breached_only = breached_only;
    c->batched = batched;
    if (!c->scratch || !c->row || !c->names) {
        stream_ctx_free(c);
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    }
    if (atomic_fetch_add(&streams_running, 1) >= HD_REPORTS_STREAMS_MAX) {
        atomic_fetch_sub(&streams_running, 1);
        stream_ctx_free(c);
        return hd_err_set(err, HD_EFULL, "report streams: %d already running; retry later",
                          HD_REPORTS_STREAMS_MAX);
    }
    pthread_attr_t at;
    pthread_t th;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&th, &at, stream_main, c);
    pthread_attr_destroy(&at);
    if (rc) {
        atomic_fetch_sub(&streams_running, 1);
        stream_ctx_free(c);
        return hd_err_set(err, HD_EUNAVAIL, "report stream: no thread (%s)", strerror(rc));
    }
    return HD_RPC_ASYNC;
}

static int stream_tickets(hd_rpc_call *call, const ProtobufCMessage *reqm, hd_err *err)
{
    const Helpdesk__V1__StreamReportTicketsRequest *req =
        (const Helpdesk__V1__StreamReportTicketsRequest *)reqm;
    return stream_start(call, req->range, req->include_open, req->breached_only, 0, err);
}

static int stream_ticket_batches(hd_rpc_call *call, const ProtobufCMessage *reqm, hd_err *err)
{
    const Helpdesk__V1__StreamReportTicketBatchesRequest *req =
        (const Helpdesk__V1__StreamReportTicketBatchesRequest *)reqm;
    return stream_start(call, req->range, req->include_open, req->breached_only, 1, err);
}

/* ---- Leases --------------------------------------------------------------------------- */

typedef struct lease_ctx {
    hd_rpc_call *call;
    hd_lease_op op;
    ProtobufCMessage *resp;
    int acquire;
} lease_ctx;

static int lease_apply(hd_txn *txn, void *arg, hd_err *err)
{
    lease_ctx *c = arg;
    return c->acquire ? hd_lease_acquire_apply(txn, &c->op, err)
                      : hd_lease_complete_apply(txn, &c->op, err);
}

static void lease_done(void *arg, const hd_err *err)
{
    lease_ctx *c = arg;
    if (err->code == HD_OK && c->acquire) {
        Helpdesk__V1__AcquireReportLeaseResponse *r =
            (Helpdesk__V1__AcquireReportLeaseResponse *)c->resp;
        hd_arena *a = hd_rpc_call_arena(c->call);
        r->granted = c->op.out.granted;
        r->done = c->op.out.done;
        r->holder = hd_arena_strdup(a, c->op.out.holder);
        r->expire_time = ts_new(a, c->op.out.expire_ms / 1000);
    }
    hd_rpc_finish(c->call, err);
}

static int lease_submit(hd_rpc_call *call, const char *key, const char *holder, uint32_t ttl,
                        int acquire, ProtobufCMessage *resp, hd_err *err)
{
    hd_app *app = hd_rpc_call_app(call);
    lease_ctx *c = hd_arena_calloc(hd_rpc_call_arena(call), 1, sizeof *c);
    if (!c)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    int rc = hd_lease_prepare(&c->op, key, holder, ttl, hd_clock_now_ms(), err);
    if (rc)
        return rc;
    c->call = call;
    c->resp = resp;
    c->acquire = acquire;
    rc = hd_store_submit(app->store, lease_apply, lease_done, c, err);
    return rc < 0 ? rc : HD_RPC_ASYNC;
}

static int acquire_lease(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                         hd_err *err)
{
    const Helpdesk__V1__AcquireReportLeaseRequest *req =
        (const Helpdesk__V1__AcquireReportLeaseRequest *)reqm;
    return lease_submit(call, req->run_key, req->holder, req->ttl_seconds, 1, respm, err);
}

static int complete_lease(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                          hd_err *err)
{
    const Helpdesk__V1__CompleteReportLeaseRequest *req =
        (const Helpdesk__V1__CompleteReportLeaseRequest *)reqm;
    return lease_submit(call, req->run_key, req->holder, 1, 0, respm, err);
}

static const hd_rpc_method methods[] = {
    {.path = "/helpdesk.v1.ReportingService/GetReportRollups",
     .kind = HD_RPC_UNARY,
     .request = &helpdesk__v1__get_report_rollups_request__descriptor,
     .response = &helpdesk__v1__get_report_rollups_response__descriptor,
     .unary = get_rollups,
     .permission = HD_PERM_REPORT_READ},
    {.path = "/helpdesk.v1.ReportingService/StreamReportTickets",
     .kind = HD_RPC_SERVER_STREAM,
     .request = &helpdesk__v1__stream_report_tickets_request__descriptor,
     .response = &helpdesk__v1__report_ticket__descriptor,
     .stream = stream_tickets,
     .permission = HD_PERM_REPORT_READ},
    {.path = "/helpdesk.v1.ReportingService/StreamReportTicketBatches",
     .kind = HD_RPC_SERVER_STREAM,
     .request = &helpdesk__v1__stream_report_ticket_batches_request__descriptor,
     .response = &helpdesk__v1__report_ticket_batch__descriptor,
     .stream = stream_ticket_batches,
     .permission = HD_PERM_REPORT_READ},
    {.path = "/helpdesk.v1.ReportingService/AcquireReportLease",
     .kind = HD_RPC_UNARY,
     .request = &helpdesk__v1__acquire_report_lease_request__descriptor,
     .response = &helpdesk__v1__acquire_report_lease_response__descriptor,
     .unary = acquire_lease,
     .permission = HD_PERM_REPORT_READ},
    {.path = "/helpdesk.v1.ReportingService/CompleteReportLease",
     .kind = HD_RPC_UNARY,
     .request = &helpdesk__v1__complete_report_lease_request__descriptor,
     .response = &helpdesk__v1__complete_report_lease_response__descriptor,
     .unary = complete_lease,
     .permission = HD_PERM_REPORT_READ},
};

const hd_rpc_method *hd_reporting_api_methods(size_t *n)
{
    *n = sizeof methods / sizeof methods[0];
    return methods;
}
