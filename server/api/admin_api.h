/* helpdesk.v1.AdminService handlers: store statistics and online backups (admin only). */
#ifndef HD_API_ADMIN_API_H
#define HD_API_ADMIN_API_H

#include <stddef.h>

#include "server/rpc/rpc.h"

/* The method table (static storage); stores the row count in *n. Handlers expect
 * hd_rpc_call_app() to be an hd_app with store and data_dir set. */
const hd_rpc_method *hd_admin_api_methods(size_t *n);

#endif
