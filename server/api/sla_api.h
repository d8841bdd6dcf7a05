/* helpdesk.v1.SlaService handlers: calendar and policy CRUD (admin), ticket SLA and breach
 * reads (staff), PreviewDue and notification deliveries. */
#ifndef HD_API_SLA_API_H
#define HD_API_SLA_API_H

#include <stddef.h>

#include "server/rpc/rpc.h"

/* The method table (static storage); stores the row count in *n. Handlers expect
 * hd_rpc_call_app() to be an hd_app with store set. */
const hd_rpc_method *hd_sla_api_methods(size_t *n);

#endif
