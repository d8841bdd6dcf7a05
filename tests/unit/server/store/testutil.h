/* Helpers shared by the store tests: a fresh temp dir per test and a quick-open store. */
#ifndef HD_TESTS_STORE_TESTUTIL_H
#define HD_TESTS_STORE_TESTUTIL_H

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

#endif
