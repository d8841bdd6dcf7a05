/* Customers and organizations: CUSTOMERS u64 id -> Customer, IDX_EMAIL email -> id (the
 * layouts of server/tickets, which creates customers too), ORGANIZATIONS u64 id ->
 * Organization. Each change is one mutation with its audit event. */
#include "server/customers/customers.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "server/audit/audit.h"
#include "server/clock/clock.h"
#include "server/record/record.h"
#include "server/tickets/tickets.h"
#include "server/validate/validate.h"

static hd_key *org_key(hd_key *k, uint64_t id)
{
    hd_key_init(k);
    return hd_key_u64(k, id);
}

int hd_customers_get(hd_txn *txn, hd_arena *a, uint64_t id, Helpdesk__V1__Customer **out,
                     hd_err *err)
{
    hd_key k;
    return hd_record_get(txn, HD_STORE_CUSTOMERS, hd_tickets_key_id(&k, id),
                         &helpdesk__v1__customer__descriptor, a, "customer", id, out, err);
}

int hd_customers_org_get(hd_txn *txn, hd_arena *a, uint64_t id, Helpdesk__V1__Organization **out,
                         hd_err *err)
{
    hd_key k;
    return hd_record_get(txn, HD_STORE_ORGANIZATIONS, org_key(&k, id),
                         &helpdesk__v1__organization__descriptor, a, "organization", id, out, err);
}

int hd_customers_shared_org(hd_txn *txn, uint64_t customer_id, uint64_t *org, hd_err *err)
{
    *org = 0;
    hd_arena *a = hd_arena_create(512);
    if (!a)
        return hd_err_set(err, HD_ENOMEM, "customers: out of memory");
    Helpdesk__V1__Customer *c = NULL;
    Helpdesk__V1__Organization *o = NULL;
    int rc = hd_customers_get(txn, a, customer_id, &c, err);
    if (rc == HD_OK && c->organization_id)
        rc = hd_customers_org_get(txn, a, c->organization_id, &o, err);
    if (rc == HD_OK && o && o->shared_tickets)
        *org = o->id;
    hd_arena_destroy(a);
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(err);
        rc = HD_OK;
    }
    return rc;
}

/* Runs get(txn, a, id, out, err) in its own read snapshot. */
typedef int (*getter_fn)(hd_txn *, hd_arena *, uint64_t, void *, hd_err *);

static int read_one(hd_store *s, hd_arena *a, uint64_t id, getter_fn get, void *out, hd_err *err)
{
    hd_txn *txn;
    int rc = hd_store_read_begin(s, &txn, err);
    if (rc != HD_OK)
        return rc;
    rc = get(txn, a, id, out, err);
    hd_store_read_end(txn);
    return rc;
}

static int get_customer_v(hd_txn *t, hd_arena *a, uint64_t id, void *out, hd_err *err)
{
    return hd_customers_get(t, a, id, out, err);
}

static int get_org_v(hd_txn *t, hd_arena *a, uint64_t id, void *out, hd_err *err)
{
    return hd_customers_org_get(t, a, id, out, err);
}

int hd_customers_read(hd_store *s, hd_arena *a, uint64_t id, Helpdesk__V1__Customer **out,
                      hd_err *err)
{
    return read_one(s, a, id, get_customer_v, out, err);
}

int hd_customers_org_read(hd_store *s, hd_arena *a, uint64_t id, Helpdesk__V1__Organization **out,
                          hd_err *err)
{
    return read_one(s, a, id, get_org_v, out, err);
}

static int find_email(hd_txn *txn, const char *email, uint64_t *id, hd_err *err)
{
    hd_key k;
    const void *v;
    size_t n;
    int rc = hd_store_get(txn, HD_STORE_IDX_EMAIL, hd_tickets_key_email(&k, email), &v, &n, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "email: no customer");
    if (rc != HD_OK)
        return rc;
    return hd_tickets_read_id(v, n, id, err);
}

int hd_customers_lookup(hd_store *s, hd_arena *a, const char *email, Helpdesk__V1__Customer **out,
                        hd_err *err)
{
    size_t n = email ? strlen(email) : 0;
    if (n == 0 || !hd_validate_email(email, n))
        return hd_err_set(err, HD_EINVAL, "email: not an email address");
    char *norm = hd_record_lower(a, email);
    if (!norm)
        return hd_err_set(err, HD_ENOMEM, "customers: out of memory");
    hd_txn *txn;
    int rc = hd_store_read_begin(s, &txn, err);
    if (rc != HD_OK)
        return rc;
    uint64_t id = 0;
    rc = find_email(txn, norm, &id, err);
    if (rc == HD_OK)
        rc = hd_customers_get(txn, a, id, out, err);
    hd_store_read_end(txn);
    return rc;
}

typedef struct op_args {
    hd_arena *a;
    int64_t now;
    const hd_customers_actor *actor;
    uint64_t id;
    const char *email, *name;
    uint64_t org_id;
    bool clear_org, shared;
    Helpdesk__V1__Customer *cout;
    Helpdesk__V1__Organization *oout;
} op_args;

static int audit(hd_txn *txn, const op_args *o, const char *action, const char *kind, uint64_t id,
                 const char *detail, hd_err *err)
{
    return hd_audit_append(txn,
                           o->actor ? o->actor->kind : HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM,
                           o->actor ? o->actor->id : 0, action, kind, id, detail, o->now, err);
}

static int org_exists(hd_txn *txn, hd_arena *a, uint64_t id, hd_err *err)
{
    Helpdesk__V1__Organization *o;
    int rc = hd_customers_org_get(txn, a, id, &o, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "organization_id: no organization %" PRIu64, id);
    return rc;
}

static int customer_create_apply(hd_txn *txn, void *argp, hd_err *err)
{
    op_args *o = argp;
    uint64_t existing;
    int rc = find_email(txn, o->email, &existing, err);
    if (rc == HD_OK)
        return hd_err_set(err, HD_EEXIST, "email: customer %" PRIu64 " has %s", existing, o->email);
    if (rc != HD_ENOTFOUND)
        return rc;
    if (o->org_id) {
        rc = org_exists(txn, o->a, o->org_id, err);
        if (rc != HD_OK)
            return rc;
    }
    Helpdesk__V1__Customer *c = hd_arena_alloc(o->a, sizeof(*c));
    if (!c)
        return hd_err_set(err, HD_ENOMEM, "customers: out of memory");
    helpdesk__v1__customer__init(c);
    rc = hd_store_seq_next(txn, HD_TICKETS_SEQ_CUSTOMER, &c->id, err);
    if (rc != HD_OK)
        return rc;
    c->email = (char *)o->email;
    c->name = (char *)o->name;
    c->organization_id = o->org_id;
    c->create_time = hd_record_time(o->a, o->now);
    if (!c->create_time)
        return hd_err_set(err, HD_ENOMEM, "customers: out of memory");
    hd_key k;
    rc = hd_store_put_msg(txn, HD_STORE_CUSTOMERS, hd_tickets_key_id(&k, c->id), &c->base,
                          HD_STORE_NOOVERWRITE, err);
    if (rc == HD_OK) {
        unsigned char b[8];
        for (int i = 0; i < 8; i++)
            b[i] = (unsigned char)(c->id >> (56 - 8 * i));
        rc = hd_store_put(txn, HD_STORE_IDX_EMAIL, hd_tickets_key_email(&k, c->email), b, sizeof(b),
                          HD_STORE_NOOVERWRITE, err);
    }
    if (rc == HD_OK)
        rc = audit(txn, o, "customer.create", "customer", c->id, c->email, err);
    if (rc == HD_OK)
        o->cout = c;
    return rc;
}

int hd_customers_create(hd_store *s, hd_arena *a, const Helpdesk__V1__CreateCustomerRequest *req,
                        const hd_customers_actor *actor, Helpdesk__V1__Customer **out, hd_err *err)
{
    size_t n = req->email ? strlen(req->email) : 0;
    if (n == 0)
        return hd_err_set(err, HD_EINVAL, "email: required");
    if (!hd_validate_email(req->email, n))
        return hd_err_set(err, HD_EINVAL, "email: not an email address");
    int rc = hd_record_check_line("name", req->name, HD_CUSTOMERS_NAME_MAX, 0, err);
    if (rc != HD_OK)
        return rc;
    op_args o = {.a = a,
                 .now = hd_clock_now_ms(),
                 .actor = actor,
                 .name = req->name,
                 .org_id = req->organization_id};
    o.email = hd_record_lower(a, req->email);
    if (!o.email)
        return hd_err_set(err, HD_ENOMEM, "customers: out of memory");
    rc = hd_store_write(s, customer_create_apply, &o, err);
    if (rc == HD_OK)
        *out = o.cout;
    return rc;
}

static int customer_update_apply(hd_txn *txn, void *argp, hd_err *err)
{
    op_args *o = argp;
    Helpdesk__V1__Customer *c = NULL;
    int rc = hd_customers_get(txn, o->a, o->id, &c, err);
    if (rc != HD_OK)
        return rc;
    if (o->name && *o->name)
        c->name = (char *)o->name;
    if (o->clear_org)
        c->organization_id = 0;
    else if (o->org_id) {
        rc = org_exists(txn, o->a, o->org_id, err);
        if (rc != HD_OK)
            return rc;
        c->organization_id = o->org_id;
    }
    hd_key k;
    rc = hd_store_put_msg(txn, HD_STORE_CUSTOMERS, hd_tickets_key_id(&k, c->id), &c->base, 0, err);
    if (rc == HD_OK) {
        char detail[64];
        snprintf(detail, sizeof(detail), "organization=%" PRIu64, c->organization_id);
        rc = audit(txn, o, "customer.update", "customer", c->id, detail, err);
    }
    if (rc == HD_OK)
        o->cout = c;
    return rc;
}

int hd_customers_update(hd_store *s, hd_arena *a, const Helpdesk__V1__UpdateCustomerRequest *req,
                        const hd_customers_actor *actor, Helpdesk__V1__Customer **out, hd_err *err)
{
    if (req->id == 0)
        return hd_err_set(err, HD_EINVAL, "id: required");
    int rc = hd_record_check_line("name", req->name, HD_CUSTOMERS_NAME_MAX, 0, err);
    if (rc != HD_OK)
        return rc;
    op_args o = {.a = a,
                 .now = hd_clock_now_ms(),
                 .actor = actor,
                 .id = req->id,
                 .name = req->name,
                 .org_id = req->organization_id,
                 .clear_org = req->clear_organization};
    rc = hd_store_write(s, customer_update_apply, &o, err);
    if (rc == HD_OK)
        *out = o.cout;
    return rc;
}

static int org_apply(hd_txn *txn, void *argp, hd_err *err)
{
    op_args *o = argp;
    Helpdesk__V1__Organization *g = NULL;
    int rc;
    if (o->id) {
        rc = hd_customers_org_get(txn, o->a, o->id, &g, err);
        if (rc != HD_OK)
            return rc;
    } else {
        g = hd_arena_alloc(o->a, sizeof(*g));
        if (!g)
            return hd_err_set(err, HD_ENOMEM, "customers: out of memory");
        helpdesk__v1__organization__init(g);
        rc = hd_store_seq_next(txn, HD_CUSTOMERS_SEQ_ORG, &g->id, err);
        if (rc != HD_OK)
            return rc;
        g->create_time = hd_record_time(o->a, o->now);
        if (!g->create_time)
            return hd_err_set(err, HD_ENOMEM, "customers: out of memory");
    }
    if (o->name && *o->name)
        g->name = (char *)o->name;
    g->shared_tickets = o->shared;
    hd_key k;
    rc = hd_store_put_msg(txn, HD_STORE_ORGANIZATIONS, org_key(&k, g->id), &g->base, 0, err);
    if (rc == HD_OK)
        rc = audit(txn, o, o->id ? "organization.update" : "organization.create", "organization",
                   g->id, o->shared ? "shared_tickets=true" : "shared_tickets=false", err);
    if (rc == HD_OK)
        o->oout = g;
    return rc;
}

static int org_write(hd_store *s, hd_arena *a, uint64_t id, const char *name, bool shared,
                     const hd_customers_actor *actor, Helpdesk__V1__Organization **out, hd_err *err)
{
    int rc = hd_record_check_line("name", name, HD_CUSTOMERS_NAME_MAX, id == 0, err);
    if (rc != HD_OK)
        return rc;
    op_args o = {
        .a = a, .now = hd_clock_now_ms(), .actor = actor, .id = id, .name = name, .shared = shared};
    rc = hd_store_write(s, org_apply, &o, err);
    if (rc == HD_OK)
        *out = o.oout;
    return rc;
}

int hd_customers_org_create(hd_store *s, hd_arena *a, const char *name, bool shared_tickets,
                            const hd_customers_actor *actor, Helpdesk__V1__Organization **out,
                            hd_err *err)
{
    return org_write(s, a, 0, name, shared_tickets, actor, out, err);
}

int hd_customers_org_update(hd_store *s, hd_arena *a, uint64_t id, const char *name,
                            bool shared_tickets, const hd_customers_actor *actor,
                            Helpdesk__V1__Organization **out, hd_err *err)
{
    if (id == 0)
        return hd_err_set(err, HD_EINVAL, "id: required");
    return org_write(s, a, id, name, shared_tickets, actor, out, err);
}
