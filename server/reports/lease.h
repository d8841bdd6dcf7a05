/* Leases of scheduled report runs: one holder at a time makes a run, and a completed run
 * is never made again, so two reporters sharing one configuration never send twice.
 * Records live in the store's SETTINGS table under "report-lease/<run key>". */
#ifndef HD_REPORTS_LEASE_H
#define HD_REPORTS_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "server/common/err.h"
#include "server/store/store.h"

#define HD_LEASE_KEY_MAX    200
#define HD_LEASE_HOLDER_MAX 128
#define HD_LEASE_TTL_MAX_S  3600
/* A completed run's record is kept this long after its lease's expiry, then removed by a
 * later acquire. Reporters only ever catch up the latest missed run of a schedule, whose
 * key is newer than this, so a removed record is never asked for again. */
#define HD_LEASE_RETENTION_MS (30LL * 86400 * 1000)
/* At most this many old records are removed per acquire (bounds one transaction). */
#define HD_LEASE_PURGE_MAX 64

/* The outcome of an acquire, and the state of a lease. */
typedef struct hd_lease_state {
    bool granted; /* the caller holds it now */
    bool done;    /* the run was completed */
    char holder[HD_LEASE_HOLDER_MAX + 1];
    int64_t expire_ms;
} hd_lease_state;

/* One acquire or complete, as a replayable store mutation (hd_store_submit). The caller
 * fills the inputs; apply writes out. All strings are copied into the struct. */
typedef struct hd_lease_op {
    char run_key[HD_LEASE_KEY_MAX + 1];
    char holder[HD_LEASE_HOLDER_MAX + 1];
    int64_t now_ms;
    uint32_t ttl_s;
    hd_lease_state out;
    int purged; /* acquire: completed records removed past retention */
} hd_lease_op;

/* Fills op from the request values after checking them: run_key 1-200 printable ASCII
 * chars, holder 1-128, ttl 1-3600 s (acquire only; pass 1 for complete). Returns HD_OK or
 * HD_EINVAL with detail. */
int hd_lease_prepare(hd_lease_op *op, const char *run_key, const char *holder, uint32_t ttl_s,
                     int64_t now_ms, hd_err *err);

/* Store apply function for an acquire (arg: hd_lease_op*). Grants when there is no record,
 * the record expired unfinished, or the caller already holds it (renewal); never grants a
 * done run. Also removes up to HD_LEASE_PURGE_MAX other completed records whose lease
 * expired more than HD_LEASE_RETENTION_MS before op->now_ms (op->purged says how many).
 * Always returns HD_OK unless the store fails; op->out says what happened. */
int hd_lease_acquire_apply(hd_txn *txn, void *arg, hd_err *err);

/* Store apply function for a complete (arg: hd_lease_op*). Marks the run done. Returns
 * HD_OK (also when already done by this holder), HD_ENOTFOUND (no lease) or HD_ESTATE
 * (another holder has it, or the caller's lease expired and was taken). */
int hd_lease_complete_apply(hd_txn *txn, void *arg, hd_err *err);

#endif
