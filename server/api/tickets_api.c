/* TicketService handlers. CreateTicket goes through the store's group commit: the handler
 * prepares the mutation in the call's arena, submits it and returns HD_RPC_ASYNC; the
 * store's acknowledgement fills the response and finishes the call. Reads run on the
 * worker thread from one snapshot each. A customer principal only sees and opens tickets
 * of its own; other customers' tickets look absent (NOT_FOUND), not forbidden. */
#include "server/api/tickets_api.h"

#include <inttypes.h>
#include <string.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/api/perm.h"
#include "server/app.h"
#include "server/common/log.h"
#include "server/store/store.h"
#include "server/tickets/tickets.h"

static hd_tickets_actor actor_of(const hd_identity *who)
{
    hd_tickets_actor a = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM, 0};
    switch (who->kind) {
    case HD_PRINCIPAL_STAFF:
        a.kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF;
        a.id = who->id;
        break;
    case HD_PRINCIPAL_SERVICE:
        a.kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SERVICE;
        a.id = who->id;
        break;
    case HD_PRINCIPAL_CUSTOMER:
        a.kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_CUSTOMER;
        a.id = who->id;
        break;
    default:
        break;
    }
    return a;
}

/* The store's mutation argument first, so the same pointer serves apply and done. */
typedef struct create_ctx {
    hd_tickets_create_args args;
    hd_rpc_call *call;
    Helpdesk__V1__Ticket *resp;
} create_ctx;

/* Runs on the store's writer thread once the ticket is durable or the mutation failed. */
static void create_done(void *arg, const hd_err *err)
{
    create_ctx *c = arg;
    if (err->code == HD_OK) {
        *c->resp = *c->args.ticket;
        if (hd_log_enabled(HD_LOG_DEBUG))
            hd_log(HD_LOG_DEBUG, "ticket_created",
                   "ticket=%" PRIu64 " number=%s replayed=%d rid=%s", c->resp->id, c->resp->number,
                   (int)c->args.replayed, hd_rpc_call_request_id(c->call));
    }
    hd_rpc_finish(c->call, err);
}

static int create_ticket(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                         hd_err *err)
{
    const Helpdesk__V1__CreateTicketRequest *req = (const Helpdesk__V1__CreateTicketRequest *)reqm;
    hd_app *app = hd_rpc_call_app(call);
    hd_arena *a = hd_rpc_call_arena(call);
    const hd_identity *who = hd_rpc_call_identity(call);
    hd_tickets_actor actor = actor_of(who);
    hd_tickets_limits lim = {.body_max = app->max_body_bytes};
    create_ctx *c = hd_arena_calloc(a, 1, sizeof(*c));
    if (!c)
        return hd_err_set(err, HD_ENOMEM, "create: out of memory");

    if (who->kind == HD_PRINCIPAL_CUSTOMER) {
        /* Customers open tickets for themselves only. */
        Helpdesk__V1__CreateTicketRequest *own = hd_arena_alloc(a, sizeof(*own));
        if (!own)
            return hd_err_set(err, HD_ENOMEM, "create: out of memory");
        if ((req->customer_id && req->customer_id != who->id) || req->customer_email[0])
            return hd_err_set(err, HD_EPERM,
                              "customer_id: customers open tickets only for themselves");
        *own = *req;
        own->customer_id = who->id;
        req = own;
    }
    int rc = hd_tickets_create_prepare(&c->args, a, req, &lim, &actor, err);
    if (rc < 0)
        return rc;
    c->call = call;
    c->resp = (Helpdesk__V1__Ticket *)respm;
    rc = hd_store_submit(app->store, hd_tickets_create_apply, create_done, c, err);
    if (rc < 0)
        return rc;
    return HD_RPC_ASYNC;
}

static int get_ticket(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                      hd_err *err)
{
    const Helpdesk__V1__GetTicketRequest *req = (const Helpdesk__V1__GetTicketRequest *)reqm;
    Helpdesk__V1__GetTicketResponse *resp = (Helpdesk__V1__GetTicketResponse *)respm;
    hd_app *app = hd_rpc_call_app(call);
    const hd_identity *who = hd_rpc_call_identity(call);
    hd_tickets_thread th;
    int rc = hd_tickets_get(app->store, hd_rpc_call_arena(call), req->id, req->number, &th, err);
    if (rc < 0)
        return rc;
    if (who->kind == HD_PRINCIPAL_CUSTOMER && th.ticket->customer_id != who->id) {
        if (req->id)
            return hd_err_set(err, HD_ENOTFOUND, "ticket %" PRIu64 ": not found", req->id);
        return hd_err_set(err, HD_ENOTFOUND, "ticket \"%s\": not found", req->number);
    }
    resp->ticket = th.ticket;
    resp->n_messages = th.n_messages;
    resp->messages = th.messages;
    resp->n_events = th.n_events;
    resp->events = th.events;
    return HD_OK;
}

static int list_tickets(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                        hd_err *err)
{
    const Helpdesk__V1__ListTicketsRequest *req = (const Helpdesk__V1__ListTicketsRequest *)reqm;
    Helpdesk__V1__ListTicketsResponse *resp = (Helpdesk__V1__ListTicketsResponse *)respm;
    hd_app *app = hd_rpc_call_app(call);
    const hd_identity *who = hd_rpc_call_identity(call);
    hd_tickets_query q = {
        .status = req->status,
        .customer_id = who->kind == HD_PRINCIPAL_CUSTOMER ? who->id : 0,
        .page_size = req->page_size,
        .page_token = req->page_token,
    };
    hd_tickets_page page;
    int rc = hd_tickets_list(app->store, hd_rpc_call_arena(call), &q, &page, err);
    if (rc < 0)
        return rc;
    resp->n_tickets = page.n_tickets;
    resp->tickets = page.tickets;
    resp->next_page_token = (char *)page.next_page_token;
    return HD_OK;
}

static const hd_rpc_method methods[] = {
    {
        .path = "/helpdesk.v1.TicketService/CreateTicket",
        .kind = HD_RPC_UNARY,
        .request = &helpdesk__v1__create_ticket_request__descriptor,
        .response = &helpdesk__v1__ticket__descriptor,
        .unary = create_ticket,
        .permission = HD_PERM_TICKET_WRITE,
    },
    {
        .path = "/helpdesk.v1.TicketService/GetTicket",
        .kind = HD_RPC_UNARY,
        .request = &helpdesk__v1__get_ticket_request__descriptor,
        .response = &helpdesk__v1__get_ticket_response__descriptor,
        .unary = get_ticket,
        .permission = HD_PERM_TICKET_READ,
    },
    {
        .path = "/helpdesk.v1.TicketService/ListTickets",
        .kind = HD_RPC_UNARY,
        .request = &helpdesk__v1__list_tickets_request__descriptor,
        .response = &helpdesk__v1__list_tickets_response__descriptor,
        .unary = list_tickets,
        .permission = HD_PERM_TICKET_READ,
    },
};

const hd_rpc_method *hd_tickets_api_methods(size_t *n)
{
    *n = sizeof(methods) / sizeof(methods[0]);
    return methods;
}
