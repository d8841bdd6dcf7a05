/* The SLA engine inside store transactions: the ticket observer that moves a ticket's clocks
 * on every change (registered with hd_tickets_observe at start-up), and the per-ticket step
 * the monitor runs when a warning or breach time passes. Both load the ticket's policy and
 * calendar, run the clock state machine, save the record and its due-index entries, log
 * firings once, count rollups and run actions, all in the caller's transaction. */
#ifndef HD_SLA_ENGINE_H
#define HD_SLA_ENGINE_H

#include <stdint.h>

#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"
#include "server/tickets/observer.h"

/* SETTINGS prefix of the actions owed to firings found by the observer, and the IDX_SLADUE
 * target value of the entry that makes the monitor pay them. */
#define HD_SLA_KEY_OWED    "sla.owe"
#define HD_SLA_OWED_TARGET 0x80

/* The observer (hd_ticket_observer_fn; ud unused, may be NULL). Catches up with time,
 * applies the change to the clocks, saves. Warnings/breaches found during the catch-up are
 * logged and notify (email/webhook) at once; their ticket actions (escalate, raise priority)
 * cannot run inside the ticket's own mutation, so they are left owed with an IDX_SLADUE entry
 * due now: the monitor's next step runs them (once: deliveries are deduplicated). Returns 0
 * or store errors. */
int hd_sla_engine_observe(void *ud, const hd_ticket_change *c, hd_err *err);

/* Runs the actions owed to ticket_id (see hd_sla_engine_observe), then brings its clocks up
 * to now_ms (hd_sla_clock_tick), saving the record, logging firings, counting rollups and
 * running every action including escalations. *fired (may be
 * NULL) gets the number of warnings/breaches newly recorded. Write txn; replayable.
 * Returns 0 (also when the ticket has no record) or store errors. */
int hd_sla_engine_tick(hd_txn *txn, hd_arena *a, uint64_t ticket_id, int64_t now_ms, int *fired,
                       hd_err *err);

/* Called after the engine scheduled a fire time earlier than any it announced before, so a
 * sleeping monitor wakes. Installed by the monitor; a hint only (may run on replay). */
void hd_sla_engine_set_wake(void (*fn)(void *ud, int64_t fire_s), void *ud);

#endif
