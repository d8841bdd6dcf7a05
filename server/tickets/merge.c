/* Merging tickets (see merge.h). */
#include "server/tickets/merge.h"

#include <inttypes.h>

#include "server/tickets/change.h"
#include "server/tickets/lifecycle.h"
#include "server/tickets/link.h"

/* The records of one ticket in a child table (MESSAGES, NOTES or DRAFTS), read before any write
 * (a scan must not write its table). */
typedef struct children {
    hd_arena *a;
    const ProtobufCMessageDescriptor *desc;
    ProtobufCMessage **items;
    size_t n, cap;
    hd_err *err;
} children;

static int child_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    children *c = arg;
    ProtobufCAllocator pa;
    (void)key;
    (void)klen;
    ProtobufCMessage **items = hd_arena_grow(c->a, c->items, c->n, &c->cap, sizeof(*items), 16);
    if (!items)
        return hd_err_set(c->err, HD_ENOMEM, "merge: out of memory");
    c->items = items;
    hd_arena_pb_allocator(c->a, &pa);
    c->items[c->n] = protobuf_c_message_unpack(c->desc, &pa, vlen, val);
    if (!c->items[c->n])
        return hd_err_set(c->err, HD_ECORRUPT, "merge: %s record does not unpack", c->desc->name);
    c->n++;
    return 0;
}

/* Moves every record of source in table t to target; returns the count or an error. */
static int64_t move_children(hd_txn *txn, hd_arena *a, hd_table t,
                             const ProtobufCMessageDescriptor *desc, uint64_t source,
                             uint64_t target, hd_err *err)
{
    children c = {.a = a, .desc = desc, .err = err};
    hd_key prefix, k;
    hd_store_range rg = {.prefix = hd_tickets_key_id(&prefix, source)};
    if (hd_store_scan(txn, t, &rg, child_cb, &c, err) < 0)
        return err->code;
    for (size_t i = 0; i < c.n; i++) {
        uint64_t id, *ticket_id, *from;
        int rc;
        if (desc == &helpdesk__v1__message__descriptor) {
            Helpdesk__V1__Message *m = (Helpdesk__V1__Message *)c.items[i];
            id = m->id;
            ticket_id = &m->ticket_id;
            from = &m->merged_from;
        } else if (desc == &helpdesk__v1__draft__descriptor) {
            Helpdesk__V1__Draft *d = (Helpdesk__V1__Draft *)c.items[i];
            id = d->id;
            ticket_id = &d->ticket_id;
            from = &d->merged_from;
        } else {
            Helpdesk__V1__Note *n = (Helpdesk__V1__Note *)c.items[i];
            id = n->id;
            ticket_id = &n->ticket_id;
            from = &n->merged_from;
        }
        rc = hd_store_del(txn, t, hd_tickets_key_child(&k, source, id), err);
        if (rc < 0)
            return rc;
        *ticket_id = target;
        if (*from == 0)
            *from = source; /* the first ticket it was posted on, across repeated merges */
        rc = hd_store_put_msg(txn, t, hd_tickets_key_child(&k, target, id), c.items[i],
                              HD_STORE_NOOVERWRITE, err);
        if (rc < 0)
            return rc;
    }
    return (int64_t)c.n;
}

static int merge_side(hd_tickets_edit *e, uint64_t other, Helpdesk__V1__LinkKind kind,
                      const char *field, hd_err *err)
{
    char num[24];
    bool added;
    int rc = hd_tickets__link_add(e, other, kind, &added, err);
    if (rc < 0)
        return rc;
    e->related_ticket_id = other;
    rc = hd_tickets_edit_fact(e, field, "", hd_tickets_number(num, sizeof(num), other), err);
    if (rc < 0)
        return rc;
    return hd_tickets_edit_commit(e, HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_MERGED,
                                  err);
}

int hd_tickets_merge_apply(hd_txn *txn, void *arg, hd_err *err)
{
    hd_tickets_merge_args *x = arg;
    hd_tickets_edit s, t;
    int64_t nm, nn, nd;
    int rc;

    hd_tickets_committed_reset(&x->w.committed);
    x->source = x->target = NULL;
    x->moved_messages = x->moved_notes = x->moved_drafts = 0;
    if (x->source_id == x->target_id)
        return hd_err_set(err, HD_EINVAL, "target_id: a ticket cannot be merged into itself");
    rc = hd_tickets__work_begin(&s, txn, &x->w, x->source_id, err);
    if (rc == 0)
        rc = hd_tickets__work_begin(&t, txn, &x->w, x->target_id, err);
    if (rc < 0)
        return rc;
    if (s.before->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_MERGED) {
        if (s.before->merged_into != x->target_id)
            return hd_err_set(err, HD_ESTATE,
                              "source_id: ticket %" PRIu64 " is already merged into %" PRIu64,
                              x->source_id, s.before->merged_into);
        x->source = s.t; /* done before: the same answer, nothing written */
        x->target = t.t;
        return 0;
    }
    if (t.before->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_MERGED ||
        t.before->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED)
        return hd_err_set(err, HD_ESTATE, "target_id: ticket %" PRIu64 " is %s", x->target_id,
                          hd_tickets_status_name(t.before->status));
    rc = hd_tickets_edit_status(&s, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_MERGED, err);
    if (rc < 0)
        return hd_err_set(err, rc, "source_id: ticket %" PRIu64 " is %s and cannot be merged",
                          x->source_id, hd_tickets_status_name(s.before->status));

    nm = move_children(txn, x->w.arena, HD_STORE_MESSAGES, &helpdesk__v1__message__descriptor,
                       x->source_id, x->target_id, err);
    if (nm < 0)
        return (int)nm;
    nn = move_children(txn, x->w.arena, HD_STORE_NOTES, &helpdesk__v1__note__descriptor,
                       x->source_id, x->target_id, err);
    if (nn < 0)
        return (int)nn;
    nd = move_children(txn, x->w.arena, HD_STORE_DRAFTS, &helpdesk__v1__draft__descriptor,
                       x->source_id, x->target_id, err);
    if (nd < 0)
        return (int)nd;
    s.t->merged_into = x->target_id;
    s.t->message_count = 0;
    t.t->message_count += (uint32_t)nm;
    rc = merge_side(&s, x->target_id, HELPDESK__V1__LINK_KIND__LINK_KIND_MERGED_INTO, "merged_into",
                    err);
    if (rc == 0) {
        char *moved = hd_arena_printf(
            x->w.arena, "%" PRId64 " messages, %" PRId64 " notes, %" PRId64 " drafts", nm, nn, nd);
        rc = moved ? hd_tickets_edit_fact(&t, "moved", "", moved, err)
                   : hd_err_set(err, HD_ENOMEM, "merge: out of memory");
    }
    if (rc == 0)
        rc = merge_side(&t, x->source_id, HELPDESK__V1__LINK_KIND__LINK_KIND_MERGED_FROM,
                        "merged_from", err);
    if (rc < 0)
        return rc;
    x->source = s.t;
    x->target = t.t;
    x->moved_messages = (uint32_t)nm;
    x->moved_notes = (uint32_t)nn;
    x->moved_drafts = (uint32_t)nd;
    return 0;
}
