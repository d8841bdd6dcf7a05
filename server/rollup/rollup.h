/* Metric rollups: a u64 counter per (metric, day, dimension) in the ROLLUPS table, changed
 * inside the same write transaction as the records they count, so dashboards read exact
 * numbers without scanning tickets. */
#ifndef HD_ROLLUP_ROLLUP_H
#define HD_ROLLUP_ROLLUP_H

#include <stdint.h>

#include "server/common/err.h"
#include "server/store/store.h"

/* Day bucket of "right now" gauges (e.g. tickets currently in each status). */
#define HD_ROLLUP_NOW UINT32_MAX

/* Returns the day bucket (days since 1970-01-01 UTC) of a Unix time in ms. */
uint32_t hd_rollup_day(int64_t unix_ms);

/* Builds the ROLLUPS key of (metric, day, dim) into k (initialised here): string metric,
 * u32 day, u32 dim, so one metric's days are contiguous and in order. Returns k. */
hd_key *hd_rollup_key(hd_key *k, const char *metric, uint32_t day, uint32_t dim);

/* Adds delta to the counter of (metric, day, dim), creating it at 0. Write txn only.
 * Returns 0, HD_ECORRUPT (stored value is not 8 bytes, or the counter would go below 0),
 * or the store's errors (HD_EFULL, HD_EPERM, HD_EIO). */
int hd_rollup_add(hd_txn *txn, const char *metric, uint32_t day, uint32_t dim, int64_t delta,
                  hd_err *err);

/* Sets *out to the counter of (metric, day, dim), 0 when never written. Returns 0,
 * HD_ECORRUPT or HD_EIO. */
int hd_rollup_get(hd_txn *txn, const char *metric, uint32_t day, uint32_t dim, uint64_t *out,
                  hd_err *err);

#endif
