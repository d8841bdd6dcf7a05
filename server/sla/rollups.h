/* SLA rollups for dashboards and the reporter, written in the same transaction as the
 * ticket change or monitor firing that causes them, through server/rollup (ROLLUPS table,
 * key = string metric + u32 day + u32 dim, value = u64 counter). Days are UTC days
 * (hd_rollup_day) of the instant the thing happened (met, breached, created...).
 *
 * Metric names carry the slice. For the group/priority/category slice:
 *     "sla.<measure>|p<priority>|g<group id>|c<category>"
 * e.g. "sla.met|p2|g7|cbilling" (priority = helpdesk.v1.Priority number, group 0 = none,
 * category "" = uncategorised). Per agent (the ticket's assignee, 0 = unassigned):
 *     "sla.agent.<measure>|a<staff id>"
 * Build them with hd_sla_rollups_metric / hd_sla_rollups_agent_metric. Measures and dims:
 *   created          dim 0: tickets created (slice only)
 *   first_responses  dim 0: first public staff replies
 *   met              dim = target (1 first response, 2 next response, 3 resolution)
 *   breached         dim = target: clocks breached (counted when the breach is recorded, or
 *                    when met late without a recorded breach)
 *   reopened         dim 0
 *   frt_sum / res_sum  dim 0: sum of working SECONDS taken, first response / resolution
 *   frt_hist / res_hist dim = bucket (hd_sla_rollups_bucket of working MINUTES taken)
 *   opened / closed  dim 0: tickets entering / leaving the open backlog (created or
 *                    reopened / solved, closed or merged). Backlog at the end of day D =
 *                    sum(opened, days <= D) - sum(closed, days <= D).
 * Totals over every slice, per day, for the dashboard's medians (added later; the slice
 * metrics above are unchanged):
 *   HD_SLA_ROLLUP_ALL_FRT_HIST / HD_SLA_ROLLUP_ALL_RES_HIST  dim = bucket: frt_hist / res_hist
 *                    of every slice summed (no priority/group/category in the name). Days
 *                    before this total existed have none.
 * Percentiles: hd_sla_rollups_percentile over a bucket histogram; buckets are exact below
 * 20 minutes and 8% wide above, so p50/p90 come within 4% of the exact value. */
#ifndef HD_SLA_ROLLUPS_H
#define HD_SLA_ROLLUPS_H

#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/err.h"
#include "server/sla/clock.h"
#include "server/store/store.h"

/* Histogram buckets: exact minutes below HD_SLA_BUCKET_EXACT, then ratio 1.08. */
#define HD_SLA_BUCKET_EXACT 20
#define HD_SLA_BUCKETS      200

#define HD_SLA_ROLLUP_ALL_FRT_HIST "sla.all.frt_hist"
#define HD_SLA_ROLLUP_ALL_RES_HIST "sla.all.res_hist"

/* Sums days [from_day, to_day] (hd_rollup_day numbers) of a total histogram metric
 * (HD_SLA_ROLLUP_ALL_*) into counts[HD_SLA_BUCKETS], zeroed first. Reads one rollup range per
 * day. Read or write txn. Returns 0, HD_ECORRUPT (a malformed entry) or store errors. */
int hd_sla_rollups_total_hist(hd_txn *txn, const char *metric, uint32_t from_day, uint32_t to_day,
                              uint64_t *counts, hd_err *err);

/* Returns the bucket (0..HD_SLA_BUCKETS-1) of a duration in working minutes. */
uint32_t hd_sla_rollups_bucket(int64_t minutes);

/* Returns the representative value (minutes) of bucket b: the bucket's geometric middle. */
double hd_sla_rollups_bucket_value(uint32_t b);

/* Returns the q-quantile (0 < q < 1) in minutes of the histogram counts[HD_SLA_BUCKETS]
 * (nearest-rank), or 0 when empty. */
double hd_sla_rollups_percentile(const uint64_t *counts, double q);

/* Writes the slice metric name for measure into buf (size n). Returns buf. */
char *hd_sla_rollups_metric(char *buf, size_t n, const char *measure, int priority,
                            uint64_t group_id, const char *category);

/* Writes the per-agent metric name for measure into buf (size n). Returns buf. */
char *hd_sla_rollups_agent_metric(char *buf, size_t n, const char *measure, uint64_t staff_id);

/* Counts what changed between old and now (states of one ticket's clocks) for ticket t
 * (after the change; may be NULL from the monitor, then the slice stored in now is used
 * with priority 0 and no category): met/breached/taken per target, first responses,
 * reopenings, backlog moves. created = the ticket was just created; status_before /
 * status_after are helpdesk.v1.TicketStatus. Write txn. Returns 0 or store errors. */
int hd_sla_rollups_apply(hd_txn *txn, const Helpdesk__V1__Ticket *t, const hd_sla_ticket *old,
                         const hd_sla_ticket *now, int created, int status_before, int status_after,
                         int64_t now_s, hd_err *err);

#endif
