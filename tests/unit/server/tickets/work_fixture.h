/* Fixture for the ticket-working tests (assign, escalate, merge, link, dashboard): staff and
 * groups written straight into the staff tables (no password hashing), tickets created
 * through the domain, the part-B mutations run synchronously, and small engine edits
 * (status, staff reply) standing in for the other RPCs. Every helper fails the test on an
 * unexpected error. */
#ifndef HD_TESTS_TICKETS_WORK_FIXTURE_H
#define HD_TESTS_TICKETS_WORK_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/staff.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"
#include "server/tickets/work.h"

#define WF_CS(x) ((char *)(x))
#define WF_ST(x) HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_##x
#define WF_EV(x) HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_##x
#define WF_PR(x) HELPDESK__V1__PRIORITY__PRIORITY_##x
#define WF_T0    (20000 * 86400000LL + 3600000) /* a fixed test clock, 01:00 UTC */

#define wf_ok(rc, err)                                                                             \
    do {                                                                                           \
        int rc_ = (rc);                                                                            \
        if (rc_ != 0)                                                                              \
            fail_msg("%s = %s (%s)", #rc, hd_errname(rc_), (err).detail);                          \
    } while (0)

/* Fails unless rc is want and the detail contains part. */
#define wf_err(rc, want, err, part)                                                                \
    do {                                                                                           \
        int rc_ = (rc);                                                                            \
        if (rc_ != (want) || !strstr((err).detail, (part)))                                        \
            fail_msg("%s = %s (%s), want %s with \"%s\"", #rc, hd_errname(rc_), (err).detail,      \
                     hd_errname(want), (part));                                                    \
    } while (0)

typedef struct wf {
    hd_store *s;
    hd_arena *a;
} wf;

/* cmocka setup/teardown: fresh store and arena, clock at WF_T0, the dashboard observer
 * registered; teardown clears the observers and the clock. */
int wf_setup(void **state);
int wf_teardown(void **state);

/* Writes staff member id (role, active, capacity, member of groups[0..n), last assigned at
 * last_ms, 0 = never) and creates the groups it names if missing. */
void wf_staff(wf *f, uint64_t id, Helpdesk__V1__Role role, bool active, uint32_t capacity,
              const uint64_t *groups, size_t n, int64_t last_ms);

/* Reads staff member id into f->a (borrowed until the arena resets). */
Helpdesk__V1__Staff *wf_staff_get(wf *f, uint64_t id);

/* Creates a ticket (priority, category "" allowed) at the current test clock; returns its id. */
uint64_t wf_ticket(wf *f, Helpdesk__V1__Priority priority, const char *category);

/* A work header for actor staff 1 at the test clock, building in f->a. */
hd_tickets_work wf_work(wf *f);

/* Runs a part-B mutation synchronously; returns its code (err filled). */
int wf_run(wf *f, hd_store_apply_fn apply, void *args, hd_err *err);

/* AssignTicket / AutoAssign. out (may be NULL) gets the ticket after. */
int wf_assign(wf *f, uint64_t ticket, uint64_t assignee, uint64_t group, bool automatic,
              Helpdesk__V1__Ticket **out, hd_err *err);

/* Moves ticket to status through the engine (STATUS_CHANGED event). Returns the code. */
int wf_status(wf *f, uint64_t ticket, Helpdesk__V1__TicketStatus to, hd_err *err);

/* Posts a public message (staff 1 or the customer) through the engine. Returns the code. */
int wf_message(wf *f, uint64_t ticket, bool staff, const char *body, hd_err *err);

/* Writes an internal note (id from the "note" sequence) on ticket directly. */
void wf_note(wf *f, uint64_t ticket, const char *body);

/* Reads the ticket (with thread) into f->a. */
void wf_get(wf *f, uint64_t ticket, hd_tickets_thread *out);

/* Counter of a rollup (metric, day, dim), read in a snapshot. */
uint64_t wf_rollup(wf *f, const char *metric, uint32_t day, uint32_t dim);

#endif
