/* Historical times on ticket writes: permission and ordering rules. */
#include "server/api/import.h"

#include <inttypes.h>

#include "server/api/perm.h"
#include "server/auth/auth.h"
#include "server/clock/clock.h"
#include "server/tickets/change.h"

int hd_import_time(const hd_rpc_call *call, const Google__Protobuf__Timestamp *ts,
                   const char *field, int64_t *out_ms, hd_err *err)
{
    if (!ts)
        return 0;
    if (!hd_auth_allows(hd_rpc_call_identity(call), HD_PERM_TICKET_IMPORT))
        return hd_err_set(err, HD_EPERM, "%s: setting a time needs permission %s", field,
                          hd_perm_name(HD_PERM_TICKET_IMPORT));
    int64_t ms = hd_tickets_ts_ms(ts);
    if (ts->seconds < 0 || ts->nanos < 0 || ts->nanos > 999999999 || ms > hd_clock_now_ms())
        return hd_err_set(err, HD_EINVAL, "%s: must be a valid time, not in the future", field);
    *out_ms = ms;
    return 0;
}

int hd_import_check(const Helpdesk__V1__Ticket *t, int64_t ms, hd_err *err)
{
    if (t->update_time && ms < hd_tickets_ts_ms(t->update_time))
        return hd_err_set(err, HD_EINVAL,
                          "time: earlier than the ticket's last change (%" PRId64 " < %" PRId64
                          " ms)",
                          ms, hd_tickets_ts_ms(t->update_time));
    return 0;
}
