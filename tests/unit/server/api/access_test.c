/* Object-level access (server/api/access.h): one table of caller x ticket x operation, the
 * unit-level twin of tests/integration/test_rbac.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/api/access.h"
#include "server/api/perm.h"
#include "server/customers/customers.h"
#include "server/staff/staff.h"
#include "tests/unit/server/tickets/fixture.h"

enum { ADMIN = 1, MANAGER = 2, AGENT = 3 };

typedef struct world {
    hd_store *s;
    hd_arena *a;
    uint64_t g_in, g_out;
    uint64_t agent_in, agent_out, agent_gone;
    uint64_t c_own, c_org, c_other;
    uint64_t org;
} world;

static void must(int rc, const hd_err *e, const char *what)
{
    if (rc != HD_OK)
        fail_msg("%s: %s: %s", what, hd_errname(rc), e->detail);
}

static uint64_t staff(world *w, const char *email, int role, uint64_t group)
{
    Helpdesk__V1__CreateStaffRequest req = HELPDESK__V1__CREATE_STAFF_REQUEST__INIT;
    req.email = (char *)email;
    req.name = (char *)"X";
    req.role = role;
    req.group_ids = &group;
    req.n_group_ids = group ? 1 : 0;
    Helpdesk__V1__Staff *out = NULL;
    hd_err e;
    must(hd_staff_create(w->s, w->a, &req, NULL, &out, &e), &e, email);
    return out->id;
}

static uint64_t customer(world *w, const char *email, uint64_t org)
{
    Helpdesk__V1__CreateCustomerRequest req = HELPDESK__V1__CREATE_CUSTOMER_REQUEST__INIT;
    req.email = (char *)email;
    req.organization_id = org;
    Helpdesk__V1__Customer *out = NULL;
    hd_err e;
    must(hd_customers_create(w->s, w->a, &req, NULL, &out, &e), &e, email);
    return out->id;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));
    hd_err e;
    w->s = tf_store_open("access");
    w->a = hd_arena_create(0);
    Helpdesk__V1__Group *g = NULL;
    must(hd_staff_group_create(w->s, w->a, "in", "", false, NULL, &g, &e), &e, "group");
    w->g_in = g->id;
    must(hd_staff_group_create(w->s, w->a, "out", "", false, NULL, &g, &e), &e, "group");
    w->g_out = g->id;
    w->agent_in = staff(w, "in@example.com", AGENT, w->g_in);
    w->agent_out = staff(w, "out@example.com", AGENT, w->g_out);
    w->agent_gone = staff(w, "gone@example.com", AGENT, w->g_in);
    Helpdesk__V1__Staff *st = NULL;
    must(hd_staff_deactivate(w->s, w->a, w->agent_gone, NULL, &st, &e), &e, "deactivate");
    Helpdesk__V1__Organization *o = NULL;
    must(hd_customers_org_create(w->s, w->a, "Acme", true, NULL, &o, &e), &e, "org");
    w->org = o->id;
    w->c_own = customer(w, "own@example.com", w->org);
    w->c_org = customer(w, "org@example.com", w->org);
    w->c_other = customer(w, "other@example.com", 0);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    hd_arena_destroy(w->a);
    hd_store_close(w->s);
    free(w);
    return 0;
}

typedef enum who_e {
    W_ADMIN,
    W_BOOTSTRAP,
    W_MANAGER,
    W_AGENT_IN,
    W_AGENT_OUT,
    W_AGENT_ASSIGNED,
    W_SVC_RW,
    W_SVC_R,
    W_CUST_OWN,
    W_CUST_ORG,
    W_CUST_OTHER,
} who_e;

static hd_identity identity(const world *w, who_e k)
{
    hd_identity i;
    memset(&i, 0, sizeof(i));
    switch (k) {
    case W_ADMIN:
    case W_BOOTSTRAP:
        i.kind = HD_PRINCIPAL_STAFF;
        i.role = ADMIN;
        break;
    case W_MANAGER:
        i.kind = HD_PRINCIPAL_STAFF;
        i.role = MANAGER;
        i.id = 1000; /* no record: the hook's role stands */
        break;
    case W_AGENT_IN:
    case W_AGENT_ASSIGNED:
        i.kind = HD_PRINCIPAL_STAFF;
        i.role = AGENT;
        i.id = k == W_AGENT_IN ? w->agent_in : w->agent_out;
        break;
    case W_AGENT_OUT:
        i.kind = HD_PRINCIPAL_STAFF;
        i.role = AGENT;
        i.id = w->agent_out;
        break;
    case W_SVC_RW:
        i.kind = HD_PRINCIPAL_SERVICE;
        i.scopes = hd_perm_bit(HD_PERM_TICKET_READ) | hd_perm_bit(HD_PERM_TICKET_WRITE);
        break;
    case W_SVC_R:
        i.kind = HD_PRINCIPAL_SERVICE;
        i.scopes = hd_perm_bit(HD_PERM_TICKET_READ);
        break;
    case W_CUST_OWN:
        i.kind = HD_PRINCIPAL_CUSTOMER;
        i.id = w->c_own;
        break;
    case W_CUST_ORG:
        i.kind = HD_PRINCIPAL_CUSTOMER;
        i.id = w->c_org;
        break;
    case W_CUST_OTHER:
        i.kind = HD_PRINCIPAL_CUSTOMER;
        i.id = w->c_other;
        break;
    }
    return i;
}

/* Expected code for each caller on a ticket of c_own in g_in (assigned to agent_out for
 * W_AGENT_ASSIGNED only), per operation READ, REPLY, MANAGE, NOTES. */
static const struct {
    who_e who;
    int want[4];
} table[] = {
    {W_ADMIN, {HD_OK, HD_OK, HD_OK, HD_OK}},
    {W_BOOTSTRAP, {HD_OK, HD_OK, HD_OK, HD_OK}},
    {W_MANAGER, {HD_OK, HD_OK, HD_OK, HD_OK}},
    {W_AGENT_IN, {HD_OK, HD_OK, HD_OK, HD_OK}},
    {W_AGENT_OUT, {HD_EPERM, HD_EPERM, HD_EPERM, HD_EPERM}},
    {W_AGENT_ASSIGNED, {HD_OK, HD_OK, HD_OK, HD_OK}},
    {W_SVC_RW, {HD_OK, HD_OK, HD_OK, HD_OK}},
    {W_SVC_R, {HD_OK, HD_EPERM, HD_EPERM, HD_OK}},
    {W_CUST_OWN, {HD_OK, HD_OK, HD_EPERM, HD_EPERM}},
    {W_CUST_ORG, {HD_OK, HD_ENOTFOUND, HD_ENOTFOUND, HD_ENOTFOUND}},
    {W_CUST_OTHER, {HD_ENOTFOUND, HD_ENOTFOUND, HD_ENOTFOUND, HD_ENOTFOUND}},
};

static void every_caller_on_every_operation_matches_the_table(void **state)
{
    world *w = *state;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
        t.id = 42;
        t.customer_id = w->c_own;
        t.group_id = w->g_in;
        if (table[i].who == W_AGENT_ASSIGNED)
            t.assignee_id = w->agent_out;
        hd_identity who = identity(w, table[i].who);
        for (int op = 0; op < 4; op++) {
            hd_err e;
            hd_err_clear(&e);
            int rc = hd_access_ticket(w->s, &who, &t, (hd_access_op)op, &e);
            if (rc != table[i].want[op])
                fail_msg("row %zu op %d: got %s (%s), want %s", i, op, hd_errname(rc), e.detail,
                         hd_errname(table[i].want[op]));
            if (rc == HD_ENOTFOUND)
                assert_string_equal(e.detail, "ticket 42: not found");
        }
    }
}

static void deactivated_agent_loses_access_and_unshared_org_hides_tickets(void **state)
{
    world *w = *state;
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    t.id = 7;
    t.customer_id = w->c_own;
    t.group_id = w->g_in;
    hd_identity gone = {.kind = HD_PRINCIPAL_STAFF, .role = AGENT, .id = w->agent_gone};
    hd_err e;
    assert_int_equal(hd_access_ticket(w->s, &gone, &t, HD_ACCESS_READ, &e), HD_EUNAUTH);
    hd_identity org = identity(w, W_CUST_ORG);
    assert_int_equal(hd_access_ticket(w->s, &org, &t, HD_ACCESS_READ, &e), HD_OK);
    Helpdesk__V1__Organization *o = NULL;
    must(hd_customers_org_update(w->s, w->a, w->org, NULL, false, NULL, &o, &e), &e, "org");
    assert_int_equal(hd_access_ticket(w->s, &org, &t, HD_ACCESS_READ, &e), HD_ENOTFOUND);
}

static void filter_keeps_only_readable_tickets_in_order(void **state)
{
    world *w = *state;
    Helpdesk__V1__Ticket t[4];
    Helpdesk__V1__Ticket *v[4];
    for (int i = 0; i < 4; i++) {
        helpdesk__v1__ticket__init(&t[i]);
        t[i].id = (uint64_t)(10 + i);
        t[i].customer_id = w->c_other;
        t[i].group_id = i % 2 ? w->g_in : w->g_out;
        v[i] = &t[i];
    }
    hd_identity who = identity(w, W_AGENT_IN);
    size_t n = 4;
    hd_err e;
    assert_int_equal(hd_access_filter(w->s, &who, v, &n, &e), HD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(v[0]->id, 11);
    assert_int_equal(v[1]->id, 13);
    assert_int_equal(hd_access_list_customer(&who), 0);
    assert_false(hd_access_sees_notes(&(hd_identity){.kind = HD_PRINCIPAL_CUSTOMER}));
}

static void list_scope_restricts_agents_and_customers_only(void **state)
{
    world *w = *state;
    hd_access_scope s;
    hd_err e;
    hd_identity who = identity(w, W_AGENT_IN);
    hd_tickets_query q = {0};
    must(hd_access_list_scope(&s, w->s, &who, &q, &e), &e, "agent");
    assert_true(q.scoped);
    assert_int_equal(q.n_scope_groups, 1);
    assert_int_equal(q.scope_groups[0], w->g_in);
    assert_int_equal(q.scope_assignee, w->agent_in);
    assert_int_equal(q.scope_customer, 0);

    who = identity(w, W_CUST_OWN); /* Acme shares tickets */
    q = (hd_tickets_query){0};
    must(hd_access_list_scope(&s, w->s, &who, &q, &e), &e, "customer");
    assert_true(q.scoped);
    assert_int_equal(q.scope_customer, w->c_own);
    assert_int_equal(q.scope_org, w->org);
    assert_int_equal(q.n_scope_groups, 0);

    who = identity(w, W_CUST_OTHER);
    q = (hd_tickets_query){0};
    must(hd_access_list_scope(&s, w->s, &who, &q, &e), &e, "customer without org");
    assert_int_equal(q.scope_org, 0);

    const who_e open[] = {W_ADMIN, W_MANAGER, W_SVC_R};
    for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++) {
        who = identity(w, open[i]);
        q = (hd_tickets_query){0};
        must(hd_access_list_scope(&s, w->s, &who, &q, &e), &e, "unrestricted");
        assert_false(q.scoped);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_caller_on_every_operation_matches_the_table, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            deactivated_agent_loses_access_and_unshared_org_hides_tickets, setup, teardown),
        cmocka_unit_test_setup_teardown(filter_keeps_only_readable_tickets_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(list_scope_restricts_agents_and_customers_only, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
