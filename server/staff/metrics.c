/* Per-agent rollups from ticket changes. */
#include "server/staff/metrics.h"

#include <stdio.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/rollup/rollup.h"

static const uint64_t frt_bounds[HD_STAFF_FRT_BUCKETS] = {
    60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, UINT64_MAX};

static int64_t ts_ms(const Google__Protobuf__Timestamp *t)
{
    return t ? t->seconds * 1000 + t->nanos / 1000000 : 0;
}

static int is_open(const Helpdesk__V1__Ticket *t)
{
    return t && t->assignee_id && t->assignee_id <= UINT32_MAX &&
           (t->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_NEW ||
            t->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_OPEN ||
            t->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING);
}

static void frt_metric(char *buf, size_t n, int bucket)
{
    snprintf(buf, n, "%s%02d", HD_STAFF_ROLLUP_FRT, bucket);
}

int hd_staff_metrics_observe(void *ud, const hd_ticket_change *c, hd_err *err)
{
    (void)ud;
    const Helpdesk__V1__Ticket *b = c->before, *a = c->after;
    uint32_t day = hd_rollup_day(c->now_ms);
    int rc = HD_OK;
    int was = is_open(b), now = is_open(a);
    if (was && (!now || b->assignee_id != a->assignee_id))
        rc = hd_rollup_add(c->txn, HD_STAFF_ROLLUP_OPEN, HD_ROLLUP_NOW, (uint32_t)b->assignee_id,
                           -1, err);
    if (rc == HD_OK && now && (!was || b->assignee_id != a->assignee_id))
        rc = hd_rollup_add(c->txn, HD_STAFF_ROLLUP_OPEN, HD_ROLLUP_NOW, (uint32_t)a->assignee_id, 1,
                           err);
    if (rc == HD_OK && a->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED &&
        (!b || b->status != HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED) && a->assignee_id &&
        a->assignee_id <= UINT32_MAX)
        rc = hd_rollup_add(c->txn, HD_STAFF_ROLLUP_SOLVED, day, (uint32_t)a->assignee_id, 1, err);
    if (rc == HD_OK && a->first_response_time && (!b || !b->first_response_time)) {
        uint64_t who = a->assignee_id;
        if (c->message && c->message->author_kind == HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF)
            who = c->message->author_id;
        int64_t secs = (ts_ms(a->first_response_time) - ts_ms(a->create_time)) / 1000;
        if (who && who <= UINT32_MAX) {
            int i = 0;
            while (i < HD_STAFF_FRT_BUCKETS - 1 && (uint64_t)(secs < 0 ? 0 : secs) > frt_bounds[i])
                i++;
            char m[32];
            frt_metric(m, sizeof(m), i);
            rc = hd_rollup_add(c->txn, m, day, (uint32_t)who, 1, err);
        }
    }
    return rc;
}

int hd_staff_metrics_get(hd_store *s, uint64_t staff_id, int64_t now_ms,
                         Helpdesk__V1__AgentMetrics *out, hd_err *err)
{
    out->staff_id = staff_id;
    if (staff_id > UINT32_MAX)
        return HD_OK;
    uint32_t dim = (uint32_t)staff_id, today = hd_rollup_day(now_ms);
    hd_txn *txn;
    int rc = hd_store_read_begin(s, &txn, err);
    if (rc != HD_OK)
        return rc;
    uint64_t v = 0, hist[HD_STAFF_FRT_BUCKETS] = {0}, total = 0;
    rc = hd_rollup_get(txn, HD_STAFF_ROLLUP_OPEN, HD_ROLLUP_NOW, dim, &out->open, err);
    for (uint32_t d = 0; d < 7 && rc == HD_OK; d++) {
        rc = hd_rollup_get(txn, HD_STAFF_ROLLUP_SOLVED, today - d, dim, &v, err);
        out->solved_7d += v;
        if (d == 0)
            out->solved_today = v;
        for (int i = 0; i < HD_STAFF_FRT_BUCKETS && rc == HD_OK; i++) {
            char m[32];
            frt_metric(m, sizeof(m), i);
            rc = hd_rollup_get(txn, m, today - d, dim, &v, err);
            hist[i] += v;
            total += v;
        }
    }
    hd_store_read_end(txn);
    if (rc != HD_OK)
        return rc;
    out->first_responses_7d = total;
    uint64_t seen = 0;
    for (int i = 0; i < HD_STAFF_FRT_BUCKETS && total; i++) {
        seen += hist[i];
        if (seen * 2 >= total) {
            out->median_first_response_seconds =
                frt_bounds[i] == UINT64_MAX ? frt_bounds[i - 1] : frt_bounds[i];
            break;
        }
    }
    return HD_OK;
}
