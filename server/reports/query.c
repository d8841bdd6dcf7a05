/* Rollup range reads. ROLLUPS keys are (string metric, u32 day, u32 dim), so one metric's
 * days are contiguous: a scan starts at (metric, d0), stops after d1 and restarts at the
 * next metric's d0, never walking the days outside the range. */
#include "server/reports/query.h"

#include <string.h>

#include "server/rollup/rollup.h"
#include "server/store/key.h"

/* Where the scan is and where it must go next. */
typedef struct scan_state {
    uint32_t d0, d1;
    hd_reports_rollup_fn fn;
    void *arg;
    int64_t visited;
    hd_arena *a;
    char metric[HD_KEY_MAX + 1]; /* metric being read */
    enum { GO_ON, SEEK_D0, SKIP_METRIC } next;
    int cb_rc;
} scan_state;

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static int visit(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    scan_state *s = arg;
    hd_key_reader r;
    hd_err e;
    char *m;
    size_t mlen;
    uint32_t day, dim;
    hd_arena_reset(s->a);
    hd_key_reader_init(&r, key, klen);
    if (hd_key_read_str(&r, s->a, &m, &mlen, &e) || hd_key_read_u32(&r, &day, &e) ||
        hd_key_read_u32(&r, &dim, &e) || vlen != 8 || mlen > HD_KEY_MAX)
        return HD_ECORRUPT;
    if (strcmp(m, s->metric)) {
        memcpy(s->metric, m, mlen + 1);
        if (day < s->d0) {
            s->next = SEEK_D0;
            return 1;
        }
    }
    if (day > s->d1) {
        s->next = SKIP_METRIC;
        return 1;
    }
    s->visited++;
    int rc = s->fn(s->arg, m, day, dim, be64(val));
    if (rc)
        s->cb_rc = rc;
    return rc;
}

int64_t hd_reports_rollup_scan(hd_txn *txn, const char *pattern, uint32_t d0, uint32_t d1,
                               hd_reports_rollup_fn fn, void *arg, hd_err *err)
{
    size_t plen = pattern ? strlen(pattern) : 0;
    int is_prefix = plen && pattern[plen - 1] == '*';
    if (!plen || (is_prefix && plen == 1))
        return hd_err_set(err, HD_EINVAL, "metric pattern: empty");
    if (plen > HD_KEY_MAX / 2)
        return hd_err_set(err, HD_EINVAL, "metric pattern: longer than %d", HD_KEY_MAX / 2);
    scan_state s = {.d0 = d0, .d1 = d1, .fn = fn, .arg = arg, .a = hd_arena_create(0)};
    if (!s.a)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    hd_key prefix, start;
    hd_key_init(&prefix);
    if (is_prefix)
        hd_key_str_prefix(&prefix, pattern, plen - 1);
    else
        hd_key_str(&prefix, pattern);
    int64_t rc = 0;
    hd_store_range range = {.prefix = &prefix, .start = &start};
    if (is_prefix) {
        start = prefix;
    } else {
        hd_rollup_key(&start, pattern, d0, 0);
        memcpy(s.metric, pattern, plen + 1);
    }
    /* Each round ends at a metric's first day outside the range, and the next one starts
     * past it: at most two rounds per metric present. */
    for (;;) {
        s.next = GO_ON;
        rc = hd_store_scan(txn, HD_STORE_ROLLUPS, &range, visit, &s, err);
        if (rc < 0) {
            if (rc == HD_ECORRUPT && !s.cb_rc)
                hd_err_set(err, HD_ECORRUPT, "rollups: unreadable counter near %s", s.metric);
            goto out;
        }
        if (s.cb_rc || s.next == GO_ON)
            break;
        if (s.next == SEEK_D0) {
            hd_rollup_key(&start, s.metric, d0, 0);
            range.exclusive = 0;
        } else {
            hd_rollup_key(&start, s.metric, UINT32_MAX, UINT32_MAX);
            range.exclusive = 1;
        }
    }
    rc = s.visited;
out:
    hd_arena_destroy(s.a);
    return rc;
}
