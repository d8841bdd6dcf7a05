/* Per-identity token buckets for the serving layer: each authenticated caller (principal
 * kind + id) may make `rate` calls per second on average and up to `burst` at once. The
 * table has a fixed number of slots, so memory does not grow with the number of callers;
 * a caller whose slot was reclaimed starts again with a full bucket. */
#ifndef HD_SERVER_RPC_RATELIMIT_H
#define HD_SERVER_RPC_RATELIMIT_H

#include <stdint.h>

#include "server/common/err.h"

typedef struct hd_ratelimit hd_ratelimit;

/* Slots in the table (callers tracked at once before the least recently seen is reused). */
#define HD_RATELIMIT_SLOTS 4096

/* Creates a limiter allowing rate_per_s calls per second with bursts of burst calls
 * (burst >= 1, rate_per_s > 0). On success *out is owned (free with
 * hd_ratelimit_destroy). Returns HD_OK, HD_EINVAL for a bad rate or burst, or HD_ENOMEM. */
int hd_ratelimit_create(hd_ratelimit **out, double rate_per_s, double burst, hd_err *err);

/* Frees rl; NULL is allowed. */
void hd_ratelimit_destroy(hd_ratelimit *rl);

/* Takes one token from the bucket of caller (kind, id) at time now_ms (a monotonic clock
 * in milliseconds). Returns HD_OK when the call may proceed, or HD_EFULL with detail in
 * err naming the limit and the wait; *retry_after_ms (may be NULL) is set to the
 * milliseconds until one token is available (0 when allowed). Thread-safe. */
int hd_ratelimit_take(hd_ratelimit *rl, int kind, uint64_t id, int64_t now_ms,
                      int64_t *retry_after_ms, hd_err *err);

#endif
