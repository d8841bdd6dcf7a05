/* What the reports count of one ticket (its "facts") and the rollups that keep those counts
 * per hour, so every trend and SLA section of a report reads counters sized by the period,
 * not the tickets. One definition serves both ways a report is filled: StreamReportTickets
 * sends rows computed here, and the facts observer counts the same facts. The observer keeps
 * each ticket's last counted facts (SETTINGS "rpt.fact" + u64 id) and on every change takes
 * them out and adds the new ones, so the counters always describe the tickets as they are now
 * (current priority, category, group, assignee, solve time, rating, SLA clocks), exactly as
 * a stream of every ticket would.
 *
 * Counters (server/rollup, UTC day of the instant; "hour-packed" dim = UTC hour << 16 | code):
 *   rt.flow                    hour-packed, at the fact's instant: HD_REPORTS_CODE_CREATED
 *                              (creation), _SOLVED (solve time), _CSAT + score (rating, at
 *                              the solve time), _SLA + 4 * target + (0 met, 1 breached) (a
 *                              settled SLA target, at the time it was met, else its due
 *                              time; the SLA clocks keep no due time once stopped or paused,
 *                              so paused targets are not counted)
 *   rt.frt / rt.res            hour-packed, code = hd_reports_bucket(business minutes): first
 *                              response (at its time) / resolution (at the solve time)
 *   rt.created|p<prio>|c<cat>  hour-packed, code 0: creation by current priority and category
 *   rt.sla|p<prio>|g<group>|c<cat>  hour-packed, code _SLA + 4 * target + met/breached
 *   rt.agent|a<staff id>       hour-packed: _SOLVED, _CSAT + score, _FIRST (at the first
 *                              response), _SLA codes of the tickets assigned to the agent
 *                              (0 = unassigned), so it names every agent a period mentions
 *   rt.agent.frt|a<staff id>   hour-packed, code = bucket of the first response
 *   rt.run|p<prio>|g<group>|a<staff>|c<cat>  dim = second of the UTC day << 2 | target:
 *                              SLA targets not settled (not met, not paused, no breach
 *                              recorded), at their due time; a reader counts them breached
 *                              when its now is past the due time, else met
 *   rt.unsolved                day HD_ROLLUP_NOW, dim 0: tickets without a solve time
 * Time spans are business minutes from the SLA clocks when the target was met, else wall
 * minutes. Histogram buckets (hd_reports_bucket): one per minute below 2 h, 5 minutes below
 * 24 h, 1 hour below 30 days, then one overflow bucket. */
#ifndef HD_REPORTS_FACTS_H
#define HD_REPORTS_FACTS_H

#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/err.h"
#include "server/sla/clock.h"
#include "server/store/store.h"
#include "server/tickets/observer.h"

#define HD_REPORTS_FLOW         "rt.flow"
#define HD_REPORTS_FRT          "rt.frt"
#define HD_REPORTS_RES          "rt.res"
#define HD_REPORTS_CREATED      "rt.created|"
#define HD_REPORTS_SLA          "rt.sla|"
#define HD_REPORTS_AGENT        "rt.agent|"
#define HD_REPORTS_AGENT_FRT    "rt.agent.frt|"
#define HD_REPORTS_RUN          "rt.run|"
#define HD_REPORTS_UNSOLVED     "rt.unsolved"
#define HD_REPORTS_FACT_KEY     "rpt.fact"
#define HD_REPORTS_BUCKETS      1081
#define HD_REPORTS_CODE_CREATED 0
#define HD_REPORTS_CODE_SOLVED  1
#define HD_REPORTS_CODE_CSAT    1  /* + score 1-5 */
#define HD_REPORTS_CODE_FIRST   8  /* rt.agent: a first response */
#define HD_REPORTS_CODE_SLA     16 /* + 4 * target (0-2) + (0 met, 1 breached) */

/* How a target stands for the reports. */
enum {
    HD_REPORTS_TARGET_NONE = 0, /* not applicable (no active clock with a due time) */
    HD_REPORTS_TARGET_MET,      /* met in time, or paused without a breach */
    HD_REPORTS_TARGET_BREACHED, /* breach recorded, or met late */
    HD_REPORTS_TARGET_OPEN,     /* not settled: breached once now > due_s */
};

typedef struct hd_reports_fact {
    int64_t created_s, first_s, solved_s; /* 0 = not (yet) */
    uint32_t frt_min, res_min;
    uint32_t priority; /* 1-4 (unset counts as 3, normal) */
    uint32_t csat;     /* 0 = not rated, else 1-5 */
    uint64_t group_id, agent_id;
    char category[72];
    struct {
        uint32_t state;    /* HD_REPORTS_TARGET_* */
        uint32_t late_min; /* met late: business minutes past the target */
        uint32_t met;      /* the clock was met (in time or late) */
        int64_t due_s;     /* when it counts: the met time, else the due time */
    } target[HD_SLA_TARGETS];
} hd_reports_fact;

/* The facts of ticket t with its SLA record sla (NULL when it has none), into *out. */
void hd_reports_fact_of(hd_reports_fact *out, const Helpdesk__V1__Ticket *t,
                        const hd_sla_ticket *sla);

/* Whether target k (0-2) of f counts as breached at now_s; 0 for NONE targets. */
int hd_reports_fact_breached(const hd_reports_fact *f, int k, int64_t now_s);

/* Histogram bucket (0..HD_REPORTS_BUCKETS-1) of a span in minutes, and a bucket's lower
 * bound in minutes. */
uint32_t hd_reports_bucket(int64_t minutes);
int64_t hd_reports_bucket_floor(uint32_t bucket);

/* The observer (hd_ticket_observer_fn); ud is unused. Register after the SLA engine's
 * observer (it reads the SLA record that one writes in the same transaction). Returns 0 or
 * a store error (which fails the mutation). */
int hd_reports_facts_observe(void *ud, const hd_ticket_change *c, hd_err *err);

/* Counts the facts of every ticket that has none yet (a store from before the facts
 * existed), in write transactions of at most 2000 tickets, then records that it is done
 * (SETTINGS "rpt.facts.ready"), so later starts return at once. Run at start-up with the
 * observer registered; tickets changed meanwhile are counted once either way. *counted (may
 * be NULL) gets the number of tickets counted now. Returns 0, HD_ECORRUPT (a ticket that
 * does not unpack) or store errors. */
int hd_reports_facts_backfill(hd_store *s, uint64_t *counted, hd_err *err);

#endif
