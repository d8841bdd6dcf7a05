/* The change engine shared by every mutation of an existing ticket (update, reply, note,
 * rate, assign, escalate, merge, link, ...). Inside the mutation's store apply function:
 *
 *     hd_tickets_edit e;
 *     rc = hd_tickets_edit_begin(&e, txn, arena, ticket_id, &actor, now_ms, committed, err);
 *     e.t->priority = ...;                                 // change the working copy
 *     rc = hd_tickets_edit_status(&e, TICKET_STATUS_OPEN, err);   // lifecycle-checked
 *     rc = hd_tickets_edit_message(&e, AUTHOR_KIND_STAFF, id, body, err);  // optional
 *     rc = hd_tickets_edit_fact(&e, "escalated_to", "", "group 7", err);   // optional
 *     rc = hd_tickets_edit_commit(&e, TICKET_EVENT_KIND_..., err);
 *
 * commit diffs the working copy against the stored ticket, refuses changes a closed or
 * merged ticket does not take (lifecycle.h), moves the index entries (IDX_STATUS,
 * IDX_ASSIGNEE, IDX_TAG, IDX_CATEGORY, IDX_UPDATED), bumps update_time, writes the ticket,
 * appends one audit event (actor, time, kind, before/after of every changed field plus the
 * facts), keeps the status rollups, runs the observers (observer.h) and records the event
 * in `committed` so the mutation's done callback can publish it (bus.h) once durable. */
#ifndef HD_TICKETS_CHANGE_H
#define HD_TICKETS_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"
#include "server/tickets/tickets.h"

/* Most extra facts (hd_tickets_edit_fact) per event. */
#define HD_TICKETS_FACTS_MAX 8

/* hd_tickets_committed is declared in tickets.h (create fills one too). */

/* Empties c (call at the start of each apply). */
void hd_tickets_committed_reset(hd_tickets_committed *c);

/* One ticket being changed inside a write transaction. Fields are public so callers can
 * read them; change only `t` (and only through the helpers for status and messages). */
typedef struct hd_tickets_edit {
    hd_txn *txn;
    hd_arena *arena;
    hd_tickets_actor actor;
    int64_t now_ms;
    const Helpdesk__V1__Ticket *before; /* as stored; never modify */
    Helpdesk__V1__Ticket *t;            /* working copy: change fields, then commit */
    hd_tickets_committed *committed;    /* may be NULL */
    /* Set by the helpers, written into the event by commit. */
    const Helpdesk__V1__Message *message; /* public message added (hd_tickets_edit_message) */
    uint64_t note_id;                     /* note or draft concerned, for the event */
    uint64_t related_ticket_id;           /* other ticket concerned, for the event */
    size_t n_facts;
    Helpdesk__V1__FieldChange *facts[HD_TICKETS_FACTS_MAX];
    bool reopening; /* set by hd_tickets_edit_reopen_closed: the CLOSED ticket takes this edit */
    /* Result of commit: the event written (NULL when nothing changed). */
    Helpdesk__V1__TicketEvent *event;
} hd_tickets_edit;

/* Loads ticket_id in txn (a write transaction) into arena memory: e->before and a separate
 * working copy e->t. actor may be NULL (SYSTEM); committed may be NULL. Returns 0,
 * HD_ENOTFOUND ("ticket 42: not found"), HD_ECORRUPT, HD_ENOMEM or the store's errors. */
int hd_tickets_edit_begin(hd_tickets_edit *e, hd_txn *txn, hd_arena *a, uint64_t ticket_id,
                          const hd_tickets_actor *actor, int64_t now_ms,
                          hd_tickets_committed *committed, hd_err *err);

/* Moves the working copy to status `to` if the lifecycle allows it from the stored status
 * (lifecycle.h); sets solve_time when it becomes SOLVED and close_time when it becomes
 * CLOSED. Returns 0, HD_EINVAL (unknown status), HD_ENOMEM or HD_ESTATE ("status: cannot
 * move from CLOSED to OPEN"). */
int hd_tickets_edit_status(hd_tickets_edit *e, Helpdesk__V1__TicketStatus to, hd_err *err);

/* Reopens a CLOSED ticket: status OPEN, close_time cleared, and the edit may then change
 * the ticket (commit skips the closed-ticket check). Only for a customer message the
 * lifecycle lets through (hd_tickets_lifecycle_reopen_in_grace); the caller decides that.
 * Returns 0 or HD_ESTATE when the stored ticket is not CLOSED. */
int hd_tickets_edit_reopen_closed(hd_tickets_edit *e, hd_err *err);

/* Appends a public message (body borrowed until commit; must be validated) to the ticket:
 * writes the MESSAGES record, bumps message_count, sets first_response_time on the first
 * staff message. At most one per edit. Returns 0, HD_ESTATE (a second message), HD_ENOMEM
 * or the store's errors; *out (may be NULL) gets the message, borrowed from the arena. */
int hd_tickets_edit_message(hd_tickets_edit *e, Helpdesk__V1__AuthorKind kind, uint64_t author_id,
                            const char *body, const Helpdesk__V1__Message **out, hd_err *err);

/* Records a change that is not a Ticket field (e.g. "note", "escalated_to", "link") in the
 * event. Strings are copied. Returns 0, HD_EFULL (more than HD_TICKETS_FACTS_MAX) or
 * HD_ENOMEM. */
int hd_tickets_edit_fact(hd_tickets_edit *e, const char *field, const char *before,
                         const char *after, hd_err *err);

/* Commits the edit as one event of kind (see the header comment). When neither a field, a
 * message nor a fact changed, writes nothing and returns 0 with e->event NULL. Returns 0,
 * HD_ESTATE (the ticket is closed or merged and takes no change of this kind), HD_EFULL
 * (committed list full), an observer's error, HD_ENOMEM or the store's errors. */
int hd_tickets_edit_commit(hd_tickets_edit *e, Helpdesk__V1__TicketEventKind kind, hd_err *err);

/* Index entries of ticket t (IDX_STATUS, IDX_CUSTOMER, IDX_ASSIGNEE, IDX_TAG, IDX_CATEGORY,
 * IDX_UPDATED, IDX_GROUP and IDX_ORG when non-zero; not IDX_NUMBER) moved from before (NULL: none
 * yet) to after, touching only entries whose values changed. For create and the engine. Returns 0
 * or the store's errors. */
int hd_tickets_index_move(hd_txn *txn, const Helpdesk__V1__Ticket *before,
                          const Helpdesk__V1__Ticket *after, hd_err *err);

/* Milliseconds since the epoch of a Timestamp (0 for NULL). */
int64_t hd_tickets_ts_ms(const Google__Protobuf__Timestamp *ts);

/* A Timestamp of ms in arena memory, or NULL when out of memory. */
Google__Protobuf__Timestamp *hd_tickets_ts_new(hd_arena *a, int64_t ms);

#endif
