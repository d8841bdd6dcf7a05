/* Exactly-once ingest of one fetched message (see ingest.h). */
#include "server/mail/ingest.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "helpdesk/v1/customers.pb-c.h"
#include "server/common/log.h"
#include "server/mail/keys.h"
#include "server/mail/outbox.h"
#include "server/mail/undeliverable.h"
#include "server/tickets/change.h"
#include "server/tickets/lifecycle.h"
#include "server/tickets/reply.h"
#include "server/validate/validate.h"

#define ACK_DEFAULT                                                                                \
    "Thank you for your message. We have opened ticket {{number}} (\"{{subject}}\") and will "     \
    "get back to you soon.\n\nPlease keep the ticket number in the subject when you reply."

static char empty_str[1];

const char *hd_ingest_outcome_name(Helpdesk__V1__IngestOutcome o)
{
    switch (o) {
    case HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_NEW_TICKET:
        return "new_ticket";
    case HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_APPENDED:
        return "appended";
    case HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_DUPLICATE:
        return "duplicate";
    case HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_REJECTED:
        return "rejected";
    case HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_BOUNCE:
        return "bounce";
    case HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_LOOP:
        return "loop";
    default:
        return "unspecified";
    }
}

/* Cuts s to at most max bytes on a UTF-8 boundary (copy in a). */
static const char *utf8_cut(hd_arena *a, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return s;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return hd_arena_strndup(a, s, max);
}

static void base_args(hd_ingest_args *args, hd_arena *a, const hd_ingest_conf *conf,
                      const Helpdesk__V1__Mailbox *mb, uint32_t uid_validity, uint32_t uid,
                      int64_t now_ms)
{
    memset(args, 0, sizeof *args);
    args->conf = conf;
    args->mb = mb;
    args->uid_validity = uid_validity;
    args->uid = uid;
    args->now_ms = now_ms;
    args->arena = a;
}

void hd_ingest_prepare_rejected(hd_ingest_args *args, hd_arena *a, const hd_ingest_conf *conf,
                                const Helpdesk__V1__Mailbox *mb, uint32_t uid_validity,
                                uint32_t uid, const char *reason, int64_t now_ms)
{
    base_args(args, a, conf, mb, uid_validity, uid, now_ms);
    args->reject_reason = hd_arena_strdup(a, reason);
    if (!args->reject_reason)
        args->reject_reason = "rejected";
}

int hd_ingest_prepare(hd_ingest_args *args, hd_arena *a, const hd_ingest_conf *conf,
                      const Helpdesk__V1__Mailbox *mb, uint32_t uid_validity, uint32_t uid,
                      const void *raw, size_t len, int64_t now_ms, hd_err *err)
{
    hd_mime_msg *m = NULL;
    hd_err perr;
    base_args(args, a, conf, mb, uid_validity, uid, now_ms);
    int rc = hd_mime_parse(&m, a, raw, len, &conf->mime, &perr);
    if (rc == HD_ENOMEM)
        return hd_err_set(err, HD_ENOMEM, "%s", perr.detail);
    if (rc < 0) {
        args->reject_reason = hd_arena_strdup(a, perr.detail);
        return args->reject_reason ? HD_OK : hd_err_set(err, HD_ENOMEM, "ingest: out of memory");
    }
    args->m = m;
    args->verdict = hd_loop_classify(m, conf->thread->msgid_domain);
    if (!*m->from.addr || !hd_validate_email(m->from.addr, strlen(m->from.addr))) {
        if (args->verdict.kind == HD_LOOP_HUMAN) {
            args->reject_reason = "no valid From address";
            return HD_OK;
        }
    }
    args->ack_wanted =
        mb->acknowledge && args->verdict.may_autoreply &&
        (!conf->limiter || hd_loop_limiter_allow(conf->limiter, m->from.addr, now_ms));
    /* The new-ticket request: subject and body made acceptable rather than refused. */
    Helpdesk__V1__CreateTicketRequest *req = &args->req;
    helpdesk__v1__create_ticket_request__init(req);
    size_t body_max = conf->tickets.body_max ? conf->tickets.body_max : HD_TICKETS_BODY_MAX_DEFAULT;
    const char *subject = *m->subject ? m->subject : "(no subject)";
    if (hd_validate_utf8_chars(subject, strlen(subject)) > HD_TICKETS_SUBJECT_MAX)
        subject = utf8_cut(a, subject, HD_TICKETS_SUBJECT_MAX); /* bytes <= chars bound */
    const char *body = *m->text ? m->text : "(empty message)";
    req->subject = (char *)subject;
    req->body = (char *)utf8_cut(a, body, body_max);
    req->customer_email = (char *)m->from.addr;
    req->customer_name = (char *)m->from.name;
    req->priority = mb->priority;
    req->channel = HELPDESK__V1__CHANNEL__CHANNEL_EMAIL;
    req->category = mb->category;
    hd_tickets_actor actor = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM, 0};
    rc = hd_tickets_create_prepare(&args->create, a, req, &conf->tickets, &actor, &perr);
    if (rc == HD_ENOMEM)
        return hd_err_set(err, HD_ENOMEM, "%s", perr.detail);
    args->create_ready = rc == 0;
    if (rc < 0)
        args->create_error = hd_arena_strdup(a, perr.detail);
    args->create.now_ms = now_ms;
    return HD_OK;
}

int hd_ingest_seen(hd_txn *txn, uint64_t mailbox_id, uint32_t uid_validity, uint32_t uid,
                   hd_err *err)
{
    hd_key k;
    const void *v;
    size_t n;
    int rc = hd_store_get(txn, HD_STORE_MAILSTATE,
                          hd_mailkey_ingest(&k, mailbox_id, uid_validity, uid), &v, &n, err);
    return rc == HD_ENOTFOUND ? 0 : rc < 0 ? rc : 1;
}

/* Our own mailbox addresses never become participants. */
static bool is_ours(const hd_ingest_args *args, const char *addr)
{
    const char *own = args->mb->from_address;
    if (!*own)
        return false;
    const char *at = strchr(own, '@');
    const char *aat = strrchr(addr, '@');
    if (!at || !aat || strcasecmp(at, aat) != 0)
        return false;
    size_t ln = (size_t)(at - own);
    return strncasecmp(addr, own, ln) == 0 && (addr[ln] == '@' || addr[ln] == '+');
}

static int add_participants(hd_txn *txn, const hd_ingest_args *args, uint64_t tid, hd_err *err)
{
    const hd_mime_msg *m = args->m;
    int rc = HD_OK;
    if (!is_ours(args, m->from.addr))
        rc = hd_thread_add_participant(txn, tid, m->from.addr, err);
    for (size_t i = 0; rc == 0 && i < m->n_to + m->n_cc; i++) {
        const char *addr = i < m->n_to ? m->to[i].addr : m->cc[i - m->n_to].addr;
        if (*addr && !is_ours(args, addr) && hd_validate_email(addr, strlen(addr)))
            rc = hd_thread_add_participant(txn, tid, addr, err);
    }
    return rc;
}

static int first_message_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    hd_key_reader r;
    uint64_t tid;
    hd_key_reader_init(&r, key, klen);
    if (hd_key_read_u64(&r, &tid, NULL) < 0 || hd_key_read_u64(&r, arg, NULL) < 0)
        return HD_ECORRUPT;
    return 1;
}

/* The id of ticket tid's first message (a ticket this mail just created holds only that). */
static int first_message(hd_txn *txn, uint64_t tid, uint64_t *mid, hd_err *err)
{
    hd_key prefix;
    hd_store_range r = {.prefix = hd_tickets_key_id(&prefix, tid), .limit = 1};
    int64_t n = hd_store_scan(txn, HD_STORE_MESSAGES, &r, first_message_cb, mid, err);
    if (n == HD_ECORRUPT)
        return hd_err_set(err, HD_ECORRUPT, "ticket %" PRIu64 ": unreadable message key", tid);
    return n < 0 ? (int)n : HD_OK;
}

/* Lists the kept attachments on message mid of ticket tid (Message.attachments), so staff
 * see them and may send them on by hash. */
static int list_on_message(hd_txn *txn, const hd_ingest_args *args, uint64_t tid, uint64_t mid,
                           hd_err *err)
{
    const hd_mime_msg *m = args->m;
    hd_key k;
    ProtobufCMessage *pm = NULL;
    int rc = hd_store_get_msg(txn, HD_STORE_MESSAGES, hd_tickets_key_child(&k, tid, mid),
                              &helpdesk__v1__message__descriptor, args->arena, &pm, err);
    if (rc < 0)
        return rc;
    Helpdesk__V1__Message *msg = (Helpdesk__V1__Message *)pm;
    msg->attachments = hd_arena_calloc(args->arena, m->n_attachments, sizeof *msg->attachments);
    if (!msg->attachments)
        return hd_err_set(err, HD_ENOMEM, "ingest: out of memory");
    for (size_t i = 0; i < m->n_attachments; i++) {
        Helpdesk__V1__Attachment *at = hd_arena_calloc(args->arena, 1, sizeof *at);
        if (!at)
            return hd_err_set(err, HD_ENOMEM, "ingest: out of memory");
        helpdesk__v1__attachment__init(at);
        at->sha256 = (char *)m->attachments[i].sha256;
        at->filename = (char *)m->attachments[i].filename;
        at->content_type = (char *)m->attachments[i].content_type;
        at->size = m->attachments[i].size;
        msg->attachments[msg->n_attachments++] = at;
    }
    return hd_store_put_msg(txn, HD_STORE_MESSAGES, hd_tickets_key_child(&k, tid, mid), &msg->base,
                            0, err);
}

/* The full text (with quoted history) and attachments of message mid (0: the ticket's first
 * message) on ticket tid. */
static int keep_content(hd_txn *txn, const hd_ingest_args *args, uint64_t tid, uint64_t mid,
                        hd_err *err)
{
    const hd_mime_msg *m = args->m;
    hd_key k;
    int rc;
    if (!mid) {
        rc = first_message(txn, tid, &mid, err);
        if (rc < 0)
            return rc;
    }
    if (strcmp(m->text, m->new_text) != 0) {
        rc = hd_store_put(txn, HD_STORE_MAILSTATE, hd_mailkey_original(&k, tid, mid), m->text,
                          strlen(m->text), 0, err);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < m->n_attachments; i++) {
        const hd_mime_attachment *at = &m->attachments[i];
        rc = hd_store_put(txn, HD_STORE_MAILSTATE, hd_mailkey_blob(&k, at->sha256), at->data,
                          at->size, HD_STORE_NOOVERWRITE, err);
        if (rc < 0 && rc != HD_EEXIST)
            return rc;
        Helpdesk__V1__MailAttachment ma = HELPDESK__V1__MAIL_ATTACHMENT__INIT;
        ma.filename = (char *)at->filename;
        ma.content_type = (char *)at->content_type;
        ma.sha256 = (char *)at->sha256;
        ma.size = at->size;
        rc = hd_store_put_msg(txn, HD_STORE_MAILSTATE,
                              hd_mailkey_attachment(&k, tid, mid, (uint32_t)i), &ma.base, 0, err);
        if (rc < 0)
            return rc;
    }
    return m->n_attachments && mid ? list_on_message(txn, args, tid, mid, err) : HD_OK;
}

/* Remembers that ticket tid's latest customer mail came through mailbox mb: replies to the
 * ticket go out from that mailbox (its From, SMTP relay and reply token address). */
static int note_mailbox(hd_txn *txn, uint64_t mb, uint64_t tid, hd_err *err)
{
    hd_key k;
    unsigned char v[8];
    for (int i = 0; i < 8; i++)
        v[i] = (unsigned char)(mb >> (56 - 8 * i));
    return hd_store_put(txn, HD_STORE_MAILSTATE, hd_mailkey_ticket_mailbox(&k, tid), v, sizeof v, 0,
                        err);
}

/* Appends the events of a nested mutation to ours, for publishing once durable. */
static int committed_add(hd_tickets_committed *dst, const hd_tickets_committed *src, hd_err *err)
{
    for (size_t i = 0; i < src->n; i++) {
        if (dst->n == HD_TICKETS_COMMITTED_MAX)
            return hd_err_set(err, HD_EFULL, "ingest: too many events in one change");
        dst->events[dst->n] = src->events[i];
        dst->before[dst->n] = src->before[i];
        dst->after[dst->n] = src->after[i];
        dst->n++;
    }
    return HD_OK;
}

/* Adds the customer's new text to ticket tid through the ticket domain's customer-message
 * mutation: it reopens a pending or solved ticket, follows a merge, reopens a closed ticket
 * within the mailbox's reopen grace (args->reopened) and otherwise opens a linked follow-up
 * on a closed one (then *follow_up is that new ticket). */
static int append(hd_txn *txn, hd_ingest_args *args, uint64_t tid, uint64_t *mid,
                  const Helpdesk__V1__Ticket **follow_up, hd_err *err)
{
    hd_tickets_reply_args *ra = hd_arena_calloc(args->arena, 1, sizeof *ra);
    if (!ra)
        return hd_err_set(err, HD_ENOMEM, "ingest: out of memory");
    size_t body_max =
        args->conf->tickets.body_max ? args->conf->tickets.body_max : HD_TICKETS_BODY_MAX_DEFAULT;
    const char *body = *args->m->new_text ? args->m->new_text : "(empty message)";
    hd_tickets_actor actor = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM, 0};
    int rc = hd_tickets_customer_message_prepare(
        ra, args->arena, tid, utf8_cut(args->arena, body, body_max), body_max, &actor, err);
    if (rc < 0)
        return rc;
    ra->channel = HELPDESK__V1__CHANNEL__CHANNEL_EMAIL;
    ra->now_ms = args->now_ms;
    ra->reopen_grace_s = args->mb->reopen_grace_seconds;
    rc = hd_tickets_reply_apply(txn, ra, err);
    if (rc < 0)
        return rc;
    args->reopened = ra->reopened;
    rc = committed_add(&args->committed, &ra->committed, err);
    if (rc < 0)
        return rc;
    *mid = ra->message ? ra->message->id : 0;
    *follow_up = ra->follow_up;
    return HD_OK;
}

static char *render_ack(hd_arena *a, const char *tpl, const char *number, const char *subject)
{
    const char *t = tpl && *tpl ? tpl : ACK_DEFAULT;
    char *out = hd_arena_strdup(a, "");
    while (out && *t) {
        const char *n = strstr(t, "{{number}}");
        const char *s = strstr(t, "{{subject}}");
        const char *next = n && (!s || n < s) ? n : s;
        if (!next)
            return hd_arena_printf(a, "%s%s", out, t);
        bool is_num = next == n;
        out = hd_arena_printf(a, "%s%.*s%s", out, (int)(next - t), t, is_num ? number : subject);
        t = next + (is_num ? 10 : 11);
    }
    return out;
}

static int enqueue_ack(hd_txn *txn, hd_ingest_args *args, const Helpdesk__V1__Ticket *t,
                       hd_err *err)
{
    hd_arena *a = args->arena;
    char num[24];
    Helpdesk__V1__OutboxMessage *m = hd_arena_calloc(a, 1, sizeof *m);
    char **to = hd_arena_calloc(a, 1, sizeof *to);
    if (!m || !to)
        return hd_err_set(err, HD_ENOMEM, "ingest: out of memory");
    helpdesk__v1__outbox_message__init(m);
    hd_tickets_number(num, sizeof num, t->id);
    to[0] = (char *)args->m->from.addr;
    m->kind = HELPDESK__V1__OUTBOX_KIND__OUTBOX_KIND_ACK;
    m->ticket_id = t->id;
    m->mailbox_id = args->mb->id;
    m->to = to;
    m->n_to = 1;
    m->subject = t->subject;
    m->ticket_number = hd_arena_strdup(a, num);
    m->body_text = render_ack(a, args->mb->ack_template, num, t->subject);
    if (!m->body_text || !m->ticket_number)
        return hd_err_set(err, HD_ENOMEM, "ingest: out of memory");
    return hd_outbox_enqueue(txn, a, args->conf->thread, m, args->now_ms, err);
}

static int write_record(hd_txn *txn, hd_ingest_args *args, const char *reason, hd_err *err)
{
    hd_key k;
    Helpdesk__V1__IngestRecord r = HELPDESK__V1__INGEST_RECORD__INIT;
    r.mailbox_id = args->mb->id;
    r.uid_validity = args->uid_validity;
    r.uid = args->uid;
    r.message_id = args->m ? (char *)args->m->message_id : empty_str;
    r.outcome = args->outcome;
    r.ticket_id = args->ticket_id;
    r.reason = reason ? (char *)reason : empty_str;
    r.time = hd_tickets_ts_new(args->arena, args->now_ms);
    int rc = hd_store_put_msg(txn, HD_STORE_MAILSTATE,
                              hd_mailkey_ingest(&k, args->mb->id, args->uid_validity, args->uid),
                              &r.base, 0, err);
    if (rc < 0)
        return rc;
    /* Counters of the mailbox's fetch state (last_uid moves at the end of a poll round). */
    Helpdesk__V1__MailboxState *st = NULL;
    ProtobufCMessage *pm = NULL;
    Helpdesk__V1__MailboxState fresh = HELPDESK__V1__MAILBOX_STATE__INIT;
    rc = hd_store_get_msg(txn, HD_STORE_MAILSTATE, hd_mailkey_state(&k, args->mb->id),
                          &helpdesk__v1__mailbox_state__descriptor, args->arena, &pm, err);
    if (rc == HD_ENOTFOUND) {
        st = &fresh;
        st->mailbox_id = args->mb->id;
    } else if (rc < 0) {
        return rc;
    } else {
        st = (Helpdesk__V1__MailboxState *)pm;
    }
    if (args->outcome == HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_REJECTED)
        st->messages_rejected++;
    else
        st->messages_ingested++;
    return hd_store_put_msg(txn, HD_STORE_MAILSTATE, hd_mailkey_state(&k, args->mb->id), &st->base,
                            0, err);
}

static int bounce(hd_txn *txn, hd_ingest_args *args, hd_err *err)
{
    const hd_mime_msg *m = args->m;
    uint64_t tid = 0;
    int rc;
    args->outcome = HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_BOUNCE;
    if (!hd_thread_own_msgid_parse(args->conf->thread, m->dsn_original_message_id, &tid)) {
        rc = hd_thread_msgid_lookup(txn, m->dsn_original_message_id, &tid, err);
        if (rc < 0)
            return rc;
    }
    args->ticket_id = tid;
    bool permanent = m->dsn_status[0] == '5';
    if (permanent && *m->dsn_recipient &&
        hd_validate_email(m->dsn_recipient, strlen(m->dsn_recipient))) {
        Helpdesk__V1__UndeliverableAddress u = HELPDESK__V1__UNDELIVERABLE_ADDRESS__INIT;
        u.address = (char *)m->dsn_recipient;
        u.status = (char *)m->dsn_status;
        u.reason = (char *)m->dsn_diagnostic;
        u.ticket_id = tid;
        rc = hd_undeliverable_mark(txn, args->arena, &u, args->now_ms, &args->committed, err);
        if (rc < 0)
            return rc;
    }
    return write_record(txn, args, m->dsn_status, err);
}

static int create_ticket(hd_txn *txn, hd_ingest_args *args, uint64_t *tid, uint64_t *mid,
                         hd_err *err)
{
    if (!args->create_ready)
        return hd_err_set(err, HD_EINVAL, "ingest: %s",
                          args->create_error ? args->create_error : "?");
    int rc = hd_tickets_create_apply(txn, &args->create, err);
    if (rc < 0)
        return rc;
    rc = committed_add(&args->committed, &args->create.committed, err);
    if (rc < 0)
        return rc;
    *tid = args->create.ticket->id;
    /* The first message's id: the newest MESSAGES entry of the ticket. */
    *mid = 0;
    return HD_OK;
}

int hd_ingest_apply(hd_txn *txn, void *arg, hd_err *err)
{
    hd_ingest_args *args = arg;
    const hd_mime_msg *m = args->m;
    uint64_t tid = 0, mid = 0, found = 0;
    int rc;
    args->outcome = HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_UNSPECIFIED;
    args->ticket_id = 0;
    args->via = HD_THREAD_NONE;
    args->replayed = args->acked = args->follow_up = args->reopened = false;
    hd_tickets_committed_reset(&args->committed);

    /* 1. This UID was committed before (re-fetch, restart, crash before the flag change). */
    hd_key k;
    ProtobufCMessage *pm = NULL;
    rc = hd_store_get_msg(txn, HD_STORE_MAILSTATE,
                          hd_mailkey_ingest(&k, args->mb->id, args->uid_validity, args->uid),
                          &helpdesk__v1__ingest_record__descriptor, args->arena, &pm, err);
    if (rc == 0) {
        Helpdesk__V1__IngestRecord *r = (Helpdesk__V1__IngestRecord *)pm;
        args->outcome = r->outcome;
        args->ticket_id = r->ticket_id;
        args->replayed = true;
        return HD_OK;
    }
    if (rc != HD_ENOTFOUND)
        return rc;
    /* 2. Rejected before parsing (too large, unparseable, no sender). */
    if (args->reject_reason) {
        args->outcome = HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_REJECTED;
        return write_record(txn, args, args->reject_reason, err);
    }
    /* 3. Our own mail came back. */
    if (args->verdict.kind == HD_LOOP_OWN) {
        args->outcome = HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_LOOP;
        return write_record(txn, args, args->verdict.reason, err);
    }
    /* 4. Same Message-ID seen before (another UID, folder or UIDVALIDITY). */
    rc = hd_thread_msgid_lookup(txn, m->message_id, &found, err);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        args->outcome = HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_DUPLICATE;
        args->ticket_id = found;
        return write_record(txn, args, "Message-ID already ingested", err);
    }
    /* 5. Bounces. */
    if (args->verdict.kind == HD_LOOP_BOUNCE)
        return bounce(txn, args, err);
    /* 6. Thread to an existing ticket, or create one. */
    rc = hd_thread_resolve(txn, args->arena, args->conf->thread, m, &tid, &args->via, err);
    if (rc < 0)
        return rc;
    if (tid) {
        const Helpdesk__V1__Ticket *fu = NULL;
        rc = append(txn, args, tid, &mid, &fu, err);
        if (rc < 0)
            return rc;
        args->outcome = HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_APPENDED;
        if (fu) {
            tid = fu->id; /* closed: the message opened a linked follow-up */
            args->follow_up = true;
            args->outcome = HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_NEW_TICKET;
            if (args->ack_wanted) {
                rc = enqueue_ack(txn, args, fu, err);
                if (rc < 0)
                    return rc;
                args->acked = true;
            }
        }
    } else {
        rc = create_ticket(txn, args, &tid, &mid, err);
        if (rc < 0)
            return rc;
        args->outcome = HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_NEW_TICKET;
        if (args->ack_wanted) {
            rc = enqueue_ack(txn, args, args->create.ticket, err);
            if (rc < 0)
                return rc;
            args->acked = true;
        }
    }
    args->ticket_id = tid;
    /* Mail from a marked address: its mailbox exists again, so replies go to it again. */
    rc = hd_undeliverable_get(txn, args->arena, m->from.addr, NULL, err);
    if (rc == 1)
        rc = hd_undeliverable_clear(txn, args->arena, m->from.addr, "new mail from the address",
                                    NULL, args->now_ms, &args->committed, NULL, err);
    if (rc < 0)
        return rc;
    rc = hd_thread_index(txn, tid, m->message_id, err);
    if (rc < 0)
        return rc;
    rc = note_mailbox(txn, args->mb->id, tid, err);
    if (rc < 0)
        return rc;
    rc = add_participants(txn, args, tid, err);
    if (rc < 0)
        return rc;
    rc = keep_content(txn, args, tid, mid, err);
    if (rc < 0)
        return rc;
    return write_record(txn, args, hd_thread_via_name(args->via), err);
}

typedef struct state_args {
    uint64_t mailbox_id;
    uint32_t uid_validity;
    uint32_t last_uid;
    const char *error;
    int64_t now_ms;
    hd_arena *a;
} state_args;

static int state_apply(hd_txn *txn, void *arg, hd_err *err)
{
    state_args *s = arg;
    hd_key k;
    ProtobufCMessage *pm = NULL;
    Helpdesk__V1__MailboxState fresh = HELPDESK__V1__MAILBOX_STATE__INIT;
    Helpdesk__V1__MailboxState *st = &fresh;
    int rc = hd_store_get_msg(txn, HD_STORE_MAILSTATE, hd_mailkey_state(&k, s->mailbox_id),
                              &helpdesk__v1__mailbox_state__descriptor, s->a, &pm, err);
    if (rc == 0)
        st = (Helpdesk__V1__MailboxState *)pm;
    else if (rc != HD_ENOTFOUND)
        return rc;
    st->mailbox_id = s->mailbox_id;
    if (st->uid_validity != s->uid_validity) {
        st->uid_validity = s->uid_validity;
        st->last_uid = 0;
    }
    if (s->last_uid > st->last_uid)
        st->last_uid = s->last_uid;
    st->last_poll_time = hd_tickets_ts_new(s->a, s->now_ms);
    st->last_error = (char *)(s->error ? s->error : "");
    return hd_store_put_msg(txn, HD_STORE_MAILSTATE, hd_mailkey_state(&k, s->mailbox_id), &st->base,
                            0, err);
}

int hd_ingest_state_commit(hd_store *s, uint64_t mailbox_id, uint32_t uid_validity,
                           uint32_t last_uid, const char *error, int64_t now_ms, hd_err *err)
{
    hd_arena *a = hd_arena_create(0);
    if (!a)
        return hd_err_set(err, HD_ENOMEM, "ingest: out of memory");
    state_args sa = {mailbox_id, uid_validity, last_uid, error, now_ms, a};
    int rc = hd_store_write(s, state_apply, &sa, err);
    hd_arena_destroy(a);
    return rc;
}
