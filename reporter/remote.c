/* ReportingService client calls. */
#include "reporter/remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpdesk/v1/reporting.pb-c.h"
#include "reporter/config.h"

typedef struct fold {
    hd_model *m;
    int breaches;
    uint64_t rows; /* received so far */
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

static int fold_row(fold *f, const Helpdesk__V1__ReportTicket *r)
{
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

/* StreamReportTickets: one row per message (servers without the batched call). */
static int one_row(void *ud, const ProtobufCMessage *msg)
{
    fold *f = ud;
    f->rows++;
    return fold_row(f, (const Helpdesk__V1__ReportTicket *)msg);
}

/* StreamReportTicketBatches: up to 512 rows per message. */
static int one_batch(void *ud, const ProtobufCMessage *msg)
{
    fold *f = ud;
    const Helpdesk__V1__ReportTicketBatch *b = (const Helpdesk__V1__ReportTicketBatch *)msg;
    for (size_t i = 0; i < b->n_tickets; i++) {
        f->rows++;
        int stop = fold_row(f, b->tickets[i]);
        if (stop)
            return stop;
    }
    return 0;
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
    Helpdesk__V1__StreamReportTicketBatchesRequest req =
        HELPDESK__V1__STREAM_REPORT_TICKET_BATCHES_REQUEST__INIT;
    req.range = &range;
    req.include_open = !f->breaches;
    req.breached_only = f->breaches;
    hd_client_status st;
    int timeout_ms = r->timeout_ms > 0 ? r->timeout_ms : 600000;
    int rc = hd_client_server_stream(
        r->client, "/helpdesk.v1.ReportingService/StreamReportTicketBatches", &req.base,
        &helpdesk__v1__report_ticket_batch__descriptor, timeout_ms, one_batch, f, &st);
    /* A server from before the batched call: the same rows one message each. */
    if (rc && !f->rc && !f->rows && st.name && !strcmp(st.name, "UNIMPLEMENTED")) {
        Helpdesk__V1__StreamReportTicketsRequest one =
            HELPDESK__V1__STREAM_REPORT_TICKETS_REQUEST__INIT;
        one.range = &range;
        one.include_open = req.include_open;
        one.breached_only = req.breached_only;
        rc = hd_client_server_stream(r->client, "/helpdesk.v1.ReportingService/StreamReportTickets",
                                     &one.base, &helpdesk__v1__report_ticket__descriptor,
                                     timeout_ms, one_row, f, &st);
    }
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

/* Every section but the breach list reads the server's rollups, whose size follows the
 * period's length, not the ticket count; with r->tickets the model is folded from a stream
 * of the period's ticket rows instead (the same figures, at the cost of every ticket). */
static int remote_fill(void *ud, hd_model *m, hd_err *err)
{
    hd_remote *r = ud;
    if (!r->tickets) {
        int rc = rollup_fill(r, m, err);
        if (!rc)
            hd_model_sort_names(m);
        return rc;
    }
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

/* ---- Filling the model from rollups --------------------------------------------------- */

/* The server's report facts (server/reports/facts.h): hour-packed counters folded by the
 * server into local days or the whole range, by code. */
#define RT_CREATED 0
#define RT_SOLVED  1
#define RT_CSAT    1 /* + score */
#define RT_SLA     16
/* Days per local-day call: 3 metrics x 30 days x at most 1081 buckets stays under the
 * server's 100,000 points per response. */
#define RT_CHUNK_DAYS 30

typedef struct rt_fill {
    hd_model *m;
    int64_t *after;   /* [0] created, [1] solved after the period's end */
    int64_t unsolved; /* tickets without a solve time now */
    const Helpdesk__V1__GetReportRollupsResponse *names;
} rt_fill;

static int64_t rt_dim(const Helpdesk__V1__RollupPoint *p)
{
    return p->dimension && *p->dimension ? strtoll(p->dimension, NULL, 10) : 0;
}

/* Display name of key ("a12", "g3") from the response's names; "" when not given. */
static const char *rt_name(const Helpdesk__V1__GetReportRollupsResponse *r, const char *key,
                           size_t n)
{
    for (size_t i = 0; i < r->n_names; i++)
        if (strlen(r->names[i]->key) == n && !strncmp(r->names[i]->key, key, n))
            return r->names[i]->name;
    return "";
}

/* The value of component tag ('p', 'g', 'a') of a metric name "rt.x|p3|g7|a2|c<cat>" as a
 * pointer to its text (after the tag) and its length; the category runs to the end. */
static const char *rt_part(const char *metric, char tag, size_t *n)
{
    for (const char *p = strchr(metric, '|'); p; p = strchr(p + 1, '|')) {
        if (p[1] != tag)
            continue;
        const char *v = p + 2;
        if (tag == 'c') {
            *n = strlen(v);
            return v;
        }
        *n = strcspn(v, "|");
        return v;
    }
    *n = 0;
    return "";
}

static void sla_add(hd_sla_count *c, int k, int breached, uint32_t v)
{
    if (breached)
        c->breached[k] += v;
    else
        c->met[k] += v;
}

/* A local-day point of rt.flow / rt.frt / rt.res: day index < 0 = previous period. */
static void rt_day_point(rt_fill *f, const char *metric, const Helpdesk__V1__RollupPoint *p)
{
    hd_model *m = f->m;
    int64_t i = ts(p->bucket_start) / 86400 - m->first_day;
    int64_t code = rt_dim(p);
    uint32_t v = (uint32_t)p->value;
    if (i >= m->n_days)
        return;
    hd_model_totals *tot = i >= 0 ? &m->cur : &m->prev;
    hd_model_day *d = i >= 0 ? &m->days[i] : NULL;
    if (strcmp(metric, "rt.flow")) {
        if (code < 0 || code >= HD_HIST_BUCKETS)
            return;
        int frt = !strcmp(metric, "rt.frt");
        hd_hist *hs[2] = {frt ? &tot->frt : &tot->res, d ? (frt ? &d->frt : &d->res) : NULL};
        for (int k = 0; k < 2; k++)
            if (hs[k]) {
                hs[k]->n[code] += v;
                hs[k]->count += v;
            }
        return;
    }
    if (code == RT_CREATED) {
        tot->created += v;
        if (d)
            d->created += v;
    } else if (code == RT_SOLVED) {
        tot->solved += v;
        if (d)
            d->solved += v;
    } else if (code > RT_CSAT && code <= RT_CSAT + 5) {
        tot->csat_n += v;
        tot->csat_sum += v * (uint32_t)(code - RT_CSAT);
        if (d)
            d->csat[code - RT_CSAT - 1] += v;
    } else if (code >= RT_SLA && code < RT_SLA + 4 * HD_TARGETS) {
        sla_add(&tot->sla, (int)(code - RT_SLA) / 4, (code - RT_SLA) % 4, v);
    }
}

/* A period point of the slice, agent and unsettled-target metrics (cur = the period, else
 * the previous period, where only the SLA totals count). */
static void rt_period_point(rt_fill *f, const char *metric, const Helpdesk__V1__RollupPoint *p,
                            int cur)
{
    hd_model *m = f->m;
    int64_t code = rt_dim(p);
    uint32_t v = (uint32_t)p->value;
    size_t n;
    const char *pv = rt_part(metric, 'p', &n);
    int pi = (int)strtol(pv, NULL, 10);
    pi = pi >= 1 && pi <= HD_MODEL_PRIORITIES ? pi - 1 : 2;
    int is_run = !strncmp(metric, "rt.run|", 7);
    int k = (int)(code - RT_SLA) / 4, breached = (int)((code - RT_SLA) % 4);
    int is_sla = code >= RT_SLA && code < RT_SLA + 4 * HD_TARGETS;
    if (!cur) {
        if (is_run && is_sla)
            sla_add(&m->prev.sla, k, breached, v);
        return;
    }
    char cat[HD_MODEL_NAME_LEN];
    const char *cv = rt_part(metric, 'c', &n);
    snprintf(cat, sizeof cat, "%.*s", (int)n, cv);
    if (!strncmp(metric, "rt.created|", 11)) {
        m->prio_created[pi] += v;
        m->cat_created[hd_model_category(m, cat)] += v;
        return;
    }
    const char *gv = rt_part(metric, 'g', &n);
    char key[32];
    snprintf(key, sizeof key, "g%.*s", (int)n, gv);
    const char *group = rt_name(f->names, key, strlen(key));
    const char *av = rt_part(metric, 'a', &n);
    snprintf(key, sizeof key, "a%.*s", (int)n, av);
    hd_model_agent *ag = NULL;
    if (is_run || !strncmp(metric, "rt.agent", 8))
        ag = &m->agents[hd_model_agent_index(m, rt_name(f->names, key, strlen(key)))];
    if (!strncmp(metric, "rt.agent.frt|", 13)) {
        if (code >= 0 && code < HD_HIST_BUCKETS) {
            ag->frt.n[code] += v;
            ag->frt.count += v;
        }
        return;
    }
    if (!strncmp(metric, "rt.agent|", 9)) {
        if (code == RT_SOLVED) {
            ag->solved += v;
        } else if (code > RT_CSAT && code <= RT_CSAT + 5) {
            ag->csat_n += v;
            ag->csat_sum += v * (uint32_t)(code - RT_CSAT);
        } else if (is_sla) {
            ag->sla_total += v;
            ag->sla_met += breached ? 0 : v;
        }
        return;
    }
    if (!is_sla)
        return;
    int ci = hd_model_category(m, cat), gi = hd_model_group(m, group);
    hd_sla_count *cs[3] = {&m->sla_prio[pi], &m->sla_cat[ci], &m->sla_group[gi]};
    for (int j = 0; j < 3; j++)
        sla_add(cs[j], k, breached, v);
    if (is_run) { /* rt.sla| is counted in rt.flow's totals and rt.agent| already */
        sla_add(&m->cur.sla, k, breached, v);
        ag->sla_total += v;
        ag->sla_met += breached ? 0 : v;
    }
}

/* One GetReportRollups call; *resp is arena memory of a. */
static int rt_call(hd_remote *r, hd_arena *a, const hd_model *m, int64_t start, int64_t end,
                   Helpdesk__V1__ReportGrouping g, const char *const *metrics, size_t n, int names,
                   const Helpdesk__V1__GetReportRollupsResponse **resp, hd_err *err)
{
    Google__Protobuf__Timestamp t0 = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Timestamp t1 = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    t0.seconds = start;
    t1.seconds = end;
    Helpdesk__V1__ReportRange range = HELPDESK__V1__REPORT_RANGE__INIT;
    range.start_time = &t0;
    range.end_time = &t1;
    range.time_zone = (char *)m->tz;
    Helpdesk__V1__GetReportRollupsRequest req = HELPDESK__V1__GET_REPORT_ROLLUPS_REQUEST__INIT;
    req.range = &range;
    req.grouping = g;
    req.n_metrics = n;
    req.metrics = (char **)metrics;
    req.names = names;
    ProtobufCMessage *out = NULL;
    int rc = unary(r, "/helpdesk.v1.ReportingService/GetReportRollups", &req.base,
                   &helpdesk__v1__get_report_rollups_response__descriptor, a, &out, err);
    *resp = (const Helpdesk__V1__GetReportRollupsResponse *)out;
    return rc;
}

/* Peak hours from the hourly creations (reports.created.hour, dim = UTC hour). */
static void heat_points(hd_model *m, const Helpdesk__V1__RollupSeries *s)
{
    for (size_t k = 0; k < s->n_points; k++) {
        const Helpdesk__V1__RollupPoint *p = s->points[k];
        int64_t t = ts(p->bucket_start) + rt_dim(p) * 3600;
        if (t < m->from_s || t >= m->to_s)
            continue;
        int64_t ls = hd_model_local_s(m, t);
        int64_t d = ls >= 0 ? ls / 86400 : -((-ls + 86399) / 86400);
        int wd = (int)(((d % 7) + 10) % 7); /* 1970-01-01 was a Thursday; Monday = 0 */
        m->heat[wd][(ls - d * 86400) / 3600] += (uint32_t)p->value;
    }
}

#define RT_AGENTS_PER_CALL 32

/* Reads rt.agent.frt|a<id> of every agent of agents (the period call's response, whose
 * names stay in f->names) into the model. */
static int agent_frt(hd_remote *r, hd_model *m, rt_fill *f,
                     const Helpdesk__V1__GetReportRollupsResponse *agents, hd_err *err)
{
    char names[RT_AGENTS_PER_CALL][48];
    const char *metrics[RT_AGENTS_PER_CALL];
    size_t n = 0;
    int rc = 0;
    hd_arena *a = hd_arena_create(0);
    if (!a)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    for (size_t i = 0; i <= agents->n_series && !rc; i++) {
        const char *metric = i < agents->n_series ? agents->series[i]->metric : NULL;
        if (metric && !strncmp(metric, "rt.agent|a", 10)) {
            snprintf(names[n], sizeof names[n], "rt.agent.frt|%s", metric + 9);
            metrics[n] = names[n];
            n++;
        }
        if (!n || (metric && n < RT_AGENTS_PER_CALL))
            continue;
        const Helpdesk__V1__GetReportRollupsResponse *rr;
        hd_arena_reset(a);
        rc =
            rt_call(r, a, m, m->from_s, m->to_s,
                    HELPDESK__V1__REPORT_GROUPING__REPORT_GROUPING_PERIOD, metrics, n, 0, &rr, err);
        for (size_t s = 0; !rc && s < rr->n_series; s++)
            for (size_t k = 0; k < rr->series[s]->n_points; k++)
                rt_period_point(f, rr->series[s]->metric, rr->series[s]->points[k], 1);
        n = 0;
    }
    hd_arena_destroy(a);
    return rc;
}

/* Every section but the breach list, from counters sized by the period (see
 * server/reports/facts.h): the same figures a stream of every ticket gives. */
static int rollup_fill(hd_remote *r, hd_model *m, hd_err *err)
{
    static const char *const daily[] = {"rt.flow", "rt.frt", "rt.res"};
    static const char *const slices[] = {"rt.created|*", "rt.sla|*", "rt.run|*", "rt.agent|*"};
    static const char *const runs[] = {"rt.run|*"};
    static const char *const later[] = {"rt.flow", "rt.unsolved@now"};
    static const char *const hourly[] = {"reports.created.hour"};
    const Helpdesk__V1__ReportGrouping DAY = HELPDESK__V1__REPORT_GROUPING__REPORT_GROUPING_DAY;
    const Helpdesk__V1__ReportGrouping LDAY =
        HELPDESK__V1__REPORT_GROUPING__REPORT_GROUPING_LOCAL_DAY;
    const Helpdesk__V1__ReportGrouping PERIOD =
        HELPDESK__V1__REPORT_GROUPING__REPORT_GROUPING_PERIOD;
    int64_t len = m->to_s - m->from_s, pfrom = m->from_s - len;
    int64_t after[2] = {0, 0};
    rt_fill f = {.m = m, .after = after};
    const Helpdesk__V1__GetReportRollupsResponse *rr;
    int rc = 0;
    hd_arena *a = hd_arena_create(0);
    if (!a)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    /* Per local day over the previous period and the period. */
    for (int64_t t = pfrom; t < m->to_s && !rc; t += RT_CHUNK_DAYS * 86400) {
        int64_t end = t + RT_CHUNK_DAYS * 86400 < m->to_s ? t + RT_CHUNK_DAYS * 86400 : m->to_s;
        hd_arena_reset(a);
        rc = rt_call(r, a, m, t, end, LDAY, daily, 3, 0, &rr, err);
        for (size_t i = 0; !rc && i < rr->n_series; i++)
            for (size_t k = 0; k < rr->series[i]->n_points; k++)
                rt_day_point(&f, rr->series[i]->metric, rr->series[i]->points[k]);
    }
    if (rc)
        goto out;
    /* Slices, agents and unsettled targets over the period; unsettled ones of the previous
     * period for its SLA totals. */
    hd_arena_reset(a);
    rc = rt_call(r, a, m, m->from_s, m->to_s, PERIOD, slices, 4, 1, &rr, err);
    f.names = rr;
    for (size_t i = 0; !rc && i < rr->n_series; i++)
        for (size_t k = 0; k < rr->series[i]->n_points; k++)
            rt_period_point(&f, rr->series[i]->metric, rr->series[i]->points[k], 1);
    /* First-response histograms of the agents the period mentions (rt.agent| counts each
     * first response), RT_AGENTS_PER_CALL at a time: each is at most 1081 points. */
    if (!rc)
        rc = agent_frt(r, m, &f, rr, err);
    hd_arena_reset(a);
    if (!rc)
        rc = rt_call(r, a, m, pfrom, m->from_s, PERIOD, runs, 1, 0, &rr, err);
    for (size_t i = 0; !rc && i < rr->n_series; i++)
        for (size_t k = 0; k < rr->series[i]->n_points; k++)
            rt_period_point(&f, rr->series[i]->metric, rr->series[i]->points[k], 0);
    /* Creations and solves after the period and the unsolved tickets now: the backlog at
     * each day end (created by then and not solved by then). */
    int64_t now = (int64_t)time(NULL);
    int64_t end = (now > m->to_s ? now : m->to_s) + 2 * 86400;
    if (end - m->to_s > 800 * 86400)
        end = m->to_s + 800 * 86400;
    hd_arena_reset(a);
    if (!rc)
        rc = rt_call(r, a, m, m->to_s, end, PERIOD, later, 2, 0, &rr, err);
    for (size_t i = 0; !rc && i < rr->n_series; i++) {
        const Helpdesk__V1__RollupSeries *s = rr->series[i];
        for (size_t k = 0; k < s->n_points; k++) {
            int64_t code = rt_dim(s->points[k]);
            if (!strcmp(s->metric, "rt.unsolved@now"))
                f.unsolved = (int64_t)s->points[k]->value;
            else if (code == RT_CREATED || code == RT_SOLVED)
                after[code] += (int64_t)s->points[k]->value;
        }
    }
    /* Peak hours: hourly creations over the UTC days around the period. */
    hd_arena_reset(a);
    if (!rc)
        rc = rt_call(r, a, m, (m->from_s / 86400 - 1) * 86400, (m->to_s / 86400 + 2) * 86400, DAY,
                     hourly, 1, 0, &rr, err);
    for (size_t i = 0; !rc && i < rr->n_series; i++)
        heat_points(m, rr->series[i]);
    if (rc)
        goto out;
    int64_t c_after = after[0], s_after = after[1];
    for (int i = m->n_days - 1; i >= 0; i--) {
        int64_t b = f.unsolved + s_after - c_after;
        m->days[i].backlog = b < 0 ? 0 : (uint32_t)b;
        c_after += m->days[i].created;
        s_after += m->days[i].solved;
    }
    m->cur.backlog_end = m->n_days ? m->days[m->n_days - 1].backlog : 0;
    int64_t pb = f.unsolved + s_after - c_after;
    m->prev.backlog_end = pb < 0 ? 0 : (uint32_t)pb;
out:
    hd_arena_destroy(a);
    return rc;
}

hd_source hd_remote_source(hd_remote *r)
{
    return (hd_source){.ud = r, .fill = remote_fill, .breaches = remote_breaches};
}
