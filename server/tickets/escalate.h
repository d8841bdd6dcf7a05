/* Escalation: a ticket handed to a manager or a group with a reason code and text, the
 * priority raised when asked, recorded as an ESCALATED event (which the bus streams to
 * WatchTickets as the notification) and counted on the ticket. */
#ifndef HD_TICKETS_ESCALATE_H
#define HD_TICKETS_ESCALATE_H

#include <stdint.h>

#include "server/tickets/work.h"

#define HD_TICKETS_REASON_TEXT_MAX 1024 /* characters */

typedef struct hd_tickets_escalate_args {
    hd_tickets_work w;
    uint64_t ticket_id;
    uint64_t manager_id; /* 0 = none (group_id then required) */
    uint64_t group_id;   /* 0 = keep the ticket's group */
    Helpdesk__V1__EscalationReason reason;
    const char *reason_text;         /* borrowed until done */
    Helpdesk__V1__Priority raise_to; /* UNSPECIFIED = keep */
    Helpdesk__V1__Ticket *ticket;    /* result, borrowed from w.arena */
} hd_tickets_escalate_args;

/* Validates req into *args (zeroed first, w left to the caller to fill after). Returns 0 or
 * HD_EINVAL naming the field ("reason: required", "manager_id: a manager or group_id is
 * required", "reason_text: longer than 1024 characters", "raise_priority: unknown value 9"). */
int hd_tickets_escalate_prepare(hd_tickets_escalate_args *args,
                                const Helpdesk__V1__EscalateTicketRequest *req, hd_err *err);

/* The mutation (hd_store_apply_fn; arg is hd_tickets_escalate_args *): the manager must be
 * an active MANAGER or ADMIN; the assignee becomes the manager (or nobody when only a group
 * is named: the group's queue), the group becomes group_id when given, the priority rises to
 * raise_to when that is more urgent, escalation_count grows by one, and one ESCALATED event
 * records escalated_to, reason and reason_text. Returns 0, HD_EINVAL, HD_ENOTFOUND, HD_ESTATE
 * (closed or merged), the check hook's or the engine's errors. Replayable. */
int hd_tickets_escalate_apply(hd_txn *txn, void *arg, hd_err *err);

#endif
