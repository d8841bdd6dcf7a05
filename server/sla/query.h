/* SLA state for ticket reads: fills Ticket.sla from the SLA records, and serves ListTickets'
 * SLA filters (breached, due within N minutes) from the SLA list indexes. */
#ifndef HD_SLA_QUERY_H
#define HD_SLA_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"

/* What to keep. Zero = keep everything (only annotate). */
typedef struct hd_sla_filter {
    int breached;           /* keep tickets with a breached clock */
    int32_t due_within_min; /* keep tickets with a running clock due by now + this (> 0) */
    int64_t now_s;
} hd_sla_filter;

/* ---- ListTickets' SLA-driven source (the hook in server/tickets/list.c) ------------------
 * With an SLA filter, the SLA list indexes drive the listing, so every page is full unless
 * the end is reached and a page costs O(page) index entries (plus the records of other
 * filters' checks). Order, whatever ListTickets' sort says:
 *   breached (with or without due_within): tickets with a running breached clock, newest
 *     (highest id) first, from IDX_SLABREACHED. A running breached clock is overdue, so it
 *     is also "due within" any N: the due filter adds nothing.
 *   due_within only: tickets with a running clock due by now + N minutes, by the earliest
 *     due time of their running clocks (most overdue first), ties by ticket id, from
 *     IDX_SLARUN. Resume position: (due time, ticket id).
 * Each index holds one entry per ticket, so a page reads page + 1 entries. */

/* Called for each ticket the source yields, in order; key = its due time (due_within
 * order) or 0 (breached order). Returns 0 to continue, 1 to stop, or a negative hd_ code. */
typedef int (*hd_sla_query_fn)(void *arg, uint64_t ticket_id, int64_t key);

/* Returns whether f asks for an SLA-driven listing. */
int hd_sla_query_active(const hd_sla_filter *f);

/* Yields the tickets f selects, in the order above, after position (after_key,
 * after_id) when resume is set, until fn stops. txn is a read txn of the caller's.
 * *visited (may be NULL) is increased by the entries and records read. Returns 0, fn's
 * error, HD_ECORRUPT or store errors. */
int hd_sla_query_scan(hd_txn *txn, const hd_sla_filter *f, int resume, int64_t after_key,
                      uint64_t after_id, hd_sla_query_fn fn, void *arg, uint64_t *visited,
                      hd_err *err);

/* Sets Ticket.sla of each of v[0..*n) from its SLA record (clocks in arena memory, borrowed
 * until the arena resets) and keeps, in order, only the tickets f accepts; *n becomes how many
 * are left. One read transaction. Returns 0 or store errors. */
int hd_sla_query_annotate(hd_store *s, hd_arena *a, Helpdesk__V1__Ticket **v, size_t *n,
                          const hd_sla_filter *f, hd_err *err);

#endif
