/* Assignment as a specification: a manual assignment moves IDX_ASSIGNEE and the per-agent
 * open load in the same change and leaves an ASSIGNED event; bad targets are refused naming
 * the field; AutoAssign picks the active group member with the least open load, breaks ties
 * by the longest time since the last assignment, never exceeds capacity and never picks a
 * deactivated member. A ticket created under a group with auto_assign is assigned in the
 * create's own mutation; without the flag it only joins the group's queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/clock/clock.h"
#include "server/rollup/rollup.h"
#include "server/staff/staff.h"
#include "server/store/store.h"
#include "server/tickets/assign.h"
#include "server/tickets/dashboard.h"
#include "server/tickets/tickets.h"
#include "tests/unit/server/tickets/fixture.h"
#include "tests/unit/server/tickets/work_fixture.h"

#define AGENT   HELPDESK__V1__ROLE__ROLE_AGENT
#define MANAGER HELPDESK__V1__ROLE__ROLE_MANAGER

static const uint64_t G1[] = {1};

static uint64_t load_of(wf *f, uint64_t staff)
{
    return wf_rollup(f, HD_DASHBOARD_OPEN_AGENT, HD_ROLLUP_NOW, (uint32_t)staff);
}

static bool assignee_indexed(wf *f, uint64_t assignee, uint64_t ticket)
{
    hd_txn *txn;
    hd_err err = {0};
    hd_key k;
    const void *v;
    size_t n;
    hd_key_init(&k);
    hd_key_u64(&k, assignee);
    hd_key_u64(&k, ticket);
    wf_ok(hd_store_read_begin(f->s, &txn, &err), err);
    int rc = hd_store_get(txn, HD_STORE_IDX_ASSIGNEE, &k, &v, &n, &err);
    hd_store_read_end(txn);
    return rc == 0;
}

static void manual_assignment_moves_index_and_load_and_records_history(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    Helpdesk__V1__Ticket *t;
    hd_tickets_thread th;
    wf_staff(f, 7, AGENT, true, 0, G1, 1, 0);
    uint64_t id = wf_ticket(f, WF_PR(NORMAL), "");
    assert_int_equal(wf_rollup(f, HD_DASHBOARD_OPEN_UNASSIGNED, HD_ROLLUP_NOW, 0), 1);

    hd_clock_advance_ms(60000);
    wf_ok(wf_assign(f, id, 7, 1, false, &t, &err), err);
    assert_int_equal(t->assignee_id, 7);
    assert_int_equal(t->group_id, 1);
    assert_true(assignee_indexed(f, 7, id));
    assert_false(assignee_indexed(f, 0, id));
    assert_int_equal(load_of(f, 7), 1);
    assert_int_equal(wf_rollup(f, HD_DASHBOARD_OPEN_UNASSIGNED, HD_ROLLUP_NOW, 0), 0);
    Helpdesk__V1__Staff *s = wf_staff_get(f, 7);
    assert_non_null(s->last_assigned_time);
    assert_int_equal(s->last_assigned_time->seconds, (WF_T0 + 60000) / 1000);

    wf_ok(wf_assign(f, id, 0, 0, false, &t, &err), err);
    assert_int_equal(t->assignee_id, 0);
    assert_true(assignee_indexed(f, 0, id));
    assert_int_equal(load_of(f, 7), 0);
    assert_int_equal(wf_rollup(f, HD_DASHBOARD_OPEN_UNASSIGNED, HD_ROLLUP_NOW, 0), 1);

    wf_get(f, id, &th);
    assert_int_equal(th.n_events, 3); /* created, assigned, unassigned */
    const Helpdesk__V1__TicketEvent *ev = th.events[1];
    assert_int_equal(ev->kind, WF_EV(ASSIGNED));
    bool saw = false;
    for (size_t i = 0; i < ev->n_changes; i++)
        if (strcmp(ev->changes[i]->field, "assignee_id") == 0) {
            assert_string_equal(ev->changes[i]->before, "");
            assert_string_equal(ev->changes[i]->after, "7");
            saw = true;
        }
    assert_true(saw);
}

static void assigning_the_same_again_writes_no_event(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_thread th;
    wf_staff(f, 7, AGENT, true, 0, G1, 1, 0);
    uint64_t id = wf_ticket(f, WF_PR(NORMAL), "");
    wf_ok(wf_assign(f, id, 7, 1, false, NULL, &err), err);
    wf_ok(wf_assign(f, id, 7, 1, false, NULL, &err), err);
    wf_get(f, id, &th);
    assert_int_equal(th.n_events, 2);
    assert_int_equal(load_of(f, 7), 1);
}

static void assignment_refuses_unknown_deactivated_and_non_member_staff(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    static const uint64_t g2[] = {2};
    wf_staff(f, 7, AGENT, false, 0, G1, 1, 0);
    wf_staff(f, 8, AGENT, true, 0, g2, 1, 0);
    uint64_t id = wf_ticket(f, WF_PR(NORMAL), "");
    wf_err(wf_assign(f, id, 99, 0, false, NULL, &err), HD_ENOTFOUND, err, "assignee_id");
    wf_err(wf_assign(f, id, 7, 1, false, NULL, &err), HD_EINVAL, err, "deactivated");
    wf_err(wf_assign(f, id, 8, 1, false, NULL, &err), HD_EINVAL, err, "not in group 1");
    wf_err(wf_assign(f, id, 0, 5, false, NULL, &err), HD_ENOTFOUND, err, "group_id");
    wf_err(wf_assign(f, 999, 8, 0, false, NULL, &err), HD_ENOTFOUND, err, "ticket 999");
    wf_ok(wf_status(f, id, WF_ST(CLOSED), &err), err);
    wf_err(wf_assign(f, id, 8, 2, false, NULL, &err), HD_ESTATE, err, "CLOSED");
}

static uint64_t auto_pick(wf *f, uint64_t ticket)
{
    hd_err err = {0};
    Helpdesk__V1__Ticket *t;
    wf_ok(wf_assign(f, ticket, 0, 1, true, &t, &err), err);
    return t->assignee_id;
}

static void autoassign_picks_the_least_open_load(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    /* 7 was idle longest but has two open tickets; 8 has one, 9 has none but is newest. */
    wf_staff(f, 7, AGENT, true, 0, G1, 1, 0);
    wf_staff(f, 8, AGENT, true, 0, G1, 1, 0);
    wf_staff(f, 9, AGENT, true, 0, G1, 1, 0);
    wf_ok(wf_assign(f, wf_ticket(f, WF_PR(NORMAL), ""), 7, 1, false, NULL, &err), err);
    wf_ok(wf_assign(f, wf_ticket(f, WF_PR(NORMAL), ""), 7, 1, false, NULL, &err), err);
    wf_ok(wf_assign(f, wf_ticket(f, WF_PR(NORMAL), ""), 8, 1, false, NULL, &err), err);
    hd_clock_advance_ms(1000);
    assert_int_equal(auto_pick(f, wf_ticket(f, WF_PR(NORMAL), "")), 9);
    /* Now 8 and 9 have one each; 8 was assigned earlier, so 8 is idle longer. */
    hd_clock_advance_ms(1000);
    assert_int_equal(auto_pick(f, wf_ticket(f, WF_PR(NORMAL), "")), 8);
    /* Solving one of 7's tickets does not make 7 least loaded (2 -> 1 vs 9's 1, 8's 2)... */
    wf_ok(wf_status(f, 1, WF_ST(SOLVED), &err), err);
    assert_int_equal(load_of(f, 7), 1);
    hd_clock_advance_ms(1000);
    /* ...but 7 ties with 9 and was last assigned before 9. */
    assert_int_equal(auto_pick(f, wf_ticket(f, WF_PR(NORMAL), "")), 7);
}

static void autoassign_ties_go_to_the_longest_idle_then_the_lowest_id(void **state)
{
    wf *f = *state;
    wf_staff(f, 7, AGENT, true, 0, G1, 1, WF_T0 - 1000);
    wf_staff(f, 8, AGENT, true, 0, G1, 1, WF_T0 - 5000);
    wf_staff(f, 9, AGENT, true, 0, G1, 1, WF_T0 - 3000);
    assert_int_equal(auto_pick(f, wf_ticket(f, WF_PR(NORMAL), "")), 8);
    wf_staff(f, 10, AGENT, true, 0, G1, 1, 0); /* never assigned: idle longest of all */
    wf_staff(f, 11, AGENT, true, 0, G1, 1, 0);
    wf_ok(wf_status(f, 1, WF_ST(SOLVED), &(hd_err){0}), ((hd_err){0}));
    assert_int_equal(auto_pick(f, wf_ticket(f, WF_PR(NORMAL), "")), 10);
}

static void autoassign_round_robin_spreads_tickets_evenly(void **state)
{
    wf *f = *state;
    uint64_t got[9];
    wf_staff(f, 7, AGENT, true, 0, G1, 1, 0);
    wf_staff(f, 8, AGENT, true, 0, G1, 1, 0);
    wf_staff(f, 9, AGENT, true, 0, G1, 1, 0);
    for (int i = 0; i < 9; i++) {
        hd_clock_advance_ms(1000);
        got[i] = auto_pick(f, wf_ticket(f, WF_PR(NORMAL), ""));
    }
    for (int i = 0; i < 9; i++)
        assert_int_equal(got[i], 7 + (uint64_t)(i % 3));
    for (uint64_t s = 7; s <= 9; s++)
        assert_int_equal(load_of(f, s), 3);
}

static void autoassign_respects_capacity(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    wf_staff(f, 7, AGENT, true, 1, G1, 1, 0);
    wf_staff(f, 8, AGENT, true, 2, G1, 1, WF_T0 - 1);
    uint64_t got[3];
    for (int i = 0; i < 3; i++) {
        hd_clock_advance_ms(1000);
        got[i] = auto_pick(f, wf_ticket(f, WF_PR(NORMAL), ""));
    }
    assert_int_equal(got[0], 7);
    assert_int_equal(got[1], 8);
    assert_int_equal(got[2], 8); /* 7 is full at 1 */
    wf_err(wf_assign(f, wf_ticket(f, WF_PR(NORMAL), ""), 0, 1, true, NULL, &err), HD_ESTATE, err,
           "no active member with capacity");
}

static void autoassign_skips_deactivated_members(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    wf_staff(f, 7, AGENT, false, 0, G1, 1, 0);
    wf_staff(f, 8, AGENT, true, 0, G1, 1, WF_T0);
    assert_int_equal(auto_pick(f, wf_ticket(f, WF_PR(NORMAL), "")), 8);
    assert_int_equal(auto_pick(f, wf_ticket(f, WF_PR(NORMAL), "")), 8);
    wf_staff(f, 8, AGENT, false, 0, G1, 1, WF_T0);
    wf_err(wf_assign(f, wf_ticket(f, WF_PR(NORMAL), ""), 0, 1, true, NULL, &err), HD_ESTATE, err,
           "group 1");
}

static void autoassign_needs_a_group(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    wf_err(wf_assign(f, wf_ticket(f, WF_PR(NORMAL), ""), 0, 0, true, NULL, &err), HD_EINVAL, err,
           "group_id");
}

typedef struct group_flag {
    uint64_t id;
    hd_arena *a;
} group_flag;

static int auto_assign_on(hd_txn *txn, void *arg, hd_err *err)
{
    group_flag *x = arg;
    Helpdesk__V1__Group *g;
    hd_key k;
    int rc = hd_staff_group_get(txn, x->a, x->id, &g, err);
    if (rc < 0)
        return rc;
    g->auto_assign = true;
    return hd_store_put_msg(txn, HD_STORE_GROUPS, hd_staff_key_group(&k, x->id), &g->base, 0, err);
}

/* Creates a ticket filed under group through hd_tickets_create_grouped_apply; returns the
 * code, *args holds the result. */
static int create_in(wf *f, uint64_t group, const char *request_id, hd_tickets_create_args *args,
                     hd_err *err)
{
    Helpdesk__V1__CreateTicketRequest req;
    tf_request(&req, NULL, NULL, NULL);
    req.group_id = group;
    req.request_id = WF_CS(request_id);
    int rc = hd_tickets_create_prepare(args, f->a, &req, NULL, NULL, err);
    return rc < 0 ? rc : hd_store_write(f->s, hd_tickets_create_grouped_apply, args, err);
}

static void create_in_an_auto_assign_group_assigns_in_the_same_change(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_create_args args;
    hd_tickets_thread th;
    group_flag flag = {1, f->a};
    wf_staff(f, 7, AGENT, true, 0, G1, 1, 0);
    wf_staff(f, 8, AGENT, true, 0, G1, 1, 0);
    wf_ok(hd_store_write(f->s, auto_assign_on, &flag, &err), err);

    wf_ok(create_in(f, 1, "r1", &args, &err), err);
    assert_int_equal(args.ticket->group_id, 1);
    assert_int_equal(args.ticket->assignee_id, 7); /* both idle, lowest id */
    assert_int_equal(args.committed.n, 2);         /* CREATED, then ASSIGNED */
    assert_int_equal(args.committed.events[1]->kind, WF_EV(ASSIGNED));
    assert_true(assignee_indexed(f, 7, args.ticket->id));
    assert_int_equal(load_of(f, 7), 1);
    wf_get(f, args.ticket->id, &th);
    assert_int_equal(th.ticket->assignee_id, 7);
    assert_int_equal(th.n_events, 2);
    hd_clock_advance_ms(1000);
    wf_ok(create_in(f, 1, "r2", &args, &err), err);
    assert_int_equal(args.ticket->assignee_id, 8); /* least open load */
    uint64_t second = args.ticket->id;
    /* A retry of the same request returns the first answer, assigned once. */
    wf_ok(create_in(f, 1, "r2", &args, &err), err);
    assert_true(args.replayed);
    assert_int_equal(args.ticket->id, second);
    assert_int_equal(args.ticket->assignee_id, 8);
    assert_int_equal(load_of(f, 8), 1);
}

static void create_in_a_plain_group_only_queues_and_unknown_groups_are_refused(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_create_args args;
    wf_staff(f, 7, AGENT, true, 0, G1, 1, 0); /* group 1 exists, auto_assign off */
    wf_ok(create_in(f, 1, "", &args, &err), err);
    assert_int_equal(args.ticket->group_id, 1);
    assert_int_equal(args.ticket->assignee_id, 0);
    assert_true(assignee_indexed(f, 0, args.ticket->id));
    wf_err(create_in(f, 42, "", &args, &err), HD_ENOTFOUND, err, "group_id: no group 42");
    /* Nothing of the refused create stays: the next ticket takes the next id. */
    wf_ok(create_in(f, 0, "", &args, &err), err);
    assert_int_equal(args.ticket->id, 2);
    assert_int_equal(args.ticket->group_id, 0);
}

static void create_in_an_auto_assign_group_with_nobody_free_leaves_it_queued(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_create_args args;
    group_flag flag = {1, f->a};
    wf_staff(f, 7, AGENT, false, 0, G1, 1, 0); /* deactivated */
    wf_ok(hd_store_write(f->s, auto_assign_on, &flag, &err), err);
    wf_ok(create_in(f, 1, "", &args, &err), err);
    assert_int_equal(args.ticket->group_id, 1);
    assert_int_equal(args.ticket->assignee_id, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(manual_assignment_moves_index_and_load_and_records_history,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(assigning_the_same_again_writes_no_event, wf_setup,
                                        wf_teardown),
        cmocka_unit_test_setup_teardown(assignment_refuses_unknown_deactivated_and_non_member_staff,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(autoassign_picks_the_least_open_load, wf_setup,
                                        wf_teardown),
        cmocka_unit_test_setup_teardown(autoassign_ties_go_to_the_longest_idle_then_the_lowest_id,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(autoassign_round_robin_spreads_tickets_evenly, wf_setup,
                                        wf_teardown),
        cmocka_unit_test_setup_teardown(autoassign_respects_capacity, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(autoassign_skips_deactivated_members, wf_setup,
                                        wf_teardown),
        cmocka_unit_test_setup_teardown(autoassign_needs_a_group, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(create_in_an_auto_assign_group_assigns_in_the_same_change,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(
            create_in_a_plain_group_only_queues_and_unknown_groups_are_refused, wf_setup,
            wf_teardown),
        cmocka_unit_test_setup_teardown(
            create_in_an_auto_assign_group_with_nobody_free_leaves_it_queued, wf_setup,
            wf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
