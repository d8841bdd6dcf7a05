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

/* Every ticket record, by a plain scan of TICKETS (not through the list code). */
typedef struct all {
    Helpdesk__V1__Ticket *t[N + 1];
    size_t n;
    hd_arena *a;
} all;

static int all_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    all *x = arg;
    ProtobufCAllocator pa;
    (void)key;
    (void)klen;
    hd_arena_pb_allocator(x->a, &pa);
    x->t[x->n++] = (Helpdesk__V1__Ticket *)protobuf_c_message_unpack(
        &helpdesk__v1__ticket__descriptor, &pa, vlen, val);
    return x->n == N ? 1 : 0;
}

static void read_all(fx *f, all *every)
{
    hd_txn *txn;
    hd_err err = {0};
    every->a = f->a;
    every->n = 0;
    assert_ok(hd_store_read_begin(f->s, &txn, &err), err);
    assert_true(hd_store_scan(txn, HD_STORE_TICKETS, NULL, all_cb, every, &err) >= 0);
    hd_store_read_end(txn);
    assert_int_equal(every->n, N);
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

static int sort_kind;

static int cmp_expected(const void *px, const void *py)
{
    const Helpdesk__V1__Ticket *x = *(Helpdesk__V1__Ticket *const *)px,
                               *y = *(Helpdesk__V1__Ticket *const *)py;
    if (sort_kind == SORT(UPDATE_TIME_DESC)) {
        int64_t ux = hd_tickets_ts_ms(x->update_time), uy = hd_tickets_ts_ms(y->update_time);
        if (ux != uy)
            return ux > uy ? -1 : 1;
    } else if (sort_kind == SORT(PRIORITY) && x->priority != y->priority) {
        return x->priority < y->priority ? -1 : 1;
    }
    return x->id > y->id ? -1 : 1;
}

/* Pages through q with page size 4 and compares with the brute-force answer; every page
 * but the last is full. Returns how many tickets matched. */
static size_t check_query(fx *f, const all *every, hd_tickets_query q, const char *what)
{
    Helpdesk__V1__Ticket *exp[N];
    size_t n_exp = 0, n_got = 0;
    hd_err err = {0};
    for (size_t i = 0; i < every->n; i++)
        if (want(&q, every->t[i]))
            exp[n_exp++] = every->t[i];
    sort_kind = (int)q.sort;
    qsort(exp, n_exp, sizeof(exp[0]), cmp_expected);
    q.page_size = 4;
    q.page_token = "";
    for (int guard = 0; guard <= N; guard++) {
        hd_tickets_page p;
        assert_ok(hd_tickets_list(f->s, f->a, &q, &p, &err), err);
        for (size_t i = 0; i < p.n_tickets; i++, n_got++) {
            if (n_got >= n_exp || p.tickets[i]->id != exp[n_got]->id)
                fail_msg("%s: result %zu is ticket %llu, want %llu", what, n_got,
                         (unsigned long long)p.tickets[i]->id,
                         n_got < n_exp ? (unsigned long long)exp[n_got]->id : 0ULL);
        }
        if (!p.next_page_token[0])
            break;
        if (p.n_tickets != 4)
            fail_msg("%s: short page of %zu before the end", what, p.n_tickets);
        q.page_token = p.next_page_token;
    }
    if (n_got != n_exp)
        fail_msg("%s: got %zu tickets, want %zu", what, n_got, n_exp);
    return n_exp;
}

static const uint64_t G12[] = {1, 2}, G3[] = {3}, G1[] = {1};

static void scoped_lists_page_exactly_the_visible_tickets_in_order(void **state)
{
    fx *f = *state;
    all every;
    populate(f);
    read_all(f, &every);
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
        size_t n = check_query(f, &every, qs[i].q, qs[i].what);
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
    all every;
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
    read_all(f, &every);
    for (size_t i = 0; i < every.n; i++)
        assert_int_equal(every.t[i]->organization_id, every.t[i]->customer_id < 3 ? ORG : 0);
    check_query(f, &every, org, "org after reindex");
    check_query(f, &every, grp, "group after reindex");
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
