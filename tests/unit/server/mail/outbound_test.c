/* Outbound mail over a real store: composition (RFC 2231 attachment names, base64, header
 * injection refused), staff reply attachments by SHA-256 from upload to the composed mail,
 * and undeliverable addresses (a permanent bounce marks the address, every ticket of it
 * shows the mark, replies leave it out, new mail from it or an admin clears it). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/clock/clock.h"
#include "server/common/arena.h"
#include "server/mail/blob.h"
#include "server/mail/compose.h"
#include "server/mail/ingest.h"
#include "server/mail/keys.h"
#include "server/mail/mailbox.h"
#include "server/mail/mime.h"
#include "server/mail/outbox.h"
#include "server/mail/smtp.h"
#include "server/mail/undeliverable.h"
#include "server/store/store.h"
#include "server/tickets/annotate.h"
#include "server/tickets/change.h"
#include "server/tickets/outbox_hook.h"
#include "server/tickets/reply.h"
#include "server/tickets/tickets.h"
#include "tests/unit/server/mail/corpus.h"
#include "tests/unit/server/tickets/fixture.h"

#define EVK(x) HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_##x

/* ---- Composition ----------------------------------------------------------------------- */

static const char *const to_ann[] = {"ann@customer.example"};

static hd_compose_msg base_msg(void)
{
    return (hd_compose_msg){.from_addr = "support@helpdesk.test",
                            .from_name = "Support",
                            .to = to_ann,
                            .n_to = 1,
                            .subject = "Printer on fire",
                            .ticket_tag = "TKT-000001",
                            .message_id = "hd.t1.1.abc@helpdesk.test",
                            .text = "See the attached invoice.",
                            .date_unix = 1795000000};
}

static void compose_attachment_has_rfc2231_name_base64_and_parses_back(void **state)
{
    (void)state;
    unsigned char pdf[3000];
    for (size_t i = 0; i < sizeof pdf; i++)
        pdf[i] = (unsigned char)(i * 7 + 3);
    hd_compose_attachment at = {"Rechnung März €.pdf", "application/pdf", pdf, sizeof pdf};
    hd_compose_msg m = base_msg();
    m.attachments = &at;
    m.n_attachments = 1;
    char *raw = NULL;
    size_t len = 0;
    hd_err err;
    TF_ASSERT_OK(hd_compose(&raw, &len, &m, &err), err);
    /* RFC 2231 for the non-ASCII name, never an RFC 2047 word inside a parameter. */
    if (!strcasestr(raw, "filename*=utf-8''Rechnung%20M%C3%A4rz%20%E2%82%AC.pdf"))
        fail_msg("no RFC 2231 UTF-8 filename in:\n%s", raw);
    assert_null(strstr(raw, "=?utf-8?"));
    assert_non_null(strstr(raw, "Content-Type: application/pdf"));
    assert_non_null(strstr(raw, "Content-Transfer-Encoding: base64"));
    assert_non_null(strstr(raw, "Content-Disposition: attachment"));
    /* Read back by our own inbound parser: same name, same bytes, same hash. */
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *pm = NULL;
    TF_ASSERT_OK(hd_mime_parse(&pm, a, raw, len, NULL, &err), err);
    assert_int_equal(pm->n_attachments, 1);
    assert_string_equal(pm->attachments[0].filename, "Rechnung März €.pdf");
    assert_string_equal(pm->attachments[0].content_type, "application/pdf");
    assert_int_equal(pm->attachments[0].size, sizeof pdf);
    assert_memory_equal(pm->attachments[0].data, pdf, sizeof pdf);
    assert_string_equal(pm->text, "See the attached invoice.");
    hd_arena_destroy(a);
    free(raw);
}

static void compose_encodes_non_ascii_subject_and_carries_the_thread(void **state)
{
    (void)state;
    static const char *const refs[] = {"CAnew001@mail.gmail.com", "reply-2@customer.example"};
    static const char *const cc[] = {"carl@customer.example"};
    hd_compose_msg m = base_msg();
    m.subject = "Drucker brennt – bitte helfen";
    m.cc = cc;
    m.n_cc = 1;
    m.in_reply_to = "reply-2@customer.example";
    m.references = refs;
    m.n_references = 2;
    m.reply_to = "support+t1.abc@helpdesk.test";
    char *raw = NULL;
    size_t len = 0;
    hd_err err;
    TF_ASSERT_OK(hd_compose(&raw, &len, &m, &err), err);
    /* Headers are 7-bit on the wire: the subject as RFC 2047 words, the tag kept in clear. */
    for (size_t i = 0;
         i < len && raw[i] && !(raw[i] == '\r' && raw[i + 1] == '\n' && raw[i + 2] == '\r'); i++)
        if ((unsigned char)raw[i] > 0x7e)
            fail_msg("8-bit byte in the headers at %zu:\n%s", i, raw);
    if (!strstr(raw, "Subject: [TKT-000001] ") || !strcasestr(raw, "=?utf-8?"))
        fail_msg("subject not RFC 2047 with the tag in clear:\n%s", raw);
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *pm = NULL;
    TF_ASSERT_OK(hd_mime_parse(&pm, a, raw, len, NULL, &err), err);
    assert_string_equal(pm->subject, "[TKT-000001] Drucker brennt – bitte helfen");
    assert_string_equal(pm->message_id, "hd.t1.1.abc@helpdesk.test");
    assert_string_equal(pm->in_reply_to, "reply-2@customer.example");
    assert_int_equal(pm->n_references, 2);
    assert_string_equal(pm->references[0], "CAnew001@mail.gmail.com");
    assert_string_equal(pm->references[1], "reply-2@customer.example");
    assert_int_equal(pm->n_cc, 1);
    assert_string_equal(pm->cc[0].addr, "carl@customer.example");
    assert_string_equal(pm->from.addr, "support@helpdesk.test");
    assert_non_null(strstr(raw, "Reply-To: Support <support+t1.abc@helpdesk.test>"));
    assert_null(strstr(raw, HD_COMPOSE_LOOP_HEADER)); /* none asked for */
    assert_null(strstr(raw, "Auto-Submitted"));       /* a person's reply */
    hd_arena_destroy(a);
    free(raw);
}

static void compose_refuses_crlf_in_attachment_name_type_subject_and_addresses(void **state)
{
    (void)state;
    char *raw = NULL;
    size_t len = 0;
    hd_err err;
    hd_compose_attachment at = {"a.txt\r\nBcc: victim@example.com", "text/plain", "x", 1};
    hd_compose_msg m = base_msg();
    m.attachments = &at;
    m.n_attachments = 1;
    TF_ASSERT_ERR(hd_compose(&raw, &len, &m, &err), HD_EINVAL, err, "attachments[0].filename");
    at = (hd_compose_attachment){"a.txt", "text/plain; name=\"x\"\r\nBcc: v@example.com", "x", 1};
    TF_ASSERT_ERR(hd_compose(&raw, &len, &m, &err), HD_EINVAL, err, "attachments[0].content_type");
    at = (hd_compose_attachment){"a.txt", "text", "x", 1};
    TF_ASSERT_ERR(hd_compose(&raw, &len, &m, &err), HD_EINVAL, err, "attachments[0].content_type");
    /* Parameters are fine (the reporter sends "text/csv; charset=utf-8"). */
    at = (hd_compose_attachment){"a.csv", "text/csv; charset=utf-8", "x", 1};
    TF_ASSERT_OK(hd_compose(&raw, &len, &m, &err), err);
    if (!strcasestr(raw, "Content-Type: text/csv; charset=utf-8"))
        fail_msg("no text/csv with its charset in:\n%s", raw);
    free(raw);
    raw = NULL;
    at = (hd_compose_attachment){"a.txt", "text/plain", NULL, 5};
    TF_ASSERT_ERR(hd_compose(&raw, &len, &m, &err), HD_EINVAL, err, "attachments[0]: no data");
    m = base_msg();
    m.subject = "Hi\r\nBcc: victim@example.com";
    TF_ASSERT_ERR(hd_compose(&raw, &len, &m, &err), HD_EINVAL, err, "header value");
    static const char *const evil[] = {"ann@customer.example\r\nRCPT TO:<x@evil.example>"};
    m = base_msg();
    m.to = evil;
    TF_ASSERT_ERR(hd_compose(&raw, &len, &m, &err), HD_EINVAL, err, "to[0]");
    m = base_msg();
    m.message_id = "a b@c";
    TF_ASSERT_ERR(hd_compose(&raw, &len, &m, &err), HD_EINVAL, err, "message_id");
    assert_null(raw);
}

static void smtp_refuses_crlf_addresses_before_connecting(void **state)
{
    (void)state;
    /* Port 1 on loopback refuses connections: reaching the network would be HD_EUNAVAIL. */
    hd_smtp_conf c = {.url = "smtp://127.0.0.1:1", .timeout_ms = 2000};
    static const char *const evil[] = {"ann@customer.example>\r\nRCPT TO:<x@evil.example"};
    static const char *const ok[] = {"ann@customer.example"};
    hd_smtp_result res;
    hd_err err;
    TF_ASSERT_ERR(hd_smtp_send(&c, "support@helpdesk.test", evil, 1, "x", 1, &res, &err), HD_EINVAL,
                  err, "recipient 0");
    TF_ASSERT_ERR(hd_smtp_send(&c, "support@helpdesk.test\r\nDATA", ok, 1, "x", 1, &res, &err),
                  HD_EINVAL, err, "from");
    TF_ASSERT_ERR(hd_smtp_send(&c, "support@helpdesk.test", ok, 1, "x", 1, &res, &err), HD_EUNAVAIL,
                  err, "smtp");
}

/* ---- Store-backed: attachments and undeliverable addresses ----------------------------- */

typedef struct env {
    hd_store *s;
    hd_arena *a;
    unsigned char key[HD_MAILBOX_KEY_BYTES];
    hd_thread_conf tc;
    hd_ingest_conf ic;
    Helpdesk__V1__Mailbox mb;
    hd_outbox_opts oo;
    char ownid[HD_THREAD_ID_MAX];
    char number[24];
} env;

static char mb_name[] = "support";
static char mb_from[] = "support@helpdesk.test";
static char mb_imap[] = "imap://127.0.0.1:1";
static char mb_smtp[] = "smtp://127.0.0.1:1";
static char reply_body[] = "Invoice attached.";
static char status_521[] = "5.2.1";

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    hd_err err;
    e->s = tf_store_open("outbound");
    e->a = hd_arena_create(0);
    memset(e->key, 5, sizeof e->key);
    memset(e->tc.key, 7, sizeof e->tc.key);
    e->tc.msgid_domain = "helpdesk.test";
    e->ic.thread = &e->tc;
    helpdesk__v1__mailbox__init(&e->mb);
    e->mb.name = mb_name;
    e->mb.imap_url = mb_imap;
    e->mb.smtp_url = mb_smtp;
    e->mb.from_address = mb_from;
    e->mb.enabled = 1;
    Helpdesk__V1__Mailbox *stored = NULL;
    TF_ASSERT_OK(hd_mailbox_add(e->s, e->key, e->a, &e->mb, &stored, &err), err);
    e->mb.id = stored->id;
    e->oo = (hd_outbox_opts){.store = e->s, .mail_key = e->key, .thread = &e->tc};
    hd_clock_set_test_ms(1795000000000);
    hd_tickets_outbox_set(hd_outbox_reply_hook, &e->tc);
    hd_tickets_attach_check_set(hd_outbox_check_attachments, NULL);
    hd_tickets_annotate_set(hd_undeliverable_annotate, NULL);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    hd_tickets_outbox_set(NULL, NULL);
    hd_tickets_attach_check_set(NULL, NULL);
    hd_tickets_annotate_set(NULL, NULL);
    hd_clock_set_test_ms(0);
    hd_store_close(e->s);
    hd_arena_destroy(e->a);
    free(e);
    return 0;
}

static hd_ingest_args *ingest(env *e, uint32_t uid, const char *file)
{
    tc_subst subst[] = {{"TICKET", e->number}, {"OWNID", e->ownid}};
    size_t len;
    hd_err err;
    char *raw = tc_read(file, subst, 2, &len);
    char *copy = hd_arena_strndup(e->a, raw, len);
    free(raw);
    hd_ingest_args *args = hd_arena_calloc(e->a, 1, sizeof *args);
    TF_ASSERT_OK(
        hd_ingest_prepare(args, e->a, &e->ic, &e->mb, 1, uid, copy, len, hd_clock_now_ms(), &err),
        err);
    TF_ASSERT_OK(hd_store_write(e->s, hd_ingest_apply, args, &err), err);
    return args;
}

/* The first ticket from 01_new_plain.eml (Ann); fills the DSN placeholders for it. */
static uint64_t email_ticket(env *e)
{
    uint64_t tid = ingest(e, 1, "01_new_plain.eml")->ticket_id;
    hd_tickets_number(e->number, sizeof e->number, tid);
    assert_int_equal(hd_thread_own_msgid(e->ownid, sizeof e->ownid, &e->tc, tid, 1000), 0);
    return tid;
}

typedef struct reply {
    uint64_t ticket_id;
    Helpdesk__V1__ReplyMode mode;
    Helpdesk__V1__Attachment **at;
    size_t n_at;
    hd_arena *a;
    const Helpdesk__V1__Message *out;
    const Helpdesk__V1__Ticket *ticket;
} reply;

static int reply_apply(hd_txn *txn, void *arg, hd_err *err)
{
    reply *r = arg;
    hd_tickets_reply_args *ra = hd_arena_calloc(r->a, 1, sizeof *ra);
    Helpdesk__V1__ReplyToTicketRequest req = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
    req.ticket_id = r->ticket_id;
    req.body = reply_body;
    req.mode = r->mode;
    req.attachments = r->at;
    req.n_attachments = r->n_at;
    hd_tickets_actor actor = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, 9};
    int rc = hd_tickets_reply_prepare(ra, r->a, &req, 0, &actor, err);
    if (rc < 0)
        return rc;
    ra->now_ms = hd_clock_now_ms();
    rc = hd_tickets_reply_apply(txn, ra, err);
    r->out = ra->message;
    r->ticket = ra->ticket;
    return rc;
}

/* The ticket the last staff_reply handed back (arena memory of the test). */
static const Helpdesk__V1__Ticket *last_reply_ticket;

/* A staff reply with attachments (n may be 0); returns its code, err filled. */
static int staff_reply(env *e, uint64_t tid, Helpdesk__V1__Attachment **at, size_t n,
                       Helpdesk__V1__ReplyMode mode, const Helpdesk__V1__Message **out, hd_err *err)
{
    reply r = {tid, mode, at, n, e->a, NULL, NULL};
    int rc = hd_store_write(e->s, reply_apply, &r, err);
    if (out)
        *out = r.out;
    last_reply_ticket = r.ticket;
    return rc;
}

static Helpdesk__V1__Attachment *att(hd_arena *a, const char *sha, const char *name,
                                     const char *type)
{
    Helpdesk__V1__Attachment *x = hd_arena_calloc(a, 1, sizeof *x);
    helpdesk__v1__attachment__init(x);
    x->sha256 = hd_arena_strdup(a, sha);
    x->filename = hd_arena_strdup(a, name);
    x->content_type = hd_arena_strdup(a, type);
    return x;
}

static uint64_t count(env *e, hd_table t)
{
    hd_txn *txn;
    uint64_t n = 0;
    assert_int_equal(hd_store_read_begin(e->s, &txn, NULL), 0);
    assert_int_equal(hd_store_count(txn, t, &n, NULL), 0);
    hd_store_read_end(txn);
    return n;
}

/* Every outbox entry, oldest first. */
static Helpdesk__V1__OutboxMessage **entries(env *e, size_t *n)
{
    Helpdesk__V1__OutboxMessage **v;
    const char *next;
    hd_err err;
    TF_ASSERT_OK(hd_outbox_list(e->s, e->a, 0, 0, "", &v, n, &next, &err), err);
    return v;
}

static void staff_reply_attachment_is_composed_into_the_mail(void **state)
{
    env *e = *state;
    hd_err err;
    uint64_t tid = email_ticket(e);
    static const char csv[] = "id;total\n1;42,00\n";
    char hex[HD_BLOB_HEX_LEN + 1];
    TF_ASSERT_OK(hd_blob_upload(e->s, csv, sizeof csv - 1, hex, &err), err);
    Helpdesk__V1__Attachment *at[] = {att(e->a, hex, "Übersicht.csv", "text/csv")};
    const Helpdesk__V1__Message *msg = NULL;
    TF_ASSERT_OK(staff_reply(e, tid, at, 1, HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND, &msg, &err),
                 err);
    /* The thread shows the attachment with its size. */
    hd_tickets_thread th;
    TF_ASSERT_OK(hd_tickets_get(e->s, e->a, tid, NULL, &th, &err), err);
    const Helpdesk__V1__Message *last = th.messages[th.n_messages - 1];
    assert_int_equal(last->id, msg->id);
    assert_int_equal(last->n_attachments, 1);
    assert_string_equal(last->attachments[0]->sha256, hex);
    assert_int_equal(last->attachments[0]->size, sizeof csv - 1);
    /* The queued mail refers to it, and composing it puts the bytes in the mail. */
    size_t n = 0;
    Helpdesk__V1__OutboxMessage **v = entries(e, &n);
    assert_int_equal(n, 1);
    assert_int_equal(v[0]->n_attachments, 1);
    assert_string_equal(v[0]->attachments[0]->sha256, hex);
    assert_int_equal(v[0]->attachments[0]->data.len, 0); /* by reference, not copied */
    hd_outbox_mail om;
    bool permanent = false;
    TF_ASSERT_OK(hd_outbox_build(&e->oo, e->a, v[0], &om, &permanent, &err), err);
    assert_int_equal(om.n_rcpt, 1);
    assert_string_equal(om.rcpt[0], "ann@customer.example");
    assert_string_equal(om.smtp.url, "smtp://127.0.0.1:1");
    hd_mime_msg *pm = NULL;
    TF_ASSERT_OK(hd_mime_parse(&pm, e->a, om.raw, om.len, NULL, &err), err);
    assert_int_equal(pm->n_attachments, 1);
    assert_string_equal(pm->attachments[0].filename, "Übersicht.csv");
    assert_string_equal(pm->attachments[0].content_type, "text/csv");
    assert_string_equal(pm->attachments[0].sha256, hex);
    assert_memory_equal(pm->attachments[0].data, csv, sizeof csv - 1);
    assert_string_equal(pm->new_text, "Invoice attached.");
}

static char billing_name[] = "billing";
static char billing_from[] = "billing@helpdesk.test";
static char billing_smtp[] = "smtp://127.0.0.1:2";

static void reply_goes_out_from_the_mailbox_the_customer_wrote_to(void **state)
{
    env *e = *state;
    hd_err err;
    /* A second mailbox; Ann's mail arrives through it. */
    Helpdesk__V1__Mailbox b = e->mb, *stored = NULL;
    b.id = 0;
    b.name = billing_name;
    b.from_address = billing_from;
    b.smtp_url = billing_smtp;
    TF_ASSERT_OK(hd_mailbox_add(e->s, e->key, e->a, &b, &stored, &err), err);
    Helpdesk__V1__Mailbox first = e->mb;
    e->mb = *stored;
    uint64_t tid = email_ticket(e);
    e->mb = first;
    TF_ASSERT_OK(
        staff_reply(e, tid, NULL, 0, HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND, NULL, &err), err);
    size_t n = 0;
    Helpdesk__V1__OutboxMessage **v = entries(e, &n);
    assert_int_equal(n, 1);
    assert_int_equal(v[0]->mailbox_id, stored->id);
    hd_outbox_mail om;
    bool permanent = false;
    TF_ASSERT_OK(hd_outbox_build(&e->oo, e->a, v[0], &om, &permanent, &err), err);
    assert_string_equal(om.from, "billing@helpdesk.test");
    assert_string_equal(om.smtp.url, "smtp://127.0.0.1:2");
    assert_non_null(strstr(om.raw, "Reply-To: billing+t"));
    /* Once that mailbox is removed, the first enabled one sends it. */
    TF_ASSERT_OK(hd_mailbox_remove(e->s, stored->id, &err), err);
    TF_ASSERT_OK(hd_outbox_build(&e->oo, e->a, v[0], &om, &permanent, &err), err);
    assert_string_equal(om.from, "support@helpdesk.test");
}

static void inbound_attachment_is_listed_on_its_message_and_can_be_sent_on(void **state)
{
    env *e = *state;
    hd_err err;
    hd_ingest_args *r = ingest(e, 1, "17_rfc2047_subject_2231_filename.eml");
    hd_tickets_thread th;
    TF_ASSERT_OK(hd_tickets_get(e->s, e->a, r->ticket_id, NULL, &th, &err), err);
    assert_int_equal(th.n_messages, 1);
    const Helpdesk__V1__Message *first = th.messages[0];
    assert_int_equal(first->n_attachments, 1);
    const Helpdesk__V1__Attachment *in = first->attachments[0];
    assert_string_equal(in->filename, "Rechnung über 100€.pdf");
    assert_string_equal(in->content_type, "application/pdf");
    hd_txn *txn;
    const void *data;
    size_t len;
    assert_int_equal(hd_store_read_begin(e->s, &txn, NULL), 0);
    TF_ASSERT_OK(hd_blob_get(txn, in->sha256, &data, &len, &err), err);
    assert_int_equal(len, in->size);
    assert_memory_equal(data, "%PDF-1.4", 8);
    hd_store_read_end(txn);
    /* A staff reply sends the customer's file on by its hash. */
    Helpdesk__V1__Attachment *at[] = {att(e->a, in->sha256, "invoice.pdf", "application/pdf")};
    TF_ASSERT_OK(
        staff_reply(e, r->ticket_id, at, 1, HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND, NULL, &err),
        err);
    size_t n = 0;
    Helpdesk__V1__OutboxMessage **v = entries(e, &n);
    assert_int_equal(n, 1);
    hd_outbox_mail om;
    bool permanent = false;
    TF_ASSERT_OK(hd_outbox_build(&e->oo, e->a, v[0], &om, &permanent, &err), err);
    hd_mime_msg *pm = NULL;
    TF_ASSERT_OK(hd_mime_parse(&pm, e->a, om.raw, om.len, NULL, &err), err);
    assert_int_equal(pm->n_attachments, 1);
    assert_string_equal(pm->attachments[0].sha256, in->sha256);
}

static void unknown_attachment_hash_fails_the_reply_naming_the_field(void **state)
{
    env *e = *state;
    hd_err err;
    uint64_t tid = email_ticket(e);
    char hex[HD_BLOB_HEX_LEN + 1];
    TF_ASSERT_OK(hd_blob_upload(e->s, "known", 5, hex, &err), err);
    char unknown[HD_BLOB_HEX_LEN + 1];
    hd_blob_hash(unknown, "never uploaded", 14);
    Helpdesk__V1__Attachment *at[] = {att(e->a, hex, "a.txt", ""),
                                      att(e->a, unknown, "b.txt", "text/plain")};
    uint64_t messages = count(e, HD_STORE_MESSAGES);
    TF_ASSERT_ERR(staff_reply(e, tid, at, 2, HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND, NULL, &err),
                  HD_EINVAL, err, "attachments[1].sha256: no uploaded content");
    /* Nothing of the reply was written. */
    assert_int_equal(count(e, HD_STORE_MESSAGES), messages);
    assert_int_equal(count(e, HD_STORE_OUTBOX), 0);
}

static void attachments_need_an_email_ticket_and_a_sane_form(void **state)
{
    env *e = *state;
    hd_err err;
    uint64_t tid = email_ticket(e);
    char hex[HD_BLOB_HEX_LEN + 1];
    TF_ASSERT_OK(hd_blob_upload(e->s, "x", 1, hex, &err), err);
    Helpdesk__V1__Attachment *ok[] = {att(e->a, hex, "x.txt", "text/plain")};
    /* A draft keeps them (tests/unit/server/tickets/draft_attach_test.c); the same rules
     * apply to it, checked when it is saved. */
    TF_ASSERT_OK(staff_reply(e, tid, ok, 1, HELPDESK__V1__REPLY_MODE__REPLY_MODE_DRAFT, NULL, &err),
                 err);
    assert_int_equal(count(e, HD_STORE_OUTBOX), 0);
    struct {
        Helpdesk__V1__Attachment *at;
        const char *want;
    } bad[] = {
        {att(e->a, "ABC", "x.txt", ""), "attachments[0].sha256"},
        {att(e->a, hex, "", ""), "attachments[0].filename"},
        {att(e->a, hex, "../../etc/passwd", ""), "attachments[0].filename"},
        {att(e->a, hex, "a\r\nb.txt", ""), "attachments[0].filename"},
        {att(e->a, hex, "a\tb.txt", ""), "attachments[0].filename"},
        {att(e->a, hex, "x.txt", "text/plain; charset=x"), "attachments[0].content_type"},
        {att(e->a, hex, "x.txt", "text"), "attachments[0].content_type"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        TF_ASSERT_ERR(staff_reply(e, tid, &bad[i].at, 1, HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND,
                                  NULL, &err),
                      HD_EINVAL, err, bad[i].want);
    Helpdesk__V1__Attachment *many[11];
    for (size_t i = 0; i < 11; i++)
        many[i] = ok[0];
    TF_ASSERT_ERR(
        staff_reply(e, tid, many, 11, HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND, NULL, &err),
        HD_EINVAL, err, "attachments: at most 10");
    TF_ASSERT_ERR(
        staff_reply(e, tid, many, 11, HELPDESK__V1__REPLY_MODE__REPLY_MODE_DRAFT, NULL, &err),
        HD_EINVAL, err, "attachments: at most 10");
    /* A ticket of another channel has nothing that would deliver them. */
    Helpdesk__V1__CreateTicketRequest req;
    tf_request(&req, NULL, NULL, "bob@example.com");
    hd_tickets_create_args c;
    TF_ASSERT_OK(hd_tickets_create_prepare(&c, e->a, &req, NULL, NULL, &err), err);
    TF_ASSERT_OK(hd_tickets_create(e->s, &c, &err), err);
    TF_ASSERT_ERR(
        staff_reply(e, c.ticket->id, ok, 1, HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND, NULL, &err),
        HD_EINVAL, err, "attachments: only on tickets of the EMAIL channel");
    TF_ASSERT_ERR(
        staff_reply(e, c.ticket->id, ok, 1, HELPDESK__V1__REPLY_MODE__REPLY_MODE_DRAFT, NULL, &err),
        HD_EINVAL, err, "attachments: only on tickets of the EMAIL channel");
    assert_int_equal(count(e, HD_STORE_OUTBOX), 0);
}

static void upload_is_content_addressed_and_limited(void **state)
{
    env *e = *state;
    hd_err err;
    char h1[HD_BLOB_HEX_LEN + 1], h2[HD_BLOB_HEX_LEN + 1];
    TF_ASSERT_OK(hd_blob_upload(e->s, "abc", 3, h1, &err), err);
    TF_ASSERT_OK(hd_blob_upload(e->s, "abc", 3, h2, &err), err);
    /* SHA-256("abc"), FIPS 180-2 test vector. */
    assert_string_equal(h1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(h1, h2);
    TF_ASSERT_ERR(hd_blob_upload(e->s, "", 0, h1, &err), HD_EINVAL, err, "data: empty");
    char *big = calloc(1, HD_BLOB_MAX + 1);
    TF_ASSERT_ERR(hd_blob_upload(e->s, big, HD_BLOB_MAX + 1, h1, &err), HD_EINVAL, err,
                  "larger than");
    TF_ASSERT_OK(hd_blob_upload(e->s, big, HD_BLOB_MAX, h1, &err), err);
    free(big);
    hd_txn *txn;
    const void *data;
    size_t len;
    assert_int_equal(hd_store_read_begin(e->s, &txn, NULL), 0);
    TF_ASSERT_OK(hd_blob_get(txn, h2, &data, &len, &err), err);
    assert_int_equal(len, 3);
    assert_memory_equal(data, "abc", 3);
    TF_ASSERT_ERR(hd_blob_get(txn, "nothex", &data, &len, &err), HD_EINVAL, err, "sha256");
    hd_store_read_end(txn);
}

/* The "undeliverable" facts of ticket tid's events, in order, as "before -> after". */
static size_t undeliverable_facts(env *e, uint64_t tid, const char **out, size_t max)
{
    hd_tickets_thread th;
    hd_err err;
    size_t n = 0;
    TF_ASSERT_OK(hd_tickets_get(e->s, e->a, tid, NULL, &th, &err), err);
    for (size_t i = 0; i < th.n_events; i++)
        for (size_t j = 0; j < th.events[i]->n_changes; j++)
            if (strcmp(th.events[i]->changes[j]->field, "undeliverable") == 0 && n < max)
                out[n++] = hd_arena_printf(e->a, "%s -> %s", th.events[i]->changes[j]->before,
                                           th.events[i]->changes[j]->after);
    return n;
}

static void bounce_shows_on_every_ticket_of_the_address_with_reason(void **state)
{
    env *e = *state;
    hd_err err;
    uint64_t tid = email_ticket(e);
    hd_ingest_args *b = ingest(e, 2, "13_dsn_bounce.eml");
    assert_int_equal(b->outcome, HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_BOUNCE);
    assert_int_equal(b->ticket_id, tid);
    /* The bounce's ticket event is there to publish (WatchTickets). */
    assert_int_equal(b->committed.n, 1);
    assert_int_equal(b->committed.events[0]->kind, EVK(UPDATED));
    assert_int_equal(b->committed.events[0]->ticket_id, tid);
    const char *facts[4];
    assert_int_equal(undeliverable_facts(e, tid, facts, 4), 1);
    assert_string_equal(facts[0], " -> ann@customer.example (5.1.1)");
    hd_tickets_thread th;
    TF_ASSERT_OK(hd_tickets_get(e->s, e->a, tid, NULL, &th, &err), err);
    assert_int_equal(th.ticket->n_undeliverable, 1);
    const Helpdesk__V1__UndeliverableAddress *u = th.ticket->undeliverable[0];
    assert_string_equal(u->address, "ann@customer.example");
    assert_string_equal(u->status, "5.1.1");
    assert_string_equal(u->reason, "550 5.1.1 user unknown");
    assert_int_equal(u->ticket_id, tid);
    assert_int_equal(hd_tickets_ts_ms(u->time), hd_clock_now_ms());
    /* Another ticket of Ann's (any channel) shows it too; Bob's does not. */
    Helpdesk__V1__CreateTicketRequest req;
    tf_request(&req, NULL, NULL, "Ann@Customer.example");
    hd_tickets_create_args c;
    TF_ASSERT_OK(hd_tickets_create_prepare(&c, e->a, &req, NULL, NULL, &err), err);
    TF_ASSERT_OK(hd_tickets_create(e->s, &c, &err), err);
    TF_ASSERT_OK(hd_tickets_get(e->s, e->a, c.ticket->id, NULL, &th, &err), err);
    assert_int_equal(th.ticket->n_undeliverable, 1);
    assert_string_equal(th.ticket->undeliverable[0]->address, "ann@customer.example");
    tf_request(&req, NULL, NULL, "bob@example.com");
    TF_ASSERT_OK(hd_tickets_create_prepare(&c, e->a, &req, NULL, NULL, &err), err);
    TF_ASSERT_OK(hd_tickets_create(e->s, &c, &err), err);
    TF_ASSERT_OK(hd_tickets_get(e->s, e->a, c.ticket->id, NULL, &th, &err), err);
    assert_int_equal(th.ticket->n_undeliverable, 0);
    /* Not stored on the ticket record: the mark is read from the mail records. */
    hd_tickets_annotate_set(NULL, NULL);
    TF_ASSERT_OK(hd_tickets_get(e->s, e->a, tid, NULL, &th, &err), err);
    assert_int_equal(th.ticket->n_undeliverable, 0);
}

typedef struct mark_args {
    const char *addr;
    hd_arena *a;
} mark_args;

/* Marks addr as a bounce matching no ticket would. */
static int mark_apply(hd_txn *txn, void *arg, hd_err *err)
{
    mark_args *m = arg;
    Helpdesk__V1__UndeliverableAddress u = HELPDESK__V1__UNDELIVERABLE_ADDRESS__INIT;
    u.address = (char *)m->addr;
    u.status = status_521;
    return hd_undeliverable_mark(txn, m->a, &u, hd_clock_now_ms(), NULL, err);
}

static void replies_leave_out_marked_addresses_and_queued_mail_drops_them(void **state)
{
    env *e = *state;
    hd_err err;
    uint64_t tid = email_ticket(e);
    ingest(e, 2, "05_reply_all_cc.eml"); /* Carl joins by reply-all */
    /* Queued before the bounce: to Ann, Cc Carl. */
    TF_ASSERT_OK(
        staff_reply(e, tid, NULL, 0, HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND, NULL, &err), err);
    ingest(e, 3, "13_dsn_bounce.eml");
    /* After the bounce only Carl gets the reply; the reply hands back the ticket naming who
     * the mail could not go to. */
    TF_ASSERT_OK(
        staff_reply(e, tid, NULL, 0, HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND, NULL, &err), err);
    assert_int_equal(last_reply_ticket->n_undeliverable, 1);
    assert_string_equal(last_reply_ticket->undeliverable[0]->address, "ann@customer.example");
    size_t n = 0;
    Helpdesk__V1__OutboxMessage **v = entries(e, &n);
    assert_int_equal(n, 2);
    assert_int_equal(v[1]->n_to, 0);
    assert_int_equal(v[1]->n_cc, 1);
    assert_string_equal(v[1]->cc[0], "carl@customer.example");
    /* The earlier entry still names Ann, but the mail built now goes to Carl only. */
    assert_int_equal(v[0]->n_to, 1);
    hd_outbox_mail om;
    bool permanent = false;
    TF_ASSERT_OK(hd_outbox_build(&e->oo, e->a, v[0], &om, &permanent, &err), err);
    assert_int_equal(om.n_rcpt, 1);
    assert_string_equal(om.rcpt[0], "carl@customer.example");
    assert_null(strstr(om.raw, "ann@customer.example"));
    /* With every recipient marked, the entry cannot be sent: permanent, so dead-lettered. */
    mark_args ma = {"carl@customer.example", e->a};
    TF_ASSERT_OK(hd_store_write(e->s, mark_apply, &ma, &err), err);
    TF_ASSERT_ERR(hd_outbox_build(&e->oo, e->a, v[0], &om, &permanent, &err), HD_EINVAL, err,
                  "every recipient is marked undeliverable");
    assert_true(permanent);
}

static void new_mail_from_marked_address_clears_the_mark(void **state)
{
    env *e = *state;
    hd_err err;
    uint64_t tid = email_ticket(e);
    ingest(e, 2, "13_dsn_bounce.eml");
    hd_ingest_args *r = ingest(e, 3, "02_gmail_reply.eml");
    assert_int_equal(r->ticket_id, tid);
    hd_tickets_thread th;
    TF_ASSERT_OK(hd_tickets_get(e->s, e->a, tid, NULL, &th, &err), err);
    assert_int_equal(th.ticket->n_undeliverable, 0);
    const char *facts[4];
    assert_int_equal(undeliverable_facts(e, tid, facts, 4), 2);
    assert_string_equal(facts[1],
                        "ann@customer.example (5.1.1) -> cleared: new mail from the address");
    /* A reply goes to Ann again. */
    TF_ASSERT_OK(
        staff_reply(e, tid, NULL, 0, HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND, NULL, &err), err);
    size_t n = 0;
    Helpdesk__V1__OutboxMessage **v = entries(e, &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0]->to[0], "ann@customer.example");
}

static void admin_clear_removes_the_mark_and_notes_it_on_the_ticket(void **state)
{
    env *e = *state;
    hd_err err;
    uint64_t tid = email_ticket(e);
    ingest(e, 2, "13_dsn_bounce.eml");
    Helpdesk__V1__UndeliverableAddress **v;
    size_t n;
    const char *next;
    TF_ASSERT_OK(hd_undeliverable_list(e->s, e->a, 0, "", &v, &n, &next, &err), err);
    assert_int_equal(n, 1);
    assert_string_equal(v[0]->address, "ann@customer.example");
    assert_string_equal(next, "");
    hd_tickets_actor admin = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, 1};
    hd_tickets_committed committed;
    Helpdesk__V1__UndeliverableAddress *out = NULL;
    TF_ASSERT_OK(hd_undeliverable_clear_write(e->s, e->a, "ANN@customer.example", &admin,
                                              hd_clock_now_ms(), &committed, &out, &err),
                 err);
    assert_string_equal(out->status, "5.1.1");
    assert_int_equal(committed.n, 1);
    assert_int_equal(committed.events[0]->actor->kind, HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF);
    const char *facts[4];
    assert_int_equal(undeliverable_facts(e, tid, facts, 4), 2);
    assert_string_equal(facts[1], "ann@customer.example (5.1.1) -> cleared: cleared by an admin");
    TF_ASSERT_ERR(hd_undeliverable_clear_write(e->s, e->a, "ann@customer.example", &admin,
                                               hd_clock_now_ms(), &committed, &out, &err),
                  HD_ENOTFOUND, err, "not marked undeliverable");
    TF_ASSERT_ERR(hd_undeliverable_clear_write(e->s, e->a, "not an address", &admin,
                                               hd_clock_now_ms(), &committed, &out, &err),
                  HD_EINVAL, err, "address");
    TF_ASSERT_OK(hd_undeliverable_list(e->s, e->a, 0, "", &v, &n, &next, &err), err);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compose_attachment_has_rfc2231_name_base64_and_parses_back),
        cmocka_unit_test(compose_encodes_non_ascii_subject_and_carries_the_thread),
        cmocka_unit_test(compose_refuses_crlf_in_attachment_name_type_subject_and_addresses),
        cmocka_unit_test(smtp_refuses_crlf_addresses_before_connecting),
        cmocka_unit_test_setup_teardown(staff_reply_attachment_is_composed_into_the_mail, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reply_goes_out_from_the_mailbox_the_customer_wrote_to,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            inbound_attachment_is_listed_on_its_message_and_can_be_sent_on, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_attachment_hash_fails_the_reply_naming_the_field,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(attachments_need_an_email_ticket_and_a_sane_form, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(upload_is_content_addressed_and_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(bounce_shows_on_every_ticket_of_the_address_with_reason,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            replies_leave_out_marked_addresses_and_queued_mail_drops_them, setup, teardown),
        cmocka_unit_test_setup_teardown(new_mail_from_marked_address_clears_the_mark, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(admin_clear_removes_the_mark_and_notes_it_on_the_ticket,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
