/* Historical times on ticket writes (imports, `helpdesk demo seed`): a request may carry the
 * time a change happened instead of now, for callers holding tickets.import only. */
#ifndef HD_API_IMPORT_H
#define HD_API_IMPORT_H

#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/err.h"
#include "server/rpc/rpc.h"

/* The time a ticket write carries. ts unset: returns 0 and leaves *out_ms (the prepared now).
 * ts set (request field `field`, named in the error): 0 with *out_ms = ts in Unix ms when the
 * caller holds tickets.import; HD_EPERM without it; HD_EINVAL for an invalid time or one in
 * the future. ts is borrowed for the call. */
int hd_import_time(const hd_rpc_call *call, const Google__Protobuf__Timestamp *ts,
                   const char *field, int64_t *out_ms, hd_err *err);

/* Whether a change at ms may be applied to t (borrowed): not before its last change
 * (update_time). Call in the mutation's txn. Returns 0 or HD_EINVAL naming "time". */
int hd_import_check(const Helpdesk__V1__Ticket *t, int64_t ms, hd_err *err);

#endif
