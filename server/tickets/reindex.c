/* One-time index backfill (see reindex.h). */
#include "server/tickets/reindex.h"

#include <string.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/tickets/tickets.h"

typedef struct reindex {
    hd_txn *txn;
    hd_arena *a;
    hd_err *err;
    uint64_t built;
} reindex;

static int one_ticket(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    reindex *r = arg;
    ProtobufCAllocator pa;
    hd_key k;
    (void)key;
    (void)klen;
    hd_arena_reset(r->a);
    hd_arena_pb_allocator(r->a, &pa);
    Helpdesk__V1__Ticket *t = (Helpdesk__V1__Ticket *)protobuf_c_message_unpack(
        &helpdesk__v1__ticket__descriptor, &pa, vlen, val);
    if (!t)
        return hd_err_set(r->err, HD_ECORRUPT, "reindex: a ticket record does not unpack");
    int rc = hd_store_put(r->txn, HD_STORE_IDX_ASSIGNEE,
                          hd_tickets_key_assignee(&k, t->assignee_id, t->id), "", 0, 0, r->err);
    if (rc == 0)
        rc = hd_store_put(r->txn, HD_STORE_IDX_CATEGORY,
                          hd_tickets_key_category(&k, t->category, t->id), "", 0, 0, r->err);
    r->built++;
    return rc;
}

static hd_key *marker_key(hd_key *k)
{
    hd_key_init(k);
    return hd_key_str(k, HD_TICKETS_INDEX_SETTING);
}

static int reindex_apply(hd_txn *txn, void *arg, hd_err *err)
{
    reindex *r = arg;
    const void *val;
    size_t len;
    hd_key k;
    unsigned char v[4] = {0, 0, 0, HD_TICKETS_INDEX_VERSION};
    r->txn = txn;
    r->err = err;
    r->built = 0;
    int rc = hd_store_get(txn, HD_STORE_SETTINGS, marker_key(&k), &val, &len, err);
    if (rc == 0 && len == 4 && memcmp(val, v, 4) >= 0)
        return 0;
    if (rc < 0 && rc != HD_ENOTFOUND)
        return rc;
    hd_err_clear(err);
    int64_t n = hd_store_scan(txn, HD_STORE_TICKETS, NULL, one_ticket, r, err);
    if (n < 0)
        return (int)n;
    return hd_store_put(txn, HD_STORE_SETTINGS, marker_key(&k), v, sizeof(v), 0, err);
}

int hd_tickets_reindex(hd_store *s, uint64_t *built, hd_err *err)
{
    reindex r = {0};
    r.a = hd_arena_create(0);
    if (!r.a)
        return hd_err_set(err, HD_ENOMEM, "reindex: out of memory");
    int rc = hd_store_write(s, reindex_apply, &r, err);
    hd_arena_destroy(r.a);
    if (built)
        *built = rc == 0 ? r.built : 0;
    return rc;
}
