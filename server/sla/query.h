/* SLA state for ticket reads: fills Ticket.sla from the SLA records and applies ListTickets'
 * SLA filters (breached, due within N minutes) to a page of tickets. */
#ifndef HD_SLA_QUERY_H
#define HD_SLA_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"

/* What to keep. Zero = keep everything (only annotate). */
typedef struct hd_sla_filter {
    int breached;           /* keep tickets with a breached clock */
    int32_t due_within_min; /* keep tickets with a running clock due by now + this (> 0) */
    int64_t now_s;
} hd_sla_filter;

/* Sets Ticket.sla of each of v[0..*n) from its SLA record (clocks in arena memory, borrowed
 * until the arena resets) and keeps, in order, only the tickets f accepts; *n becomes how many
 * are left. One read transaction. Returns 0 or store errors. */
int hd_sla_query_annotate(hd_store *s, hd_arena *a, Helpdesk__V1__Ticket **v, size_t *n,
                          const hd_sla_filter *f, hd_err *err);

#endif
