/* Rollup counters (see rollup.h): 8-byte big-endian values under (metric, day, dim). */
#include "server/rollup/rollup.h"

#include <inttypes.h>

uint32_t hd_rollup_day(int64_t unix_ms)
{
    int64_t d = unix_ms >= 0 ? unix_ms / 86400000 : (unix_ms - 86399999) / 86400000;
    if (d < 0)
        return 0;
    return d >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)d;
}

hd_key *hd_rollup_key(hd_key *k, const char *metric, uint32_t day, uint32_t dim)
{
    hd_key_init(k);
    hd_key_str(k, metric);
    hd_key_u32(k, day);
    return hd_key_u32(k, dim);
}

static uint64_t be64_get(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void be64_put(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}

static int read_counter(hd_txn *txn, const hd_key *k, const char *metric, uint64_t *out,
                        hd_err *err)
{
    const void *val;
    size_t len;
    int rc = hd_store_get(txn, HD_STORE_ROLLUPS, k, &val, &len, err);
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(err);
        *out = 0;
        return 0;
    }
    if (rc < 0)
        return rc;
    if (len != 8)
        return hd_err_set(err, HD_ECORRUPT, "rollup %s: value of %zu bytes, want 8", metric, len);
    *out = be64_get(val);
    return 0;
}

int hd_rollup_add(hd_txn *txn, const char *metric, uint32_t day, uint32_t dim, int64_t delta,
                  hd_err *err)
{
    hd_key k;
    uint64_t v;
    unsigned char buf[8];
    hd_rollup_key(&k, metric, day, dim);
    int rc = read_counter(txn, &k, metric, &v, err);
    if (rc < 0)
        return rc;
    if (delta < 0 && (uint64_t)(-(delta + 1)) + 1 > v)
        return hd_err_set(err, HD_ECORRUPT,
                          "rollup %s day %" PRIu32 " dim %" PRIu32 ": %" PRIu64 " %+" PRId64
                          " goes below 0",
                          metric, day, dim, v, delta);
    v = delta < 0 ? v - ((uint64_t)(-(delta + 1)) + 1) : v + (uint64_t)delta;
    be64_put(buf, v);
    return hd_store_put(txn, HD_STORE_ROLLUPS, &k, buf, sizeof(buf), 0, err);
}

int hd_rollup_get(hd_txn *txn, const char *metric, uint32_t day, uint32_t dim, uint64_t *out,
                  hd_err *err)
{
    hd_key k;
    hd_rollup_key(&k, metric, day, dim);
    return read_counter(txn, &k, metric, out, err);
}
