/* Reading rollups for reports: every counter of one metric, or of every metric whose name
 * starts with a prefix (the SLA module's per-slice metrics, "sla.met|p2|g7|cbilling"), over
 * a range of UTC days, seeking past the days outside it so the cost is the number of
 * counters in the range, whatever the ticket count or the history before it. */
#ifndef HD_REPORTS_QUERY_H
#define HD_REPORTS_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "server/common/err.h"
#include "server/store/store.h"

/* One counter: metric name (borrowed until the callback returns), UTC day, dimension and
 * value. Return 0 to go on, 1 to stop, or a negative hd_ code to stop and fail. */
typedef int (*hd_reports_rollup_fn)(void *arg, const char *metric, uint32_t day, uint32_t dim,
                                    uint64_t value);

/* Visits the counters of ROLLUPS whose metric equals pattern, or starts with it minus a
 * trailing '*' ("sla.met|*"), with day in [d0, d1], in (metric, day, dim) order. "Right now"
 * gauges (day HD_ROLLUP_NOW) are outside every range. Returns the number of counters
 * visited (>= 0), the callback's code, HD_EINVAL (empty pattern), HD_ECORRUPT or store
 * errors. */
int64_t hd_reports_rollup_scan(hd_txn *txn, const char *pattern, uint32_t d0, uint32_t d1,
                               hd_reports_rollup_fn fn, void *arg, hd_err *err);

#endif
