/* Addresses mail cannot reach (MAILSTATE, HD_MAILKEY_UNDELIVERABLE + lower-case address ->
 * UndeliverableAddress). A permanent (5.x.x) delivery status report marks its recipient;
 * the outbox then sends nothing to the address, and every ticket whose requester or mail
 * participant it is shows the mark (Ticket.undeliverable, filled on read by
 * hd_undeliverable_annotate). The mark goes when an admin clears it or when new mail arrives
 * from the address (the mailbox exists again); either is noted on the ticket that bounced. */
#ifndef HD_MAIL_UNDELIVERABLE_H
#define HD_MAIL_UNDELIVERABLE_H

#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"
#include "server/tickets/tickets.h"

#define HD_UNDELIVERABLE_PAGE_DEFAULT 100
#define HD_UNDELIVERABLE_PAGE_MAX     1000

/* Marks u->address (must be a valid address; stored lower-case, reason cut to 200 bytes of
 * printable ASCII) in txn, a write transaction, replacing an earlier mark. When u->ticket_id
 * names a ticket that takes changes, an UPDATED event with the fact "undeliverable"
 * ("" -> "addr (status)") is committed on it (into committed, which may be NULL).
 * Returns 0, HD_EINVAL ("address: ..."), or the store's and the ticket engine's errors.
 * Replayable. */
int hd_undeliverable_mark(hd_txn *txn, hd_arena *a, const Helpdesk__V1__UndeliverableAddress *u,
                          int64_t now_ms, hd_tickets_committed *committed, hd_err *err);

/* Looks addr up (case-insensitively). Returns 1 with *out (may be NULL; arena memory) when
 * marked, 0 when not, or a negative store error. */
int hd_undeliverable_get(hd_txn *txn, hd_arena *a, const char *addr,
                         Helpdesk__V1__UndeliverableAddress **out, hd_err *err);

/* Removes addr's mark in txn and, when the ticket that bounced takes changes, commits an
 * UPDATED event there with the fact "undeliverable" ("addr (status)" -> "cleared: why") by
 * actor (NULL = SYSTEM). *out (may be NULL) gets the removed mark. Returns 0, HD_ENOTFOUND
 * ("address x: not marked undeliverable"), or store and engine errors. Replayable. */
int hd_undeliverable_clear(hd_txn *txn, hd_arena *a, const char *addr, const char *why,
                           const hd_tickets_actor *actor, int64_t now_ms,
                           hd_tickets_committed *committed,
                           Helpdesk__V1__UndeliverableAddress **out, hd_err *err);

/* hd_undeliverable_clear as its own durable write (not on the writer thread), for the admin
 * RPC: why is "cleared by an admin". committed (must be empty; reset here) receives the
 * event to publish. Returns as hd_undeliverable_clear, plus HD_EINVAL ("address: ..."). */
int hd_undeliverable_clear_write(hd_store *s, hd_arena *a, const char *addr,
                                 const hd_tickets_actor *actor, int64_t now_ms,
                                 hd_tickets_committed *committed,
                                 Helpdesk__V1__UndeliverableAddress **out, hd_err *err);

/* One page of marks in address order; page_token is the last address of the previous page.
 * *out and *next ("" = no more) borrowed until a resets. Returns 0, HD_EINVAL (page_size),
 * store errors. */
int hd_undeliverable_list(hd_store *s, hd_arena *a, int32_t page_size, const char *page_token,
                          Helpdesk__V1__UndeliverableAddress ***out, size_t *n, const char **next,
                          hd_err *err);

/* The ticket domain's read annotation (annotate.h; install with
 * hd_tickets_annotate_set(hd_undeliverable_annotate, NULL)): sets t->undeliverable to the
 * marks of the requester's address and the ticket's mail participants. Returns 0 or store
 * errors. */
int hd_undeliverable_annotate(void *ud, hd_txn *txn, hd_arena *a, Helpdesk__V1__Ticket *t,
                              hd_err *err);

#endif
