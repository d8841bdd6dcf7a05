/* helpdesk.v1.MailService handlers: mailboxes (add/list/update/remove/test connection) and
 * the outgoing mail queue (list, retry a dead letter). Admin only. */
#ifndef HD_API_MAIL_API_H
#define HD_API_MAIL_API_H

#include <stddef.h>

#include "server/rpc/rpc.h"

/* The method table (static storage); stores the row count in *n. Handlers expect
 * hd_rpc_call_app() to be an hd_app with store and mail set. */
const hd_rpc_method *hd_mail_api_methods(size_t *n);

#endif
