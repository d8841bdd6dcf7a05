/* Per-ticket SLA records in the store: the clock state of each ticket (SETTINGS key
 * "sla.tkt" + u64 ticket id), its entries in the due index IDX_SLADUE (i64 fire time in Unix
 * seconds + u64 ticket id + u8 target, empty value; the fire time is the clock's next
 * warning or breach instant) and the warning/breach log (SETTINGS "sla.brk" + i64 time +
 * u64 ticket + u8 target + u8 kind + u32 run -> helpdesk.v1.SlaBreach), written once each. */
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

/* Stores t and moves its IDX_SLADUE entries from where old (the state loaded before the
 * change; NULL for a new record) had them. Write txn. Returns 0 or store errors. */
int hd_sla_record_save(hd_txn *txn, const hd_sla_ticket *old, const hd_sla_ticket *t, hd_err *err);

/* Appends the warning/breach f of t to the log unless it is there already; *is_new (may be
 * NULL) says whether it was written now. Write txn. Returns 0 or store errors. */
int hd_sla_record_breach(hd_txn *txn, const hd_sla_ticket *t, const hd_sla_fired *f, int *is_new,
                         hd_err *err);

/* Builds IDX_SLADUE's key (k initialised here). Returns k. */
hd_key *hd_sla_record_due_key(hd_key *k, int64_t at_s, uint64_t ticket_id, int target);

/* Converts t to a helpdesk.v1.TicketSla in arena memory (*out borrowed until the arena
 * resets); elapsed times of running clocks are brought up to now_s with cal (NULL: as
 * stored). Returns 0 or HD_ENOMEM. */
int hd_sla_record_to_proto(const hd_sla_ticket *t, const hd_sla_calendar *cal, int64_t now_s,
                           hd_arena *a, Helpdesk__V1__TicketSla **out, hd_err *err);

/* Returns a Timestamp for Unix seconds s in arena memory, or NULL when s is 0 or out of
 * memory. */
Google__Protobuf__Timestamp *hd_sla_record_ts(hd_arena *a, int64_t s);

#endif
