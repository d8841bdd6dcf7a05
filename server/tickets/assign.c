/* Manual and automatic assignment (see assign.h). */
#include "server/tickets/assign.h"

#include <inttypes.h>

#include "server/staff/staff.h"
#include "server/tickets/dashboard.h"
#include "server/tickets/lifecycle.h"

int hd_tickets__assign_set(hd_tickets_edit *e, uint64_t assignee_id, uint64_t group_id,
                           bool member_check, hd_err *err)
{
    Helpdesk__V1__Staff *s = NULL;
    Helpdesk__V1__Group *g;
    int rc;

    if (group_id) {
        rc = hd_staff_group_get(e->txn, e->arena, group_id, &g, err);
        if (rc == HD_ENOTFOUND)
            return hd_err_set(err, HD_ENOTFOUND, "group_id: no group %" PRIu64, group_id);
        if (rc < 0)
            return rc;
    }
    if (assignee_id) {
        rc = hd_staff_get(e->txn, e->arena, assignee_id, &s, err);
        if (rc == HD_ENOTFOUND)
            return hd_err_set(err, HD_ENOTFOUND, "assignee_id: no staff member %" PRIu64,
                              assignee_id);
        if (rc < 0)
            return rc;
        if (!s->active)
            return hd_err_set(err, HD_EINVAL, "assignee_id: staff %" PRIu64 " is deactivated",
                              assignee_id);
        if (member_check && group_id && !hd_staff_in_group(s, group_id))
            return hd_err_set(err, HD_EINVAL,
                              "assignee_id: staff %" PRIu64 " is not in group %" PRIu64,
                              assignee_id, group_id);
    }
    if (e->t->assignee_id == assignee_id && e->t->group_id == group_id)
        return 0;
    e->t->assignee_id = assignee_id;
    e->t->group_id = group_id;
    if (!s || s->id == e->before->assignee_id)
        return 0;
    s->last_assigned_time = hd_tickets_ts_new(e->arena, e->now_ms);
    if (!s->last_assigned_time)
        return hd_err_set(err, HD_ENOMEM, "assignee_id: out of memory");
    return hd_staff_put(e->txn, e->arena, s, err);
}

int hd_tickets_autoassign_pick(hd_txn *txn, hd_arena *a, uint64_t group_id, uint64_t *staff_id,
                               hd_err *err)
{
    Helpdesk__V1__Group *g;
    uint64_t *ids, best = 0, best_load = 0;
    int64_t best_last = 0;
    size_t n;
    int rc;

    *staff_id = 0;
    rc = hd_staff_group_get(txn, a, group_id, &g, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "group_id: no group %" PRIu64, group_id);
    if (rc < 0)
        return rc;
    rc = hd_staff_group_members(txn, a, group_id, &ids, &n, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        Helpdesk__V1__Staff *s;
        uint64_t load;
        rc = hd_staff_get(txn, a, ids[i], &s, err);
        if (rc < 0)
            return rc;
        if (!s->active)
            continue;
        rc = hd_dashboard_agent_open(txn, s->id, &load, err);
        if (rc < 0)
            return rc;
        if (s->capacity && load >= s->capacity)
            continue;
        int64_t last = hd_tickets_ts_ms(s->last_assigned_time); /* never = 0 = longest idle */
        /* ids ascend, so on a full tie the lowest id stays. */
        if (best == 0 || load < best_load || (load == best_load && last < best_last)) {
            best = s->id;
            best_load = load;
            best_last = last;
        }
    }
    if (best == 0)
        return hd_err_set(err, HD_ESTATE, "group %" PRIu64 ": no active member with capacity left",
                          group_id);
    *staff_id = best;
    return 0;
}

/* Sets assignee and group on e (member-checked), notes an automatic pick, and commits the
 * ASSIGNED event. Returns 0 or the errors of hd_tickets__assign_set and the engine. */
static int assign_commit(hd_tickets_edit *e, uint64_t assignee, uint64_t group, bool automatic,
                         hd_err *err)
{
    int rc = hd_tickets__assign_set(e, assignee, group, true, err);
    if (rc == 0 && automatic)
        rc = hd_tickets_edit_fact(e, "auto_assign", "", "least open load", err);
    if (rc == 0)
        rc = hd_tickets_edit_commit(e, HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_ASSIGNED,
                                    err);
    return rc;
}

int hd_tickets_create_grouped_apply(hd_txn *txn, void *arg, hd_err *err)
{
    hd_tickets_create_args *args = arg;
    Helpdesk__V1__Group *g;
    hd_tickets_edit e;
    uint64_t assignee = 0;
    int rc = hd_tickets_create_apply(txn, args, err);
    if (rc < 0 || args->replayed || !args->group_id)
        return rc;
    rc = hd_staff_group_get(txn, args->arena, args->group_id, &g, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "group_id: no group %" PRIu64, args->group_id);
    if (rc < 0)
        return rc;
    if (g->auto_assign) {
        rc = hd_tickets_autoassign_pick(txn, args->arena, args->group_id, &assignee, err);
        if (rc == HD_ESTATE) { /* nobody with capacity: the group's queue takes it */
            hd_err_clear(err);
            rc = 0;
        }
        if (rc < 0)
            return rc;
    }
    rc = hd_tickets_edit_begin(&e, txn, args->arena, args->ticket->id, &args->actor, args->now_ms,
                               &args->committed, err);
    if (rc == 0)
        rc = assign_commit(&e, assignee, args->group_id, assignee != 0, err);
    if (rc < 0)
        return rc;
    args->ticket = e.t;
    return 0;
}

int hd_tickets_assign_apply(hd_txn *txn, void *arg, hd_err *err)
{
    hd_tickets_assign_args *x = arg;
    hd_tickets_edit e;
    uint64_t assignee = x->assignee_id, group = x->group_id;
    int rc;

    hd_tickets_committed_reset(&x->w.committed);
    x->ticket = NULL;
    rc = hd_tickets__work_begin(&e, txn, &x->w, x->ticket_id, err);
    if (rc < 0)
        return rc;
    if (x->automatic) {
        if (!group)
            group = e.before->group_id;
        if (!group)
            return hd_err_set(err, HD_EINVAL,
                              "group_id: ticket %" PRIu64 " has no group to pick from",
                              x->ticket_id);
        rc = hd_tickets_lifecycle_writable(
            e.before->status, HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_ASSIGNED, err);
        if (rc < 0)
            return rc;
        rc = hd_tickets_autoassign_pick(txn, x->w.arena, group, &assignee, err);
        if (rc < 0)
            return rc;
    }
    rc = assign_commit(&e, assignee, group, x->automatic, err);
    if (rc < 0)
        return rc;
    x->ticket = e.t;
    return 0;
}
