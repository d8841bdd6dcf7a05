/* The SLA monitor: a thread that sleeps until the earliest fire time in IDX_SLADUE (or until
 * the engine schedules an earlier one), then, in one store mutation per batch, brings the
 * due tickets' clocks up to date: warnings and breaches are logged and acted on once, in the
 * same transaction that moves their index entries. Work is proportional to the tickets whose
 * clocks fire, never to all tickets. Restart-safe by construction: a firing and its index
 * move commit together, so after a crash it either happened (and will not repeat) or did
 * not (and happens at start-up). */
#ifndef HD_SLA_MONITOR_H
#define HD_SLA_MONITOR_H

#include <stdint.h>

#include "server/common/err.h"
#include "server/store/store.h"

typedef struct hd_sla_monitor hd_sla_monitor;

/* Most tickets ticked in one store mutation. */
#define HD_SLA_MONITOR_BATCH 256

/* Processes every index entry due at now_ms (Unix ms), synchronously, in batches; *fired
 * (may be NULL) gets the number of warnings/breaches newly logged. Must not run on the
 * store's writer thread or while holding a read txn. Returns 0 or store errors. */
int hd_sla_monitor_step(hd_store *s, int64_t now_ms, int *fired, hd_err *err);

/* Returns in *next_s the earliest fire time in the index (Unix s), 0 when empty. Returns 0 or
 * store errors. */
int hd_sla_monitor_next(hd_store *s, int64_t *next_s, hd_err *err);

/* Runs the one-time SLA layout move (hd_sla_migrate) on store s, then starts the monitor
 * thread on s (borrowed until hd_sla_monitor_stop) and installs the engine's wake hook. Time comes
 * from hd_clock_now_ms. Returns 0 with *out owned (stop with hd_sla_monitor_stop), or HD_ENOMEM /
 * HD_EINTERNAL / the migration's error. */
int hd_sla_monitor_start(hd_sla_monitor **out, hd_store *s, hd_err *err);

/* Wakes the thread to look at the index again now (tests after moving the test clock). */
void hd_sla_monitor_kick(hd_sla_monitor *m);

/* Returns how many step runs the thread has completed (tests wait on it, bounded). */
uint64_t hd_sla_monitor_runs(hd_sla_monitor *m);

/* Stops and joins the thread, removes the wake hook, frees m. NULL is allowed. Call before
 * closing the store. */
void hd_sla_monitor_stop(hd_sla_monitor *m);

#endif
