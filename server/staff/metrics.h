/* Per-agent metrics kept as rollups by a ticket change observer (registered at start-up),
 * so GetAgentMetrics reads a few counters, never tickets: open load (gauge), tickets solved
 * per day, and a histogram of first response times per day. */
#ifndef HD_STAFF_METRICS_H
#define HD_STAFF_METRICS_H

#include <stdint.h>

#include "helpdesk/v1/staff.pb-c.h"
#include "server/common/err.h"
#include "server/store/store.h"
#include "server/tickets/observer.h"

/* Rollup metrics (dim = staff id, which must fit in 32 bits; larger ids are not counted). */
#define HD_STAFF_ROLLUP_OPEN   "staff.open"   /* day HD_ROLLUP_NOW: assigned, not done */
#define HD_STAFF_ROLLUP_SOLVED "staff.solved" /* per day: entered SOLVED while assigned */
#define HD_STAFF_ROLLUP_FRT    "staff.frt."   /* + bucket index, per day: first responses */

/* Upper bounds (seconds) of the first-response histogram buckets; the last is open-ended. */
#define HD_STAFF_FRT_BUCKETS 11

/* The observer (hd_ticket_observer_fn); ud is unused. Register with
 * hd_tickets_observe(hd_staff_metrics_observe, NULL). Returns 0 or a rollup error. */
int hd_staff_metrics_observe(void *ud, const hd_ticket_change *c, hd_err *err);

/* Fills *out (staff_id set by the caller's value) from the rollups as of now_ms, in one
 * snapshot of s. Returns 0 or a store error. */
int hd_staff_metrics_get(hd_store *s, uint64_t staff_id, int64_t now_ms,
                         Helpdesk__V1__AgentMetrics *out, hd_err *err);

#endif
