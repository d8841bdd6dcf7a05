/* One-time index backfill (see reindex.h). */
#include "server/tickets/reindex.h"

#include <stdlib.h>
#include <string.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/tickets/tickets.h"

typedef struct reindex {
    hd_txn *txn;
    hd_arena *a;
    hd_err *err;
    uint64_t built;
    uint64_t *orgless; /* tickets whose customer has an organization the record lacks */
    size_t n_orgless, cap_orgless;
} reindex;

/* The organization of customer id (0 when none or the customer is gone). */
static int customer_org(reindex *r, uint64_t id, uint64_t *org)
{
    hd_key k;
    ProtobufCMessage *m;
    *org = 0;
    int rc = hd_store_get_msg(r->txn, HD_STORE_CUSTOMERS, hd_tickets_key_id(&k, id),
                              &helpdesk__v1__customer__descriptor, r->a, &m, r->err);
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(r->err);
        return 0;
    }
    if (rc == 0)
        *org = ((Helpdesk__V1__Customer *)m)->organization_id;
    return rc;
}

static int remember_orgless(reindex *r, uint64_t id)
{
    if (r->n_orgless == r->cap_orgless) {
        size_t cap = r->cap_orgless ? r->cap_orgless * 2 : 256;
        uint64_t *v = realloc(r->orgless, cap * sizeof(*v));
        if (!v)
            return hd_err_set(r->err, HD_ENOMEM, "reindex: out of memory");
        r->orgless = v;
        r->cap_orgless = cap;
    }
    r->orgless[r->n_orgless++] = id;
    return 0;
}

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
    if (rc == 0 && t->group_id)
        rc = hd_store_put(r->txn, HD_STORE_IDX_GROUP, hd_tickets_key_group(&k, t->group_id, t->id),
                          "", 0, 0, r->err);
    uint64_t org = t->organization_id;
    if (rc == 0 && !org) {
        rc = customer_org(r, t->customer_id, &org);
        if (rc == 0 && org)
            rc = remember_orgless(r, t->id);
    }
    if (rc == 0 && org)
        rc = hd_store_put(r->txn, HD_STORE_IDX_ORG, hd_tickets_key_org(&k, org, t->id), "", 0, 0,
                          r->err);
    r->built++;
    return rc;
}

/* Second pass (the scan must not write TICKETS): stamps organization_id on the records of
 * tickets created before it existed, from their customer. */
static int stamp_orgs(reindex *r)
{
    for (size_t i = 0; i < r->n_orgless; i++) {
        hd_key k;
        ProtobufCMessage *m;
        hd_arena_reset(r->a);
        int rc = hd_store_get_msg(r->txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, r->orgless[i]),
                                  &helpdesk__v1__ticket__descriptor, r->a, &m, r->err);
        Helpdesk__V1__Ticket *t = (Helpdesk__V1__Ticket *)m;
        if (rc == 0)
            rc = customer_org(r, t->customer_id, &t->organization_id);
        if (rc == 0)
            rc = hd_store_put_msg(r->txn, HD_STORE_TICKETS, &k, &t->base, 0, r->err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int reindex_apply(hd_txn *txn, void *arg, hd_err *err)
{
    reindex *r = arg;
    uint32_t done;
    r->txn = txn;
    r->err = err;
    r->built = 0;
    r->n_orgless = 0;
    int rc = hd_store_marker_get(txn, HD_TICKETS_INDEX_SETTING, &done, err);
    if (rc < 0 || done >= HD_TICKETS_INDEX_VERSION)
        return rc;
    int64_t n = hd_store_scan(txn, HD_STORE_TICKETS, NULL, one_ticket, r, err);
    if (n < 0)
        return (int)n;
    rc = stamp_orgs(r);
    if (rc < 0)
        return rc;
    return hd_store_marker_set(txn, HD_TICKETS_INDEX_SETTING, HD_TICKETS_INDEX_VERSION, err);
}

int hd_tickets_reindex(hd_store *s, uint64_t *built, hd_err *err)
{
    reindex r = {0};
    r.a = hd_arena_create(0);
    if (!r.a)
        return hd_err_set(err, HD_ENOMEM, "reindex: out of memory");
    int rc = hd_store_write(s, reindex_apply, &r, err);
    hd_arena_destroy(r.a);
    free(r.orgless);
    if (built)
        *built = rc == 0 ? r.built : 0;
    return rc;
}
