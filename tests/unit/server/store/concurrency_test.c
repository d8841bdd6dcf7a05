/* Concurrency: writers and readers at once (every acknowledged write visible afterwards),
 * readers complete while the writer holds a long transaction, and an online backup taken
 * during writes is a consistent prefix. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "server/store/store.h"
#include "tests/unit/server/store/testutil.h"

enum { WRITERS = 8, READERS = 8, PER_WRITER = 400 };

typedef struct kv {
    uint64_t key;
} kv;

static int apply_put(hd_txn *txn, void *arg, hd_err *err)
{
    kv *a = arg;
    return st_put_u64(txn, HD_STORE_EVENTS, a->key, ~a->key, err);
}

typedef struct shared {
    hd_store *s;
    atomic_int stop;
    atomic_long reads;
    atomic_int failures;
    atomic_long max_read_ns;
    long max_reads; /* per reader; 0 = 10 million */
} shared;

typedef struct wctx {
    shared *sh;
    int id;
    int acked;
} wctx;

static void *writer(void *arg)
{
    wctx *w = arg;
    for (int i = 0; i < PER_WRITER; i++) {
        kv a = {((uint64_t)w->id << 32) | (uint64_t)i};
        hd_err err = {0};
        if (hd_store_write(w->sh->s, apply_put, &a, &err) == 0)
            w->acked++;
        else
            atomic_fetch_add(&w->sh->failures, 1);
    }
    return NULL;
}

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void *reader(void *arg)
{
    shared *sh = arg;
    uint64_t x = (uint64_t)(uintptr_t)arg ^ 0x2545F4914F6CDD1Dull;
    long limit = sh->max_reads ? sh->max_reads : 10000000;
    /* Bounded: stops when told, or after `limit` reads (so readers on a small machine do
     * not starve the writers of CPU). */
    for (long n = 0; !atomic_load(&sh->stop) && n < limit; n++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        long t0 = now_ns();
        uint64_t key = ((x % WRITERS) << 32) | ((x >> 8) % PER_WRITER), v = 0;
        int rc = st_read_u64(sh->s, HD_STORE_EVENTS, key, &v);
        long dt = now_ns() - t0;
        if (rc != 0 && rc != HD_ENOTFOUND)
            atomic_fetch_add(&sh->failures, 1);
        if (rc == 0 && v != ~key)
            atomic_fetch_add(&sh->failures, 1);
        long prev = atomic_load(&sh->max_read_ns);
        while (dt > prev && !atomic_compare_exchange_weak(&sh->max_read_ns, &prev, dt))
            ;
        atomic_fetch_add(&sh->reads, 1);
    }
    return NULL;
}

static void writers_and_readers_together_lose_no_acknowledged_write(void **state)
{
    (void)state;
    char *dir = st_tmpdir("conc");
    shared sh = {.s = st_open(dir, 64 << 10, 0), .max_reads = 20000};
    pthread_t wt[WRITERS], rt[READERS];
    wctx w[WRITERS];
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&rt[i], NULL, reader, &sh), 0);
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (wctx){.sh = &sh, .id = i};
        assert_int_equal(pthread_create(&wt[i], NULL, writer, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(wt[i], NULL);
    atomic_store(&sh.stop, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(rt[i], NULL);
    assert_int_equal(atomic_load(&sh.failures), 0);
    for (int t = 0; t < WRITERS; t++) {
        assert_int_equal(w[t].acked, PER_WRITER);
        for (int i = 0; i < PER_WRITER; i++) {
            uint64_t key = ((uint64_t)t << 32) | (uint64_t)i, v = 0;
            assert_int_equal(st_read_u64(sh.s, HD_STORE_EVENTS, key, &v), 0);
            assert_true(v == ~key);
        }
    }
    hd_store_stats st;
    hd_err err = {0};
    assert_int_equal(hd_store_stats_get(sh.s, &st, &err), 0);
    assert_int_equal(st.mutations, WRITERS * PER_WRITER);
    print_message("  %d writes in %llu commits, %ld reads, slowest read %.2f ms\n",
                  WRITERS * PER_WRITER, (unsigned long long)st.commits, atomic_load(&sh.reads),
                  (double)atomic_load(&sh.max_read_ns) / 1e6);
    hd_store_close(sh.s);
    free(dir);
}

static void readers_finish_while_the_writer_holds_a_transaction_open(void **state)
{
    (void)state;
    char *dir = st_tmpdir("block");
    shared sh = {.s = st_open(dir, 0, 0)};
    hd_err err = {0};
    kv a = {1};
    assert_int_equal(hd_store_write(sh.s, apply_put, &a, &err), 0);
    st_gate g;
    st_gate_init(&g);
    assert_int_equal(hd_store_submit(sh.s, st_gate_apply, st_gate_done, &g, &err), 0);
    st_gate_wait_entered(&g);
    /* The writer is now inside an open write transaction. Readers must make progress:
     * wait (bounded, 10 s) for 1000 completed reads while it stays open. */
    pthread_t rt[READERS];
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&rt[i], NULL, reader, &sh), 0);
    long t0 = now_ns();
    while (atomic_load(&sh.reads) < 1000 && now_ns() - t0 < 10000000000L)
        sched_yield();
    long reads_during = atomic_load(&sh.reads);
    st_gate_release(&g);
    atomic_store(&sh.stop, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(rt[i], NULL);
    if (reads_during < 1000)
        fail_msg("only %ld reads completed while the writer held its transaction", reads_during);
    assert_int_equal(atomic_load(&sh.failures), 0);
    print_message("  %ld reads completed during the open write txn in %.2f ms\n", reads_during,
                  (double)(now_ns() - t0) / 1e6);
    st_gate_destroy(&g);
    hd_store_close(sh.s);
    free(dir);
}

/* Each mutation appends row n and sets the counter to n in the same transaction. */
static int apply_row_and_counter(hd_txn *txn, void *arg, hd_err *err)
{
    (void)arg;
    uint64_t n;
    int rc = hd_store_seq_next(txn, "rows", &n, err);
    if (rc == 0)
        rc = st_put_u64(txn, HD_STORE_OUTBOX, n, n, err);
    return rc;
}

static void *row_writer(void *arg)
{
    shared *sh = arg;
    for (int i = 0; i < 2000 && !atomic_load(&sh->stop); i++) {
        hd_err err = {0};
        if (hd_store_write(sh->s, apply_row_and_counter, NULL, &err) != 0)
            atomic_fetch_add(&sh->failures, 1);
    }
    return NULL;
}

static void backup_during_writes_is_a_consistent_prefix(void **state)
{
    (void)state;
    char *dir = st_tmpdir("bkw");
    char data[4200];
    snprintf(data, sizeof(data), "%s/data", dir);
    shared sh = {.s = st_open(data, 64 << 10, 0)};
    pthread_t wt[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&wt[i], NULL, row_writer, &sh), 0);
    enum { BACKUPS = 5 };
    char dest[BACKUPS][4300];
    for (int b = 0; b < BACKUPS; b++) {
        hd_err err = {0};
        hd_store_backup_info info = {0};
        snprintf(dest[b], sizeof(dest[b]), "%s/backup-%d", dir, b);
        if (hd_store_backup(sh.s, dest[b], &info, &err) != 0)
            fail_msg("backup %d: %s", b, err.detail);
        assert_true(info.bytes > 0);
    }
    atomic_store(&sh.stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(wt[i], NULL);
    assert_int_equal(atomic_load(&sh.failures), 0);
    hd_store_close(sh.s);

    for (int b = 0; b < BACKUPS; b++) {
        hd_store *copy = st_open(dest[b], 0, 0);
        hd_txn *txn;
        hd_err err = {0};
        assert_int_equal(hd_store_read_begin(copy, &txn, &err), 0);
        uint64_t rows = 0, counter = 0;
        assert_int_equal(hd_store_count(txn, HD_STORE_OUTBOX, &rows, &err), 0);
        hd_key k;
        const void *p;
        size_t n;
        hd_key_init(&k);
        hd_key_str(&k, "rows");
        if (rows > 0) {
            assert_int_equal(hd_store_get(txn, HD_STORE_SEQ, &k, &p, &n, &err), 0);
            hd_key_reader r;
            hd_key_reader_init(&r, p, n);
            assert_int_equal(hd_key_read_u64(&r, &counter, &err), 0);
        }
        assert_int_equal(counter, rows);
        /* And the rows are exactly 1..rows. */
        for (uint64_t i = 1; i <= rows; i++) {
            uint64_t v;
            assert_int_equal(st_get_u64(txn, HD_STORE_OUTBOX, i, &v, &err), 0);
        }
        hd_store_read_end(txn);
        hd_store_close(copy);
    }
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writers_and_readers_together_lose_no_acknowledged_write),
        cmocka_unit_test(readers_finish_while_the_writer_holds_a_transaction_open),
        cmocka_unit_test(backup_during_writes_is_a_consistent_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
