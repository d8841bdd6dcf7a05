/* Store basics: table ops, scans, sequences, counts, messages, stats, schema version
 * checks, migrations, refusal of corrupt or foreign data dirs, per-mutation failure
 * isolation inside a batch, backup and restore. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/store/store.h"
#include "tests/unit/server/store/testutil.h"

#define assert_ok(rc, err)                                                                         \
    do {                                                                                           \
        int rc_ = (rc);                                                                            \
        if (rc_ != 0)                                                                              \
            fail_msg("%s = %s (%s)", #rc, hd_errname(rc_), (err).detail);                          \
    } while (0)

/* ---- table ops ---- */

typedef struct kv_arg {
    hd_table t;
    uint64_t key;
    uint64_t val;
    int del;
} kv_arg;

static int apply_kv(hd_txn *txn, void *arg, hd_err *err)
{
    kv_arg *a = arg;
    if (a->del) {
        hd_key k;
        hd_key_init(&k);
        hd_key_u64(&k, a->key);
        return hd_store_del(txn, a->t, &k, err);
    }
    return st_put_u64(txn, a->t, a->key, a->val, err);
}

static void put_get_del_round_trip_and_missing_keys_are_not_found(void **state)
{
    (void)state;
    char *dir = st_tmpdir("ops");
    hd_store *s = st_open(dir, 0, 0);
    hd_err err = {0};
    kv_arg a = {HD_STORE_SETTINGS, 7, 700, 0};
    assert_ok(hd_store_write(s, apply_kv, &a, &err), err);
    uint64_t v = 0;
    assert_int_equal(st_read_u64(s, HD_STORE_SETTINGS, 7, &v), 0);
    assert_int_equal(v, 700);
    assert_int_equal(st_read_u64(s, HD_STORE_SETTINGS, 8, &v), HD_ENOTFOUND);
    /* Tables are separate namespaces. */
    assert_int_equal(st_read_u64(s, HD_STORE_STAFF, 7, &v), HD_ENOTFOUND);
    a.del = 1;
    assert_ok(hd_store_write(s, apply_kv, &a, &err), err);
    assert_int_equal(st_read_u64(s, HD_STORE_SETTINGS, 7, &v), HD_ENOTFOUND);
    assert_int_equal(hd_store_write(s, apply_kv, &a, &err), HD_ENOTFOUND);
    hd_store_close(s);
    free(dir);
}

static int apply_put_twice_nooverwrite(hd_txn *txn, void *arg, hd_err *err)
{
    (void)arg;
    hd_key k;
    hd_key_init(&k);
    hd_key_str(&k, "once");
    int rc = hd_store_put(txn, HD_STORE_SETTINGS, &k, "1", 1, HD_STORE_NOOVERWRITE, err);
    if (rc)
        return rc;
    return hd_store_put(txn, HD_STORE_SETTINGS, &k, "2", 1, HD_STORE_NOOVERWRITE, err);
}

static void nooverwrite_put_fails_with_exists_and_undoes_the_mutation(void **state)
{
    (void)state;
    char *dir = st_tmpdir("noover");
    hd_store *s = st_open(dir, 0, 0);
    hd_err err = {0};
    assert_int_equal(hd_store_write(s, apply_put_twice_nooverwrite, NULL, &err), HD_EEXIST);
    hd_txn *txn;
    assert_ok(hd_store_read_begin(s, &txn, &err), err);
    hd_key k;
    hd_key_init(&k);
    hd_key_str(&k, "once");
    const void *p;
    size_t n;
    assert_int_equal(hd_store_get(txn, HD_STORE_SETTINGS, &k, &p, &n, &err), HD_ENOTFOUND);
    /* Writes in a read transaction are refused. */
    assert_int_equal(hd_store_put(txn, HD_STORE_SETTINGS, &k, "x", 1, 0, &err), HD_EPERM);
    hd_store_read_end(txn);
    hd_store_close(s);
    free(dir);
}

/* Looks a key up first (not found: err gets HD_ENOTFOUND detail), then writes it. */
static int apply_probe_then_put(hd_txn *txn, void *arg, hd_err *err)
{
    kv_arg *a = arg;
    uint64_t v;
    int rc = st_get_u64(txn, a->t, a->key, &v, err);
    if (rc != HD_ENOTFOUND)
        return rc ? rc : hd_err_set(err, HD_EEXIST, "key already there");
    return st_put_u64(txn, a->t, a->key, a->val, err);
}

/* Regression: a successful mutation whose apply left a probe's detail in err was
 * acknowledged as failed although it committed. */
static void successful_mutation_is_acknowledged_ok_even_after_a_failed_lookup(void **state)
{
    (void)state;
    char *dir = st_tmpdir("probe");
    hd_store *s = st_open(dir, 0, 0);
    hd_err err = {0};
    kv_arg a = {HD_STORE_IDEMPOTENCY, 9, 900, 0};
    assert_ok(hd_store_write(s, apply_probe_then_put, &a, &err), err);
    assert_int_equal(err.code, 0);
    uint64_t v = 0;
    assert_int_equal(st_read_u64(s, HD_STORE_IDEMPOTENCY, 9, &v), 0);
    assert_int_equal(v, 900);
    hd_store_stats st;
    assert_ok(hd_store_stats_get(s, &st, &err), err);
    assert_int_equal(st.mutations, 1);
    hd_store_close(s);
    free(dir);
}

static void stats_report_map_tables_readers_and_writes(void **state)
{
    (void)state;
    char *dir = st_tmpdir("stats");
    hd_store *s = st_open(dir, 1 << 20, 8 << 20);
    hd_err err = {0};
    kv_arg a = {HD_STORE_STAFF, 1, 1, 0};
    assert_ok(hd_store_write(s, apply_kv, &a, &err), err);
    a.key = 2;
    assert_ok(hd_store_write(s, apply_kv, &a, &err), err);
    hd_txn *r[3];
    for (int i = 0; i < 3; i++)
        assert_ok(hd_store_read_begin(s, &r[i], &err), err);
    hd_store_stats st;
    assert_ok(hd_store_stats_get(s, &st, &err), err);
    for (int i = 0; i < 3; i++)
        hd_store_read_end(r[i]);
    assert_int_equal(st.map_size, 1 << 20);
    assert_int_equal(st.map_max, 8 << 20);
    assert_int_equal(st.page_size, (uint64_t)sysconf(_SC_PAGESIZE));
    assert_true(st.used_pages > 2);
    assert_int_equal(st.entries[HD_STORE_STAFF], 2);
    assert_int_equal(st.entries[HD_STORE_META], 1);
    assert_int_equal(st.readers_used, 3);
    assert_int_equal(st.readers_max, 256);
    assert_int_equal(st.commits, 2);
    assert_int_equal(st.mutations, 2);
    assert_int_equal(st.last_batch, 1);
    assert_int_equal(st.schema_version, HD_STORE_SCHEMA_VERSION);
    assert_string_equal(hd_store_table_name(HD_STORE_IDX_SLADUE), "idx_sladue");
    hd_store_close(s);
    free(dir);
}

/* ---- scans ---- */

static int apply_fill_index(hd_txn *txn, void *arg, hd_err *err)
{
    (void)arg;
    /* idx_status: (status u8, priority u8, id u64) for status 1..3, prio 0..1, id 1..5 */
    for (uint8_t st = 1; st <= 3; st++)
        for (uint8_t pr = 0; pr <= 1; pr++)
            for (uint64_t id = 1; id <= 5; id++) {
                hd_key k;
                hd_key_init(&k);
                hd_key_u64(hd_key_u8(hd_key_u8(&k, st), pr), id);
                int rc = hd_store_put(txn, HD_STORE_IDX_STATUS, &k, "", 0, 0, err);
                if (rc)
                    return rc;
            }
    return 0;
}

typedef struct collected {
    int n;
    uint8_t st[64], pr[64];
    uint64_t id[64];
} collected;

static int collect(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    collected *c = arg;
    hd_key_reader r;
    hd_err err = {0};
    (void)val;
    assert_int_equal(vlen, 0);
    assert_true(c->n < 64);
    hd_key_reader_init(&r, key, klen);
    assert_int_equal(hd_key_read_u8(&r, &c->st[c->n], &err), 0);
    assert_int_equal(hd_key_read_u8(&r, &c->pr[c->n], &err), 0);
    assert_int_equal(hd_key_read_u64(&r, &c->id[c->n], &err), 0);
    c->n++;
    return 0;
}

static void scans_follow_prefix_start_direction_and_limit(void **state)
{
    (void)state;
    char *dir = st_tmpdir("scan");
    hd_store *s = st_open(dir, 0, 0);
    hd_err err = {0};
    assert_ok(hd_store_write(s, apply_fill_index, NULL, &err), err);
    hd_txn *txn;
    assert_ok(hd_store_read_begin(s, &txn, &err), err);

    hd_key pfx, start;
    hd_key_init(&pfx);
    hd_key_u8(&pfx, 2);
    collected c = {0};
    hd_store_range r = {.prefix = &pfx};
    assert_int_equal(hd_store_scan(txn, HD_STORE_IDX_STATUS, &r, collect, &c, &err), 10);
    assert_int_equal(c.st[0], 2);
    assert_int_equal(c.pr[0], 0);
    assert_int_equal(c.id[0], 1);
    assert_int_equal(c.st[9], 2);
    assert_int_equal(c.pr[9], 1);
    assert_int_equal(c.id[9], 5);

    /* Reverse within the prefix starts at its last key. */
    memset(&c, 0, sizeof(c));
    r.reverse = 1;
    r.limit = 3;
    assert_int_equal(hd_store_scan(txn, HD_STORE_IDX_STATUS, &r, collect, &c, &err), 3);
    assert_int_equal(c.pr[0], 1);
    assert_int_equal(c.id[0], 5);
    assert_int_equal(c.id[2], 3);

    /* Paging: resume after (2,0,5) exclusively, forward. */
    hd_key_init(&start);
    hd_key_u64(hd_key_u8(hd_key_u8(&start, 2), 0), 5);
    memset(&c, 0, sizeof(c));
    hd_store_range page = {.prefix = &pfx, .start = &start, .exclusive = 1, .limit = 2};
    assert_int_equal(hd_store_scan(txn, HD_STORE_IDX_STATUS, &page, collect, &c, &err), 2);
    assert_int_equal(c.pr[0], 1);
    assert_int_equal(c.id[0], 1);

    /* Reverse from a start between keys: last key <= start. */
    hd_key_init(&start);
    hd_key_u64(hd_key_u8(hd_key_u8(&start, 2), 1), 0);
    memset(&c, 0, sizeof(c));
    hd_store_range back = {.prefix = &pfx, .start = &start, .reverse = 1};
    assert_int_equal(hd_store_scan(txn, HD_STORE_IDX_STATUS, &back, collect, &c, &err), 5);
    assert_int_equal(c.pr[0], 0);
    assert_int_equal(c.id[0], 5);

    /* Last prefix reversed (nothing after it in the table) and an empty prefix. */
    hd_key_init(&pfx);
    hd_key_u8(&pfx, 3);
    memset(&c, 0, sizeof(c));
    hd_store_range last = {.prefix = &pfx, .reverse = 1, .limit = 1};
    assert_int_equal(hd_store_scan(txn, HD_STORE_IDX_STATUS, &last, collect, &c, &err), 1);
    assert_int_equal(c.st[0], 3);
    assert_int_equal(c.id[0], 5);
    hd_key_init(&pfx);
    hd_key_u8(&pfx, 9);
    memset(&c, 0, sizeof(c));
    hd_store_range none = {.prefix = &pfx};
    assert_int_equal(hd_store_scan(txn, HD_STORE_IDX_STATUS, &none, collect, &c, &err), 0);
    none.reverse = 1;
    assert_int_equal(hd_store_scan(txn, HD_STORE_IDX_STATUS, &none, collect, &c, &err), 0);

    /* A start outside the prefix is a caller error, not an empty page. */
    hd_key_init(&start);
    hd_key_u8(&start, 1);
    hd_store_range outside = {.prefix = &pfx, .start = &start};
    assert_int_equal(hd_store_scan(txn, HD_STORE_IDX_STATUS, &outside, collect, &c, &err),
                     HD_EINVAL);

    uint64_t count = 0;
    assert_ok(hd_store_count(txn, HD_STORE_IDX_STATUS, &count, &err), err);
    assert_int_equal(count, 30);
    hd_store_read_end(txn);
    hd_store_close(s);
    free(dir);
}

/* ---- sequences and messages ---- */

typedef struct seq_arg {
    uint64_t got[3];
} seq_arg;

static int apply_seq3(hd_txn *txn, void *arg, hd_err *err)
{
    seq_arg *a = arg;
    for (int i = 0; i < 3; i++) {
        int rc = hd_store_seq_next(txn, "ticket_number", &a->got[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

static void sequences_count_from_one_and_survive_reopen(void **state)
{
    (void)state;
    char *dir = st_tmpdir("seq");
    hd_store *s = st_open(dir, 0, 0);
    hd_err err = {0};
    seq_arg a = {{0}};
    assert_ok(hd_store_write(s, apply_seq3, &a, &err), err);
    assert_int_equal(a.got[0], 1);
    assert_int_equal(a.got[2], 3);
    hd_store_close(s);
    s = st_open(dir, 0, 0);
    assert_ok(hd_store_write(s, apply_seq3, &a, &err), err);
    assert_int_equal(a.got[0], 4);
    hd_store_close(s);
    free(dir);
}

static int apply_marker_7(hd_txn *txn, void *arg, hd_err *err)
{
    (void)arg;
    return hd_store_marker_set(txn, "test.step", 7, err);
}

static int apply_marker_odd(hd_txn *txn, void *arg, hd_err *err)
{
    hd_key k;
    (void)arg;
    hd_key_init(&k);
    hd_key_str(&k, "test.odd");
    return hd_store_put(txn, HD_STORE_SETTINGS, &k, "\x00\x00\x09", 3, 0, err);
}

static uint32_t read_marker(hd_store *s, const char *name)
{
    hd_txn *txn;
    hd_err err = {0};
    uint32_t v = 99;
    assert_ok(hd_store_read_begin(s, &txn, &err), err);
    assert_ok(hd_store_marker_get(txn, name, &v, &err), err);
    assert_int_equal(err.code, 0);
    hd_store_read_end(txn);
    return v;
}

static void markers_read_zero_until_set_and_survive_reopen(void **state)
{
    (void)state;
    char *dir = st_tmpdir("marker");
    hd_store *s = st_open(dir, 0, 0);
    hd_err err = {0};
    hd_txn *txn;
    assert_int_equal(read_marker(s, "test.step"), 0);
    assert_ok(hd_store_write(s, apply_marker_7, NULL, &err), err);
    assert_ok(hd_store_write(s, apply_marker_odd, NULL, &err), err);
    assert_int_equal(read_marker(s, "test.step"), 7);
    assert_int_equal(read_marker(s, "test.odd"), 0); /* not 4 bytes: not a marker */
    assert_ok(hd_store_read_begin(s, &txn, &err), err);
    assert_int_equal(hd_store_marker_set(txn, "test.step", 8, &err), HD_EPERM);
    hd_store_read_end(txn);
    hd_store_close(s);
    s = st_open(dir, 0, 0);
    assert_int_equal(read_marker(s, "test.step"), 7);
    hd_store_close(s);
    free(dir);
}

static int apply_put_ticket(hd_txn *txn, void *arg, hd_err *err)
{
    Helpdesk__V1__Ticket *t = arg;
    hd_key k;
    hd_key_init(&k);
    hd_key_u64(&k, t->id);
    return hd_store_put_msg(txn, HD_STORE_TICKETS, &k, &t->base, 0, err);
}

static void messages_pack_on_put_and_unpack_into_the_arena(void **state)
{
    (void)state;
    char *dir = st_tmpdir("msg");
    hd_store *s = st_open(dir, 0, 0);
    hd_err err = {0};
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    t.id = 42;
    t.number = (char *)"TKT-000042";
    assert_ok(hd_store_write(s, apply_put_ticket, &t, &err), err);
    hd_arena *a = hd_arena_create(0);
    hd_txn *txn;
    assert_ok(hd_store_read_begin(s, &txn, &err), err);
    hd_key k;
    hd_key_init(&k);
    hd_key_u64(&k, 42);
    ProtobufCMessage *m = NULL;
    assert_ok(
        hd_store_get_msg(txn, HD_STORE_TICKETS, &k, &helpdesk__v1__ticket__descriptor, a, &m, &err),
        err);
    hd_store_read_end(txn);
    Helpdesk__V1__Ticket *got = (Helpdesk__V1__Ticket *)m;
    assert_int_equal(got->id, 42);
    assert_string_equal(got->number, "TKT-000042");
    hd_arena_destroy(a);
    hd_store_close(s);
    free(dir);
}

/* ---- batches: one failing mutation does not affect the others ---- */

typedef struct batch_arg {
    uint64_t key;
    int fail;
    int acked;
    hd_err result;
    pthread_mutex_t *mu;
    pthread_cond_t *cv;
    int *pending;
} batch_arg;

static int apply_maybe_fail(hd_txn *txn, void *arg, hd_err *err)
{
    batch_arg *a = arg;
    int rc = st_put_u64(txn, HD_STORE_SETTINGS, a->key, a->key, err);
    if (rc)
        return rc;
    if (a->fail)
        return hd_err_set(err, HD_ESTATE, "mutation %llu refuses", (unsigned long long)a->key);
    return 0;
}

static void done_count(void *arg, const hd_err *err)
{
    batch_arg *a = arg;
    pthread_mutex_lock(a->mu);
    a->result = *err;
    a->acked++;
    (*a->pending)--;
    pthread_cond_broadcast(a->cv);
    pthread_mutex_unlock(a->mu);
}

static void failing_mutation_in_a_batch_is_undone_alone(void **state)
{
    (void)state;
    char *dir = st_tmpdir("batch");
    hd_store *s = st_open(dir, 0, 0);
    hd_err err = {0};
    enum { N = 200 };
    static batch_arg args[N];
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    int pending = N;
    for (int i = 0; i < N; i++) {
        args[i] = (batch_arg){
            .key = (uint64_t)i + 1, .fail = i % 7 == 3, .mu = &mu, .cv = &cv, .pending = &pending};
        assert_ok(hd_store_submit(s, apply_maybe_fail, done_count, &args[i], &err), err);
    }
    pthread_mutex_lock(&mu);
    while (pending > 0)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < N; i++) {
        uint64_t v;
        assert_int_equal(args[i].acked, 1);
        int rc = st_read_u64(s, HD_STORE_SETTINGS, args[i].key, &v);
        if (args[i].fail) {
            assert_int_equal(args[i].result.code, HD_ESTATE);
            assert_non_null(strstr(args[i].result.detail, "refuses"));
            assert_int_equal(rc, HD_ENOTFOUND);
        } else {
            assert_int_equal(args[i].result.code, 0);
            assert_int_equal(rc, 0);
        }
    }
    hd_store_stats st;
    assert_ok(hd_store_stats_get(s, &st, &err), err);
    assert_int_equal(st.mutations, N - (N + 3) / 7);
    /* Batching happened: fewer commits than mutations. */
    assert_true(st.commits < st.mutations);
    hd_store_close(s);
    free(dir);
}

static void close_acknowledges_every_pending_mutation(void **state)
{
    (void)state;
    char *dir = st_tmpdir("close");
    hd_store *s = st_open(dir, 0, 0);
    hd_err err = {0};
    enum { N = 500 };
    static batch_arg args[N];
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    int pending = N;
    for (int i = 0; i < N; i++) {
        args[i] = (batch_arg){.key = (uint64_t)i + 1, .mu = &mu, .cv = &cv, .pending = &pending};
        assert_ok(hd_store_submit(s, apply_maybe_fail, done_count, &args[i], &err), err);
    }
    hd_store_close(s);
    assert_int_equal(pending, 0);
    s = st_open(dir, 0, 0);
    for (int i = 0; i < N; i++) {
        uint64_t v;
        assert_int_equal(st_read_u64(s, HD_STORE_SETTINGS, args[i].key, &v), 0);
    }
    hd_store_close(s);
    free(dir);
}

/* ---- schema version, migrations, refusal ---- */

/* Writes a version-`version` store by hand with raw LMDB: meta + a v1 text sequence. */
static void write_raw_store(const char *dir, uint32_t version, const char *seq_text)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, seq;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_NOSYNC, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", MDB_CREATE, &meta), 0);
    assert_int_equal(mdb_dbi_open(txn, "seq", MDB_CREATE, &seq), 0);
    hd_key k;
    hd_key_init(&k);
    hd_key_str(&k, "schema_version");
    unsigned char b[4] = {(unsigned char)(version >> 24), (unsigned char)(version >> 16),
                          (unsigned char)(version >> 8), (unsigned char)version};
    MDB_val key = {k.len, k.buf}, val = {4, b};
    assert_int_equal(mdb_put(txn, meta, &key, &val, 0), 0);
    if (seq_text) {
        hd_key_init(&k);
        hd_key_str(&k, "ticket_number");
        MDB_val sk = {k.len, k.buf}, sv = {strlen(seq_text), (void *)seq_text};
        assert_int_equal(mdb_put(txn, seq, &sk, &sv, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static uint32_t meta_u32(hd_store *s, const char *name)
{
    hd_txn *txn;
    hd_err err = {0};
    hd_key k;
    const void *p;
    size_t n;
    assert_ok(hd_store_read_begin(s, &txn, &err), err);
    hd_key_init(&k);
    hd_key_str(&k, name);
    uint32_t v = 0;
    if (hd_store_get(txn, HD_STORE_META, &k, &p, &n, &err) == 0 && n == 4) {
        const unsigned char *b = p;
        v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    }
    hd_store_read_end(txn);
    return v;
}

static void version_1_store_is_migrated_once_at_open(void **state)
{
    (void)state;
    char *dir = st_tmpdir("mig");
    write_raw_store(dir, 1, "41");
    hd_store *s = st_open(dir, 0, 0);
    hd_err err = {0};
    assert_int_equal(meta_u32(s, "schema_version"), HD_STORE_SCHEMA_VERSION);
    assert_int_equal(meta_u32(s, "migration_steps_run"), 1);
    seq_arg a = {{0}};
    assert_ok(hd_store_write(s, apply_seq3, &a, &err), err);
    assert_int_equal(a.got[0], 42);
    hd_store_stats st;
    assert_ok(hd_store_stats_get(s, &st, &err), err);
    assert_int_equal(st.schema_version, HD_STORE_SCHEMA_VERSION);
    hd_store_close(s);
    /* Reopening runs no step again and keeps the converted counter. */
    s = st_open(dir, 0, 0);
    assert_int_equal(meta_u32(s, "migration_steps_run"), 1);
    assert_ok(hd_store_write(s, apply_seq3, &a, &err), err);
    assert_int_equal(a.got[0], 45);
    hd_store_close(s);
    free(dir);
}

static void fresh_store_needs_no_migration(void **state)
{
    (void)state;
    char *dir = st_tmpdir("fresh");
    hd_store *s = st_open(dir, 0, 0);
    assert_int_equal(meta_u32(s, "schema_version"), HD_STORE_SCHEMA_VERSION);
    assert_int_equal(meta_u32(s, "migration_steps_run"), 0);
    hd_store_close(s);
    free(dir);
}

static void newer_schema_version_is_refused_naming_path_and_versions(void **state)
{
    (void)state;
    char *dir = st_tmpdir("newer");
    write_raw_store(dir, HD_STORE_SCHEMA_VERSION + 1, NULL);
    hd_store_opts o = {.path = dir, .unsafe_nosync = 1};
    hd_store *s = NULL;
    hd_err err = {0};
    assert_int_equal(hd_store_open(&s, &o, &err), HD_EVERSION);
    assert_null(s);
    char want[64];
    snprintf(want, sizeof(want), "version %u", HD_STORE_SCHEMA_VERSION + 1);
    assert_non_null(strstr(err.detail, dir));
    assert_non_null(strstr(err.detail, want));
    snprintf(want, sizeof(want), "binary's %u", HD_STORE_SCHEMA_VERSION);
    assert_non_null(strstr(err.detail, want));
    free(dir);
}

static void non_lmdb_data_file_is_refused_as_corrupt(void **state)
{
    (void)state;
    char *dir = st_tmpdir("corrupt");
    char path[4200];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 2000; i++)
        fputs("this is not an LMDB file at all ", f);
    fclose(f);
    hd_store_opts o = {.path = dir, .unsafe_nosync = 1};
    hd_store *s = NULL;
    hd_err err = {0};
    assert_int_equal(hd_store_open(&s, &o, &err), HD_ECORRUPT);
    assert_null(s);
    assert_non_null(strstr(err.detail, dir));
    assert_non_null(strstr(err.detail, "not an LMDB file"));
    free(dir);
}

static void foreign_lmdb_without_meta_is_refused_as_corrupt(void **state)
{
    (void)state;
    char *dir = st_tmpdir("foreign");
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi other;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_NOSYNC, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "users", MDB_CREATE, &other), 0);
    MDB_val k = {3, (void *)"bob"}, v = {1, (void *)"x"};
    assert_int_equal(mdb_put(txn, other, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    hd_store_opts o = {.path = dir, .unsafe_nosync = 1};
    hd_store *s = NULL;
    hd_err err = {0};
    assert_int_equal(hd_store_open(&s, &o, &err), HD_ECORRUPT);
    assert_non_null(strstr(err.detail, dir));
    assert_non_null(strstr(err.detail, "meta"));
    free(dir);
}

/* ---- backup and restore ---- */

static void backup_restores_into_a_data_dir_and_moves_the_old_one_aside(void **state)
{
    (void)state;
    char *dir = st_tmpdir("bk");
    char data[4200], dest[4200], aside[4200];
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(dest, sizeof(dest), "%s/backup", dir);
    hd_store *s = st_open(data, 0, 0);
    hd_err err = {0};
    kv_arg a = {HD_STORE_SETTINGS, 1, 111, 0};
    assert_ok(hd_store_write(s, apply_kv, &a, &err), err);
    hd_store_backup_info info = {0};
    assert_ok(hd_store_backup(s, dest, &info, &err), err);
    assert_true(info.bytes > 0);
    /* Existing destination and missing parent are refused. */
    assert_int_equal(hd_store_backup(s, dest, NULL, &err), HD_EEXIST);
    char noparent[4300];
    snprintf(noparent, sizeof(noparent), "%s/missing/backup", dir);
    assert_int_equal(hd_store_backup(s, noparent, NULL, &err), HD_ENOTFOUND);
    /* Change after the backup: restore must bring back the old value. */
    a.val = 222;
    assert_ok(hd_store_write(s, apply_kv, &a, &err), err);
    hd_store_close(s);

    assert_ok(hd_store_restore(dest, data, aside, sizeof(aside), &err), err);
    assert_non_null(strstr(aside, ".pre-restore-"));
    struct stat st;
    assert_int_equal(stat(aside, &st), 0);
    s = st_open(data, 0, 0);
    uint64_t v = 0;
    assert_int_equal(st_read_u64(s, HD_STORE_SETTINGS, 1, &v), 0);
    assert_int_equal(v, 111);
    hd_store_close(s);

    /* A directory that is not a store is refused before anything moves. */
    char bogus[4300];
    snprintf(bogus, sizeof(bogus), "%s/bogus", dir);
    assert_int_equal(mkdir(bogus, 0700), 0);
    assert_int_not_equal(hd_store_restore(bogus, data, aside, sizeof(aside), &err), 0);
    assert_int_equal(stat(data, &st), 0);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_del_round_trip_and_missing_keys_are_not_found),
        cmocka_unit_test(nooverwrite_put_fails_with_exists_and_undoes_the_mutation),
        cmocka_unit_test(successful_mutation_is_acknowledged_ok_even_after_a_failed_lookup),
        cmocka_unit_test(stats_report_map_tables_readers_and_writes),
        cmocka_unit_test(scans_follow_prefix_start_direction_and_limit),
        cmocka_unit_test(sequences_count_from_one_and_survive_reopen),
        cmocka_unit_test(markers_read_zero_until_set_and_survive_reopen),
        cmocka_unit_test(messages_pack_on_put_and_unpack_into_the_arena),
        cmocka_unit_test(failing_mutation_in_a_batch_is_undone_alone),
        cmocka_unit_test(close_acknowledges_every_pending_mutation),
        cmocka_unit_test(version_1_store_is_migrated_once_at_open),
        cmocka_unit_test(fresh_store_needs_no_migration),
        cmocka_unit_test(newer_schema_version_is_refused_naming_path_and_versions),
        cmocka_unit_test(non_lmdb_data_file_is_refused_as_corrupt),
        cmocka_unit_test(foreign_lmdb_without_meta_is_refused_as_corrupt),
        cmocka_unit_test(backup_restores_into_a_data_dir_and_moves_the_old_one_aside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
