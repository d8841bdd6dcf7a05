/* The dashboard: live ticket figures kept as metric rollups (server/rollup) by a ticket
 * change observer in the same transaction as every change, and read back without scanning
 * tickets: open tickets by status, priority, category, assignee; first-response and
 * resolution minute histograms per day (wall-clock minutes). The medians (today, last 7
 * days) come from the SLA rollups' all-slice working-minute histograms (server/sla/rollups.h,
 * within 4%) and fall back to the wall-clock histograms for a window in which no ticket
 * under an SLA policy was answered or solved (DashboardMedians.working_minutes says which). */
#ifndef HD_TICKETS_DASHBOARD_H
#define HD_TICKETS_DASHBOARD_H

#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"
#include "server/tickets/observer.h"

/* Gauges under day HD_ROLLUP_NOW, counting open (NEW, OPEN, PENDING) tickets. */
#define HD_DASHBOARD_OPEN_PRIORITY   "dash.open.priority"   /* dim = Priority */
#define HD_DASHBOARD_OPEN_UNASSIGNED "dash.open.unassigned" /* dim 0 */
#define HD_DASHBOARD_OPEN_AGENT      "dash.open.agent"      /* dim = staff id */
#define HD_DASHBOARD_OPEN_CATEGORY   "dash.open.category:"  /* + category, dim 0 */
/* Histograms per day (of the reply / of the solve), dim = hd_dashboard_bucket(minutes). */
#define HD_DASHBOARD_FIRST_RESPONSE "dash.first_response"
#define HD_DASHBOARD_RESOLUTION     "dash.resolution"

/* Number of histogram buckets: minutes 0-119 one each, then 10-minute buckets to a day,
 * then hourly buckets to 30 days, then one bucket for everything longer. */
#define HD_DASHBOARD_BUCKETS 949u

/* Most events in recent_activity. */
#define HD_DASHBOARD_RECENT 20

/* The histogram bucket of a duration in minutes (negative counts as 0). */
uint32_t hd_dashboard_bucket(int64_t minutes);

/* The smallest minute count of bucket b. */
int64_t hd_dashboard_bucket_floor(uint32_t b);

/* The observer (observer.h) keeping the dashboard's rollups; register it once at start-up
 * with hd_tickets_observe(hd_dashboard_observe, NULL). Returns 0 or a rollup error. */
int hd_dashboard_observe(void *ud, const hd_ticket_change *c, hd_err *err);

/* Sets *out to the open tickets assigned to staff_id (the counter auto-assign balances).
 * Read or write txn. Returns 0, HD_ECORRUPT, HD_EIO. */
int hd_dashboard_agent_open(hd_txn *txn, uint64_t staff_id, uint64_t *out, hd_err *err);

/* Fills *out (initialised here) from one read snapshot of s, for the UTC day of now_ms. Every
 * pointer in it is arena memory, borrowed until a resets. Reads O(statuses + priorities +
 * categories + agents + histogram entries of 7 days + HD_DASHBOARD_RECENT tickets), never
 * the tickets. Returns 0, HD_ENOMEM, HD_ECORRUPT, HD_EFULL (no reader slot), HD_EIO. */
int hd_dashboard_get(hd_store *s, hd_arena *a, int64_t now_ms, Helpdesk__V1__Dashboard *out,
                     hd_err *err);

#endif
