/* ReportingService. Rollups come from the ROLLUPS table (UTC day buckets, summed into
 * weeks); ticket rows from a scan of TICKETS in one read transaction; leases through group
 * commit (async finish from the store's acknowledgement). */
#include "server/api/reporting_api.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "helpdesk/v1/reporting.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "server/api/perm.h"
#include "server/app.h"
#include "server/clock/clock.h"
#include "server/reports/lease.h"
#include "server/rollup/rollup.h"
#include "server/sla/record.h"
#include "server/staff/staff.h"
#include "server/store/store.h"
#include "server/tickets/tickets.h"

#define STREAM_SEND_WAIT_MS 30000

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

static int get_rollups(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                       hd_err *err)
{
    const Helpdesk__V1__GetReportRollupsRequest *req =
        (const Helpdesk__V1__GetReportRollupsRequest *)reqm;
    Helpdesk__V1__GetReportRollupsResponse *resp = (Helpdesk__V1__GetReportRollupsResponse *)respm;
    hd_app *app = hd_rpc_call_app(call);
    hd_arena *a = hd_rpc_call_arena(call);
    int rc = check_range(req->range, err);
    if (rc)
        return rc;
    static const char *const known[] = {HD_TICKETS_ROLLUP_CREATED,
                                        HD_TICKETS_ROLLUP_CREATED_BY_PRIORITY};
    size_t n_metrics = req->n_metrics ? req->n_metrics : 2;
    if (n_metrics > 16)
        return hd_err_set(err, HD_EINVAL, "metrics: at most 16");
    uint32_t d0 = hd_rollup_day(ts_s(req->range->start_time) * 1000);
    uint32_t d1 = hd_rollup_day((ts_s(req->range->end_time) - 1) * 1000);
    int week = req->grouping == HELPDESK__V1__REPORT_GROUPING__REPORT_GROUPING_WEEK;
    resp->series = hd_arena_calloc(a, n_metrics, sizeof *resp->series);
    if (!resp->series)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    hd_txn *txn;
    rc = hd_store_read_begin(app->store, &txn, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n_metrics && !rc; i++) {
        const char *metric = req->n_metrics ? req->metrics[i] : known[i];
        int by_prio = !strcmp(metric, HD_TICKETS_ROLLUP_CREATED_BY_PRIORITY);
        if (!by_prio && strcmp(metric, HD_TICKETS_ROLLUP_CREATED)) {
            rc = hd_err_set(err, HD_EINVAL, "metrics: unknown metric \"%s\"", metric);
            break;
        }
        Helpdesk__V1__RollupSeries *s = hd_arena_alloc(a, sizeof *s);
        size_t cap = (size_t)(d1 - d0 + 1) * (by_prio ? 4 : 1);
        if (s) {
            helpdesk__v1__rollup_series__init(s);
            s->points = hd_arena_calloc(a, cap, sizeof *s->points);
        }
        if (!s || !s->points) {
            rc = hd_err_set(err, HD_ENOMEM, "out of memory");
            break;
        }
        s->metric = (char *)metric;
        for (uint32_t dim = by_prio ? 1 : 0; dim <= (by_prio ? 4u : 0u) && !rc; dim++) {
            Helpdesk__V1__RollupPoint *cur = NULL;
            for (uint32_t d = d0; d <= d1 && !rc; d++) {
                uint64_t v;
                rc = hd_rollup_get(txn, metric, d, dim, &v, err);
                /* Weeks start on Monday; 1970-01-01 was a Thursday. */
                int starts = !cur || !week || (d + 3) % 7 == 0;
                if (rc || (!v && !starts))
                    continue;
                if (starts) {
                    cur = hd_arena_alloc(a, sizeof *cur);
                    if (!cur) {
                        rc = hd_err_set(err, HD_ENOMEM, "out of memory");
                        break;
                    }
                    helpdesk__v1__rollup_point__init(cur);
                    cur->bucket_start = ts_new(a, (int64_t)d * 86400);
                    cur->dimension = by_prio ? hd_arena_printf(a, "%u", dim) : (char *)"";
                    s->points[s->n_points++] = cur;
                }
                cur->value += v;
            }
        }
        resp->series[resp->n_series++] = s;
    }
    hd_store_read_end(txn);
    return rc;
}

/* ---- StreamReportTickets -------------------------------------------------------------- */

typedef struct stream_ctx {
    hd_rpc_call *call;
    hd_txn *txn;
    int64_t now_s;
    hd_arena *row;
    int64_t start, end;
    int include_open;
    int rc;
    hd_err *err;
} stream_ctx;

static int send_waiting(hd_rpc_call *call, const ProtobufCMessage *msg)
{
    /* rpc.h offers no wait for queue space; back off in 1 ms steps, bounded. */
    for (int i = 0; i < STREAM_SEND_WAIT_MS; i++) {
        int rc = hd_rpc_stream_send(call, msg);
        if (rc != HD_EFULL)
            return rc;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return HD_ETIMEDOUT;
}

/* Display names of the assignee and group; "" when none, "#id" when the record is gone. */
static char *agent_name(stream_ctx *c, uint64_t id)
{
    Helpdesk__V1__Staff *st;
    hd_err e;
    if (!id)
        return (char *)"";
    if (hd_staff_get(c->txn, c->row, id, &st, &e) == 0 && st->name && *st->name)
        return st->name;
    return hd_arena_printf(c->row, "#%llu", (unsigned long long)id);
}

static char *group_name(stream_ctx *c, uint64_t id)
{
    Helpdesk__V1__Group *g;
    hd_err e;
    if (!id)
        return (char *)"";
    if (hd_staff_group_get(c->txn, c->row, id, &g, &e) == 0 && g->name && *g->name)
        return g->name;
    return hd_arena_printf(c->row, "#%llu", (unsigned long long)id);
}

/* Adds the ticket's SLA clocks (server/sla) as report targets, with business minutes
 * taken for the first response and resolution when those targets were met. */
static int sla_targets(stream_ctx *c, uint64_t ticket_id, Helpdesk__V1__ReportTicket *r)
{
    hd_sla_ticket st;
    hd_err e;
    int rc = hd_sla_record_load(c->txn, ticket_id, &st, &e);
    if (rc == HD_ENOTFOUND)
        return 0;
    if (rc)
        return hd_err_set(c->err, rc, "%s", e.detail);
    r->targets = hd_arena_calloc(c->row, HD_SLA_TARGETS, sizeof *r->targets);
    if (!r->targets)
        return hd_err_set(c->err, HD_ENOMEM, "out of memory");
    for (int k = 0; k < HD_SLA_TARGETS; k++) {
        const hd_sla_clock *cl = &st.clocks[k];
        if (!cl->active || !cl->due_s)
            continue;
        Helpdesk__V1__ReportTargetState *ts = hd_arena_alloc(c->row, sizeof *ts);
        if (!ts)
            return hd_err_set(c->err, HD_ENOMEM, "out of memory");
        helpdesk__v1__report_target_state__init(ts);
        ts->target = (Helpdesk__V1__ReportSlaTarget)(k + 1);
        ts->due_time = ts_new(c->row, cl->due_s);
        int late_met = cl->met_s && cl->taken_s > (int64_t)cl->target_min * 60;
        int past_due = !cl->met_s && !cl->paused && c->now_s > cl->due_s;
        ts->breached = cl->breached || late_met || past_due;
        if (late_met)
            ts->breached_by_minutes = (uint32_t)((cl->taken_s - (int64_t)cl->target_min * 60) / 60);
        else if (ts->breached && !cl->met_s)
            ts->breached_by_minutes = (uint32_t)((c->now_s - cl->due_s) / 60); /* wall time */
        if (cl->met_s && k == HD_SLA_FIRST_RESPONSE - 1)
            r->first_response_minutes = (uint32_t)(cl->taken_s / 60);
        if (cl->met_s && k == HD_SLA_RESOLUTION - 1)
            r->resolution_minutes = (uint32_t)(cl->taken_s / 60);
        r->targets[r->n_targets++] = ts;
    }
    return 0;
}

static int one_ticket(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    stream_ctx *c = arg;
    hd_arena_reset(c->row);
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(c->row, &pa);
    Helpdesk__V1__Ticket *t = helpdesk__v1__ticket__unpack(&pa, vlen, val);
    if (!t)
        return hd_err_set(c->err, HD_ECORRUPT, "ticket record does not unpack");
    int64_t created = ts_s(t->create_time), solved = ts_s(t->solve_time);
    int in_range = created >= c->start && created < c->end;
    int open_at_start = created < c->start && (!solved || solved >= c->start);
    if (!in_range && !(c->include_open && open_at_start))
        return 0;
    Helpdesk__V1__ReportTicket r = HELPDESK__V1__REPORT_TICKET__INIT;
    r.id = t->id;
    r.number = t->number;
    r.subject = t->subject;
    r.priority = (Helpdesk__V1__Priority)t->priority;
    r.category = t->category;
    r.group = group_name(c, t->group_id);
    r.agent = agent_name(c, t->assignee_id);
    r.create_time = t->create_time;
    r.first_response_time = t->first_response_time;
    r.solve_time = t->solve_time;
    /* Wall-clock minutes, replaced by the SLA clocks' business minutes when they ran. */
    if (t->first_response_time && ts_s(t->first_response_time) >= created)
        r.first_response_minutes = (uint32_t)((ts_s(t->first_response_time) - created) / 60);
    if (solved >= created && solved)
        r.resolution_minutes = (uint32_t)((solved - created) / 60);
    if (t->rating)
        r.csat_score = t->rating->score;
    int rc = sla_targets(c, t->id, &r);
    if (rc)
        return rc;
    rc = send_waiting(c->call, &r.base);
    if (rc)
        return hd_err_set(c->err, rc, "stream: %s", hd_strerror(rc));
    return 0;
}

static int stream_tickets(hd_rpc_call *call, const ProtobufCMessage *reqm, hd_err *err)
{
    const Helpdesk__V1__StreamReportTicketsRequest *req =
        (const Helpdesk__V1__StreamReportTicketsRequest *)reqm;
    hd_app *app = hd_rpc_call_app(call);
    int rc = check_range(req->range, err);
    if (rc)
        return rc;
    if (req->breached_only)
        return hd_err_set(err, HD_EUNIMPL, "breached_only: needs the SLA module's targets");
    stream_ctx c = {.call = call,
                    .row = hd_arena_create(0),
                    .start = ts_s(req->range->start_time),
                    .end = ts_s(req->range->end_time),
                    .include_open = req->include_open,
                    .err = err};
    if (!c.row)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    hd_txn *txn;
    rc = hd_store_read_begin(app->store, &txn, err);
    if (rc == 0) {
        c.txn = txn;
        c.now_s = hd_clock_now_ms() / 1000;
        hd_store_range all = {0};
        int64_t n = hd_store_scan(txn, HD_STORE_TICKETS, &all, one_ticket, &c, err);
        rc = n < 0 ? (int)n : 0;
        hd_store_read_end(txn);
    }
    hd_arena_destroy(c.row);
    return rc;
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
