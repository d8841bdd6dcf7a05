/* Customer domain: create, lookup by email (shared with ticket creation), organizations and
 * their ticket sharing, audit events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/audit/audit.h"
#include "server/customers/customers.h"
#include "server/tickets/tickets.h"
#include "tests/unit/server/tickets/fixture.h"

typedef struct fx {
    hd_store *s;
    hd_arena *a;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->s = tf_store_open("customers");
    f->a = hd_arena_create(0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    hd_arena_destroy(f->a);
    hd_store_close(f->s);
    free(f);
    return 0;
}

static int create(fx *f, const char *email, uint64_t org, Helpdesk__V1__Customer **out, hd_err *err)
{
    Helpdesk__V1__CreateCustomerRequest req = HELPDESK__V1__CREATE_CUSTOMER_REQUEST__INIT;
    req.email = (char *)email;
    req.name = (char *)"Name";
    req.organization_id = org;
    return hd_customers_create(f->s, f->a, &req, NULL, out, err);
}

static uint64_t shared_org_of(fx *f, uint64_t customer)
{
    hd_txn *txn;
    hd_err e;
    uint64_t org = 99;
    assert_int_equal(hd_store_read_begin(f->s, &txn, &e), HD_OK);
    assert_int_equal(hd_customers_shared_org(txn, customer, &org, &e), HD_OK);
    hd_store_read_end(txn);
    return org;
}

static void lookup_is_case_insensitive_and_emails_are_unique(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Customer *c = NULL, *d = NULL;
    hd_err e;
    assert_int_equal(create(f, "Zoe@Example.com", 0, &c, &e), HD_OK);
    assert_string_equal(c->email, "zoe@example.com");
    assert_int_equal(hd_customers_lookup(f->s, f->a, "ZOE@EXAMPLE.COM", &d, &e), HD_OK);
    assert_int_equal(d->id, c->id);
    assert_int_equal(create(f, "zoe@example.COM", 0, &d, &e), HD_EEXIST);
    assert_int_equal(hd_customers_lookup(f->s, f->a, "nobody@example.com", &d, &e), HD_ENOTFOUND);
    assert_int_equal(hd_customers_lookup(f->s, f->a, "not an email", &d, &e), HD_EINVAL);
    assert_int_equal(create(f, "x@example.com", 12345, &d, &e), HD_ENOTFOUND);
    assert_non_null(strstr(e.detail, "organization_id"));
}

static void customers_created_by_tickets_are_found_by_lookup(void **state)
{
    fx *f = *state;
    tf_create_many(f->s, 1, NULL); /* customer bulk@example.com, created on first sight */
    Helpdesk__V1__Customer *c = NULL;
    hd_err e;
    assert_int_equal(hd_customers_lookup(f->s, f->a, "bulk@example.com", &c, &e), HD_OK);
    assert_int_equal(create(f, "bulk@example.com", 0, &c, &e), HD_EEXIST);
    /* ids come from the same sequence: no clash with the ticket-created customer */
    assert_int_equal(create(f, "new@example.com", 0, &c, &e), HD_OK);
    assert_int_equal(c->id, 2);
}

static void organization_sharing_controls_shared_org(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Organization *o = NULL;
    Helpdesk__V1__Customer *c = NULL;
    hd_err e;
    assert_int_equal(hd_customers_org_create(f->s, f->a, "Acme", false, NULL, &o, &e), HD_OK);
    assert_int_equal(create(f, "a@acme.test", o->id, &c, &e), HD_OK);
    assert_int_equal(shared_org_of(f, c->id), 0);
    assert_int_equal(hd_customers_org_update(f->s, f->a, o->id, NULL, true, NULL, &o, &e), HD_OK);
    assert_string_equal(o->name, "Acme");
    assert_int_equal(shared_org_of(f, c->id), o->id);
    Helpdesk__V1__UpdateCustomerRequest up = HELPDESK__V1__UPDATE_CUSTOMER_REQUEST__INIT;
    up.id = c->id;
    up.clear_organization = true;
    assert_int_equal(hd_customers_update(f->s, f->a, &up, NULL, &c, &e), HD_OK);
    assert_int_equal(c->organization_id, 0);
    assert_int_equal(shared_org_of(f, c->id), 0);
    assert_int_equal(shared_org_of(f, 999), 0); /* unknown customer: no organization */

    Helpdesk__V1__ListAuditEventsResponse ev = HELPDESK__V1__LIST_AUDIT_EVENTS_RESPONSE__INIT;
    assert_int_equal(hd_audit_list(f->s, f->a, 2, "", &ev, &e), HD_OK);
    assert_int_equal(ev.n_events, 2);
    assert_string_equal(ev.events[0]->action, "customer.update");
    assert_string_equal(ev.events[1]->action, "organization.update");
    assert_string_not_equal(ev.next_page_token, "");
    assert_int_equal(hd_audit_list(f->s, f->a, 2, ev.next_page_token, &ev, &e), HD_OK);
    assert_int_equal(ev.n_events, 2);
    assert_string_equal(ev.events[0]->action, "customer.create");
    assert_string_equal(ev.events[1]->action, "organization.create");
    assert_string_equal(ev.next_page_token, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lookup_is_case_insensitive_and_emails_are_unique, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(customers_created_by_tickets_are_found_by_lookup, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(organization_sharing_controls_shared_org, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
