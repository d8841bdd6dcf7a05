/* The ticket lifecycle as one table: which status may follow which, what a customer's
 * message does to each status, and which changes a closed or merged ticket still accepts.
 * new -> open -> pending -> solved -> closed, plus merged; every rule lives here. */
#ifndef HD_TICKETS_LIFECYCLE_H
#define HD_TICKETS_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/err.h"

/* Returns the short upper-case name of status ("SOLVED"), "?" when unknown. Static. */
const char *hd_tickets_status_name(Helpdesk__V1__TicketStatus status);

/* Checks a status change from -> to. Staying in the same status is allowed (a no-op).
 * Returns 0, HD_EINVAL ("status: unknown value 9") or HD_ESTATE naming both states
 * ("status: cannot move from CLOSED to OPEN"). */
int hd_tickets_lifecycle_check(Helpdesk__V1__TicketStatus from, Helpdesk__V1__TicketStatus to,
                               hd_err *err);

/* What a new customer message does to a ticket in status from: sets *to to the status the
 * ticket moves to (may equal from) and returns 0; or returns HD_ESTATE with *to =
 * from when the ticket cannot take the message (CLOSED: open a linked follow-up instead;
 * MERGED: write to the ticket it was merged into). */
int hd_tickets_lifecycle_customer_message(Helpdesk__V1__TicketStatus from,
                                          Helpdesk__V1__TicketStatus *to, hd_err *err);

/* Whether a customer message on a CLOSED ticket reopens it (CLOSED -> OPEN, the one way
 * out of CLOSED) instead of opening a linked follow-up: true only when a grace is set
 * (grace_s > 0), the ticket recorded when it closed (close_ms > 0) and at most grace_s
 * seconds have passed since (now_ms - close_ms <= grace_s * 1000; a clock that went back
 * counts as within). Pure; times are Unix milliseconds. */
bool hd_tickets_lifecycle_reopen_in_grace(int64_t close_ms, int64_t now_ms, uint32_t grace_s);

/* Whether a ticket in status may still take a change of kind: CLOSED takes only FOLLOW_UP
 * (the link to its follow-up) and RATED; MERGED takes none; all other statuses take any.
 * Returns 0 or HD_ESTATE ("ticket is CLOSED: read-only except for a follow-up"). */
int hd_tickets_lifecycle_writable(Helpdesk__V1__TicketStatus status,
                                  Helpdesk__V1__TicketEventKind kind, hd_err *err);

#endif
