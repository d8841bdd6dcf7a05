/* Map growth: a store that starts at 64 KiB grows under writes without callers noticing;
 * at the cap, writes that do not fit fail alone with HD_EFULL and a clear detail, reads
 * keep working, and smaller writes still succeed. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/store/store.h"
#include "tests/unit/server/store/testutil.h"

typedef struct blob_arg {
    uint64_t key;
    size_t size;
} blob_arg;

/* Value: size bytes, each the low byte of key, so reads can verify content. */
static int apply_blob(hd_txn *txn, void *arg, hd_err *err)
{
    blob_arg *a = arg;
    unsigned char *v = malloc(a->size ? a->size : 1);
    if (!v)
        return hd_err_set(err, HD_ENOMEM, "test blob");
    memset(v, (int)(a->key & 0xFF), a->size);
    hd_key k;
    hd_key_init(&k);
    hd_key_u64(&k, a->key);
    int rc = hd_store_put(txn, HD_STORE_MESSAGES, &k, v, a->size, 0, err);
    free(v);
    return rc;
}

static int blob_present(hd_store *s, uint64_t key, size_t size)
{
    hd_txn *txn;
    hd_err err = {0};
    hd_key k;
    const void *p;
    size_t n;
    if (hd_store_read_begin(s, &txn, &err) != 0)
        return 0;
    hd_key_init(&k);
    hd_key_u64(&k, key);
    int ok = hd_store_get(txn, HD_STORE_MESSAGES, &k, &p, &n, &err) == 0 && n == size;
    for (size_t i = 0; ok && i < n; i++)
        ok = ((const unsigned char *)p)[i] == (key & 0xFF);
    hd_store_read_end(txn);
    return ok;
}

typedef struct writer_ctx {
    hd_store *s;
    int thread;
    int count;
    int failures;
} writer_ctx;

static void *write_blobs(void *arg)
{
    writer_ctx *w = arg;
    for (int i = 0; i < w->count; i++) {
        blob_arg b = {((uint64_t)w->thread << 32) | (uint64_t)i, 300};
        hd_err err = {0};
        if (hd_store_write(w->s, apply_blob, &b, &err) != 0)
            w->failures++;
    }
    return NULL;
}

static void store_grows_from_64k_under_concurrent_writes_and_keeps_every_ack(void **state)
{
    (void)state;
    char *dir = st_tmpdir("grow");
    hd_store *s = st_open(dir, 64 << 10, 256 << 20);
    enum { THREADS = 4, PER = 1000 };
    writer_ctx w[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t] = (writer_ctx){.s = s, .thread = t, .count = PER};
        assert_int_equal(pthread_create(&th[t], NULL, write_blobs, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(w[t].failures, 0);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER; i++)
            if (!blob_present(s, ((uint64_t)t << 32) | (uint64_t)i, 300))
                fail_msg("acknowledged write %d/%d missing", t, i);
    hd_store_stats st;
    hd_err err = {0};
    assert_int_equal(hd_store_stats_get(s, &st, &err), 0);
    assert_true(st.map_grows >= 4);
    assert_true(st.map_size > (64 << 10));
    assert_int_equal(st.entries[HD_STORE_MESSAGES], THREADS * PER);
    hd_store_close(s);
    /* The grown size persists: reopening with a small start keeps every record. */
    s = st_open(dir, 64 << 10, 256 << 20);
    assert_true(blob_present(s, (3ull << 32) | 999u, 300));
    hd_store_close(s);
    free(dir);
}

typedef struct acked {
    blob_arg blob;
    int done;
    hd_err err;
    pthread_mutex_t *mu;
    pthread_cond_t *cv;
} acked;

static int apply_acked(hd_txn *txn, void *arg, hd_err *err)
{
    return apply_blob(txn, &((acked *)arg)->blob, err);
}

static void done_acked(void *arg, const hd_err *err)
{
    acked *a = arg;
    pthread_mutex_lock(a->mu);
    a->err = *err;
    a->done = 1;
    pthread_cond_broadcast(a->cv);
    pthread_mutex_unlock(a->mu);
}

static void full_store_fails_only_writes_that_do_not_fit_and_keeps_reading(void **state)
{
    (void)state;
    char *dir = st_tmpdir("full");
    const uint64_t max = 512 << 10;
    hd_store *s = st_open(dir, 64 << 10, max);
    hd_err err = {0};
    /* Fill with 8 KiB values until the cap refuses one (bounded: 512 KiB / 8 KiB). */
    int written = 0, rc = 0;
    for (int i = 0; i < 200; i++) {
        blob_arg b = {(uint64_t)i, 8 << 10};
        rc = hd_store_write(s, apply_blob, &b, &err);
        if (rc)
            break;
        written++;
    }
    assert_int_equal(rc, HD_EFULL);
    assert_true(written > 10);
    char want[128];
    snprintf(want, sizeof(want), "store full: map reached %llu bytes; raise --map-max",
             (unsigned long long)max);
    assert_string_equal(err.detail, want);
    /* Reads keep working and see every acknowledged write. */
    for (int i = 0; i < written; i++)
        assert_true(blob_present(s, (uint64_t)i, 8 << 10));

    /* One batch: a write that cannot fit among small ones. Only it fails. */
    st_gate g;
    st_gate_init(&g);
    assert_int_equal(hd_store_submit(s, st_gate_apply, st_gate_done, &g, &err), 0);
    st_gate_wait_entered(&g);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    enum { N = 6 };
    acked a[N];
    for (int i = 0; i < N; i++) {
        a[i] =
            (acked){.blob = {1000 + (uint64_t)i, i == 2 ? (size_t)max : 16}, .mu = &mu, .cv = &cv};
        assert_int_equal(hd_store_submit(s, apply_acked, done_acked, &a[i], &err), 0);
    }
    st_gate_release(&g);
    pthread_mutex_lock(&mu);
    for (int i = 0; i < N; i++)
        while (!a[i].done)
            pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < N; i++) {
        if (i == 2) {
            assert_int_equal(a[i].err.code, HD_EFULL);
            assert_false(blob_present(s, a[i].blob.key, a[i].blob.size));
        } else {
            if (a[i].err.code != 0)
                fail_msg("small write %d failed: %s", i, a[i].err.detail);
            assert_true(blob_present(s, a[i].blob.key, 16));
        }
    }
    hd_store_stats st;
    assert_int_equal(hd_store_stats_get(s, &st, &err), 0);
    assert_int_equal(st.map_size, max);
    st_gate_destroy(&g);
    hd_store_close(s);
    free(dir);
}

/* Child mode: open the store at dir from a second process and grow its map by writing. */
static int grow_child(const char *dir)
{
    hd_store_opts o = {.path = dir, .map_start = 64 << 10, .map_max = 64 << 20, .unsafe_nosync = 1};
    hd_store *s = NULL;
    hd_err err = {0};
    if (hd_store_open(&s, &o, &err) != 0)
        return 3;
    for (int i = 0; i < 400; i++) {
        blob_arg b = {5000 + (uint64_t)i, 1024};
        if (hd_store_write(s, apply_blob, &b, &err) != 0)
            return 4;
    }
    hd_store_close(s);
    return 0;
}

static void map_grown_by_another_process_is_adopted_by_this_one(void **state)
{
    (void)state;
    char *dir = st_tmpdir("resized");
    hd_store *s = st_open(dir, 64 << 10, 64 << 20);
    hd_err err = {0};
    blob_arg b = {1, 100};
    assert_int_equal(hd_store_write(s, apply_blob, &b, &err), 0);
    hd_store_stats before;
    assert_int_equal(hd_store_stats_get(s, &before, &err), 0);

    char *const argv[] = {(char *)"growth_test", (char *)"--grow-child", dir, NULL};
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* Readers get MDB_MAP_RESIZED internally, adopt the new size and see the data. */
    assert_true(blob_present(s, 5000, 1024));
    assert_true(blob_present(s, 5399, 1024));
    hd_store_stats after;
    assert_int_equal(hd_store_stats_get(s, &after, &err), 0);
    assert_true(after.map_size > before.map_size);
    /* And this process can still write. */
    b.key = 2;
    assert_int_equal(hd_store_write(s, apply_blob, &b, &err), 0);
    assert_true(blob_present(s, 2, 100));
    hd_store_close(s);
    free(dir);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--grow-child") == 0)
        return grow_child(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(map_grown_by_another_process_is_adopted_by_this_one),
        cmocka_unit_test(store_grows_from_64k_under_concurrent_writes_and_keeps_every_ack),
        cmocka_unit_test(full_store_fails_only_writes_that_do_not_fit_and_keeps_reading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
