/* ReportingService client calls. */
#include "reporter/remote.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpdesk/v1/reporting.pb-c.h"
#include "reporter/config.h"

typedef struct fold {
    hd_model *m;
    int breaches;
    hd_model_breach_fn fn;
    void *fn_ud;
    int rc;
} fold;

static int64_t ts(const Google__Protobuf__Timestamp *t)
{
    return t ? t->seconds : 0;
}

static uint64_t number_of(const Helpdesk__V1__ReportTicket *r)
{
    uint64_t n = 0;
    int digits = 0;
    for (const char *p = r->number; p && *p; p++)
        if (*p >= '0' && *p <= '9') {
            n = n * 10 + (uint64_t)(*p - '0');
            digits++;
        }
    return digits ? n : r->id;
}

static int one_row(void *ud, const ProtobufCMessage *msg)
{
    fold *f = ud;
    const Helpdesk__V1__ReportTicket *r = (const Helpdesk__V1__ReportTicket *)msg;
    hd_model_ticket t = {.number = number_of(r),
                         .subject = r->subject,
                         .category = r->category,
                         .group = r->group,
                         .agent = r->agent,
                         .priority = r->priority ? (int)r->priority : 3,
                         .created_s = ts(r->create_time),
                         .first_response_s = ts(r->first_response_time),
                         .frt_min = r->first_response_minutes,
                         .solved_s = ts(r->solve_time),
                         .res_min = r->resolution_minutes,
                         .csat = (int)r->csat_score};
    for (size_t i = 0; i < r->n_targets; i++) {
        int k = (int)r->targets[i]->target - 1;
        if (k < 0 || k >= HD_TARGETS)
            continue;
        t.sla[k] = r->targets[i]->breached ? 2 : 1;
        t.due_s[k] = ts(r->targets[i]->due_time);
        t.breached_by_min[k] = r->targets[i]->breached_by_minutes;
    }
    if (!f->breaches) {
        hd_model_add_ticket(f->m, &t);
        return 0;
    }
    f->rc = hd_model_ticket_breaches(f->m, &t, f->fn, f->fn_ud);
    return f->rc != 0;
}

static int stream(hd_remote *r, hd_model *m, fold *f, hd_err *err)
{
    Google__Protobuf__Timestamp start = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Timestamp end = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    /* The model: from the start of the previous period (the summary compares with it).
     * The breach list: the server's SLA breach log over the period only (breached_only), so
     * its cost is the period's breaches, not every ticket row again. */
    start.seconds = f->breaches ? m->from_s : m->from_s - (m->to_s - m->from_s);
    end.seconds = m->to_s;
    Helpdesk__V1__ReportRange range = HELPDESK__V1__REPORT_RANGE__INIT;
    range.start_time = &start;
    range.end_time = &end;
    range.time_zone = m->tz;
    Helpdesk__V1__StreamReportTicketsRequest req =
        HELPDESK__V1__STREAM_REPORT_TICKETS_REQUEST__INIT;
    req.range = &range;
    req.include_open = !f->breaches;
    req.breached_only = f->breaches;
    hd_client_status st;
    int rc = hd_client_server_stream(r->client, "/helpdesk.v1.ReportingService/StreamReportTickets",
                                     &req.base, &helpdesk__v1__report_ticket__descriptor,
                                     r->timeout_ms > 0 ? r->timeout_ms : 600000, one_row, f, &st);
    if (f->rc)
        return hd_err_set(err, f->rc, "breach rows: writing failed");
    if (rc) {
        char msg[HD_CLIENT_DETAIL_MAX + 128];
        hd_client_status_message(msg, sizeof msg, &st, hd_client_target(r->client));
        return hd_err_set(err, rc, "%s", msg);
    }
    return 0;
}

static int rollup_fill(hd_remote *r, hd_model *m, hd_err *err);

/* The trend sections read only the server's rollups (hourly flows, the backlog counter,
 * CSAT per day), whose size follows the period's length, not the ticket count. Other
 * sections still need the ticket rows of the period and the previous one. */
#define HD_REMOTE_ROLLUP_SECTIONS (HD_SECTION_VOLUME | HD_SECTION_HEATMAP | HD_SECTION_CSAT)

static int remote_fill(void *ud, hd_model *m, hd_err *err)
{
    if (m->sections && !(m->sections & ~HD_REMOTE_ROLLUP_SECTIONS))
        return rollup_fill(ud, m, err);
    fold f = {.m = m};
    int rc = stream(ud, m, &f, err);
    if (rc)
        return rc;
    hd_model_finish(m);
    return 0;
}

static int remote_breaches(void *ud, const hd_model *m, hd_model_breach_fn fn, void *fn_ud,
                           hd_err *err)
{
    fold f = {.m = (hd_model *)m, .breaches = 1, .fn = fn, .fn_ud = fn_ud};
    return stream(ud, (hd_model *)m, &f, err);
}

static int unary(hd_remote *r, const char *method, const ProtobufCMessage *req,
                 const ProtobufCMessageDescriptor *desc, hd_arena *a, ProtobufCMessage **resp,
                 hd_err *err)
{
    hd_client_status st;
    int rc = hd_client_unary(r->client, method, req, desc, a, 0, resp, &st);
    if (rc) {
        char msg[HD_CLIENT_DETAIL_MAX + 128];
        hd_client_status_message(msg, sizeof msg, &st, hd_client_target(r->client));
        return hd_err_set(err, rc, "%s", msg);
    }
    return 0;
}

int hd_remote_lease_acquire(hd_remote *r, const char *run_key, const char *holder, int ttl_s,
                            int *granted, int *done, hd_err *err)
{
    hd_arena *a = hd_arena_create(0);
    if (!a)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    Helpdesk__V1__AcquireReportLeaseRequest req = HELPDESK__V1__ACQUIRE_REPORT_LEASE_REQUEST__INIT;
    req.run_key = (char *)run_key;
    req.holder = (char *)holder;
    req.ttl_seconds = (uint32_t)ttl_s;
    ProtobufCMessage *resp = NULL;
    int rc = unary(r, "/helpdesk.v1.ReportingService/AcquireReportLease", &req.base,
                   &helpdesk__v1__acquire_report_lease_response__descriptor, a, &resp, err);
    if (!rc) {
        const Helpdesk__V1__AcquireReportLeaseResponse *lr =
            (const Helpdesk__V1__AcquireReportLeaseResponse *)resp;
        *granted = lr->granted;
        *done = lr->done;
    }
    hd_arena_destroy(a);
    return rc;
}

int hd_remote_lease_complete(hd_remote *r, const char *run_key, const char *holder, hd_err *err)
{
    hd_arena *a = hd_arena_create(0);
    if (!a)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    Helpdesk__V1__CompleteReportLeaseRequest req =
        HELPDESK__V1__COMPLETE_REPORT_LEASE_REQUEST__INIT;
    req.run_key = (char *)run_key;
    req.holder = (char *)holder;
    ProtobufCMessage *resp = NULL;
    int rc = unary(r, "/helpdesk.v1.ReportingService/CompleteReportLease", &req.base,
                   &helpdesk__v1__complete_report_lease_response__descriptor, a, &resp, err);
    hd_arena_destroy(a);
    return rc;
}

/* Rollup metrics of the trend sections (server/reports/rollups.h), in this order. */
enum { RU_CREATED, RU_SOLVED, RU_OPENED, RU_CLOSED, RU_OPEN_NOW, RU_CSAT, RU_COUNT };
static const char *const rollup_metrics[RU_COUNT] = {"reports.created.hour", "reports.solved.hour",
                                                     "reports.opened.hour",  "reports.closed.hour",
                                                     "reports.open@now",     "reports.csat"};

static int metric_kind(const char *name)
{
    for (int i = 0; i < RU_COUNT; i++)
        if (!strcmp(name, rollup_metrics[i]))
            return i;
    return -1;
}

/* Day index of t in m's period, or -1 outside it. */
static int64_t day_index(hd_model *m, int64_t t)
{
    if (t < m->from_s || t >= m->to_s)
        return -1;
    return hd_model_local_day(m, t) - m->first_day;
}

/* Folds one point. after[j] collects the backlog flow (opened - closed) of the hours in
 * local day index j-1 of the period or later (j = n_days: from the period's end on), so the
 * backlog at the end of day i is open_now - sum(after[j], j > i). */
static void rollup_point(hd_model *m, int kind, const Helpdesk__V1__RollupPoint *p, int64_t *after,
                         int64_t *open_now)
{
    int64_t start = ts(p->bucket_start);
    int64_t dim = p->dimension && *p->dimension ? strtoll(p->dimension, NULL, 10) : 0;
    int64_t v = (int64_t)p->value;
    if (kind == RU_OPEN_NOW) {
        *open_now = v;
        return;
    }
    if (kind == RU_CSAT) {
        /* CSAT is kept per UTC day: noon of that day names the local day in zones within
         * +-12 h. */
        int64_t i = day_index(m, start + 12 * 3600);
        if (i >= 0 && dim >= 1 && dim <= 5)
            m->days[i].csat[dim - 1] += (uint32_t)v;
        return;
    }
    int64_t t = start + dim * 3600;
    if (kind == RU_OPENED || kind == RU_CLOSED) {
        if (t < m->from_s)
            return;
        int64_t j = t >= m->to_s ? m->n_days : hd_model_local_day(m, t) - m->first_day;
        after[j] += kind == RU_OPENED ? v : -v;
        return;
    }
    int64_t i = day_index(m, t);
    if (i < 0)
        return;
    if (kind == RU_SOLVED) {
        m->days[i].solved += (uint32_t)v;
        m->cur.solved += (uint32_t)v;
        return;
    }
    m->days[i].created += (uint32_t)v;
    m->cur.created += (uint32_t)v;
    int64_t ls = hd_model_local_s(m, t);
    int64_t d = ls >= 0 ? ls / 86400 : -((-ls + 86399) / 86400);
    int wd = (int)(((d % 7) + 10) % 7); /* 1970-01-01 was a Thursday; Monday = 0 */
    m->heat[wd][(ls - d * 86400) / 3600] += (uint32_t)v;
}

static int rollup_fill(hd_remote *r, hd_model *m, hd_err *err)
{
    int rc = 0;
    int64_t *after = calloc((size_t)m->n_days + 1, sizeof *after);
    hd_arena *a = hd_arena_create(0);
    if (!after || !a) {
        rc = hd_err_set(err, HD_ENOMEM, "out of memory");
        goto fail;
    }
    /* From the UTC day before the period (zones east of UTC start there) to past now: the
     * backlog at each day end needs every flow after it. */
    int64_t now = (int64_t)time(NULL);
    Google__Protobuf__Timestamp start = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Timestamp end = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    start.seconds = (m->from_s / 86400 - 1) * 86400;
    end.seconds = (now > m->to_s ? now : m->to_s) + 2 * 86400;
    if (end.seconds - start.seconds > 800 * 86400)
        end.seconds = start.seconds + 800 * 86400;
    Helpdesk__V1__ReportRange range = HELPDESK__V1__REPORT_RANGE__INIT;
    range.start_time = &start;
    range.end_time = &end;
    range.time_zone = m->tz;
    Helpdesk__V1__GetReportRollupsRequest req = HELPDESK__V1__GET_REPORT_ROLLUPS_REQUEST__INIT;
    req.range = &range;
    req.grouping = HELPDESK__V1__REPORT_GROUPING__REPORT_GROUPING_DAY;
    req.n_metrics = RU_COUNT;
    req.metrics = (char **)rollup_metrics;
    ProtobufCMessage *resp = NULL;
    rc = unary(r, "/helpdesk.v1.ReportingService/GetReportRollups", &req.base,
               &helpdesk__v1__get_report_rollups_response__descriptor, a, &resp, err);
    if (rc)
        goto fail;
    const Helpdesk__V1__GetReportRollupsResponse *rr =
        (const Helpdesk__V1__GetReportRollupsResponse *)resp;
    int64_t open_now = 0, server_now = 0;
    for (size_t i = 0; i < rr->n_series; i++) {
        int kind = metric_kind(rr->series[i]->metric);
        for (size_t k = 0; kind >= 0 && k < rr->series[i]->n_points; k++) {
            if (kind == RU_OPEN_NOW)
                server_now = ts(rr->series[i]->points[k]->bucket_start);
            rollup_point(m, kind, rr->series[i]->points[k], after, &open_now);
        }
    }
    if (server_now >= end.seconds) {
        rc = hd_err_set(err, HD_EINVAL,
                        "rollups: the server's clock is more than 800 days past the period");
        goto fail;
    }
    int64_t run = open_now;
    for (int i = m->n_days - 1; i >= 0; i--) {
        run -= after[i + 1];
        m->days[i].backlog = run < 0 ? 0 : (uint32_t)run;
    }
    m->cur.backlog_end = m->n_days ? m->days[m->n_days - 1].backlog : 0;
fail:
    hd_arena_destroy(a);
    free(after);
    return rc;
}

hd_source hd_remote_source(hd_remote *r)
{
    return (hd_source){.ud = r, .fill = remote_fill, .breaches = remote_breaches};
}
