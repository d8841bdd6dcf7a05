/* Helpers shared by the store tests. */
#include "tests/unit/server/store/testutil.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
