/* Fixture for the ticket-working tests (see work_fixture.h). */
#include "tests/unit/server/tickets/work_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/clock/clock.h"
#include "server/rollup/rollup.h"
#include "server/staff/staff.h"
#include "server/tickets/assign.h"
#include "server/tickets/change.h"
#include "server/tickets/dashboard.h"
#include "server/tickets/note.h"
#include "server/tickets/observer.h"
#include "server/tickets/tickets.h"
#include "tests/unit/server/tickets/fixture.h"

int wf_setup(void **state)
{
    wf *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    hd_clock_set_test_ms(WF_T0);
    f->s = tf_store_open("work-b");
    f->a = hd_arena_create(0);
    *state = f;
    if (!f->a || hd_tickets_observe(hd_dashboard_observe, NULL) != 0)
        return -1;
    return 0;
}

int wf_teardown(void **state)
{
    wf *f = *state;
    hd_store_close(f->s);
    hd_arena_destroy(f->a);
    free(f);
    hd_clock_set_test_ms(0);
    hd_tickets_observers_clear();
    return 0;
}

typedef struct staff_put {
    Helpdesk__V1__Staff *s;
} staff_put;

static int staff_apply(hd_txn *txn, void *arg, hd_err *err)
{
    Helpdesk__V1__Staff *s = ((staff_put *)arg)->s;
    hd_key k;
    int rc = hd_store_put_msg(txn, HD_STORE_STAFF, hd_staff_key_id(&k, s->id), &s->base, 0, err);
    for (size_t i = 0; rc == 0 && i < s->n_group_ids; i++) {
        Helpdesk__V1__Group g = HELPDESK__V1__GROUP__INIT;
        g.id = s->group_ids[i];
        g.name = WF_CS("team");
        rc = hd_store_put_msg(txn, HD_STORE_GROUPS, hd_staff_key_group(&k, g.id), &g.base, 0, err);
        if (rc == 0)
            rc = hd_store_put(txn, HD_STORE_GROUPS, hd_staff_key_member(&k, g.id, s->id), "", 0, 0,
                              err);
    }
    return rc;
}

void wf_staff(wf *f, uint64_t id, Helpdesk__V1__Role role, bool active, uint32_t capacity,
              const uint64_t *groups, size_t n, int64_t last_ms)
{
    Helpdesk__V1__Staff s = HELPDESK__V1__STAFF__INIT;
    hd_err err = {0};
    s.id = id;
    s.email = hd_arena_printf(f->a, "staff%llu@example.com", (unsigned long long)id);
    s.name = hd_arena_printf(f->a, "staff%llu", (unsigned long long)id);
    s.role = role;
    s.active = active;
    s.capacity = capacity;
    s.group_ids = (uint64_t *)groups;
    s.n_group_ids = n;
    s.last_assigned_time = last_ms ? hd_tickets_ts_new(f->a, last_ms) : NULL;
    staff_put p = {&s};
    wf_ok(hd_store_write(f->s, staff_apply, &p, &err), err);
}

Helpdesk__V1__Staff *wf_staff_get(wf *f, uint64_t id)
{
    hd_txn *txn;
    hd_err err = {0};
    Helpdesk__V1__Staff *s = NULL;
    wf_ok(hd_store_read_begin(f->s, &txn, &err), err);
    int rc = hd_staff_get(txn, f->a, id, &s, &err);
    hd_store_read_end(txn);
    wf_ok(rc, err);
    return s;
}

uint64_t wf_ticket(wf *f, Helpdesk__V1__Priority priority, const char *category)
{
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args args;
    hd_err err = {0};
    tf_request(&req, NULL, NULL, NULL);
    req.priority = priority;
    req.category = WF_CS(category);
    wf_ok(hd_tickets_create_prepare(&args, f->a, &req, NULL, NULL, &err), err);
    wf_ok(hd_tickets_create(f->s, &args, &err), err);
    return args.ticket->id;
}

hd_tickets_work wf_work(wf *f)
{
    hd_tickets_work w;
    memset(&w, 0, sizeof(w));
    w.actor.kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF;
    w.actor.id = 1;
    w.now_ms = hd_clock_now_ms();
    w.arena = f->a;
    return w;
}

int wf_run(wf *f, hd_store_apply_fn apply, void *args, hd_err *err)
{
    return hd_store_write(f->s, apply, args, err);
}

int wf_assign(wf *f, uint64_t ticket, uint64_t assignee, uint64_t group, bool automatic,
              Helpdesk__V1__Ticket **out, hd_err *err)
{
    hd_tickets_assign_args x;
    memset(&x, 0, sizeof(x));
    x.w = wf_work(f);
    x.ticket_id = ticket;
    x.assignee_id = assignee;
    x.group_id = group;
    x.automatic = automatic;
    int rc = wf_run(f, hd_tickets_assign_apply, &x, err);
    if (out)
        *out = x.ticket;
    return rc;
}

typedef struct edit_args {
    uint64_t ticket;
    Helpdesk__V1__TicketStatus to; /* 0 = message */
    bool staff;
    const char *body;
    hd_arena *a;
} edit_args;

static int edit_apply(hd_txn *txn, void *arg, hd_err *err)
{
    edit_args *x = arg;
    hd_tickets_edit e;
    hd_tickets_actor actor = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, 1};
    int rc = hd_tickets_edit_begin(&e, txn, x->a, x->ticket, &actor, hd_clock_now_ms(), NULL, err);
    if (rc < 0)
        return rc;
    if (x->to)
        rc = hd_tickets_edit_status(&e, x->to, err);
    else
        rc = hd_tickets_edit_message(&e,
                                     x->staff ? HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF
                                              : HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER,
                                     x->staff ? 1 : e.before->customer_id, x->body, NULL, err);
    if (rc < 0)
        return rc;
    return hd_tickets_edit_commit(
        &e,
        x->to ? HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_STATUS_CHANGED
              : HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_MESSAGE_ADDED,
        err);
}

int wf_status(wf *f, uint64_t ticket, Helpdesk__V1__TicketStatus to, hd_err *err)
{
    edit_args x = {.ticket = ticket, .to = to, .a = f->a};
    return hd_store_write(f->s, edit_apply, &x, err);
}

int wf_message(wf *f, uint64_t ticket, bool staff, const char *body, hd_err *err)
{
    edit_args x = {.ticket = ticket, .staff = staff, .body = body, .a = f->a};
    return hd_store_write(f->s, edit_apply, &x, err);
}

typedef struct note_args {
    uint64_t ticket;
    const char *body;
    hd_arena *a;
} note_args;

static int note_apply(hd_txn *txn, void *arg, hd_err *err)
{
    note_args *x = arg;
    Helpdesk__V1__Note n = HELPDESK__V1__NOTE__INIT;
    hd_key k;
    int rc = hd_store_seq_next(txn, HD_TICKETS_SEQ_NOTE, &n.id, err);
    if (rc < 0)
        return rc;
    n.ticket_id = x->ticket;
    n.author_id = 1;
    n.body = WF_CS(x->body);
    n.visibility = HELPDESK__V1__NOTE_VISIBILITY__NOTE_VISIBILITY_TEAM;
    n.create_time = hd_tickets_ts_new(x->a, hd_clock_now_ms());
    return hd_store_put_msg(txn, HD_STORE_NOTES, hd_tickets_key_child(&k, x->ticket, n.id), &n.base,
                            HD_STORE_NOOVERWRITE, err);
}

void wf_note(wf *f, uint64_t ticket, const char *body)
{
    note_args x = {ticket, body, f->a};
    hd_err err = {0};
    wf_ok(hd_store_write(f->s, note_apply, &x, &err), err);
}

void wf_get(wf *f, uint64_t ticket, hd_tickets_thread *out)
{
    hd_err err = {0};
    wf_ok(hd_tickets_get(f->s, f->a, ticket, NULL, out, &err), err);
}

uint64_t wf_rollup(wf *f, const char *metric, uint32_t day, uint32_t dim)
{
    hd_txn *txn;
    hd_err err = {0};
    uint64_t v = 0;
    wf_ok(hd_store_read_begin(f->s, &txn, &err), err);
    int rc = hd_rollup_get(txn, metric, day, dim, &v, &err);
    hd_store_read_end(txn);
    wf_ok(rc, err);
    return v;
}
