/* Index consistency property test: random create/update/delete of records that carry two
 * secondary indexes (status, assignee), maintained by the test's apply functions through
 * many group-committed batches, some mutations failing half-way. Afterwards the store must
 * equal an in-memory model and every index entry must match its record, and vice versa. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/store/store.h"
#include "tests/unit/server/store/testutil.h"

enum { IDS = 64, OPS = 3000 };

typedef struct rec {
    uint8_t status;
    uint64_t assignee;
} rec;

typedef struct op {
    uint64_t id;
    int del;
    rec r;
    int fail_after_write; /* return an error after all writes: must be undone */
    hd_err result;
} op;

static void rec_key(hd_key *k, uint64_t id)
{
    hd_key_init(k);
    hd_key_u64(k, id);
}

static void status_key(hd_key *k, uint8_t status, uint64_t id)
{
    hd_key_init(k);
    hd_key_u64(hd_key_u8(k, status), id);
}

static void assignee_key(hd_key *k, uint64_t assignee, uint64_t id)
{
    hd_key_init(k);
    hd_key_u64(hd_key_u64(k, assignee), id);
}

static int read_rec(hd_txn *txn, uint64_t id, rec *out, hd_err *err)
{
    hd_key k;
    const void *p;
    size_t n;
    rec_key(&k, id);
    int rc = hd_store_get(txn, HD_STORE_TICKETS, &k, &p, &n, err);
    if (rc)
        return rc;
    hd_key_reader r;
    hd_key_reader_init(&r, p, n);
    rc = hd_key_read_u8(&r, &out->status, err);
    if (rc == 0)
        rc = hd_key_read_u64(&r, &out->assignee, err);
    return rc;
}

static int apply_op(hd_txn *txn, void *arg, hd_err *err)
{
    op *o = arg;
    rec old;
    hd_key k;
    int rc = read_rec(txn, o->id, &old, err);
    if (rc == 0) {
        status_key(&k, old.status, o->id);
        rc = hd_store_del(txn, HD_STORE_IDX_STATUS, &k, err);
        if (rc)
            return rc;
        assignee_key(&k, old.assignee, o->id);
        rc = hd_store_del(txn, HD_STORE_IDX_ASSIGNEE, &k, err);
        if (rc)
            return rc;
        if (o->del) {
            rec_key(&k, o->id);
            rc = hd_store_del(txn, HD_STORE_TICKETS, &k, err);
        }
    } else if (rc == HD_ENOTFOUND) {
        if (o->del)
            return rc; /* deleting a missing record: a failure, nothing changed */
        rc = 0;
    }
    if (rc)
        return rc;
    if (!o->del) {
        hd_key v;
        hd_key_init(&v);
        hd_key_u64(hd_key_u8(&v, o->r.status), o->r.assignee);
        rec_key(&k, o->id);
        rc = hd_store_put(txn, HD_STORE_TICKETS, &k, v.buf, v.len, 0, err);
        if (rc == 0) {
            status_key(&k, o->r.status, o->id);
            rc = hd_store_put(txn, HD_STORE_IDX_STATUS, &k, "", 0, HD_STORE_NOOVERWRITE, err);
        }
        if (rc == 0) {
            assignee_key(&k, o->r.assignee, o->id);
            rc = hd_store_put(txn, HD_STORE_IDX_ASSIGNEE, &k, "", 0, HD_STORE_NOOVERWRITE, err);
        }
        if (rc)
            return rc;
    }
    if (o->fail_after_write)
        return hd_err_set(err, HD_EABORTED, "op on %llu fails after writing",
                          (unsigned long long)o->id);
    return 0;
}

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending;
} waiter;

static waiter W = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static void done_op(void *arg, const hd_err *err)
{
    op *o = arg;
    pthread_mutex_lock(&W.mu);
    o->result = *err;
    W.pending--;
    pthread_cond_broadcast(&W.cv);
    pthread_mutex_unlock(&W.mu);
}

typedef struct check {
    hd_txn *txn;
    hd_table t;
    int n;
    const int *exists;
    const rec *model;
} check;

static int check_index_entry(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    check *c = arg;
    hd_key_reader r;
    hd_err err = {0};
    uint8_t status = 0;
    uint64_t assignee = 0, id = 0;
    (void)val;
    assert_int_equal(vlen, 0);
    hd_key_reader_init(&r, key, klen);
    if (c->t == HD_STORE_IDX_STATUS)
        assert_int_equal(hd_key_read_u8(&r, &status, &err), 0);
    else
        assert_int_equal(hd_key_read_u64(&r, &assignee, &err), 0);
    assert_int_equal(hd_key_read_u64(&r, &id, &err), 0);
    assert_int_equal(hd_key_reader_left(&r), 0);
    assert_true(id < IDS);
    if (!c->exists[id])
        fail_msg("index %s has an entry for deleted record %llu", hd_store_table_name(c->t),
                 (unsigned long long)id);
    rec got;
    assert_int_equal(read_rec(c->txn, id, &got, &err), 0);
    if (c->t == HD_STORE_IDX_STATUS)
        assert_int_equal(status, got.status);
    else
        assert_int_equal(assignee, got.assignee);
    c->n++;
    return 0;
}

static void random_updates_keep_both_indexes_equal_to_the_records(void **state)
{
    (void)state;
    char *dir = st_tmpdir("index");
    hd_store *s = st_open(dir, 64 << 10, 0);
    static op ops[OPS];
    int exists[IDS] = {0};
    rec model[IDS];
    hd_err err = {0};
    uint64_t x = 88172645463325252ull;
    /* Submit in waves so batches of varied size form; the writer applies in submission
     * order, so the model follows the same order. */
    for (int i = 0; i < OPS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        op *o = &ops[i];
        o->id = x % IDS;
        o->del = (x >> 8) % 4 == 0;
        o->r.status = (uint8_t)((x >> 16) % 5);
        o->r.assignee = (x >> 24) % 7;
        o->fail_after_write = (x >> 32) % 10 == 0;
        pthread_mutex_lock(&W.mu);
        W.pending++;
        pthread_mutex_unlock(&W.mu);
        assert_int_equal(hd_store_submit(s, apply_op, done_op, o, &err), 0);
        if ((x >> 40) % 50 == 0) {
            pthread_mutex_lock(&W.mu);
            while (W.pending > 0)
                pthread_cond_wait(&W.cv, &W.mu);
            pthread_mutex_unlock(&W.mu);
        }
    }
    pthread_mutex_lock(&W.mu);
    while (W.pending > 0)
        pthread_cond_wait(&W.cv, &W.mu);
    pthread_mutex_unlock(&W.mu);

    int failed = 0;
    for (int i = 0; i < OPS; i++) {
        op *o = &ops[i];
        int expect_ok = !o->fail_after_write && !(o->del && !exists[o->id]);
        if (expect_ok != (o->result.code == 0))
            fail_msg("op %d: expected %s, got %s (%s)", i, expect_ok ? "ok" : "failure",
                     hd_errname(o->result.code), o->result.detail);
        if (!expect_ok) {
            failed++;
            continue;
        }
        exists[o->id] = !o->del;
        model[o->id] = o->r;
    }
    assert_true(failed > 0);

    hd_txn *txn;
    assert_int_equal(hd_store_read_begin(s, &txn, &err), 0);
    int live = 0;
    for (uint64_t id = 0; id < IDS; id++) {
        rec got;
        int rc = read_rec(txn, id, &got, &err);
        if (!exists[id]) {
            assert_int_equal(rc, HD_ENOTFOUND);
            continue;
        }
        live++;
        assert_int_equal(rc, 0);
        assert_int_equal(got.status, model[id].status);
        assert_int_equal(got.assignee, model[id].assignee);
    }
    check c = {.txn = txn, .t = HD_STORE_IDX_STATUS, .exists = exists, .model = model};
    assert_int_equal(hd_store_scan(txn, HD_STORE_IDX_STATUS, NULL, check_index_entry, &c, &err),
                     live);
    assert_int_equal(c.n, live);
    c = (check){.txn = txn, .t = HD_STORE_IDX_ASSIGNEE, .exists = exists, .model = model};
    assert_int_equal(hd_store_scan(txn, HD_STORE_IDX_ASSIGNEE, NULL, check_index_entry, &c, &err),
                     live);
    uint64_t count;
    assert_int_equal(hd_store_count(txn, HD_STORE_TICKETS, &count, &err), 0);
    assert_int_equal(count, live);
    hd_store_read_end(txn);
    hd_store_close(s);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_updates_keep_both_indexes_equal_to_the_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
