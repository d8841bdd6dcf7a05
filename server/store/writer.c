/* Group commit: one writer thread owns every write transaction. It drains the queue into
 * one transaction (each mutation in a nested transaction), commits once and acknowledges
 * all. MDB_MAP_FULL aborts the batch, grows the map and replays it; at the cap the
 * mutation that does not fit fails alone with HD_EFULL and the rest are replayed. */
#include "server/store/internal.h"

#include <stdlib.h>
#include <string.h>

#include "server/common/log.h"

#define HD_STORE_READER_CHECK_MS 60000u

/* Grows the map (double, capped). Called with no transaction open. Returns 1 if it grew. */
static int grow_map(hd_store *s)
{
    uint64_t next = 0;
    int rc = 0;
    /* Exclusive: no transaction of this process may be open while the map is remapped
     * (and readers adopting another process's size write map_size under this lock too). */
    pthread_rwlock_wrlock(&s->map_lock);
    if (s->map_size >= s->map_max) {
        pthread_rwlock_unlock(&s->map_lock);
        return 0;
    }
    next = s->map_size * 2;
    if (next > s->map_max || next < s->map_size)
        next = s->map_max;
    rc = mdb_env_set_mapsize(s->env, (size_t)next);
    if (rc == 0) {
        MDB_envinfo info;
        mdb_env_info(s->env, &info);
        s->map_size = info.me_mapsize;
        next = s->map_size;
    }
    pthread_rwlock_unlock(&s->map_lock);
    if (rc) {
        hd_log(HD_LOG_ERROR, "store_grow_failed", "path=%s to=%llu error=\"%s\"", s->path,
               (unsigned long long)next, mdb_strerror(rc));
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    s->grows++;
    pthread_mutex_unlock(&s->mu);
    hd_log(HD_LOG_INFO, "store_map_grown", "path=%s map_size=%llu map_max=%llu", s->path,
           (unsigned long long)next, (unsigned long long)s->map_max);
    return 1;
}

static void set_full(hd_store *s, hd_store__mut *m)
{
    m->excluded = 1;
    hd_err_set(&m->err, HD_EFULL, "store full: map reached %llu bytes; raise --map-max",
               (unsigned long long)s->map_max);
}

enum attempt_result { ATTEMPT_DONE, ATTEMPT_MAP_FULL, ATTEMPT_TXN_FULL };

/* One try at committing batch[0..n). On MAP_FULL/TXN_FULL everything is aborted and *at
 * names the mutation that hit it (n: the final commit). */
static enum attempt_result attempt(hd_store *s, hd_store__mut **batch, size_t n, size_t *at,
                                   size_t *committed)
{
    MDB_txn *txn = NULL;
    int rc, txn_full = 0;
    *committed = 0;
    pthread_rwlock_rdlock(&s->map_lock);
    for (int tries = 0;; tries++) {
        rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        if (rc != MDB_MAP_RESIZED || tries >= 4)
            break;
        pthread_rwlock_unlock(&s->map_lock);
        pthread_rwlock_wrlock(&s->map_lock);
        mdb_env_set_mapsize(s->env, 0);
        pthread_rwlock_unlock(&s->map_lock);
        pthread_rwlock_rdlock(&s->map_lock);
    }
    if (rc) {
        pthread_rwlock_unlock(&s->map_lock);
        for (size_t i = 0; i < n; i++)
            if (!batch[i]->excluded)
                hd_store__mdb_err(NULL, rc, &batch[i]->err, "store: begin write txn");
        return ATTEMPT_DONE;
    }
    for (size_t i = 0; i < n; i++) {
        hd_store__mut *m = batch[i];
        if (m->excluded)
            continue;
        hd_err_clear(&m->err);
        hd_txn t = {.s = s, .write = 1};
        rc = mdb_txn_begin(s->env, txn, 0, &t.txn);
        if (rc) {
            hd_store__mdb_err(&t, rc, &m->err, "store: begin nested txn");
            if (t.map_full || t.txn_full) {
                *at = i;
                txn_full = t.txn_full;
                goto abort_all;
            }
            continue;
        }
        rc = m->apply(&t, m->arg, &m->err);
        if (t.map_full || t.txn_full) {
            mdb_txn_abort(t.txn);
            *at = i;
            txn_full = t.txn_full;
            goto abort_all;
        }
        if (rc != 0) {
            mdb_txn_abort(t.txn);
            if (rc > 0 || m->err.code == 0)
                hd_err_set(&m->err, rc < 0 ? rc : HD_EINTERNAL,
                           "store: mutation failed without detail (%d)", rc);
            continue;
        }
        /* Success: drop any detail a probe inside apply left behind (a lookup that found
         * nothing), or the mutation would be acknowledged as failed after committing. */
        hd_err_clear(&m->err);
        rc = mdb_txn_commit(t.txn);
        if (rc) {
            hd_store__mdb_err(&t, rc, &m->err, "store: nested commit");
            if (t.map_full || t.txn_full) {
                *at = i;
                txn_full = t.txn_full;
                goto abort_all;
            }
        }
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    pthread_rwlock_unlock(&s->map_lock);
    if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL) {
        *at = n;
        return rc == MDB_MAP_FULL ? ATTEMPT_MAP_FULL : ATTEMPT_TXN_FULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (batch[i]->excluded || batch[i]->err.code)
            continue;
        if (rc)
            hd_store__mdb_err(NULL, rc, &batch[i]->err, "store: commit");
        else
            (*committed)++;
    }
    if (rc)
        hd_log(HD_LOG_ERROR, "store_commit_failed", "path=%s error=\"%s\"", s->path,
               mdb_strerror(rc));
    return ATTEMPT_DONE;
abort_all:
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->map_lock);
    return txn_full ? ATTEMPT_TXN_FULL : ATTEMPT_MAP_FULL;
}

/* Commits batch[0..n) as one transaction (or fewer, see TXN_FULL) and acknowledges every
 * mutation it settles. Returns how many of batch[] were settled (the rest are retried by the
 * caller as a new batch). */
static size_t run_batch(hd_store *s, hd_store__mut **batch, size_t n)
{
    size_t at = 0, committed = 0;
    for (size_t i = 0; i < n; i++)
        batch[i]->excluded = 0;
    /* Bounded: each round grows the map (at most log2(max/start) times), excludes one
     * mutation, or shortens the batch. */
    for (;;) {
        enum attempt_result r = attempt(s, batch, n, &at, &committed);
        if (r == ATTEMPT_DONE)
            break;
        if (r == ATTEMPT_TXN_FULL) {
            /* Too many dirty pages: commit a shorter batch; the rest go in the next one. */
            if (n == 1 || at == 0) {
                batch[0]->excluded = 1;
                hd_err_set(&batch[0]->err, HD_ETOOBIG,
                           "store: mutation dirties more pages than one transaction holds");
                n = 1;
            } else {
                n = at < n ? at : n / 2;
            }
            continue;
        }
        if (grow_map(s))
            continue;
        /* At the cap: drop the mutation that did not fit (or, if the final commit did not
         * fit, the last still-included one) and replay the rest. */
        size_t drop = at;
        if (drop >= n) {
            drop = n;
            while (drop > 0 && (batch[drop - 1]->excluded || batch[drop - 1]->err.code))
                drop--;
            if (drop == 0) {
                for (size_t i = 0; i < n; i++)
                    if (!batch[i]->excluded && !batch[i]->err.code)
                        set_full(s, batch[i]);
                break;
            }
            drop--;
        }
        set_full(s, batch[drop]);
        hd_log(HD_LOG_WARN, "store_full", "path=%s map_max=%llu", s->path,
               (unsigned long long)s->map_max);
    }
    pthread_mutex_lock(&s->mu);
    if (committed) {
        s->commits++;
        s->last_batch = committed;
        s->mutations += committed;
    }
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < n; i++) {
        hd_store__mut *m = batch[i];
        m->done(m->arg, &m->err);
        free(m);
    }
    return n;
}

void *hd_store__writer_main(void *arg)
{
    hd_store *s = arg;
    uint64_t next_check = hd_store__now_ms() + HD_STORE_READER_CHECK_MS;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stopping) {
            uint64_t now = hd_store__now_ms();
            if (now >= next_check)
                break;
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t wait = next_check - now;
            ts.tv_sec += (time_t)(wait / 1000);
            ts.tv_nsec += (long)(wait % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            s->writer_idle = 1;
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
            s->writer_idle = 0;
        }
        if (hd_store__now_ms() >= next_check) {
            pthread_mutex_unlock(&s->mu);
            int dead = 0;
            mdb_reader_check(s->env, &dead);
            hd_log(dead ? HD_LOG_WARN : HD_LOG_DEBUG, "store_reader_check",
                   "path=%s stale_cleared=%d", s->path, dead);
            next_check = hd_store__now_ms() + HD_STORE_READER_CHECK_MS;
            pthread_mutex_lock(&s->mu);
        }
        if (!s->head) {
            if (s->stopping)
                break;
            continue;
        }
        size_t n = 0;
        while (s->head && n < s->max_batch) {
            s->batch[n++] = s->head;
            s->head = s->head->next;
        }
        if (!s->head)
            s->tail = NULL;
        pthread_mutex_unlock(&s->mu);
        size_t off = 0;
        while (off < n)
            off += run_batch(s, s->batch + off, n - off);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int hd_store_submit(hd_store *s, hd_store_apply_fn apply, hd_store_done_fn done, void *arg,
                    hd_err *err)
{
    hd_store__mut *m = calloc(1, sizeof(*m));
    if (!m)
        return hd_err_set(err, HD_ENOMEM, "store: queueing a mutation");
    m->apply = apply;
    m->done = done;
    m->arg = arg;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        free(m);
        return hd_err_set(err, HD_EUNAVAIL, "store: closing, no new writes");
    }
    if (s->tail)
        s->tail->next = m;
    else
        s->head = m;
    s->tail = m;
    /* A busy writer drains the queue before it waits again: no wake-up needed. */
    if (s->writer_idle)
        pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

typedef struct sync_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    hd_err err;
} sync_wait;

static void sync_done(void *arg, const hd_err *err)
{
    sync_wait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->err = *err;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

typedef struct sync_call {
    sync_wait w;
    hd_store_apply_fn apply;
    void *arg;
} sync_call;

static int sync_apply(hd_txn *txn, void *arg, hd_err *err)
{
    sync_call *c = arg;
    return c->apply(txn, c->arg, err);
}

static void sync_call_done(void *arg, const hd_err *err)
{
    sync_done(&((sync_call *)arg)->w, err);
}

int hd_store_write(hd_store *s, hd_store_apply_fn apply, void *arg, hd_err *err)
{
    if (s->writer_started && pthread_equal(pthread_self(), s->writer))
        return hd_err_set(err, HD_ESTATE, "store: hd_store_write called on the writer thread");
    sync_call c;
    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&c.w.mu, NULL);
    pthread_cond_init(&c.w.cv, NULL);
    c.apply = apply;
    c.arg = arg;
    int rc = hd_store_submit(s, sync_apply, sync_call_done, &c, err);
    if (rc == 0) {
        pthread_mutex_lock(&c.w.mu);
        while (!c.w.done)
            pthread_cond_wait(&c.w.cv, &c.w.mu);
        pthread_mutex_unlock(&c.w.mu);
        rc = c.w.err.code;
        if (err)
            *err = c.w.err;
    }
    pthread_cond_destroy(&c.w.cv);
    pthread_mutex_destroy(&c.w.mu);
    return rc;
}
