/* The customer domain: customers (shared with ticket creation, which creates them on first
 * sight of an email) and organizations, whose shared_tickets flag lets members see each
 * other's tickets. Knows tables and rules, nothing of gRPC. */
#ifndef HD_CUSTOMERS_CUSTOMERS_H
#define HD_CUSTOMERS_CUSTOMERS_H

#include <stdbool.h>
#include <stdint.h>

#include "helpdesk/v1/customers.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"

#define HD_CUSTOMERS_NAME_MAX 256 /* characters of a customer or organization name */

/* Sequence of organization ids (customers use HD_TICKETS_SEQ_CUSTOMER). */
#define HD_CUSTOMERS_SEQ_ORG "organization"

/* Who acts, for audit events (helpdesk.v1.ActorKind and id). */
typedef struct hd_customers_actor {
    int kind;
    uint64_t id;
} hd_customers_actor;

/* Reads customer id into arena memory (borrowed until it resets). Read or write txn.
 * Returns 0, HD_ENOTFOUND ("customer 7: not found"), HD_ECORRUPT, HD_ENOMEM. */
int hd_customers_get(hd_txn *txn, hd_arena *a, uint64_t id, Helpdesk__V1__Customer **out,
                     hd_err *err);

/* Reads organization id likewise. Returns 0, HD_ENOTFOUND ("organization 3: not found"), ... */
int hd_customers_org_get(hd_txn *txn, hd_arena *a, uint64_t id, Helpdesk__V1__Organization **out,
                         hd_err *err);

/* The organization of customer id when it shares tickets, else 0 in *org. Returns 0 or a
 * store error (a missing customer or organization is 0, not an error). */
int hd_customers_shared_org(hd_txn *txn, uint64_t customer_id, uint64_t *org, hd_err *err);

/* Finds a customer by email (any case) from one snapshot of s. Returns 0 with *out in arena
 * memory, HD_ENOTFOUND ("email: no customer"), HD_EINVAL. */
int hd_customers_lookup(hd_store *s, hd_arena *a, const char *email, Helpdesk__V1__Customer **out,
                        hd_err *err);

/* Reads customer id from one snapshot of s. Returns as hd_customers_get. */
int hd_customers_read(hd_store *s, hd_arena *a, uint64_t id, Helpdesk__V1__Customer **out,
                      hd_err *err);

/* Reads organization id from one snapshot of s. Returns as hd_customers_org_get. */
int hd_customers_org_read(hd_store *s, hd_arena *a, uint64_t id, Helpdesk__V1__Organization **out,
                          hd_err *err);

/* Creates a customer (email required and unique; organization must exist when non-zero).
 * Returns 0 with *out in arena memory, HD_EINVAL naming the field, HD_EEXIST, HD_ENOTFOUND
 * ("organization_id: no organization 3"), or a store error. */
int hd_customers_create(hd_store *s, hd_arena *a, const Helpdesk__V1__CreateCustomerRequest *req,
                        const hd_customers_actor *actor, Helpdesk__V1__Customer **out, hd_err *err);

/* Renames and/or moves customer req->id. Returns 0 with *out, HD_EINVAL, HD_ENOTFOUND. */
int hd_customers_update(hd_store *s, hd_arena *a, const Helpdesk__V1__UpdateCustomerRequest *req,
                        const hd_customers_actor *actor, Helpdesk__V1__Customer **out, hd_err *err);

/* Creates an organization. Returns 0 with *out, HD_EINVAL, or a store error. */
int hd_customers_org_create(hd_store *s, hd_arena *a, const char *name, bool shared_tickets,
                            const hd_customers_actor *actor, Helpdesk__V1__Organization **out,
                            hd_err *err);

/* Renames organization id (name non-empty) and sets shared_tickets. Returns 0 with *out,
 * HD_EINVAL, HD_ENOTFOUND. */
int hd_customers_org_update(hd_store *s, hd_arena *a, uint64_t id, const char *name,
                            bool shared_tickets, const hd_customers_actor *actor,
                            Helpdesk__V1__Organization **out, hd_err *err);

#endif
