/* The default @mention resolver (note.h hd_tickets_staff_lookup_fn): finds an active staff
 * member by the local part of their email ("@ada" for ada@example.com), their name with
 * spaces as dots ("@ada.lovelace") or their first name ("@ada"), ignoring case. helpdeskd
 * installs it at start-up with hd_tickets_mentions_resolver(hd_tickets_staff_mention, NULL). */
#ifndef HD_TICKETS_STAFF_MENTIONS_H
#define HD_TICKETS_STAFF_MENTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "server/common/err.h"
#include "server/store/store.h"

/* Scans the staff records in txn (O(staff members)); the lowest id wins when several
 * match. Returns 0 with *staff_id, HD_ENOTFOUND, HD_ECORRUPT or the store's errors. */
int hd_tickets_staff_mention(void *ud, hd_txn *txn, const char *name, size_t n, uint64_t *staff_id,
                             hd_err *err);

#endif
