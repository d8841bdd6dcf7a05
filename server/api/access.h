/* Object-level access control for tickets, used by every ticket handler after the method's
 * permission passed (perm.h): admin and manager see every ticket; an agent the tickets of
 * their groups and those assigned to them; a service per the scopes on its token; a customer
 * their own tickets (and, read-only, their organization's when it shares tickets), public
 * messages only, never notes. A refused customer gets NOT_FOUND with the same text as a
 * missing ticket (no existence leak); refused staff and services get PERMISSION_DENIED. */
#ifndef HD_API_ACCESS_H
#define HD_API_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/err.h"
#include "server/rpc/rpc.h"
#include "server/store/store.h"
#include "server/tickets/tickets.h"

/* What the caller wants to do with a ticket. */
typedef enum hd_access_op {
    HD_ACCESS_READ = 0,   /* view the ticket, its public messages and timeline */
    HD_ACCESS_REPLY = 1,  /* add a public message, rate it (customers: own tickets only) */
    HD_ACCESS_MANAGE = 2, /* change fields/status, assign, escalate, merge, link (staff) */
    HD_ACCESS_NOTES = 3,  /* read or write internal notes (staff and services only) */
} hd_access_op;

/* Most groups of one agent that the scope holds. */
#define HD_ACCESS_GROUPS_MAX 64

/* What one caller may reach, loaded once per call (one staff or customer lookup), then
 * checked against any number of tickets. A value type, no heap memory. */
typedef struct hd_access_scope {
    hd_principal_kind kind;
    uint64_t id;      /* staff, service-token or customer id */
    int role;         /* helpdesk.v1.Role for staff (the current one from the store) */
    uint64_t scopes;  /* permission bits of a service token (perm.h hd_perm_bit) */
    bool all_tickets; /* admin, manager: every ticket */
    uint64_t groups[HD_ACCESS_GROUPS_MAX]; /* agent's groups, ascending */
    size_t n_groups;
    uint64_t organization_id; /* customer's organization if it shares tickets, else 0 */
} hd_access_scope;

/* Fills *out for who, reading the staff record (groups, current role) or the customer's
 * organization through txn (read or write). A staff identity without a record (the bootstrap
 * admin) keeps the role the auth hook gave it, with no groups. Returns 0, HD_EUNAUTH (member
 * deactivated), or a store error. */
int hd_access_scope_load(hd_access_scope *out, hd_txn *txn, const hd_identity *who, hd_err *err);

/* Whether the scope may do op on ticket t. txn is needed only for a customer looking at
 * another customer's ticket (to read that customer's organization); it may be NULL otherwise.
 * Returns 0 (allowed), HD_ENOTFOUND for customers ("ticket <id>: not found", exactly as a
 * missing ticket), HD_EPERM for staff and services ("ticket <id>: agent 7 is not in group 3"),
 * or a store error. */
int hd_access_ticket_scope(const hd_access_scope *s, hd_txn *txn, const Helpdesk__V1__Ticket *t,
                           hd_access_op op, hd_err *err);

/* hd_access_scope_load + hd_access_ticket_scope in one read transaction of store (for
 * handlers that already read the ticket). Not inside a store mutation (use the txn forms).
 * Returns as hd_access_ticket_scope, plus HD_EFULL/HD_EIO from the read. */
int hd_access_ticket(hd_store *store, const hd_identity *who, const Helpdesk__V1__Ticket *t,
                     hd_access_op op, hd_err *err);

/* Reads ticket id (record only, no thread) and checks op on it for who, in one read
 * transaction. A ticket that does not exist passes (returns 0) so that the domain operation
 * reports it with its own NOT_FOUND. Returns as hd_access_ticket. */
int hd_access_ticket_id(hd_store *store, const hd_identity *who, uint64_t ticket_id,
                        hd_access_op op, hd_err *err);

/* Keeps, in order, only the tickets of v[0..*n) that who may READ; sets *n to how many are
 * left (a page may come back short: its next_page_token still continues the scan). One read
 * transaction. Returns 0 or a store error. */
int hd_access_filter(hd_store *store, const hd_identity *who, Helpdesk__V1__Ticket **v, size_t *n,
                     hd_err *err);

/* Restricts ticket list q to what who may see, so that the list is read from the scope's
 * indexes and its pages come back full (hd_tickets_query's scope): an agent their groups'
 * tickets and those assigned to them, a customer their own and their organization's when it
 * shares tickets, staff other than admins and managers nothing; admins, managers and
 * services are not restricted. Fills *s (one staff or customer lookup in its own read
 * transaction), whose group ids q then borrows: s must outlive q. Returns 0, HD_EUNAUTH
 * (member deactivated) or a store error. */
int hd_access_list_scope(hd_access_scope *s, hd_store *store, const hd_identity *who,
                         hd_tickets_query *q, hd_err *err);

/* Whether the caller may ever see internal notes (false for customers). No store access. */
bool hd_access_sees_notes(const hd_identity *who);

/* The customer id a ticket list must be restricted to: the caller's id for customers, 0
 * (no restriction from this rule) for everyone else. Lists use hd_access_list_scope. */
uint64_t hd_access_list_customer(const hd_identity *who);

/* The audit actor of who: *kind gets a helpdesk.v1.ActorKind (SYSTEM when no identity),
 * *id the staff, service-token or customer id. */
void hd_access_actor(const hd_identity *who, int *kind, uint64_t *id);

#endif
