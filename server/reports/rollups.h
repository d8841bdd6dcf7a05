/* Rollups the reports need that no other module keeps, written by a ticket change observer in
 * the mutation's transaction (server/tickets/observer.h). Counters are per UTC day (ROLLUPS
 * day) and, where a report cuts days or hours in the reader's zone, per UTC hour (dim), so
 * local days and the hour-of-day x weekday heatmap are assembled exactly for every zone
 * whose offset is a whole number of hours (not for +05:30-style zones: there the hour
 * containing the local midnight is split by the earlier UTC hour).
 *   reports.created.hour   dim = UTC hour: tickets created
 *   reports.solved.hour    dim = UTC hour: tickets entering SOLVED (from any other status)
 *   reports.opened.hour    dim = UTC hour: tickets entering the backlog (NEW/OPEN/PENDING),
 *                          by creation or reopening
 *   reports.closed.hour    dim = UTC hour: tickets leaving it (solved, closed, merged)
 *   reports.open           day HD_ROLLUP_NOW, dim 0: the backlog now. The backlog at an
 *                          instant T = reports.open - opened + closed over the hours after T.
 *   reports.csat           dim = score 1-5, day of the rating: current ratings (a changed
 *                          rating moves from its old day and score to the new ones) */
#ifndef HD_REPORTS_ROLLUPS_H
#define HD_REPORTS_ROLLUPS_H

#include "server/common/err.h"
#include "server/tickets/observer.h"

#define HD_REPORTS_ROLLUP_CREATED_HOUR "reports.created.hour"
#define HD_REPORTS_ROLLUP_SOLVED_HOUR  "reports.solved.hour"
#define HD_REPORTS_ROLLUP_OPENED_HOUR  "reports.opened.hour"
#define HD_REPORTS_ROLLUP_CLOSED_HOUR  "reports.closed.hour"
#define HD_REPORTS_ROLLUP_OPEN         "reports.open"
#define HD_REPORTS_ROLLUP_CSAT         "reports.csat"

/* The observer (hd_ticket_observer_fn); ud is unused. Register at start-up with
 * hd_tickets_observe(hd_reports_rollups_observe, NULL). Returns 0 or a rollup error (which
 * fails the mutation). */
int hd_reports_rollups_observe(void *ud, const hd_ticket_change *c, hd_err *err);

#endif
