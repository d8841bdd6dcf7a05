/* helpdesk.v1.TicketService handlers for working tickets: AssignTicket, AutoAssign,
 * EscalateTicket, MergeTickets, LinkTickets (each a group-committed mutation whose access
 * check runs inside the transaction) and GetDashboard (read from rollups). */
#ifndef HD_API_TICKETS_WORK_API_H
#define HD_API_TICKETS_WORK_API_H

#include <stddef.h>

#include "server/rpc/rpc.h"

/* The method table (static storage); stores the row count in *n. The mutations need
 * HD_PERM_TICKET_WRITE and HD_ACCESS_MANAGE on every ticket they touch; GetDashboard needs
 * HD_PERM_REPORT_READ. Handlers expect hd_rpc_call_app() to be an hd_app with store set (bus
 * may be NULL). The dashboard observer (server/tickets/dashboard.h) must be registered. */
const hd_rpc_method *hd_tickets_work_api_methods(size_t *n);

#endif
