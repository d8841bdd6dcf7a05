/* SLA escalation and priority raises through hd_tickets_edit_* (server/tickets/change.h), so
 * they are audited, indexed and observed like any other ticket change. */
#include "server/sla/ticket_actions.h"

#include <stdio.h>

#include "server/sla/actions.h"
#include "server/tickets/change.h"

static int escalate(void *ud, hd_txn *txn, hd_arena *a, uint64_t ticket_id, uint64_t group_id,
                    uint64_t staff_id, int64_t now_ms, hd_err *err)
{
    (void)ud;
    hd_tickets_edit e;
    int rc = hd_tickets_edit_begin(&e, txn, a, ticket_id, NULL, now_ms, NULL, err);
    if (rc < 0)
        return rc;
    if (group_id)
        e.t->group_id = group_id;
    if (staff_id)
        e.t->assignee_id = staff_id;
    char to[64];
    snprintf(to, sizeof(to), "group %llu staff %llu", (unsigned long long)group_id,
             (unsigned long long)staff_id);
    rc = hd_tickets_edit_fact(&e, "sla_escalated_to", "", to, err);
    if (rc == 0)
        rc = hd_tickets_edit_commit(
            &e, HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_ESCALATED, err);
    return rc;
}

static int raise_priority(void *ud, hd_txn *txn, hd_arena *a, uint64_t ticket_id, int64_t now_ms,
                          hd_err *err)
{
    (void)ud;
    hd_tickets_edit e;
    int rc = hd_tickets_edit_begin(&e, txn, a, ticket_id, NULL, now_ms, NULL, err);
    if (rc < 0)
        return rc;
    /* Priority numbers run URGENT = 1 .. LOW = 4: one step up is one less. */
    if (e.t->priority > HELPDESK__V1__PRIORITY__PRIORITY_URGENT)
        e.t->priority--;
    else if (e.t->priority == HELPDESK__V1__PRIORITY__PRIORITY_UNSPECIFIED)
        e.t->priority = HELPDESK__V1__PRIORITY__PRIORITY_HIGH;
    return hd_tickets_edit_commit(&e, HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_UPDATED,
                                  err);
}

void hd_sla_ticket_actions_install(void)
{
    hd_sla_action_ops ops = {escalate, raise_priority, NULL};
    hd_sla_actions_set(&ops);
}
