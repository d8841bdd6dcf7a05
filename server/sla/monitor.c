/* The SLA monitor thread and its step: scan the due index up to now, tick those tickets in
 * one mutation, sleep until the next fire time or a wake from the engine. */
#include "server/sla/monitor.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/clock/clock.h"
#include "server/common/log.h"
#include "server/common/worker.h"
#include "server/sla/engine.h"
#include "server/sla/migrate.h"
#include "server/sla/record.h"

/* Longest sleep without looking at the index (covers a clock jump). */
#define IDLE_WAIT_MS 60000
/* A wake hint arrives from inside the transaction that will commit the entry, possibly before
 * it is visible: while the index does not show it yet, look again this often, at most for
 * HINT_TTL_MS (after which the transaction was undone or its entry already fired). */
#define HINT_POLL_MS 10
#define HINT_TTL_MS  2000

typedef struct due_entry {
    int64_t at_s;
    uint64_t ticket;
    uint8_t target;
} due_entry;

typedef struct batch {
    int64_t now_ms;
    size_t n;
    due_entry e[HD_SLA_MONITOR_BATCH];
    int fired; /* result of the apply */
    hd_arena *arena;
} batch;

static int collect_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    batch *b = arg;
    hd_key_reader r;
    hd_err e;
    due_entry d;
    hd_key_reader_init(&r, key, klen);
    if (hd_key_read_i64(&r, &d.at_s, &e) < 0 || hd_key_read_u64(&r, &d.ticket, &e) < 0 ||
        hd_key_read_u8(&r, &d.target, &e) < 0)
        return 0; /* not ours: skip */
    if (d.at_s > b->now_ms / 1000)
        return 1;
    b->e[b->n++] = d;
    return b->n == HD_SLA_MONITOR_BATCH ? 1 : 0;
}

static int tick_apply(hd_txn *txn, void *arg, hd_err *err)
{
    batch *b = arg;
    b->fired = 0;
    hd_arena_reset(b->arena);
    for (size_t i = 0; i < b->n; i++) {
        if (i > 0 && b->e[i].ticket == b->e[i - 1].ticket && b->e[i].at_s == b->e[i - 1].at_s)
            continue;
        int f = 0;
        int rc = hd_sla_engine_tick(txn, b->arena, b->e[i].ticket, b->now_ms, &f, err);
        if (rc < 0)
            return rc;
        b->fired += f;
    }
    /* An entry the record no longer points at (should not happen: entries move with their
     * record) is dropped so the monitor cannot spin on it. */
    for (size_t i = 0; i < b->n; i++) {
        hd_sla_ticket t;
        hd_key k;
        int rc = hd_sla_record_load(txn, b->e[i].ticket, &t, err);
        if (rc < 0 && rc != HD_ENOTFOUND)
            return rc;
        int target = b->e[i].target;
        int64_t want = rc == 0 && target >= 1 && target <= HD_SLA_TARGETS
                           ? hd_sla_clock_next_fire(&t.clocks[target - 1])
                           : 0;
        if (want != b->e[i].at_s) {
            rc = hd_store_del(txn, HD_STORE_IDX_SLADUE,
                              hd_sla_record_due_key(&k, b->e[i].at_s, b->e[i].ticket, target), err);
            if (rc < 0 && rc != HD_ENOTFOUND)
                return rc;
        }
        hd_err_clear(err);
    }
    return 0;
}

int hd_sla_monitor_step(hd_store *s, int64_t now_ms, int *fired, hd_err *err)
{
    int rc = 0, total = 0;
    batch *b = calloc(1, sizeof(*b));
    if (!b)
        return hd_err_set(err, HD_ENOMEM, "sla monitor: out of memory");
    b->arena = hd_arena_create(0);
    if (!b->arena) {
        rc = hd_err_set(err, HD_ENOMEM, "sla monitor: out of memory");
        goto fail;
    }
    /* Bounded: each round moves up to a batch of entries past now or removes them. */
    for (int round = 0; round < 100000; round++) {
        hd_txn *rt = NULL;
        b->n = 0;
        b->now_ms = now_ms;
        rc = hd_store_read_begin(s, &rt, err);
        if (rc < 0)
            goto fail;
        int64_t sc = hd_store_scan(rt, HD_STORE_IDX_SLADUE, NULL, collect_cb, b, err);
        hd_store_read_end(rt);
        if (sc < 0) {
            rc = (int)sc;
            goto fail;
        }
        if (b->n == 0)
            break;
        rc = hd_store_write(s, tick_apply, b, err);
        if (rc < 0)
            goto fail;
        total += b->fired;
    }
fail:
    if (fired)
        *fired = total;
    if (b)
        hd_arena_destroy(b->arena);
    free(b);
    return rc;
}

static int first_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    hd_key_reader r;
    hd_err e;
    hd_key_reader_init(&r, key, klen);
    if (hd_key_read_i64(&r, arg, &e) < 0)
        *(int64_t *)arg = 0;
    return 1;
}

int hd_sla_monitor_next(hd_store *s, int64_t *next_s, hd_err *err)
{
    hd_txn *rt = NULL;
    hd_store_range r = {.limit = 1};
    *next_s = 0;
    int rc = hd_store_read_begin(s, &rt, err);
    if (rc < 0)
        return rc;
    int64_t sc = hd_store_scan(rt, HD_STORE_IDX_SLADUE, &r, first_cb, next_s, err);
    hd_store_read_end(rt);
    return sc < 0 ? (int)sc : 0;
}

struct hd_sla_monitor {
    hd_store *store;
    hd_worker w; /* w.mu guards the fields below */
    int kicked;
    int64_t sleeping_until_s; /* fire time the thread waits for (INT64_MAX: idle) */
    int64_t hint_s;           /* earliest fire time announced and not yet seen in the index */
    int64_t hint_mono_ms;     /* when that hint arrived (CLOCK_MONOTONIC) */
    uint64_t runs;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake(void *ud, int64_t fire_s)
{
    hd_sla_monitor *m = ud;
    pthread_mutex_lock(&m->w.mu);
    if (!m->hint_s || fire_s < m->hint_s) {
        m->hint_s = fire_s;
        m->hint_mono_ms = mono_ms();
    }
    if (fire_s < m->sleeping_until_s) {
        m->kicked = 1;
        pthread_cond_signal(&m->w.cv);
    }
    pthread_mutex_unlock(&m->w.mu);
}

static void *monitor_main(void *arg)
{
    hd_sla_monitor *m = arg;
    pthread_mutex_lock(&m->w.mu);
    while (!m->w.stop) {
        m->kicked = 0;
        m->sleeping_until_s = INT64_MAX; /* working: any wake counts */
        pthread_mutex_unlock(&m->w.mu);
        hd_err err;
        hd_err_clear(&err);
        int fired = 0;
        int64_t now = hd_clock_now_ms();
        int rc = hd_sla_monitor_step(m->store, now, &fired, &err);
        if (rc < 0)
            hd_log(HD_LOG_WARN, "sla_monitor_failed", "code=%s detail=\"%s\"", hd_errname(rc),
                   err.detail);
        else if (fired)
            hd_log(HD_LOG_INFO, "sla_fired", "count=%d", fired);
        int64_t next = 0;
        if (hd_sla_monitor_next(m->store, &next, &err) < 0)
            next = 0;
        pthread_mutex_lock(&m->w.mu);
        m->runs++;
        pthread_cond_broadcast(&m->w.cv);
        if (m->w.stop || m->kicked)
            continue;
        int64_t wait_ms = IDLE_WAIT_MS;
        if (next) {
            int64_t d = next * 1000 - hd_clock_now_ms();
            wait_ms = d < 0 ? 0 : d < IDLE_WAIT_MS ? d : IDLE_WAIT_MS;
        }
        m->sleeping_until_s = next ? next : INT64_MAX;
        if (m->hint_s) {
            if ((next && next <= m->hint_s) || mono_ms() - m->hint_mono_ms > HINT_TTL_MS)
                m->hint_s = 0; /* the index shows it (or it will never appear) */
            else if (wait_ms > HINT_POLL_MS)
                wait_ms = HINT_POLL_MS;
        }
        if (rc < 0 && wait_ms > 1000)
            wait_ms = 1000; /* retry a failed step soon */
        struct timespec ts;
        hd_worker_deadline(&ts, wait_ms);
        while (!m->w.stop && !m->kicked) {
            if (pthread_cond_timedwait(&m->w.cv, &m->w.mu, &ts) == ETIMEDOUT)
                break;
        }
    }
    pthread_mutex_unlock(&m->w.mu);
    return NULL;
}

int hd_sla_monitor_start(hd_sla_monitor **out, hd_store *s, hd_err *err)
{
    *out = NULL;
    int rc = hd_sla_migrate(s, NULL, err); /* before the first step reads the SLA tables */
    if (rc < 0)
        return rc;
    hd_sla_monitor *m = calloc(1, sizeof(*m));
    if (!m)
        return hd_err_set(err, HD_ENOMEM, "sla monitor: out of memory");
    m->store = s;
    m->sleeping_until_s = INT64_MAX;
    rc = hd_worker_start(&m->w, monitor_main, m, "sla monitor", err);
    if (rc < 0) {
        free(m);
        return rc;
    }
    /* The wake hook needs w.mu, so it comes once the thread runs; the kick makes the thread
     * look again at anything that came due before the hook was in place. */
    hd_sla_engine_set_wake(wake, m);
    hd_sla_monitor_kick(m);
    *out = m;
    return 0;
}

void hd_sla_monitor_kick(hd_sla_monitor *m)
{
    pthread_mutex_lock(&m->w.mu);
    m->kicked = 1;
    pthread_cond_broadcast(&m->w.cv);
    pthread_mutex_unlock(&m->w.mu);
}

uint64_t hd_sla_monitor_runs(hd_sla_monitor *m)
{
    pthread_mutex_lock(&m->w.mu);
    uint64_t n = m->runs;
    pthread_mutex_unlock(&m->w.mu);
    return n;
}

void hd_sla_monitor_stop(hd_sla_monitor *m)
{
    if (!m)
        return;
    hd_sla_engine_set_wake(NULL, NULL);
    hd_worker_stop(&m->w);
    free(m);
}
