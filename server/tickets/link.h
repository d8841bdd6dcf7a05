/* Links between tickets (related, follow-up), kept on both tickets' records (Ticket.links)
 * so GetTicket shows them from either side, each change a LINKED event on both timelines
 * (FOLLOW_UP on a closed ticket, the one change it still takes). Merge adds its own links. */
#ifndef HD_TICKETS_LINK_H
#define HD_TICKETS_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "server/tickets/change.h"
#include "server/tickets/work.h"

typedef struct hd_tickets_link_args {
    hd_tickets_work w;
    uint64_t ticket_id;
    uint64_t other_id;
    Helpdesk__V1__LinkKind kind; /* RELATED or FOLLOW_UP_OF (ticket follows up other) */
    bool remove;
    /* Results, borrowed from w.arena. */
    Helpdesk__V1__Ticket *ticket;
    Helpdesk__V1__Ticket *other;
} hd_tickets_link_args;

/* The mutation (hd_store_apply_fn; arg is hd_tickets_link_args *). Adding an existing link
 * or removing a missing one changes nothing and succeeds. Returns 0, HD_EINVAL (self link,
 * kind not RELATED/FOLLOW_UP_OF), HD_ENOTFOUND, HD_ESTATE (merged ticket; a closed one
 * except as the followed-up side), the check hook's or the engine's errors. Replayable. */
int hd_tickets_link_apply(hd_txn *txn, void *arg, hd_err *err);

/* The kind the other ticket sees for a link of kind k (RELATED <-> RELATED, FOLLOW_UP_OF <->
 * FOLLOWED_UP_BY, MERGED_INTO <-> MERGED_FROM). */
Helpdesk__V1__LinkKind hd_tickets_link_reverse(Helpdesk__V1__LinkKind k);

/* Adds (other, kind) to e's working copy unless present; sets *added. The link and its time
 * live in e's arena. Returns 0 or HD_ENOMEM. */
int hd_tickets__link_add(hd_tickets_edit *e, uint64_t other, Helpdesk__V1__LinkKind kind,
                         bool *added, hd_err *err);

#endif
