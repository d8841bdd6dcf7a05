/* Merging a ticket (source) into another (target): the source's public messages, internal
 * notes and reply drafts move to the target keeping their ids (so the target's thread stays in
 * arrival order) and recording where they came from (merged_from); the source becomes MERGED
 * with merged_into = target; both carry a link and a MERGED event. One transaction. */
#ifndef HD_TICKETS_MERGE_H
#define HD_TICKETS_MERGE_H

#include <stdint.h>

#include "server/tickets/work.h"

typedef struct hd_tickets_merge_args {
    hd_tickets_work w;
    uint64_t source_id;
    uint64_t target_id;
    /* Results, borrowed from w.arena. */
    Helpdesk__V1__Ticket *source;
    Helpdesk__V1__Ticket *target;
    uint32_t moved_messages;
    uint32_t moved_notes;
    uint32_t moved_drafts;
} hd_tickets_merge_args;

/* The mutation (hd_store_apply_fn; arg is hd_tickets_merge_args *). Repeating a merge that
 * is already done (source MERGED into target) succeeds and changes nothing (moved = 0).
 * Returns 0, HD_EINVAL ("target_id: a ticket cannot be merged into itself"), HD_ENOTFOUND,
 * HD_ESTATE ("source_id: ticket 5 is already merged into 9", "target_id: ticket 9 is
 * CLOSED", a closed source), the check hook's or the engine's errors. Replayable. */
int hd_tickets_merge_apply(hd_txn *txn, void *arg, hd_err *err);

#endif
