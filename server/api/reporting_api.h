/* helpdesk.v1.ReportingService handlers: rollups for a range, ticket rows for the report
 * sections, and run leases (server/reports/lease.h) for helpdesk-reporter. */
#ifndef HD_API_REPORTING_API_H
#define HD_API_REPORTING_API_H

#include <stddef.h>

#include "server/rpc/rpc.h"

/* The method table (static storage); stores the row count in *n. Handlers expect
 * hd_rpc_call_app() to be an hd_app with store set. Permission: reports.read. */
const hd_rpc_method *hd_reporting_api_methods(size_t *n);

#endif
