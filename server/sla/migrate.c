/* One-time move of SLA state from SETTINGS to the SLA tables (see migrate.h). */
#include "server/sla/migrate.h"

#include <stdlib.h>
#include <string.h>

#include "server/common/arena.h"
#include "server/common/log.h"
#include "server/sla/config.h"
#include "server/sla/record.h"

/* Records moved per scan: the scan collects copies, then the moves write SETTINGS (a scan
 * must not write the table it walks); the next scan starts again at the prefix. */
#define MOVE_BATCH 512

typedef struct moved_rec {
    hd_key key;
    const void *val;
    size_t len;
} moved_rec;

typedef struct mover {
    hd_txn *txn;
    hd_arena *a;
    hd_err *err;
    moved_rec recs[MOVE_BATCH];
    size_t n;
    uint64_t moved;
} mover;

static int collect_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    mover *m = arg;
    moved_rec *r = &m->recs[m->n];
    void *copy = hd_arena_alloc(m->a, vlen ? vlen : 1);
    if (!copy)
        return hd_err_set(m->err, HD_ENOMEM, "sla migrate: out of memory");
    memcpy(copy, val, vlen);
    hd_key_init(&r->key);
    hd_key_bytes(&r->key, key, klen);
    r->val = copy;
    r->len = vlen;
    return ++m->n >= MOVE_BATCH ? 1 : 0;
}

/* Writes one record at its new place; for clock records also the list index entries. */
static int place(mover *m, const hd_key *prefix, hd_table to, const moved_rec *r)
{
    hd_key k;
    if (to == HD_STORE_SLA_CONFIG)
        return hd_store_put(m->txn, to, &r->key, r->val, r->len, 0, m->err);
    hd_key_reader rd;
    uint64_t id;
    hd_sla_ticket t;
    hd_key_reader_init(&rd, r->key.buf + prefix->len, r->key.len - prefix->len);
    int rc = hd_key_read_u64(&rd, &id, m->err);
    if (rc < 0)
        return rc;
    hd_key_init(&k);
    hd_key_u64(&k, id);
    rc = hd_store_put(m->txn, to, &k, r->val, r->len, 0, m->err);
    if (rc == 0)
        rc = hd_sla_record_load(m->txn, id, &t, m->err);
    if (rc == 0) /* old = NULL: puts every index entry (IDX_SLADUE's are already there) */
        rc = hd_sla_record_save(m->txn, NULL, &t, m->err);
    return rc;
}

static int move_prefix(mover *m, const char *name, hd_table to)
{
    hd_key p;
    hd_key_init(&p);
    hd_key_str(&p, name);
    hd_store_range range = {.prefix = &p};
    for (;;) {
        m->n = 0;
        hd_arena_reset(m->a);
        int64_t sc = hd_store_scan(m->txn, HD_STORE_SETTINGS, &range, collect_cb, m, m->err);
        if (sc < 0)
            return (int)sc;
        if (m->n == 0)
            return 0;
        for (size_t i = 0; i < m->n; i++) {
            int rc = place(m, &p, to, &m->recs[i]);
            if (rc == 0)
                rc = hd_store_del(m->txn, HD_STORE_SETTINGS, &m->recs[i].key, m->err);
            if (rc < 0)
                return rc;
            m->moved++;
        }
    }
}

static int migrate_apply(hd_txn *txn, void *arg, hd_err *err)
{
    mover *m = arg;
    uint32_t done;
    m->txn = txn;
    m->err = err;
    m->moved = 0;
    int rc = hd_store_marker_get(txn, HD_SLA_LAYOUT_SETTING, &done, err);
    if (rc < 0 || done >= HD_SLA_LAYOUT_VERSION)
        return rc;
    rc = move_prefix(m, HD_SLA_KEY_CALENDAR, HD_STORE_SLA_CONFIG);
    if (rc == 0)
        rc = move_prefix(m, HD_SLA_KEY_POLICY, HD_STORE_SLA_CONFIG);
    if (rc == 0)
        rc = move_prefix(m, HD_SLA_KEY_TICKET, HD_STORE_SLA_CLOCKS);
    if (rc == 0)
        rc = hd_store_marker_set(txn, HD_SLA_LAYOUT_SETTING, HD_SLA_LAYOUT_VERSION, err);
    return rc;
}

int hd_sla_migrate(hd_store *s, uint64_t *moved, hd_err *err)
{
    mover *m = calloc(1, sizeof(*m));
    int rc;
    if (!m)
        return hd_err_set(err, HD_ENOMEM, "sla migrate: out of memory");
    m->a = hd_arena_create(0);
    if (!m->a) {
        rc = hd_err_set(err, HD_ENOMEM, "sla migrate: out of memory");
        goto fail;
    }
    rc = hd_store_write(s, migrate_apply, m, err);
    if (rc == 0 && m->moved)
        hd_log(HD_LOG_INFO, "sla_migrated", "records=%llu", (unsigned long long)m->moved);
fail:
    if (moved)
        *moved = rc == 0 ? m->moved : 0;
    hd_arena_destroy(m->a);
    free(m);
    return rc;
}
