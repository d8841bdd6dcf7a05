/* The outbox hook and its built-in writer (see outbox_hook.h). */
#include "server/tickets/outbox_hook.h"

#include <inttypes.h>

#include "helpdesk/v1/customers.pb-c.h"
#include "helpdesk/v1/mail.pb-c.h"
#include "server/tickets/change.h"

static hd_tickets_outbox_fn hook;
static void *hook_ud;

void hd_tickets_outbox_set(hd_tickets_outbox_fn fn, void *ud)
{
    hook = fn;
    hook_ud = ud;
}

static hd_tickets_attach_check_fn check;
static void *check_ud;

void hd_tickets_attach_check_set(hd_tickets_attach_check_fn fn, void *ud)
{
    check = fn;
    check_ud = ud;
}

int hd_tickets_attach_check(hd_txn *txn, Helpdesk__V1__Attachment **v, size_t n, hd_err *err)
{
    if (!check || !n)
        return 0;
    return check(check_ud, txn, v, n, err);
}

static int builtin_enqueue(hd_txn *txn, hd_arena *a, const Helpdesk__V1__Ticket *t,
                           const Helpdesk__V1__Message *m, int64_t now_ms, hd_err *err)
{
    Helpdesk__V1__OutboxMessage o = HELPDESK__V1__OUTBOX_MESSAGE__INIT;
    ProtobufCMessage *cm;
    hd_key k;
    int rc = hd_store_get_msg(txn, HD_STORE_CUSTOMERS, hd_tickets_key_id(&k, t->customer_id),
                              &helpdesk__v1__customer__descriptor, a, &cm, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND,
                          "outbox: customer %" PRIu64 " of ticket %" PRIu64 " not found",
                          t->customer_id, t->id);
    if (rc < 0)
        return rc;
    char *to = ((Helpdesk__V1__Customer *)cm)->email;
    rc = hd_store_seq_next(txn, HD_TICKETS_SEQ_OUTBOX, &o.id, err);
    if (rc < 0)
        return rc;
    o.kind = HELPDESK__V1__OUTBOX_KIND__OUTBOX_KIND_REPLY;
    o.ticket_id = t->id;
    o.message_id = m->id;
    o.n_to = 1;
    o.to = &to;
    o.subject = t->subject;
    o.body_text = m->body;
    o.rfc_message_id = hd_arena_printf(a, "%s.%" PRIu64 "@helpdesk.invalid", t->number, m->id);
    o.state = HELPDESK__V1__OUTBOX_STATE__OUTBOX_STATE_PENDING;
    o.next_attempt_time = hd_tickets_ts_new(a, now_ms);
    o.create_time = o.next_attempt_time;
    o.ticket_number = t->number;
    if (!o.rfc_message_id || !o.next_attempt_time)
        return hd_err_set(err, HD_ENOMEM, "outbox: out of memory");
    hd_key_init(&k);
    hd_key_u64(&k, o.id);
    return hd_store_put_msg(txn, HD_STORE_OUTBOX, &k, &o.base, HD_STORE_NOOVERWRITE, err);
}

int hd_tickets_outbox_enqueue(hd_txn *txn, hd_arena *a, const Helpdesk__V1__Ticket *t,
                              const Helpdesk__V1__Message *m, int64_t now_ms, hd_err *err)
{
    if (hook)
        return hook(hook_ud, txn, a, t, m, now_ms, err);
    return builtin_enqueue(txn, a, t, m, now_ms, err);
}
