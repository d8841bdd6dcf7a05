/* The SLA clock state machine driven by synthetic ticket events on a settable timeline:
 * pauses exclude pending time, next response restarts on each customer message, breaches
 * fire once at the right second, reopening resumes resolution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helpdesk/v1/common.pb-c.h"
#include "helpdesk/v1/sla.pb-c.h"
#include "server/sla/clock.h"

enum {
    NEW = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_NEW,
    OPEN = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_OPEN,
    PENDING = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING,
    SOLVED = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED,
    CLOSED = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED,
};

/* Monday 2026-01-05 00:00 UTC. */
#define MON 1767571200LL
#define H   3600LL
#define M   60LL

typedef struct fixture {
    hd_sla_calendar *cal;
    hd_sla_rules rules;
    hd_sla_ticket t;
    hd_sla_fired fired[HD_SLA_FIRED_MAX];
    int n_fired;
} fixture;

static int setup(void **state)
{
    static fixture f;
    static const hd_sla_interval office[] = {
        {1, 540, 1020}, {2, 540, 1020}, {3, 540, 1020}, {4, 540, 1020}, {5, 540, 1020}};
    hd_sla_calendar_def def = {"UTC", 5, office, 0, NULL};
    hd_err err;
    memset(&f, 0, sizeof(f));
    assert_int_equal(hd_sla_calendar_compile(&f.cal, &def, &err), 0);
    f.rules = (hd_sla_rules){7, f.cal, {60, 120, 16 * 60}, 80, 1u << PENDING};
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hd_sla_calendar_free(f->cal);
    return 0;
}

static void ev(fixture *f, int64_t now, int created, int staff, int cust, int before, int after)
{
    hd_sla_event e = {now, created, staff, cust, before, after};
    hd_err err;
    assert_int_equal(hd_sla_clock_apply(&f->t, &f->rules, &e, f->fired, &f->n_fired, &err), 0);
}

static hd_sla_clock *clk(fixture *f, int target)
{
    return &f->t.clocks[target - 1];
}

static void first_response_met_within_target_records_working_minutes_taken(void **state)
{
    fixture *f = *state;
    ev(f, MON + 8 * H, 1, 0, 0, 0, NEW); /* before hours: counts from 09:00 */
    assert_int_equal(clk(f, HD_SLA_FIRST_RESPONSE)->due_s, MON + 10 * H);
    assert_int_equal(clk(f, HD_SLA_FIRST_RESPONSE)->warn_s, MON + 9 * H + 48 * M);
    ev(f, MON + 9 * H + 40 * M, 0, 1, 0, NEW, OPEN);
    hd_sla_clock *c = clk(f, HD_SLA_FIRST_RESPONSE);
    assert_int_equal(hd_sla_clock_state(c), HELPDESK__V1__SLA_STATE__SLA_STATE_MET);
    assert_int_equal(c->taken_s, 40 * M);
    assert_int_equal(hd_sla_clock_next_fire(c), 0);
    assert_int_equal(f->n_fired, 0);
}

static void pending_minutes_are_excluded_from_resolution(void **state)
{
    fixture *f = *state;
    ev(f, MON + 9 * H, 1, 0, 0, 0, NEW);
    ev(f, MON + 10 * H, 0, 1, 0, NEW, PENDING); /* reply asks the customer: pause */
    hd_sla_clock *rs = clk(f, HD_SLA_RESOLUTION);
    assert_int_equal(hd_sla_clock_state(rs), HELPDESK__V1__SLA_STATE__SLA_STATE_PAUSED);
    assert_int_equal(rs->elapsed_s, 1 * H);
    assert_int_equal(hd_sla_clock_next_fire(rs), 0);
    /* Customer answers Tuesday 11:00: 25 hours in pending are not counted. */
    ev(f, MON + 24 * H + 11 * H, 0, 0, 1, PENDING, OPEN);
    assert_int_equal(hd_sla_clock_state(rs), HELPDESK__V1__SLA_STATE__SLA_STATE_RUNNING);
    ev(f, MON + 24 * H + 13 * H, 0, 1, 0, OPEN, SOLVED);
    assert_int_equal(rs->taken_s, 3 * H);
    assert_int_equal(hd_sla_clock_state(rs), HELPDESK__V1__SLA_STATE__SLA_STATE_MET);
}

static void next_response_restarts_on_each_customer_message_after_a_reply(void **state)
{
    fixture *f = *state;
    ev(f, MON + 9 * H, 1, 0, 0, 0, NEW);
    assert_int_equal(clk(f, HD_SLA_NEXT_RESPONSE)->active, 0);
    ev(f, MON + 9 * H + 10 * M, 0, 1, 0, NEW, OPEN);
    ev(f, MON + 10 * H, 0, 0, 1, OPEN, OPEN);
    hd_sla_clock *nr = clk(f, HD_SLA_NEXT_RESPONSE);
    assert_int_equal(nr->run, 1);
    assert_int_equal(nr->due_s, MON + 12 * H);
    /* A second customer message before any answer does not move the due time. */
    ev(f, MON + 11 * H, 0, 0, 1, OPEN, OPEN);
    assert_int_equal(nr->due_s, MON + 12 * H);
    ev(f, MON + 11 * H + 30 * M, 0, 1, 0, OPEN, OPEN);
    assert_int_equal(nr->taken_s, 90 * M);
    ev(f, MON + 14 * H, 0, 0, 1, OPEN, OPEN);
    assert_int_equal(nr->run, 2);
    assert_int_equal(nr->due_s, MON + 16 * H);
    assert_int_equal(nr->warned, 0);
}

static void breach_fires_once_at_the_second_after_due(void **state)
{
    fixture *f = *state;
    ev(f, MON + 9 * H, 1, 0, 0, 0, NEW);
    hd_sla_clock *fr = clk(f, HD_SLA_FIRST_RESPONSE);
    assert_int_equal(hd_sla_clock_next_fire(fr), MON + 9 * H + 48 * M);
    hd_sla_clock_tick(&f->t, MON + 9 * H + 47 * M, f->fired, &(int){0});
    int n = 0;
    hd_sla_clock_tick(&f->t, MON + 9 * H + 48 * M, f->fired, &n);
    assert_int_equal(n, 1);
    assert_int_equal(f->fired[0].breach, 0);
    assert_int_equal(hd_sla_clock_next_fire(fr), MON + 10 * H + 1);
    n = 0;
    hd_sla_clock_tick(&f->t, MON + 10 * H, f->fired, &n);
    assert_int_equal(n, 0); /* exactly at due is still in time */
    hd_sla_clock_tick(&f->t, MON + 10 * H + 1, f->fired, &n);
    assert_int_equal(n, 1);
    assert_int_equal(f->fired[0].breach, 1);
    assert_int_equal(f->fired[0].at_s, MON + 10 * H);
    n = 0;
    hd_sla_clock_tick(&f->t, MON + 12 * H, f->fired, &n);
    assert_int_equal(n, 0);
    /* Met late: stays breached, taken shows the overrun. */
    ev(f, MON + 11 * H, 0, 1, 0, NEW, OPEN);
    assert_int_equal(hd_sla_clock_state(fr), HELPDESK__V1__SLA_STATE__SLA_STATE_BREACHED);
    assert_int_equal(fr->taken_s, 2 * H);
}

static void reply_after_due_without_monitor_is_a_breach(void **state)
{
    fixture *f = *state;
    ev(f, MON + 9 * H, 1, 0, 0, 0, NEW);
    ev(f, MON + 16 * H, 0, 1, 0, NEW, OPEN);
    assert_int_equal(f->n_fired, 2); /* the catch-up reports the warning and the breach */
    assert_int_equal(hd_sla_clock_state(clk(f, HD_SLA_FIRST_RESPONSE)),
                     HELPDESK__V1__SLA_STATE__SLA_STATE_BREACHED);
}

static void zero_minute_target_is_due_at_the_next_opening(void **state)
{
    fixture *f = *state;
    f->rules.target_min[0] = 0;
    ev(f, MON + 5 * 24 * H + 12 * H, 1, 0, 0, 0, NEW); /* Saturday noon */
    assert_int_equal(clk(f, HD_SLA_FIRST_RESPONSE)->due_s, MON + 7 * 24 * H + 9 * H);
}

static void reopening_resumes_resolution_with_time_already_counted(void **state)
{
    fixture *f = *state;
    ev(f, MON + 9 * H, 1, 0, 0, 0, NEW);
    ev(f, MON + 11 * H, 0, 1, 0, NEW, SOLVED);
    hd_sla_clock *rs = clk(f, HD_SLA_RESOLUTION);
    assert_int_equal(rs->taken_s, 2 * H);
    ev(f, MON + 24 * H + 9 * H, 0, 0, 1, SOLVED, OPEN);
    assert_int_equal(f->t.reopened, 1);
    assert_int_equal(hd_sla_clock_state(rs), HELPDESK__V1__SLA_STATE__SLA_STATE_RUNNING);
    /* 16 h target, 2 h used: due 14 working hours after Tuesday 09:00 = Wednesday 15:00. */
    assert_int_equal(rs->due_s, MON + 2 * 24 * H + 15 * H);
}

/* A customer's email reply within the mailbox's reopen grace moves a ticket CLOSED -> OPEN
 * with a customer message (server/tickets/reply.c): the clocks treat it as any reopen. */
static void
customer_reply_reopening_a_closed_ticket_resumes_resolution_and_next_response(void **state)
{
    fixture *f = *state;
    ev(f, MON + 9 * H, 1, 0, 0, 0, NEW);
    ev(f, MON + 11 * H, 0, 1, 0, NEW, SOLVED);
    ev(f, MON + 12 * H, 0, 0, 0, SOLVED, CLOSED);
    hd_sla_clock *rs = clk(f, HD_SLA_RESOLUTION);
    assert_int_equal(rs->taken_s, 2 * H);
    ev(f, MON + 24 * H + 9 * H, 0, 0, 1, CLOSED, OPEN);
    assert_int_equal(f->t.reopened, 1);
    assert_int_equal(hd_sla_clock_state(rs), HELPDESK__V1__SLA_STATE__SLA_STATE_RUNNING);
    assert_int_equal(rs->due_s, MON + 2 * 24 * H + 15 * H); /* 14 working hours left */
    hd_sla_clock *nr = clk(f, HD_SLA_NEXT_RESPONSE);
    assert_int_equal(hd_sla_clock_state(nr), HELPDESK__V1__SLA_STATE__SLA_STATE_RUNNING);
    assert_int_equal(nr->due_s, MON + 24 * H + 11 * H); /* 120 min from Tuesday 09:00 */
}

static void policy_change_keeps_counted_time_and_moves_the_due(void **state)
{
    fixture *f = *state;
    ev(f, MON + 9 * H, 1, 0, 0, 0, NEW);
    f->rules.target_min[0] = 30; /* e.g. priority raised: stricter policy */
    f->rules.policy_id = 8;
    ev(f, MON + 9 * H + 10 * M, 0, 0, 0, NEW, OPEN);
    assert_int_equal(clk(f, HD_SLA_FIRST_RESPONSE)->due_s, MON + 9 * H + 30 * M);
    assert_int_equal(f->t.policy_id, 8);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(first_response_met_within_target_records_working_minutes_taken),
        T(pending_minutes_are_excluded_from_resolution),
        T(next_response_restarts_on_each_customer_message_after_a_reply),
        T(breach_fires_once_at_the_second_after_due),
        T(reply_after_due_without_monitor_is_a_breach),
        T(zero_minute_target_is_due_at_the_next_opening),
        T(reopening_resumes_resolution_with_time_already_counted),
        T(customer_reply_reopening_a_closed_ticket_resumes_resolution_and_next_response),
        T(policy_change_keeps_counted_time_and_moves_the_due),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
