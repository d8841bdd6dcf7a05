/* The SLA clock state machine. Each running clock keeps the business seconds counted before
 * its current running stretch (elapsed_s) and the stretch's start (resume_s), so any event
 * costs one business-time count over the stretch and one due-time computation, whatever the
 * ticket's age or history. Statuses are helpdesk.v1.TicketStatus numbers. */
#include "server/sla/clock.h"

#include <string.h>

#include "helpdesk/v1/common.pb-c.h"
#include "helpdesk/v1/sla.pb-c.h"

static int is_closed(int status)
{
    return status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED ||
           status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED ||
           status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_MERGED;
}

static int is_paused(const hd_sla_rules *r, int status)
{
    return status >= 0 && status < 32 && (r->pause_mask >> status) & 1u;
}

int64_t hd_sla_clock_elapsed(const hd_sla_clock *c, const hd_sla_calendar *cal, int64_t now_s)
{
    if (!c->running)
        return c->elapsed_s;
    return c->elapsed_s + hd_sla_calendar_count(cal, c->resume_s, now_s);
}

int hd_sla_clock_state(const hd_sla_clock *c)
{
    if (!c->active)
        return HELPDESK__V1__SLA_STATE__SLA_STATE_UNSPECIFIED;
    if (c->breached)
        return HELPDESK__V1__SLA_STATE__SLA_STATE_BREACHED;
    if (c->done && c->met_s)
        return HELPDESK__V1__SLA_STATE__SLA_STATE_MET;
    if (c->paused)
        return HELPDESK__V1__SLA_STATE__SLA_STATE_PAUSED;
    if (c->running)
        return HELPDESK__V1__SLA_STATE__SLA_STATE_RUNNING;
    return HELPDESK__V1__SLA_STATE__SLA_STATE_IDLE;
}

int64_t hd_sla_clock_next_fire(const hd_sla_clock *c)
{
    if (!c->running)
        return 0;
    if (!c->warned && c->warn_s)
        return c->warn_s;
    if (!c->breached)
        return c->due_s + 1;
    return 0;
}

static void fire(hd_sla_fired *fired, int *n, int target, int breach, uint32_t run, int64_t at)
{
    if (*n < HD_SLA_FIRED_MAX)
        fired[(*n)++] = (hd_sla_fired){target, breach, run, at};
}

void hd_sla_clock_tick(hd_sla_ticket *t, int64_t now_s, hd_sla_fired *fired, int *n_fired)
{
    for (int i = 0; i < HD_SLA_TARGETS; i++) {
        hd_sla_clock *c = &t->clocks[i];
        if (!c->running)
            continue;
        if (!c->warned && c->warn_s && now_s >= c->warn_s) {
            c->warned = 1;
            fire(fired, n_fired, i + 1, 0, c->run, c->warn_s);
        }
        if (!c->breached && now_s > c->due_s) {
            c->breached = 1;
            c->warned = 1; /* a breach implies the warning; never warn after it */
            fire(fired, n_fired, i + 1, 1, c->run, c->due_s);
        }
    }
}

/* Recomputes due and warning times of a running clock from its stretch and target. */
static int schedule(hd_sla_clock *c, const hd_sla_rules *r, hd_err *err)
{
    int64_t total = (int64_t)c->target_min * 60;
    int64_t left = total - c->elapsed_s;
    int rc = hd_sla_calendar_add(r->cal, c->resume_s, left > 0 ? left : 0, &c->due_s, err);
    if (rc < 0)
        return rc;
    c->warn_s = 0;
    int64_t warn_total = total * r->warning_pct / 100;
    if (!c->warned && warn_total > c->elapsed_s)
        rc = hd_sla_calendar_add(r->cal, c->resume_s, warn_total - c->elapsed_s, &c->warn_s, err);
    else if (!c->warned && warn_total <= c->elapsed_s && total > 0)
        c->warn_s = c->resume_s; /* already past the threshold: warn at once */
    return rc;
}

static void start(hd_sla_clock *c, int64_t now)
{
    uint32_t run = c->run + 1;
    int32_t target = c->target_min;
    memset(c, 0, sizeof(*c));
    c->active = 1;
    c->running = 1;
    c->run = run;
    c->target_min = target;
    c->start_s = now;
    c->resume_s = now;
}

static void stop(hd_sla_clock *c, const hd_sla_rules *r, int64_t now, int met)
{
    c->elapsed_s = hd_sla_clock_elapsed(c, r->cal, now);
    c->running = 0;
    c->paused = 0;
    c->done = 1;
    c->due_s = c->warn_s = 0;
    if (met) {
        c->met_s = now;
        c->taken_s = c->elapsed_s;
        if (c->taken_s > (int64_t)c->target_min * 60)
            c->breached = 1;
    }
}

static void pause_clock(hd_sla_clock *c, const hd_sla_rules *r, int64_t now)
{
    c->elapsed_s = hd_sla_clock_elapsed(c, r->cal, now);
    c->running = 0;
    c->paused = 1;
    c->due_s = c->warn_s = 0;
}

static void resume_clock(hd_sla_clock *c, int64_t now)
{
    c->running = 1;
    c->paused = 0;
    c->resume_s = now;
}

int hd_sla_clock_apply(hd_sla_ticket *t, const hd_sla_rules *r, const hd_sla_event *ev,
                       hd_sla_fired *fired, int *n_fired, hd_err *err)
{
    int64_t now = ev->now_s;
    hd_sla_clock *fr = &t->clocks[HD_SLA_FIRST_RESPONSE - 1];
    hd_sla_clock *nr = &t->clocks[HD_SLA_NEXT_RESPONSE - 1];
    hd_sla_clock *rs = &t->clocks[HD_SLA_RESOLUTION - 1];

    *n_fired = 0;
    hd_sla_clock_tick(t, now, fired, n_fired);
    t->policy_id = r->policy_id;
    for (int i = 0; i < HD_SLA_TARGETS; i++) {
        t->clocks[i].target_min = r->target_min[i] >= 0 ? r->target_min[i] : 0;
        if (r->target_min[i] < 0 && t->clocks[i].active && t->clocks[i].running)
            stop(&t->clocks[i], r, now, 0); /* the new policy has no such target */
    }
    int before = ev->created ? HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_NEW : ev->status_before;
    int after = ev->status_after;

    if (ev->created) {
        if (r->target_min[HD_SLA_FIRST_RESPONSE - 1] >= 0)
            start(fr, now);
        if (r->target_min[HD_SLA_RESOLUTION - 1] >= 0)
            start(rs, now);
    }
    if (ev->customer_message && !ev->created && r->target_min[HD_SLA_NEXT_RESPONSE - 1] >= 0 &&
        !(nr->active && (nr->running || nr->paused)) && !is_closed(after))
        start(nr, now); /* from the first unanswered customer message */
    if (ev->staff_reply) {
        if (fr->active && !fr->done)
            stop(fr, r, now, 1);
        if (nr->active && !nr->done)
            stop(nr, r, now, 1);
    }
    if (!ev->created && is_closed(before) && !is_closed(after)) {
        t->reopened++;
        if (rs->active && rs->done) {
            /* Reopened: resolution continues from the time already counted. */
            rs->done = 0;
            rs->met_s = 0;
            rs->taken_s = 0;
            resume_clock(rs, now);
        }
    }
    if (is_closed(after) && !is_closed(before)) {
        for (int i = 0; i < HD_SLA_TARGETS; i++) {
            hd_sla_clock *c = &t->clocks[i];
            if (c->active && !c->done)
                stop(c, r, now, i == HD_SLA_RESOLUTION - 1);
        }
    }
    /* Pauses follow the status after the event. */
    int pause = is_paused(r, after) && !is_closed(after);
    for (int i = 0; i < HD_SLA_TARGETS; i++) {
        hd_sla_clock *c = &t->clocks[i];
        if (!c->active || c->done)
            continue;
        if (pause && c->running)
            pause_clock(c, r, now);
        else if (!pause && c->paused)
            resume_clock(c, now);
    }
    t->status = after;
    for (int i = 0; i < HD_SLA_TARGETS; i++) {
        hd_sla_clock *c = &t->clocks[i];
        if (c->running) {
            int rc = schedule(c, r, err);
            if (rc < 0)
                return rc;
        }
    }
    /* A clock (re)scheduled into the past fires now rather than at the next event. */
    hd_sla_clock_tick(t, now, fired, n_fired);
    return 0;
}
