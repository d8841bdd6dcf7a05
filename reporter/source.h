/* Where a report's figures come from: the server's ReportingService (remote.c) or the
 * seeded generator (seed.c, for tests and benchmarks). A source fills the model's
 * aggregates and streams the breached-ticket rows. */
#ifndef HD_REPORTER_SOURCE_H
#define HD_REPORTER_SOURCE_H

#include "reporter/model.h"
#include "server/common/err.h"

typedef struct hd_source {
    void *ud;
    /* Fills m (created by the caller for the period) and calls hd_model_finish. */
    int (*fill)(void *ud, hd_model *m, hd_err *err);
    /* Calls fn for each breached target due in m's period, in ticket order. */
    int (*breaches)(void *ud, const hd_model *m, hd_model_breach_fn fn, void *fn_ud, hd_err *err);
} hd_source;

#endif
