/* Delivery of SLA webhooks: Slack-compatible JSON ({"text": "..."}) POSTed with libcurl to
 * the URL of each queued delivery (actions.h), retried with exponential backoff (30 s
 * doubling, at most 1 h apart, HD_SLA_WEBHOOK_ATTEMPTS attempts), every attempt's outcome
 * kept on the delivery record so failures show in SlaService.ListDeliveries. Delivery is at
 * least once: a crash between the POST and its record may repeat one POST. */
#ifndef HD_SLA_WEBHOOK_H
#define HD_SLA_WEBHOOK_H

#include <stdint.h>

#include "server/common/err.h"
#include "server/store/store.h"

#define HD_SLA_WEBHOOK_ATTEMPTS   8
#define HD_SLA_WEBHOOK_TIMEOUT_MS 5000

typedef struct hd_sla_webhook hd_sla_webhook;

/* Attempts every queued delivery due at now_ms, one POST at a time; *sent and *failed (may be
 * NULL) count the outcomes. Must not run on the writer thread. Returns 0 or store errors. */
int hd_sla_webhook_step(hd_store *s, int64_t now_ms, int *sent, int *failed, hd_err *err);

/* Starts a thread running hd_sla_webhook_step every second. Returns 0 with *out owned (stop
 * with hd_sla_webhook_stop) or HD_ENOMEM / HD_EINTERNAL. */
int hd_sla_webhook_start(hd_sla_webhook **out, hd_store *s, hd_err *err);

/* Stops and joins the thread; NULL is allowed. Call before closing the store. */
void hd_sla_webhook_stop(hd_sla_webhook *w);

#endif
