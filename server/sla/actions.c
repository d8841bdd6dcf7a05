/* Warning/breach actions, once each per ticket, target, run, event and action. */
#include "server/sla/actions.h"

#include <stdio.h>
#include <string.h>

#include "helpdesk/v1/mail.pb-c.h"
#include "server/sla/record.h"

/* Sequence of OUTBOX ids, shared with the mail room and the ticket replies. */
#define SEQ_OUTBOX "outbox"

static hd_sla_action_ops ops;

void hd_sla_actions_set(const hd_sla_action_ops *o)
{
    if (o)
        ops = *o;
    else
        memset(&ops, 0, sizeof(ops));
}

hd_key *hd_sla_actions_delivery_key(hd_key *k, uint64_t ticket_id, int target, uint32_t run,
                                    int event, int action)
{
    hd_key_init(k);
    hd_key_str(k, HD_SLA_KEY_DELIVERY);
    hd_key_u64(k, ticket_id);
    hd_key_u8(k, (uint8_t)target);
    hd_key_u32(k, run);
    hd_key_u8(k, (uint8_t)event);
    return hd_key_u8(k, (uint8_t)action);
}

static const char *target_name(int target)
{
    static const char *const names[] = {"", "first response", "next response", "resolution"};
    return target >= 1 && target <= 3 ? names[target] : "?";
}

static int queue_email(hd_txn *txn, hd_arena *a, const hd_sla_ticket *t, const hd_sla_fired *f,
                       const char *to, int64_t now_ms, hd_err *err)
{
    Helpdesk__V1__OutboxMessage m = HELPDESK__V1__OUTBOX_MESSAGE__INIT;
    uint64_t id = 0;
    hd_key k;
    int rc = hd_store_seq_next(txn, SEQ_OUTBOX, &id, err);
    if (rc < 0)
        return rc;
    char *tos[1] = {(char *)to};
    m.id = id;
    m.kind = HELPDESK__V1__OUTBOX_KIND__OUTBOX_KIND_NOTIFICATION;
    m.ticket_id = t->ticket_id;
    m.n_to = 1;
    m.to = tos;
    m.subject = hd_arena_printf(a, "[SLA %s] ticket %llu: %s", f->breach ? "breach" : "warning",
                                (unsigned long long)t->ticket_id, target_name(f->target));
    m.body_text =
        hd_arena_printf(a, "Ticket %llu %s its %s target (due %lld, Unix seconds).\n",
                        (unsigned long long)t->ticket_id, f->breach ? "breached" : "is close to",
                        target_name(f->target), (long long)f->at_s);
    m.rfc_message_id =
        hd_arena_printf(a, "<sla.%llu.%d.%u.%d@helpdesk.invalid>", (unsigned long long)t->ticket_id,
                        f->target, f->run, f->breach);
    if (!m.subject || !m.body_text || !m.rfc_message_id)
        return hd_err_set(err, HD_ENOMEM, "sla email: out of memory");
    m.state = HELPDESK__V1__OUTBOX_STATE__OUTBOX_STATE_PENDING;
    m.next_attempt_time = hd_sla_record_ts(a, now_ms / 1000);
    m.create_time = m.next_attempt_time;
    hd_key_init(&k);
    hd_key_u64(&k, id);
    return hd_store_put_msg(txn, HD_STORE_OUTBOX, &k, &m.base, 0, err);
}

int hd_sla_actions_run(hd_txn *txn, hd_arena *a, const hd_sla_ticket *t,
                       const Helpdesk__V1__SlaPolicy *p, const hd_sla_fired *f, int64_t now_ms,
                       int ticket_changes, hd_err *err)
{
    int ran = 0;
    int event = f->breach ? 2 : 1;
    for (size_t i = 0; p && i < p->n_actions; i++) {
        const Helpdesk__V1__SlaAction *act = p->actions[i];
        if (!(f->breach ? act->on_breach : act->on_warning))
            continue;
        int is_ticket = act->kind == HELPDESK__V1__SLA_ACTION_KIND__SLA_ACTION_KIND_ESCALATE ||
                        act->kind == HELPDESK__V1__SLA_ACTION_KIND__SLA_ACTION_KIND_RAISE_PRIORITY;
        if (is_ticket && !ticket_changes)
            continue;
        hd_key k;
        Helpdesk__V1__SlaDelivery d = HELPDESK__V1__SLA_DELIVERY__INIT;
        hd_sla_actions_delivery_key(&k, t->ticket_id, f->target, f->run, event, (int)i);
        const void *v;
        size_t n;
        int rc = hd_store_get(txn, HD_STORE_SETTINGS, &k, &v, &n, err);
        if (rc == 0)
            continue; /* ran before: once per ticket, target, run and event */
        if (rc != HD_ENOTFOUND)
            return rc;
        hd_err_clear(err);
        d.ticket_id = t->ticket_id;
        d.target = (Helpdesk__V1__SlaTarget)f->target;
        d.event = (Helpdesk__V1__SlaEventKind)event;
        d.kind = act->kind;
        d.attempts = 1;
        hd_err aerr;
        hd_err_clear(&aerr);
        int arc = 0;
        switch (act->kind) {
        case HELPDESK__V1__SLA_ACTION_KIND__SLA_ACTION_KIND_ESCALATE:
            arc = ops.escalate ? ops.escalate(ops.ud, txn, a, t->ticket_id, act->escalate_group_id,
                                              act->escalate_staff_id, now_ms, &aerr)
                               : hd_err_set(&aerr, HD_EUNIMPL, "no ticket engine installed");
            break;
        case HELPDESK__V1__SLA_ACTION_KIND__SLA_ACTION_KIND_RAISE_PRIORITY:
            arc = ops.raise_priority
                      ? ops.raise_priority(ops.ud, txn, a, t->ticket_id, now_ms, &aerr)
                      : hd_err_set(&aerr, HD_EUNIMPL, "no ticket engine installed");
            break;
        case HELPDESK__V1__SLA_ACTION_KIND__SLA_ACTION_KIND_EMAIL:
            d.destination = act->email_to;
            arc = queue_email(txn, a, t, f, act->email_to, now_ms, &aerr);
            if (arc == HD_EFULL || arc == HD_EIO)
                return hd_err_set(err, arc, "%s", aerr.detail);
            break;
        case HELPDESK__V1__SLA_ACTION_KIND__SLA_ACTION_KIND_WEBHOOK: {
            d.destination = act->webhook_url;
            d.attempts = 0;
            d.next_attempt_time = hd_sla_record_ts(a, now_ms / 1000);
            hd_key q;
            hd_key_init(&q);
            hd_key_str(&q, HD_SLA_KEY_WEBHOOKQ);
            hd_key_i64(&q, now_ms / 1000);
            hd_key_bytes(&q, k.buf, k.len);
            rc = hd_store_put(txn, HD_STORE_SETTINGS, &q, "", 0, 0, err);
            if (rc < 0)
                return rc;
            break;
        }
        default:
            continue;
        }
        if (arc == HD_EFULL)
            return hd_err_set(err, arc, "%s", aerr.detail);
        d.delivered =
            arc == 0 && act->kind != HELPDESK__V1__SLA_ACTION_KIND__SLA_ACTION_KIND_WEBHOOK;
        if (arc < 0)
            d.last_error = hd_arena_printf(a, "%s: %s", hd_errname(arc), aerr.detail);
        rc = hd_store_put_msg(txn, HD_STORE_SETTINGS, &k, &d.base, 0, err);
        if (rc < 0)
            return rc;
        ran++;
    }
    return ran;
}
