/* The SLA engine on a real store: synthetic ticket changes go through the observer as the
 * ticket mutations will send them, the monitor step runs at chosen instants (no sleeping),
 * and the store is closed and reopened to check restart safety. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpdesk/v1/sla.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "server/rollup/rollup.h"
#include "server/sla/actions.h"
#include "server/sla/config.h"
#include "server/sla/engine.h"
#include "server/sla/migrate.h"
#include "server/tickets/dashboard.h"
#include "server/tickets/tickets.h"
#include "server/sla/monitor.h"
#include "server/sla/record.h"
#include "server/sla/rollups.h"

/* Monday 2026-01-05 00:00 UTC. */
#define MON 1767571200LL
#define H   3600LL
#define M   60LL

typedef struct fx {
    char dir[256];
    hd_store *s;
    uint64_t policy_id;
    int escalations;
} fx;

static fx F;

static void open_store(void)
{
    hd_store_opts o = {.path = F.dir, .unsafe_nosync = 1};
    hd_err err;
    int rc = hd_store_open(&F.s, &o, &err);
    if (rc)
        fail_msg("hd_store_open(%s): %s %s", F.dir, hd_errname(rc), err.detail);
}

static int escalate(void *ud, hd_txn *txn, hd_arena *a, uint64_t ticket_id, uint64_t group_id,
                    uint64_t staff_id, int64_t now_ms, hd_err *err)
{
    (void)ud, (void)txn, (void)a, (void)ticket_id, (void)staff_id, (void)now_ms, (void)err;
    assert_int_equal(group_id, 42);
    F.escalations++;
    return 0;
}

typedef struct put_cfg {
    Helpdesk__V1__Calendar *cal;
    Helpdesk__V1__SlaPolicy *pol;
} put_cfg;

static int put_cfg_apply(hd_txn *txn, void *arg, hd_err *err)
{
    put_cfg *p = arg;
    p->cal->id = 0;
    p->pol->id = 0;
    int rc = hd_sla_config_put_calendar(txn, p->cal, err);
    if (rc == 0) {
        p->pol->calendar_id = p->cal->id;
        rc = hd_sla_config_put_policy(txn, p->pol, err);
    }
    return rc;
}

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("TEST_TMPDIR");
    snprintf(F.dir, sizeof(F.dir), "%s/slaXXXXXX", base ? base : "/tmp");
    assert_non_null(mkdtemp(F.dir));
    open_store();
    F.escalations = 0;
    static Helpdesk__V1__WorkingInterval iv[5];
    static Helpdesk__V1__WorkingInterval *ivp[5];
    for (int d = 0; d < 5; d++) {
        helpdesk__v1__working_interval__init(&iv[d]);
        iv[d].weekday = d + 1;
        iv[d].start_minute = 540;
        iv[d].end_minute = 1020;
        ivp[d] = &iv[d];
    }
    static Helpdesk__V1__Calendar cal = HELPDESK__V1__CALENDAR__INIT;
    cal.name = (char *)"Office";
    cal.time_zone = (char *)"UTC";
    cal.n_intervals = 5;
    cal.intervals = ivp;
    static Helpdesk__V1__SlaTargetTime tt[2] = {HELPDESK__V1__SLA_TARGET_TIME__INIT,
                                                HELPDESK__V1__SLA_TARGET_TIME__INIT};
    static Helpdesk__V1__SlaTargetTime *ttp[2] = {&tt[0], &tt[1]};
    tt[0].target = HELPDESK__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE;
    tt[0].minutes = 60;
    tt[1].target = HELPDESK__V1__SLA_TARGET__SLA_TARGET_RESOLUTION;
    tt[1].minutes = 480;
    static Helpdesk__V1__SlaAction act = HELPDESK__V1__SLA_ACTION__INIT;
    static Helpdesk__V1__SlaAction *actp[1] = {&act};
    act.kind = HELPDESK__V1__SLA_ACTION_KIND__SLA_ACTION_KIND_ESCALATE;
    act.on_breach = 1;
    act.escalate_group_id = 42;
    static Helpdesk__V1__SlaPolicy pol = HELPDESK__V1__SLA_POLICY__INIT;
    pol.name = (char *)"Default";
    pol.n_targets = 2;
    pol.targets = ttp;
    pol.n_actions = 1;
    pol.actions = actp;
    put_cfg p = {&cal, &pol};
    hd_err err;
    int rc = hd_store_write(F.s, put_cfg_apply, &p, &err);
    if (rc)
        fail_msg("config: %s %s", hd_errname(rc), err.detail);
    F.policy_id = pol.id;
    hd_sla_action_ops ops = {escalate, NULL, NULL};
    hd_sla_actions_set(&ops);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hd_store_close(F.s);
    hd_sla_actions_set(NULL);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", F.dir);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct change_arg {
    Helpdesk__V1__Ticket *before, *after;
    Helpdesk__V1__Message *msg;
    int64_t now_ms;
} change_arg;

static int change_apply(hd_txn *txn, void *arg, hd_err *err)
{
    change_arg *c = arg;
    hd_arena *a = hd_arena_create(0);
    Helpdesk__V1__TicketEvent ev = HELPDESK__V1__TICKET_EVENT__INIT;
    hd_ticket_change ch = {txn, a, c->before, c->after, &ev, c->msg, c->now_ms};
    hd_key k;
    hd_key_init(&k);
    hd_key_u64(&k, c->after->id);
    int rc = hd_store_put_msg(txn, HD_STORE_TICKETS, &k, &c->after->base, 0, err);
    if (rc == 0)
        rc = hd_sla_engine_observe(NULL, &ch, err);
    hd_arena_destroy(a);
    return rc;
}

static void change(Helpdesk__V1__Ticket *before, Helpdesk__V1__Ticket *after, int author,
                   int64_t now_s)
{
    Helpdesk__V1__Message m = HELPDESK__V1__MESSAGE__INIT;
    m.author_kind = author;
    change_arg c = {before, after, author ? &m : NULL, now_s * 1000};
    hd_err err;
    int rc = hd_store_write(F.s, change_apply, &c, &err);
    if (rc)
        fail_msg("change: %s %s", hd_errname(rc), err.detail);
}

static Helpdesk__V1__Ticket ticket(uint64_t id, int status)
{
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    t.id = id;
    t.status = status;
    t.priority = HELPDESK__V1__PRIORITY__PRIORITY_NORMAL;
    t.category = (char *)"billing";
    t.group_id = 3;
    return t;
}

static int step(int64_t now_s)
{
    int fired = -1;
    hd_err err;
    int rc = hd_sla_monitor_step(F.s, now_s * 1000, &fired, &err);
    if (rc)
        fail_msg("step: %s %s", hd_errname(rc), err.detail);
    return fired;
}

static hd_sla_ticket load(uint64_t id)
{
    hd_sla_ticket t;
    hd_txn *rt;
    hd_err err;
    assert_int_equal(hd_store_read_begin(F.s, &rt, &err), 0);
    assert_int_equal(hd_sla_record_load(rt, id, &t, &err), 0);
    hd_store_read_end(rt);
    return t;
}

static uint64_t rollup(const char *measure, uint32_t dim, int64_t day_s)
{
    char m[200];
    uint64_t v = 0;
    hd_txn *rt;
    hd_err err;
    assert_int_equal(hd_store_read_begin(F.s, &rt, &err), 0);
    hd_sla_rollups_metric(m, sizeof(m), measure, HELPDESK__V1__PRIORITY__PRIORITY_NORMAL, 3,
                          "billing");
    assert_int_equal(hd_rollup_get(rt, m, hd_rollup_day(day_s * 1000), dim, &v, &err), 0);
    hd_store_read_end(rt);
    return v;
}

enum { NEW = 1, OPEN = 2, PENDING = 3, SOLVED = 4 };

static void breach_fires_once_at_the_right_minute_and_escalates_once(void **s)
{
    (void)s;
    Helpdesk__V1__Ticket t0 = ticket(1, NEW);
    change(NULL, &t0, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER, MON + 9 * H);
    int64_t next = 0;
    hd_err err;
    assert_int_equal(hd_sla_monitor_next(F.s, &next, &err), 0);
    assert_int_equal(next, MON + 9 * H + 48 * M); /* 80% warning of the first response */
    assert_int_equal(step(MON + 9 * H + 47 * M), 0);
    assert_int_equal(step(MON + 9 * H + 48 * M), 1); /* warning */
    assert_int_equal(step(MON + 10 * H), 0);         /* due at 10:00 exactly: not yet */
    assert_int_equal(F.escalations, 0);
    assert_int_equal(step(MON + 10 * H + 1), 1); /* breach */
    assert_int_equal(F.escalations, 1);
    assert_int_equal(step(MON + 10 * H + 2), 0);
    assert_int_equal(step(MON + 11 * H), 0);
    assert_int_equal(F.escalations, 1);
    hd_sla_ticket r = load(1);
    assert_int_equal(r.clocks[0].breached, 1);
    assert_int_equal(rollup("breached", 1, MON + 10 * H), 1);
    /* The reply comes late: breached, not met, first response time recorded. */
    Helpdesk__V1__Ticket t1 = ticket(1, OPEN);
    change(&t0, &t1, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF, MON + 11 * H);
    assert_int_equal(rollup("breached", 1, MON + 11 * H), 1);
    assert_int_equal(rollup("met", 1, MON + 11 * H), 0);
    assert_int_equal(rollup("first_responses", 0, MON + 11 * H), 1);
    assert_int_equal(rollup("frt_sum", 0, MON + 11 * H), 2 * H);
}

static void restart_neither_repeats_nor_misses_a_breach(void **s)
{
    (void)s;
    Helpdesk__V1__Ticket a = ticket(10, NEW), b = ticket(11, NEW);
    change(NULL, &a, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER, MON + 9 * H);
    change(NULL, &b, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER, MON + 9 * H + 30 * M);
    /* Ticket 10 breaches before the "crash"; ticket 11 (warning 10:18, due 10:30) after. */
    assert_int_equal(step(MON + 10 * H + 1), 2); /* ticket 10: warning + breach */
    assert_int_equal(F.escalations, 1);
    hd_store_close(F.s);
    open_store();
    assert_int_equal(step(MON + 10 * H + 1), 0); /* nothing repeats */
    assert_int_equal(step(MON + 12 * H), 2);     /* ticket 11's warning and breach, late */
    assert_int_equal(F.escalations, 2);
    assert_int_equal(step(MON + 12 * H), 0);
}

static void pending_time_moves_the_due_and_removes_the_index_entry(void **s)
{
    (void)s;
    Helpdesk__V1__Ticket t0 = ticket(20, NEW), t1 = ticket(20, PENDING), t2 = ticket(20, OPEN);
    change(NULL, &t0, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER, MON + 9 * H);
    change(&t0, &t1, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF, MON + 9 * H + 10 * M);
    hd_sla_ticket r = load(20);
    assert_int_equal(r.clocks[2].paused, 1);
    assert_int_equal(step(MON + 30 * H), 0); /* paused: nothing to fire */
    change(&t1, &t2, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER, MON + 24 * H + 9 * H);
    r = load(20);
    /* 8 h resolution, 10 min used Monday: due Tuesday 16:50. */
    assert_int_equal(r.clocks[2].due_s, MON + 24 * H + 16 * H + 50 * M);
}

static void rollup_percentiles_are_within_five_percent_over_a_month(void **s)
{
    (void)s;
    /* A month of tickets with log-uniform first-response times from 1 minute to 3 days. */
    uint64_t counts[HD_SLA_BUCKETS] = {0};
    static int64_t v[20000];
    uint64_t x = 12345;
    int n = 20000;
    for (int i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double u = (double)(x % 1000000) / 1e6;
        v[i] = (int64_t)(exp(u * log(4320.0)));
        counts[hd_sla_rollups_bucket(v[i])]++;
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            int64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    double qs[] = {0.5, 0.9};
    for (int k = 0; k < 2; k++) {
        double exact = (double)v[(int)(qs[k] * n + 0.999999) - 1];
        double est = hd_sla_rollups_percentile(counts, qs[k]);
        double rel = (est - exact) / exact;
        if (rel > 0.05 || rel < -0.05)
            fail_msg("p%.0f: exact %.1f, rollup %.1f (%.1f%%)", qs[k] * 100, exact, est, rel * 100);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void month_of_tickets_rollup_percentiles_match_exact_within_five_percent(void **s)
{
    (void)s;
    enum { N = 3000 };
    static int64_t taken_min[N];
    uint64_t x = 99;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t created = MON + (int64_t)(x % (30 * 86400));
        double u = (double)((x >> 20) % 1000000) / 1e6;
        int64_t replied = created + 60 + (int64_t)(exp(u * log(6000.0)) * 60);
        Helpdesk__V1__Ticket t0 = ticket(1000 + (uint64_t)i, NEW),
                             t1 = ticket(1000 + (uint64_t)i, OPEN);
        change(NULL, &t0, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER, created);
        change(&t0, &t1, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF, replied);
        hd_sla_ticket r = load(1000 + (uint64_t)i);
        taken_min[i] = r.clocks[0].taken_s / 60;
    }
    /* The month's first-response histogram, summed over days from the rollups. */
    uint64_t counts[HD_SLA_BUCKETS] = {0};
    for (int64_t day = MON; day < MON + 40 * 86400; day += 86400)
        for (uint32_t b = 0; b < HD_SLA_BUCKETS; b++)
            counts[b] += rollup("frt_hist", b, day);
    uint64_t total = 0;
    for (int b = 0; b < HD_SLA_BUCKETS; b++)
        total += counts[b];
    assert_int_equal(total, N);
    qsort(taken_min, N, sizeof(taken_min[0]), cmp_i64);
    double qs[] = {0.5, 0.9};
    for (int k = 0; k < 2; k++) {
        double exact = (double)taken_min[(int)ceil(qs[k] * N) - 1];
        double est = hd_sla_rollups_percentile(counts, qs[k]);
        double rel = (est - exact) / exact;
        if (rel > 0.05 || rel < -0.05)
            fail_msg("p%.0f: exact %.1f min, rollups %.1f min (%.1f%%)", qs[k] * 100, exact, est,
                     rel * 100);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* ---- Layout migration: SLA state written to SETTINGS by older binaries ------------------ */

typedef struct old_rec {
    hd_key key;
    unsigned char val[1024];
    size_t len;
} old_rec;

typedef struct old_layout {
    old_rec recs[16];
    size_t n;
} old_layout;

static int collect_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    old_layout *o = arg;
    assert_true(o->n < 16 && vlen <= sizeof(o->recs[0].val));
    hd_key_init(&o->recs[o->n].key);
    hd_key_bytes(&o->recs[o->n].key, key, klen);
    memcpy(o->recs[o->n].val, val, vlen);
    o->recs[o->n++].len = vlen;
    return 0;
}

static int clear_table(hd_txn *txn, hd_table t, old_layout *o, hd_err *err)
{
    o->n = 0;
    int64_t n = hd_store_scan(txn, t, NULL, collect_cb, o, err);
    for (size_t i = 0; n >= 0 && i < o->n; i++)
        if (hd_store_del(txn, t, &o->recs[i].key, err) < 0)
            return -1;
    return n < 0 ? (int)n : 0;
}

/* Rewrites the store the way binaries before the SLA tables left it: config and clock
 * records in SETTINGS ("sla.cal"/"sla.pol" + id, "sla.tkt" + id), no list indexes, no
 * layout marker. IDX_SLADUE stays (it existed then). */
static int to_old_layout_apply(hd_txn *txn, void *arg, hd_err *err)
{
    old_layout *o = arg;
    hd_key k;
    int rc = clear_table(txn, HD_STORE_SLA_CONFIG, o, err);
    for (size_t i = 0; rc == 0 && i < o->n; i++)
        rc = hd_store_put(txn, HD_STORE_SETTINGS, &o->recs[i].key, o->recs[i].val, o->recs[i].len,
                          0, err);
    if (rc == 0)
        rc = clear_table(txn, HD_STORE_SLA_CLOCKS, o, err);
    for (size_t i = 0; rc == 0 && i < o->n; i++) {
        hd_key_init(&k);
        hd_key_str(&k, "sla.tkt");
        hd_key_bytes(&k, o->recs[i].key.buf, o->recs[i].key.len);
        rc = hd_store_put(txn, HD_STORE_SETTINGS, &k, o->recs[i].val, o->recs[i].len, 0, err);
    }
    if (rc == 0)
        rc = clear_table(txn, HD_STORE_IDX_SLARUN, o, err);
    if (rc == 0)
        rc = clear_table(txn, HD_STORE_IDX_SLABREACHED, o, err);
    hd_key_init(&k);
    hd_key_str(&k, HD_SLA_LAYOUT_SETTING);
    if (rc == 0 && hd_store_del(txn, HD_STORE_SETTINGS, &k, err) == HD_ENOTFOUND)
        hd_err_clear(err);
    return rc;
}

static uint64_t table_count(hd_table t)
{
    hd_txn *rt;
    hd_err err;
    uint64_t n = 0;
    assert_int_equal(hd_store_read_begin(F.s, &rt, &err), 0);
    assert_int_equal(hd_store_count(rt, t, &n, &err), 0);
    hd_store_read_end(rt);
    return n;
}

static void store_with_sla_state_in_settings_is_moved_once_and_clocks_continue(void **s)
{
    (void)s;
    static old_layout o;
    hd_err err;
    uint64_t moved = 99;
    Helpdesk__V1__Ticket t0 = ticket(20, NEW);
    change(NULL, &t0, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER, MON + 9 * H);
    assert_int_equal(step(MON + 9 * H + 48 * M), 1); /* warning before the upgrade */
    assert_int_equal(hd_store_write(F.s, to_old_layout_apply, &o, &err), 0);
    assert_int_equal(table_count(HD_STORE_SLA_CLOCKS), 0);
    assert_int_equal(table_count(HD_STORE_SLA_CONFIG), 0);
    hd_store_close(F.s);
    open_store();
    assert_int_equal(hd_sla_migrate(F.s, &moved, &err), 0);
    assert_int_equal(moved, 3); /* calendar, policy, one clock record */
    assert_int_equal(hd_sla_migrate(F.s, &moved, &err), 0);
    assert_int_equal(moved, 0); /* once */
    assert_int_equal(table_count(HD_STORE_SLA_CONFIG), 2);
    assert_int_equal(table_count(HD_STORE_SLA_CLOCKS), 1);
    assert_int_equal(table_count(HD_STORE_IDX_SLARUN), 1); /* one entry per ticket */
    hd_sla_ticket r = load(20);
    assert_int_equal(r.clocks[0].warned, 1);
    /* The monitor fires the breach once, escalating once; no second warning. */
    assert_int_equal(step(MON + 10 * H), 0);
    assert_int_equal(step(MON + 10 * H + 1), 1);
    assert_int_equal(F.escalations, 1);
    assert_int_equal(step(MON + 10 * H + 2), 0);
    assert_int_equal(table_count(HD_STORE_IDX_SLABREACHED), 1);
    /* Ticket changes keep moving the clocks: the late reply records the first response. */
    Helpdesk__V1__Ticket t1 = ticket(20, OPEN);
    change(&t0, &t1, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF, MON + 11 * H);
    assert_int_equal(rollup("first_responses", 0, MON + 11 * H), 1);
    assert_int_equal(rollup("frt_sum", 0, MON + 11 * H), 2 * H);
    assert_int_equal(table_count(HD_STORE_IDX_SLABREACHED), 0);
    assert_int_equal(table_count(HD_STORE_IDX_SLARUN), 1); /* resolution still runs */
}

/* ---- ListTickets' SLA filters from the indexes, against a brute-force reading ---------- */

#define LT_N 80

typedef struct expect {
    uint64_t id;
    int64_t key;
} expect;

static int cmp_due(const void *x, const void *y)
{
    const expect *a = x, *b = y;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* Every ticket the filter selects, read from every SLA record, in the documented order. */
static size_t brute_force(int breached, int32_t within, int64_t now_s, expect *out)
{
    size_t n = 0;
    for (uint64_t id = 1; id <= LT_N; id++) {
        hd_sla_ticket t = load(id);
        int is_b = 0, has_due = 0;
        int64_t first = 0;
        for (int i = 0; i < HD_SLA_TARGETS; i++) {
            const hd_sla_clock *c = &t.clocks[i];
            if (!c->running)
                continue;
            is_b |= c->breached;
            if (!has_due || c->due_s < first)
                first = c->due_s;
            has_due = 1;
        }
        int keep = breached ? is_b : has_due && first <= now_s + within * 60;
        if (keep)
            out[n++] = (expect){id, breached ? 0 : first};
    }
    if (breached) /* newest first */
        for (size_t i = 0; i < n / 2; i++) {
            expect x = out[i];
            out[i] = out[n - 1 - i];
            out[n - 1 - i] = x;
        }
    else
        qsort(out, n, sizeof(*out), cmp_due);
    return n;
}

static void check_listing(int breached, int32_t within, int64_t now_s, int32_t page)
{
    static expect want[LT_N];
    size_t n_want = brute_force(breached, within, now_s, want), got = 0;
    hd_arena *a = hd_arena_create(0);
    char token[128] = "";
    hd_err err;
    for (int pages = 0; pages <= LT_N; pages++) {
        hd_tickets_query q = {.page_size = page,
                              .page_token = token,
                              .sla_breached = breached,
                              .sla_due_within_min = within,
                              .sla_now_s = now_s};
        hd_tickets_page pg;
        hd_arena_reset(a);
        int rc = hd_tickets_list(F.s, a, &q, &pg, &err);
        if (rc)
            fail_msg("list: %s %s", hd_errname(rc), err.detail);
        for (size_t i = 0; i < pg.n_tickets; i++, got++) {
            if (got >= n_want || pg.tickets[i]->id != want[got].id)
                fail_msg("breached=%d within=%d: entry %zu is ticket %llu, want %llu of %zu",
                         breached, within, got, (unsigned long long)pg.tickets[i]->id,
                         (unsigned long long)(got < n_want ? want[got].id : 0), n_want);
        }
        if (!pg.next_page_token[0])
            break;
        /* Full pages until the end, each read in O(page): one index entry per ticket (and
         * one past the page), the ticket records and the entry past the due limit. */
        assert_int_equal(pg.n_tickets, page);
        if (pg.visited > 2u * (uint64_t)(page + 1) + 1)
            fail_msg("page read %llu entries for %d tickets", (unsigned long long)pg.visited, page);
        snprintf(token, sizeof(token), "%s", pg.next_page_token);
    }
    if (got != n_want)
        fail_msg("breached=%d within=%d: listed %zu, want %zu", breached, within, got, n_want);
    hd_arena_destroy(a);
}

static void sla_filters_list_full_pages_in_index_order_matching_brute_force(void **s)
{
    (void)s;
    Helpdesk__V1__Ticket before[LT_N + 1], after;
    /* Tickets arrive every 7 minutes from 9:00; some get a reply (first response met,
     * resolution runs), some then wait on the customer (pending: clocks paused). */
    for (uint64_t id = 1; id <= LT_N; id++) {
        before[id] = ticket(id, NEW);
        change(NULL, &before[id], HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER,
               MON + 9 * H + (int64_t)id * 7 * M);
    }
    for (uint64_t id = 1; id <= LT_N; id++) {
        if (id % 3 == 0) {
            after = ticket(id, id % 2 ? PENDING : OPEN);
            change(&before[id], &after, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF,
                   MON + 9 * H + (int64_t)id * 7 * M + 20 * M);
        }
    }
    int64_t now = MON + 12 * H;
    assert_true(step(now) > 0);
    assert_true(table_count(HD_STORE_IDX_SLABREACHED) > 10);
    check_listing(1, 0, now, 7);
    check_listing(1, 30, now, 4);
    check_listing(0, 1, now, 7);
    check_listing(0, 90, now, 6);
    check_listing(0, 600, now, 9);
    check_listing(0, 600, now, 100);
    check_listing(0, 3 * 24 * 60, now, 5); /* both clocks of the unanswered ones */
    check_listing(0, 3 * 24 * 60, now, 100);
}

/* ---- Dashboard medians in working minutes ----------------------------------------------- */

typedef struct met_at {
    int64_t day; /* UTC day of the reply / solve */
    int64_t min; /* working minutes taken */
} met_at;

/* The exact lower median of the minutes of v[0..n) met in days [from, to]; *count gets how
 * many. Returns -1 when none. */
static int64_t exact_median(const met_at *v, int n, int64_t from, int64_t to, uint64_t *count)
{
    static int64_t m[2000];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (v[i].day >= from && v[i].day <= to)
            m[k++] = v[i].min;
    *count = (uint64_t)k;
    if (k == 0)
        return -1;
    qsort(m, (size_t)k, sizeof(m[0]), cmp_i64);
    return m[(k + 1) / 2 - 1];
}

static void assert_close(const char *what, int64_t got, int64_t exact)
{
    /* Buckets are exact below 20 minutes, then 8% wide: the geometric middle is within 4%;
     * +1 for rounding to whole minutes. */
    double tol = 0.04 * (double)exact + 1;
    if ((double)llabs(got - exact) > tol)
        fail_msg("%s: dashboard %lld min, exact %lld min (tolerance %.1f)", what, (long long)got,
                 (long long)exact, tol);
}

static void dashboard_medians_are_working_minutes_within_the_histogram_error(void **s)
{
    (void)s;
    enum { N = 800 };
    static met_at frt[N], res[N];
    uint64_t x = 7;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t created = MON + 2 * 86400 + (int64_t)(x % (7 * 86400));
        double u = (double)((x >> 20) % 1000000) / 1e6, v = (double)((x >> 40) % 1000) / 1e3;
        int64_t replied = created + 60 + (int64_t)(exp(u * log(3000.0)) * 60);
        int64_t solved = replied + 60 + (int64_t)(exp(v * log(4000.0)) * 60);
        uint64_t id = 5000 + (uint64_t)i;
        Helpdesk__V1__Ticket t0 = ticket(id, NEW), t1 = ticket(id, OPEN), t2 = ticket(id, SOLVED);
        change(NULL, &t0, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER, created);
        change(&t0, &t1, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF, replied);
        change(&t1, &t2, 0, solved);
        hd_sla_ticket r = load(id);
        assert_int_not_equal(r.clocks[2].met_s, 0);
        frt[i] = (met_at){replied / 86400, r.clocks[0].taken_s / 60};
        res[i] = (met_at){solved / 86400, r.clocks[2].taken_s / 60};
    }
    int64_t now_s = MON + 9 * 86400 + 15 * H; /* Wednesday of the second week */
    int64_t today = now_s / 86400;
    hd_arena *a = hd_arena_create(0);
    Helpdesk__V1__Dashboard d;
    hd_err err;
    int rc = hd_dashboard_get(F.s, a, now_s * 1000, &d, &err);
    if (rc)
        fail_msg("dashboard: %s %s", hd_errname(rc), err.detail);
    struct {
        const char *name;
        const Helpdesk__V1__DashboardMedians *m;
        int64_t from;
    } w[] = {{"today", d.today, today}, {"last 7 days", d.last_7_days, today - 6}};
    for (int k = 0; k < 2; k++) {
        uint64_t n_frt, n_res;
        int64_t e_frt = exact_median(frt, N, w[k].from, today, &n_frt);
        int64_t e_res = exact_median(res, N, w[k].from, today, &n_res);
        assert_true(n_frt > 20 && n_res > 20);
        assert_int_equal(w[k].m->working_minutes, 1);
        assert_int_equal(w[k].m->first_responses, n_frt);
        assert_int_equal(w[k].m->resolutions, n_res);
        assert_close(w[k].name, w[k].m->first_response_minutes, e_frt);
        assert_close(w[k].name, w[k].m->resolution_minutes, e_res);
    }
    hd_arena_destroy(a);
}

/* ---- A breach found by an ordinary ticket change escalates once, through the monitor ---- */

static void breach_found_by_a_ticket_change_escalates_once_via_the_monitor(void **s)
{
    (void)s;
    Helpdesk__V1__Ticket t0 = ticket(30, NEW), t1 = ticket(30, NEW);
    change(NULL, &t0, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER, MON + 9 * H);
    /* No monitor step ran: the customer's second message at 11:00 finds the warning
     * (9:48) and the breach (10:00) in its catch-up. */
    change(&t0, &t1, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER, MON + 11 * H);
    assert_int_equal(load(30).clocks[0].breached, 1);
    assert_int_equal(F.escalations, 0); /* not inside the ticket's own mutation */
    int64_t next = 0;
    hd_err err;
    assert_int_equal(hd_sla_monitor_next(F.s, &next, &err), 0);
    assert_int_equal(next, MON + 11 * H);    /* the monitor is due at once */
    assert_int_equal(step(MON + 11 * H), 0); /* nothing new to log... */
    assert_int_equal(F.escalations, 1);      /* ...but the escalation runs */
    assert_int_equal(step(MON + 11 * H + 1), 0);
    hd_store_close(F.s);
    open_store();
    assert_int_equal(step(MON + 12 * H), 0);
    assert_int_equal(F.escalations, 1); /* exactly once, restart included */
    assert_int_equal(rollup("breached", 1, MON + 11 * H), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(breach_fires_once_at_the_right_minute_and_escalates_once),
        T(restart_neither_repeats_nor_misses_a_breach),
        T(pending_time_moves_the_due_and_removes_the_index_entry),
        cmocka_unit_test(rollup_percentiles_are_within_five_percent_over_a_month),
        T(month_of_tickets_rollup_percentiles_match_exact_within_five_percent),
        T(store_with_sla_state_in_settings_is_moved_once_and_clocks_continue),
        T(sla_filters_list_full_pages_in_index_order_matching_brute_force),
        T(dashboard_medians_are_working_minutes_within_the_histogram_error),
        T(breach_found_by_a_ticket_change_escalates_once_via_the_monitor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
