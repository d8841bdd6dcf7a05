/* Reply drafts with attachments, over a real store with the mail room's content store and
 * outbox hook installed (as helpdeskd does): a draft keeps its files (checked when saved, so
 * an unknown hash is refused then, naming the entry), UpdateDraft keeps, replaces or clears
 * them, SendDraft sends them as a SEND reply does, and content missing at send time fails
 * the send with the draft kept. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "helpdesk/v1/mail.pb-c.h"
#include "server/common/arena.h"
#include "server/mail/blob.h"
#include "server/mail/keys.h"
#include "server/mail/outbox.h"
#include "server/mail/thread.h"
#include "server/store/store.h"
#include "server/tickets/outbox_hook.h"
#include "server/tickets/reply.h"
#include "server/tickets/tickets.h"
#include "tests/unit/server/tickets/fixture.h"

#define assert_ok TF_ASSERT_OK
#define EMAIL     HELPDESK__V1__CHANNEL__CHANNEL_EMAIL
#define DRAFT     HELPDESK__V1__REPLY_MODE__REPLY_MODE_DRAFT

static const hd_tickets_actor staff = {.kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, .id = 7};

static const char invoice[] = "%PDF-1.4 invoice 42\n";
static const char log_txt[] = "12:00 printer caught fire\n12:01 extinguished\n";
static const char unknown_hex[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* Per test: the store fixture plus the mail room's thread settings for the outbox hook. */
typedef struct fx {
    tf_fx *f;
    hd_thread_conf tc;
    char hex_invoice[HD_BLOB_HEX_LEN + 1];
    char hex_log[HD_BLOB_HEX_LEN + 1];
} fx;

static int setup(void **state)
{
    static fx x;
    hd_err err = {0};
    void *inner = NULL;
    if (tf_setup(&inner) != 0)
        return -1;
    memset(&x, 0, sizeof(x));
    x.f = inner;
    memset(x.tc.key, 7, sizeof(x.tc.key));
    x.tc.msgid_domain = "helpdesk.test";
    hd_tickets_outbox_set(hd_outbox_reply_hook, &x.tc);
    hd_tickets_attach_check_set(hd_outbox_check_attachments, NULL);
    if (hd_blob_upload(x.f->s, invoice, sizeof(invoice) - 1, x.hex_invoice, &err) != 0 ||
        hd_blob_upload(x.f->s, log_txt, sizeof(log_txt) - 1, x.hex_log, &err) != 0)
        return -1;
    *state = &x;
    return 0;
}

static int teardown(void **state)
{
    fx *x = *state;
    void *inner = x->f;
    return tf_teardown(&inner);
}

static uint64_t ticket(fx *x, Helpdesk__V1__Channel channel)
{
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args args;
    hd_err err = {0};
    tf_request(&req, NULL, NULL, NULL);
    req.channel = channel;
    assert_ok(hd_tickets_create_prepare(&args, x->f->a, &req, NULL, NULL, &err), err);
    assert_ok(hd_tickets_create(x->f->s, &args, &err), err);
    return args.ticket->id;
}

static Helpdesk__V1__Attachment *att(fx *x, const char *hex, const char *name, const char *type)
{
    Helpdesk__V1__Attachment *a = hd_arena_calloc(x->f->a, 1, sizeof(*a));
    assert_non_null(a);
    helpdesk__v1__attachment__init(a);
    a->sha256 = hd_arena_strdup(x->f->a, hex);
    a->filename = hd_arena_strdup(x->f->a, name);
    a->content_type = hd_arena_strdup(x->f->a, type);
    return a;
}

static uint64_t table_count(fx *x, hd_table t)
{
    hd_txn *txn;
    hd_err err = {0};
    uint64_t n = 0;
    assert_ok(hd_store_read_begin(x->f->s, &txn, &err), err);
    assert_ok(hd_store_count(txn, t, &n, &err), err);
    hd_store_read_end(txn);
    return n;
}

/* ReplyToTicket mode DRAFT with files v[0..n); returns the code, *out the saved draft. */
static int draft(fx *x, uint64_t tid, Helpdesk__V1__Attachment **v, size_t n,
                 Helpdesk__V1__Draft **out, hd_err *err)
{
    Helpdesk__V1__ReplyToTicketRequest req = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
    hd_tickets_reply_args *args = hd_arena_calloc(x->f->a, 1, sizeof(*args));
    assert_non_null(args);
    req.ticket_id = tid;
    req.body = (char *)"Your invoice, for review.";
    req.mode = DRAFT;
    req.attachments = v;
    req.n_attachments = n;
    int rc = hd_tickets_reply_prepare(args, x->f->a, &req, 0, &staff, err);
    if (rc == 0)
        rc = hd_store_write(x->f->s, hd_tickets_reply_apply, args, err);
    if (out)
        *out = rc == 0 ? args->draft : NULL;
    return rc;
}

/* UpdateDraft with a new body and, when replace, the files v[0..n). */
static int update(fx *x, uint64_t tid, uint64_t did, bool replace, Helpdesk__V1__Attachment **v,
                  size_t n, Helpdesk__V1__Draft **out, hd_err *err)
{
    Helpdesk__V1__UpdateDraftRequest req = HELPDESK__V1__UPDATE_DRAFT_REQUEST__INIT;
    hd_tickets_reply_args *args = hd_arena_calloc(x->f->a, 1, sizeof(*args));
    assert_non_null(args);
    req.ticket_id = tid;
    req.draft_id = did;
    req.body = (char *)"Your invoice, reviewed.";
    req.attachments = v;
    req.n_attachments = n;
    req.replace_attachments = replace;
    int rc = hd_tickets_draft_update_prepare(args, x->f->a, &req, 0, &staff, err);
    if (rc == 0)
        rc = hd_store_write(x->f->s, hd_tickets_reply_apply, args, err);
    if (out)
        *out = rc == 0 ? args->draft : NULL;
    return rc;
}

/* SendDraft; *out (may be NULL) the posted message. */
static int send(fx *x, uint64_t tid, uint64_t did, const Helpdesk__V1__Message **out, hd_err *err)
{
    hd_tickets_reply_args *args = hd_arena_calloc(x->f->a, 1, sizeof(*args));
    assert_non_null(args);
    int rc =
        hd_tickets_draft_prepare(args, x->f->a, HD_TICKETS_REPLY_DRAFT_SEND, tid, did, &staff, err);
    if (rc == 0)
        rc = hd_store_write(x->f->s, hd_tickets_reply_apply, args, err);
    if (out)
        *out = rc == 0 ? args->message : NULL;
    return rc;
}

static hd_tickets_thread get(fx *x, uint64_t tid)
{
    hd_tickets_thread th;
    hd_err err = {0};
    assert_ok(hd_tickets_get(x->f->s, x->f->a, tid, NULL, &th, &err), err);
    return th;
}

/* The last event's "attachments" fact, or NULL. */
static const Helpdesk__V1__FieldChange *attach_fact(const hd_tickets_thread *th)
{
    const Helpdesk__V1__TicketEvent *e = th->events[th->n_events - 1];
    for (size_t i = 0; i < e->n_changes; i++)
        if (strcmp(e->changes[i]->field, "attachments") == 0)
            return e->changes[i];
    return NULL;
}

static void draft_keeps_its_attachments_with_sizes_and_get_ticket_shows_them(void **state)
{
    fx *x = *state;
    hd_err err = {0};
    uint64_t tid = ticket(x, EMAIL);
    Helpdesk__V1__Attachment *v[] = {att(x, x->hex_invoice, "Rechnung März.pdf", "application/pdf"),
                                     att(x, x->hex_log, "fire.log", "")};
    Helpdesk__V1__Draft *d = NULL;
    assert_ok(draft(x, tid, v, 2, &d, &err), err);
    assert_int_equal(d->n_attachments, 2);
    assert_int_equal(d->attachments[0]->size, sizeof(invoice) - 1);
    hd_tickets_thread th = get(x, tid);
    assert_int_equal(th.n_drafts, 1);
    assert_int_equal(th.drafts[0]->id, d->id);
    assert_int_equal(th.drafts[0]->n_attachments, 2);
    assert_string_equal(th.drafts[0]->attachments[0]->sha256, x->hex_invoice);
    assert_string_equal(th.drafts[0]->attachments[0]->filename, "Rechnung März.pdf");
    assert_string_equal(th.drafts[0]->attachments[0]->content_type, "application/pdf");
    assert_int_equal(th.drafts[0]->attachments[0]->size, sizeof(invoice) - 1);
    assert_string_equal(th.drafts[0]->attachments[1]->filename, "fire.log");
    assert_int_equal(th.drafts[0]->attachments[1]->size, sizeof(log_txt) - 1);
    const Helpdesk__V1__FieldChange *c = attach_fact(&th);
    assert_non_null(c);
    assert_string_equal(c->before, "");
    assert_string_equal(c->after, "2");
    /* Nothing is sent or posted while it is a draft. */
    assert_int_equal(th.n_messages, 1);
    assert_int_equal(table_count(x, HD_STORE_OUTBOX), 0);
}

static void unknown_hash_is_refused_at_draft_time_naming_the_entry(void **state)
{
    fx *x = *state;
    hd_err err = {0};
    uint64_t tid = ticket(x, EMAIL);
    Helpdesk__V1__Attachment *v[] = {att(x, x->hex_invoice, "invoice.pdf", "application/pdf"),
                                     att(x, unknown_hex, "ghost.pdf", "application/pdf")};
    TF_ASSERT_ERR(draft(x, tid, v, 2, NULL, &err), HD_EINVAL, err,
                  "attachments[1].sha256: no uploaded content with this hash");
    assert_int_equal(table_count(x, HD_STORE_DRAFTS), 0);
    /* The form is checked before the store: a short hash names its entry too. */
    v[1]->sha256 = (char *)"abc";
    TF_ASSERT_ERR(draft(x, tid, v, 2, NULL, &err), HD_EINVAL, err,
                  "attachments[1].sha256: want 64 lower-case hex digits");
    assert_int_equal(table_count(x, HD_STORE_DRAFTS), 0);
}

static void draft_attachments_need_an_email_ticket(void **state)
{
    fx *x = *state;
    hd_err err = {0};
    uint64_t tid = ticket(x, HELPDESK__V1__CHANNEL__CHANNEL_CHAT);
    Helpdesk__V1__Attachment *v[] = {att(x, x->hex_invoice, "invoice.pdf", "application/pdf")};
    TF_ASSERT_ERR(draft(x, tid, v, 1, NULL, &err), HD_EINVAL, err,
                  "attachments: only on tickets of the EMAIL channel");
    assert_int_equal(table_count(x, HD_STORE_DRAFTS), 0);
    /* Without files a chat ticket still takes drafts. */
    assert_ok(draft(x, tid, NULL, 0, NULL, &err), err);
}

static void update_keeps_replaces_and_clears_the_attachments(void **state)
{
    fx *x = *state;
    hd_err err = {0};
    uint64_t tid = ticket(x, EMAIL);
    Helpdesk__V1__Attachment *v[] = {att(x, x->hex_invoice, "invoice.pdf", "application/pdf")};
    Helpdesk__V1__Draft *d = NULL, *u = NULL;
    assert_ok(draft(x, tid, v, 1, &d, &err), err);

    /* replace_attachments false (what older clients send): the files stay. */
    assert_ok(update(x, tid, d->id, false, NULL, 0, &u, &err), err);
    hd_tickets_thread th = get(x, tid);
    assert_string_equal(th.drafts[0]->body, "Your invoice, reviewed.");
    assert_int_equal(th.drafts[0]->n_attachments, 1);
    assert_string_equal(th.drafts[0]->attachments[0]->sha256, x->hex_invoice);
    assert_null(attach_fact(&th));

    /* Files without replace_attachments would be ignored: refused instead. */
    Helpdesk__V1__Attachment *w[] = {att(x, x->hex_log, "fire.log", "text/plain")};
    TF_ASSERT_ERR(update(x, tid, d->id, false, w, 1, NULL, &err), HD_EINVAL, err,
                  "attachments: given without replace_attachments");

    /* An unknown hash in the new list changes nothing. */
    Helpdesk__V1__Attachment *bad[] = {att(x, x->hex_log, "fire.log", "text/plain"),
                                       att(x, unknown_hex, "ghost.pdf", "application/pdf")};
    TF_ASSERT_ERR(update(x, tid, d->id, true, bad, 2, NULL, &err), HD_EINVAL, err,
                  "attachments[1].sha256: no uploaded content");
    th = get(x, tid);
    assert_int_equal(th.drafts[0]->n_attachments, 1);
    assert_string_equal(th.drafts[0]->attachments[0]->sha256, x->hex_invoice);

    /* replace_attachments true: exactly the given list. */
    assert_ok(update(x, tid, d->id, true, w, 1, &u, &err), err);
    assert_int_equal(u->n_attachments, 1);
    th = get(x, tid);
    assert_int_equal(th.drafts[0]->n_attachments, 1);
    assert_string_equal(th.drafts[0]->attachments[0]->sha256, x->hex_log);
    assert_string_equal(th.drafts[0]->attachments[0]->filename, "fire.log");
    assert_int_equal(th.drafts[0]->attachments[0]->size, sizeof(log_txt) - 1);
    assert_non_null(attach_fact(&th));

    /* An empty list with replace_attachments clears them. */
    assert_ok(update(x, tid, d->id, true, NULL, 0, &u, &err), err);
    th = get(x, tid);
    assert_int_equal(th.drafts[0]->n_attachments, 0);
    const Helpdesk__V1__FieldChange *c = attach_fact(&th);
    assert_non_null(c);
    assert_string_equal(c->before, "1");
    assert_string_equal(c->after, "0");
}

static void sent_draft_carries_its_attachments_like_a_send_reply(void **state)
{
    fx *x = *state;
    hd_err err = {0};
    uint64_t tid = ticket(x, EMAIL);
    Helpdesk__V1__Attachment *v[] = {att(x, x->hex_invoice, "invoice.pdf", "application/pdf"),
                                     att(x, x->hex_log, "fire.log", "text/plain")};
    Helpdesk__V1__Draft *d = NULL;
    assert_ok(draft(x, tid, v, 2, &d, &err), err);
    const Helpdesk__V1__Message *m = NULL;
    assert_ok(send(x, tid, d->id, &m, &err), err);
    assert_int_equal(m->n_attachments, 2);

    hd_tickets_thread th = get(x, tid);
    assert_int_equal(th.n_drafts, 0);
    const Helpdesk__V1__Message *last = th.messages[th.n_messages - 1];
    assert_int_equal(last->id, m->id);
    assert_string_equal(last->body, "Your invoice, for review.");
    assert_int_equal(last->n_attachments, 2);
    assert_string_equal(last->attachments[0]->sha256, x->hex_invoice);
    assert_string_equal(last->attachments[1]->filename, "fire.log");
    assert_int_equal(last->attachments[1]->size, sizeof(log_txt) - 1);

    /* One outbox entry, for that message, referring to both files. */
    Helpdesk__V1__OutboxMessage **o;
    size_t n = 0;
    const char *next;
    assert_ok(hd_outbox_list(x->f->s, x->f->a, 0, 0, "", &o, &n, &next, &err), err);
    assert_int_equal(n, 1);
    assert_int_equal(o[0]->message_id, m->id);
    assert_string_equal(o[0]->body_text, "Your invoice, for review.");
    assert_int_equal(o[0]->n_attachments, 2);
    assert_string_equal(o[0]->attachments[0]->sha256, x->hex_invoice);
    assert_string_equal(o[0]->attachments[0]->filename, "invoice.pdf");
    assert_string_equal(o[0]->attachments[0]->content_type, "application/pdf");
    assert_int_equal(o[0]->attachments[0]->size, sizeof(invoice) - 1);
    assert_string_equal(o[0]->attachments[1]->sha256, x->hex_log);
}

static int delete_blob(hd_txn *txn, void *arg, hd_err *err)
{
    hd_key k;
    return hd_store_del(txn, HD_STORE_MAILSTATE, hd_mailkey_blob(&k, arg), err);
}

/* Uploads are never deleted (blob.h), but a store restored from an older backup can lack
 * one: the send fails naming the entry and the draft stays for the staff member to fix. */
static void send_with_content_gone_fails_naming_it_and_keeps_the_draft(void **state)
{
    fx *x = *state;
    hd_err err = {0};
    uint64_t tid = ticket(x, EMAIL);
    Helpdesk__V1__Attachment *v[] = {att(x, x->hex_invoice, "invoice.pdf", "application/pdf"),
                                     att(x, x->hex_log, "fire.log", "text/plain")};
    Helpdesk__V1__Draft *d = NULL;
    assert_ok(draft(x, tid, v, 2, &d, &err), err);
    assert_ok(hd_store_write(x->f->s, delete_blob, x->hex_log, &err), err);
    char want[64];
    snprintf(want, sizeof(want), "draft %" PRIu64 ": attachments[1].sha256", d->id);
    TF_ASSERT_ERR(send(x, tid, d->id, NULL, &err), HD_EINVAL, err, want);
    assert_non_null(strstr(err.detail, "the draft is kept"));
    hd_tickets_thread th = get(x, tid);
    assert_int_equal(th.n_drafts, 1);
    assert_int_equal(th.drafts[0]->n_attachments, 2);
    assert_int_equal(th.n_messages, 1);
    assert_int_equal(table_count(x, HD_STORE_OUTBOX), 0);
    /* Replacing the files lets it go. */
    assert_ok(update(x, tid, d->id, true, v, 1, NULL, &err), err);
    assert_ok(send(x, tid, d->id, NULL, &err), err);
    assert_int_equal(table_count(x, HD_STORE_OUTBOX), 1);
}

/* UpdateDraft without a body keeps the draft's text (read in the write txn) when it changes
 * the files or the status; with nothing to change it is refused naming body. */
static void update_without_a_body_keeps_the_text(void **state)
{
    fx *x = *state;
    hd_err err = {0};
    uint64_t tid = ticket(x, EMAIL);
    Helpdesk__V1__Attachment *v[] = {att(x, x->hex_invoice, "invoice.pdf", "application/pdf")};
    Helpdesk__V1__Draft *d = NULL;
    assert_ok(draft(x, tid, v, 1, &d, &err), err);

    Helpdesk__V1__UpdateDraftRequest req = HELPDESK__V1__UPDATE_DRAFT_REQUEST__INIT;
    req.ticket_id = tid;
    req.draft_id = d->id;
    hd_tickets_reply_args *args = hd_arena_calloc(x->f->a, 1, sizeof(*args));
    assert_non_null(args);
    TF_ASSERT_ERR(hd_tickets_draft_update_prepare(args, x->f->a, &req, 0, &staff, &err), HD_EINVAL,
                  err, "body: required unless status_after or replace_attachments is set");

    req.replace_attachments = true; /* clear the files, keep the text */
    assert_ok(hd_tickets_draft_update_prepare(args, x->f->a, &req, 0, &staff, &err), err);
    assert_ok(hd_store_write(x->f->s, hd_tickets_reply_apply, args, &err), err);
    hd_tickets_thread th = get(x, tid);
    assert_string_equal(th.drafts[0]->body, "Your invoice, for review.");
    assert_int_equal(th.drafts[0]->n_attachments, 0);

    req.replace_attachments = false;
    req.status_after = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED;
    args = hd_arena_calloc(x->f->a, 1, sizeof(*args));
    assert_non_null(args);
    assert_ok(hd_tickets_draft_update_prepare(args, x->f->a, &req, 0, &staff, &err), err);
    assert_ok(hd_store_write(x->f->s, hd_tickets_reply_apply, args, &err), err);
    th = get(x, tid);
    assert_string_equal(th.drafts[0]->body, "Your invoice, for review.");
    assert_int_equal(th.drafts[0]->status_after, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            draft_keeps_its_attachments_with_sizes_and_get_ticket_shows_them, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_hash_is_refused_at_draft_time_naming_the_entry,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(draft_attachments_need_an_email_ticket, setup, teardown),
        cmocka_unit_test_setup_teardown(update_keeps_replaces_and_clears_the_attachments, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(update_without_a_body_keeps_the_text, setup, teardown),
        cmocka_unit_test_setup_teardown(sent_draft_carries_its_attachments_like_a_send_reply, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(send_with_content_gone_fails_naming_it_and_keeps_the_draft,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
