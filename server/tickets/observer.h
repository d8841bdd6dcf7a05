/* In-transaction observers of ticket changes. Every ticket mutation (create, update, reply,
 * note, assign, escalate, merge, rate, ...) ends by calling hd_tickets_notify with the
 * ticket before and after, the audit event and the message it added, inside the same write
 * transaction. Modules that derive state from tickets (metric rollups, SLA clocks, the
 * mail outbox) register an observer at start-up instead of being called from each
 * mutation, so a new mutation cannot forget one and derived state commits atomically with
 * the change (a failing observer undoes the whole mutation). */
#ifndef HD_TICKETS_OBSERVER_H
#define HD_TICKETS_OBSERVER_H

#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"

/* One change, as observers see it. Everything is borrowed for the duration of the call. */
typedef struct hd_ticket_change {
    hd_txn *txn;                            /* the mutation's write transaction */
    hd_arena *arena;                        /* scratch memory, reset by the mutation's owner */
    const Helpdesk__V1__Ticket *before;     /* NULL when the ticket was just created */
    const Helpdesk__V1__Ticket *after;      /* the ticket as stored by this change */
    const Helpdesk__V1__TicketEvent *event; /* the audit event (kind, actor, changes) */
    const Helpdesk__V1__Message *message;   /* public message added by the change, or NULL */
    int64_t now_ms;                         /* the mutation's time (hd_clock_now_ms at prepare) */
} hd_ticket_change;

/* An observer. Runs on the store's writer thread inside the mutation's transaction; may read
 * and write any table. Returns 0, or an hd_ error (detail in err) that fails the mutation.
 * Must be replayable like any mutation (no side effects outside txn). */
typedef int (*hd_ticket_observer_fn)(void *ud, const hd_ticket_change *c, hd_err *err);

/* Most observers one process registers. */
#define HD_TICKETS_OBSERVERS_MAX 16

/* Registers fn(ud, ...) to run on every later change, after those registered before it.
 * Only during start-up, before any mutation runs (not thread-safe against notify).
 * Returns 0, HD_EEXIST (fn with ud already registered) or HD_EFULL. */
int hd_tickets_observe(hd_ticket_observer_fn fn, void *ud);

/* Removes every observer (for tests and for a clean shutdown). */
void hd_tickets_observers_clear(void);

/* Runs every registered observer on c in registration order; stops at and returns the first
 * error. Called by ticket mutations only. */
int hd_tickets_notify(const hd_ticket_change *c, hd_err *err);

#endif
