/* Object-level ticket access: one scope per call (a staff or customer lookup), then a pure
 * check per ticket (a second customer lookup only for organization sharing). */
#include "server/api/access.h"

#include <inttypes.h>
#include <string.h>

#include "helpdesk/v1/auth.pb-c.h"
#include "helpdesk/v1/common.pb-c.h"
#include "server/api/perm.h"
#include "server/customers/customers.h"
#include "server/staff/staff.h"
#include "server/tickets/tickets.h"

int hd_access_scope_load(hd_access_scope *out, hd_txn *txn, const hd_identity *who, hd_err *err)
{
    memset(out, 0, sizeof(*out));
    out->kind = who->kind;
    out->id = who->id;
    out->role = who->role;
    out->scopes = who->scopes;
    int rc = HD_OK;
    switch (who->kind) {
    case HD_PRINCIPAL_STAFF: {
        hd_arena *a = hd_arena_create(1024);
        if (!a)
            return hd_err_set(err, HD_ENOMEM, "access: out of memory");
        Helpdesk__V1__Staff *s = NULL;
        rc = hd_staff_get(txn, a, who->id, &s, err);
        if (rc == HD_ENOTFOUND) {
            /* The auth hook vouched for the token (it refuses members that are gone): use its
             * role, with no groups. */
            hd_err_clear(err);
            hd_arena_destroy(a);
            out->all_tickets = who->role == HELPDESK__V1__ROLE__ROLE_ADMIN ||
                               who->role == HELPDESK__V1__ROLE__ROLE_MANAGER;
            return HD_OK;
        }
        if (rc == HD_OK && !s->active)
            rc = hd_err_set(err, HD_EUNAUTH, "staff %" PRIu64 ": not an active member", who->id);
        if (rc == HD_OK) {
            out->role = (int)s->role;
            out->all_tickets = s->role == HELPDESK__V1__ROLE__ROLE_ADMIN ||
                               s->role == HELPDESK__V1__ROLE__ROLE_MANAGER;
            for (size_t i = 0; i < s->n_group_ids && out->n_groups < HD_ACCESS_GROUPS_MAX; i++)
                out->groups[out->n_groups++] = s->group_ids[i];
        }
        hd_arena_destroy(a);
        return rc;
    }
    case HD_PRINCIPAL_SERVICE:
        out->all_tickets = (who->scopes & hd_perm_bit(HD_PERM_TICKET_READ)) != 0;
        return HD_OK;
    case HD_PRINCIPAL_CUSTOMER:
        return hd_customers_shared_org(txn, who->id, &out->organization_id, err);
    default:
        return hd_err_set(err, HD_EUNAUTH, "no caller identity");
    }
}

static bool in_groups(const hd_access_scope *s, uint64_t g)
{
    for (size_t i = 0; i < s->n_groups; i++)
        if (s->groups[i] == g)
            return true;
    return false;
}

static int not_found(const Helpdesk__V1__Ticket *t, hd_err *err)
{
    return hd_err_set(err, HD_ENOTFOUND, "ticket %" PRIu64 ": not found", t->id);
}

static int customer_check(const hd_access_scope *s, hd_txn *txn, const Helpdesk__V1__Ticket *t,
                          hd_access_op op, hd_err *err)
{
    if (op == HD_ACCESS_NOTES || op == HD_ACCESS_MANAGE)
        return t->customer_id == s->id
                   ? hd_err_set(err, HD_EPERM, "ticket %" PRIu64 ": customers may not do this",
                                t->id)
                   : not_found(t, err);
    if (t->customer_id == s->id)
        return HD_OK;
    if (op != HD_ACCESS_READ || s->organization_id == 0 || !txn)
        return not_found(t, err);
    uint64_t org = 0;
    int rc = hd_customers_shared_org(txn, t->customer_id, &org, err);
    if (rc != HD_OK)
        return rc;
    return org == s->organization_id ? HD_OK : not_found(t, err);
}

int hd_access_ticket_scope(const hd_access_scope *s, hd_txn *txn, const Helpdesk__V1__Ticket *t,
                           hd_access_op op, hd_err *err)
{
    switch (s->kind) {
    case HD_PRINCIPAL_CUSTOMER:
        return customer_check(s, txn, t, op, err);
    case HD_PRINCIPAL_SERVICE: {
        uint32_t need = op == HD_ACCESS_READ ? HD_PERM_TICKET_READ : HD_PERM_TICKET_WRITE;
        if (op == HD_ACCESS_NOTES && (s->scopes & hd_perm_bit(HD_PERM_TICKET_READ)))
            return HD_OK;
        if (s->scopes & hd_perm_bit(need))
            return HD_OK;
        return hd_err_set(err, HD_EPERM, "ticket %" PRIu64 ": token lacks scope %s", t->id,
                          hd_perm_name(need));
    }
    case HD_PRINCIPAL_STAFF:
        if (s->all_tickets)
            return HD_OK;
        if (s->role == HELPDESK__V1__ROLE__ROLE_AGENT &&
            ((t->assignee_id && t->assignee_id == s->id) ||
             (t->group_id && in_groups(s, t->group_id))))
            return HD_OK;
        return hd_err_set(err, HD_EPERM,
                          "ticket %" PRIu64 ": agent %" PRIu64 " is not in group %" PRIu64
                          " nor the assignee",
                          t->id, s->id, t->group_id);
    default:
        return hd_err_set(err, HD_EUNAUTH, "no caller identity");
    }
}

int hd_access_ticket(hd_store *store, const hd_identity *who, const Helpdesk__V1__Ticket *t,
                     hd_access_op op, hd_err *err)
{
    hd_txn *txn;
    int rc = hd_store_read_begin(store, &txn, err);
    if (rc != HD_OK)
        return rc;
    hd_access_scope s;
    rc = hd_access_scope_load(&s, txn, who, err);
    if (rc == HD_OK)
        rc = hd_access_ticket_scope(&s, txn, t, op, err);
    hd_store_read_end(txn);
    return rc;
}

int hd_access_ticket_id(hd_store *store, const hd_identity *who, uint64_t ticket_id,
                        hd_access_op op, hd_err *err)
{
    hd_txn *txn;
    int rc = hd_store_read_begin(store, &txn, err);
    if (rc != HD_OK)
        return rc;
    hd_arena *a = hd_arena_create(2048);
    if (!a) {
        hd_store_read_end(txn);
        return hd_err_set(err, HD_ENOMEM, "access: out of memory");
    }
    hd_key k;
    ProtobufCMessage *m = NULL;
    rc = hd_store_get_msg(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, ticket_id),
                          &helpdesk__v1__ticket__descriptor, a, &m, err);
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(err);
        rc = HD_OK;
    } else if (rc == HD_OK) {
        hd_access_scope s;
        rc = hd_access_scope_load(&s, txn, who, err);
        if (rc == HD_OK)
            rc = hd_access_ticket_scope(&s, txn, (Helpdesk__V1__Ticket *)m, op, err);
    }
    hd_store_read_end(txn);
    hd_arena_destroy(a);
    return rc;
}

int hd_access_filter(hd_store *store, const hd_identity *who, Helpdesk__V1__Ticket **v, size_t *n,
                     hd_err *err)
{
    hd_txn *txn;
    int rc = hd_store_read_begin(store, &txn, err);
    if (rc != HD_OK)
        return rc;
    hd_access_scope s;
    rc = hd_access_scope_load(&s, txn, who, err);
    size_t kept = 0;
    for (size_t i = 0; i < *n && rc == HD_OK; i++) {
        hd_err e;
        int ok = hd_access_ticket_scope(&s, txn, v[i], HD_ACCESS_READ, &e);
        if (ok == HD_OK)
            v[kept++] = v[i];
        else if (ok != HD_EPERM && ok != HD_ENOTFOUND)
            rc = hd_err_set(err, ok, "%s", e.detail);
    }
    hd_store_read_end(txn);
    if (rc == HD_OK)
        *n = kept;
    return rc;
}

int hd_access_list_scope(hd_access_scope *s, hd_store *store, const hd_identity *who,
                         hd_tickets_query *q, hd_err *err)
{
    hd_txn *txn;
    int rc = hd_store_read_begin(store, &txn, err);
    if (rc != HD_OK)
        return rc;
    rc = hd_access_scope_load(s, txn, who, err);
    hd_store_read_end(txn);
    if (rc != HD_OK)
        return rc;
    if (s->kind == HD_PRINCIPAL_CUSTOMER) {
        q->scoped = true;
        q->scope_customer = s->id;
        q->scope_org = s->organization_id;
    } else if (s->kind == HD_PRINCIPAL_STAFF && !s->all_tickets) {
        q->scoped = true;
        if (s->role == HELPDESK__V1__ROLE__ROLE_AGENT) {
            q->scope_groups = s->groups;
            q->n_scope_groups = s->n_groups;
            q->scope_assignee = s->id;
        }
    }
    return HD_OK;
}

bool hd_access_sees_notes(const hd_identity *who)
{
    return who->kind == HD_PRINCIPAL_STAFF || who->kind == HD_PRINCIPAL_SERVICE;
}

uint64_t hd_access_list_customer(const hd_identity *who)
{
    return who->kind == HD_PRINCIPAL_CUSTOMER ? who->id : 0;
}

void hd_access_actor(const hd_identity *who, int *kind, uint64_t *id)
{
    *id = who ? who->id : 0;
    switch (who ? who->kind : HD_PRINCIPAL_NONE) {
    case HD_PRINCIPAL_STAFF:
        *kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF;
        break;
    case HD_PRINCIPAL_SERVICE:
        *kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SERVICE;
        break;
    case HD_PRINCIPAL_CUSTOMER:
        *kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_CUSTOMER;
        break;
    default:
        *kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM;
        *id = 0;
    }
}
