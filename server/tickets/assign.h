/* Assignment of tickets to staff and groups: manual (AssignTicket) and automatic
 * (AutoAssign: among the active members of the ticket's group with capacity left, the one
 * with the fewest open tickets, ties broken by the longest time since their last assignment,
 * then the lowest id: Zendesk's round robin). History goes to the ticket's timeline as
 * ASSIGNED events; IDX_ASSIGNEE and the per-agent open load (dashboard.h) move in the same
 * transaction, and the assignee's last_assigned_time is stamped. */
#ifndef HD_TICKETS_ASSIGN_H
#define HD_TICKETS_ASSIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "server/tickets/change.h"
#include "server/tickets/work.h"

typedef struct hd_tickets_assign_args {
    hd_tickets_work w;
    uint64_t ticket_id;
    uint64_t assignee_id; /* 0 = nobody (manual), ignored when automatic */
    uint64_t group_id;    /* 0 = none (manual); automatic: 0 = the ticket's group */
    bool automatic;
    /* Result once applied, borrowed from w.arena. */
    Helpdesk__V1__Ticket *ticket;
} hd_tickets_assign_args;

/* The mutation (hd_store_apply_fn; arg is hd_tickets_assign_args *). Manual: the assignee
 * must exist and be active, the group must exist, and with both the assignee must be a
 * member. Automatic: picks with hd_tickets_autoassign_pick from the group. Returns 0 (a
 * no-op assignment writes nothing), HD_EINVAL ("assignee_id: staff 7 is deactivated"),
 * HD_ENOTFOUND (ticket, staff or group), HD_ESTATE (closed/merged ticket; "group 3: no
 * active member with capacity left"), the check hook's or the engine's errors. Replayable. */
int hd_tickets_assign_apply(hd_txn *txn, void *arg, hd_err *err);

/* CreateTicket with its group (hd_store_apply_fn; arg is hd_tickets_create_args *):
 * hd_tickets_create_apply, then, for a new ticket with args->group_id set, files it under the
 * group and, when the group has auto_assign, assigns it to hd_tickets_autoassign_pick's
 * choice (nobody fitting leaves it unassigned in the group), as an ASSIGNED event in the same
 * mutation; args->ticket and args->committed then show the assigned ticket and both events.
 * A replayed request_id returns the first ticket untouched. With group_id 0 it is exactly
 * hd_tickets_create_apply. Returns its errors, plus HD_ENOTFOUND ("group_id: no group 3")
 * and the engine's. Replayable. */
int hd_tickets_create_grouped_apply(hd_txn *txn, void *arg, hd_err *err);

/* Picks the auto-assign target among group_id's members (see the header comment). Returns
 * 0 with *staff_id, HD_ENOTFOUND (no such group), HD_ESTATE (nobody fits) or store errors. */
int hd_tickets_autoassign_pick(hd_txn *txn, hd_arena *a, uint64_t group_id, uint64_t *staff_id,
                               hd_err *err);

/* Sets e's assignee and group after checking them (staff active; when member_check, the
 * assignee in the group) and stamps the new assignee's last_assigned_time. For assign and
 * escalate. Returns 0, HD_EINVAL, HD_ENOTFOUND or store errors. */
int hd_tickets__assign_set(hd_tickets_edit *e, uint64_t assignee_id, uint64_t group_id,
                           bool member_check, hd_err *err);

#endif
