/* Where a sent staff reply goes out by email: the reply mutation calls
 * hd_tickets_outbox_enqueue inside its transaction for tickets of the EMAIL channel. The
 * mail room owns the OUTBOX record (mail.proto OutboxMessage) and may install its own
 * enqueue function at start-up (threading headers, mailbox choice); until it does, a
 * built-in writer stores a PENDING OutboxMessage addressed to the ticket's customer. */
#ifndef HD_TICKETS_OUTBOX_HOOK_H
#define HD_TICKETS_OUTBOX_HOOK_H

#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"

/* Sequence of outbox ids (shared with the mail room). */
#define HD_TICKETS_SEQ_OUTBOX "outbox"

/* Queues mail m of ticket t (both borrowed for the call) in txn. Runs on the writer thread
 * inside the reply's transaction; must be replayable. m->attachments (a staff reply's file
 * references) are checked here, where the content store is known, and their sizes written
 * into m->attachments[i]->size before the reply stores m. Returns 0 or an hd_ error that
 * fails the reply (e.g. HD_EINVAL naming an unknown attachment). */
typedef int (*hd_tickets_outbox_fn)(void *ud, hd_txn *txn, hd_arena *a,
                                    const Helpdesk__V1__Ticket *t, const Helpdesk__V1__Message *m,
                                    int64_t now_ms, hd_err *err);

/* Installs fn (NULL restores the built-in writer). Only at start-up, before mutations run. */
void hd_tickets_outbox_set(hd_tickets_outbox_fn fn, void *ud);

/* Checks a staff reply's or draft's attachment references v[0..n) (v and its entries
 * borrowed for the call) against the content store in txn and writes each one's size into
 * v[i]->size. Runs on the writer thread inside the mutation's transaction; must be
 * replayable. Returns 0 or an hd_ error that fails the mutation (HD_EINVAL naming the entry,
 * "attachments[1].sha256: no uploaded content with this hash", or the totals). */
typedef int (*hd_tickets_attach_check_fn)(void *ud, hd_txn *txn, Helpdesk__V1__Attachment **v,
                                          size_t n, hd_err *err);

/* Installs fn (NULL: no content store, references are kept as given). Only at start-up,
 * before mutations run; the mail room installs its checker with its outbox hook. */
void hd_tickets_attach_check_set(hd_tickets_attach_check_fn fn, void *ud);

/* Checks v[0..n) through the installed function; without one (no mail room, so nothing
 * could send them) returns 0 and leaves the sizes as they are. Returns 0 or the checker's
 * error. */
int hd_tickets_attach_check(hd_txn *txn, Helpdesk__V1__Attachment **v, size_t n, hd_err *err);

/* Queues the reply through the installed function or the built-in writer (which neither
 * checks nor carries attachments: it runs only without the mail room), which stores an
 * OutboxMessage (kind REPLY, to the customer's email, subject and body of the reply, a fixed
 * rfc_message_id "<number>.<message id>@helpdesk.invalid", state PENDING, due now) under a
 * new id from HD_TICKETS_SEQ_OUTBOX. Returns 0, HD_ENOTFOUND (customer record missing),
 * HD_ENOMEM or the store's errors. */
int hd_tickets_outbox_enqueue(hd_txn *txn, hd_arena *a, const Helpdesk__V1__Ticket *t,
                              const Helpdesk__V1__Message *m, int64_t now_ms, hd_err *err);

#endif
