/* The lifecycle table, exhaustively: every status x every target status, what a customer
 * message does in every status, and which change kinds each status still takes. The
 * expectations are written out here independently of the table in lifecycle.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/tickets/lifecycle.h"

#define S(x)     HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_##x
#define K(x)     HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_##x
#define N_STATUS 7
#define N_KINDS  12

static const char *const names[N_STATUS] = {"UNSPECIFIED", "NEW",    "OPEN",  "PENDING",
                                            "SOLVED",      "CLOSED", "MERGED"};

/* The transitions the product allows, as a list: (from, to) pairs. */
static const int legal[][2] = {
    {S(NEW), S(NEW)},         {S(NEW), S(OPEN)},       {S(NEW), S(PENDING)},
    {S(NEW), S(SOLVED)},      {S(NEW), S(CLOSED)},     {S(NEW), S(MERGED)},
    {S(OPEN), S(OPEN)},       {S(OPEN), S(PENDING)},   {S(OPEN), S(SOLVED)},
    {S(OPEN), S(CLOSED)},     {S(OPEN), S(MERGED)},    {S(PENDING), S(OPEN)},
    {S(PENDING), S(PENDING)}, {S(PENDING), S(SOLVED)}, {S(PENDING), S(CLOSED)},
    {S(PENDING), S(MERGED)},  {S(SOLVED), S(OPEN)},    {S(SOLVED), S(PENDING)},
    {S(SOLVED), S(SOLVED)},   {S(SOLVED), S(CLOSED)},  {S(SOLVED), S(MERGED)},
    {S(CLOSED), S(CLOSED)},   {S(MERGED), S(MERGED)},
};

static int is_legal(int from, int to)
{
    for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
        if (legal[i][0] == from && legal[i][1] == to)
            return 1;
    return 0;
}

static void every_status_pair_is_allowed_or_refused_naming_both_states(void **state)
{
    (void)state;
    int checked = 0;
    for (int from = 1; from < N_STATUS; from++) {
        for (int to = 0; to <= N_STATUS; to++) {
            hd_err err = {0};
            int rc = hd_tickets_lifecycle_check((Helpdesk__V1__TicketStatus)from,
                                                (Helpdesk__V1__TicketStatus)to, &err);
            checked++;
            if (to == 0 || to == N_STATUS) {
                if (rc != HD_EINVAL)
                    fail_msg("%s -> %d: got %s, want HD_EINVAL", names[from], to, hd_errname(rc));
                assert_non_null(strstr(err.detail, "status:"));
                continue;
            }
            if (is_legal(from, to)) {
                if (rc != 0)
                    fail_msg("%s -> %s refused: %s", names[from], names[to], err.detail);
                continue;
            }
            if (rc != HD_ESTATE)
                fail_msg("%s -> %s: got %s, want HD_ESTATE", names[from], names[to],
                         hd_errname(rc));
            assert_non_null(strstr(err.detail, names[from]));
            assert_non_null(strstr(err.detail, names[to]));
        }
    }
    assert_int_equal(checked, 6 * 8);
}

static void nothing_moves_back_to_new_and_closed_and_merged_are_final(void **state)
{
    (void)state;
    hd_err err = {0};
    assert_int_equal(hd_tickets_lifecycle_check(S(OPEN), S(NEW), &err), HD_ESTATE);
    assert_string_equal(err.detail, "status: cannot move from OPEN to NEW");
    assert_int_equal(hd_tickets_lifecycle_check(S(CLOSED), S(OPEN), &err), HD_ESTATE);
    assert_string_equal(err.detail, "status: cannot move from CLOSED to OPEN");
    assert_int_equal(hd_tickets_lifecycle_check(S(MERGED), S(OPEN), &err), HD_ESTATE);
    assert_int_equal(hd_tickets_lifecycle_check(S(UNSPECIFIED), S(OPEN), &err), HD_ECORRUPT);
}

static void customer_message_reopens_pending_and_solved_and_is_refused_when_closed(void **state)
{
    (void)state;
    /* want[from]: status after a customer message, or 0 when refused. */
    static const int want[N_STATUS] = {
        [S(NEW)] = S(NEW),     [S(OPEN)] = S(OPEN), [S(PENDING)] = S(OPEN),
        [S(SOLVED)] = S(OPEN), [S(CLOSED)] = 0,     [S(MERGED)] = 0,
    };
    for (int from = 1; from < N_STATUS; from++) {
        Helpdesk__V1__TicketStatus to = S(UNSPECIFIED);
        hd_err err = {0};
        int rc = hd_tickets_lifecycle_customer_message((Helpdesk__V1__TicketStatus)from, &to, &err);
        if (want[from]) {
            if (rc != 0 || (int)to != want[from])
                fail_msg("%s: rc %s, to %d, want %d", names[from], hd_errname(rc), (int)to,
                         want[from]);
        } else {
            if (rc != HD_ESTATE || (int)to != from)
                fail_msg("%s: rc %s, to %d, want refusal", names[from], hd_errname(rc), (int)to);
            assert_non_null(strstr(err.detail, names[from]));
        }
    }
}

static void closed_takes_only_follow_up_and_rating_merged_takes_nothing(void **state)
{
    (void)state;
    for (int s = 1; s < N_STATUS; s++) {
        for (int k = 1; k < N_KINDS; k++) {
            hd_err err = {0};
            int rc = hd_tickets_lifecycle_writable((Helpdesk__V1__TicketStatus)s,
                                                   (Helpdesk__V1__TicketEventKind)k, &err);
            int want_ok = s < S(CLOSED) || (s == S(CLOSED) && (k == K(FOLLOW_UP) || k == K(RATED)));
            if (want_ok != (rc == 0))
                fail_msg("%s x kind %d: got %s (%s)", names[s], k, hd_errname(rc), err.detail);
            if (rc)
                assert_int_equal(rc, HD_ESTATE);
        }
    }
}

static void closed_ticket_reopens_only_within_a_set_grace_counted_from_close_time(void **state)
{
    (void)state;
    const int64_t closed = 1795000000000; /* ms */
    const struct {
        int64_t close_ms, now_ms;
        uint32_t grace_s;
        bool want;
    } cases[] = {
        {closed, closed, 3600, true},                    /* at once */
        {closed, closed + 3600 * 1000, 3600, true},      /* exactly at the boundary */
        {closed, closed + 3600 * 1000 + 1, 3600, false}, /* one millisecond past it */
        {closed, closed + 86400 * 1000, 3600, false},
        {closed, closed + 1, 0, false},      /* grace 0: always a follow-up */
        {0, closed, 3600, false},            /* closed before close_time existed */
        {closed, closed - 5000, 3600, true}, /* the clock went back: within */
        {closed, closed + (int64_t)UINT32_MAX * 1000, UINT32_MAX, true}, /* no overflow */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool got = hd_tickets_lifecycle_reopen_in_grace(cases[i].close_ms, cases[i].now_ms,
                                                        cases[i].grace_s);
        if (got != cases[i].want)
            fail_msg("case %zu: close %lld now %lld grace %u: got %d, want %d", i,
                     (long long)cases[i].close_ms, (long long)cases[i].now_ms, cases[i].grace_s,
                     got, cases[i].want);
    }
}

static void status_names_are_short_and_unknown_ones_are_question_marks(void **state)
{
    (void)state;
    assert_string_equal(hd_tickets_status_name(S(PENDING)), "PENDING");
    assert_string_equal(hd_tickets_status_name((Helpdesk__V1__TicketStatus)42), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_status_pair_is_allowed_or_refused_naming_both_states),
        cmocka_unit_test(nothing_moves_back_to_new_and_closed_and_merged_are_final),
        cmocka_unit_test(customer_message_reopens_pending_and_solved_and_is_refused_when_closed),
        cmocka_unit_test(closed_takes_only_follow_up_and_rating_merged_takes_nothing),
        cmocka_unit_test(closed_ticket_reopens_only_within_a_set_grace_counted_from_close_time),
        cmocka_unit_test(status_names_are_short_and_unknown_ones_are_question_marks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
