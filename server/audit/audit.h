/* The audit trail of staff and auth changes (logins, failed logins, token issue and revoke,
 * staff, group, customer and organization changes). Stored in EVENTS under ticket id 0, so
 * it never mixes with a ticket's timeline, written in the same txn as the change. */
#ifndef HD_AUDIT_AUDIT_H
#define HD_AUDIT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/auth.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"

/* The EVENTS "ticket id" of audit entries; real tickets start at 1. */
#define HD_AUDIT_STREAM 0u

/* Sequence of audit event ids. */
#define HD_AUDIT_SEQ "audit"

#define HD_AUDIT_PAGE_DEFAULT 100
#define HD_AUDIT_PAGE_MAX     1000

/* Appends an event (actor kind/id, action, object kind/id, detail; time now_ms). Write txn.
 * Strings are copied; detail may be NULL. Returns 0 or a store error. */
int hd_audit_append(hd_txn *txn, int actor_kind, uint64_t actor_id, const char *action,
                    const char *object_kind, uint64_t object_id, const char *detail, int64_t now_ms,
                    hd_err *err);

/* Reads one page of events, newest first, into arena memory (borrowed until it resets).
 * page_token "" or NULL = first page. Returns 0, HD_EINVAL ("page_token: ..."), or a store
 * error. */
int hd_audit_list(hd_store *s, hd_arena *a, int32_t page_size, const char *page_token,
                  Helpdesk__V1__ListAuditEventsResponse *out, hd_err *err);

#endif
