/* Per-ticket SLA records: a versioned fixed-layout encoding of hd_sla_ticket (built with the
 * key encoder, so every field has a fixed size and order), the due index and breach log. */
#include "server/sla/record.h"

#include <string.h>

#define RECORD_VERSION 1

static hd_key *ticket_key(hd_key *k, uint64_t id)
{
    hd_key_init(k);
    return hd_key_u64(k, id);
}

hd_key *hd_sla_record_due_key(hd_key *k, int64_t at_s, uint64_t ticket_id, int target)
{
    hd_key_init(k);
    hd_key_i64(k, at_s);
    hd_key_u64(k, ticket_id);
    return hd_key_u8(k, (uint8_t)target);
}

hd_key *hd_sla_record_run_key(hd_key *k, int64_t due_s, uint64_t ticket_id)
{
    hd_key_init(k);
    hd_key_i64(k, due_s);
    return hd_key_u64(k, ticket_id);
}

hd_key *hd_sla_record_breached_key(hd_key *k, uint64_t ticket_id)
{
    hd_key_init(k);
    return hd_key_u64(k, ticket_id);
}

int hd_sla_record_first_due(const hd_sla_ticket *t, int64_t *due_s)
{
    int any = 0;
    for (int i = 0; i < HD_SLA_TARGETS; i++) {
        const hd_sla_clock *c = &t->clocks[i];
        if (c->active && c->running && (!any || c->due_s < *due_s)) {
            any = 1;
            *due_s = c->due_s;
        }
    }
    return any;
}

int hd_sla_record_is_breached(const hd_sla_ticket *t)
{
    for (int i = 0; i < HD_SLA_TARGETS; i++)
        if (t->clocks[i].active && t->clocks[i].running && t->clocks[i].breached)
            return 1;
    return 0;
}

/* Moves one index entry from key `was` to key `now` (either may be NULL: absent). */
static int move_entry(hd_txn *txn, hd_table tb, const hd_key *was, const hd_key *now, hd_err *err)
{
    if (was && now && was->len == now->len && memcmp(was->buf, now->buf, was->len) == 0)
        return 0;
    if (was) {
        int rc = hd_store_del(txn, tb, was, err);
        if (rc < 0 && rc != HD_ENOTFOUND)
            return rc;
        hd_err_clear(err);
    }
    return now ? hd_store_put(txn, tb, now, "", 0, 0, err) : 0;
}

/* Keeps the ticket's list index entries in step (one each at most, so a list page reads
 * one entry per ticket): IDX_SLARUN at its earliest running due time, IDX_SLABREACHED while a
 * running clock is breached. */
static int move_list_entries(hd_txn *txn, const hd_sla_ticket *old, const hd_sla_ticket *t,
                             hd_err *err)
{
    hd_key kw, kn;
    int64_t was_s = 0, now_s = 0;
    int had = old && hd_sla_record_first_due(old, &was_s);
    int has = hd_sla_record_first_due(t, &now_s);
    int rc = move_entry(txn, HD_STORE_IDX_SLARUN,
                        had ? hd_sla_record_run_key(&kw, was_s, t->ticket_id) : NULL,
                        has ? hd_sla_record_run_key(&kn, now_s, t->ticket_id) : NULL, err);
    if (rc < 0)
        return rc;
    return move_entry(
        txn, HD_STORE_IDX_SLABREACHED,
        old && hd_sla_record_is_breached(old) ? hd_sla_record_breached_key(&kw, t->ticket_id)
                                              : NULL,
        hd_sla_record_is_breached(t) ? hd_sla_record_breached_key(&kn, t->ticket_id) : NULL, err);
}

static void encode(hd_key *b, const hd_sla_ticket *t)
{
    hd_key_init(b);
    hd_key_u8(b, RECORD_VERSION);
    hd_key_u64(b, t->ticket_id);
    hd_key_u64(b, t->policy_id);
    hd_key_u64(b, t->group_id);
    hd_key_u32(b, (uint32_t)t->status);
    hd_key_u32(b, (uint32_t)t->reopened);
    for (int i = 0; i < HD_SLA_TARGETS; i++) {
        const hd_sla_clock *c = &t->clocks[i];
        unsigned flags = (c->active ? 1u : 0u) | (c->running ? 2u : 0u) | (c->paused ? 4u : 0u) |
                         (c->done ? 8u : 0u) | (c->warned ? 16u : 0u) | (c->breached ? 32u : 0u);
        hd_key_u8(b, (uint8_t)flags);
        hd_key_u32(b, c->run);
        hd_key_u32(b, (uint32_t)c->target_min);
        hd_key_i64(b, c->start_s);
        hd_key_i64(b, c->resume_s);
        hd_key_i64(b, c->elapsed_s);
        hd_key_i64(b, c->due_s);
        hd_key_i64(b, c->warn_s);
        hd_key_i64(b, c->met_s);
        hd_key_i64(b, c->taken_s);
    }
}

static int decode(const void *p, size_t n, hd_sla_ticket *t, hd_err *err)
{
    hd_key_reader r;
    uint8_t v, f;
    uint32_t u;
    int rc;
    hd_key_reader_init(&r, p, n);
    memset(t, 0, sizeof(*t));
    rc = hd_key_read_u8(&r, &v, err);
    if (rc == 0 && v != RECORD_VERSION)
        return hd_err_set(err, HD_ECORRUPT, "sla record: version %u unknown", v);
    if (rc == 0)
        rc = hd_key_read_u64(&r, &t->ticket_id, err);
    if (rc == 0)
        rc = hd_key_read_u64(&r, &t->policy_id, err);
    if (rc == 0)
        rc = hd_key_read_u64(&r, &t->group_id, err);
    if (rc == 0 && (rc = hd_key_read_u32(&r, &u, err)) == 0)
        t->status = (int)u;
    if (rc == 0 && (rc = hd_key_read_u32(&r, &u, err)) == 0)
        t->reopened = (int)u;
    for (int i = 0; rc == 0 && i < HD_SLA_TARGETS; i++) {
        hd_sla_clock *c = &t->clocks[i];
        rc = hd_key_read_u8(&r, &f, err);
        c->active = f & 1;
        c->running = f >> 1 & 1;
        c->paused = f >> 2 & 1;
        c->done = f >> 3 & 1;
        c->warned = f >> 4 & 1;
        c->breached = f >> 5 & 1;
        if (rc == 0)
            rc = hd_key_read_u32(&r, &c->run, err);
        if (rc == 0 && (rc = hd_key_read_u32(&r, &u, err)) == 0)
            c->target_min = (int32_t)u;
        int64_t *fields[] = {&c->start_s, &c->resume_s, &c->elapsed_s, &c->due_s,
                             &c->warn_s,  &c->met_s,    &c->taken_s};
        for (size_t j = 0; rc == 0 && j < sizeof(fields) / sizeof(fields[0]); j++)
            rc = hd_key_read_i64(&r, fields[j], err);
    }
    return rc;
}

int hd_sla_record_load(hd_txn *txn, uint64_t ticket_id, hd_sla_ticket *out, hd_err *err)
{
    hd_key k;
    const void *v;
    size_t n;
    int rc = hd_store_get(txn, HD_STORE_SLA_CLOCKS, ticket_key(&k, ticket_id), &v, &n, err);
    if (rc == HD_ENOTFOUND) {
        memset(out, 0, sizeof(*out));
        out->ticket_id = ticket_id;
        return rc;
    }
    if (rc < 0)
        return rc;
    return decode(v, n, out, err);
}

int hd_sla_record_save(hd_txn *txn, const hd_sla_ticket *old, const hd_sla_ticket *t, hd_err *err)
{
    hd_key k, b;
    int rc = move_list_entries(txn, old, t, err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < HD_SLA_TARGETS; i++) {
        int64_t was = old ? hd_sla_clock_next_fire(&old->clocks[i]) : 0;
        int64_t now = hd_sla_clock_next_fire(&t->clocks[i]);
        if (was == now)
            continue;
        if (was) {
            rc = hd_store_del(txn, HD_STORE_IDX_SLADUE,
                              hd_sla_record_due_key(&k, was, t->ticket_id, i + 1), err);
            if (rc < 0 && rc != HD_ENOTFOUND)
                return rc;
        }
        if (now) {
            rc = hd_store_put(txn, HD_STORE_IDX_SLADUE,
                              hd_sla_record_due_key(&k, now, t->ticket_id, i + 1), "", 0, 0, err);
            if (rc < 0)
                return rc;
        }
    }
    hd_err_clear(err);
    encode(&b, t);
    return hd_store_put(txn, HD_STORE_SLA_CLOCKS, ticket_key(&k, t->ticket_id), b.buf, b.len, 0,
                        err);
}

Google__Protobuf__Timestamp *hd_sla_record_ts(hd_arena *a, int64_t s)
{
    if (s == 0)
        return NULL;
    Google__Protobuf__Timestamp *ts = hd_arena_alloc(a, sizeof(*ts));
    if (!ts)
        return NULL;
    google__protobuf__timestamp__init(ts);
    ts->seconds = s;
    return ts;
}

int hd_sla_record_breach(hd_txn *txn, const hd_sla_ticket *t, const hd_sla_fired *f, int *is_new,
                         hd_err *err)
{
    hd_key k;
    Helpdesk__V1__SlaBreach b = HELPDESK__V1__SLA_BREACH__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    hd_key_init(&k);
    hd_key_str(&k, HD_SLA_KEY_BREACH);
    hd_key_i64(&k, f->at_s);
    hd_key_u64(&k, t->ticket_id);
    hd_key_u8(&k, (uint8_t)f->target);
    hd_key_u8(&k, (uint8_t)(f->breach ? 2 : 1));
    hd_key_u32(&k, f->run);
    ts.seconds = f->at_s;
    b.ticket_id = t->ticket_id;
    b.target = (Helpdesk__V1__SlaTarget)f->target;
    b.kind = f->breach ? HELPDESK__V1__SLA_EVENT_KIND__SLA_EVENT_KIND_BREACH
                       : HELPDESK__V1__SLA_EVENT_KIND__SLA_EVENT_KIND_WARNING;
    b.time = &ts;
    b.group_id = t->group_id;
    b.policy_id = t->policy_id;
    int rc = hd_store_put_msg(txn, HD_STORE_SETTINGS, &k, &b.base, HD_STORE_NOOVERWRITE, err);
    if (is_new)
        *is_new = rc == 0;
    if (rc == HD_EEXIST) {
        hd_err_clear(err);
        rc = 0;
    }
    return rc;
}

int hd_sla_record_to_proto(const hd_sla_ticket *t, const hd_sla_calendar *cal, int64_t now_s,
                           hd_arena *a, Helpdesk__V1__TicketSla **out, hd_err *err)
{
    Helpdesk__V1__TicketSla *m = hd_arena_alloc(a, sizeof(*m));
    Helpdesk__V1__SlaClock **cs = hd_arena_calloc(a, HD_SLA_TARGETS, sizeof(*cs));
    if (!m || !cs)
        return hd_err_set(err, HD_ENOMEM, "sla: out of memory");
    helpdesk__v1__ticket_sla__init(m);
    m->ticket_id = t->ticket_id;
    m->policy_id = t->policy_id;
    m->group_id = t->group_id;
    m->clocks = cs;
    for (int i = 0; i < HD_SLA_TARGETS; i++) {
        const hd_sla_clock *c = &t->clocks[i];
        if (!c->active)
            continue;
        Helpdesk__V1__SlaClock *x = hd_arena_alloc(a, sizeof(*x));
        if (!x)
            return hd_err_set(err, HD_ENOMEM, "sla: out of memory");
        helpdesk__v1__sla_clock__init(x);
        x->target = (Helpdesk__V1__SlaTarget)(i + 1);
        x->state = (Helpdesk__V1__SlaState)hd_sla_clock_state(c);
        x->target_minutes = c->target_min;
        x->start_time = hd_sla_record_ts(a, c->start_s);
        x->due_time = c->running ? hd_sla_record_ts(a, c->due_s) : NULL;
        x->warning_time = c->running && !c->warned ? hd_sla_record_ts(a, c->warn_s) : NULL;
        x->elapsed_seconds = cal ? hd_sla_clock_elapsed(c, cal, now_s) : c->elapsed_s;
        x->met_time = hd_sla_record_ts(a, c->met_s);
        x->taken_seconds = c->taken_s;
        x->warned = c->warned;
        x->breached = c->breached;
        if (c->paused)
            m->paused = 1;
        cs[m->n_clocks++] = x;
    }
    *out = m;
    return 0;
}
