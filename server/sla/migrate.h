/* One-time move of SLA state out of SETTINGS: stores written before the SLA tables existed
 * kept calendars and policies under "sla.cal"/"sla.pol" + id and one clock record per ticket
 * under "sla.tkt" + id in SETTINGS. The move needs the record decoded (to build the list
 * indexes), so it runs at SLA start-up, guarded by a SETTINGS marker, rather than as a
 * store schema step. */
#ifndef HD_SLA_MIGRATE_H
#define HD_SLA_MIGRATE_H

#include <stdint.h>

#include "server/common/err.h"
#include "server/store/store.h"

/* SETTINGS key of the marker (value: 4-byte big-endian layout version). */
#define HD_SLA_LAYOUT_SETTING "sla.layout"
#define HD_SLA_LAYOUT_VERSION 2

/* In one store mutation, unless the marker says it was done: moves every SETTINGS record
 * under "sla.cal"/"sla.pol" to SLA_CONFIG (same key) and under "sla.tkt" to SLA_CLOCKS (key =
 * ticket id), builds IDX_SLARUN/IDX_SLABREACHED for each clock record (IDX_SLADUE entries
 * are kept), then writes the marker. *moved (may be NULL) gets the number of records moved
 * (0 when already done). Must not run on the writer thread or while holding a read txn.
 * Returns 0, HD_ECORRUPT (a clock record does not decode), HD_ENOMEM or store errors. */
int hd_sla_migrate(hd_store *s, uint64_t *moved, hd_err *err);

#endif
