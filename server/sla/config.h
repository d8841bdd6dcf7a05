/* SLA configuration in the store: calendars and policies (helpdesk.v1.Calendar,
 * helpdesk.v1.SlaPolicy) in the SLA_CONFIG table (stores that kept them in SETTINGS are
 * moved once by hd_sla_migrate), their validation, and
 * turning them into what the clocks use (a compiled calendar, hd_sla_rules). Policies are
 * matched in (rank, id) order; the first whose conditions all hold applies. */
#ifndef HD_SLA_CONFIG_H
#define HD_SLA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/sla.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/sla/calendar.h"
#include "server/sla/clock.h"
#include "server/store/store.h"

/* SLA_CONFIG key prefixes (string field) followed by a u64 id. */
#define HD_SLA_KEY_CALENDAR "sla.cal"
#define HD_SLA_KEY_POLICY   "sla.pol"
/* Sequence names for ids. */
#define HD_SLA_SEQ_CALENDAR "sla.calendar"
#define HD_SLA_SEQ_POLICY   "sla.policy"

#define HD_SLA_NAME_MAX       128 /* characters of a display name */
#define HD_SLA_CONDITIONS_MAX 64  /* entries of each condition list */
#define HD_SLA_ACTIONS_MAX    16
#define HD_SLA_TARGET_MAX_MIN (366 * 24 * 60) /* a year of business minutes */
#define HD_SLA_DEFAULT_WARN   80

/* Checks a calendar (name, zone, intervals, holidays). Returns 0 or HD_EINVAL with the
 * field and reason in err. */
int hd_sla_config_check_calendar(const Helpdesk__V1__Calendar *c, hd_err *err);

/* Checks a policy: name, targets (>= 0, one per target, known target), threshold 0-99,
 * conditions, actions; and, reading txn, that its calendar exists. Returns 0, HD_EINVAL. */
int hd_sla_config_check_policy(hd_txn *txn, const Helpdesk__V1__SlaPolicy *p, hd_err *err);

/* Compiles a stored calendar message. Returns 0 with *out owned (hd_sla_calendar_free),
 * or HD_EINVAL / HD_ENOMEM. */
int hd_sla_config_compile(hd_sla_calendar **out, const Helpdesk__V1__Calendar *c, hd_err *err);

/* Stores c (write txn). id 0 allocates a new id (written back into c->id). Validates first.
 * Returns 0, HD_EINVAL, HD_ENOTFOUND (id given but no such calendar), store errors. */
int hd_sla_config_put_calendar(hd_txn *txn, Helpdesk__V1__Calendar *c, hd_err *err);

/* Stores p like hd_sla_config_put_calendar. */
int hd_sla_config_put_policy(hd_txn *txn, Helpdesk__V1__SlaPolicy *p, hd_err *err);

/* Reads calendar id into arena memory: *out borrowed until the arena resets. Returns 0,
 * HD_ENOTFOUND, HD_ECORRUPT. */
int hd_sla_config_get_calendar(hd_txn *txn, uint64_t id, hd_arena *a, Helpdesk__V1__Calendar **out,
                               hd_err *err);

/* Reads policy id like hd_sla_config_get_calendar. */
int hd_sla_config_get_policy(hd_txn *txn, uint64_t id, hd_arena *a, Helpdesk__V1__SlaPolicy **out,
                             hd_err *err);

/* Deletes calendar id; HD_ESTATE while a policy uses it; HD_ENOTFOUND. Write txn. */
int hd_sla_config_delete_calendar(hd_txn *txn, uint64_t id, hd_err *err);

/* Deletes policy id; HD_ENOTFOUND. Write txn. */
int hd_sla_config_delete_policy(hd_txn *txn, uint64_t id, hd_err *err);

/* Lists every calendar (by id) or policy (by rank, then id) into arena memory: *out is an
 * arena array of *n borrowed messages. Returns 0 or store errors. */
int hd_sla_config_list_calendars(hd_txn *txn, hd_arena *a, Helpdesk__V1__Calendar ***out, size_t *n,
                                 hd_err *err);
int hd_sla_config_list_policies(hd_txn *txn, hd_arena *a, Helpdesk__V1__SlaPolicy ***out, size_t *n,
                                hd_err *err);

/* Unpacks every SETTINGS record under string key prefix `prefix` as a desc message into
 * arena memory: *out is an arena array of *n borrowed messages, in key order. Returns 0,
 * HD_ECORRUPT (a record does not unpack), HD_ENOMEM or store errors. */
int hd_sla_config_list_prefix(hd_txn *txn, const char *prefix,
                              const ProtobufCMessageDescriptor *desc, hd_arena *a, void ***out,
                              size_t *n, hd_err *err);

/* Finds the policy for ticket t whose requester belongs to organization org_id (0 = none):
 * *out is the first matching policy of the list (NULL when none), borrowed from it. */
const Helpdesk__V1__SlaPolicy *hd_sla_config_match(Helpdesk__V1__SlaPolicy *const *policies,
                                                   size_t n, const Helpdesk__V1__Ticket *t,
                                                   uint64_t org_id);

/* Fills *r from policy p with calendar cal (borrowed by *r). */
void hd_sla_config_rules(hd_sla_rules *r, const Helpdesk__V1__SlaPolicy *p,
                         const hd_sla_calendar *cal);

#endif
