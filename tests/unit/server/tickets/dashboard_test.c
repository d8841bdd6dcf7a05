/* The dashboard as a specification: after a long random sequence of creates, assignments,
 * auto-assignments, escalations, status changes, replies and merges over several days
 * (failed operations included, whose rollups must roll back with them), every figure
 * GetDashboard reports equals a recount from the primary records (tickets and events). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/clock/clock.h"
#include "server/rollup/rollup.h"
#include "server/tickets/change.h"
#include "server/tickets/dashboard.h"
#include "server/tickets/escalate.h"
#include "server/tickets/merge.h"
#include "tests/unit/server/tickets/work_fixture.h"

#define MAXT 512

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* What the primary records say. */
typedef struct recount {
    uint64_t status[7], open, priority[5], unassigned, agent[64];
    const char *cat[8];
    uint64_t cat_n[8];
    size_t n_cat;
    uint64_t created_today, solved_today;
    uint64_t frt[2][HD_DASHBOARD_BUCKETS], res[2][HD_DASHBOARD_BUCKETS]; /* [0] today, [1] 7d */
    int64_t created_ms[MAXT + 1];
    uint32_t today;
    int64_t top_update;
    uint64_t top_ticket;
} recount;

static bool is_open(int s)
{
    return s == WF_ST(NEW) || s == WF_ST(OPEN) || s == WF_ST(PENDING);
}

static int ticket_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    recount *r = arg;
    (void)key;
    (void)klen;
    Helpdesk__V1__Ticket *t = helpdesk__v1__ticket__unpack(NULL, vlen, val);
    if (!t || t->id > MAXT)
        return HD_ECORRUPT;
    int64_t created = hd_tickets_ts_ms(t->create_time), upd = hd_tickets_ts_ms(t->update_time);
    r->created_ms[t->id] = created;
    r->status[t->status]++;
    if (hd_rollup_day(created) == r->today)
        r->created_today++;
    if (upd > r->top_update || (upd == r->top_update && t->id > r->top_ticket)) {
        r->top_update = upd;
        r->top_ticket = t->id;
    }
    if (is_open(t->status)) {
        size_t i;
        r->open++;
        r->priority[t->priority]++;
        if (t->assignee_id)
            r->agent[t->assignee_id]++;
        else
            r->unassigned++;
        for (i = 0; i < r->n_cat && strcmp(r->cat[i], t->category) != 0; i++)
            ;
        if (i == r->n_cat) {
            r->cat[r->n_cat++] = strdup(t->category);
        }
        r->cat_n[i]++;
    }
    if (t->first_response_time) {
        int64_t at = hd_tickets_ts_ms(t->first_response_time);
        uint32_t b = hd_dashboard_bucket((at - created) / 60000), d = hd_rollup_day(at);
        if (d == r->today)
            r->frt[0][b]++;
        if (d + 6 >= r->today && d <= r->today)
            r->frt[1][b]++;
    }
    helpdesk__v1__ticket__free_unpacked(t, NULL);
    return 0;
}

static int event_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    recount *r = arg;
    (void)key;
    (void)klen;
    Helpdesk__V1__TicketEvent *ev = helpdesk__v1__ticket_event__unpack(NULL, vlen, val);
    if (!ev)
        return HD_ECORRUPT;
    for (size_t i = 0; i < ev->n_changes; i++) {
        if (strcmp(ev->changes[i]->field, "status") != 0 ||
            strcmp(ev->changes[i]->after, "TICKET_STATUS_SOLVED") != 0)
            continue;
        int64_t at = hd_tickets_ts_ms(ev->time);
        uint32_t b = hd_dashboard_bucket((at - r->created_ms[ev->ticket_id]) / 60000);
        uint32_t d = hd_rollup_day(at);
        if (d == r->today) {
            r->res[0][b]++;
            r->solved_today++;
        }
        if (d + 6 >= r->today && d <= r->today)
            r->res[1][b]++;
    }
    helpdesk__v1__ticket_event__free_unpacked(ev, NULL);
    return 0;
}

static int64_t median(const uint64_t *h, uint64_t *n)
{
    uint64_t total = 0, seen = 0;
    for (uint32_t b = 0; b < HD_DASHBOARD_BUCKETS; b++)
        total += h[b];
    *n = total;
    for (uint32_t b = 0; total && b < HD_DASHBOARD_BUCKETS; b++) {
        seen += h[b];
        if (seen > (total - 1) / 2)
            return hd_dashboard_bucket_floor(b);
    }
    return -1;
}

static void do_recount(wf *f, recount *r)
{
    hd_txn *txn;
    hd_err err = {0};
    hd_store_range all = {0};
    memset(r, 0, sizeof(*r));
    r->today = hd_rollup_day(hd_clock_now_ms());
    wf_ok(hd_store_read_begin(f->s, &txn, &err), err);
    int64_t a = hd_store_scan(txn, HD_STORE_TICKETS, &all, ticket_cb, r, &err);
    int64_t b = hd_store_scan(txn, HD_STORE_EVENTS, &all, event_cb, r, &err);
    hd_store_read_end(txn);
    assert_true(a >= 0 && b >= 0);
}

static void random_op(wf *f, uint64_t n_tickets, int *ok, int *failed)
{
    hd_err err = {0};
    uint64_t t = 1 + rnd((uint32_t)n_tickets), u = 1 + rnd((uint32_t)n_tickets);
    int rc = 0;
    switch (rnd(9)) {
    case 0:
        rc = wf_assign(f, t, rnd(2) ? 7 + rnd(3) : 0, 1, false, NULL, &err);
        break;
    case 1:
        rc = wf_assign(f, t, 0, 1, true, NULL, &err);
        break;
    case 2: {
        hd_tickets_escalate_args x;
        Helpdesk__V1__EscalateTicketRequest req = HELPDESK__V1__ESCALATE_TICKET_REQUEST__INIT;
        req.ticket_id = t;
        req.manager_id = rnd(2) ? 20 : 0;
        req.group_id = req.manager_id ? 0 : 1;
        req.reason = HELPDESK__V1__ESCALATION_REASON__ESCALATION_REASON_IMPACT;
        req.raise_priority = (Helpdesk__V1__Priority)rnd(5);
        rc = hd_tickets_escalate_prepare(&x, &req, &err);
        x.w = wf_work(f);
        if (rc == 0)
            rc = wf_run(f, hd_tickets_escalate_apply, &x, &err);
        break;
    }
    case 3:
    case 4:
        rc = wf_status(f, t, (Helpdesk__V1__TicketStatus)(2 + rnd(4)), &err);
        break;
    case 5:
        rc = wf_message(f, t, true, "staff reply", &err);
        break;
    case 6:
        rc = wf_message(f, t, false, "customer again", &err);
        break;
    case 7: {
        hd_tickets_merge_args x;
        memset(&x, 0, sizeof(x));
        x.w = wf_work(f);
        x.source_id = t;
        x.target_id = u;
        rc = wf_run(f, hd_tickets_merge_apply, &x, &err);
        break;
    }
    default:
        hd_clock_advance_ms((int64_t)rnd(90) * 60000 + rnd(60000));
        break;
    }
    if (rc == 0)
        (*ok)++;
    else
        (*failed)++;
}

static void dashboard_equals_a_recount_after_random_operations(void **state)
{
    wf *f = *state;
    static const uint64_t g1[] = {1};
    static const char *const cats[] = {"", "billing", "tech"};
    hd_err err = {0};
    uint64_t n = 0;
    int ok = 0, failed = 0;
    wf_staff(f, 7, HELPDESK__V1__ROLE__ROLE_AGENT, true, 0, g1, 1, 0);
    wf_staff(f, 8, HELPDESK__V1__ROLE__ROLE_AGENT, true, 5, g1, 1, 0);
    wf_staff(f, 9, HELPDESK__V1__ROLE__ROLE_AGENT, true, 0, g1, 1, 0);
    wf_staff(f, 20, HELPDESK__V1__ROLE__ROLE_MANAGER, true, 0, NULL, 0, 0);

    for (int i = 0; i < 1500; i++) {
        if (n < MAXT && (n == 0 || rnd(4) == 0)) {
            wf_ticket(f, (Helpdesk__V1__Priority)(1 + rnd(4)), cats[rnd(3)]);
            n++;
        } else {
            random_op(f, n, &ok, &failed);
        }
        if (i % 100 == 0)
            hd_arena_reset(f->a);
    }
    assert_true(ok > 300);    /* the sequence did real work... */
    assert_true(failed > 10); /* ...and some of it was refused and rolled back */

    recount r;
    Helpdesk__V1__Dashboard d;
    do_recount(f, &r);
    wf_ok(hd_dashboard_get(f->s, f->a, hd_clock_now_ms(), &d, &err), err);
    assert_int_equal(d.open, r.open);
    assert_int_equal(d.n_by_status, 6);
    for (size_t s = 0; s < 6; s++)
        assert_int_equal(d.by_status[s]->count, r.status[s + 1]);
    assert_int_equal(d.n_by_priority, 4);
    for (size_t p = 0; p < 4; p++)
        assert_int_equal(d.by_priority[p]->count, r.priority[p + 1]);
    assert_int_equal(d.unassigned, r.unassigned);
    size_t agents = 0;
    for (size_t i = 0; i < 64; i++)
        agents += r.agent[i] != 0;
    assert_int_equal(d.n_agent_load, agents);
    for (size_t i = 0; i < d.n_agent_load; i++)
        assert_int_equal(d.agent_load[i]->open, r.agent[d.agent_load[i]->staff_id]);
    size_t cats_nonzero = 0;
    for (size_t i = 0; i < r.n_cat; i++) {
        cats_nonzero++;
        bool found = false;
        for (size_t j = 0; j < d.n_by_category; j++)
            if (strcmp(d.by_category[j]->key, r.cat[i]) == 0) {
                assert_int_equal(d.by_category[j]->count, r.cat_n[i]);
                found = true;
            }
        assert_true(found);
        free((char *)r.cat[i]);
    }
    assert_int_equal(d.n_by_category, cats_nonzero);
    assert_int_equal(d.created_today, r.created_today);
    assert_int_equal(d.solved_today, r.solved_today);

    uint64_t cnt;
    assert_int_equal(d.today->first_response_minutes, median(r.frt[0], &cnt));
    assert_int_equal(d.today->first_responses, cnt);
    assert_int_equal(d.last_7_days->first_response_minutes, median(r.frt[1], &cnt));
    assert_int_equal(d.last_7_days->first_responses, cnt);
    assert_true(cnt > 10);
    assert_int_equal(d.today->resolution_minutes, median(r.res[0], &cnt));
    assert_int_equal(d.today->resolutions, cnt);
    assert_int_equal(d.last_7_days->resolution_minutes, median(r.res[1], &cnt));
    assert_int_equal(d.last_7_days->resolutions, cnt);
    assert_true(cnt > 10);

    assert_int_equal(d.n_recent_activity, HD_DASHBOARD_RECENT);
    assert_int_equal(d.recent_activity[0]->ticket_id, r.top_ticket);
}

static void histogram_buckets_are_monotonic_and_cover_their_floor(void **state)
{
    (void)state;
    uint32_t prev = 0;
    for (int64_t m = 0; m < 50000; m++) {
        uint32_t b = hd_dashboard_bucket(m);
        assert_true(b >= prev && b < HD_DASHBOARD_BUCKETS);
        assert_true(hd_dashboard_bucket_floor(b) <= m);
        assert_int_equal(hd_dashboard_bucket(hd_dashboard_bucket_floor(b)), b);
        prev = b;
    }
    assert_int_equal(hd_dashboard_bucket(-5), 0);
}

static void an_empty_store_reports_zeros_and_no_medians(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    Helpdesk__V1__Dashboard d;
    wf_ok(hd_dashboard_get(f->s, f->a, hd_clock_now_ms(), &d, &err), err);
    assert_int_equal(d.open, 0);
    assert_int_equal(d.today->first_response_minutes, -1);
    assert_int_equal(d.last_7_days->resolution_minutes, -1);
    assert_int_equal(d.n_recent_activity, 0);
    assert_int_equal(d.n_agent_load, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(dashboard_equals_a_recount_after_random_operations,
                                        wf_setup, wf_teardown),
        cmocka_unit_test(histogram_buckets_are_monotonic_and_cover_their_floor),
        cmocka_unit_test_setup_teardown(an_empty_store_reports_zeros_and_no_medians, wf_setup,
                                        wf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
