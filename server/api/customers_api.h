/* helpdesk.v1.CustomerService handlers: customers, organizations, a customer's tickets. */
#ifndef HD_API_CUSTOMERS_API_H
#define HD_API_CUSTOMERS_API_H

#include <stddef.h>

#include "server/rpc/rpc.h"

/* The method table (static storage); stores the row count in *n. Handlers expect
 * hd_rpc_call_app() to be an hd_app with store set. */
const hd_rpc_method *hd_customers_api_methods(size_t *n);

#endif
