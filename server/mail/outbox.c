/* Outgoing mail queue and delivery worker (see outbox.h). */
#include "server/mail/outbox.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "helpdesk/v1/customers.pb-c.h"
#include "server/clock/clock.h"
#include "server/common/log.h"
#include "server/mail/blob.h"
#include "server/mail/compose.h"
#include "server/mail/keys.h"
#include "server/mail/mailbox.h"
#include "server/mail/smtp.h"
#include "server/mail/undeliverable.h"
#include "server/tickets/change.h"
#include "server/tickets/outbox_hook.h"
#include "server/tickets/tickets.h"
#include "server/validate/validate.h"

#define REFERENCES_MAX 20

static char empty_str[1];

static bool addr_ok(const char *s)
{
    return s && hd_validate_email(s, strlen(s));
}

int hd_outbox_enqueue(hd_txn *txn, hd_arena *a, const hd_thread_conf *tc,
                      Helpdesk__V1__OutboxMessage *m, int64_t now_ms, hd_err *err)
{
    hd_key k;
    int rc;
    if (m->n_to + m->n_cc == 0)
        return hd_err_set(err, HD_EINVAL, "outbox: no recipients");
    for (size_t i = 0; i < m->n_to; i++)
        if (!addr_ok(m->to[i]))
            return hd_err_set(err, HD_EINVAL, "outbox: to[%zu]: not a valid address", i);
    for (size_t i = 0; i < m->n_cc; i++)
        if (!addr_ok(m->cc[i]))
            return hd_err_set(err, HD_EINVAL, "outbox: cc[%zu]: not a valid address", i);
    if (!hd_validate_single_line(m->subject, strlen(m->subject)))
        return hd_err_set(err, HD_EINVAL, "outbox: subject: contains CR or LF");
    rc = hd_store_seq_next(txn, HD_MAILKEY_SEQ_OUTBOX, &m->id, err);
    if (rc < 0)
        return rc;
    char id[HD_THREAD_ID_MAX];
    rc = hd_thread_own_msgid(id, sizeof id, tc, m->ticket_id, m->id);
    if (rc < 0)
        return hd_err_set(err, rc, "outbox: Message-ID too long");
    m->rfc_message_id = hd_arena_strdup(a, id);
    if (m->ticket_id) {
        const char **ids = NULL;
        size_t n = 0;
        rc = hd_thread_ids(txn, a, m->ticket_id, REFERENCES_MAX, &ids, &n, err);
        if (rc < 0)
            return rc;
        m->references = (char **)ids;
        m->n_references = n;
        m->in_reply_to = n ? (char *)ids[n - 1] : empty_str;
        rc = hd_thread_index(txn, m->ticket_id, m->rfc_message_id, err);
        if (rc < 0)
            return rc;
    }
    m->state = HELPDESK__V1__OUTBOX_STATE__OUTBOX_STATE_PENDING;
    m->attempts = 0;
    m->create_time = hd_tickets_ts_new(a, now_ms);
    m->next_attempt_time = hd_tickets_ts_new(a, now_ms);
    if (!m->rfc_message_id || !m->create_time || !m->next_attempt_time)
        return hd_err_set(err, HD_ENOMEM, "outbox: out of memory");
    return hd_store_put_msg(txn, HD_STORE_OUTBOX, hd_mailkey_outbox(&k, m->id), &m->base,
                            HD_STORE_NOOVERWRITE, err);
}

/* ---- Ticket observer ------------------------------------------------------------------ */

typedef struct part_acc {
    hd_arena *a;
    const char *skip;
    char **v;
    size_t n, cap;
} part_acc;

static int part_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    part_acc *p = arg;
    uint64_t tid;
    char *addr = NULL;
    if (hd_mailkey_participant_read(key, klen, p->a, &tid, &addr) < 0)
        return HD_ECORRUPT;
    if (strcasecmp(addr, p->skip) == 0 || p->n == p->cap)
        return 0;
    p->v[p->n++] = addr;
    return 0;
}

static int undeliverable(hd_txn *txn, hd_arena *a, const char *addr, hd_err *err)
{
    return hd_undeliverable_get(txn, a, addr, NULL, err);
}

int hd_outbox_check_attachments(void *ud, hd_txn *txn, Helpdesk__V1__Attachment **v, size_t n,
                                hd_err *err)
{
    uint64_t total = 0;
    (void)ud;
    if (n > HD_OUTBOX_ATTACH_COUNT_MAX)
        return hd_err_set(err, HD_EINVAL, "attachments: at most %d", HD_OUTBOX_ATTACH_COUNT_MAX);
    for (size_t i = 0; i < n; i++) {
        const void *data;
        size_t len;
        hd_err gerr;
        int rc = hd_blob_get(txn, v[i]->sha256, &data, &len, &gerr);
        if (rc == HD_ENOTFOUND || rc == HD_EINVAL)
            return hd_err_set(err, HD_EINVAL,
                              "attachments[%zu].sha256: no uploaded content with this hash "
                              "(MailService/UploadAttachment)",
                              i);
        if (rc < 0)
            return hd_err_set(err, rc, "%s", gerr.detail);
        v[i]->size = len;
        total += len;
        if (total > HD_OUTBOX_ATTACH_TOTAL_MAX)
            return hd_err_set(err, HD_EINVAL, "attachments: more than %u bytes in all",
                              HD_OUTBOX_ATTACH_TOTAL_MAX);
    }
    return HD_OK;
}

/* Checks the staff reply's attachment references against the content store, fills their
 * sizes (in the message the reply mutation is about to store) and copies them into m. */
static int reply_attachments(hd_txn *txn, hd_arena *a, const Helpdesk__V1__Message *msg,
                             Helpdesk__V1__OutboxMessage *m, hd_err *err)
{
    if (!msg->n_attachments)
        return HD_OK;
    int rc = hd_outbox_check_attachments(NULL, txn, msg->attachments, msg->n_attachments, err);
    if (rc < 0)
        return rc;
    m->attachments = hd_arena_calloc(a, msg->n_attachments, sizeof *m->attachments);
    if (!m->attachments)
        return hd_err_set(err, HD_ENOMEM, "outbox: out of memory");
    for (size_t i = 0; i < msg->n_attachments; i++) {
        const Helpdesk__V1__Attachment *at = msg->attachments[i];
        Helpdesk__V1__MailAttachment *ma = hd_arena_calloc(a, 1, sizeof *ma);
        if (!ma)
            return hd_err_set(err, HD_ENOMEM, "outbox: out of memory");
        helpdesk__v1__mail_attachment__init(ma);
        ma->filename = at->filename;
        ma->content_type = at->content_type;
        ma->sha256 = at->sha256;
        ma->size = at->size;
        m->attachments[m->n_attachments++] = ma;
    }
    return HD_OK;
}

int hd_outbox_reply_hook(void *ud, hd_txn *txn, hd_arena *a, const Helpdesk__V1__Ticket *t,
                         const Helpdesk__V1__Message *msg, int64_t now_ms, hd_err *err)
{
    const hd_thread_conf *tc = ud;
    hd_key k;
    if (!msg || !t || t->channel != HELPDESK__V1__CHANNEL__CHANNEL_EMAIL)
        return HD_OK;
    ProtobufCMessage *pm = NULL;
    int rc = hd_store_get_msg(txn, HD_STORE_CUSTOMERS, hd_tickets_key_id(&k, t->customer_id),
                              &helpdesk__v1__customer__descriptor, a, &pm, err);
    if (rc == HD_ENOTFOUND)
        return HD_OK;
    if (rc < 0)
        return rc;
    Helpdesk__V1__Customer *cu = (Helpdesk__V1__Customer *)pm;
    Helpdesk__V1__OutboxMessage *m = hd_arena_calloc(a, 1, sizeof *m);
    char **to = hd_arena_calloc(a, 1, sizeof *to);
    part_acc pa = {a, cu->email, hd_arena_calloc(a, 16, sizeof(char *)), 0, 16};
    char num[24];
    if (!m || !to || !pa.v)
        return hd_err_set(err, HD_ENOMEM, "outbox: out of memory");
    helpdesk__v1__outbox_message__init(m);
    rc = reply_attachments(txn, a, msg, m, err);
    if (rc < 0)
        return rc;
    hd_key prefix;
    hd_key_init(&prefix);
    hd_key_u64(hd_key_u8(&prefix, HD_MAILKEY_PARTICIPANT), t->id);
    hd_store_range r = {.prefix = &prefix};
    int64_t sc = hd_store_scan(txn, HD_STORE_MAILSTATE, &r, part_cb, &pa, err);
    if (sc < 0)
        return (int)sc;
    /* Marked addresses get nothing (the ticket shows them); the others still get the reply. */
    size_t ncc = 0;
    for (size_t i = 0; i < pa.n; i++) {
        rc = undeliverable(txn, a, pa.v[i], err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            pa.v[ncc++] = pa.v[i];
    }
    rc = undeliverable(txn, a, cu->email, err);
    if (rc < 0)
        return rc;
    size_t nto = rc == 0 ? 1 : 0;
    if (nto + ncc == 0)
        return HD_OK;
    /* From the mailbox the customer last wrote to; none recorded (e.g. a ticket opened by
     * API): the first enabled mailbox, chosen at send time. */
    const void *mbv;
    size_t mbn;
    rc = hd_store_get(txn, HD_STORE_MAILSTATE, hd_mailkey_ticket_mailbox(&k, t->id), &mbv, &mbn,
                      err);
    if (rc == 0) {
        rc = hd_tickets_read_id(mbv, mbn, &m->mailbox_id, err);
    } else if (rc == HD_ENOTFOUND) {
        hd_err_clear(err);
        rc = HD_OK;
    }
    if (rc < 0)
        return rc;
    to[0] = cu->email;
    m->kind = HELPDESK__V1__OUTBOX_KIND__OUTBOX_KIND_REPLY;
    m->ticket_id = t->id;
    m->message_id = msg->id;
    m->to = to;
    m->n_to = nto;
    m->cc = pa.v;
    m->n_cc = ncc;
    m->subject = t->subject;
    m->body_text = msg->body;
    m->ticket_number = hd_arena_strdup(a, hd_tickets_number(num, sizeof num, t->id));
    return hd_outbox_enqueue(txn, a, tc, m, now_ms, err);
}

/* ---- Delivery -------------------------------------------------------------------------- */

/* Appends the addresses of v[0..n) that are not marked undeliverable to out, counting them
 * in *kept. Returns 0 or store errors. */
static int drop_marked(hd_txn *txn, hd_arena *a, char **v, size_t n, const char **out, size_t *kept,
                       hd_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = undeliverable(txn, a, v[i], err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            out[(*kept)++] = v[i];
    }
    return HD_OK;
}

int hd_outbox_build(const hd_outbox_opts *o, hd_arena *a, const Helpdesk__V1__OutboxMessage *m,
                    hd_outbox_mail *out, bool *permanent, hd_err *err)
{
    hd_txn *txn = NULL;
    char *raw = NULL;
    size_t len = 0;
    hd_mailbox_conf mc;
    int rc;
    *permanent = false;
    memset(out, 0, sizeof *out);
    /* One snapshot for the settings, the undeliverable marks and the attachment contents
     * (borrowed from it until composition has copied them). */
    rc = hd_store_read_begin(o->store, &txn, err);
    if (rc < 0)
        goto fail;
    rc = hd_mailbox_get_conf(txn, o->mail_key, a, m->mailbox_id, &mc, err);
    if (rc == HD_ENOTFOUND && m->mailbox_id) /* the ticket's mailbox was removed since */
        rc = hd_mailbox_get_conf(txn, o->mail_key, a, 0, &mc, err);
    if (rc < 0) {
        *permanent = rc == HD_ECORRUPT;
        goto fail;
    }
    /* A bounce may have marked a recipient since the entry was queued. */
    const char **rcpt = hd_arena_calloc(a, m->n_to + m->n_cc + 1, sizeof *rcpt);
    if (!rcpt) {
        rc = hd_err_set(err, HD_ENOMEM, "outbox: out of memory");
        goto fail;
    }
    size_t nto = 0, nrcpt = 0;
    rc = drop_marked(txn, a, m->to, m->n_to, rcpt, &nto, err);
    nrcpt = nto;
    if (rc == 0)
        rc = drop_marked(txn, a, m->cc, m->n_cc, rcpt, &nrcpt, err);
    if (rc < 0)
        goto fail;
    if (nrcpt == 0) {
        *permanent = true;
        rc = hd_err_set(err, HD_EINVAL, "every recipient is marked undeliverable");
        goto fail;
    }
    char reply_to[HD_THREAD_ID_MAX] = "";
    if (m->ticket_id)
        hd_thread_reply_address(reply_to, sizeof reply_to, o->thread, mc.mb->from_address,
                                m->ticket_id);
    hd_compose_attachment *at = hd_arena_calloc(a, m->n_attachments + 1, sizeof *at);
    if (!at) {
        rc = hd_err_set(err, HD_ENOMEM, "outbox: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < m->n_attachments; i++) {
        const Helpdesk__V1__MailAttachment *ma = m->attachments[i];
        at[i] =
            (hd_compose_attachment){ma->filename, ma->content_type, ma->data.data, ma->data.len};
        if (*ma->sha256) {
            rc = hd_blob_get(txn, ma->sha256, &at[i].data, &at[i].size, err);
            if (rc < 0) {
                *permanent = rc == HD_ENOTFOUND || rc == HD_EINVAL;
                goto fail;
            }
        }
    }
    const char *auto_sub = m->kind == HELPDESK__V1__OUTBOX_KIND__OUTBOX_KIND_ACK ? "auto-replied"
                           : m->kind == HELPDESK__V1__OUTBOX_KIND__OUTBOX_KIND_NOTIFICATION
                               ? "auto-generated"
                               : NULL;
    hd_compose_msg cm = {
        .from_addr = mc.mb->from_address,
        .from_name = mc.mb->from_name,
        .to = rcpt,
        .n_to = nto,
        .cc = rcpt + nto,
        .n_cc = nrcpt - nto,
        .reply_to = *reply_to ? reply_to : NULL,
        .subject = m->subject,
        .ticket_tag = m->ticket_number,
        .message_id = m->rfc_message_id,
        .in_reply_to = m->in_reply_to,
        .references = (const char *const *)m->references,
        .n_references = m->n_references,
        .auto_submitted = auto_sub,
        .loop_marker = o->thread->msgid_domain,
        .text = m->body_text,
        .html = m->body_html,
        .attachments = at,
        .n_attachments = m->n_attachments,
        .date_unix = hd_clock_now_ms() / 1000,
    };
    rc = hd_compose(&raw, &len, &cm, err);
    if (rc < 0) {
        *permanent = true;
        goto fail;
    }
    out->raw = hd_arena_alloc(a, len + 1);
    if (!out->raw) {
        rc = hd_err_set(err, HD_ENOMEM, "outbox: out of memory");
        goto fail;
    }
    memcpy(out->raw, raw, len + 1);
    out->len = len;
    out->from = mc.mb->from_address;
    out->rcpt = rcpt;
    out->n_rcpt = nrcpt;
    out->smtp = (hd_smtp_conf){.url = mc.mb->smtp_url,
                               .username = mc.mb->smtp_username,
                               .password = mc.mb->smtp_password,
                               .tls = mc.mb->tls,
                               .ca_file = o->smtp_ca_file};
fail:
    if (txn)
        hd_store_read_end(txn);
    free(raw);
    return rc;
}

/* Default sender: compose with GMime, send with the entry's mailbox SMTP settings. */
static int default_send(const hd_outbox_opts *o, const Helpdesk__V1__OutboxMessage *m,
                        bool *permanent, hd_err *err)
{
    hd_arena *a = hd_arena_create(0);
    hd_outbox_mail om;
    *permanent = false;
    if (!a)
        return hd_err_set(err, HD_ENOMEM, "outbox: out of memory");
    int rc = hd_outbox_build(o, a, m, &om, permanent, err);
    if (rc == 0) {
        hd_smtp_result res;
        rc = hd_smtp_send(&om.smtp, om.from, om.rcpt, om.n_rcpt, om.raw, om.len, &res, err);
        if (rc < 0)
            *permanent = res.permanent || rc == HD_EINVAL;
    }
    hd_arena_destroy(a);
    return rc;
}

typedef struct due_acc {
    hd_arena *a;
    int64_t now_ms;
    Helpdesk__V1__OutboxMessage **v;
    size_t n, cap;
} due_acc;

static int due_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    due_acc *d = arg;
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(d->a, &pa);
    Helpdesk__V1__OutboxMessage *m = helpdesk__v1__outbox_message__unpack(&pa, vlen, val);
    if (!m)
        return 0; /* unreadable entries are left for an operator; never block the queue */
    if (m->state != HELPDESK__V1__OUTBOX_STATE__OUTBOX_STATE_PENDING ||
        hd_tickets_ts_ms(m->next_attempt_time) > d->now_ms)
        return 0;
    d->v[d->n++] = m;
    return d->n == d->cap ? 1 : 0;
}

typedef struct result_args {
    uint64_t id;
    uint32_t attempts_before; /* the attempt this result is for */
    int code;
    bool permanent;
    const char *error;
    int64_t now_ms;
    const hd_outbox_opts *opts;
    hd_arena *a;
} result_args;

static int result_apply(hd_txn *txn, void *arg, hd_err *err)
{
    result_args *r = arg;
    hd_key k;
    ProtobufCMessage *pm = NULL;
    int rc = hd_store_get_msg(txn, HD_STORE_OUTBOX, hd_mailkey_outbox(&k, r->id),
                              &helpdesk__v1__outbox_message__descriptor, r->a, &pm, err);
    if (rc == HD_ENOTFOUND)
        return HD_OK;
    if (rc < 0)
        return rc;
    Helpdesk__V1__OutboxMessage *m = (Helpdesk__V1__OutboxMessage *)pm;
    if (m->attempts != r->attempts_before)
        return HD_OK; /* an admin retry or another pass got there first */
    if (r->code == 0)
        return hd_store_del(txn, HD_STORE_OUTBOX, hd_mailkey_outbox(&k, r->id), err);
    m->attempts++;
    m->last_error = hd_arena_strdup(r->a, r->error);
    unsigned max = r->opts->max_attempts ? r->opts->max_attempts : HD_OUTBOX_MAX_ATTEMPTS;
    if (r->permanent || m->attempts >= max) {
        m->state = HELPDESK__V1__OUTBOX_STATE__OUTBOX_STATE_DEAD;
    } else {
        int64_t base =
            r->opts->backoff_base_ms ? r->opts->backoff_base_ms : HD_OUTBOX_BACKOFF_BASE_MS;
        int64_t cap = r->opts->backoff_max_ms ? r->opts->backoff_max_ms : HD_OUTBOX_BACKOFF_MAX_MS;
        int64_t delay = base;
        for (uint32_t i = 1; i < m->attempts && delay < cap; i++)
            delay *= 2;
        if (delay > cap)
            delay = cap;
        m->next_attempt_time = hd_tickets_ts_new(r->a, r->now_ms + delay);
    }
    return hd_store_put_msg(txn, HD_STORE_OUTBOX, hd_mailkey_outbox(&k, r->id), &m->base, 0, err);
}

#define RUN_BATCH 64

int hd_outbox_run_once(const hd_outbox_opts *opts, int64_t now_ms, unsigned *attempted,
                       unsigned *sent, hd_err *err)
{
    hd_arena *a = hd_arena_create(0);
    hd_txn *txn = NULL;
    int rc = HD_OK;
    unsigned n_att = 0, n_sent = 0;
    if (!a)
        return hd_err_set(err, HD_ENOMEM, "outbox: out of memory");
    due_acc d = {a, now_ms, hd_arena_calloc(a, RUN_BATCH, sizeof(void *)), 0, RUN_BATCH};
    if (!d.v) {
        rc = hd_err_set(err, HD_ENOMEM, "outbox: out of memory");
        goto fail;
    }
    rc = hd_store_read_begin(opts->store, &txn, err);
    if (rc < 0)
        goto fail;
    int64_t sc = hd_store_scan(txn, HD_STORE_OUTBOX, &(hd_store_range){0}, due_cb, &d, err);
    hd_store_read_end(txn);
    if (sc < 0) {
        rc = (int)sc;
        goto fail;
    }
    for (size_t i = 0; i < d.n; i++) {
        Helpdesk__V1__OutboxMessage *m = d.v[i];
        bool permanent = false;
        hd_err serr;
        hd_err_clear(&serr);
        int src = opts->send ? opts->send(opts->send_ud, m, &permanent, &serr)
                             : default_send(opts, m, &permanent, &serr);
        n_att++;
        result_args r = {m->id, m->attempts, src, permanent, serr.detail, now_ms, opts, a};
        if (src == 0) {
            n_sent++;
            hd_log(HD_LOG_INFO, "mail.sent",
                   "outbox_id=%" PRIu64 " ticket=%" PRIu64 " message_id=%s", m->id, m->ticket_id,
                   m->rfc_message_id);
        } else {
            char q[300];
            hd_log(HD_LOG_WARN, "mail.send_failed",
                   "outbox_id=%" PRIu64 " attempt=%u permanent=%d error=%s", m->id, m->attempts + 1,
                   permanent, hd_log_quote(q, sizeof q, serr.detail));
        }
        rc = hd_store_write(opts->store, result_apply, &r, err);
        if (rc < 0)
            goto fail;
    }
    rc = HD_OK;
fail:
    if (attempted)
        *attempted = n_att;
    if (sent)
        *sent = n_sent;
    hd_arena_destroy(a);
    return rc;
}

/* ---- Worker thread ---------------------------------------------------------------------- */

struct hd_outbox {
    hd_outbox_opts opts;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool kicked;
};

static void *worker(void *arg)
{
    hd_outbox *o = arg;
    pthread_mutex_lock(&o->mu);
    while (!o->stop) {
        o->kicked = false;
        pthread_mutex_unlock(&o->mu);
        hd_err err;
        unsigned att = 0;
        if (hd_outbox_run_once(&o->opts, hd_clock_now_ms(), &att, NULL, &err) < 0)
            hd_log(HD_LOG_ERROR, "mail.outbox_pass_failed", "error=\"%s\"", hd_errname(err.code));
        pthread_mutex_lock(&o->mu);
        if (o->stop || o->kicked || att == RUN_BATCH)
            continue;
        /* Wake on a kick, or once a second for entries whose backoff ran out. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&o->cv, &o->mu, &ts);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

int hd_outbox_start(hd_outbox **out, const hd_outbox_opts *opts, hd_err *err)
{
    hd_outbox *o = calloc(1, sizeof *o);
    if (!o)
        return hd_err_set(err, HD_ENOMEM, "outbox: out of memory");
    o->opts = *opts;
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    if (pthread_create(&o->thread, NULL, worker, o) != 0) {
        pthread_cond_destroy(&o->cv);
        pthread_mutex_destroy(&o->mu);
        free(o);
        return hd_err_set(err, HD_ENOMEM, "outbox: cannot start worker thread");
    }
    *out = o;
    return HD_OK;
}

void hd_outbox_kick(hd_outbox *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->mu);
    o->kicked = true;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

void hd_outbox_stop(hd_outbox *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->mu);
    o->stop = true;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
    pthread_join(o->thread, NULL);
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

/* ---- Admin: list and retry ------------------------------------------------------------ */

typedef struct list_acc {
    hd_arena *a;
    Helpdesk__V1__OutboxState state;
    Helpdesk__V1__OutboxMessage **v;
    size_t n, cap;
    uint64_t last_id;
    bool more;
} list_acc;

static int list_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    list_acc *l = arg;
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(l->a, &pa);
    Helpdesk__V1__OutboxMessage *m = helpdesk__v1__outbox_message__unpack(&pa, vlen, val);
    if (!m)
        return HD_ECORRUPT;
    bool want = l->state == HELPDESK__V1__OUTBOX_STATE__OUTBOX_STATE_UNSPECIFIED
                    ? m->state != HELPDESK__V1__OUTBOX_STATE__OUTBOX_STATE_SENT
                    : m->state == l->state;
    if (!want)
        return 0;
    if (l->n == l->cap) {
        l->more = true;
        return 1;
    }
    l->v[l->n++] = m;
    l->last_id = m->id;
    return 0;
}

int hd_outbox_list(hd_store *s, hd_arena *a, Helpdesk__V1__OutboxState state, int32_t page_size,
                   const char *page_token, Helpdesk__V1__OutboxMessage ***out, size_t *n,
                   const char **next, hd_err *err)
{
    hd_txn *txn = NULL;
    uint64_t after = 0;
    if (page_size < 0 || page_size > HD_OUTBOX_PAGE_MAX)
        return hd_err_set(err, HD_EINVAL, "page_size: 0-%d", HD_OUTBOX_PAGE_MAX);
    if (page_token && *page_token) {
        char *end = NULL;
        after = strtoull(page_token, &end, 10);
        if (!end || *end || after == 0)
            return hd_err_set(err, HD_EINVAL, "page_token: not a token from ListOutbox");
    }
    size_t cap = page_size ? (size_t)page_size : HD_OUTBOX_PAGE_DEFAULT;
    list_acc l = {a, state, hd_arena_calloc(a, cap, sizeof(void *)), 0, cap, 0, false};
    if (!l.v)
        return hd_err_set(err, HD_ENOMEM, "outbox: out of memory");
    int rc = hd_store_read_begin(s, &txn, err);
    if (rc < 0)
        return rc;
    hd_key start;
    hd_store_range r = {.start = after ? hd_mailkey_outbox(&start, after) : NULL,
                        .exclusive = after != 0};
    int64_t sc = hd_store_scan(txn, HD_STORE_OUTBOX, &r, list_cb, &l, err);
    hd_store_read_end(txn);
    if (sc < 0)
        return sc == HD_ECORRUPT ? hd_err_set(err, HD_ECORRUPT, "outbox: record does not unpack")
                                 : (int)sc;
    *out = l.v;
    *n = l.n;
    *next = l.more ? hd_arena_printf(a, "%" PRIu64, l.last_id) : "";
    return *next ? HD_OK : hd_err_set(err, HD_ENOMEM, "outbox: out of memory");
}

typedef struct retry_args {
    uint64_t id;
    int64_t now_ms;
    hd_arena *a;
    Helpdesk__V1__OutboxMessage *out;
} retry_args;

static int retry_apply(hd_txn *txn, void *arg, hd_err *err)
{
    retry_args *r = arg;
    hd_key k;
    ProtobufCMessage *pm = NULL;
    int rc = hd_store_get_msg(txn, HD_STORE_OUTBOX, hd_mailkey_outbox(&k, r->id),
                              &helpdesk__v1__outbox_message__descriptor, r->a, &pm, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "outbox %" PRIu64 ": not found (or already sent)",
                          r->id);
    if (rc < 0)
        return rc;
    Helpdesk__V1__OutboxMessage *m = (Helpdesk__V1__OutboxMessage *)pm;
    if (m->state == HELPDESK__V1__OUTBOX_STATE__OUTBOX_STATE_SENT)
        return hd_err_set(err, HD_ESTATE, "outbox %" PRIu64 ": already sent", r->id);
    m->state = HELPDESK__V1__OUTBOX_STATE__OUTBOX_STATE_PENDING;
    m->next_attempt_time = hd_tickets_ts_new(r->a, r->now_ms);
    /* A fresh series of attempts: the dead-letter threshold counts from here. */
    m->attempts = 0;
    r->out = m;
    return hd_store_put_msg(txn, HD_STORE_OUTBOX, hd_mailkey_outbox(&k, r->id), &m->base, 0, err);
}

int hd_outbox_retry(hd_store *s, hd_arena *a, uint64_t id, int64_t now_ms,
                    Helpdesk__V1__OutboxMessage **out, hd_err *err)
{
    retry_args r = {id, now_ms, a, NULL};
    int rc = hd_store_write(s, retry_apply, &r, err);
    if (rc < 0)
        return rc;
    *out = r.out;
    return HD_OK;
}
