/* The lifecycle table (see lifecycle.h). One row per status, one column per target. */
#include "server/tickets/lifecycle.h"

#include <stddef.h>

#define N_STATUS 7 /* TicketStatus values 0-6 */

enum { NEW = 1, OPEN, PENDING, SOLVED, CLOSED, MERGED };

static const char *const names[N_STATUS] = {"UNSPECIFIED", "NEW",    "OPEN",  "PENDING",
                                            "SOLVED",      "CLOSED", "MERGED"};

/* allowed[from][to]: a direct status change. NEW is only ever the first status; CLOSED and
 * MERGED are final (a closed ticket continues in a linked follow-up). The single exception,
 * a customer's reply within a mailbox's reopen grace, is decided by
 * hd_tickets_lifecycle_reopen_in_grace and taken by hd_tickets_edit_reopen_closed. */
static const bool allowed[N_STATUS][N_STATUS] = {
    /*            UNSP   NEW    OPEN   PEND   SOLV   CLOS   MERG */
    [NEW] = {false, true, true, true, true, true, true},
    [OPEN] = {false, false, true, true, true, true, true},
    [PENDING] = {false, false, true, true, true, true, true},
    [SOLVED] = {false, false, true, true, true, true, true},
    [CLOSED] = {false, false, false, false, false, true, false},
    [MERGED] = {false, false, false, false, false, false, true},
};

/* The status a customer message leads to; 0 = the ticket takes no message. */
static const int on_customer_message[N_STATUS] = {
    [NEW] = NEW, [OPEN] = OPEN, [PENDING] = OPEN, [SOLVED] = OPEN, [CLOSED] = 0, [MERGED] = 0,
};

static bool known(int s)
{
    return s > 0 && s < N_STATUS;
}

const char *hd_tickets_status_name(Helpdesk__V1__TicketStatus status)
{
    int s = (int)status;
    return s >= 0 && s < N_STATUS ? names[s] : "?";
}

int hd_tickets_lifecycle_check(Helpdesk__V1__TicketStatus from, Helpdesk__V1__TicketStatus to,
                               hd_err *err)
{
    if (!known((int)to))
        return hd_err_set(err, HD_EINVAL, "status: unknown value %d", (int)to);
    if (!known((int)from))
        return hd_err_set(err, HD_ECORRUPT, "status: stored ticket has unknown status %d",
                          (int)from);
    if (!allowed[from][to])
        return hd_err_set(err, HD_ESTATE, "status: cannot move from %s to %s", names[from],
                          names[to]);
    return 0;
}

int hd_tickets_lifecycle_customer_message(Helpdesk__V1__TicketStatus from,
                                          Helpdesk__V1__TicketStatus *to, hd_err *err)
{
    *to = from;
    if (!known((int)from))
        return hd_err_set(err, HD_ECORRUPT, "status: stored ticket has unknown status %d",
                          (int)from);
    if (!on_customer_message[from])
        return hd_err_set(err, HD_ESTATE, "ticket is %s: it takes no new messages", names[from]);
    *to = (Helpdesk__V1__TicketStatus)on_customer_message[from];
    return 0;
}

bool hd_tickets_lifecycle_reopen_in_grace(int64_t close_ms, int64_t now_ms, uint32_t grace_s)
{
    if (grace_s == 0 || close_ms <= 0)
        return false;
    return now_ms - close_ms <= (int64_t)grace_s * 1000;
}

int hd_tickets_lifecycle_writable(Helpdesk__V1__TicketStatus status,
                                  Helpdesk__V1__TicketEventKind kind, hd_err *err)
{
    if (status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_MERGED)
        return hd_err_set(err, HD_ESTATE, "ticket is MERGED: read-only");
    if (status != HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED)
        return 0;
    if (kind == HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_FOLLOW_UP ||
        kind == HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_RATED)
        return 0;
    return hd_err_set(err, HD_ESTATE, "ticket is CLOSED: read-only except for a follow-up");
}
