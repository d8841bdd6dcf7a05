/* Escalation (see escalate.h). */
#include "server/tickets/escalate.h"

#include <inttypes.h>
#include <string.h>

#include "server/staff/staff.h"
#include "server/tickets/assign.h"
#include "server/tickets/change.h"
#include "server/tickets/fields.h"

int hd_tickets_escalate_prepare(hd_tickets_escalate_args *args,
                                const Helpdesk__V1__EscalateTicketRequest *req, hd_err *err)
{
    memset(args, 0, sizeof(*args));
    if (req->ticket_id == 0)
        return hd_err_set(err, HD_EINVAL, "ticket_id: required");
    if (req->reason == HELPDESK__V1__ESCALATION_REASON__ESCALATION_REASON_UNSPECIFIED)
        return hd_err_set(err, HD_EINVAL, "reason: required");
    if (!hd_tickets__enum_known(&helpdesk__v1__escalation_reason__descriptor, (int)req->reason))
        return hd_err_set(err, HD_EINVAL, "reason: unknown value %d", (int)req->reason);
    if (!hd_tickets__enum_known(&helpdesk__v1__priority__descriptor, (int)req->raise_priority))
        return hd_err_set(err, HD_EINVAL, "raise_priority: unknown value %d",
                          (int)req->raise_priority);
    if (req->manager_id == 0 && req->group_id == 0)
        return hd_err_set(err, HD_EINVAL, "manager_id: a manager or group_id is required");
    int rc = hd_tickets__check_line("reason_text", req->reason_text, HD_TICKETS_REASON_TEXT_MAX,
                                    false, err);
    if (rc < 0)
        return rc;
    args->ticket_id = req->ticket_id;
    args->manager_id = req->manager_id;
    args->group_id = req->group_id;
    args->reason = req->reason;
    args->reason_text = req->reason_text ? req->reason_text : "";
    args->raise_to = req->raise_priority;
    return 0;
}

static int check_manager(hd_tickets_edit *e, uint64_t id, hd_err *err)
{
    Helpdesk__V1__Staff *s;
    int rc = hd_staff_get(e->txn, e->arena, id, &s, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "manager_id: no staff member %" PRIu64, id);
    if (rc < 0)
        return rc;
    if (s->role != HELPDESK__V1__ROLE__ROLE_MANAGER && s->role != HELPDESK__V1__ROLE__ROLE_ADMIN)
        return hd_err_set(err, HD_EINVAL, "manager_id: staff %" PRIu64 " is not a manager", id);
    return 0;
}

int hd_tickets_escalate_apply(hd_txn *txn, void *arg, hd_err *err)
{
    hd_tickets_escalate_args *x = arg;
    hd_tickets_edit e;
    int rc;

    hd_tickets_committed_reset(&x->w.committed);
    x->ticket = NULL;
    rc = hd_tickets__work_begin(&e, txn, &x->w, x->ticket_id, err);
    if (rc < 0)
        return rc;
    if (x->manager_id) {
        rc = check_manager(&e, x->manager_id, err);
        if (rc < 0)
            return rc;
    }
    uint64_t group = x->group_id ? x->group_id : e.before->group_id;
    rc = hd_tickets__assign_set(&e, x->manager_id, group, false, err);
    if (rc < 0)
        return rc;
    /* Lower enum values are more urgent (URGENT = 1 ... LOW = 4). */
    if (x->raise_to && x->raise_to < e.t->priority)
        e.t->priority = x->raise_to;
    e.t->escalation_count++;

    const char *to = x->manager_id && x->group_id
                         ? hd_arena_printf(x->w.arena, "manager %" PRIu64 ", group %" PRIu64,
                                           x->manager_id, x->group_id)
                     : x->manager_id
                         ? hd_arena_printf(x->w.arena, "manager %" PRIu64, x->manager_id)
                         : hd_arena_printf(x->w.arena, "group %" PRIu64, x->group_id);
    const ProtobufCEnumValue *rv = protobuf_c_enum_descriptor_get_value(
        &helpdesk__v1__escalation_reason__descriptor, (int)x->reason);
    if (!to)
        return hd_err_set(err, HD_ENOMEM, "escalate: out of memory");
    rc = hd_tickets_edit_fact(&e, "escalated_to", "", to, err);
    if (rc == 0)
        rc = hd_tickets_edit_fact(&e, "reason", "", rv ? rv->name : "?", err);
    if (rc == 0 && x->reason_text[0])
        rc = hd_tickets_edit_fact(&e, "reason_text", "", x->reason_text, err);
    if (rc == 0)
        rc = hd_tickets_edit_commit(
            &e, HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_ESCALATED, err);
    if (rc < 0)
        return rc;
    x->ticket = e.t;
    return 0;
}
