/* What happens on a warning or breach: the policy's actions, each run once per ticket,
 * target, clock run and event (deduplicated by a delivery record written with
 * NOOVERWRITE in the same transaction). Escalate and raise-priority change the ticket
 * through the ticket change engine, reached through hd_sla_action_ops (installed by main.c)
 * so SLA code never writes tickets itself; email goes to the OUTBOX as a notification;
 * webhooks are queued for the webhook worker (webhook.h). Delivery records: SETTINGS
 * "sla.dlv" + u64 ticket + u8 target + u32 run + u8 event + u8 action index ->
 * helpdesk.v1.SlaDelivery; webhook queue: SETTINGS "sla.dlq" + i64 next attempt (s) + the
 * delivery key's fields -> empty. */
#ifndef HD_SLA_ACTIONS_H
#define HD_SLA_ACTIONS_H

#include <stdint.h>

#include "helpdesk/v1/sla.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/sla/clock.h"
#include "server/store/store.h"

#define HD_SLA_KEY_DELIVERY "sla.dlv"
#define HD_SLA_KEY_WEBHOOKQ "sla.dlq"

/* Ticket changes an action may ask for. Each runs inside txn (the monitor's mutation) and
 * must go through the ticket change engine (audited, observed). Return 0 or an hd_ error;
 * an error is recorded on the delivery record and does not fail the monitor's batch. */
typedef struct hd_sla_action_ops {
    int (*escalate)(void *ud, hd_txn *txn, hd_arena *a, uint64_t ticket_id, uint64_t group_id,
                    uint64_t staff_id, int64_t now_ms, hd_err *err);
    int (*raise_priority)(void *ud, hd_txn *txn, hd_arena *a, uint64_t ticket_id, int64_t now_ms,
                          hd_err *err);
    void *ud;
} hd_sla_action_ops;

/* Installs ops (copied; NULL removes them: ticket actions then record "no ticket engine").
 * Start-up only. */
void hd_sla_actions_set(const hd_sla_action_ops *ops);

/* Runs the actions of policy p that apply to firing f of ticket t, once each. With
 * ticket_changes 0 only notifications run (escalate/raise are skipped: used inside a ticket
 * mutation, where nesting another change of the same ticket is not allowed). Returns the
 * number of actions newly run (>= 0) or a store error. Write txn; replayable. */
int hd_sla_actions_run(hd_txn *txn, hd_arena *a, const hd_sla_ticket *t,
                       const Helpdesk__V1__SlaPolicy *p, const hd_sla_fired *f, int64_t now_ms,
                       int ticket_changes, hd_err *err);

/* Builds the delivery key of (ticket, target, run, event 1 warning / 2 breach, action index)
 * into k (initialised here); with prefix_only the key holds just the ticket. Returns k. */
hd_key *hd_sla_actions_delivery_key(hd_key *k, uint64_t ticket_id, int target, uint32_t run,
                                    int event, int action);

#endif
