/* The report facts on a real store: what one ticket counts, recounted exactly when it
 * changes (priority, category, solve, rating), nothing counted twice when a change repeats,
 * all taken out when the ticket goes; the start-up backfill of tickets without facts; and
 * how SLA clocks become report targets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/reports/facts.h"
#include "server/rollup/rollup.h"
#include "server/store/key.h"
#include "server/tickets/tickets.h"

#define DAY0          20415LL /* 2025-11-24, a Monday */
#define AT(d, h, m)   ((DAY0 + (d)) * 86400 + (h)*3600 + (m)*60)
#define HOUR(h, code) ((uint32_t)(h) << 16 | (code))

typedef struct fixture {
    char dir[64];
    hd_store *store;
} fixture;

typedef struct change {
    const Helpdesk__V1__Ticket *before, *after;
} change;

static int apply(hd_txn *txn, void *arg, hd_err *err)
{
    change *ch = arg;
    hd_ticket_change c = {.txn = txn, .before = ch->before, .after = ch->after, .now_ms = 1};
    return hd_reports_facts_observe(NULL, &c, err);
}

static void observe(fixture *f, const Helpdesk__V1__Ticket *before,
                    const Helpdesk__V1__Ticket *after)
{
    change ch = {before, after};
    hd_err err;
    assert_int_equal(hd_store_write(f->store, apply, &ch, &err), 0);
}

static uint64_t get(fixture *f, const char *metric, int64_t day, uint32_t dim)
{
    hd_txn *txn;
    hd_err err;
    uint64_t v;
    assert_int_equal(hd_store_read_begin(f->store, &txn, &err), 0);
    assert_int_equal(hd_rollup_get(txn, metric, (uint32_t)day, dim, &v, &err), 0);
    hd_store_read_end(txn);
    return v;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/hd-rf-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    hd_store_opts o = {.path = f->dir, .unsafe_nosync = 1};
    hd_err err;
    assert_int_equal(hd_store_open(&f->store, &o, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hd_store_close(f->store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

typedef struct ticket {
    Helpdesk__V1__Ticket t;
    Google__Protobuf__Timestamp created, first, solved;
    Helpdesk__V1__Rating rating;
} ticket;

static void ticket_init(ticket *k, int priority, const char *category)
{
    helpdesk__v1__ticket__init(&k->t);
    google__protobuf__timestamp__init(&k->created);
    k->created.seconds = AT(0, 9, 30);
    k->t.id = 7;
    k->t.create_time = &k->created;
    k->t.priority = (Helpdesk__V1__Priority)priority;
    k->t.category = (char *)category;
}

/* Answered at day 0 10:00 (30 min), solved at day 1 10:00 (1470 min), rated 5. */
static void ticket_solve(ticket *k)
{
    google__protobuf__timestamp__init(&k->first);
    google__protobuf__timestamp__init(&k->solved);
    helpdesk__v1__rating__init(&k->rating);
    k->first.seconds = AT(0, 10, 0);
    k->solved.seconds = AT(1, 10, 0);
    k->rating.score = 5;
    k->t.first_response_time = &k->first;
    k->t.solve_time = &k->solved;
    k->t.rating = &k->rating;
}

static void a_change_moves_the_ticket_between_counters_exactly(void **state)
{
    fixture *f = *state;
    ticket a, b;
    ticket_init(&a, 3, "billing");
    observe(f, NULL, &a.t);
    assert_int_equal(get(f, HD_REPORTS_FLOW, DAY0, HOUR(9, HD_REPORTS_CODE_CREATED)), 1);
    assert_int_equal(get(f, "rt.created|p3|cbilling", DAY0, HOUR(9, 0)), 1);
    assert_int_equal(get(f, HD_REPORTS_UNSOLVED, HD_ROLLUP_NOW, 0), 1);

    /* Escalated, recategorised, answered, solved and rated in one change. */
    ticket_init(&b, 1, "tech");
    ticket_solve(&b);
    b.t.assignee_id = 4;
    observe(f, &a.t, &b.t);
    assert_int_equal(get(f, "rt.created|p3|cbilling", DAY0, HOUR(9, 0)), 0);
    assert_int_equal(get(f, "rt.created|p1|ctech", DAY0, HOUR(9, 0)), 1);
    assert_int_equal(get(f, HD_REPORTS_FLOW, DAY0, HOUR(9, HD_REPORTS_CODE_CREATED)), 1);
    assert_int_equal(get(f, HD_REPORTS_UNSOLVED, HD_ROLLUP_NOW, 0), 0);
    assert_int_equal(get(f, HD_REPORTS_FLOW, DAY0 + 1, HOUR(10, HD_REPORTS_CODE_SOLVED)), 1);
    assert_int_equal(get(f, HD_REPORTS_FLOW, DAY0 + 1, HOUR(10, HD_REPORTS_CODE_CSAT + 5)), 1);
    assert_int_equal(get(f, "rt.agent|a4", DAY0 + 1, HOUR(10, HD_REPORTS_CODE_SOLVED)), 1);
    assert_int_equal(get(f, HD_REPORTS_FRT, DAY0, HOUR(10, hd_reports_bucket(30))), 1);
    assert_int_equal(get(f, "rt.agent.frt|a4", DAY0, HOUR(10, hd_reports_bucket(30))), 1);
    assert_int_equal(get(f, "rt.agent|a4", DAY0, HOUR(10, HD_REPORTS_CODE_FIRST)), 1);
    assert_int_equal(get(f, HD_REPORTS_RES, DAY0 + 1, HOUR(10, hd_reports_bucket(1470))), 1);

    /* The same change again (a replayed mutation) counts nothing twice. */
    observe(f, &b.t, &b.t);
    assert_int_equal(get(f, "rt.created|p1|ctech", DAY0, HOUR(9, 0)), 1);
    assert_int_equal(get(f, HD_REPORTS_FLOW, DAY0 + 1, HOUR(10, HD_REPORTS_CODE_SOLVED)), 1);

    /* Reopened (solve time cleared, rating kept but no solve day to count it on). */
    ticket c = b;
    c.t.solve_time = NULL;
    observe(f, &b.t, &c.t);
    assert_int_equal(get(f, HD_REPORTS_FLOW, DAY0 + 1, HOUR(10, HD_REPORTS_CODE_SOLVED)), 0);
    assert_int_equal(get(f, HD_REPORTS_FLOW, DAY0 + 1, HOUR(10, HD_REPORTS_CODE_CSAT + 5)), 0);
    assert_int_equal(get(f, HD_REPORTS_UNSOLVED, HD_ROLLUP_NOW, 0), 1);

    /* Gone: every counter back to zero. */
    observe(f, &c.t, NULL);
    assert_int_equal(get(f, "rt.created|p1|ctech", DAY0, HOUR(9, 0)), 0);
    assert_int_equal(get(f, HD_REPORTS_FLOW, DAY0, HOUR(9, HD_REPORTS_CODE_CREATED)), 0);
    assert_int_equal(get(f, HD_REPORTS_UNSOLVED, HD_ROLLUP_NOW, 0), 0);
    assert_int_equal(get(f, HD_REPORTS_FRT, DAY0, HOUR(10, hd_reports_bucket(30))), 0);
}

static int put_ticket(hd_txn *txn, void *arg, hd_err *err)
{
    const Helpdesk__V1__Ticket *t = arg;
    hd_key k;
    return hd_store_put_msg(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, t->id), &t->base, 0, err);
}

static void backfill_counts_tickets_without_facts_once(void **state)
{
    fixture *f = *state;
    ticket a, b;
    ticket_init(&a, 2, "");
    ticket_solve(&a);
    hd_err err;
    assert_int_equal(hd_store_write(f->store, put_ticket, &a.t, &err), 0);
    ticket_init(&b, 4, "x");
    b.t.id = 9;
    assert_int_equal(hd_store_write(f->store, put_ticket, &b.t, &err), 0);
    observe(f, NULL, &b.t); /* counted by the observer already */
    uint64_t n = 99;
    assert_int_equal(hd_reports_facts_backfill(f->store, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(get(f, "rt.created|p2|c", DAY0, HOUR(9, 0)), 1);
    assert_int_equal(get(f, "rt.created|p4|cx", DAY0, HOUR(9, 0)), 1);
    assert_int_equal(get(f, HD_REPORTS_FLOW, DAY0, HOUR(9, HD_REPORTS_CODE_CREATED)), 2);
    assert_int_equal(hd_reports_facts_backfill(f->store, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(get(f, HD_REPORTS_FLOW, DAY0, HOUR(9, HD_REPORTS_CODE_CREATED)), 2);
}

static void sla_clocks_become_report_targets(void **state)
{
    (void)state;
    ticket a;
    ticket_init(&a, 3, "");
    hd_sla_ticket s;
    memset(&s, 0, sizeof s);
    hd_sla_clock *fr = &s.clocks[0], *nr = &s.clocks[1], *res = &s.clocks[2];
    *fr = (hd_sla_clock){.active = 1,
                         .done = 1,
                         .target_min = 60,
                         .met_s = AT(0, 11, 0),
                         .taken_s = 90 * 60};                         /* met 30 min late */
    *nr = (hd_sla_clock){.active = 1, .paused = 1, .target_min = 60}; /* paused: no due */
    *res = (hd_sla_clock){.active = 1, .running = 1, .target_min = 600, .due_s = AT(1, 9, 0)};
    hd_reports_fact out;
    hd_reports_fact_of(&out, &a.t, &s);
    assert_int_equal(out.target[0].state, HD_REPORTS_TARGET_BREACHED);
    assert_int_equal(out.target[0].late_min, 30);
    assert_int_equal(out.target[0].due_s, AT(0, 11, 0)); /* counts when met */
    assert_int_equal(out.frt_min, 90);                   /* business minutes */
    assert_int_equal(out.target[1].state, HD_REPORTS_TARGET_NONE);
    assert_int_equal(out.target[2].state, HD_REPORTS_TARGET_OPEN);
    assert_false(hd_reports_fact_breached(&out, 2, AT(1, 9, 0)));
    assert_true(hd_reports_fact_breached(&out, 2, AT(1, 9, 0) + 1));
    fr->taken_s = 60 * 60; /* in time */
    hd_reports_fact_of(&out, &a.t, &s);
    assert_int_equal(out.target[0].state, HD_REPORTS_TARGET_MET);
    assert_false(hd_reports_fact_breached(&out, 0, AT(9, 0, 0)));
}

static void buckets_are_minutes_then_five_then_hours(void **state)
{
    (void)state;
    assert_int_equal(hd_reports_bucket(-3), 0);
    assert_int_equal(hd_reports_bucket(119), 119);
    assert_int_equal(hd_reports_bucket(120), 120);
    assert_int_equal(hd_reports_bucket(124), 120);
    assert_int_equal(hd_reports_bucket(125), 121);
    assert_int_equal(hd_reports_bucket(1440), 384);
    assert_int_equal(hd_reports_bucket(43199), 1079);
    assert_int_equal(hd_reports_bucket(1000000), HD_REPORTS_BUCKETS - 1);
    for (uint32_t b = 0; b < HD_REPORTS_BUCKETS; b++)
        assert_int_equal(hd_reports_bucket(hd_reports_bucket_floor(b)), b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_change_moves_the_ticket_between_counters_exactly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(backfill_counts_tickets_without_facts_once, setup,
                                        teardown),
        cmocka_unit_test(sla_clocks_become_report_targets),
        cmocka_unit_test(buckets_are_minutes_then_five_then_hours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
