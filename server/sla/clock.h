/* SLA clocks as a pure state machine: a ticket's clocks (first response, next response,
 * resolution) change only through hd_sla_clock_apply (a ticket event) and hd_sla_clock_tick
 * (time passing), both computed incrementally from the previous state, never by re-walking
 * the ticket's history. No store, no I/O: the observer and the monitor persist the result.
 * Times are Unix seconds; durations are business seconds in the policy's calendar. */
#ifndef HD_SLA_CLOCK_H
#define HD_SLA_CLOCK_H

#include <stdint.h>

#include "server/common/err.h"
#include "server/sla/calendar.h"

/* Targets, numbered as helpdesk.v1.SlaTarget; index = target - 1. */
enum {
    HD_SLA_FIRST_RESPONSE = 1,
    HD_SLA_NEXT_RESPONSE = 2,
    HD_SLA_RESOLUTION = 3,
};
#define HD_SLA_TARGETS 3

/* What a policy tells the clocks. Borrowed for the duration of each call. */
typedef struct hd_sla_rules {
    uint64_t policy_id;
    const hd_sla_calendar *cal;
    int32_t target_min[HD_SLA_TARGETS]; /* business minutes, -1 = no such target */
    int warning_pct;                    /* 1-99 */
    uint32_t pause_mask;                /* bit (1 << helpdesk.v1.TicketStatus) pauses */
} hd_sla_rules;

/* One clock. Zero = the target does not apply. */
typedef struct hd_sla_clock {
    int active;   /* the target exists for this ticket */
    int running;  /* counting business time now */
    int paused;   /* stopped by a pause status; resumes when it is left */
    int done;     /* met (met_s, taken_s set) or stopped without being met (met_s 0) */
    int warned;   /* warning recorded for this run */
    int breached; /* breach recorded (or met late) for this run */
    uint32_t run; /* run number: next response restarts on each customer message */
    int32_t target_min;
    int64_t start_s;   /* when this run started */
    int64_t resume_s;  /* start of the current running stretch */
    int64_t elapsed_s; /* business seconds before resume_s */
    int64_t due_s;     /* while running: breached once now > due_s */
    int64_t warn_s;    /* while running and not warned: warning once now >= warn_s */
    int64_t met_s;     /* when met; 0 = not met */
    int64_t taken_s;   /* business seconds taken when met */
} hd_sla_clock;

/* A ticket's SLA state. A value type; clocks[i] is target i + 1. */
typedef struct hd_sla_ticket {
    uint64_t ticket_id;
    uint64_t policy_id;
    uint64_t group_id; /* the ticket's group when last seen (breach records, reports) */
    int status;        /* helpdesk.v1.TicketStatus last seen */
    int reopened;
    hd_sla_clock clocks[HD_SLA_TARGETS];
} hd_sla_ticket;

/* A ticket event as the clocks see it. Several may come together (a reply that sets the
 * status to pending). */
typedef struct hd_sla_event {
    int64_t now_s;
    int created;          /* the ticket was just created (status_before ignored) */
    int staff_reply;      /* a public staff message was added */
    int customer_message; /* a customer message was added after creation */
    int status_before;    /* helpdesk.v1.TicketStatus */
    int status_after;
} hd_sla_event;

/* A warning or breach that became due during a call. */
typedef struct hd_sla_fired {
    int target; /* HD_SLA_* */
    int breach; /* 1 breach, 0 warning */
    uint32_t run;
    int64_t at_s; /* the warning/due time that passed */
} hd_sla_fired;

/* Most firings one call reports (a warning and a breach per target). */
#define HD_SLA_FIRED_MAX (2 * HD_SLA_TARGETS)

/* Applies ev to *t under rules r: first catches up with time (like hd_sla_clock_tick), then
 * starts, pauses, resumes, meets or restarts clocks, then reschedules running clocks with
 * r's targets (so a changed policy takes effect keeping the time already counted).
 * fired (HD_SLA_FIRED_MAX entries) gets what passed during the catch-up and *n_fired their
 * count. Returns 0, or HD_EINVAL (calendar has no working time) with detail. */
int hd_sla_clock_apply(hd_sla_ticket *t, const hd_sla_rules *r, const hd_sla_event *ev,
                       hd_sla_fired *fired, int *n_fired, hd_err *err);

/* Records warnings and breaches whose time is before or at now_s (a breach when
 * now_s > due_s): sets warned/breached once per run and reports each in fired (at most
 * HD_SLA_FIRED_MAX), count in *n_fired. Idempotent: a second call at the same or an earlier
 * time reports nothing. */
void hd_sla_clock_tick(hd_sla_ticket *t, int64_t now_s, hd_sla_fired *fired, int *n_fired);

/* Returns the next instant at which hd_sla_clock_tick would report something for c
 * (warn_s, or due_s + 1), or 0 when none is pending. */
int64_t hd_sla_clock_next_fire(const hd_sla_clock *c);

/* Returns the business seconds c has counted up to now_s. */
int64_t hd_sla_clock_elapsed(const hd_sla_clock *c, const hd_sla_calendar *cal, int64_t now_s);

/* Returns the helpdesk.v1.SlaState value for c. */
int hd_sla_clock_state(const hd_sla_clock *c);

#endif
