/* Offline consistency check of a store (helpdeskd --check): primary ticket records against
 * their indexes, counters and children, so an operator (or a crash test) can prove that a
 * store recovered without damage. Read-only: one read transaction, no writes. */
#ifndef HD_SERVER_CHECK_CHECK_H
#define HD_SERVER_CHECK_CHECK_H

#include <stdint.h>
#include <stdio.h>

#include "server/common/err.h"
#include "server/store/store.h"

/* What was looked at and what was wrong. */
typedef struct hd_check_result {
    uint64_t tickets;  /* primary ticket records */
    uint64_t messages; /* message records */
    uint64_t entries;  /* index entries and counters compared */
    uint64_t problems; /* broken invariants (each one reported) */
} hd_check_result;

/* At most this many problems are written to the report; all are counted. */
#define HD_CHECK_REPORT_MAX 100

/* Verifies, in one snapshot of s:
 *  - every ticket is stored under its own id, and its number, status+priority, customer,
 *    assignee, category, updated-time and tag index entries exist and point to it;
 *  - each of those indexes has exactly as many entries as the tickets require (no stale
 *    entries), and every number entry names a ticket with that number;
 *  - every message's ticket exists, and each ticket's message_count equals its messages;
 *  - the status_now rollup of every status equals a recount of the tickets in it, and the
 *    tickets.created rollup summed over days equals the number of tickets.
 * Writes one line per problem (up to HD_CHECK_REPORT_MAX) to report (borrowed; NULL for
 * none) and fills *out. Returns HD_OK when the check ran (look at out->problems), or a
 * store error (HD_EIO, HD_ENOMEM, ...) with detail when it could not. */
int hd_check_store(hd_check_result *out, hd_store *s, FILE *report, hd_err *err);

#endif
