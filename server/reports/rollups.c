/* The reports' own rollups (see rollups.h): hourly flows and the CSAT distribution, counted
 * from each ticket change's before/after states, so replaying a mutation recounts nothing
 * twice (the txn is redone as a whole). */
#include "server/reports/rollups.h"

#include "server/rollup/rollup.h"

static int in_backlog(int status)
{
    return status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_NEW ||
           status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_OPEN ||
           status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING;
}

/* Adds delta to metric's counter of the UTC hour of at_ms. */
static int hourly(hd_txn *txn, const char *metric, int64_t at_ms, int64_t delta, hd_err *err)
{
    uint32_t hour = (uint32_t)((at_ms / 3600000) % 24);
    if (at_ms < 0)
        return hd_err_set(err, HD_EINVAL, "%s: time before 1970", metric);
    return hd_rollup_add(txn, metric, hd_rollup_day(at_ms), hour, delta, err);
}

static int csat(hd_txn *txn, const Helpdesk__V1__Rating *r, int64_t fallback_ms, int64_t delta,
                hd_err *err)
{
    if (!r || r->score < 1 || r->score > 5)
        return 0;
    int64_t at_ms = r->time ? r->time->seconds * 1000 : fallback_ms;
    return hd_rollup_add(txn, HD_REPORTS_ROLLUP_CSAT, hd_rollup_day(at_ms), r->score, delta, err);
}

int hd_reports_rollups_observe(void *ud, const hd_ticket_change *c, hd_err *err)
{
    (void)ud;
    const Helpdesk__V1__Ticket *b = c->before, *a = c->after;
    int rc = 0;
    if (!a)
        return 0;
    int s0 = b ? (int)b->status : 0, s1 = (int)a->status;
    if (!b) {
        int64_t at_ms = a->create_time ? a->create_time->seconds * 1000 : c->now_ms;
        rc = hourly(c->txn, HD_REPORTS_ROLLUP_CREATED_HOUR, at_ms, 1, err);
    }
    if (!rc && s1 == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED &&
        s0 != HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED)
        rc = hourly(c->txn, HD_REPORTS_ROLLUP_SOLVED_HOUR, c->now_ms, 1, err);
    if (!rc && in_backlog(s0) != in_backlog(s1)) {
        int opened = in_backlog(s1);
        rc = hourly(c->txn, opened ? HD_REPORTS_ROLLUP_OPENED_HOUR : HD_REPORTS_ROLLUP_CLOSED_HOUR,
                    c->now_ms, 1, err);
        if (!rc)
            rc = hd_rollup_add(c->txn, HD_REPORTS_ROLLUP_OPEN, HD_ROLLUP_NOW, 0, opened ? 1 : -1,
                               err);
    }
    const Helpdesk__V1__Rating *r0 = b ? b->rating : NULL, *r1 = a->rating;
    int same = r0 && r1 && r0->score == r1->score &&
               (r0->time ? r0->time->seconds : -1) == (r1->time ? r1->time->seconds : -1);
    if (!rc && !same && (r0 || r1)) {
        rc = csat(c->txn, r0, c->now_ms, -1, err);
        if (!rc)
            rc = csat(c->txn, r1, c->now_ms, 1, err);
    }
    return rc;
}
