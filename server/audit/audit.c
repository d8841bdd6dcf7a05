/* Audit events in EVENTS: key u64 HD_AUDIT_STREAM + u64 event id -> AuditEvent. */
#include "server/audit/audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hd_key *event_key(hd_key *k, uint64_t id)
{
    hd_key_init(k);
    hd_key_u64(k, HD_AUDIT_STREAM);
    return hd_key_u64(k, id);
}

int hd_audit_append(hd_txn *txn, int actor_kind, uint64_t actor_id, const char *action,
                    const char *object_kind, uint64_t object_id, const char *detail, int64_t now_ms,
                    hd_err *err)
{
    Helpdesk__V1__AuditEvent ev = HELPDESK__V1__AUDIT_EVENT__INIT;
    Helpdesk__V1__Actor actor = HELPDESK__V1__ACTOR__INIT;
    Google__Protobuf__Timestamp when = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    int rc = hd_store_seq_next(txn, HD_AUDIT_SEQ, &ev.id, err);
    if (rc != HD_OK)
        return rc;
    when.seconds = now_ms / 1000;
    when.nanos = (int32_t)(now_ms % 1000) * 1000000;
    actor.kind = (Helpdesk__V1__ActorKind)actor_kind;
    actor.id = actor_id;
    ev.time = &when;
    ev.actor = &actor;
    ev.action = (char *)action;
    ev.object_kind = (char *)object_kind;
    ev.object_id = object_id;
    ev.detail = (char *)(detail ? detail : "");
    hd_key k;
    return hd_store_put_msg(txn, HD_STORE_EVENTS, event_key(&k, ev.id), &ev.base,
                            HD_STORE_NOOVERWRITE, err);
}

typedef struct list_ctx {
    hd_arena *arena;
    Helpdesk__V1__AuditEvent **out;
    size_t n, want;
    uint64_t last;
    int rc;
    hd_err *err;
} list_ctx;

static int list_one(void *argp, const void *key, size_t klen, const void *val, size_t vlen)
{
    list_ctx *c = argp;
    hd_key_reader r;
    uint64_t stream, id;
    hd_key_reader_init(&r, key, klen);
    if (hd_key_read_u64(&r, &stream, c->err) != HD_OK || hd_key_read_u64(&r, &id, c->err) != HD_OK)
        return HD_ECORRUPT;
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(c->arena, &pa);
    ProtobufCMessage *m =
        protobuf_c_message_unpack(&helpdesk__v1__audit_event__descriptor, &pa, vlen, val);
    if (!m)
        return hd_err_set(c->err, HD_ECORRUPT, "audit event %" PRIu64 ": does not unpack", id);
    c->out[c->n++] = (Helpdesk__V1__AuditEvent *)m;
    c->last = id;
    return 0;
}

int hd_audit_list(hd_store *s, hd_arena *a, int32_t page_size, const char *page_token,
                  Helpdesk__V1__ListAuditEventsResponse *out, hd_err *err)
{
    if (page_size < 0 || page_size > HD_AUDIT_PAGE_MAX)
        return hd_err_set(err, HD_EINVAL, "page_size: must be 0..%d", HD_AUDIT_PAGE_MAX);
    size_t want = page_size ? (size_t)page_size : HD_AUDIT_PAGE_DEFAULT;
    uint64_t after = 0;
    if (page_token && *page_token) {
        char *end = NULL;
        unsigned long long v = strtoull(page_token, &end, 10);
        if (!end || *end || v == 0)
            return hd_err_set(err, HD_EINVAL, "page_token: not one of ours");
        after = v;
    }
    list_ctx c = {.arena = a, .want = want, .err = err};
    c.out = hd_arena_calloc(a, want + 1, sizeof(*c.out));
    if (!c.out)
        return hd_err_set(err, HD_ENOMEM, "audit list: out of memory");
    hd_key prefix, start;
    hd_key_init(&prefix);
    hd_key_u64(&prefix, HD_AUDIT_STREAM);
    hd_store_range range = {.prefix = &prefix, .reverse = 1, .limit = want + 1};
    if (after) {
        range.start = event_key(&start, after);
        range.exclusive = 1;
    }
    hd_txn *txn;
    int rc = hd_store_read_begin(s, &txn, err);
    if (rc != HD_OK)
        return rc;
    int64_t got = hd_store_scan(txn, HD_STORE_EVENTS, &range, list_one, &c, err);
    hd_store_read_end(txn);
    if (got < 0)
        return (int)got;
    out->next_page_token = (char *)"";
    if (c.n > want) {
        c.n = want;
        out->next_page_token = hd_arena_printf(a, "%" PRIu64, c.out[want - 1]->id);
        if (!out->next_page_token)
            return hd_err_set(err, HD_ENOMEM, "audit list: out of memory");
    }
    out->events = c.out;
    out->n_events = c.n;
    return HD_OK;
}
