/* Scoped ListTickets (who may see what) checked against a brute-force reading of every ticket
 * record: an agent's list is their groups' tickets plus those assigned to them, a customer's
 * their own plus their sharing organization's; paging with a small page size returns exactly
 * those tickets, in order, in full pages until the end; a scoped page reads O(page x ranges)
 * entries however few of the tickets are visible; "uncategorised" asks for category "";
 * stores from before IDX_GROUP/IDX_ORG are reindexed at start. */
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
#define ST(x)   HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_##x
#define SORT(x) HELPDESK__V1__TICKET_SORT__TICKET_SORT_##x
#define N       96
#define ORG     100

typedef tf_fx fx;

/* Customers 1 and 2 are in organization ORG, 3 in none. */
static int customers_apply(hd_txn *txn, void *arg, hd_err *err)
{
    (void)arg;
    for (uint64_t id = 1; id <= 3; id++) {
        Helpdesk__V1__Customer c = HELPDESK__V1__CUSTOMER__INIT;
        char email[32];
        hd_key k;
        snprintf(email, sizeof(email), "c%llu@example.com", (unsigned long long)id);
        c.id = id;
        c.email = email;
        c.organization_id = id < 3 ? ORG : 0;
        int rc =
            hd_store_put_msg(txn, HD_STORE_CUSTOMERS, hd_tickets_key_id(&k, id), &c.base, 0, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Sets the status, assignee and group of tickets [first, last] through the change engine. */
typedef struct touch {
    uint64_t first, last;
    Helpdesk__V1__TicketStatus status;
    uint64_t assignee, group;
    hd_arena *a;
} touch;

static int touch_apply(hd_txn *txn, void *arg, hd_err *err)
{
    touch *t = arg;
    for (uint64_t id = t->first; id <= t->last; id++) {
        hd_tickets_edit e;
        int rc = hd_tickets_edit_begin(&e, txn, t->a, id, NULL, hd_clock_now_ms(), NULL, err);
        if (rc == 0 && t->status)
            rc = hd_tickets_edit_status(&e, t->status, err);
        if (rc == 0) {
            e.t->assignee_id = t->assignee;
            e.t->group_id = t->group;
            rc = hd_tickets_edit_commit(
                &e, HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_UPDATED, err);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void retouch(fx *f, uint64_t first, uint64_t last, Helpdesk__V1__TicketStatus st,
                    uint64_t assignee, uint64_t group)
{
    hd_err err = {0};
    touch t = {first, last, st, assignee, group, f->a};
    assert_ok(hd_store_write(f->s, touch_apply, &t, &err), err);
}

/* N tickets of customers 1-3, priorities cycling, categories "a"/"", groups 0-3, assignees
 * 0/5/6, some statuses, one minute apart; then every 5th moves to group 2 and assignee 5
 * later (update order differs, the indexes move). */
static void populate(fx *f)
{
    hd_err err = {0};
    assert_ok(hd_store_write(f->s, customers_apply, NULL, &err), err);
    for (int i = 0; i < N; i++) {
        Helpdesk__V1__CreateTicketRequest req;
        hd_tickets_create_args args;
        tf_request(&req, NULL, NULL, "");
        req.customer_id = 1 + (uint64_t)(i % 3);
        req.priority = (Helpdesk__V1__Priority)(1 + i % 4);
        req.category = CS(i % 5 < 2 ? "a" : "");
        hd_clock_advance_ms(60000);
        assert_ok(hd_tickets_create_prepare(&args, f->a, &req, NULL, NULL, &err), err);
        assert_ok(hd_tickets_create(f->s, &args, &err), err);
        retouch(f, args.ticket->id, args.ticket->id, i % 7 == 1 ? ST(OPEN) : ST(UNSPECIFIED),
                (uint64_t)(i % 3 == 0 ? 0
                           : i % 2    ? 5
                                      : 6),
                (uint64_t)(i % 4));
    }
    for (uint64_t id = 1; id <= N; id += 5) {
        hd_clock_advance_ms(1000);
        retouch(f, id, id, ST(UNSPECIFIED), 5, 2);
    }
}

/* The brute-force answer: the filters these tests use, and the scope, ticket by ticket. */
static bool want(const hd_tickets_query *q, const Helpdesk__V1__Ticket *t)
{
    bool seen = !q->scoped;
    seen = seen || (q->scope_assignee && t->assignee_id == q->scope_assignee);
    seen = seen || (q->scope_customer && t->customer_id == q->scope_customer);
    seen = seen || (q->scope_org && t->organization_id == q->scope_org);
    for (size_t i = 0; i < q->n_scope_groups; i++)
        seen = seen || (t->group_id && t->group_id == q->scope_groups[i]);
    return seen && (!q->status || t->status == q->status) &&
           (!q->category || !q->category[0] || strcmp(t->category, q->category) == 0) &&
           (!q->uncategorised || !t->category[0]) &&
           (!q->assignee_id || t->assignee_id == q->assignee_id) &&
           (!q->unassigned || t->assignee_id == 0) &&
           (!q->customer_id || t->customer_id == q->customer_id);
}

static const uint64_t G12[] = {1, 2}, G3[] = {3}, G1[] = {1};

static void scoped_lists_page_exactly_the_visible_tickets_in_order(void **state)
{
    fx *f = *state;
    populate(f);
    lc_all every = lc_read_all(f->s, f->a, N);
    assert_int_equal(every.n, N);
    /* Tickets carry their customer's organization from create. */
    for (size_t i = 0; i < every.n; i++)
        assert_int_equal(every.t[i]->organization_id, every.t[i]->customer_id < 3 ? ORG : 0);

#define AGENT(g, n, me)                                                                            \
    .scoped = true, .scope_groups = (g), .n_scope_groups = (n), .scope_assignee = (me)
#define CUSTOMER(me, org) .scoped = true, .scope_customer = (me), .scope_org = (org)
    const struct {
        const char *what;
        hd_tickets_query q;
    } qs[] = {
        {"agent in 1,2 assigned 5", {AGENT(G12, 2, 5)}},
        {"agent in 3 assigned 6", {AGENT(G3, 1, 6)}},
        {"agent without groups", {AGENT(NULL, 0, 5)}},
        {"agent + own assignee filter", {AGENT(G1, 1, 5), .assignee_id = 5}},
        {"agent + other assignee filter", {AGENT(G1, 1, 5), .assignee_id = 6}},
        {"agent + unassigned", {AGENT(G12, 2, 5), .unassigned = true}},
        {"agent + status", {AGENT(G12, 2, 6), .status = ST(OPEN)}},
        {"agent + uncategorised", {AGENT(G3, 1, 6), .uncategorised = true}},
        {"agent sort updated", {AGENT(G12, 2, 5), .sort = SORT(UPDATE_TIME_DESC)}},
        {"agent sort priority", {AGENT(G3, 1, 5), .sort = SORT(PRIORITY)}},
        {"customer alone", {CUSTOMER(3, 0)}},
        {"customer + sharing org", {CUSTOMER(1, ORG)}},
        {"customer + org, own filter", {CUSTOMER(2, ORG), .customer_id = 2}},
        {"customer + org + category", {CUSTOMER(2, ORG), .category = "a"}},
        {"customer + org sort updated", {CUSTOMER(1, ORG), .sort = SORT(UPDATE_TIME_DESC)}},
        {"uncategorised", {.uncategorised = true}},
        {"scope granting nothing", {.scoped = true}},
    };
#undef AGENT
#undef CUSTOMER
    size_t n_org = 0, n_alone = 0;
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        size_t n = lc_check_query(f->s, f->a, &every, qs[i].q, want, qs[i].what);
        if (strcmp(qs[i].what, "customer + sharing org") == 0)
            n_org = n;
        if (strcmp(qs[i].what, "customer alone") == 0)
            n_alone = n;
    }
    /* The organization's list is customers 1 and 2 together: 2/3 of the tickets. */
    assert_int_equal(n_org, 2 * N / 3);
    assert_int_equal(n_alone, N / 3);
}

/* Tickets [first, last] into group, in one mutation. */
static void file_under(fx *f, uint64_t first, uint64_t last, uint64_t group)
{
    retouch(f, first, last, ST(UNSPECIFIED), 0, group);
}

static void a_scoped_page_reads_o_page_entries_however_rare_the_visible_tickets(void **state)
{
    fx *f = *state;
    enum { MANY = 2000, PAGE = 20, EVERY = 40 };
    hd_err err = {0};
    tf_create_many(f->s, MANY, NULL);
    file_under(f, 1, MANY, 2);
    for (uint64_t id = EVERY; id <= MANY; id += EVERY)
        file_under(f, id, id, 1);
    hd_tickets_query q = {.page_size = PAGE,
                          .scoped = true,
                          .scope_groups = G1,
                          .n_scope_groups = 1,
                          .scope_assignee = 9};
    size_t seen = 0;
    uint64_t last = UINT64_MAX;
    for (int pg = 0; pg < MANY / PAGE; pg++) {
        hd_tickets_page p;
        assert_ok(hd_tickets_list(f->s, f->a, &q, &p, &err), err);
        /* Two ranges (group 1, assignee 9) of page + 1 entries, one record per ticket. */
        if (p.visited > 2 * (PAGE + 1) + PAGE)
            fail_msg("page %d read %llu entries", pg, (unsigned long long)p.visited);
        for (size_t i = 0; i < p.n_tickets; i++, seen++) {
            assert_int_equal(p.tickets[i]->group_id, 1);
            assert_true(p.tickets[i]->id < last);
            last = p.tickets[i]->id;
        }
        if (!p.next_page_token[0])
            break;
        assert_int_equal(p.n_tickets, PAGE);
        q.page_token = p.next_page_token;
    }
    assert_int_equal(seen, MANY / EVERY);
}

static void uncategorised_cannot_be_combined_with_a_category(void **state)
{
    fx *f = *state;
    hd_err err = {0};
    hd_tickets_page p;
    hd_tickets_query q = {.uncategorised = true, .category = "a"};
    TF_ASSERT_ERR(hd_tickets_list(f->s, f->a, &q, &p, &err), HD_EINVAL, err, "uncategorised");
}

/* Removes the IDX_GROUP and IDX_ORG entries, organization_id from the records and the
 * marker: a store written before them. */
typedef struct wipe {
    hd_arena *a;
} wipe;

static int wipe_apply(hd_txn *txn, void *arg, hd_err *err)
{
    wipe *w = arg;
    hd_key k;
    for (uint64_t id = 1; id <= N; id++) {
        ProtobufCMessage *m;
        int rc = hd_store_get_msg(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, id),
                                  &helpdesk__v1__ticket__descriptor, w->a, &m, err);
        if (rc < 0)
            return rc;
        Helpdesk__V1__Ticket *t = (Helpdesk__V1__Ticket *)m;
        if (t->group_id)
            rc = hd_store_del(txn, HD_STORE_IDX_GROUP, hd_tickets_key_group(&k, t->group_id, id),
                              err);
        if (rc == 0 && t->organization_id)
            rc = hd_store_del(txn, HD_STORE_IDX_ORG, hd_tickets_key_org(&k, t->organization_id, id),
                              err);
        t->organization_id = 0;
        if (rc == 0)
            rc = hd_store_put_msg(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, id), &t->base, 0,
                                  err);
        if (rc < 0)
            return rc;
    }
    hd_key_init(&k);
    hd_key_str(&k, HD_TICKETS_INDEX_SETTING);
    int rc = hd_store_del(txn, HD_STORE_SETTINGS, &k, err);
    return rc == HD_ENOTFOUND ? 0 : rc;
}

static void tickets_from_before_the_scope_indexes_are_reindexed_once_at_start(void **state)
{
    fx *f = *state;
    hd_err err = {0};
    uint64_t built = 99;
    wipe w = {f->a};
    populate(f);
    assert_ok(hd_store_write(f->s, wipe_apply, &w, &err), err);
    hd_tickets_query org = {.scoped = true, .scope_customer = 3, .scope_org = ORG};
    hd_tickets_query grp = {.scoped = true, .scope_groups = G3, .n_scope_groups = 1};
    hd_tickets_page p;
    assert_ok(hd_tickets_list(f->s, f->a, &grp, &p, &err), err);
    assert_int_equal(p.n_tickets, 0);

    assert_ok(hd_tickets_reindex(f->s, &built, &err), err);
    assert_int_equal(built, N);
    lc_all every = lc_read_all(f->s, f->a, N);
    assert_int_equal(every.n, N);
    for (size_t i = 0; i < every.n; i++)
        assert_int_equal(every.t[i]->organization_id, every.t[i]->customer_id < 3 ? ORG : 0);
    lc_check_query(f->s, f->a, &every, org, want, "org after reindex");
    lc_check_query(f->s, f->a, &every, grp, want, "group after reindex");
    assert_ok(hd_tickets_reindex(f->s, &built, &err), err);
    assert_int_equal(built, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tf_setup, tf_teardown)
        T(scoped_lists_page_exactly_the_visible_tickets_in_order),
        T(a_scoped_page_reads_o_page_entries_however_rare_the_visible_tickets),
        T(uncategorised_cannot_be_combined_with_a_category),
        T(tickets_from_before_the_scope_indexes_are_reindexed_once_at_start),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
