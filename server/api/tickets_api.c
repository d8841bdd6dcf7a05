/* TicketService handlers. Every mutation goes through the store's group commit: the handler
 * prepares it in the call's arena, submits it and returns HD_RPC_ASYNC; the store's
 * acknowledgement fills the response, publishes the committed events on the bus
 * (WatchTickets) and finishes the call. Reads run on the worker thread from one snapshot
 * each. A customer principal only sees and touches tickets of its own; other customers'
 * tickets look absent (NOT_FOUND), not forbidden; customers never see notes or drafts. */
#include "server/api/tickets_api.h"

#include <inttypes.h>
#include <string.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/api/access.h"
#include "server/api/import.h"
#include "server/api/perm.h"
#include "server/app.h"
#include "server/clock/clock.h"
#include "server/common/log.h"
#include "server/sla/query.h"
#include "server/store/store.h"
#include "server/tickets/assign.h"
#include "server/tickets/bus.h"
#include "server/tickets/change.h"
#include "server/tickets/note.h"
#include "server/tickets/rating.h"
#include "server/tickets/reply.h"
#include "server/tickets/tickets.h"
#include "server/tickets/update.h"

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

/* One submitted mutation: the store calls mut_apply and mut_done with this. */
typedef struct mut_ctx mut_ctx;

/* An imported change (a request with `time`): at ms, to ticket (0: not an import). A request
 * id already recorded under idem_ns makes the call a retry, which replays whatever the
 * ticket did since (the first attempt's own change moved its update_time). */
typedef struct mut_import {
    uint64_t ticket;
    int64_t ms;
    const char *idem_ns;    /* HD_TICKETS_IDEM_*, or NULL */
    const char *request_id; /* borrowed from the request; NULL or "" for none */
} mut_import;
struct mut_ctx {
    hd_rpc_call *call;
    hd_app *app;
    hd_store_apply_fn apply; /* the domain mutation */
    void *args;              /* its argument */
    hd_tickets_committed *committed;
    void (*fill)(mut_ctx *c); /* fills resp from args once durable */
    ProtobufCMessage *resp;
    mut_import import;
};

/* An imported change may not precede the ticket's last change (its update_time), read in
 * the mutation's txn so no change can slip in between; a retry of a recorded request id is
 * not checked (the domain apply replays it). Returns 0, HD_EINVAL or an error. */
static int import_check(hd_txn *txn, const mut_ctx *c, hd_err *err)
{
    const void *val;
    size_t len;
    hd_key k;
    int rc;
    if (c->import.idem_ns && c->import.request_id && c->import.request_id[0]) {
        uint64_t ticket_id, child_id;
        rc = hd_tickets_idem_pair_get(txn, c->import.idem_ns, c->import.request_id, &ticket_id,
                                      &child_id, err);
        if (rc == 0)
            return 0;
        if (rc != HD_ENOTFOUND)
            return rc;
    }
    rc = hd_store_get(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, c->import.ticket), &val, &len,
                      err);
    if (rc == HD_ENOTFOUND) { /* the domain apply reports it */
        hd_err_clear(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    Helpdesk__V1__Ticket *t = helpdesk__v1__ticket__unpack(NULL, len, val);
    if (!t)
        return hd_err_set(err, HD_ECORRUPT, "ticket %" PRIu64 ": record does not unpack",
                          c->import.ticket);
    rc = hd_import_check(t, c->import.ms, err);
    helpdesk__v1__ticket__free_unpacked(t, NULL);
    return rc;
}

static int mut_apply(hd_txn *txn, void *arg, hd_err *err)
{
    mut_ctx *c = arg;
    if (c->import.ticket) {
        int rc = import_check(txn, c, err);
        if (rc < 0)
            return rc;
    }
    return c->apply(txn, c->args, err);
}

/* Runs on the store's writer thread once the change is durable or the mutation failed. */
static void mut_done(void *arg, const hd_err *err)
{
    mut_ctx *c = arg;
    if (err->code == HD_OK) {
        c->fill(c);
        hd_tickets_bus_publish(c->app->bus, c->committed);
    }
    hd_rpc_finish(c->call, err);
}

/* Submits apply(args) for group commit; imp (copied; NULL or imp->ticket 0: not an import)
 * names an imported change (import_check). Returns HD_RPC_ASYNC or an error. */
static int mut_submit_at(hd_rpc_call *call, hd_store_apply_fn apply, void *args,
                         hd_tickets_committed *committed, void (*fill)(mut_ctx *c),
                         ProtobufCMessage *resp, const mut_import *imp, hd_err *err)
{
    hd_app *app = hd_rpc_call_app(call);
    mut_ctx *c = hd_arena_calloc(hd_rpc_call_arena(call), 1, sizeof(*c));
    if (!c)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    c->call = call;
    c->app = app;
    c->apply = apply;
    c->args = args;
    c->committed = committed;
    c->fill = fill;
    c->resp = resp;
    if (imp)
        c->import = *imp;
    int rc = hd_store_submit(app->store, mut_apply, mut_done, c, err);
    return rc < 0 ? rc : HD_RPC_ASYNC;
}

/* mut_submit_at for a change at the prepared time (no import). */
static int mut_submit(hd_rpc_call *call, hd_store_apply_fn apply, void *args,
                      hd_tickets_committed *committed, void (*fill)(mut_ctx *c),
                      ProtobufCMessage *resp, hd_err *err)
{
    return mut_submit_at(call, apply, args, committed, fill, resp, NULL, err);
}

/* Allocates a zeroed mutation argument in the call's arena. */
static void *args_new(hd_rpc_call *call, size_t n)
{
    return hd_arena_calloc(hd_rpc_call_arena(call), 1, n);
}

static bool is_customer(const hd_rpc_call *call)
{
    return hd_rpc_call_identity(call)->kind == HD_PRINCIPAL_CUSTOMER;
}

static void fill_created(mut_ctx *c)
{
    hd_tickets_create_args *args = c->args;
    *(Helpdesk__V1__Ticket *)c->resp = *args->ticket;
    if (hd_log_enabled(HD_LOG_DEBUG))
        hd_log(HD_LOG_DEBUG, "ticket_created", "ticket=%" PRIu64 " number=%s replayed=%d rid=%s",
               args->ticket->id, args->ticket->number, (int)args->replayed,
               hd_rpc_call_request_id(c->call));
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
    hd_tickets_create_args *args = args_new(call, sizeof(*args));
    if (!args)
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
    int rc = hd_tickets_create_prepare(args, a, req, &lim, &actor, err);
    if (rc < 0)
        return rc;
    rc = hd_import_time(call, req->create_time, "create_time", &args->now_ms, err);
    if (rc < 0)
        return rc;
    return mut_submit(call, hd_tickets_create_grouped_apply, args, &args->committed, fill_created,
                      respm, err);
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
    rc = hd_access_ticket(app->store, who, th.ticket, HD_ACCESS_READ, err);
    if (rc == HD_ENOTFOUND && !req->id) /* as a missing number reads */
        return hd_err_set(err, HD_ENOTFOUND, "ticket \"%s\": not found", req->number);
    if (rc < 0)
        return rc;
    if (who->kind != HD_PRINCIPAL_CUSTOMER) { /* SLA clocks are for staff */
        hd_sla_filter all = {0, 0, hd_clock_now_ms() / 1000};
        size_t one = 1;
        rc =
            hd_sla_query_annotate(app->store, hd_rpc_call_arena(call), &th.ticket, &one, &all, err);
        if (rc < 0)
            return rc;
    }
    resp->ticket = th.ticket;
    resp->n_messages = th.n_messages;
    resp->messages = th.messages;
    hd_tickets_actor viewer = actor_of(who);
    hd_tickets_thread_redact(&th, &viewer);
    resp->n_events = th.n_events;
    resp->events = th.events;
    resp->n_notes = th.n_notes;
    resp->notes = th.notes;
    resp->n_drafts = th.n_drafts;
    resp->drafts = th.drafts;
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
        .customer_id = req->customer_id,
        .page_size = req->page_size,
        .page_token = req->page_token,
        .priority = req->priority,
        .category = req->category,
        .assignee_id = req->assignee_id,
        .unassigned = req->unassigned,
        .tag = req->tag,
        .create_from_ms = hd_tickets_ts_ms(req->create_time_from),
        .create_to_ms = hd_tickets_ts_ms(req->create_time_to),
        .update_from_ms = hd_tickets_ts_ms(req->update_time_from),
        .update_to_ms = hd_tickets_ts_ms(req->update_time_to),
        .sort = req->sort,
        .sla_breached = req->sla_breached,
        .sla_due_within_min = req->sla_due_within_minutes,
        .sla_now_s = hd_clock_now_ms() / 1000,
        .uncategorised = req->uncategorised,
    };
    hd_tickets_page page;
    hd_access_scope scope;
    if (who->kind == HD_PRINCIPAL_CUSTOMER) {
        /* Customers list their own tickets (and their sharing organization's); asking for
         * another customer's finds none. */
        if (req->customer_id && req->customer_id != who->id)
            return HD_OK;
        if (req->sla_breached || req->sla_due_within_minutes)
            return hd_err_set(err, HD_EPERM, "sla filters: staff only");
    }
    if (req->sla_due_within_minutes < 0)
        return hd_err_set(err, HD_EINVAL, "sla_due_within_minutes: must be >= 0");
    int rc = hd_access_list_scope(&scope, app->store, who, &q, err);
    if (rc == HD_OK)
        rc = hd_tickets_list(app->store, hd_rpc_call_arena(call), &q, &page, err);
    /* The scope's indexes decided the page; the per-ticket check stays as a second fence (an
     * organization's index keeps the requester's organization at create, the check reads
     * the current one). */
    if (rc == HD_OK)
        rc = hd_access_filter(app->store, who, page.tickets, &page.n_tickets, err);
    if (rc == HD_OK && who->kind != HD_PRINCIPAL_CUSTOMER) { /* Ticket.sla (filtered by list) */
        hd_sla_filter sf = {0, 0, q.sla_now_s};
        rc = hd_sla_query_annotate(app->store, hd_rpc_call_arena(call), page.tickets,
                                   &page.n_tickets, &sf, err);
    }
    if (rc < 0)
        return rc;
    resp->n_tickets = page.n_tickets;
    resp->tickets = page.tickets;
    resp->next_page_token = (char *)page.next_page_token;
    return HD_OK;
}

/* ---- Working on tickets ---------------------------------------------------------------- */

static void fill_updated(mut_ctx *c)
{
    *(Helpdesk__V1__Ticket *)c->resp = *((hd_tickets_update_args *)c->args)->ticket;
}

static int update_ticket(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                         hd_err *err)
{
    const Helpdesk__V1__UpdateTicketRequest *req = (const Helpdesk__V1__UpdateTicketRequest *)reqm;
    hd_tickets_actor actor = actor_of(hd_rpc_call_identity(call));
    hd_tickets_update_args *args = args_new(call, sizeof(*args));
    if (!args)
        return hd_err_set(err, HD_ENOMEM, "update: out of memory");
    if (is_customer(call))
        return hd_err_set(err, HD_EPERM, "ticket: customers cannot change ticket fields");
    int rc =
        hd_access_ticket_id(((hd_app *)hd_rpc_call_app(call))->store, hd_rpc_call_identity(call),
                            req->ticket ? req->ticket->id : 0, HD_ACCESS_MANAGE, err);
    if (rc < 0)
        return rc;
    rc = hd_tickets_update_prepare(args, hd_rpc_call_arena(call), req, &actor, err);
    if (rc < 0)
        return rc;
    rc = hd_import_time(call, req->time, "time", &args->now_ms, err);
    if (rc < 0)
        return rc;
    mut_import imp = {.ticket = req->time && req->ticket ? req->ticket->id : 0, .ms = args->now_ms};
    return mut_submit_at(call, hd_tickets_update_apply, args, &args->committed, fill_updated, respm,
                         &imp, err);
}

static void fill_reply(mut_ctx *c)
{
    hd_tickets_reply_args *args = c->args;
    Helpdesk__V1__ReplyToTicketResponse *resp = (Helpdesk__V1__ReplyToTicketResponse *)c->resp;
    resp->ticket = args->ticket;
    resp->message = (Helpdesk__V1__Message *)args->message;
    resp->draft = args->draft;
    resp->follow_up = args->follow_up;
}

static int submit_reply(hd_rpc_call *call, hd_tickets_reply_args *args, ProtobufCMessage *respm,
                        hd_err *err)
{
    return mut_submit(call, hd_tickets_reply_apply, args, &args->committed, fill_reply, respm, err);
}

static int reply_to_ticket(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                           hd_err *err)
{
    const Helpdesk__V1__ReplyToTicketRequest *req =
        (const Helpdesk__V1__ReplyToTicketRequest *)reqm;
    hd_app *app = hd_rpc_call_app(call);
    hd_arena *a = hd_rpc_call_arena(call);
    hd_tickets_actor actor = actor_of(hd_rpc_call_identity(call));
    hd_tickets_reply_args *args = args_new(call, sizeof(*args));
    int rc;
    if (!args)
        return hd_err_set(err, HD_ENOMEM, "reply: out of memory");
    rc = hd_access_ticket_id(app->store, hd_rpc_call_identity(call), req->ticket_id,
                             HD_ACCESS_REPLY, err);
    if (rc < 0)
        return rc;
    if (is_customer(call)) {
        if (req->mode == HELPDESK__V1__REPLY_MODE__REPLY_MODE_DRAFT)
            return hd_err_set(err, HD_EPERM, "mode: customers cannot keep drafts");
        if (req->n_attachments)
            return hd_err_set(err, HD_EPERM, "attachments: staff replies only");
        rc = hd_tickets_customer_message_prepare(args, a, req->ticket_id, req->body,
                                                 app->max_body_bytes, &actor, err);
        if (rc == 0)
            rc = hd_tickets_reply_request_id(args, req->request_id, err);
    } else {
        rc = hd_tickets_reply_prepare(args, a, req, app->max_body_bytes, &actor, err);
    }
    if (rc == 0)
        rc = hd_import_time(call, req->time, "time", &args->now_ms, err);
    if (rc < 0)
        return rc;
    mut_import imp = {.ticket = req->time ? req->ticket_id : 0,
                      .ms = args->now_ms,
                      .idem_ns = HD_TICKETS_IDEM_REPLY,
                      .request_id = args->request_id};
    return mut_submit_at(call, hd_tickets_reply_apply, args, &args->committed, fill_reply, respm,
                         &imp, err);
}

/* Common start of the draft handlers: staff only, REPLY access on the ticket. Returns 0 with
 * *out (zeroed, in the call's arena) or an error. */
static int draft_begin(hd_rpc_call *call, uint64_t ticket_id, hd_tickets_reply_args **out,
                       hd_err *err)
{
    hd_app *app = hd_rpc_call_app(call);
    *out = args_new(call, sizeof(**out));
    if (!*out)
        return hd_err_set(err, HD_ENOMEM, "draft: out of memory");
    if (is_customer(call))
        return hd_err_set(err, HD_EPERM, "draft: staff only");
    return hd_access_ticket_id(app->store, hd_rpc_call_identity(call), ticket_id, HD_ACCESS_REPLY,
                               err);
}

static int update_draft(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                        hd_err *err)
{
    const Helpdesk__V1__UpdateDraftRequest *req = (const Helpdesk__V1__UpdateDraftRequest *)reqm;
    hd_app *app = hd_rpc_call_app(call);
    hd_tickets_actor actor = actor_of(hd_rpc_call_identity(call));
    hd_tickets_reply_args *args;
    int rc = draft_begin(call, req->ticket_id, &args, err);
    if (rc < 0)
        return rc;
    rc = hd_tickets_draft_update_prepare(args, hd_rpc_call_arena(call), req, app->max_body_bytes,
                                         &actor, err);
    if (rc < 0)
        return rc;
    return submit_reply(call, args, respm, err);
}

static void fill_nothing(mut_ctx *c)
{
    (void)c;
}

/* SendDraft (fill_reply) and DiscardDraft (fill_nothing). */
static int finish_draft(hd_rpc_call *call, hd_tickets_reply_op op, uint64_t ticket_id,
                        uint64_t draft_id, void (*fill)(mut_ctx *c), ProtobufCMessage *respm,
                        hd_err *err)
{
    hd_tickets_actor actor = actor_of(hd_rpc_call_identity(call));
    hd_tickets_reply_args *args;
    int rc = draft_begin(call, ticket_id, &args, err);
    if (rc < 0)
        return rc;
    rc = hd_tickets_draft_prepare(args, hd_rpc_call_arena(call), op, ticket_id, draft_id, &actor,
                                  err);
    if (rc < 0)
        return rc;
    return mut_submit(call, hd_tickets_reply_apply, args, &args->committed, fill, respm, err);
}

static int send_draft(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                      hd_err *err)
{
    const Helpdesk__V1__SendDraftRequest *req = (const Helpdesk__V1__SendDraftRequest *)reqm;
    return finish_draft(call, HD_TICKETS_REPLY_DRAFT_SEND, req->ticket_id, req->draft_id,
                        fill_reply, respm, err);
}

static int discard_draft(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                         hd_err *err)
{
    const Helpdesk__V1__DiscardDraftRequest *req = (const Helpdesk__V1__DiscardDraftRequest *)reqm;
    return finish_draft(call, HD_TICKETS_REPLY_DRAFT_DISCARD, req->ticket_id, req->draft_id,
                        fill_nothing, respm, err);
}

static void fill_note(mut_ctx *c)
{
    *(Helpdesk__V1__Note *)c->resp = *((hd_tickets_note_args *)c->args)->note;
}

static int add_note(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                    hd_err *err)
{
    const Helpdesk__V1__AddNoteRequest *req = (const Helpdesk__V1__AddNoteRequest *)reqm;
    hd_app *app = hd_rpc_call_app(call);
    hd_tickets_actor actor = actor_of(hd_rpc_call_identity(call));
    hd_tickets_note_args *args = args_new(call, sizeof(*args));
    if (!args)
        return hd_err_set(err, HD_ENOMEM, "note: out of memory");
    if (is_customer(call))
        return hd_err_set(err, HD_EPERM, "note: internal notes are for staff only");
    int rc = hd_access_ticket_id(app->store, hd_rpc_call_identity(call), req->ticket_id,
                                 HD_ACCESS_NOTES, err);
    if (rc < 0)
        return rc;
    rc = hd_tickets_note_prepare(args, hd_rpc_call_arena(call), req, app->max_body_bytes, &actor,
                                 err);
    if (rc == 0)
        rc = hd_import_time(call, req->time, "time", &args->now_ms, err);
    if (rc < 0)
        return rc;
    mut_import imp = {.ticket = req->time ? req->ticket_id : 0,
                      .ms = args->now_ms,
                      .idem_ns = HD_TICKETS_IDEM_NOTE,
                      .request_id = args->request_id};
    return mut_submit_at(call, hd_tickets_note_apply, args, &args->committed, fill_note, respm,
                         &imp, err);
}

static void fill_rated(mut_ctx *c)
{
    *(Helpdesk__V1__Ticket *)c->resp = *((hd_tickets_rate_args *)c->args)->ticket;
}

static int rate_ticket(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                       hd_err *err)
{
    const Helpdesk__V1__RateTicketRequest *req = (const Helpdesk__V1__RateTicketRequest *)reqm;
    hd_tickets_actor actor = actor_of(hd_rpc_call_identity(call));
    hd_tickets_rate_args *args = args_new(call, sizeof(*args));
    if (!args)
        return hd_err_set(err, HD_ENOMEM, "rating: out of memory");
    int rc = hd_access_ticket_id(((hd_app *)hd_rpc_call_app(call))->store,
                                 hd_rpc_call_identity(call), req->ticket_id, HD_ACCESS_REPLY, err);
    if (rc < 0)
        return rc;
    rc = hd_tickets_rate_prepare(args, hd_rpc_call_arena(call), req, &actor, err);
    if (rc == 0)
        rc = hd_import_time(call, req->time, "time", &args->now_ms, err);
    if (rc < 0)
        return rc;
    mut_import imp = {.ticket = req->time ? req->ticket_id : 0, .ms = args->now_ms};
    return mut_submit_at(call, hd_tickets_rate_apply, args, &args->committed, fill_rated, respm,
                         &imp, err);
}

/* ---- WatchTickets ---------------------------------------------------------------------- */

/* One watcher, in the call's arena. The call ends exactly once: by whoever removes the
 * watcher from the bus (the bus dropping it, or the cancel callback unsubscribing it). */
typedef struct watch_ctx {
    hd_rpc_call *call;
    hd_tickets_bus *bus;
    uint64_t id;
    hd_access_scope scope; /* the tickets this watcher may read (agents: their groups') */
} watch_ctx;

static int watch_deliver(void *ud, const Helpdesk__V1__TicketEvent *ev,
                         const Helpdesk__V1__Ticket *t)
{
    watch_ctx *w = ud;
    Helpdesk__V1__WatchTicketsResponse r = HELPDESK__V1__WATCH_TICKETS_RESPONSE__INIT;
    hd_err e;
    if (hd_access_ticket_scope(&w->scope, NULL, t, HD_ACCESS_READ, &e) != HD_OK)
        return 0; /* not this watcher's business: skip, do not drop */
    r.event = (Helpdesk__V1__TicketEvent *)ev;
    r.ticket = (Helpdesk__V1__Ticket *)t;
    return hd_rpc_stream_send(w->call, &r.base);
}

static void watch_dropped(void *ud, int code)
{
    watch_ctx *w = ud;
    hd_err e;
    if (code == HD_EFULL)
        hd_err_set(&e, HD_EFULL, "watch: the client fell too far behind; events were dropped");
    else if (code == HD_EUNAVAIL)
        hd_err_set(&e, HD_EUNAVAIL, "watch: server is stopping");
    else
        hd_err_set(&e, code, "watch: ended (%s)", hd_strerror(code));
    hd_rpc_finish(w->call, &e);
}

static void watch_cancelled(void *ud)
{
    watch_ctx *w = ud;
    hd_err e;
    if (hd_tickets_bus_unsubscribe(w->bus, w->id)) {
        hd_err_set(&e, HD_ECANCELED, "watch: cancelled");
        hd_rpc_finish(w->call, &e);
    }
}

static int watch_tickets(hd_rpc_call *call, const ProtobufCMessage *reqm, hd_err *err)
{
    const Helpdesk__V1__WatchTicketsRequest *req = (const Helpdesk__V1__WatchTicketsRequest *)reqm;
    hd_app *app = hd_rpc_call_app(call);
    hd_tickets_watch_filter f = {.assignee_id = req->assignee_id, .group_id = req->group_id};
    watch_ctx *w = hd_arena_calloc(hd_rpc_call_arena(call), 1, sizeof(*w));
    if (!w)
        return hd_err_set(err, HD_ENOMEM, "watch: out of memory");
    if (is_customer(call))
        return hd_err_set(err, HD_EPERM, "watch: staff and services only");
    w->call = call;
    w->bus = app->bus;
    if (!w->bus)
        return hd_err_set(err, HD_EUNAVAIL, "watch: no event bus");
    hd_txn *txn;
    int rc = hd_store_read_begin(app->store, &txn, err);
    if (rc < 0)
        return rc;
    rc = hd_access_scope_load(&w->scope, txn, hd_rpc_call_identity(call), err);
    hd_store_read_end(txn);
    if (rc < 0)
        return rc;
    rc = hd_tickets_bus_subscribe(w->bus, &f, watch_deliver, watch_dropped, w, &w->id, err);
    if (rc < 0)
        return rc;
    hd_rpc_call_on_cancel(call, watch_cancelled, w);
    /* Headers once subscribed: a client that has them misses no later event. */
    hd_rpc_stream_open(call);
    return HD_RPC_ASYNC;
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
    {
        .path = "/helpdesk.v1.TicketService/UpdateTicket",
        .kind = HD_RPC_UNARY,
        .request = &helpdesk__v1__update_ticket_request__descriptor,
        .response = &helpdesk__v1__ticket__descriptor,
        .unary = update_ticket,
        .permission = HD_PERM_TICKET_WRITE,
    },
    {
        .path = "/helpdesk.v1.TicketService/ReplyToTicket",
        .kind = HD_RPC_UNARY,
        .request = &helpdesk__v1__reply_to_ticket_request__descriptor,
        .response = &helpdesk__v1__reply_to_ticket_response__descriptor,
        .unary = reply_to_ticket,
        .permission = HD_PERM_TICKET_WRITE,
    },
    {
        .path = "/helpdesk.v1.TicketService/UpdateDraft",
        .kind = HD_RPC_UNARY,
        .request = &helpdesk__v1__update_draft_request__descriptor,
        .response = &helpdesk__v1__reply_to_ticket_response__descriptor,
        .unary = update_draft,
        .permission = HD_PERM_TICKET_WRITE,
    },
    {
        .path = "/helpdesk.v1.TicketService/SendDraft",
        .kind = HD_RPC_UNARY,
        .request = &helpdesk__v1__send_draft_request__descriptor,
        .response = &helpdesk__v1__reply_to_ticket_response__descriptor,
        .unary = send_draft,
        .permission = HD_PERM_TICKET_WRITE,
    },
    {
        .path = "/helpdesk.v1.TicketService/DiscardDraft",
        .kind = HD_RPC_UNARY,
        .request = &helpdesk__v1__discard_draft_request__descriptor,
        .response = &helpdesk__v1__discard_draft_response__descriptor,
        .unary = discard_draft,
        .permission = HD_PERM_TICKET_WRITE,
    },
    {
        .path = "/helpdesk.v1.TicketService/AddNote",
        .kind = HD_RPC_UNARY,
        .request = &helpdesk__v1__add_note_request__descriptor,
        .response = &helpdesk__v1__note__descriptor,
        .unary = add_note,
        .permission = HD_PERM_TICKET_WRITE,
    },
    {
        .path = "/helpdesk.v1.TicketService/RateTicket",
        .kind = HD_RPC_UNARY,
        .request = &helpdesk__v1__rate_ticket_request__descriptor,
        .response = &helpdesk__v1__ticket__descriptor,
        .unary = rate_ticket,
        .permission = HD_PERM_TICKET_WRITE,
    },
    {
        .path = "/helpdesk.v1.TicketService/WatchTickets",
        .kind = HD_RPC_SERVER_STREAM,
        .request = &helpdesk__v1__watch_tickets_request__descriptor,
        .response = &helpdesk__v1__watch_tickets_response__descriptor,
        .stream = watch_tickets,
        .permission = HD_PERM_TICKET_READ,
    },
};

const hd_rpc_method *hd_tickets_api_methods(size_t *n)
{
    *n = sizeof(methods) / sizeof(methods[0]);
    return methods;
}
