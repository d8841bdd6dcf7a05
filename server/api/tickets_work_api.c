/* Ticket-working handlers (see tickets_work_api.h). Each mutation handler validates the
 * request, fills a domain argument whose first member is the hd_tickets_work header, and
 * submits it; the access hook loads the caller's scope in the writer's transaction and
 * checks every ticket the mutation touches, so a change of group membership cannot race the
 * check. The done callback fills the response and publishes the committed events. */
#include "server/api/tickets_work_api.h"

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/api/access.h"
#include "server/api/import.h"
#include "server/api/perm.h"
#include "server/app.h"
#include "server/clock/clock.h"
#include "server/tickets/assign.h"
#include "server/tickets/bus.h"
#include "server/tickets/dashboard.h"
#include "server/tickets/escalate.h"
#include "server/tickets/link.h"
#include "server/tickets/merge.h"

typedef struct work_ctx work_ctx;
struct work_ctx {
    union {
        hd_tickets_work w; /* every args struct starts with it */
        hd_tickets_assign_args assign;
        hd_tickets_escalate_args escalate;
        hd_tickets_merge_args merge;
        hd_tickets_link_args link;
    } u;
    hd_store_apply_fn apply;
    void (*fill)(work_ctx *c);
    hd_rpc_call *call;
    hd_app *app;
    ProtobufCMessage *resp;
    hd_identity who;
    int64_t import_ms; /* nonzero: an imported change at this time (import.h) */
};

static int check(void *ud, hd_txn *txn, const Helpdesk__V1__Ticket *t, hd_err *err)
{
    work_ctx *c = ud;
    hd_access_scope scope;
    int rc = c->import_ms ? hd_import_check(t, c->import_ms, err) : 0;
    if (rc < 0)
        return rc;
    rc = hd_access_scope_load(&scope, txn, &c->who, err);
    if (rc < 0)
        return rc;
    return hd_access_ticket_scope(&scope, txn, t, HD_ACCESS_MANAGE, err);
}

static int work_apply(hd_txn *txn, void *arg, hd_err *err)
{
    work_ctx *c = arg;
    return c->apply(txn, &c->u, err);
}

static void work_done(void *arg, const hd_err *err)
{
    work_ctx *c = arg;
    if (err->code == HD_OK) {
        c->fill(c);
        hd_tickets_bus_publish(c->app->bus, &c->u.w.committed);
    }
    hd_rpc_finish(c->call, err);
}

/* A zeroed context with the work header filled for the caller. NULL when out of memory. */
static work_ctx *ctx_new(hd_rpc_call *call, ProtobufCMessage *resp)
{
    hd_arena *a = hd_rpc_call_arena(call);
    work_ctx *c = hd_arena_calloc(a, 1, sizeof(*c));
    if (!c)
        return NULL;
    c->call = call;
    c->app = hd_rpc_call_app(call);
    c->resp = resp;
    c->who = *hd_rpc_call_identity(call);
    return c;
}

static int submit(work_ctx *c, hd_store_apply_fn apply, void (*fill)(work_ctx *c), hd_err *err)
{
    hd_tickets_work *w = &c->u.w;
    w->arena = hd_rpc_call_arena(c->call);
    w->now_ms = c->import_ms ? c->import_ms : hd_clock_now_ms();
    w->check = check;
    w->check_ud = c;
    w->actor.kind =
        c->who.kind == HD_PRINCIPAL_STAFF      ? HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF
        : c->who.kind == HD_PRINCIPAL_SERVICE  ? HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SERVICE
        : c->who.kind == HD_PRINCIPAL_CUSTOMER ? HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_CUSTOMER
                                               : HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM;
    w->actor.id = c->who.id;
    c->apply = apply;
    c->fill = fill;
    int rc = hd_store_submit(c->app->store, work_apply, work_done, c, err);
    return rc < 0 ? rc : HD_RPC_ASYNC;
}

static void fill_assigned(work_ctx *c)
{
    *(Helpdesk__V1__Ticket *)c->resp = *c->u.assign.ticket;
}

static int assign_common(hd_rpc_call *call, ProtobufCMessage *respm, uint64_t ticket_id,
                         uint64_t assignee_id, uint64_t group_id, bool automatic,
                         const Google__Protobuf__Timestamp *time, hd_err *err)
{
    if (ticket_id == 0)
        return hd_err_set(err, HD_EINVAL, "ticket_id: required");
    work_ctx *c = ctx_new(call, respm);
    if (!c)
        return hd_err_set(err, HD_ENOMEM, "assign: out of memory");
    int rc = hd_import_time(call, time, "time", &c->import_ms, err);
    if (rc < 0)
        return rc;
    c->u.assign.ticket_id = ticket_id;
    c->u.assign.assignee_id = assignee_id;
    c->u.assign.group_id = group_id;
    c->u.assign.automatic = automatic;
    return submit(c, hd_tickets_assign_apply, fill_assigned, err);
}

static int assign_ticket(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                         hd_err *err)
{
    const Helpdesk__V1__AssignTicketRequest *req = (const Helpdesk__V1__AssignTicketRequest *)reqm;
    return assign_common(call, respm, req->ticket_id, req->assignee_id, req->group_id, false,
                         req->time, err);
}

static int auto_assign(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                       hd_err *err)
{
    const Helpdesk__V1__AutoAssignRequest *req = (const Helpdesk__V1__AutoAssignRequest *)reqm;
    return assign_common(call, respm, req->ticket_id, 0, req->group_id, true, NULL, err);
}

static void fill_escalated(work_ctx *c)
{
    *(Helpdesk__V1__Ticket *)c->resp = *c->u.escalate.ticket;
}

static int escalate_ticket(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                           hd_err *err)
{
    work_ctx *c = ctx_new(call, respm);
    if (!c)
        return hd_err_set(err, HD_ENOMEM, "escalate: out of memory");
    const Helpdesk__V1__EscalateTicketRequest *req =
        (const Helpdesk__V1__EscalateTicketRequest *)reqm;
    int rc = hd_tickets_escalate_prepare(&c->u.escalate, req, err);
    if (rc == 0)
        rc = hd_import_time(call, req->time, "time", &c->import_ms, err);
    if (rc < 0)
        return rc;
    return submit(c, hd_tickets_escalate_apply, fill_escalated, err);
}

static void fill_merged(work_ctx *c)
{
    Helpdesk__V1__MergeTicketsResponse *r = (Helpdesk__V1__MergeTicketsResponse *)c->resp;
    r->source = c->u.merge.source;
    r->target = c->u.merge.target;
    r->moved_messages = c->u.merge.moved_messages;
    r->moved_notes = c->u.merge.moved_notes;
    r->moved_drafts = c->u.merge.moved_drafts;
}

static int merge_tickets(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                         hd_err *err)
{
    const Helpdesk__V1__MergeTicketsRequest *req = (const Helpdesk__V1__MergeTicketsRequest *)reqm;
    if (req->source_id == 0)
        return hd_err_set(err, HD_EINVAL, "source_id: required");
    if (req->target_id == 0)
        return hd_err_set(err, HD_EINVAL, "target_id: required");
    work_ctx *c = ctx_new(call, respm);
    if (!c)
        return hd_err_set(err, HD_ENOMEM, "merge: out of memory");
    c->u.merge.source_id = req->source_id;
    c->u.merge.target_id = req->target_id;
    return submit(c, hd_tickets_merge_apply, fill_merged, err);
}

static void fill_linked(work_ctx *c)
{
    Helpdesk__V1__LinkTicketsResponse *r = (Helpdesk__V1__LinkTicketsResponse *)c->resp;
    r->ticket = c->u.link.ticket;
    r->other = c->u.link.other;
}

static int link_tickets(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                        hd_err *err)
{
    const Helpdesk__V1__LinkTicketsRequest *req = (const Helpdesk__V1__LinkTicketsRequest *)reqm;
    if (req->ticket_id == 0)
        return hd_err_set(err, HD_EINVAL, "ticket_id: required");
    if (req->other_id == 0)
        return hd_err_set(err, HD_EINVAL, "other_id: required");
    work_ctx *c = ctx_new(call, respm);
    if (!c)
        return hd_err_set(err, HD_ENOMEM, "link: out of memory");
    c->u.link.ticket_id = req->ticket_id;
    c->u.link.other_id = req->other_id;
    c->u.link.kind = req->kind;
    c->u.link.remove = req->remove;
    return submit(c, hd_tickets_link_apply, fill_linked, err);
}

static int get_dashboard(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                         hd_err *err)
{
    hd_app *app = hd_rpc_call_app(call);
    (void)reqm;
    return hd_dashboard_get(app->store, hd_rpc_call_arena(call), hd_clock_now_ms(),
                            (Helpdesk__V1__Dashboard *)respm, err);
}

#define WORK_METHOD(name, req, resp, fn, perm)                                                     \
    {                                                                                              \
        .path = "/helpdesk.v1.TicketService/" name, .kind = HD_RPC_UNARY, .request = &req,         \
        .response = &resp, .unary = fn, .permission = perm,                                        \
    }

static const hd_rpc_method methods[] = {
    WORK_METHOD("AssignTicket", helpdesk__v1__assign_ticket_request__descriptor,
                helpdesk__v1__ticket__descriptor, assign_ticket, HD_PERM_TICKET_WRITE),
    WORK_METHOD("AutoAssign", helpdesk__v1__auto_assign_request__descriptor,
                helpdesk__v1__ticket__descriptor, auto_assign, HD_PERM_TICKET_WRITE),
    WORK_METHOD("EscalateTicket", helpdesk__v1__escalate_ticket_request__descriptor,
                helpdesk__v1__ticket__descriptor, escalate_ticket, HD_PERM_TICKET_WRITE),
    WORK_METHOD("MergeTickets", helpdesk__v1__merge_tickets_request__descriptor,
                helpdesk__v1__merge_tickets_response__descriptor, merge_tickets,
                HD_PERM_TICKET_WRITE),
    WORK_METHOD("LinkTickets", helpdesk__v1__link_tickets_request__descriptor,
                helpdesk__v1__link_tickets_response__descriptor, link_tickets,
                HD_PERM_TICKET_WRITE),
    WORK_METHOD("GetDashboard", helpdesk__v1__get_dashboard_request__descriptor,
                helpdesk__v1__dashboard__descriptor, get_dashboard, HD_PERM_REPORT_READ),
};

const hd_rpc_method *hd_tickets_work_api_methods(size_t *n)
{
    *n = sizeof(methods) / sizeof(methods[0]);
    return methods;
}
