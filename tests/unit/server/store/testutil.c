/* Helpers shared by the store tests. */
#include "tests/unit/server/store/testutil.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

char *st_tmpdir(const char *tag)
{
    const char *base = getenv("TEST_TMPDIR");
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s/%s-XXXXXX", base && base[0] ? base : "/tmp", tag);
    char *d = mkdtemp(buf);
    assert_non_null(d);
    char *out = strdup(d);
    assert_non_null(out);
    return out;
}

hd_store *st_open(const char *dir, uint64_t map_start, uint64_t map_max)
{
    hd_store_opts o = {.path = dir, .map_start = map_start, .map_max = map_max, .unsafe_nosync = 1};
    hd_store *s = NULL;
    hd_err err = {0};
    int rc = hd_store_open(&s, &o, &err);
    if (rc)
        fail_msg("hd_store_open(%s): %s %s", dir, hd_errname(rc), err.detail);
    return s;
}

int st_put_u64(hd_txn *txn, hd_table t, uint64_t key, uint64_t val, hd_err *err)
{
    hd_key k, v;
    hd_key_init(&k);
    hd_key_u64(&k, key);
    hd_key_init(&v);
    hd_key_u64(&v, val);
    return hd_store_put(txn, t, &k, v.buf, v.len, 0, err);
}

int st_get_u64(hd_txn *txn, hd_table t, uint64_t key, uint64_t *val, hd_err *err)
{
    hd_key k;
    const void *p;
    size_t n;
    hd_key_init(&k);
    hd_key_u64(&k, key);
    int rc = hd_store_get(txn, t, &k, &p, &n, err);
    if (rc)
        return rc;
    hd_key_reader r;
    hd_key_reader_init(&r, p, n);
    return hd_key_read_u64(&r, val, err);
}

int st_read_u64(hd_store *s, hd_table t, uint64_t key, uint64_t *val)
{
    hd_txn *txn = NULL;
    hd_err err = {0};
    int rc = hd_store_read_begin(s, &txn, &err);
    if (rc)
        return rc;
    rc = st_get_u64(txn, t, key, val, &err);
    hd_store_read_end(txn);
    return rc;
}

void st_gate_init(st_gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->entered = 0;
    g->open = 0;
}

void st_gate_destroy(st_gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

static void deadline_in(struct timespec *ts, int seconds)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += seconds;
}

int st_gate_apply(hd_txn *txn, void *gate, hd_err *err)
{
    st_gate *g = gate;
    struct timespec ts;
    (void)txn;
    (void)err;
    deadline_in(&ts, 30);
    pthread_mutex_lock(&g->mu);
    g->entered = 1;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        if (pthread_cond_timedwait(&g->cv, &g->mu, &ts) != 0)
            break;
    pthread_mutex_unlock(&g->mu);
    return 0;
}

void st_gate_done(void *gate, const hd_err *err)
{
    (void)gate;
    (void)err;
}

void st_gate_wait_entered(st_gate *g)
{
    struct timespec ts;
    int timed_out = 0;
    deadline_in(&ts, 10);
    pthread_mutex_lock(&g->mu);
    while (!g->entered && !timed_out)
        timed_out = pthread_cond_timedwait(&g->cv, &g->mu, &ts) != 0;
    pthread_mutex_unlock(&g->mu);
    if (timed_out)
        fail_msg("writer did not reach the gate within 10 s");
}

void st_gate_release(st_gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}
