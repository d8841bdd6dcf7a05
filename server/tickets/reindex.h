/* Brings the ticket indexes of an existing store up to what this binary maintains: stores
 * written before IDX_ASSIGNEE and IDX_CATEGORY (version 2), IDX_GROUP and IDX_ORG with
 * Ticket.organization_id (version 3) existed get their entries built once, at
 * start-up, in one mutation; a marker in SETTINGS records that it was done. Domain-level
 * (it decodes tickets), so it lives here rather than in the store's schema migrations. */
#ifndef HD_TICKETS_REINDEX_H
#define HD_TICKETS_REINDEX_H

#include <stdint.h>

#include "server/common/err.h"
#include "server/store/store.h"

/* SETTINGS key of the marker and the index version this binary maintains. */
#define HD_TICKETS_INDEX_SETTING "tickets.index_version"
#define HD_TICKETS_INDEX_VERSION 3u

/* Builds the missing index entries of every ticket unless the marker says they exist, then
 * sets the marker. Waits until durable; not on the writer thread. *built (may be NULL) gets
 * the number of tickets indexed (0 when nothing was needed). Returns 0, HD_ECORRUPT (a ticket
 * record does not unpack) or the store's errors. */
int hd_tickets_reindex(hd_store *s, uint64_t *built, hd_err *err);

#endif
