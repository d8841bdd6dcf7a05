/* Read-time annotations of a ticket by other rooms: facts kept outside the TICKETS record
 * that a reader of the ticket must see. The mail room installs one at start-up that lists the
 * undeliverable addresses of the ticket's people (Ticket.undeliverable); hd_tickets_get runs
 * it inside its read snapshot, and a sent staff reply on the copy it hands back. Nothing is
 * stored: the annotation reflects the other room's records at read time. */
#ifndef HD_TICKETS_ANNOTATE_H
#define HD_TICKETS_ANNOTATE_H

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"

/* Fills read-only fields of t (in a's memory) from txn (a read, or the reply's write
 * transaction). Must be thread-safe (readers run on many threads) and must not write. Returns 0 or
 * an hd_ error that fails the read. */
typedef int (*hd_tickets_annotate_fn)(void *ud, hd_txn *txn, hd_arena *a, Helpdesk__V1__Ticket *t,
                                      hd_err *err);

/* Installs fn with ud (NULL removes it). Only at start-up, before reads run. */
void hd_tickets_annotate_set(hd_tickets_annotate_fn fn, void *ud);

/* Runs the installed function on t, or does nothing. Returns 0 or its error. */
int hd_tickets_annotate(hd_txn *txn, hd_arena *a, Helpdesk__V1__Ticket *t, hd_err *err);

#endif
