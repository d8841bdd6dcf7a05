/* Report-run leases. A record is "<done> <expire_ms> <holder>" as text: small, readable
 * with mdb_dump, and versioned by its leading field count. */
#include "server/reports/lease.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/common/arena.h"
#include "server/store/key.h"

static int printable(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n < 1 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7E)
            return 0;
    return 1;
}

int hd_lease_prepare(hd_lease_op *op, const char *run_key, const char *holder, uint32_t ttl_s,
                     int64_t now_ms, hd_err *err)
{
    memset(op, 0, sizeof *op);
    if (!run_key || !printable(run_key, HD_LEASE_KEY_MAX))
        return hd_err_set(err, HD_EINVAL, "run_key: 1-%d printable ASCII characters",
                          HD_LEASE_KEY_MAX);
    if (!holder || !printable(holder, HD_LEASE_HOLDER_MAX))
        return hd_err_set(err, HD_EINVAL, "holder: 1-%d printable ASCII characters",
                          HD_LEASE_HOLDER_MAX);
    if (ttl_s < 1 || ttl_s > HD_LEASE_TTL_MAX_S)
        return hd_err_set(err, HD_EINVAL, "ttl_seconds: 1-%d", HD_LEASE_TTL_MAX_S);
    snprintf(op->run_key, sizeof op->run_key, "%s", run_key);
    snprintf(op->holder, sizeof op->holder, "%s", holder);
    op->ttl_s = ttl_s;
    op->now_ms = now_ms;
    return 0;
}

static void lease_key(hd_key *k, const char *run_key)
{
    hd_key_init(k);
    hd_key_str(k, "report-lease");
    hd_key_str(k, run_key);
}

/* Reads the record into *st; returns HD_OK, HD_ENOTFOUND or HD_ECORRUPT. */
static int load(hd_txn *txn, const char *run_key, hd_lease_state *st, hd_err *err)
{
    hd_key k;
    lease_key(&k, run_key);
    const void *val;
    size_t len;
    int rc = hd_store_get(txn, HD_STORE_SETTINGS, &k, &val, &len, err);
    if (rc)
        return rc;
    char buf[HD_LEASE_HOLDER_MAX + 64];
    if (len >= sizeof buf)
        return hd_err_set(err, HD_ECORRUPT, "lease %s: record too long", run_key);
    memcpy(buf, val, len);
    buf[len] = 0;
    int done, used = 0;
    int64_t exp;
    if (sscanf(buf, "%d %" SCNd64 " %n", &done, &exp, &used) != 2 || !used ||
        strlen(buf + used) > HD_LEASE_HOLDER_MAX)
        return hd_err_set(err, HD_ECORRUPT, "lease %s: unreadable record", run_key);
    memset(st, 0, sizeof *st);
    st->done = done != 0;
    st->expire_ms = exp;
    snprintf(st->holder, sizeof st->holder, "%s", buf + used);
    return 0;
}

static int save(hd_txn *txn, const char *run_key, const hd_lease_state *st, hd_err *err)
{
    hd_key k;
    lease_key(&k, run_key);
    char buf[HD_LEASE_HOLDER_MAX + 64];
    int n =
        snprintf(buf, sizeof buf, "%d %" PRId64 " %s", st->done ? 1 : 0, st->expire_ms, st->holder);
    return hd_store_put(txn, HD_STORE_SETTINGS, &k, buf, (size_t)n, 0, err);
}

/* Run keys of completed records past retention, collected by a scan (which must not
 * write) and deleted after it. */
typedef struct purge_scan {
    int64_t cutoff_ms;
    const char *skip; /* the run being acquired */
    hd_arena *a;      /* decoded key strings, reset per record */
    int n;
    char keys[HD_LEASE_PURGE_MAX][HD_LEASE_KEY_MAX + 1];
} purge_scan;

static int purge_visit(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    purge_scan *p = arg;
    hd_key_reader r;
    hd_err e;
    char *name, *run;
    size_t nlen, rlen;
    char buf[HD_LEASE_HOLDER_MAX + 64];
    int done;
    int64_t exp;
    hd_arena_reset(p->a);
    hd_key_reader_init(&r, key, klen);
    if (hd_key_read_str(&r, p->a, &name, &nlen, &e) || hd_key_read_str(&r, p->a, &run, &rlen, &e) ||
        rlen > HD_LEASE_KEY_MAX || vlen >= sizeof buf)
        return 0; /* not a record this module wrote: leave it */
    memcpy(buf, val, vlen);
    buf[vlen] = 0;
    if (sscanf(buf, "%d %" SCNd64, &done, &exp) != 2 || !done || exp >= p->cutoff_ms)
        return 0;
    if (strlen(p->skip) == rlen && !memcmp(p->skip, run, rlen))
        return 0;
    memcpy(p->keys[p->n], run, rlen);
    p->keys[p->n][rlen] = 0;
    return ++p->n == HD_LEASE_PURGE_MAX ? 1 : 0;
}

static int purge(hd_txn *txn, hd_lease_op *op, hd_err *err)
{
    purge_scan *p = calloc(1, sizeof *p);
    if (p)
        p->a = hd_arena_create(0);
    if (!p || !p->a) {
        free(p);
        return hd_err_set(err, HD_ENOMEM, "lease purge: out of memory");
    }
    p->cutoff_ms = op->now_ms - HD_LEASE_RETENTION_MS;
    p->skip = op->run_key;
    hd_key prefix;
    hd_key_init(&prefix);
    hd_key_str(&prefix, "report-lease");
    hd_store_range range = {.prefix = &prefix};
    int64_t n = hd_store_scan(txn, HD_STORE_SETTINGS, &range, purge_visit, p, err);
    int rc = n < 0 ? (int)n : 0;
    for (int i = 0; i < p->n && !rc; i++) {
        hd_key k;
        lease_key(&k, p->keys[i]);
        rc = hd_store_del(txn, HD_STORE_SETTINGS, &k, err);
    }
    op->purged = rc ? 0 : p->n;
    hd_arena_destroy(p->a);
    free(p);
    return rc;
}

int hd_lease_acquire_apply(hd_txn *txn, void *arg, hd_err *err)
{
    hd_lease_op *op = arg;
    hd_lease_state cur;
    int rc = purge(txn, op, err);
    if (rc)
        return rc;
    rc = load(txn, op->run_key, &cur, err);
    if (rc && rc != HD_ENOTFOUND)
        return rc;
    op->out = cur;
    op->out.granted = false;
    if (rc == 0 && (cur.done || (cur.expire_ms > op->now_ms && strcmp(cur.holder, op->holder))))
        return 0;
    hd_lease_state next = {
        .granted = true, .done = false, .expire_ms = op->now_ms + (int64_t)op->ttl_s * 1000};
    snprintf(next.holder, sizeof next.holder, "%s", op->holder);
    rc = save(txn, op->run_key, &next, err);
    if (rc)
        return rc;
    op->out = next;
    return 0;
}

int hd_lease_complete_apply(hd_txn *txn, void *arg, hd_err *err)
{
    hd_lease_op *op = arg;
    hd_lease_state cur;
    int rc = load(txn, op->run_key, &cur, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "lease %s: not acquired", op->run_key);
    if (rc)
        return rc;
    if (strcmp(cur.holder, op->holder))
        return hd_err_set(err, HD_ESTATE, "lease %s: held by %s", op->run_key, cur.holder);
    op->out = cur;
    if (cur.done)
        return 0;
    cur.done = true;
    rc = save(txn, op->run_key, &cur, err);
    if (rc)
        return rc;
    op->out = cur;
    return 0;
}
