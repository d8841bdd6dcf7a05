/* Per-ticket report facts and their rollups (see facts.h). The observer stores the facts it
 * counted for each ticket, so an update recounts exactly: the old facts' counters go down by
 * one, the new ones' up by one, whatever changed in between (a priority escalated, a ticket
 * reassigned, reopened and solved again, a rating changed, an SLA clock met late). */
#include "server/reports/facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/rollup/rollup.h"
#include "server/sla/record.h"
#include "server/store/key.h"
#include "server/tickets/tickets.h"

/* Stored fact records start with this tag (layout version and size). */
#define FACT_TAG ((uint32_t)(0x52460000u | (uint32_t)sizeof(hd_reports_fact)))

static int64_t ts_s(const Google__Protobuf__Timestamp *t)
{
    return t ? t->seconds : 0;
}

uint32_t hd_reports_bucket(int64_t minutes)
{
    if (minutes < 0)
        minutes = 0;
    if (minutes < 120)
        return (uint32_t)minutes;
    if (minutes < 1440)
        return 120 + (uint32_t)((minutes - 120) / 5);
    if (minutes < 43200)
        return 384 + (uint32_t)((minutes - 1440) / 60);
    return HD_REPORTS_BUCKETS - 1;
}

int64_t hd_reports_bucket_floor(uint32_t b)
{
    if (b < 120)
        return b;
    if (b < 384)
        return 120 + (int64_t)(b - 120) * 5;
    return 1440 + (int64_t)(b - 384) * 60;
}

void hd_reports_fact_of(hd_reports_fact *out, const Helpdesk__V1__Ticket *t,
                        const hd_sla_ticket *sla)
{
    memset(out, 0, sizeof *out);
    int64_t created = ts_s(t->create_time), solved = ts_s(t->solve_time);
    int64_t first = ts_s(t->first_response_time);
    out->created_s = created;
    out->first_s = first;
    out->solved_s = solved;
    out->priority = t->priority >= 1 && t->priority <= 4 ? (uint32_t)t->priority : 3;
    out->csat = t->rating && t->rating->score >= 1 && t->rating->score <= 5 ? t->rating->score : 0;
    out->group_id = t->group_id;
    out->agent_id = t->assignee_id;
    snprintf(out->category, sizeof out->category, "%s", t->category ? t->category : "");
    /* Wall-clock minutes, replaced by the SLA clocks' business minutes when they ran. */
    if (first && first >= created)
        out->frt_min = (uint32_t)((first - created) / 60);
    if (solved && solved >= created)
        out->res_min = (uint32_t)((solved - created) / 60);
    for (int k = 0; sla && k < HD_SLA_TARGETS; k++) {
        const hd_sla_clock *cl = &sla->clocks[k];
        /* A stopped or paused clock keeps no due time: a met target counts when it was
         * met; a paused or abandoned one is not counted until it runs again. */
        int64_t at = cl->met_s ? cl->met_s : cl->due_s;
        if (!cl->active || !at)
            continue;
        int late_met = cl->met_s && cl->taken_s > (int64_t)cl->target_min * 60;
        out->target[k].due_s = at;
        out->target[k].met = cl->met_s != 0;
        if (cl->breached || late_met)
            out->target[k].state = HD_REPORTS_TARGET_BREACHED;
        else if (cl->met_s || cl->paused)
            out->target[k].state = HD_REPORTS_TARGET_MET;
        else
            out->target[k].state = HD_REPORTS_TARGET_OPEN;
        if (late_met)
            out->target[k].late_min = (uint32_t)((cl->taken_s - (int64_t)cl->target_min * 60) / 60);
        if (cl->met_s && k == HD_SLA_FIRST_RESPONSE - 1)
            out->frt_min = (uint32_t)(cl->taken_s / 60);
        if (cl->met_s && k == HD_SLA_RESOLUTION - 1)
            out->res_min = (uint32_t)(cl->taken_s / 60);
    }
}

int hd_reports_fact_breached(const hd_reports_fact *f, int k, int64_t now_s)
{
    uint32_t st = f->target[k].state;
    return st == HD_REPORTS_TARGET_BREACHED ||
           (st == HD_REPORTS_TARGET_OPEN && now_s > f->target[k].due_s);
}

/* Counting one ticket's facts with a sign. */
typedef struct counter {
    hd_txn *txn;
    int64_t delta;
    hd_err *err;
} counter;

/* Adds delta to metric at instant at_s, dim = UTC hour << 16 | code. */
static int hourly(const counter *c, const char *metric, int64_t at_s, uint32_t code)
{
    if (at_s < 0)
        return hd_err_set(c->err, HD_EINVAL, "%s: time before 1970", metric);
    uint32_t dim = (uint32_t)((at_s % 86400) / 3600) << 16 | code;
    return hd_rollup_add(c->txn, metric, hd_rollup_day(at_s * 1000), dim, c->delta, c->err);
}

static int count(const counter *c, const hd_reports_fact *f)
{
    char agent[64], slice[200], run[240];
    snprintf(agent, sizeof agent, HD_REPORTS_AGENT "a%llu", (unsigned long long)f->agent_id);
    snprintf(slice, sizeof slice, HD_REPORTS_SLA "p%u|g%llu|c%s", f->priority,
             (unsigned long long)f->group_id, f->category);
    int rc = hourly(c, HD_REPORTS_FLOW, f->created_s, HD_REPORTS_CODE_CREATED);
    if (!rc) {
        snprintf(run, sizeof run, HD_REPORTS_CREATED "p%u|c%s", f->priority, f->category);
        rc = hourly(c, run, f->created_s, 0);
    }
    if (!rc && !f->solved_s)
        rc = hd_rollup_add(c->txn, HD_REPORTS_UNSOLVED, HD_ROLLUP_NOW, 0, c->delta, c->err);
    if (!rc && f->first_s) {
        rc = hourly(c, HD_REPORTS_FRT, f->first_s, hd_reports_bucket(f->frt_min));
        if (!rc) {
            char m[80];
            snprintf(m, sizeof m, HD_REPORTS_AGENT_FRT "a%llu", (unsigned long long)f->agent_id);
            rc = hourly(c, m, f->first_s, hd_reports_bucket(f->frt_min));
        }
        if (!rc)
            rc = hourly(c, agent, f->first_s, HD_REPORTS_CODE_FIRST);
    }
    if (!rc && f->solved_s) {
        rc = hourly(c, HD_REPORTS_FLOW, f->solved_s, HD_REPORTS_CODE_SOLVED);
        if (!rc)
            rc = hourly(c, agent, f->solved_s, HD_REPORTS_CODE_SOLVED);
        if (!rc)
            rc = hourly(c, HD_REPORTS_RES, f->solved_s, hd_reports_bucket(f->res_min));
        if (!rc && f->csat) {
            rc = hourly(c, HD_REPORTS_FLOW, f->solved_s, HD_REPORTS_CODE_CSAT + f->csat);
            if (!rc)
                rc = hourly(c, agent, f->solved_s, HD_REPORTS_CODE_CSAT + f->csat);
        }
    }
    for (int k = 0; !rc && k < HD_SLA_TARGETS; k++) {
        uint32_t st = f->target[k].state;
        int64_t due = f->target[k].due_s;
        if (st == HD_REPORTS_TARGET_NONE)
            continue;
        if (due < 0)
            return hd_err_set(c->err, HD_EINVAL, "sla due time before 1970");
        if (st == HD_REPORTS_TARGET_OPEN) {
            snprintf(run, sizeof run, HD_REPORTS_RUN "p%u|g%llu|a%llu|c%s", f->priority,
                     (unsigned long long)f->group_id, (unsigned long long)f->agent_id, f->category);
            rc = hd_rollup_add(c->txn, run, hd_rollup_day(due * 1000),
                               (uint32_t)(due % 86400) << 2 | (uint32_t)k, c->delta, c->err);
            continue;
        }
        uint32_t code = HD_REPORTS_CODE_SLA + 4 * (uint32_t)k + (st == HD_REPORTS_TARGET_BREACHED);
        rc = hourly(c, HD_REPORTS_FLOW, due, code);
        if (!rc)
            rc = hourly(c, slice, due, code);
        if (!rc)
            rc = hourly(c, agent, due, code);
    }
    return rc;
}

static hd_key *fact_key(hd_key *k, uint64_t id)
{
    hd_key_init(k);
    hd_key_str(k, HD_REPORTS_FACT_KEY);
    return hd_key_u64(k, id);
}

int hd_reports_facts_observe(void *ud, const hd_ticket_change *c, hd_err *err)
{
    (void)ud;
    const Helpdesk__V1__Ticket *t = c->after ? c->after : c->before;
    if (!t)
        return 0;
    hd_key key;
    fact_key(&key, t->id);
    hd_reports_fact old, now;
    int had = 0;
    const void *val;
    size_t len;
    int rc = hd_store_get(c->txn, HD_STORE_SETTINGS, &key, &val, &len, err);
    if (rc == 0) {
        uint32_t tag;
        if (len != sizeof tag + sizeof old)
            return hd_err_set(err, HD_ECORRUPT, "report facts of ticket %llu: %zu bytes",
                              (unsigned long long)t->id, len);
        memcpy(&tag, val, sizeof tag);
        if (tag != FACT_TAG)
            return hd_err_set(err, HD_ECORRUPT, "report facts of ticket %llu: unknown layout",
                              (unsigned long long)t->id);
        memcpy(&old, (const char *)val + sizeof tag, sizeof old);
        had = 1;
    } else if (rc != HD_ENOTFOUND) {
        return rc;
    }
    if (c->after) {
        hd_sla_ticket sla;
        rc = hd_sla_record_load(c->txn, t->id, &sla, err);
        if (rc && rc != HD_ENOTFOUND)
            return rc;
        hd_reports_fact_of(&now, c->after, rc == HD_ENOTFOUND ? NULL : &sla);
        if (had && !memcmp(&old, &now, sizeof now))
            return 0;
    }
    counter down = {c->txn, -1, err}, up = {c->txn, 1, err};
    rc = had ? count(&down, &old) : 0;
    if (!rc && c->after)
        rc = count(&up, &now);
    if (rc)
        return rc;
    if (!c->after)
        return hd_store_del(c->txn, HD_STORE_SETTINGS, &key, err);
    unsigned char buf[sizeof(uint32_t) + sizeof now];
    uint32_t tag = FACT_TAG;
    memcpy(buf, &tag, sizeof tag);
    memcpy(buf + sizeof tag, &now, sizeof now);
    return hd_store_put(c->txn, HD_STORE_SETTINGS, &key, buf, sizeof buf, 0, err);
}

#define BACKFILL_MARKER  "rpt.facts.ready"
#define BACKFILL_VERSION 1
#define BACKFILL_BATCH   2000

typedef struct backfill {
    uint64_t next_id; /* first ticket id of the next batch */
    uint64_t seen;    /* tickets visited in this batch */
    uint64_t counted; /* tickets counted in this batch */
    uint64_t last_id;
    int done;
    hd_arena *a;
    hd_txn *txn;
    hd_err *err;
} backfill;

static int backfill_one(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    backfill *b = arg;
    if (b->seen == BACKFILL_BATCH)
        return 1;
    hd_arena_reset(b->a);
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(b->a, &pa);
    Helpdesk__V1__Ticket *t = helpdesk__v1__ticket__unpack(&pa, vlen, val);
    if (!t)
        return hd_err_set(b->err, HD_ECORRUPT, "ticket record does not unpack");
    b->seen++;
    b->last_id = t->id;
    hd_key k;
    const void *v;
    size_t len;
    int rc = hd_store_get(b->txn, HD_STORE_SETTINGS, fact_key(&k, t->id), &v, &len, b->err);
    if (rc != HD_ENOTFOUND)
        return rc; /* 0: counted already (by the observer) */
    hd_sla_ticket sla;
    rc = hd_sla_record_load(b->txn, t->id, &sla, b->err);
    if (rc && rc != HD_ENOTFOUND)
        return rc;
    hd_reports_fact f;
    hd_reports_fact_of(&f, t, rc == HD_ENOTFOUND ? NULL : &sla);
    counter up = {b->txn, 1, b->err};
    rc = count(&up, &f);
    unsigned char buf[sizeof(uint32_t) + sizeof f];
    uint32_t tag = FACT_TAG;
    memcpy(buf, &tag, sizeof tag);
    memcpy(buf + sizeof tag, &f, sizeof f);
    if (!rc)
        rc = hd_store_put(b->txn, HD_STORE_SETTINGS, &k, buf, sizeof buf, 0, b->err);
    b->counted += !rc;
    return rc;
}

/* One batch; replayable: the position moves only in hd_reports_facts_backfill, after the
 * commit. */
static int backfill_apply(hd_txn *txn, void *arg, hd_err *err)
{
    backfill *b = arg;
    b->seen = b->counted = 0;
    b->done = 0;
    b->txn = txn;
    b->err = err;
    hd_key start;
    uint32_t version;
    int rc = hd_store_marker_get(txn, BACKFILL_MARKER, &version, err);
    if (rc || version >= BACKFILL_VERSION) {
        b->done = 1;
        return rc;
    }
    hd_store_range r = {.start = hd_tickets_key_id(&start, b->next_id)};
    int64_t n = hd_store_scan(txn, HD_STORE_TICKETS, &r, backfill_one, b, err);
    if (n < 0)
        return (int)n;
    if (b->seen < BACKFILL_BATCH) {
        b->done = 1;
        return hd_store_marker_set(txn, BACKFILL_MARKER, BACKFILL_VERSION, err);
    }
    return 0;
}

int hd_reports_facts_backfill(hd_store *s, uint64_t *counted, hd_err *err)
{
    backfill b = {.a = hd_arena_create(0)};
    uint64_t total = 0;
    int rc = 0;
    if (!b.a)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    while (!rc && !b.done) {
        rc = hd_store_write(s, backfill_apply, &b, err);
        if (!rc) {
            total += b.counted;
            b.next_id = b.last_id + 1;
        }
    }
    hd_arena_destroy(b.a);
    if (counted)
        *counted = total;
    return rc;
}
