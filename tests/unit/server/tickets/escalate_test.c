/* Escalation as a specification: handing a ticket to a manager records who, why and the
 * text in one ESCALATED event, raises the priority when asked (never lowers it), counts the
 * escalation and is collected for the bus (the WatchTickets notification); handing it to a
 * group puts it in the group's queue; bad requests name the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/rollup/rollup.h"
#include "server/tickets/dashboard.h"
#include "server/tickets/escalate.h"
#include "tests/unit/server/tickets/work_fixture.h"

#define AGENT     HELPDESK__V1__ROLE__ROLE_AGENT
#define MANAGER   HELPDESK__V1__ROLE__ROLE_MANAGER
#define REASON(x) HELPDESK__V1__ESCALATION_REASON__ESCALATION_REASON_##x

static const uint64_t G1[] = {1};

static int escalate(wf *f, uint64_t ticket, uint64_t manager, uint64_t group,
                    Helpdesk__V1__EscalationReason reason, const char *text,
                    Helpdesk__V1__Priority raise, hd_tickets_escalate_args *x, hd_err *err)
{
    Helpdesk__V1__EscalateTicketRequest req = HELPDESK__V1__ESCALATE_TICKET_REQUEST__INIT;
    req.ticket_id = ticket;
    req.manager_id = manager;
    req.group_id = group;
    req.reason = reason;
    req.reason_text = WF_CS(text);
    req.raise_priority = raise;
    int rc = hd_tickets_escalate_prepare(x, &req, err);
    if (rc < 0)
        return rc;
    x->w = wf_work(f);
    return wf_run(f, hd_tickets_escalate_apply, x, err);
}

static const char *change_after(const Helpdesk__V1__TicketEvent *ev, const char *field)
{
    for (size_t i = 0; i < ev->n_changes; i++)
        if (strcmp(ev->changes[i]->field, field) == 0)
            return ev->changes[i]->after;
    return NULL;
}

static void escalating_to_a_manager_records_history_and_raises_priority(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_escalate_args x;
    hd_tickets_thread th;
    wf_staff(f, 7, AGENT, true, 0, G1, 1, 0);
    wf_staff(f, 20, MANAGER, true, 0, NULL, 0, 0);
    uint64_t id = wf_ticket(f, WF_PR(NORMAL), "billing");
    wf_ok(wf_assign(f, id, 7, 1, false, NULL, &err), err);

    wf_ok(escalate(f, id, 20, 0, REASON(CUSTOMER_REQUEST), "asks for a manager", WF_PR(URGENT), &x,
                   &err),
          err);
    assert_int_equal(x.ticket->assignee_id, 20);
    assert_int_equal(x.ticket->group_id, 1); /* kept */
    assert_int_equal(x.ticket->priority, WF_PR(URGENT));
    assert_int_equal(x.ticket->escalation_count, 1);
    assert_int_equal(x.w.committed.n, 1);
    assert_int_equal(x.w.committed.events[0]->kind, WF_EV(ESCALATED));

    wf_get(f, id, &th);
    const Helpdesk__V1__TicketEvent *ev = th.events[th.n_events - 1];
    assert_int_equal(ev->kind, WF_EV(ESCALATED));
    assert_string_equal(change_after(ev, "escalated_to"), "manager 20");
    assert_string_equal(change_after(ev, "reason"), "ESCALATION_REASON_CUSTOMER_REQUEST");
    assert_string_equal(change_after(ev, "reason_text"), "asks for a manager");
    assert_string_equal(change_after(ev, "priority"), "PRIORITY_URGENT");
    assert_string_equal(change_after(ev, "assignee_id"), "20");
    /* The load moved from the agent to the manager. */
    assert_int_equal(wf_rollup(f, HD_DASHBOARD_OPEN_AGENT, HD_ROLLUP_NOW, 7), 0);
    assert_int_equal(wf_rollup(f, HD_DASHBOARD_OPEN_AGENT, HD_ROLLUP_NOW, 20), 1);
}

static void escalation_never_lowers_priority_and_counts_each_time(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_escalate_args x;
    wf_staff(f, 20, MANAGER, true, 0, NULL, 0, 0);
    uint64_t id = wf_ticket(f, WF_PR(HIGH), "");
    wf_ok(escalate(f, id, 20, 0, REASON(IMPACT), "", WF_PR(LOW), &x, &err), err);
    assert_int_equal(x.ticket->priority, WF_PR(HIGH));
    wf_ok(escalate(f, id, 20, 0, REASON(SLA_RISK), "", 0, &x, &err), err);
    assert_int_equal(x.ticket->priority, WF_PR(HIGH));
    assert_int_equal(x.ticket->escalation_count, 2);
}

static void escalating_to_a_group_puts_it_in_the_group_queue(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_escalate_args x;
    static const uint64_t g2[] = {2};
    wf_staff(f, 7, AGENT, true, 0, G1, 1, 0);
    wf_staff(f, 8, AGENT, true, 0, g2, 1, 0); /* creates group 2 */
    uint64_t id = wf_ticket(f, WF_PR(NORMAL), "");
    wf_ok(wf_assign(f, id, 7, 1, false, NULL, &err), err);
    wf_ok(escalate(f, id, 0, 2, REASON(EXPERTISE), "needs tier 2", 0, &x, &err), err);
    assert_int_equal(x.ticket->assignee_id, 0);
    assert_int_equal(x.ticket->group_id, 2);
    assert_int_equal(wf_rollup(f, HD_DASHBOARD_OPEN_UNASSIGNED, HD_ROLLUP_NOW, 0), 1);
}

static void escalation_refuses_bad_requests_naming_the_field(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_escalate_args x;
    wf_staff(f, 7, AGENT, true, 0, G1, 1, 0);
    wf_staff(f, 20, MANAGER, true, 0, NULL, 0, 0);
    uint64_t id = wf_ticket(f, WF_PR(NORMAL), "");
    wf_err(escalate(f, id, 20, 0, 0, "", 0, &x, &err), HD_EINVAL, err, "reason: required");
    wf_err(escalate(f, id, 20, 0, (Helpdesk__V1__EscalationReason)77, "", 0, &x, &err), HD_EINVAL,
           err, "reason: unknown");
    wf_err(escalate(f, id, 0, 0, REASON(OTHER), "", 0, &x, &err), HD_EINVAL, err, "manager_id");
    wf_err(escalate(f, id, 7, 0, REASON(OTHER), "", 0, &x, &err), HD_EINVAL, err, "not a manager");
    wf_err(escalate(f, id, 99, 0, REASON(OTHER), "", 0, &x, &err), HD_ENOTFOUND, err, "manager_id");
    wf_err(escalate(f, id, 0, 42, REASON(OTHER), "", 0, &x, &err), HD_ENOTFOUND, err, "group_id");
    wf_err(escalate(f, id, 20, 0, REASON(OTHER), "two\nlines", 0, &x, &err), HD_EINVAL, err,
           "reason_text");
    wf_err(escalate(f, id, 20, 0, REASON(OTHER), "", (Helpdesk__V1__Priority)9, &x, &err),
           HD_EINVAL, err, "raise_priority");
    wf_ok(wf_status(f, id, WF_ST(CLOSED), &err), err);
    wf_err(escalate(f, id, 20, 0, REASON(OTHER), "", 0, &x, &err), HD_ESTATE, err, "CLOSED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(escalating_to_a_manager_records_history_and_raises_priority,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(escalation_never_lowers_priority_and_counts_each_time,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(escalating_to_a_group_puts_it_in_the_group_queue, wf_setup,
                                        wf_teardown),
        cmocka_unit_test_setup_teardown(escalation_refuses_bad_requests_naming_the_field, wf_setup,
                                        wf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
