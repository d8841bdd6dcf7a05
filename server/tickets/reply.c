/* Replies, drafts and customer messages (see reply.h). */
#include "server/tickets/reply.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "server/clock/clock.h"
#include "server/tickets/annotate.h"
#include "server/tickets/change.h"
#include "server/tickets/fields.h"
#include "server/tickets/lifecycle.h"
#include "server/tickets/outbox_hook.h"
#include "server/validate/validate.h"

#define ST(x)  HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_##x
#define EVK(x) HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_##x

static void set_common(hd_tickets_reply_args *args, hd_arena *a, hd_tickets_reply_op op,
                       uint64_t ticket_id, const hd_tickets_actor *actor)
{
    memset(args, 0, sizeof(*args));
    args->op = op;
    args->arena = a;
    args->ticket_id = ticket_id;
    args->actor.kind = actor ? actor->kind : HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM;
    args->actor.id = actor ? actor->id : 0;
    args->now_ms = hd_clock_now_ms();
}

static int check_status_after(Helpdesk__V1__TicketStatus s, hd_err *err)
{
    if (s == ST(UNSPECIFIED) || s == ST(OPEN) || s == ST(PENDING) || s == ST(SOLVED))
        return 0;
    return hd_err_set(err, HD_EINVAL, "status_after: must be OPEN, PENDING or SOLVED");
}

/* Checks and sets the body and status_after of a reply or draft edit. */
static int set_body(hd_tickets_reply_args *args, const char *body,
                    Helpdesk__V1__TicketStatus status_after, size_t body_max, hd_err *err)
{
    int rc = hd_tickets__check_body("body", body, body_max, err);
    if (rc < 0)
        return rc;
    rc = check_status_after(status_after, err);
    if (rc < 0)
        return rc;
    args->body = body;
    args->status_after = status_after;
    return 0;
}

#define ATTACH_MAX          10
#define ATTACH_FILENAME_MAX 255
#define ATTACH_TYPE_MAX     127

/* "type/subtype" of RFC 2045 token characters, or empty. */
static bool content_type_ok(const char *s)
{
    static const char tok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                              "!#$%&'*+-.^_`|~";
    size_t n = strlen(s);
    if (n == 0)
        return true;
    const char *slash = strchr(s, '/');
    if (n > ATTACH_TYPE_MAX || !slash || slash == s || !slash[1])
        return false;
    size_t a = (size_t)(slash - s);
    return strspn(s, tok) == a && strspn(slash + 1, tok) == n - a - 1;
}

/* Checks the form of a staff reply's attachment references (their content is checked by
 * the outbox hook, which knows the store). */
static int check_attachments(Helpdesk__V1__Attachment **v, size_t n, hd_err *err)
{
    if (n > ATTACH_MAX)
        return hd_err_set(err, HD_EINVAL, "attachments: at most %d", ATTACH_MAX);
    for (size_t i = 0; i < n; i++) {
        const char *h = v[i]->sha256, *f = v[i]->filename;
        size_t hn = strlen(h), fn = strlen(f);
        if (hn != 64 || strspn(h, "0123456789abcdef") != 64)
            return hd_err_set(err, HD_EINVAL,
                              "attachments[%zu].sha256: want 64 lower-case hex digits", i);
        if (fn == 0 || fn > ATTACH_FILENAME_MAX || !hd_validate_utf8(f, fn) || strpbrk(f, "/\\") ||
            !hd_validate_single_line(f, fn))
            return hd_err_set(err, HD_EINVAL,
                              "attachments[%zu].filename: want 1-%d bytes of UTF-8 without "
                              "line breaks, \"/\" or \"\\\"",
                              i, ATTACH_FILENAME_MAX);
        for (size_t j = 0; j < fn; j++)
            if ((unsigned char)f[j] < 0x20 || f[j] == 0x7f)
                return hd_err_set(err, HD_EINVAL,
                                  "attachments[%zu].filename: contains a control character", i);
        if (!content_type_ok(v[i]->content_type))
            return hd_err_set(err, HD_EINVAL,
                              "attachments[%zu].content_type: want \"type/subtype\" or empty", i);
    }
    return 0;
}

int hd_tickets_reply_prepare(hd_tickets_reply_args *args, hd_arena *a,
                             const Helpdesk__V1__ReplyToTicketRequest *req, size_t body_max,
                             const hd_tickets_actor *actor, hd_err *err)
{
    hd_tickets_reply_op op;
    switch (req->mode) {
    case HELPDESK__V1__REPLY_MODE__REPLY_MODE_UNSPECIFIED:
    case HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND:
        op = HD_TICKETS_REPLY_SEND;
        break;
    case HELPDESK__V1__REPLY_MODE__REPLY_MODE_DRAFT:
        op = HD_TICKETS_REPLY_DRAFT;
        break;
    default:
        return hd_err_set(err, HD_EINVAL, "mode: unknown value %d", (int)req->mode);
    }
    set_common(args, a, op, req->ticket_id, actor);
    if (!req->ticket_id)
        return hd_err_set(err, HD_EINVAL, "ticket_id: required");
    int rc = hd_tickets_reply_request_id(args, req->request_id, err);
    if (rc < 0)
        return rc;
    rc = check_attachments(req->attachments, req->n_attachments, err);
    if (rc < 0)
        return rc;
    args->attachments = req->attachments;
    args->n_attachments = req->n_attachments;
    return set_body(args, req->body, req->status_after, body_max, err);
}

int hd_tickets_reply_request_id(hd_tickets_reply_args *args, const char *request_id, hd_err *err)
{
    int rc;
    if (!request_id[0])
        return 0;
    if (args->op != HD_TICKETS_REPLY_SEND && args->op != HD_TICKETS_REPLY_CUSTOMER)
        return hd_err_set(err, HD_EINVAL, "request_id: only for mode SEND");
    rc = hd_tickets__check_request_id(request_id, err);
    if (rc < 0)
        return rc;
    args->request_id = request_id;
    return 0;
}

int hd_tickets_draft_update_prepare(hd_tickets_reply_args *args, hd_arena *a,
                                    const Helpdesk__V1__UpdateDraftRequest *req, size_t body_max,
                                    const hd_tickets_actor *actor, hd_err *err)
{
    int rc = hd_tickets_draft_prepare(args, a, HD_TICKETS_REPLY_DRAFT_UPDATE, req->ticket_id,
                                      req->draft_id, actor, err);
    if (rc < 0)
        return rc;
    if (req->n_attachments && !req->replace_attachments)
        return hd_err_set(err, HD_EINVAL,
                          "attachments: given without replace_attachments (which keeps the "
                          "draft's files); set it to make them the draft's files");
    rc = check_attachments(req->attachments, req->n_attachments, err);
    if (rc < 0)
        return rc;
    args->attachments = req->attachments;
    args->n_attachments = req->n_attachments;
    args->replace_attachments = req->replace_attachments;
    if (req->body[0])
        return set_body(args, req->body, req->status_after, body_max, err);
    /* No new text: keep the draft's (read in the write txn, so a concurrent edit of the text
     * is not overwritten), but an edit must change something. */
    if (!req->status_after && !req->replace_attachments)
        return hd_err_set(err, HD_EINVAL,
                          "body: required unless status_after or replace_attachments is set");
    rc = check_status_after(req->status_after, err);
    if (rc < 0)
        return rc;
    args->body = NULL;
    args->status_after = req->status_after;
    return 0;
}

int hd_tickets_draft_prepare(hd_tickets_reply_args *args, hd_arena *a, hd_tickets_reply_op op,
                             uint64_t ticket_id, uint64_t draft_id, const hd_tickets_actor *actor,
                             hd_err *err)
{
    set_common(args, a, op, ticket_id, actor);
    args->draft_id = draft_id;
    if (!ticket_id)
        return hd_err_set(err, HD_EINVAL, "ticket_id: required");
    if (!draft_id)
        return hd_err_set(err, HD_EINVAL, "draft_id: required");
    return 0;
}

int hd_tickets_customer_message_prepare(hd_tickets_reply_args *args, hd_arena *a,
                                        uint64_t ticket_id, const char *body, size_t body_max,
                                        const hd_tickets_actor *actor, hd_err *err)
{
    set_common(args, a, HD_TICKETS_REPLY_CUSTOMER, ticket_id, actor);
    if (!ticket_id)
        return hd_err_set(err, HD_EINVAL, "ticket_id: required");
    args->body = body;
    return hd_tickets__check_body("body", body, body_max, err);
}

/* ---- Staff replies and drafts ---------------------------------------------------------- */

/* Files go out by email only, so a reply or draft carrying n of them needs an EMAIL ticket. */
static int check_channel(const hd_tickets_edit *e, size_t n, hd_err *err)
{
    if (n && e->t->channel != HELPDESK__V1__CHANNEL__CHANNEL_EMAIL)
        return hd_err_set(err, HD_EINVAL,
                          "attachments: only on tickets of the EMAIL channel (nothing else "
                          "delivers them)");
    return 0;
}

/* The draft being saved takes the request's files (a new draft; an edit with
 * replace_attachments), checked against the content store with their sizes filled; a fact
 * ("attachments": count before -> after) records that they were set. */
static int draft_files(hd_tickets_reply_args *args, hd_tickets_edit *e, Helpdesk__V1__Draft *d,
                       hd_err *err)
{
    char before[24], after[24];
    size_t was = d->n_attachments;
    if (args->op == HD_TICKETS_REPLY_DRAFT_UPDATE && !args->replace_attachments)
        return 0;
    int rc = check_channel(e, args->n_attachments, err);
    if (rc < 0)
        return rc;
    rc = hd_tickets_attach_check(e->txn, args->attachments, args->n_attachments, err);
    if (rc < 0)
        return rc;
    d->attachments = args->attachments;
    d->n_attachments = args->n_attachments;
    if (args->op == HD_TICKETS_REPLY_DRAFT && !d->n_attachments)
        return 0;
    snprintf(before, sizeof(before), "%zu", was);
    snprintf(after, sizeof(after), "%zu", d->n_attachments);
    return hd_tickets_edit_fact(e, "attachments", was ? before : "", after, err);
}

/* Posts body as the staff reply of edit e, moves the status and queues the mail. */
static int post_staff_reply(hd_tickets_reply_args *args, hd_tickets_edit *e, const char *body,
                            Helpdesk__V1__TicketStatus status_after, hd_err *err)
{
    const Helpdesk__V1__Message *m;
    int rc = hd_tickets_lifecycle_writable(e->before->status, EVK(MESSAGE_ADDED), err);
    if (rc < 0)
        return rc;
    /* Service tokens (bots, integrations) write as the system, not as a person. */
    rc = hd_tickets_edit_message(e,
                                 args->actor.kind == HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF
                                     ? HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF
                                     : HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_SYSTEM,
                                 args->actor.id, body, &m, err);
    if (rc < 0)
        return rc;
    rc = hd_tickets_edit_status(e, status_after ? status_after : ST(PENDING), err);
    if (rc < 0)
        return rc;
    rc = check_channel(e, args->n_attachments, err);
    if (rc < 0)
        return rc;
    /* The message (arena memory of this edit) carries the references; the hook fills their
     * sizes, then the record is written again with them. */
    Helpdesk__V1__Message *wm = (Helpdesk__V1__Message *)m;
    wm->attachments = args->attachments;
    wm->n_attachments = args->n_attachments;
    if (e->t->channel == HELPDESK__V1__CHANNEL__CHANNEL_EMAIL) {
        rc = hd_tickets_outbox_enqueue(e->txn, args->arena, e->t, m, args->now_ms, err);
        if (rc < 0)
            return rc;
    }
    if (wm->n_attachments) {
        hd_key k;
        rc = hd_store_put_msg(e->txn, HD_STORE_MESSAGES,
                              hd_tickets_key_child(&k, wm->ticket_id, wm->id), &wm->base, 0, err);
        if (rc < 0)
            return rc;
    }
    rc = hd_tickets_edit_commit(e, EVK(MESSAGE_ADDED), err);
    if (rc < 0)
        return rc;
    args->message = m;
    return 0;
}

static hd_key *draft_key(hd_key *k, uint64_t ticket_id, uint64_t draft_id)
{
    return hd_tickets_key_child(k, ticket_id, draft_id);
}

static int load_draft(hd_tickets_reply_args *args, hd_txn *txn, Helpdesk__V1__Draft **out,
                      hd_err *err)
{
    ProtobufCMessage *m;
    hd_key k;
    int rc = hd_store_get_msg(txn, HD_STORE_DRAFTS, draft_key(&k, args->ticket_id, args->draft_id),
                              &helpdesk__v1__draft__descriptor, args->arena, &m, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "draft %" PRIu64 ": not found on ticket %" PRIu64,
                          args->draft_id, args->ticket_id);
    if (rc < 0)
        return rc;
    *out = (Helpdesk__V1__Draft *)m;
    return 0;
}

static int save_draft(hd_tickets_reply_args *args, hd_tickets_edit *e, hd_err *err)
{
    Helpdesk__V1__Draft *d = NULL;
    hd_key k;
    int rc;

    /* A closed ticket takes no drafts: check before writing one. */
    rc = hd_tickets_lifecycle_writable(e->before->status, EVK(DRAFT_SAVED), err);
    if (rc < 0)
        return rc;
    if (args->op == HD_TICKETS_REPLY_DRAFT_UPDATE) {
        rc = load_draft(args, e->txn, &d, err);
        if (rc < 0)
            return rc;
        if (args->body) /* NULL: keep the draft's text */
            d->body = (char *)args->body;
        if (args->status_after)
            d->status_after = args->status_after;
    } else {
        d = hd_arena_alloc(args->arena, sizeof(*d));
        if (!d)
            return hd_err_set(err, HD_ENOMEM, "draft: out of memory");
        helpdesk__v1__draft__init(d);
        rc = hd_store_seq_next(e->txn, HD_TICKETS_SEQ_DRAFT, &d->id, err);
        if (rc < 0)
            return rc;
        d->ticket_id = args->ticket_id;
        d->author_id = args->actor.id;
        d->body = (char *)args->body;
        d->status_after = args->status_after;
        d->create_time = hd_tickets_ts_new(args->arena, args->now_ms);
    }
    rc = draft_files(args, e, d, err);
    if (rc < 0)
        return rc;
    d->update_time = hd_tickets_ts_new(args->arena, args->now_ms);
    if (!d->update_time || !d->create_time)
        return hd_err_set(err, HD_ENOMEM, "draft: out of memory");
    rc = hd_store_put_msg(e->txn, HD_STORE_DRAFTS, draft_key(&k, d->ticket_id, d->id), &d->base, 0,
                          err);
    if (rc < 0)
        return rc;
    e->note_id = d->id;
    rc = hd_tickets_edit_fact(e, "draft", args->op == HD_TICKETS_REPLY_DRAFT_UPDATE ? "saved" : "",
                              "saved", err);
    if (rc < 0)
        return rc;
    args->draft = d;
    return hd_tickets_edit_commit(e, EVK(DRAFT_SAVED), err);
}

/* Sends or discards a draft: either way it is deleted. */
static int finish_draft(hd_tickets_reply_args *args, hd_tickets_edit *e, hd_err *err)
{
    Helpdesk__V1__Draft *d;
    hd_key k;
    bool send = args->op == HD_TICKETS_REPLY_DRAFT_SEND;
    int rc = hd_tickets_lifecycle_writable(e->before->status,
                                           send ? EVK(MESSAGE_ADDED) : EVK(DRAFT_DISCARDED), err);
    if (rc < 0)
        return rc;
    rc = load_draft(args, e->txn, &d, err);
    if (rc < 0)
        return rc;
    rc = hd_store_del(e->txn, HD_STORE_DRAFTS, draft_key(&k, d->ticket_id, d->id), err);
    if (rc < 0)
        return rc;
    e->note_id = d->id;
    if (send) {
        /* The draft's files go out as a SEND reply's do (checked again by the outbox hook:
         * content gone by now fails the send, and the transaction with the draft's delete).
         * Whatever the draft's content is refused for, the answer names the draft. */
        args->attachments = d->attachments;
        args->n_attachments = d->n_attachments;
        rc = post_staff_reply(args, e, d->body, d->status_after, err);
        if (rc == HD_EINVAL && err) {
            char why[HD_ERR_DETAIL_MAX];
            snprintf(why, sizeof(why), "%s", err->detail);
            return hd_err_set(err, HD_EINVAL,
                              "draft %" PRIu64 ": %s; the draft is kept (UpdateDraft changes it)",
                              d->id, why);
        }
        return rc;
    }
    rc = hd_tickets_edit_fact(e, "draft", "saved", "discarded", err);
    if (rc < 0)
        return rc;
    return hd_tickets_edit_commit(e, EVK(DRAFT_DISCARDED), err);
}

/* ---- Customer messages ----------------------------------------------------------------- */

/* The closed ticket e gets a follow-up holding the customer's message. */
static int open_follow_up(hd_tickets_reply_args *args, hd_txn *txn, hd_tickets_edit *e, hd_err *err)
{
    hd_tickets_create_args *c = hd_arena_calloc(args->arena, 1, sizeof(*c));
    char buf[24];
    int rc;
    if (!c)
        return hd_err_set(err, HD_ENOMEM, "follow-up: out of memory");
    c->request_id = "";
    c->customer_id = e->t->customer_id;
    c->customer_email = "";
    c->customer_name = "";
    c->subject = e->t->subject;
    c->body = args->body;
    c->priority = e->t->priority;
    c->channel = args->channel ? args->channel : e->t->channel;
    c->category = e->t->category;
    c->tags = e->t->tags;
    c->n_tags = e->t->n_tags;
    c->actor = args->actor;
    c->now_ms = args->now_ms;
    c->arena = args->arena;
    c->follow_up_of = e->t->id;
    rc = hd_tickets_create_apply(txn, c, err);
    if (rc < 0)
        return rc;
    args->follow_up = c->ticket;
    for (size_t i = 0; i < c->committed.n; i++) {
        args->committed.events[args->committed.n] = c->committed.events[i];
        args->committed.before[args->committed.n] = c->committed.before[i];
        args->committed.after[args->committed.n] = c->committed.after[i];
        args->committed.n++;
    }
    e->related_ticket_id = c->ticket->id;
    snprintf(buf, sizeof(buf), "%" PRIu64, c->ticket->id);
    rc = hd_tickets_edit_fact(e, "follow_up", "", buf, err);
    if (rc < 0)
        return rc;
    return hd_tickets_edit_commit(e, EVK(FOLLOW_UP), err);
}

/* The closed ticket e closed within the caller's grace: the customer's message reopens it
 * (CLOSED -> OPEN in one event, so the SLA engine sees a reopen with a customer message). */
static int reopen_closed(hd_tickets_reply_args *args, hd_tickets_edit *e, hd_err *err)
{
    char buf[96];
    int64_t after_s = (args->now_ms - hd_tickets_ts_ms(e->before->close_time)) / 1000;
    int rc = hd_tickets_edit_reopen_closed(e, err);
    if (rc < 0)
        return rc;
    rc = hd_tickets_edit_message(e, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER,
                                 e->t->customer_id, args->body, &args->message, err);
    if (rc < 0)
        return rc;
    snprintf(buf, sizeof(buf), "customer reply %" PRId64 " s after closing (grace %" PRIu32 " s)",
             after_s < 0 ? 0 : after_s, args->reopen_grace_s);
    rc = hd_tickets_edit_fact(e, "reopened", "", buf, err);
    if (rc < 0)
        return rc;
    args->reopened = true;
    return hd_tickets_edit_commit(e, EVK(MESSAGE_ADDED), err);
}

static int customer_message(hd_tickets_reply_args *args, hd_txn *txn, hd_tickets_edit *e,
                            hd_err *err)
{
    Helpdesk__V1__TicketStatus to;
    bool merged = false;
    int rc;
    for (int hop = 0; e->t->status == ST(MERGED) && e->t->merged_into; hop++) {
        if (hop == HD_TICKETS_MERGE_HOPS_MAX)
            return hd_err_set(err, HD_ECORRUPT, "ticket %" PRIu64 ": merge chain too long",
                              args->ticket_id);
        rc = hd_tickets_edit_begin(e, txn, args->arena, e->t->merged_into, &args->actor,
                                   args->now_ms, &args->committed, err);
        if (rc < 0)
            return rc;
        merged = true;
    }
    /* The grace applies to the ticket the customer wrote on; a message that came through a
     * merge keeps the merge's handling (a closed target gets a follow-up). */
    if (e->t->status == ST(CLOSED) && !merged &&
        hd_tickets_lifecycle_reopen_in_grace(hd_tickets_ts_ms(e->t->close_time), args->now_ms,
                                             args->reopen_grace_s))
        return reopen_closed(args, e, err);
    if (e->t->status == ST(CLOSED))
        return open_follow_up(args, txn, e, err);
    rc = hd_tickets_lifecycle_customer_message(e->before->status, &to, err);
    if (rc < 0)
        return rc;
    rc = hd_tickets_edit_message(e, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER,
                                 e->t->customer_id, args->body, &args->message, err);
    if (rc < 0)
        return rc;
    rc = hd_tickets_edit_status(e, to, err);
    if (rc < 0)
        return rc;
    return hd_tickets_edit_commit(e, EVK(MESSAGE_ADDED), err);
}

/* ---- Idempotency ----------------------------------------------------------------------- */

static bool idempotent(const hd_tickets_reply_args *args)
{
    return args->request_id && args->request_id[0] &&
           (args->op == HD_TICKETS_REPLY_SEND || args->op == HD_TICKETS_REPLY_CUSTOMER);
}

/* Whether stored message m is what args asks for: a retry, not a reuse of the id. A
 * customer's message may have gone to another ticket (merge, follow-up), so only a staff
 * reply is tied to its ticket (checked by the caller) and author. */
static bool same_reply(const Helpdesk__V1__Message *m, const hd_tickets_reply_args *args)
{
    if (strcmp(m->body, args->body) != 0)
        return false;
    if (args->op == HD_TICKETS_REPLY_SEND ||
        args->actor.kind == HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_CUSTOMER)
        return m->author_id == args->actor.id;
    return true;
}

static int id_reused(const hd_tickets_reply_args *args, hd_err *err)
{
    return hd_err_set(err, HD_EINVAL,
                      "request_id \"%s\": already used for another reply; a new reply needs a new "
                      "id",
                      args->request_id);
}

/* A retry: the message recorded under the request id (value: u64 ticket id + u64 message id,
 * big-endian) and the ticket holding it now (merges move messages), unpacked into the
 * arena. Returns 0 (replayed), HD_ENOTFOUND (err cleared: a first call), HD_EINVAL (the id
 * names another reply) or an error. */
static int load_replay(hd_txn *txn, hd_tickets_reply_args *args, hd_err *err)
{
    ProtobufCMessage *m;
    Helpdesk__V1__Ticket *t = NULL;
    uint64_t ticket_id, message_id;
    hd_key k;
    int rc = hd_tickets_idem_pair_get(txn, HD_TICKETS_IDEM_REPLY, args->request_id, &ticket_id,
                                      &message_id, err);
    if (rc < 0)
        return rc;
    if (args->op == HD_TICKETS_REPLY_SEND && ticket_id != args->ticket_id)
        return id_reused(args, err);
    rc = hd_tickets_load_current(txn, args->arena, ticket_id, &t, err);
    if (rc == 0)
        rc = hd_store_get_msg(txn, HD_STORE_MESSAGES, hd_tickets_key_child(&k, t->id, message_id),
                              &helpdesk__v1__message__descriptor, args->arena, &m, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ECORRUPT,
                          "request_id \"%s\": names missing message %" PRIu64 " of ticket %" PRIu64,
                          args->request_id, message_id, ticket_id);
    if (rc < 0)
        return rc;
    if (!same_reply((const Helpdesk__V1__Message *)m, args))
        return id_reused(args, err);
    args->message = (Helpdesk__V1__Message *)m;
    args->ticket = t;
    args->replayed = true;
    return 0;
}

int hd_tickets_reply_apply(hd_txn *txn, void *arg, hd_err *err)
{
    hd_tickets_reply_args *args = arg;
    hd_tickets_edit e;
    int rc;

    args->ticket = NULL;
    args->message = NULL;
    args->draft = NULL;
    args->follow_up = NULL;
    args->reopened = false;
    args->replayed = false;
    hd_tickets_committed_reset(&args->committed);
    if (idempotent(args)) {
        rc = load_replay(txn, args, err);
        if (rc != HD_ENOTFOUND)
            return rc;
    }
    rc = hd_tickets_edit_begin(&e, txn, args->arena, args->ticket_id, &args->actor, args->now_ms,
                               &args->committed, err);
    if (rc < 0)
        return rc;
    switch (args->op) {
    case HD_TICKETS_REPLY_SEND:
        rc = post_staff_reply(args, &e, args->body, args->status_after, err);
        break;
    case HD_TICKETS_REPLY_DRAFT:
    case HD_TICKETS_REPLY_DRAFT_UPDATE:
        rc = save_draft(args, &e, err);
        break;
    case HD_TICKETS_REPLY_DRAFT_SEND:
    case HD_TICKETS_REPLY_DRAFT_DISCARD:
        rc = finish_draft(args, &e, err);
        break;
    case HD_TICKETS_REPLY_CUSTOMER:
        if (args->actor.kind == HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_CUSTOMER &&
            e.t->customer_id != args->actor.id)
            return hd_err_set(err, HD_ENOTFOUND, "ticket %" PRIu64 ": not found", args->ticket_id);
        rc = customer_message(args, txn, &e, err);
        break;
    default:
        rc = hd_err_set(err, HD_EINVAL, "reply: unknown operation %d", (int)args->op);
    }
    if (rc < 0)
        return rc;
    args->ticket = e.t;
    /* A sent reply's ticket (response, WatchTickets) shows who the mail could not reach;
     * the record was written above, so this changes only the copy handed back. */
    if (args->message && args->op != HD_TICKETS_REPLY_CUSTOMER) {
        rc = hd_tickets_annotate(txn, args->arena, e.t, err);
        if (rc < 0)
            return rc;
    }
    if (idempotent(args) && args->message)
        return hd_tickets_idem_pair_put(txn, HD_TICKETS_IDEM_REPLY, args->request_id,
                                        args->message->ticket_id, args->message->id, err);
    return 0;
}
