/* The SLA engine in a transaction: policy lookup, clock step, record, log, rollups and
 * actions for one ticket. */
#include "server/sla/engine.h"

#include <string.h>

#include "helpdesk/v1/customers.pb-c.h"
#include "server/sla/actions.h"
#include "server/sla/config.h"
#include "server/sla/record.h"
#include "server/sla/rollups.h"

static void (*wake_fn)(void *ud, int64_t fire_s);
static void *wake_ud;

void hd_sla_engine_set_wake(void (*fn)(void *ud, int64_t fire_s), void *ud)
{
    wake_fn = fn;
    wake_ud = ud;
}

static void announce(const hd_sla_ticket *t)
{
    if (!wake_fn)
        return;
    for (int i = 0; i < HD_SLA_TARGETS; i++) {
        int64_t f = hd_sla_clock_next_fire(&t->clocks[i]);
        if (f)
            wake_fn(wake_ud, f);
    }
}

static uint64_t customer_org(hd_txn *txn, hd_arena *a, uint64_t customer_id)
{
    hd_key k;
    Helpdesk__V1__Customer *c = NULL;
    hd_err e;
    hd_key_init(&k);
    hd_key_u64(&k, customer_id);
    if (hd_store_get_msg(txn, HD_STORE_CUSTOMERS, &k, &helpdesk__v1__customer__descriptor, a,
                         (ProtobufCMessage **)&c, &e) < 0)
        return 0;
    return c->organization_id;
}

/* Finds ticket t's policy (or, for the monitor, policy_id when t is NULL) and compiles its
 * calendar: *pol borrowed from a, *cal owned by the caller. Returns 0, HD_ENOTFOUND (no
 * policy applies / it is gone), or errors. */
static int load_rules(hd_txn *txn, hd_arena *a, const Helpdesk__V1__Ticket *t, uint64_t policy_id,
                      const Helpdesk__V1__SlaPolicy **pol, hd_sla_calendar **cal, hd_err *err)
{
    int rc;
    *cal = NULL;
    *pol = NULL;
    if (t) {
        Helpdesk__V1__SlaPolicy **ps = NULL;
        size_t n = 0;
        rc = hd_sla_config_list_policies(txn, a, &ps, &n, err);
        if (rc < 0)
            return rc;
        if (n == 0)
            return HD_ENOTFOUND;
        *pol = hd_sla_config_match(ps, n, t, customer_org(txn, a, t->customer_id));
    } else {
        Helpdesk__V1__SlaPolicy *p = NULL;
        rc = hd_sla_config_get_policy(txn, policy_id, a, &p, err);
        if (rc < 0)
            return rc;
        *pol = p;
    }
    if (!*pol)
        return HD_ENOTFOUND;
    Helpdesk__V1__Calendar *c = NULL;
    rc = hd_sla_config_get_calendar(txn, (*pol)->calendar_id, a, &c, err);
    if (rc < 0)
        return rc;
    return hd_sla_config_compile(cal, c, err);
}

/* Logs each firing once and runs its actions. Returns the number newly logged or an error. */
static int handle_fired(hd_txn *txn, hd_arena *a, const hd_sla_ticket *t,
                        const Helpdesk__V1__SlaPolicy *p, const hd_sla_fired *fired, int n,
                        int64_t now_ms, int ticket_changes, hd_err *err)
{
    int logged = 0;
    for (int i = 0; i < n; i++) {
        int is_new = 0;
        int rc = hd_sla_record_breach(txn, t, &fired[i], &is_new, err);
        if (rc < 0)
            return rc;
        logged += is_new;
        rc = hd_sla_actions_run(txn, a, t, p, &fired[i], now_ms, ticket_changes, err);
        if (rc < 0)
            return rc;
    }
    return logged;
}

/* ---- Ticket actions owed by firings an ordinary ticket change discovered ----------------
 * The observer runs inside the ticket's own mutation, so it cannot escalate or raise the
 * priority there. It leaves an owed entry per firing (SETTINGS "sla.owe" + u64 ticket + u8
 * target + u32 run + u8 breach + i64 time) and an IDX_SLADUE entry at the change's time with
 * target HD_SLA_OWED_TARGET, which wakes the monitor; its tick runs the firing's actions with
 * ticket changes allowed. Deliveries are recorded per ticket, target, run, event and action,
 * so the notifications that already ran are skipped and the escalation runs exactly once. */

#define OWED_MAX 16 /* owed firings handled per pass */

static hd_key *owed_key(hd_key *k, uint64_t ticket_id)
{
    hd_key_init(k);
    hd_key_str(k, HD_SLA_KEY_OWED);
    return hd_key_u64(k, ticket_id);
}

static int owe(hd_txn *txn, const hd_sla_ticket *t, const hd_sla_fired *fired, int n, int64_t now_s,
               hd_err *err)
{
    hd_key k;
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        owed_key(&k, t->ticket_id);
        hd_key_u8(&k, (uint8_t)fired[i].target);
        hd_key_u32(&k, fired[i].run);
        hd_key_u8(&k, (uint8_t)fired[i].breach);
        hd_key_i64(&k, fired[i].at_s);
        rc = hd_store_put(txn, HD_STORE_SETTINGS, &k, "", 0, 0, err);
    }
    if (rc == 0 && n > 0)
        rc = hd_store_put(txn, HD_STORE_IDX_SLADUE,
                          hd_sla_record_due_key(&k, now_s, t->ticket_id, HD_SLA_OWED_TARGET), "", 0,
                          0, err);
    return rc;
}

typedef struct owed {
    hd_key keys[OWED_MAX];
    hd_sla_fired f[OWED_MAX];
    int n;
    size_t prefix_len;
    hd_err *err;
} owed;

static int owed_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    owed *o = arg;
    hd_key_reader r;
    uint8_t target, breach;
    hd_err *e = o->err;
    (void)val, (void)vlen;
    hd_key_reader_init(&r, (const unsigned char *)key + o->prefix_len, klen - o->prefix_len);
    hd_sla_fired *f = &o->f[o->n];
    if (hd_key_read_u8(&r, &target, e) < 0 || hd_key_read_u32(&r, &f->run, e) < 0 ||
        hd_key_read_u8(&r, &breach, e) < 0 || hd_key_read_i64(&r, &f->at_s, e) < 0)
        return hd_err_set(e, HD_ECORRUPT, "sla: malformed owed entry (%s)", e->detail);
    f->target = target;
    f->breach = breach;
    hd_key_init(&o->keys[o->n]);
    hd_key_bytes(&o->keys[o->n], key, klen);
    return ++o->n == OWED_MAX ? 1 : 0;
}

/* Runs and removes ticket t's owed firings under policy p (NULL: only removes). */
static int pay_owed(hd_txn *txn, hd_arena *a, const hd_sla_ticket *t,
                    const Helpdesk__V1__SlaPolicy *p, int64_t now_ms, hd_err *err)
{
    owed *o = hd_arena_alloc(a, sizeof(*o));
    hd_key prefix;
    if (!o)
        return hd_err_set(err, HD_ENOMEM, "sla: out of memory");
    owed_key(&prefix, t->ticket_id);
    hd_store_range r = {.prefix = &prefix};
    for (;;) {
        o->n = 0;
        o->prefix_len = prefix.len;
        o->err = err;
        int64_t sc = hd_store_scan(txn, HD_STORE_SETTINGS, &r, owed_cb, o, err);
        if (sc < 0)
            return (int)sc;
        if (o->n == 0)
            return 0;
        for (int i = 0; i < o->n; i++) {
            int rc = hd_sla_actions_run(txn, a, t, p, &o->f[i], now_ms, 1, err);
            if (rc >= 0)
                rc = hd_store_del(txn, HD_STORE_SETTINGS, &o->keys[i], err);
            if (rc < 0)
                return rc;
        }
    }
}

static int is_status_known(int st)
{
    return st > 0;
}

int hd_sla_engine_observe(void *ud, const hd_ticket_change *c, hd_err *err)
{
    (void)ud;
    const Helpdesk__V1__Ticket *t = c->after;
    hd_sla_ticket old, now;
    hd_sla_calendar *cal = NULL;
    const Helpdesk__V1__SlaPolicy *pol = NULL;
    hd_sla_fired fired[HD_SLA_FIRED_MAX];
    int n_fired = 0, rc;

    if (!t)
        return 0;
    rc = hd_sla_record_load(c->txn, t->id, &old, err);
    int had = rc == 0;
    if (rc < 0 && rc != HD_ENOTFOUND)
        return rc;
    hd_err_clear(err);
    rc = load_rules(c->txn, c->arena, t, 0, &pol, &cal, err);
    if (rc == HD_ENOTFOUND && had && old.policy_id) {
        /* No policy matches any more: keep counting under the one the ticket had. */
        hd_err_clear(err);
        rc = load_rules(c->txn, c->arena, NULL, old.policy_id, &pol, &cal, err);
    }
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(err);
        return 0;
    }
    if (rc < 0)
        goto fail;
    hd_sla_rules rules;
    hd_sla_config_rules(&rules, pol, cal);
    now = old;
    now.group_id = t->group_id;
    int created = !c->before || !had;
    int msg_staff =
        c->message && c->message->author_kind == HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF;
    int msg_cust =
        c->message && c->message->author_kind == HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER;
    int before_status = c->before ? (int)c->before->status : (int)t->status;
    if (created && c->before) {
        /* A ticket that existed before any policy matched starts its clocks now. */
        before_status = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_NEW;
    }
    hd_sla_event ev = {c->now_ms / 1000,
                       created,
                       msg_staff,
                       msg_cust && !created,
                       is_status_known(before_status) ? before_status : 1,
                       (int)t->status};
    rc = hd_sla_clock_apply(&now, &rules, &ev, fired, &n_fired, err);
    if (rc < 0)
        goto fail;
    rc = hd_sla_record_save(c->txn, had ? &old : NULL, &now, err);
    if (rc == 0)
        rc = hd_sla_rollups_apply(c->txn, t, had ? &old : NULL, &now, created, ev.status_before,
                                  ev.status_after, ev.now_s, err);
    if (rc == 0)
        rc = handle_fired(c->txn, c->arena, &now, pol, fired, n_fired, c->now_ms, 0, err);
    if (rc > 0)
        rc = 0;
    if (rc == 0)
        rc = owe(c->txn, &now, fired, n_fired, ev.now_s, err);
    if (rc == 0)
        announce(&now);
    if (rc == 0 && n_fired && wake_fn)
        wake_fn(wake_ud, ev.now_s);
fail:
    hd_sla_calendar_free(cal);
    return rc;
}

int hd_sla_engine_tick(hd_txn *txn, hd_arena *a, uint64_t ticket_id, int64_t now_ms, int *fired_n,
                       hd_err *err)
{
    hd_sla_ticket old, now;
    hd_sla_calendar *cal = NULL;
    const Helpdesk__V1__SlaPolicy *pol = NULL;
    hd_sla_fired fired[HD_SLA_FIRED_MAX];
    int n = 0, rc;

    if (fired_n)
        *fired_n = 0;
    rc = hd_sla_record_load(txn, ticket_id, &old, err);
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    now = old;
    rc = load_rules(txn, a, NULL, now.policy_id, &pol, &cal, err);
    if (rc < 0) { /* the policy may be gone: firings are still logged, only actions need it */
        hd_err_clear(err);
        pol = NULL;
    }
    rc = pay_owed(txn, a, &now, pol, now_ms, err);
    if (rc < 0)
        goto fail;
    hd_sla_clock_tick(&now, now_ms / 1000, fired, &n);
    rc = hd_sla_record_save(txn, &old, &now, err);
    if (rc < 0 || n == 0)
        goto fail;
    /* The ticket gives the rollup slice (priority, category, assignee). */
    hd_key k;
    Helpdesk__V1__Ticket *t = NULL;
    hd_key_init(&k);
    hd_key_u64(&k, ticket_id);
    if (hd_store_get_msg(txn, HD_STORE_TICKETS, &k, &helpdesk__v1__ticket__descriptor, a,
                         (ProtobufCMessage **)&t, err) < 0) {
        hd_err_clear(err);
        t = NULL;
    }
    rc = hd_sla_rollups_apply(txn, t, &old, &now, 0, now.status, now.status, now_ms / 1000, err);
    if (rc < 0)
        goto fail;
    rc = handle_fired(txn, a, &now, pol, fired, n, now_ms, 1, err);
    if (rc >= 0 && fired_n)
        *fired_n = rc;
    if (rc > 0)
        rc = 0;
fail:
    hd_sla_calendar_free(cal);
    return rc;
}
