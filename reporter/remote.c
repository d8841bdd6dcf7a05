/* ReportingService client calls. */
#include "reporter/remote.h"

#include <stdlib.h>
#include <string.h>

#include "helpdesk/v1/reporting.pb-c.h"

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

static int remote_fill(void *ud, hd_model *m, hd_err *err)
{
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

hd_source hd_remote_source(hd_remote *r)
{
    return (hd_source){.ud = r, .fill = remote_fill, .breaches = remote_breaches};
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
