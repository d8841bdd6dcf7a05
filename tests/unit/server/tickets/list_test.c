/* ListTickets filters, sorts and paging checked against a brute-force reading of every
 * ticket record: for each query, paging with a small page size returns exactly the matching
 * tickets, in order, without gaps or repeats; and a page costs O(page) store reads when one
 * index decides the filter, whatever the number of tickets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/clock/clock.h"
#include "server/common/arena.h"
#include "server/tickets/change.h"
#include "server/tickets/reindex.h"
#include "server/tickets/tickets.h"
#include "tests/unit/server/tickets/fixture.h"
#include "tests/unit/server/tickets/list_check.h"

#define assert_ok TF_ASSERT_OK

#define CS(x)   ((char *)(x))
#define T0      TF_T0
#define ST(x)   HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_##x
#define SORT(x) HELPDESK__V1__TICKET_SORT__TICKET_SORT_##x
#define N       90

typedef tf_fx fx;

/* Sets status, assignee and the update time of a ticket through the change engine. */
typedef struct touch {
    uint64_t id;
    Helpdesk__V1__TicketStatus status;
    uint64_t assignee;
    hd_arena *a;
} touch;

static int touch_apply(hd_txn *txn, void *arg, hd_err *err)
{
    touch *t = arg;
    hd_tickets_edit e;
    int rc = hd_tickets_edit_begin(&e, txn, t->a, t->id, NULL, hd_clock_now_ms(), NULL, err);
    if (rc == 0 && t->status)
        rc = hd_tickets_edit_status(&e, t->status, err);
    if (rc == 0) {
        e.t->assignee_id = t->assignee;
        rc = hd_tickets_edit_commit(&e, HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_UPDATED,
                                    err);
    }
    return rc;
}

/* N tickets: 3 customers, priorities cycling, categories "a"/"b"/"", tags, assignees 0/5/6,
 * statuses, one minute apart, then every 7th touched again later (update order differs). */
static void populate(fx *f)
{
    static char *tag_sets[3][2] = {{CS("red"), CS("blue")}, {CS("blue"), NULL}, {NULL, NULL}};
    static const char *emails[3] = {"c0@example.com", "c1@example.com", "c2@example.com"};
    static const char *cats[3] = {"a", "b", ""};
    hd_err err = {0};
    for (int i = 0; i < N; i++) {
        Helpdesk__V1__CreateTicketRequest req;
        hd_tickets_create_args args;
        tf_request(&req, NULL, NULL, emails[i % 3]);
        req.priority = (Helpdesk__V1__Priority)(1 + i % 4);
        req.category = CS(cats[i % 3 == 0 ? 0 : i % 5 == 0 ? 1 : 2]);
        req.tags = tag_sets[i % 3];
        req.n_tags = i % 3 == 0 ? 2 : i % 3 == 1 ? 1 : 0;
        hd_clock_advance_ms(60000);
        assert_ok(hd_tickets_create_prepare(&args, f->a, &req, NULL, NULL, &err), err);
        assert_ok(hd_tickets_create(f->s, &args, &err), err);
        static const Helpdesk__V1__TicketStatus sts[4] = {ST(NEW), ST(OPEN), ST(PENDING),
                                                          ST(SOLVED)};
        touch t = {args.ticket->id,
                   sts[i % 4 == 1   ? 1
                       : i % 7 == 2 ? 2
                                    : 0],
                   (uint64_t)(i % 4 == 0 ? 0
                              : i % 2    ? 5
                                         : 6),
                   f->a};
        assert_ok(hd_store_write(f->s, touch_apply, &t, &err), err);
    }
    for (uint64_t id = 1; id <= N; id += 7) {
        touch t = {id, ST(UNSPECIFIED), 6, f->a};
        hd_clock_advance_ms(1000);
        assert_ok(hd_store_write(f->s, touch_apply, &t, &err), err);
    }
}

static bool want(const hd_tickets_query *q, const Helpdesk__V1__Ticket *t)
{
    bool tag = !q->tag;
    for (size_t i = 0; !tag && i < t->n_tags; i++)
        tag = strcmp(t->tags[i], q->tag) == 0;
    int64_t c = hd_tickets_ts_ms(t->create_time), u = hd_tickets_ts_ms(t->update_time);
    return tag && (!q->status || t->status == q->status) &&
           (!q->priority || t->priority == q->priority) &&
           (!q->category || !q->category[0] || strcmp(t->category, q->category) == 0) &&
           (!q->assignee_id || t->assignee_id == q->assignee_id) &&
           (!q->unassigned || t->assignee_id == 0) &&
           (!q->customer_id || t->customer_id == q->customer_id) &&
           (!q->create_from_ms || c >= q->create_from_ms) &&
           (!q->create_to_ms || c < q->create_to_ms) &&
           (!q->update_from_ms || u >= q->update_from_ms) &&
           (!q->update_to_ms || u < q->update_to_ms);
}

static void every_filter_and_sort_pages_exactly_the_matching_tickets_in_order(void **state)
{
    fx *f = *state;
    populate(f);
    lc_all every = lc_read_all(f->s, f->a, N);
    assert_int_equal(every.n, N);
    uint64_t c1 = every.t[1]->customer_id;
    int64_t mid = T0 + 45 * 60000;

    const struct {
        const char *what;
        hd_tickets_query q;
    } qs[] = {
        {"no filter", {0}},
        {"status OPEN", {.status = ST(OPEN)}},
        {"priority HIGH", {.priority = HELPDESK__V1__PRIORITY__PRIORITY_HIGH}},
        {"status + priority",
         {.status = ST(NEW), .priority = HELPDESK__V1__PRIORITY__PRIORITY_URGENT}},
        {"category a", {.category = "a"}},
        {"category b + status", {.category = "b", .status = ST(NEW)}},
        {"assignee 5", {.assignee_id = 5}},
        {"unassigned", {.unassigned = true}},
        {"customer", {.customer_id = c1}},
        {"tag blue", {.tag = "blue"}},
        {"tag red + assignee 6", {.tag = "red", .assignee_id = 6}},
        {"created before mid", {.create_to_ms = mid}},
        {"created from mid + priority", {.create_from_ms = mid, .priority = 2}},
        {"updated range", {.update_from_ms = mid, .update_to_ms = mid + 30 * 60000}},
        {"sort updated", {.sort = SORT(UPDATE_TIME_DESC)}},
        {"sort updated + tag", {.sort = SORT(UPDATE_TIME_DESC), .tag = "blue"}},
        {"sort priority", {.sort = SORT(PRIORITY)}},
        {"sort priority + status", {.sort = SORT(PRIORITY), .status = ST(NEW)}},
        {"sort priority + customer", {.sort = SORT(PRIORITY), .customer_id = c1}},
        {"nothing matches", {.tag = "green"}},
    };
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        lc_check_query(f->s, f->a, &every, qs[i].q, want, qs[i].what);
    }
}

static void a_page_reads_o_page_entries_when_one_index_decides(void **state)
{
    fx *f = *state;
    enum { MANY = 3000, PAGE = 20 };
    tf_create_many(f->s, MANY, NULL); /* all NORMAL, uncategorised, unassigned, no tags */
    hd_err err = {0};
    const hd_tickets_query qs[] = {
        {.page_size = PAGE},
        {.page_size = PAGE, .unassigned = true},
        {.page_size = PAGE, .status = ST(NEW), .priority = HELPDESK__V1__PRIORITY__PRIORITY_NORMAL},
        {.page_size = PAGE, .priority = HELPDESK__V1__PRIORITY__PRIORITY_NORMAL},
        {.page_size = PAGE, .sort = SORT(UPDATE_TIME_DESC)},
        {.page_size = PAGE, .sort = SORT(PRIORITY)},
        {.page_size = PAGE, .tag = "none-has-it"},
    };
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        hd_tickets_page p;
        hd_tickets_query q = qs[i];
        for (int pg = 0; pg < 3; pg++) {
            assert_ok(hd_tickets_list(f->s, f->a, &q, &p, &err), err);
            /* Index entries for page + 1 (per range, at most 6 status ranges for one priority)
             * and one record per ticket returned. */
            if (p.visited > 6 * (PAGE + 1) + PAGE)
                fail_msg("query %zu page %d read %llu entries", i, pg,
                         (unsigned long long)p.visited);
            if (!p.next_page_token[0])
                break;
            q.page_token = p.next_page_token;
        }
    }
}

static void a_token_only_continues_the_query_it_came_from(void **state)
{
    fx *f = *state;
    tf_create_many(f->s, 5, NULL);
    hd_tickets_query q = {.page_size = 2, .unassigned = true};
    hd_tickets_page p;
    hd_err err = {0};
    assert_ok(hd_tickets_list(f->s, f->a, &q, &p, &err), err);
    q.page_token = p.next_page_token;
    q.sort = SORT(UPDATE_TIME_DESC);
    assert_int_equal(hd_tickets_list(f->s, f->a, &q, &p, &err), HD_EINVAL);
    assert_string_equal(err.detail, "page_token: issued for another filter or sort");
    hd_tickets_query bad = {.unassigned = true, .assignee_id = 3};
    assert_int_equal(hd_tickets_list(f->s, f->a, &bad, &p, &err), HD_EINVAL);
    assert_non_null(strstr(err.detail, "assignee_id"));
    bad = (hd_tickets_query){.sort = (Helpdesk__V1__TicketSort)9};
    assert_int_equal(hd_tickets_list(f->s, f->a, &bad, &p, &err), HD_EINVAL);
    assert_non_null(strstr(err.detail, "sort"));
}

/* Drops every IDX_ASSIGNEE and IDX_CATEGORY entry and the marker: a store from before. */
static int wipe_apply(hd_txn *txn, void *arg, hd_err *err)
{
    (void)arg;
    hd_key k;
    for (uint64_t id = 1; id <= 30; id++) {
        int rc = hd_store_del(txn, HD_STORE_IDX_ASSIGNEE, hd_tickets_key_assignee(&k, 0, id), err);
        if (rc == 0)
            rc = hd_store_del(txn, HD_STORE_IDX_CATEGORY, hd_tickets_key_category(&k, "", id), err);
        if (rc < 0)
            return rc;
    }
    hd_key_init(&k);
    hd_key_str(&k, HD_TICKETS_INDEX_SETTING);
    int rc = hd_store_del(txn, HD_STORE_SETTINGS, &k, err);
    return rc == HD_ENOTFOUND ? 0 : rc;
}

static void tickets_from_before_the_new_indexes_are_reindexed_once_at_start(void **state)
{
    fx *f = *state;
    hd_err err = {0};
    uint64_t built = 99;
    hd_tickets_page p;
    tf_create_many(f->s, 30, NULL);
    assert_ok(hd_store_write(f->s, wipe_apply, NULL, &err), err);
    hd_tickets_query q = {.unassigned = true, .page_size = 100};
    assert_ok(hd_tickets_list(f->s, f->a, &q, &p, &err), err);
    assert_int_equal(p.n_tickets, 0);
    assert_ok(hd_tickets_reindex(f->s, &built, &err), err);
    assert_int_equal(built, 30);
    assert_ok(hd_tickets_list(f->s, f->a, &q, &p, &err), err);
    assert_int_equal(p.n_tickets, 30);
    assert_ok(hd_tickets_reindex(f->s, &built, &err), err);
    assert_int_equal(built, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tf_setup, tf_teardown)
        T(every_filter_and_sort_pages_exactly_the_matching_tickets_in_order),
        T(a_page_reads_o_page_entries_when_one_index_decides),
        T(a_token_only_continues_the_query_it_came_from),
        T(tickets_from_before_the_new_indexes_are_reindexed_once_at_start),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
