/* Working on tickets through the change engine, as a specification: UpdateTicket with a
 * field mask (only masked fields change, indexes move, the event lists before/after,
 * validation names the field, the lifecycle is enforced), staff replies (pending, first
 * response, outbox for email tickets), the draft lifecycle, customer messages (reopen,
 * follow-up on closed, other people's tickets look absent), notes (never shown to
 * customers, private to the author, mentions resolved) and ratings. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpdesk/v1/mail.pb-c.h"
#include "server/clock/clock.h"
#include "server/common/arena.h"
#include "server/rollup/rollup.h"
#include "server/tickets/change.h"
#include "server/tickets/note.h"
#include "server/tickets/observer.h"
#include "server/tickets/rating.h"
#include "server/tickets/reply.h"
#include "server/tickets/tickets.h"
#include "server/tickets/update.h"
#include "tests/unit/server/tickets/fixture.h"

#define assert_ok TF_ASSERT_OK

#define assert_err TF_ASSERT_ERR

/* String literals are const under -Wwrite-strings; protobuf-c fields are char *. */
#define CS(x)  ((char *)(x))
#define T0     TF_T0
#define ST(x)  HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_##x
#define EVK(x) HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_##x

static const hd_tickets_actor AGENT = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, 7};
static const hd_tickets_actor AGENT2 = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, 8};

typedef tf_fx fx;

/* Creates a ticket for email on channel; returns it (borrowed from f->a). */
static Helpdesk__V1__Ticket *create(fx *f, const char *email, Helpdesk__V1__Channel channel)
{
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args *args = hd_arena_calloc(f->a, 1, sizeof(*args));
    static char *tags[] = {CS("billing"), CS("vip")};
    hd_err err = {0};
    tf_request(&req, NULL, NULL, email);
    req.channel = channel;
    req.category = CS("hardware");
    req.tags = tags;
    req.n_tags = 2;
    assert_ok(hd_tickets_create_prepare(args, f->a, &req, NULL, NULL, &err), err);
    assert_ok(hd_tickets_create(f->s, args, &err), err);
    return args->ticket;
}

static hd_tickets_actor customer_of(const Helpdesk__V1__Ticket *t)
{
    hd_tickets_actor a = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_CUSTOMER, t->customer_id};
    return a;
}

static hd_tickets_thread get(fx *f, uint64_t id)
{
    hd_tickets_thread th;
    hd_err err = {0};
    assert_ok(hd_tickets_get(f->s, f->a, id, NULL, &th, &err), err);
    return th;
}

static int key_exists(fx *f, hd_table t, const hd_key *k)
{
    hd_txn *txn;
    hd_err err = {0};
    const void *v;
    size_t n;
    assert_ok(hd_store_read_begin(f->s, &txn, &err), err);
    int rc = hd_store_get(txn, t, k, &v, &n, &err);
    hd_store_read_end(txn);
    return rc == 0;
}

/* Runs an update of ticket id with the given mask paths; returns the code. */
static int update(fx *f, Helpdesk__V1__Ticket *t, char **paths, size_t n,
                  hd_tickets_update_args *args, hd_err *err)
{
    Helpdesk__V1__UpdateTicketRequest req = HELPDESK__V1__UPDATE_TICKET_REQUEST__INIT;
    Google__Protobuf__FieldMask fm = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    fm.paths = paths;
    fm.n_paths = n;
    req.ticket = t;
    req.update_mask = &fm;
    int rc = hd_tickets_update_prepare(args, f->a, &req, &AGENT, err);
    if (rc < 0)
        return rc;
    return hd_store_write(f->s, hd_tickets_update_apply, args, err);
}

static int set_status(fx *f, uint64_t id, Helpdesk__V1__TicketStatus s, hd_err *err)
{
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    hd_tickets_update_args args;
    char *paths[] = {CS("status")};
    t.id = id;
    t.status = s;
    return update(f, &t, paths, 1, &args, err);
}

static const Helpdesk__V1__FieldChange *change_of(const Helpdesk__V1__TicketEvent *ev,
                                                  const char *field)
{
    for (size_t i = 0; i < ev->n_changes; i++)
        if (strcmp(ev->changes[i]->field, field) == 0)
            return ev->changes[i];
    return NULL;
}

/* ---- UpdateTicket ---- */

static void update_changes_only_masked_fields_moves_indexes_and_records_before_after(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Ticket *t0 = create(f, NULL, HELPDESK__V1__CHANNEL__CHANNEL_API);
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    static char *tags[] = {CS("vip"), CS("outage")};
    char *paths[] = {CS("priority"), CS("tags"), CS("category")};
    hd_tickets_update_args args;
    hd_err err = {0};
    hd_key k;

    hd_clock_advance_ms(5000);
    t.id = t0->id;
    t.subject = CS("ignored: not in the mask");
    t.priority = HELPDESK__V1__PRIORITY__PRIORITY_URGENT;
    t.tags = tags;
    t.n_tags = 2;
    t.category = CS("network");
    assert_ok(update(f, &t, paths, 3, &args, &err), err);
    assert_string_equal(args.ticket->subject, "Printer on fire");
    assert_int_equal(args.ticket->priority, HELPDESK__V1__PRIORITY__PRIORITY_URGENT);
    assert_int_equal(hd_tickets_ts_ms(args.ticket->update_time), T0 + 5000);

    /* Indexes follow the new values; the old entries are gone. */
    assert_false(key_exists(
        f, HD_STORE_IDX_STATUS,
        hd_tickets_key_status(&k, ST(NEW), HELPDESK__V1__PRIORITY__PRIORITY_NORMAL, t0->id)));
    assert_true(key_exists(
        f, HD_STORE_IDX_STATUS,
        hd_tickets_key_status(&k, ST(NEW), HELPDESK__V1__PRIORITY__PRIORITY_URGENT, t0->id)));
    assert_false(key_exists(f, HD_STORE_IDX_TAG, hd_tickets_key_tag(&k, "billing", t0->id)));
    assert_true(key_exists(f, HD_STORE_IDX_TAG, hd_tickets_key_tag(&k, "vip", t0->id)));
    assert_true(key_exists(f, HD_STORE_IDX_TAG, hd_tickets_key_tag(&k, "outage", t0->id)));
    assert_false(key_exists(f, HD_STORE_IDX_UPDATED, hd_tickets_key_updated(&k, T0, t0->id)));
    assert_true(key_exists(f, HD_STORE_IDX_UPDATED, hd_tickets_key_updated(&k, T0 + 5000, t0->id)));

    /* One UPDATED event with exactly the three changes. */
    hd_tickets_thread th = get(f, t0->id);
    assert_int_equal(th.n_events, 2);
    const Helpdesk__V1__TicketEvent *ev = th.events[1];
    assert_int_equal(ev->kind, EVK(UPDATED));
    assert_int_equal(ev->actor->id, AGENT.id);
    assert_int_equal(ev->n_changes, 3);
    assert_string_equal(change_of(ev, "priority")->before, "PRIORITY_NORMAL");
    assert_string_equal(change_of(ev, "priority")->after, "PRIORITY_URGENT");
    assert_string_equal(change_of(ev, "tags")->before, "billing,vip");
    assert_string_equal(change_of(ev, "tags")->after, "vip,outage");
    assert_string_equal(change_of(ev, "category")->after, "network");
    assert_int_equal(args.committed.n, 1);
    assert_ptr_equal(args.committed.events[0]->id, ev->id);
}

static void update_validates_like_create_and_names_the_field(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Ticket *t0 = create(f, NULL, HELPDESK__V1__CHANNEL__CHANNEL_API);
    hd_tickets_update_args args;
    hd_err err = {0};
    static char *bad_tags[] = {CS("Not OK")};
    char *p_subject[] = {CS("subject")}, *p_tags[] = {CS("tags")}, *p_owner[] = {CS("assignee_id")},
         *p_status[] = {CS("status")}, *p_prio[] = {CS("priority")};
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    t.id = t0->id;

    t.subject = CS("");
    assert_err(update(f, &t, p_subject, 1, &args, &err), HD_EINVAL, err, "subject: required");
    t.subject = CS("two\r\nlines");
    assert_err(update(f, &t, p_subject, 1, &args, &err), HD_EINVAL, err, "subject:");
    t.tags = bad_tags;
    t.n_tags = 1;
    assert_err(update(f, &t, p_tags, 1, &args, &err), HD_EINVAL, err, "tags[0]:");
    assert_err(update(f, &t, p_owner, 1, &args, &err), HD_EINVAL, err, "update_mask:");
    t.status = ST(MERGED);
    assert_err(update(f, &t, p_status, 1, &args, &err), HD_EINVAL, err, "MergeTickets");
    t.priority = (Helpdesk__V1__Priority)9;
    assert_err(update(f, &t, p_prio, 1, &args, &err), HD_EINVAL, err, "priority:");
    t.id = 0;
    assert_err(update(f, &t, p_subject, 1, &args, &err), HD_EINVAL, err, "ticket.id");
    t.id = 999;
    t.subject = CS("fine");
    assert_err(update(f, &t, p_subject, 1, &args, &err), HD_ENOTFOUND, err, "ticket 999");
    /* Nothing was written by any of these. */
    assert_int_equal(get(f, t0->id).n_events, 1);
}

static void empty_mask_updates_the_fields_given_and_a_noop_writes_no_event(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Ticket *t0 = create(f, NULL, HELPDESK__V1__CHANNEL__CHANNEL_API);
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    hd_tickets_update_args args;
    hd_err err = {0};
    t.id = t0->id;
    t.subject = CS("Printer on fire again");
    assert_ok(update(f, &t, NULL, 0, &args, &err), err);
    assert_string_equal(args.ticket->subject, "Printer on fire again");
    assert_int_equal(args.ticket->priority, HELPDESK__V1__PRIORITY__PRIORITY_NORMAL);
    assert_ok(update(f, &t, NULL, 0, &args, &err), err);
    assert_int_equal(args.committed.n, 0);
    assert_int_equal(get(f, t0->id).n_events, 2);
    Helpdesk__V1__Ticket none = HELPDESK__V1__TICKET__INIT;
    none.id = t0->id;
    assert_err(update(f, &none, NULL, 0, &args, &err), HD_EINVAL, err, "nothing to update");
}

static void status_follows_the_lifecycle_and_closed_tickets_are_read_only(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Ticket *t0 = create(f, NULL, HELPDESK__V1__CHANNEL__CHANNEL_API);
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    hd_tickets_update_args args;
    char *p_subject[] = {CS("subject")};
    hd_err err = {0};
    uint64_t n;
    hd_txn *txn;

    assert_ok(set_status(f, t0->id, ST(SOLVED), &err), err);
    assert_non_null(get(f, t0->id).ticket->solve_time);
    assert_err(set_status(f, t0->id, ST(NEW), &err), HD_ESTATE, err,
               "cannot move from SOLVED to NEW");
    assert_ok(set_status(f, t0->id, ST(CLOSED), &err), err);
    assert_err(set_status(f, t0->id, ST(OPEN), &err), HD_ESTATE, err,
               "cannot move from CLOSED to OPEN");
    t.id = t0->id;
    t.subject = CS("edit after close");
    assert_err(update(f, &t, p_subject, 1, &args, &err), HD_ESTATE, err, "CLOSED");
    hd_tickets_thread th = get(f, t0->id);
    assert_int_equal(th.events[1]->kind, EVK(STATUS_CHANGED));
    assert_string_equal(change_of(th.events[2], "status")->before, "TICKET_STATUS_SOLVED");
    /* The status gauge moved with the ticket. */
    assert_ok(hd_store_read_begin(f->s, &txn, &err), err);
    assert_ok(hd_rollup_get(txn, HD_TICKETS_ROLLUP_STATUS_NOW, HD_ROLLUP_NOW, ST(NEW), &n, &err),
              err);
    assert_int_equal(n, 0);
    assert_ok(hd_rollup_get(txn, HD_TICKETS_ROLLUP_STATUS_NOW, HD_ROLLUP_NOW, ST(CLOSED), &n, &err),
              err);
    assert_int_equal(n, 1);
    hd_store_read_end(txn);
}

/* ---- Replies and drafts ---- */

static int reply(fx *f, uint64_t id, const char *body, Helpdesk__V1__ReplyMode mode,
                 Helpdesk__V1__TicketStatus after, hd_tickets_reply_args *args, hd_err *err)
{
    Helpdesk__V1__ReplyToTicketRequest req = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
    req.ticket_id = id;
    req.body = (char *)body;
    req.mode = mode;
    req.status_after = after;
    int rc = hd_tickets_reply_prepare(args, f->a, &req, 0, &AGENT, err);
    if (rc < 0)
        return rc;
    return hd_store_write(f->s, hd_tickets_reply_apply, args, err);
}

static uint64_t outbox_count(fx *f)
{
    hd_txn *txn;
    hd_err err = {0};
    uint64_t n = 0;
    assert_ok(hd_store_read_begin(f->s, &txn, &err), err);
    assert_ok(hd_store_count(txn, HD_STORE_OUTBOX, &n, &err), err);
    hd_store_read_end(txn);
    return n;
}

static void
staff_reply_posts_message_sets_pending_and_first_response_and_mails_email_tickets(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Ticket *api = create(f, NULL, HELPDESK__V1__CHANNEL__CHANNEL_API);
    Helpdesk__V1__Ticket *mail = create(f, "bob@example.com", HELPDESK__V1__CHANNEL__CHANNEL_EMAIL);
    hd_tickets_reply_args args;
    hd_err err = {0};

    hd_clock_advance_ms(60000);
    assert_ok(reply(f, api->id, "On our way.", 0, 0, &args, &err), err);
    assert_int_equal(args.ticket->status, ST(PENDING));
    assert_int_equal(args.ticket->message_count, 2);
    assert_int_equal(hd_tickets_ts_ms(args.ticket->first_response_time), T0 + 60000);
    assert_int_equal(args.message->author_kind, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF);
    assert_int_equal(outbox_count(f), 0); /* API tickets are not mailed */

    hd_clock_advance_ms(60000);
    assert_ok(reply(f, api->id, "Fixed.", HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND, ST(SOLVED),
                    &args, &err),
              err);
    assert_int_equal(args.ticket->status, ST(SOLVED));
    /* First response stays the first one. */
    assert_int_equal(hd_tickets_ts_ms(args.ticket->first_response_time), T0 + 60000);
    assert_err(reply(f, api->id, "x", 0, ST(CLOSED), &args, &err), HD_EINVAL, err, "status_after:");

    assert_ok(reply(f, mail->id, "We got your mail.", 0, 0, &args, &err), err);
    assert_int_equal(outbox_count(f), 1);
    hd_txn *txn;
    hd_key k;
    ProtobufCMessage *m;
    assert_ok(hd_store_read_begin(f->s, &txn, &err), err);
    hd_key_init(&k);
    hd_key_u64(&k, 1);
    assert_ok(hd_store_get_msg(txn, HD_STORE_OUTBOX, &k, &helpdesk__v1__outbox_message__descriptor,
                               f->a, &m, &err),
              err);
    hd_store_read_end(txn);
    Helpdesk__V1__OutboxMessage *o = (Helpdesk__V1__OutboxMessage *)m;
    assert_int_equal(o->ticket_id, mail->id);
    assert_int_equal(o->message_id, args.message->id);
    assert_string_equal(o->to[0], "bob@example.com");
    assert_string_equal(o->body_text, "We got your mail.");
    assert_int_equal(o->state, HELPDESK__V1__OUTBOX_STATE__OUTBOX_STATE_PENDING);
}

static void
draft_is_saved_edited_and_sent_once_or_discarded_and_never_a_message_before(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Ticket *t0 = create(f, NULL, HELPDESK__V1__CHANNEL__CHANNEL_API);
    hd_tickets_reply_args args;
    hd_err err = {0};

    assert_ok(reply(f, t0->id, "Draft one", HELPDESK__V1__REPLY_MODE__REPLY_MODE_DRAFT, ST(OPEN),
                    &args, &err),
              err);
    uint64_t d1 = args.draft->id;
    assert_int_equal(args.ticket->status, ST(NEW)); /* a draft changes no status */
    hd_tickets_thread th = get(f, t0->id);
    assert_int_equal(th.n_messages, 1);
    assert_int_equal(th.n_drafts, 1);

    Helpdesk__V1__UpdateDraftRequest ur = HELPDESK__V1__UPDATE_DRAFT_REQUEST__INIT;
    ur.ticket_id = t0->id;
    ur.draft_id = d1;
    ur.body = CS("Draft one, reviewed");
    assert_ok(hd_tickets_draft_update_prepare(&args, f->a, &ur, 0, &AGENT2, &err), err);
    assert_ok(hd_store_write(f->s, hd_tickets_reply_apply, &args, &err), err);
    assert_string_equal(args.draft->body, "Draft one, reviewed");
    assert_int_equal(args.draft->status_after, ST(OPEN)); /* kept */
    assert_int_equal(args.draft->author_id, AGENT.id);

    assert_ok(hd_tickets_draft_prepare(&args, f->a, HD_TICKETS_REPLY_DRAFT_SEND, t0->id, d1,
                                       &AGENT2, &err),
              err);
    assert_ok(hd_store_write(f->s, hd_tickets_reply_apply, &args, &err), err);
    assert_string_equal(args.message->body, "Draft one, reviewed");
    assert_int_equal(args.ticket->status, ST(OPEN));
    assert_err(hd_store_write(f->s, hd_tickets_reply_apply, &args, &err), HD_ENOTFOUND, err,
               "draft");
    th = get(f, t0->id);
    assert_int_equal(th.n_messages, 2);
    assert_int_equal(th.n_drafts, 0);

    assert_ok(
        reply(f, t0->id, "Draft two", HELPDESK__V1__REPLY_MODE__REPLY_MODE_DRAFT, 0, &args, &err),
        err);
    uint64_t d2 = args.draft->id;
    assert_ok(hd_tickets_draft_prepare(&args, f->a, HD_TICKETS_REPLY_DRAFT_DISCARD, t0->id, d2,
                                       &AGENT, &err),
              err);
    assert_ok(hd_store_write(f->s, hd_tickets_reply_apply, &args, &err), err);
    th = get(f, t0->id);
    assert_int_equal(th.n_messages, 2);
    assert_int_equal(th.n_drafts, 0);
    assert_int_equal(th.events[th.n_events - 1]->kind, EVK(DRAFT_DISCARDED));
    assert_int_equal(th.events[th.n_events - 1]->note_id, d2);
}

/* ---- Customer messages ---- */

static int customer_says(fx *f, uint64_t id, const hd_tickets_actor *who, const char *body,
                         hd_tickets_reply_args *args, hd_err *err)
{
    int rc = hd_tickets_customer_message_prepare(args, f->a, id, body, 0, who, err);
    if (rc < 0)
        return rc;
    return hd_store_write(f->s, hd_tickets_reply_apply, args, err);
}

static void customer_reply_reopens_a_solved_ticket(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Ticket *t0 = create(f, NULL, HELPDESK__V1__CHANNEL__CHANNEL_API);
    hd_tickets_actor me = customer_of(t0);
    hd_tickets_reply_args args;
    hd_err err = {0};
    assert_ok(set_status(f, t0->id, ST(SOLVED), &err), err);
    assert_ok(customer_says(f, t0->id, &me, "Still broken.", &args, &err), err);
    assert_int_equal(args.ticket->status, ST(OPEN));
    assert_int_equal(args.message->author_kind, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER);
    assert_null(args.ticket->first_response_time);
    assert_int_equal(args.committed.n, 1);
    assert_int_equal(args.committed.events[0]->kind, EVK(MESSAGE_ADDED));
    assert_int_equal(args.committed.before[0]->status, ST(SOLVED));
}

static void customer_message_on_closed_ticket_opens_a_linked_follow_up(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Ticket *t0 = create(f, NULL, HELPDESK__V1__CHANNEL__CHANNEL_EMAIL);
    hd_tickets_actor me = customer_of(t0);
    hd_tickets_reply_args args;
    hd_err err = {0};
    assert_ok(set_status(f, t0->id, ST(CLOSED), &err), err);
    assert_ok(customer_says(f, t0->id, &me, "It broke again.", &args, &err), err);
    assert_non_null(args.follow_up);
    assert_int_equal(args.follow_up->follow_up_of, t0->id);
    assert_int_equal(args.follow_up->status, ST(NEW));
    assert_int_equal(args.follow_up->customer_id, t0->customer_id);
    assert_int_equal(args.ticket->status, ST(CLOSED));
    assert_int_equal(args.committed.n, 2); /* CREATED of the new one, FOLLOW_UP of the old */
    hd_tickets_thread old = get(f, t0->id);
    assert_int_equal(old.n_messages, 1);
    assert_int_equal(old.events[old.n_events - 1]->kind, EVK(FOLLOW_UP));
    assert_int_equal(old.events[old.n_events - 1]->related_ticket_id, args.follow_up->id);
    hd_tickets_thread neu = get(f, args.follow_up->id);
    assert_string_equal(neu.messages[0]->body, "It broke again.");
}

static void customer_writing_on_someone_elses_ticket_finds_nothing(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Ticket *t0 = create(f, NULL, HELPDESK__V1__CHANNEL__CHANNEL_API);
    hd_tickets_actor stranger = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_CUSTOMER,
                                 t0->customer_id + 100};
    hd_tickets_reply_args args;
    hd_err err = {0};
    assert_err(customer_says(f, t0->id, &stranger, "hi", &args, &err), HD_ENOTFOUND, err,
               "not found");
    assert_int_equal(get(f, t0->id).n_messages, 1);
}

/* ---- Notes ---- */

static int lookup_staff(void *ud, hd_txn *txn, const char *name, size_t n, uint64_t *id,
                        hd_err *err)
{
    (void)ud;
    (void)txn;
    (void)err;
    if (n == 3 && memcmp(name, "ada", 3) == 0)
        *id = 7;
    else if (n == 3 && memcmp(name, "bob", 3) == 0)
        *id = 8;
    else
        return HD_ENOTFOUND;
    return 0;
}

static int add_note(fx *f, uint64_t id, const hd_tickets_actor *who, const char *body,
                    Helpdesk__V1__NoteVisibility vis, hd_tickets_note_args *args, hd_err *err)
{
    Helpdesk__V1__AddNoteRequest req = HELPDESK__V1__ADD_NOTE_REQUEST__INIT;
    req.ticket_id = id;
    req.body = (char *)body;
    req.visibility = vis;
    int rc = hd_tickets_note_prepare(args, f->a, &req, 0, who, err);
    if (rc < 0)
        return rc;
    return hd_store_write(f->s, hd_tickets_note_apply, args, err);
}

static void mentions_resolve_to_staff_once_each_and_skip_emails_and_unknown_names(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Ticket *t0 = create(f, NULL, HELPDESK__V1__CHANNEL__CHANNEL_API);
    hd_tickets_note_args args;
    hd_err err = {0};
    hd_tickets_mentions_resolver(lookup_staff, NULL);
    assert_ok(add_note(f, t0->id, &AGENT,
                       "@bob see mail from carl@example.com; @nobody, @ada. And @bob again.", 0,
                       &args, &err),
              err);
    assert_int_equal(args.note->n_mention_ids, 2);
    assert_int_equal(args.note->mention_ids[0], 8);
    assert_int_equal(args.note->mention_ids[1], 7);
    assert_string_equal(args.note->mentions[1], "ada");
    assert_int_equal(args.note->visibility, HELPDESK__V1__NOTE_VISIBILITY__NOTE_VISIBILITY_TEAM);
    const Helpdesk__V1__TicketEvent *ev = args.committed.events[0];
    assert_int_equal(ev->kind, EVK(NOTE_ADDED));
    assert_string_equal(change_of(ev, "mentions")->after, "@bob,@ada");
    assert_int_equal(ev->note_id, args.note->id);
}

static void notes_are_never_shown_to_customers_and_private_ones_only_to_their_author(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Ticket *t0 = create(f, NULL, HELPDESK__V1__CHANNEL__CHANNEL_API);
    hd_tickets_actor me = customer_of(t0);
    hd_tickets_note_args args;
    hd_tickets_reply_args rargs;
    hd_err err = {0};
    assert_ok(add_note(f, t0->id, &AGENT, "team note", 0, &args, &err), err);
    assert_ok(add_note(f, t0->id, &AGENT, "my private note",
                       HELPDESK__V1__NOTE_VISIBILITY__NOTE_VISIBILITY_PRIVATE, &args, &err),
              err);
    assert_ok(
        reply(f, t0->id, "a draft", HELPDESK__V1__REPLY_MODE__REPLY_MODE_DRAFT, 0, &rargs, &err),
        err);
    assert_ok(reply(f, t0->id, "public answer", 0, 0, &rargs, &err), err);

    hd_tickets_thread th = get(f, t0->id);
    hd_tickets_thread_redact(&th, &AGENT);
    assert_int_equal(th.n_notes, 2);
    assert_int_equal(th.n_drafts, 1);

    th = get(f, t0->id);
    hd_tickets_thread_redact(&th, &AGENT2);
    assert_int_equal(th.n_notes, 1);
    assert_string_equal(th.notes[0]->body, "team note");

    th = get(f, t0->id);
    hd_tickets_thread_redact(&th, &me);
    assert_int_equal(th.n_notes, 0);
    assert_int_equal(th.n_drafts, 0);
    assert_int_equal(th.n_messages, 2);
    for (size_t i = 0; i < th.n_events; i++) {
        Helpdesk__V1__TicketEventKind k = th.events[i]->kind;
        if (k == EVK(NOTE_ADDED) || k == EVK(DRAFT_SAVED))
            fail_msg("customer sees event kind %d", (int)k);
        assert_null(change_of(th.events[i], "tags"));
    }
    assert_int_equal(th.n_events, 2); /* CREATED, MESSAGE_ADDED */

    th = get(f, t0->id);
    hd_tickets_thread_redact(&th, NULL);
    assert_int_equal(th.n_notes, 0);
}

/* ---- Ratings ---- */

static int rate(fx *f, uint64_t id, const hd_tickets_actor *who, uint32_t score,
                const char *comment, hd_tickets_rate_args *args, hd_err *err)
{
    Helpdesk__V1__RateTicketRequest req = HELPDESK__V1__RATE_TICKET_REQUEST__INIT;
    req.ticket_id = id;
    req.score = score;
    req.comment = (char *)comment;
    int rc = hd_tickets_rate_prepare(args, f->a, &req, who, err);
    if (rc < 0)
        return rc;
    return hd_store_write(f->s, hd_tickets_rate_apply, args, err);
}

static void customer_rates_a_solved_ticket_may_change_it_until_closed(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Ticket *t0 = create(f, NULL, HELPDESK__V1__CHANNEL__CHANNEL_API);
    hd_tickets_actor me = customer_of(t0);
    hd_tickets_actor other = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_CUSTOMER, me.id + 1};
    hd_tickets_rate_args args;
    hd_err err = {0};

    assert_err(rate(f, t0->id, &me, 5, "", &args, &err), HD_ESTATE, err, "NEW");
    assert_ok(set_status(f, t0->id, ST(SOLVED), &err), err);
    assert_err(rate(f, t0->id, &me, 0, "", &args, &err), HD_EINVAL, err, "score:");
    assert_err(rate(f, t0->id, &me, 6, "", &args, &err), HD_EINVAL, err, "score:");
    assert_err(rate(f, t0->id, &me, 3, "\xff", &args, &err), HD_EINVAL, err, "comment:");
    assert_err(rate(f, t0->id, &AGENT, 5, "", &args, &err), HD_EPERM, err, "customer");
    assert_err(rate(f, t0->id, &other, 5, "", &args, &err), HD_ENOTFOUND, err, "not found");
    assert_ok(rate(f, t0->id, &me, 2, "slow", &args, &err), err);
    assert_int_equal(args.ticket->rating->score, 2);
    assert_ok(rate(f, t0->id, &me, 4, "ok after all", &args, &err), err);
    assert_int_equal(args.ticket->rating->score, 4);
    assert_string_equal(change_of(args.committed.events[0], "rating")->before, "2");
    assert_ok(set_status(f, t0->id, ST(CLOSED), &err), err);
    assert_err(rate(f, t0->id, &me, 5, "", &args, &err), HD_ESTATE, err, "no longer change");
    assert_int_equal(get(f, t0->id).ticket->rating->score, 4);
}

/* ---- Observers ---- */

typedef struct seen {
    int calls;
    Helpdesk__V1__TicketEventKind kind;
    Helpdesk__V1__AuthorKind author;
    Helpdesk__V1__TicketStatus before, after;
} seen;

static int watch(void *ud, const hd_ticket_change *c, hd_err *err)
{
    seen *s = ud;
    (void)err;
    s->calls++;
    s->kind = c->event->kind;
    s->author =
        c->message ? c->message->author_kind : HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_UNSPECIFIED;
    s->before = c->before ? c->before->status : ST(UNSPECIFIED);
    s->after = c->after->status;
    return 0;
}

static int veto(void *ud, const hd_ticket_change *c, hd_err *err)
{
    (void)ud;
    if (c->before && c->message)
        return hd_err_set(err, HD_EABORTED, "vetoed");
    return 0;
}

static void observers_see_each_change_with_its_message_and_can_veto_it(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Ticket *t0 = create(f, NULL, HELPDESK__V1__CHANNEL__CHANNEL_API);
    hd_tickets_reply_args args;
    hd_err err = {0};
    seen s = {0};
    assert_ok(hd_tickets_observe(watch, &s), err);
    assert_ok(reply(f, t0->id, "hello", 0, 0, &args, &err), err);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.kind, EVK(MESSAGE_ADDED));
    assert_int_equal(s.author, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF);
    assert_int_equal(s.before, ST(NEW));
    assert_int_equal(s.after, ST(PENDING));
    assert_ok(hd_tickets_observe(veto, NULL), err);
    assert_err(reply(f, t0->id, "second", 0, 0, &args, &err), HD_EABORTED, err, "vetoed");
    hd_tickets_thread th = get(f, t0->id);
    assert_int_equal(th.n_messages, 2);
    assert_int_equal(th.ticket->message_count, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tf_setup, tf_teardown)
        T(update_changes_only_masked_fields_moves_indexes_and_records_before_after),
        T(update_validates_like_create_and_names_the_field),
        T(empty_mask_updates_the_fields_given_and_a_noop_writes_no_event),
        T(status_follows_the_lifecycle_and_closed_tickets_are_read_only),
        T(staff_reply_posts_message_sets_pending_and_first_response_and_mails_email_tickets),
        T(draft_is_saved_edited_and_sent_once_or_discarded_and_never_a_message_before),
        T(customer_reply_reopens_a_solved_ticket),
        T(customer_message_on_closed_ticket_opens_a_linked_follow_up),
        T(customer_writing_on_someone_elses_ticket_finds_nothing),
        T(mentions_resolve_to_staff_once_each_and_skip_emails_and_unknown_names),
        T(notes_are_never_shown_to_customers_and_private_ones_only_to_their_author),
        T(customer_rates_a_solved_ticket_may_change_it_until_closed),
        T(observers_see_each_change_with_its_message_and_can_veto_it),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
