/* Durable write throughput of the store: group commit (default batching) against one
 * commit per write (max_batch = 1), both with real fsync, 64 threads each calling
 * hd_store_write in a loop for a fixed time. The modes alternate for several rounds (disk
 * speed on shared machines drifts); prints each round's rates and ratio, then the medians.
 * Usage: store_bench [--seconds S] [--rounds R] [--threads N] [--value-bytes B]
 *                    [--dir PARENT] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/common/log.h"
#include "server/store/store.h"

typedef struct bench {
    hd_store *s;
    atomic_int stop;
    atomic_long done;
    atomic_long failed;
    atomic_ullong next_key; /* ids are allocated in order, like ticket ids */
    size_t value_bytes;
} bench;

typedef struct put_arg {
    uint64_t key;
    const unsigned char *val;
    size_t len;
} put_arg;

static int apply_put(hd_txn *txn, void *arg, hd_err *err)
{
    put_arg *a = arg;
    hd_key k;
    hd_key_init(&k);
    hd_key_u64(&k, a->key);
    return hd_store_put(txn, HD_STORE_EVENTS, &k, a->val, a->len, 0, err);
}

typedef struct worker {
    bench *b;
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    unsigned char *val = calloc(1, w->b->value_bytes);
    if (!val)
        return NULL;
    while (!atomic_load(&w->b->stop)) {
        put_arg a = {atomic_fetch_add(&w->b->next_key, 1), val, w->b->value_bytes};
        hd_err err = {0};
        if (hd_store_write(w->b->s, apply_put, &a, &err) == 0)
            atomic_fetch_add(&w->b->done, 1);
        else
            atomic_fetch_add(&w->b->failed, 1);
    }
    free(val);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void remove_store(const char *dir)
{
    char p[4300];
    snprintf(p, sizeof(p), "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

/* Runs one mode; returns durable writes per second, or -1 on error. */
static double run_mode(const char *parent, const char *name, unsigned max_batch, int threads,
                       double seconds, size_t value_bytes, hd_store_stats *st)
{
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/store_bench-%s-XXXXXX", parent, name);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return -1;
    }
    hd_store_opts o = {.path = dir, .max_batch = max_batch, .map_start = 64u << 20};
    bench b = {.value_bytes = value_bytes};
    hd_err err = {0};
    if (hd_store_open(&b.s, &o, &err) != 0) {
        fprintf(stderr, "open %s: %s\n", dir, err.detail);
        remove_store(dir);
        return -1;
    }
    pthread_t *th = calloc((size_t)threads, sizeof(*th));
    worker *ws = calloc((size_t)threads, sizeof(*ws));
    if (!th || !ws) {
        free(th);
        free(ws);
        hd_store_close(b.s);
        remove_store(dir);
        return -1;
    }
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        ws[i] = (worker){&b};
        pthread_create(&th[i], NULL, run_worker, &ws[i]);
    }
    struct timespec nap = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&nap, NULL); /* the measurement window, not synchronisation */
    atomic_store(&b.stop, 1);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double elapsed = now_s() - t0;
    hd_store_stats_get(b.s, st, &err);
    long done = atomic_load(&b.done), failed = atomic_load(&b.failed);
    hd_store_close(b.s);
    remove_store(dir);
    free(th);
    free(ws);
    double rate = (double)done / elapsed;
    printf("%-22s %8ld writes in %.2f s = %9.0f writes/s, %llu commits (%.1f writes/commit), "
           "%ld failed\n",
           name, done, elapsed, rate, (unsigned long long)st->commits,
           st->commits ? (double)st->mutations / (double)st->commits : 0.0, failed);
    return failed ? -1 : rate;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    double seconds = 2;
    int rounds = 3;
    int threads = 64;
    size_t value_bytes = 256;
    const char *parent = "/tmp";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--value-bytes") && i + 1 < argc)
            value_bytes = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            parent = argv[++i];
        else {
            fprintf(stderr, "usage: store_bench [--seconds S] [--threads N] [--value-bytes B] "
                            "[--dir PARENT]\n");
            return 2;
        }
    }
    if (seconds <= 0 || threads < 1 || threads > 4096 || rounds < 1 || rounds > 100) {
        fprintf(stderr, "store_bench: bad --seconds, --rounds or --threads\n");
        return 2;
    }
    hd_log_set_level(HD_LOG_WARN);
    printf("durable puts (fsync per commit), %d threads, %zu-byte values, %.1f s per mode, "
           "dir %s\n",
           threads, value_bytes, seconds, parent);
    hd_store_stats st;
    double g[100], p[100], r[100];
    for (int i = 0; i < rounds; i++) {
        printf("round %d\n", i + 1);
        g[i] = run_mode(parent, "group-commit", 0, threads, seconds, value_bytes, &st);
        p[i] = run_mode(parent, "commit-per-write", 1, threads, seconds, value_bytes, &st);
        if (g[i] < 0 || p[i] <= 0)
            return 1;
        r[i] = g[i] / p[i];
        printf("  ratio %.1fx\n", r[i]);
    }
    double mg = median(g, rounds), mp = median(p, rounds), mr = median(r, rounds);
    printf("median over %d rounds: group-commit %.0f writes/s, commit-per-write %.0f writes/s, "
           "ratio %.1fx (target >= 20x)\n",
           rounds, mg, mp, mr);
    return 0;
}
