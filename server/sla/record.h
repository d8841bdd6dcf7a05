/* Per-ticket SLA records in the store: the clock state of each ticket (SLA_CLOCKS, key u64
 * ticket id; older stores kept it in SETTINGS under "sla.tkt" + id until hd_sla_migrate),
 * its entries in the due index IDX_SLADUE (i64 fire time in Unix seconds + u64 ticket id +
 * u8 target, empty value; the fire time is the clock's next warning or breach instant), the
 * list indexes for ListTickets' SLA filters, one entry per ticket at most (IDX_SLARUN:
 * i64 earliest due time of its running clocks + u64 ticket; IDX_SLABREACHED: u64 ticket
 * while one of its running clocks is breached), all moved together, and the warning/breach log
 * (SETTINGS "sla.brk" + i64 time + u64 ticket + u8 target + u8 kind + u32 run ->
 * helpdesk.v1.SlaBreach), written once each. */
#ifndef HD_SLA_RECORD_H
#define HD_SLA_RECORD_H

#include <stdint.h>

#include "helpdesk/v1/sla.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/sla/clock.h"
#include "server/store/store.h"

#define HD_SLA_KEY_TICKET "sla.tkt"
#define HD_SLA_KEY_BREACH "sla.brk"

/* Loads ticket_id's record into *out. Returns 0, HD_ENOTFOUND (no SLA record: *out zeroed
 * with ticket_id set), HD_ECORRUPT, HD_EIO. */
int hd_sla_record_load(hd_txn *txn, uint64_t ticket_id, hd_sla_ticket *out, hd_err *err);

/* Stores t and moves its IDX_SLADUE, IDX_SLARUN and IDX_SLABREACHED entries from where old (the
 * state loaded before the change; NULL for a new record) had them. Write txn. Returns 0 or store
 * errors. */
int hd_sla_record_save(hd_txn *txn, const hd_sla_ticket *old, const hd_sla_ticket *t, hd_err *err);

/* Appends the warning/breach f of t to the log unless it is there already; *is_new (may be
 * NULL) says whether it was written now. Write txn. Returns 0 or store errors. */
int hd_sla_record_breach(hd_txn *txn, const hd_sla_ticket *t, const hd_sla_fired *f, int *is_new,
                         hd_err *err);

/* Builds IDX_SLADUE's key (k initialised here). Returns k. */
hd_key *hd_sla_record_due_key(hd_key *k, int64_t at_s, uint64_t ticket_id, int target);

/* Builds IDX_SLARUN's key (k initialised here). Returns k. */
hd_key *hd_sla_record_run_key(hd_key *k, int64_t due_s, uint64_t ticket_id);

/* Builds IDX_SLABREACHED's key (k initialised here). Returns k. */
hd_key *hd_sla_record_breached_key(hd_key *k, uint64_t ticket_id);

/* Returns 1 with *due_s = the earliest due time of t's running clocks, or 0 when none
 * runs (*due_s untouched). */
int hd_sla_record_first_due(const hd_sla_ticket *t, int64_t *due_s);

/* Returns 1 when one of t's running clocks is breached, else 0. */
int hd_sla_record_is_breached(const hd_sla_ticket *t);

/* Converts t to a helpdesk.v1.TicketSla in arena memory (*out borrowed until the arena
 * resets); elapsed times of running clocks are brought up to now_s with cal (NULL: as
 * stored). Returns 0 or HD_ENOMEM. */
int hd_sla_record_to_proto(const hd_sla_ticket *t, const hd_sla_calendar *cal, int64_t now_s,
                           hd_arena *a, Helpdesk__V1__TicketSla **out, hd_err *err);

/* Returns a Timestamp for Unix seconds s in arena memory, or NULL when s is 0 or out of
 * memory. */
Google__Protobuf__Timestamp *hd_sla_record_ts(hd_arena *a, int64_t s);

#endif
