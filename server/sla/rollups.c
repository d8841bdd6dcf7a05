/* SLA rollup counters: one ticket change turns into a handful of counter increments for its
 * slice (day x priority x group x category) and its agent. */
#include "server/sla/rollups.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "helpdesk/v1/common.pb-c.h"
#include "server/rollup/rollup.h"

#define RATIO 1.08

uint32_t hd_sla_rollups_bucket(int64_t minutes)
{
    if (minutes < HD_SLA_BUCKET_EXACT)
        return minutes < 0 ? 0 : (uint32_t)minutes;
    double b = HD_SLA_BUCKET_EXACT + floor(log((double)minutes / HD_SLA_BUCKET_EXACT) / log(RATIO));
    return b >= HD_SLA_BUCKETS - 1 ? HD_SLA_BUCKETS - 1 : (uint32_t)b;
}

double hd_sla_rollups_bucket_value(uint32_t b)
{
    if (b < HD_SLA_BUCKET_EXACT)
        return b;
    double lo = HD_SLA_BUCKET_EXACT * pow(RATIO, b - HD_SLA_BUCKET_EXACT);
    return lo * sqrt(RATIO);
}

double hd_sla_rollups_percentile(const uint64_t *counts, double q)
{
    uint64_t total = 0, seen = 0;
    for (int b = 0; b < HD_SLA_BUCKETS; b++)
        total += counts[b];
    if (total == 0)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)total);
    if (rank == 0)
        rank = 1;
    for (int b = 0; b < HD_SLA_BUCKETS; b++) {
        seen += counts[b];
        if (seen >= rank)
            return hd_sla_rollups_bucket_value((uint32_t)b);
    }
    return hd_sla_rollups_bucket_value(HD_SLA_BUCKETS - 1);
}

char *hd_sla_rollups_metric(char *buf, size_t n, const char *measure, int priority,
                            uint64_t group_id, const char *category)
{
    snprintf(buf, n, "sla.%s|p%d|g%llu|c%s", measure, priority, (unsigned long long)group_id,
             category ? category : "");
    return buf;
}

char *hd_sla_rollups_agent_metric(char *buf, size_t n, const char *measure, uint64_t staff_id)
{
    snprintf(buf, n, "sla.agent.%s|a%llu", measure, (unsigned long long)staff_id);
    return buf;
}

typedef struct slice {
    hd_txn *txn;
    uint32_t day;
    int priority;
    uint64_t group;
    const char *category;
    uint64_t agent;
    hd_err *err;
} slice;

/* Adds delta to measure/dim for the slice and, when per_agent, for the agent. */
static int bump(const slice *s, const char *measure, uint32_t dim, int64_t delta, int per_agent)
{
    char m[200];
    int rc = hd_rollup_add(
        s->txn, hd_sla_rollups_metric(m, sizeof(m), measure, s->priority, s->group, s->category),
        s->day, dim, delta, s->err);
    if (rc == 0 && per_agent)
        rc = hd_rollup_add(s->txn, hd_sla_rollups_agent_metric(m, sizeof(m), measure, s->agent),
                           s->day, dim, delta, s->err);
    return rc;
}

static int is_closed(int st)
{
    return st == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED ||
           st == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED ||
           st == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_MERGED;
}

int hd_sla_rollups_apply(hd_txn *txn, const Helpdesk__V1__Ticket *t, const hd_sla_ticket *old,
                         const hd_sla_ticket *now, int created, int status_before, int status_after,
                         int64_t now_s, hd_err *err)
{
    slice s = {txn,
               hd_rollup_day(now_s * 1000),
               t ? (int)t->priority : 0,
               t ? t->group_id : now->group_id,
               t ? t->category : "",
               t ? t->assignee_id : 0,
               err};
    int rc = 0;
    if (created) {
        rc = bump(&s, "created", 0, 1, 0);
        if (rc == 0 && !is_closed(status_after))
            rc = bump(&s, "opened", 0, 1, 0);
    } else if (is_closed(status_before) != is_closed(status_after)) {
        rc = bump(&s, is_closed(status_after) ? "closed" : "opened", 0, 1, 0);
        if (rc == 0 && !is_closed(status_after))
            rc = bump(&s, "reopened", 0, 1, 1);
    }
    for (int i = 0; rc == 0 && i < HD_SLA_TARGETS; i++) {
        const hd_sla_clock *o = old ? &old->clocks[i] : NULL;
        const hd_sla_clock *c = &now->clocks[i];
        int same_run = o && o->run == c->run;
        int newly_breached = c->breached && !(same_run && o->breached);
        int newly_met = c->done && c->met_s && !(same_run && o->done && o->met_s);
        if (newly_breached)
            rc = bump(&s, "breached", (uint32_t)(i + 1), 1, 1);
        if (rc == 0 && newly_met && !c->breached)
            rc = bump(&s, "met", (uint32_t)(i + 1), 1, 1);
        if (rc == 0 && newly_met && i == HD_SLA_FIRST_RESPONSE - 1) {
            rc = bump(&s, "first_responses", 0, 1, 1);
            if (rc == 0)
                rc = bump(&s, "frt_sum", 0, c->taken_s, 1);
            if (rc == 0)
                rc = bump(&s, "frt_hist", hd_sla_rollups_bucket(c->taken_s / 60), 1, 1);
            if (rc == 0)
                rc = hd_rollup_add(txn, HD_SLA_ROLLUP_ALL_FRT_HIST, s.day,
                                   hd_sla_rollups_bucket(c->taken_s / 60), 1, err);
        }
        if (rc == 0 && newly_met && i == HD_SLA_RESOLUTION - 1) {
            rc = bump(&s, "res_sum", 0, c->taken_s, 1);
            if (rc == 0)
                rc = bump(&s, "res_hist", hd_sla_rollups_bucket(c->taken_s / 60), 1, 1);
            if (rc == 0)
                rc = hd_rollup_add(txn, HD_SLA_ROLLUP_ALL_RES_HIST, s.day,
                                   hd_sla_rollups_bucket(c->taken_s / 60), 1, err);
        }
    }
    return rc;
}

typedef struct hist_acc {
    uint64_t *counts;
    hd_err *err;
} hist_acc;

static int hist_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    hist_acc *h = arg;
    if (vlen != 8 || klen < 4)
        return hd_err_set(h->err, HD_ECORRUPT, "sla rollups: bad histogram entry");
    const unsigned char *k = (const unsigned char *)key + klen - 4, *v = val;
    uint32_t b = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
    uint64_t n = 0;
    for (int i = 0; i < 8; i++)
        n = n << 8 | v[i];
    if (b < HD_SLA_BUCKETS)
        h->counts[b] += n;
    return 0;
}

int hd_sla_rollups_total_hist(hd_txn *txn, const char *metric, uint32_t from_day, uint32_t to_day,
                              uint64_t *counts, hd_err *err)
{
    hist_acc h = {counts, err};
    memset(counts, 0, HD_SLA_BUCKETS * sizeof(*counts));
    for (uint32_t day = from_day; day <= to_day; day++) {
        hd_key prefix;
        hd_key_init(&prefix);
        hd_key_str(&prefix, metric);
        hd_key_u32(&prefix, day);
        hd_store_range r = {.prefix = &prefix};
        int64_t n = hd_store_scan(txn, HD_STORE_ROLLUPS, &r, hist_cb, &h, err);
        if (n < 0)
            return (int)n;
    }
    return 0;
}
