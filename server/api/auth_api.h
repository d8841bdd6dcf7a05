/* helpdesk.v1.AuthService handlers: login/logout, service and customer tokens, token
 * listing and revocation, the audit trail. */
#ifndef HD_API_AUTH_API_H
#define HD_API_AUTH_API_H

#include <stddef.h>

#include "server/rpc/rpc.h"

/* The method table (static storage); stores the row count in *n. Handlers expect
 * hd_rpc_call_app() to be an hd_app with store and auth set. */
const hd_rpc_method *hd_auth_api_methods(size_t *n);

#endif
