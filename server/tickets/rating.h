/* Customer satisfaction (CSAT): the ticket's customer rates it 1-5 with an optional comment
 * once it is solved; the rating may be changed while the ticket stays solved, and given
 * (but no longer changed) once it is closed. Staff cannot rate. */
#ifndef HD_TICKETS_RATING_H
#define HD_TICKETS_RATING_H

#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"
#include "server/tickets/tickets.h"

#define HD_TICKETS_RATING_COMMENT_MAX 4096 /* bytes of UTF-8 */

typedef struct hd_tickets_rate_args {
    /* Input, set by hd_tickets_rate_prepare; comment borrowed from the request. */
    uint64_t ticket_id;
    uint32_t score;
    const char *comment;
    hd_tickets_actor actor; /* the customer */
    int64_t now_ms;
    hd_arena *arena;
    /* Result once applied. */
    Helpdesk__V1__Ticket *ticket;
    hd_tickets_committed committed;
} hd_tickets_rate_args;

/* Validates req. actor must be a CUSTOMER (HD_EPERM "rating: only the customer rates a
 * ticket" otherwise). Returns 0, HD_EINVAL ("score: must be 1-5", "comment: ...") or
 * HD_EPERM. */
int hd_tickets_rate_prepare(hd_tickets_rate_args *args, hd_arena *a,
                            const Helpdesk__V1__RateTicketRequest *req,
                            const hd_tickets_actor *actor, hd_err *err);

/* The mutation (hd_store_apply_fn; arg is hd_tickets_rate_args *). Returns 0,
 * HD_ENOTFOUND (no such ticket, or not the customer's), HD_ESTATE ("rating: ticket is OPEN;
 * only solved tickets are rated", "rating: ticket is CLOSED; its rating can no longer
 * change") or the engine's errors. Replayable. */
int hd_tickets_rate_apply(hd_txn *txn, void *arg, hd_err *err);

#endif
