/* What every ticket-working mutation (assign, auto-assign, escalate, merge, link) carries:
 * who acts and when, the arena results are built in, an access hook run inside the
 * transaction on each ticket touched, and the events committed for the bus. */
#ifndef HD_TICKETS_WORK_H
#define HD_TICKETS_WORK_H

#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"
#include "server/tickets/change.h"
#include "server/tickets/tickets.h"

/* Decides whether the actor may change ticket t (borrowed for the call), inside the
 * mutation's write transaction. Returns 0 (allowed) or an hd_ error that fails it. */
typedef int (*hd_tickets_check_fn)(void *ud, hd_txn *txn, const Helpdesk__V1__Ticket *t,
                                   hd_err *err);

typedef struct hd_tickets_work {
    hd_tickets_actor actor;
    int64_t now_ms;            /* from hd_clock_now_ms on the caller's thread */
    hd_arena *arena;           /* results live here; used by the writer thread until done */
    hd_tickets_check_fn check; /* NULL = everything allowed (tests, internal callers) */
    void *check_ud;
    hd_tickets_committed committed; /* reset at every apply; publish in done when code 0 */
} hd_tickets_work;

/* Begins an edit of ticket_id for w (hd_tickets_edit_begin with w's actor, time, arena and
 * committed list) and runs w's check hook on the stored ticket. Returns 0, the engine's
 * errors or the hook's. */
int hd_tickets__work_begin(hd_tickets_edit *e, hd_txn *txn, hd_tickets_work *w, uint64_t ticket_id,
                           hd_err *err);

#endif
