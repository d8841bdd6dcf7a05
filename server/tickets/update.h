/* UpdateTicket's rules: a field mask over subject, priority, category, tags, custom fields
 * and status, validated exactly like create, applied through the change engine. */
#ifndef HD_TICKETS_UPDATE_H
#define HD_TICKETS_UPDATE_H

#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"
#include "server/tickets/tickets.h"

/* Bits of hd_tickets_update_args.mask. */
#define HD_TICKETS_UPD_SUBJECT       0x01u
#define HD_TICKETS_UPD_PRIORITY      0x02u
#define HD_TICKETS_UPD_CATEGORY      0x04u
#define HD_TICKETS_UPD_TAGS          0x08u
#define HD_TICKETS_UPD_CUSTOM_FIELDS 0x10u
#define HD_TICKETS_UPD_STATUS        0x20u

typedef struct hd_tickets_update_args {
    /* Input, set by hd_tickets_update_prepare; strings borrowed from the request. */
    uint64_t ticket_id;
    unsigned mask; /* HD_TICKETS_UPD_* */
    const char *subject;
    Helpdesk__V1__Priority priority;
    const char *category;
    char **tags;
    size_t n_tags;
    Helpdesk__V1__CustomField **custom_fields;
    size_t n_custom_fields;
    Helpdesk__V1__TicketStatus status;
    hd_tickets_actor actor;
    int64_t now_ms;
    hd_arena *arena;
    /* Result once applied: the ticket after the change (borrowed from the arena) and the
     * event (none when nothing changed). */
    Helpdesk__V1__Ticket *ticket;
    hd_tickets_committed committed;
} hd_tickets_update_args;

/* Validates req (field mask paths: subject, priority, category, tags, custom_fields,
 * status; an empty mask means every one of those that is non-default in req->ticket) and
 * fills *args. req is borrowed until the mutation is acknowledged. actor may be NULL.
 * Returns 0 or HD_EINVAL naming the field ("update_mask: unknown field \"owner\"",
 * "ticket.id: required", "status: MERGED is set by MergeTickets"), HD_ENOMEM. */
int hd_tickets_update_prepare(hd_tickets_update_args *args, hd_arena *a,
                              const Helpdesk__V1__UpdateTicketRequest *req,
                              const hd_tickets_actor *actor, hd_err *err);

/* The mutation (hd_store_apply_fn; arg is hd_tickets_update_args *). Returns 0,
 * HD_ENOTFOUND ("ticket 42: not found"), HD_ESTATE (lifecycle: "status: cannot move from
 * CLOSED to OPEN", or a closed ticket), or the engine's errors. Replayable. */
int hd_tickets_update_apply(hd_txn *txn, void *arg, hd_err *err);

#endif
