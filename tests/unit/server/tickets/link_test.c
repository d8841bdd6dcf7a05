/* Links as a specification: a link shows on both tickets (related both ways; follow-up
 * of / followed up by), leaves an event on both timelines, is idempotent to add and to
 * remove; a closed ticket can still be followed up but takes no other link; a ticket cannot
 * link to itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/tickets/link.h"
#include "tests/unit/server/tickets/work_fixture.h"

#define LK(x) HELPDESK__V1__LINK_KIND__LINK_KIND_##x

static int link(wf *f, uint64_t a, uint64_t b, Helpdesk__V1__LinkKind kind, bool remove,
                hd_tickets_link_args *x, hd_err *err)
{
    memset(x, 0, sizeof(*x));
    x->w = wf_work(f);
    x->ticket_id = a;
    x->other_id = b;
    x->kind = kind;
    x->remove = remove;
    return wf_run(f, hd_tickets_link_apply, x, err);
}

static void a_related_link_shows_on_both_tickets(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_link_args x;
    hd_tickets_thread th;
    uint64_t a = wf_ticket(f, WF_PR(NORMAL), ""), b = wf_ticket(f, WF_PR(NORMAL), "");
    wf_ok(link(f, a, b, LK(RELATED), false, &x, &err), err);
    wf_get(f, a, &th);
    assert_int_equal(th.ticket->n_links, 1);
    assert_int_equal(th.ticket->links[0]->ticket_id, b);
    assert_int_equal(th.ticket->links[0]->kind, LK(RELATED));
    assert_int_equal(th.events[th.n_events - 1]->kind, WF_EV(LINKED));
    assert_int_equal(th.events[th.n_events - 1]->related_ticket_id, b);
    wf_get(f, b, &th);
    assert_int_equal(th.ticket->n_links, 1);
    assert_int_equal(th.ticket->links[0]->ticket_id, a);
    assert_int_equal(th.events[th.n_events - 1]->kind, WF_EV(LINKED));
    size_t events = th.n_events;

    wf_ok(link(f, b, a, LK(RELATED), false, &x, &err), err); /* same link, other side */
    wf_get(f, b, &th);
    assert_int_equal(th.ticket->n_links, 1);
    assert_int_equal(th.n_events, events);

    wf_ok(link(f, a, b, LK(RELATED), true, &x, &err), err);
    assert_int_equal(x.ticket->n_links, 0);
    assert_int_equal(x.other->n_links, 0);
    wf_ok(link(f, a, b, LK(RELATED), true, &x, &err), err); /* removing again: no-op */
    assert_int_equal(x.w.committed.n, 0);
}

static void a_follow_up_links_both_directions_even_to_a_closed_ticket(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_link_args x;
    uint64_t old = wf_ticket(f, WF_PR(NORMAL), ""), neu = wf_ticket(f, WF_PR(NORMAL), "");
    wf_ok(wf_status(f, old, WF_ST(CLOSED), &err), err);
    wf_ok(link(f, neu, old, LK(FOLLOW_UP_OF), false, &x, &err), err);
    assert_int_equal(x.ticket->links[0]->kind, LK(FOLLOW_UP_OF));
    assert_int_equal(x.ticket->follow_up_of, old);
    assert_int_equal(x.other->links[0]->kind, LK(FOLLOWED_UP_BY));
    assert_int_equal(x.other->links[0]->ticket_id, neu);
    assert_int_equal(x.other->status, WF_ST(CLOSED));
    assert_int_equal(x.w.committed.n, 2);
    assert_int_equal(x.w.committed.events[1]->kind, WF_EV(FOLLOW_UP));

    uint64_t third = wf_ticket(f, WF_PR(NORMAL), "");
    wf_err(link(f, third, old, LK(RELATED), false, &x, &err), HD_ESTATE, err, "CLOSED");
}

static void bad_links_are_refused(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_link_args x;
    uint64_t a = wf_ticket(f, WF_PR(NORMAL), ""), b = wf_ticket(f, WF_PR(NORMAL), "");
    wf_err(link(f, a, a, LK(RELATED), false, &x, &err), HD_EINVAL, err, "itself");
    wf_err(link(f, a, b, LK(MERGED_INTO), false, &x, &err), HD_EINVAL, err, "kind");
    wf_err(link(f, a, b, LK(UNSPECIFIED), false, &x, &err), HD_EINVAL, err, "kind");
    wf_err(link(f, a, 999, LK(RELATED), false, &x, &err), HD_ENOTFOUND, err, "999");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_related_link_shows_on_both_tickets, wf_setup,
                                        wf_teardown),
        cmocka_unit_test_setup_teardown(a_follow_up_links_both_directions_even_to_a_closed_ticket,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(bad_links_are_refused, wf_setup, wf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
