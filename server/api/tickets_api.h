/* helpdesk.v1.TicketService handlers: map requests to the ticket domain (server/tickets)
 * and its results back to responses, scoping customer tokens to their own tickets. */
#ifndef HD_API_TICKETS_API_H
#define HD_API_TICKETS_API_H

#include <stddef.h>

#include "server/rpc/rpc.h"

/* The method table (static storage) for CreateTicket (HD_PERM_TICKET_WRITE), GetTicket and
 * ListTickets (HD_PERM_TICKET_READ); stores the row count in *n. Handlers expect
 * hd_rpc_call_app() to be an hd_app with store set (max_body_bytes 0 = 1 MiB). */
const hd_rpc_method *hd_tickets_api_methods(size_t *n);

#endif
