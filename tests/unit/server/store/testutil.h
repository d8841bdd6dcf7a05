/* Helpers shared by the store tests: a fresh temp dir per test and a quick-open store. */
#ifndef HD_TESTS_STORE_TESTUTIL_H
#define HD_TESTS_STORE_TESTUTIL_H

#include <pthread.h>
#include <stdint.h>

#include "server/store/store.h"

/* Returns a new empty directory under $TEST_TMPDIR (or /tmp), owned (free()). */
char *st_tmpdir(const char *tag);

/* Opens a store at dir with unsafe_nosync (tests only) and the given map sizes (0 =
 * default); fails the test on error. Returns an owned store. */
hd_store *st_open(const char *dir, uint64_t map_start, uint64_t map_max);

/* Writes/reads a u64 value under a u64 key in table t. */
int st_put_u64(hd_txn *txn, hd_table t, uint64_t key, uint64_t val, hd_err *err);
int st_get_u64(hd_txn *txn, hd_table t, uint64_t key, uint64_t *val, hd_err *err);

/* Reads a u64 key/value with one read txn; returns 0 or the error. */
int st_read_u64(hd_store *s, hd_table t, uint64_t key, uint64_t *val);

/* A mutation that holds the writer inside its transaction until opened: lets tests build a
 * known batch behind it or measure readers while a write transaction is open. */
typedef struct st_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered;
    int open;
} st_gate;

void st_gate_init(st_gate *g);
void st_gate_destroy(st_gate *g);
/* hd_store_apply_fn: marks entered, waits (bounded, 30 s) until opened. */
int st_gate_apply(hd_txn *txn, void *gate, hd_err *err);
/* hd_store_done_fn that ignores the result. */
void st_gate_done(void *gate, const hd_err *err);
/* Waits (bounded, 10 s; fails the test after) until the writer is inside the gate. */
void st_gate_wait_entered(st_gate *g);
void st_gate_release(st_gate *g);

#endif
