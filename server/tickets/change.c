/* The change engine (see change.h): one path from a loaded ticket to a committed, indexed,
 * audited and observed change, so that no mutation can forget an index or the timeline. */
#include "server/tickets/change.h"

#include <inttypes.h>
#include <string.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "server/rollup/rollup.h"
#include "server/tickets/lifecycle.h"
#include "server/tickets/observer.h"

void hd_tickets_committed_reset(hd_tickets_committed *c)
{
    if (c)
        c->n = 0;
}

int64_t hd_tickets_ts_ms(const Google__Protobuf__Timestamp *ts)
{
    if (!ts)
        return 0;
    return ts->seconds * 1000 + ts->nanos / 1000000;
}

Google__Protobuf__Timestamp *hd_tickets_ts_new(hd_arena *a, int64_t ms)
{
    Google__Protobuf__Timestamp *t = hd_arena_alloc(a, sizeof(*t));
    if (!t)
        return NULL;
    google__protobuf__timestamp__init(t);
    t->seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    t->nanos = (int32_t)((ms - t->seconds * 1000) * 1000000);
    return t;
}

/* ---- Indexes --------------------------------------------------------------------------- */

/* Deletes key from t (a missing entry is fine: tickets written before the index existed)
 * when del, then puts it when put. */
static int move_one(hd_txn *txn, hd_table t, const hd_key *old, const hd_key *neu, hd_err *err)
{
    int rc;
    if (old) {
        rc = hd_store_del(txn, t, old, err);
        if (rc == HD_ENOTFOUND)
            hd_err_clear(err);
        else if (rc < 0)
            return rc;
    }
    return neu ? hd_store_put(txn, t, neu, "", 0, 0, err) : 0;
}

static bool has_tag(const Helpdesk__V1__Ticket *t, const char *tag)
{
    for (size_t i = 0; t && i < t->n_tags; i++)
        if (strcmp(t->tags[i], tag) == 0)
            return true;
    return false;
}

static int move_tags(hd_txn *txn, const Helpdesk__V1__Ticket *b, const Helpdesk__V1__Ticket *a,
                     hd_err *err)
{
    hd_key k;
    int rc;
    for (size_t i = 0; b && i < b->n_tags; i++) {
        if (has_tag(a, b->tags[i]))
            continue;
        rc = move_one(txn, HD_STORE_IDX_TAG, hd_tickets_key_tag(&k, b->tags[i], b->id), NULL, err);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < a->n_tags; i++) {
        if (has_tag(b, a->tags[i]))
            continue;
        rc = move_one(txn, HD_STORE_IDX_TAG, NULL, hd_tickets_key_tag(&k, a->tags[i], a->id), err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int hd_tickets_index_move(hd_txn *txn, const Helpdesk__V1__Ticket *b, const Helpdesk__V1__Ticket *a,
                          hd_err *err)
{
    hd_key ko, kn;
    uint64_t id = a->id;
    int rc;

    if (!b || b->status != a->status || b->priority != a->priority) {
        rc = move_one(
            txn, HD_STORE_IDX_STATUS,
            b ? hd_tickets_key_status(&ko, (uint32_t)b->status, (uint32_t)b->priority, id) : NULL,
            hd_tickets_key_status(&kn, (uint32_t)a->status, (uint32_t)a->priority, id), err);
        if (rc < 0)
            return rc;
    }
    if (!b || b->customer_id != a->customer_id) {
        rc = move_one(txn, HD_STORE_IDX_CUSTOMER,
                      b ? hd_tickets_key_customer(&ko, b->customer_id, id) : NULL,
                      hd_tickets_key_customer(&kn, a->customer_id, id), err);
        if (rc < 0)
            return rc;
    }
    if (!b || b->assignee_id != a->assignee_id) {
        rc = move_one(txn, HD_STORE_IDX_ASSIGNEE,
                      b ? hd_tickets_key_assignee(&ko, b->assignee_id, id) : NULL,
                      hd_tickets_key_assignee(&kn, a->assignee_id, id), err);
        if (rc < 0)
            return rc;
    }
    if (!b || strcmp(b->category, a->category) != 0) {
        rc = move_one(txn, HD_STORE_IDX_CATEGORY,
                      b ? hd_tickets_key_category(&ko, b->category, id) : NULL,
                      hd_tickets_key_category(&kn, a->category, id), err);
        if (rc < 0)
            return rc;
    }
    if (!b || b->group_id != a->group_id) {
        rc = move_one(txn, HD_STORE_IDX_GROUP,
                      b && b->group_id ? hd_tickets_key_group(&ko, b->group_id, id) : NULL,
                      a->group_id ? hd_tickets_key_group(&kn, a->group_id, id) : NULL, err);
        if (rc < 0)
            return rc;
    }
    if (!b || b->organization_id != a->organization_id) {
        rc = move_one(
            txn, HD_STORE_IDX_ORG,
            b && b->organization_id ? hd_tickets_key_org(&ko, b->organization_id, id) : NULL,
            a->organization_id ? hd_tickets_key_org(&kn, a->organization_id, id) : NULL, err);
        if (rc < 0)
            return rc;
    }
    int64_t bu = b ? hd_tickets_ts_ms(b->update_time) : 0, au = hd_tickets_ts_ms(a->update_time);
    if (!b || bu != au) {
        rc = move_one(txn, HD_STORE_IDX_UPDATED, b ? hd_tickets_key_updated(&ko, bu, id) : NULL,
                      hd_tickets_key_updated(&kn, au, id), err);
        if (rc < 0)
            return rc;
    }
    return move_tags(txn, b, a, err);
}

/* ---- Begin ----------------------------------------------------------------------------- */

int hd_tickets_edit_begin(hd_tickets_edit *e, hd_txn *txn, hd_arena *a, uint64_t ticket_id,
                          const hd_tickets_actor *actor, int64_t now_ms,
                          hd_tickets_committed *committed, hd_err *err)
{
    ProtobufCAllocator pa;
    const void *val;
    size_t len;
    hd_key k;

    memset(e, 0, sizeof(*e));
    e->txn = txn;
    e->arena = a;
    e->now_ms = now_ms;
    e->committed = committed;
    e->actor.kind = actor ? actor->kind : HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM;
    e->actor.id = actor ? actor->id : 0;
    int rc = hd_store_get(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, ticket_id), &val, &len, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "ticket %" PRIu64 ": not found", ticket_id);
    if (rc < 0)
        return rc;
    /* Two unpacks of the same bytes: a deep copy without a copy routine. */
    hd_arena_pb_allocator(a, &pa);
    e->before = (const Helpdesk__V1__Ticket *)protobuf_c_message_unpack(
        &helpdesk__v1__ticket__descriptor, &pa, len, val);
    e->t = (Helpdesk__V1__Ticket *)protobuf_c_message_unpack(&helpdesk__v1__ticket__descriptor, &pa,
                                                             len, val);
    if (!e->before || !e->t)
        return hd_err_set(err, HD_ECORRUPT, "ticket %" PRIu64 ": record does not unpack",
                          ticket_id);
    return 0;
}

/* ---- Helpers --------------------------------------------------------------------------- */

int hd_tickets_edit_status(hd_tickets_edit *e, Helpdesk__V1__TicketStatus to, hd_err *err)
{
    int rc = hd_tickets_lifecycle_check(e->before->status, to, err);
    if (rc < 0)
        return rc;
    if (to == e->t->status)
        return 0;
    e->t->status = to;
    if (to == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED) {
        e->t->solve_time = hd_tickets_ts_new(e->arena, e->now_ms);
        if (!e->t->solve_time)
            return hd_err_set(err, HD_ENOMEM, "ticket: out of memory");
    }
    if (to == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED) {
        e->t->close_time = hd_tickets_ts_new(e->arena, e->now_ms);
        if (!e->t->close_time)
            return hd_err_set(err, HD_ENOMEM, "ticket: out of memory");
    }
    return 0;
}

int hd_tickets_edit_reopen_closed(hd_tickets_edit *e, hd_err *err)
{
    if (e->before->status != HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED)
        return hd_err_set(err, HD_ESTATE, "ticket %" PRIu64 ": is %s, not CLOSED", e->t->id,
                          hd_tickets_status_name(e->before->status));
    e->t->status = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_OPEN;
    e->t->close_time = NULL;
    e->reopening = true;
    return 0;
}

int hd_tickets_edit_message(hd_tickets_edit *e, Helpdesk__V1__AuthorKind kind, uint64_t author_id,
                            const char *body, const Helpdesk__V1__Message **out, hd_err *err)
{
    Helpdesk__V1__Message *m;
    hd_key k;
    int rc;

    if (e->message)
        return hd_err_set(err, HD_ESTATE, "message: one message per change");
    m = hd_arena_alloc(e->arena, sizeof(*m));
    if (!m)
        return hd_err_set(err, HD_ENOMEM, "message: out of memory");
    helpdesk__v1__message__init(m);
    rc = hd_store_seq_next(e->txn, HD_TICKETS_SEQ_MESSAGE, &m->id, err);
    if (rc < 0)
        return rc;
    m->ticket_id = e->t->id;
    m->author_kind = kind;
    m->author_id = author_id;
    m->body = (char *)body;
    m->create_time = hd_tickets_ts_new(e->arena, e->now_ms);
    if (!m->create_time)
        return hd_err_set(err, HD_ENOMEM, "message: out of memory");
    rc = hd_store_put_msg(e->txn, HD_STORE_MESSAGES, hd_tickets_key_child(&k, m->ticket_id, m->id),
                          &m->base, HD_STORE_NOOVERWRITE, err);
    if (rc < 0)
        return rc;
    e->t->message_count++;
    if (kind == HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF && !e->t->first_response_time)
        e->t->first_response_time = m->create_time;
    e->message = m;
    if (out)
        *out = m;
    return 0;
}

static Helpdesk__V1__FieldChange *change_new(hd_arena *a, const char *field, const char *before,
                                             const char *after)
{
    Helpdesk__V1__FieldChange *c = hd_arena_alloc(a, sizeof(*c));
    if (!c)
        return NULL;
    helpdesk__v1__field_change__init(c);
    c->field = hd_arena_strdup(a, field);
    c->before = hd_arena_strdup(a, before ? before : "");
    c->after = hd_arena_strdup(a, after ? after : "");
    return c->field && c->before && c->after ? c : NULL;
}

int hd_tickets_edit_fact(hd_tickets_edit *e, const char *field, const char *before,
                         const char *after, hd_err *err)
{
    if (e->n_facts == HD_TICKETS_FACTS_MAX)
        return hd_err_set(err, HD_EFULL, "%s: more than %d facts in one change", field,
                          HD_TICKETS_FACTS_MAX);
    e->facts[e->n_facts] = change_new(e->arena, field, before, after);
    if (!e->facts[e->n_facts])
        return hd_err_set(err, HD_ENOMEM, "%s: out of memory", field);
    e->n_facts++;
    return 0;
}

/* ---- Diff ------------------------------------------------------------------------------ */

/* The changed fields of one edit, growing in the arena. */
typedef struct diff {
    hd_arena *a;
    Helpdesk__V1__FieldChange **ch;
    size_t n, cap;
} diff;

static int diff_add(diff *d, const char *field, const char *before, const char *after)
{
    Helpdesk__V1__FieldChange **ch = hd_arena_grow(d->a, d->ch, d->n, &d->cap, sizeof(*ch), 8);
    if (!ch)
        return HD_ENOMEM;
    d->ch = ch;
    d->ch[d->n] = change_new(d->a, field, before, after);
    if (!d->ch[d->n])
        return HD_ENOMEM;
    d->n++;
    return 0;
}

static const char *enum_text(const ProtobufCEnumDescriptor *d, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    return ev ? ev->name : "?";
}

static const char *id_text(hd_arena *a, uint64_t id)
{
    return id ? hd_arena_printf(a, "%" PRIu64, id) : "";
}

static char *tags_text(hd_arena *a, const Helpdesk__V1__Ticket *t)
{
    size_t n = 1;
    for (size_t i = 0; i < t->n_tags; i++)
        n += strlen(t->tags[i]) + 1;
    char *s = hd_arena_alloc(a, n), *p = s;
    if (!s)
        return NULL;
    for (size_t i = 0; i < t->n_tags; i++) {
        size_t l = strlen(t->tags[i]);
        if (i)
            *p++ = ',';
        memcpy(p, t->tags[i], l);
        p += l;
    }
    *p = '\0';
    return s;
}

static char *fields_text(hd_arena *a, const Helpdesk__V1__Ticket *t)
{
    char *s = hd_arena_strdup(a, "");
    for (size_t i = 0; s && i < t->n_custom_fields; i++)
        s = hd_arena_printf(a, "%s%s%s=%s", s, i ? "; " : "", t->custom_fields[i]->key,
                            t->custom_fields[i]->value);
    return s;
}

static const char *rating_text(hd_arena *a, const Helpdesk__V1__Rating *r)
{
    return r ? hd_arena_printf(a, "%" PRIu32, r->score) : "";
}

static bool same_text(const char *x, const char *y)
{
    return strcmp(x ? x : "", y ? y : "") == 0;
}

static bool rating_same(const Helpdesk__V1__Rating *x, const Helpdesk__V1__Rating *y)
{
    if (!x || !y)
        return x == y;
    return x->score == y->score && same_text(x->comment, y->comment);
}

/* Appends a FieldChange for every tracked Ticket field that differs. */
static int diff_ticket(diff *d, const Helpdesk__V1__Ticket *b, const Helpdesk__V1__Ticket *t)
{
    hd_arena *a = d->a;
    int rc = 0;
#define DIFF_ENUM(f, desc)                                                                         \
    if (rc == 0 && b->f != t->f)                                                                   \
        rc = diff_add(d, #f, enum_text(&desc, (int)b->f), enum_text(&desc, (int)t->f));
#define DIFF_ID(f)                                                                                 \
    if (rc == 0 && b->f != t->f)                                                                   \
        rc = diff_add(d, #f, id_text(a, b->f), id_text(a, t->f));
#define DIFF_STR(f)                                                                                \
    if (rc == 0 && !same_text(b->f, t->f))                                                         \
        rc = diff_add(d, #f, b->f, t->f);
    DIFF_ENUM(status, helpdesk__v1__ticket_status__descriptor)
    DIFF_ENUM(priority, helpdesk__v1__priority__descriptor)
    DIFF_STR(subject)
    DIFF_STR(category)
    DIFF_ID(customer_id)
    DIFF_ID(assignee_id)
    DIFF_ID(group_id)
    DIFF_ID(merged_into)
    DIFF_ID(follow_up_of)
#undef DIFF_ENUM
#undef DIFF_ID
#undef DIFF_STR
    if (rc == 0) {
        const char *bt = tags_text(a, b), *at = tags_text(a, t);
        if (!bt || !at)
            return HD_ENOMEM;
        if (strcmp(bt, at) != 0)
            rc = diff_add(d, "tags", bt, at);
    }
    if (rc == 0) {
        const char *bf = fields_text(a, b), *af = fields_text(a, t);
        if (!bf || !af)
            return HD_ENOMEM;
        if (strcmp(bf, af) != 0)
            rc = diff_add(d, "custom_fields", bf, af);
    }
    if (rc == 0 && !rating_same(b->rating, t->rating))
        rc = diff_add(d, "rating", rating_text(a, b->rating), rating_text(a, t->rating));
    return rc;
}

/* ---- Commit ---------------------------------------------------------------------------- */

static int status_rollups(hd_txn *txn, uint32_t from, uint32_t to, int64_t now_ms, hd_err *err)
{
    int rc = hd_rollup_add(txn, HD_TICKETS_ROLLUP_STATUS_NOW, HD_ROLLUP_NOW, from, -1, err);
    if (rc == 0)
        rc = hd_rollup_add(txn, HD_TICKETS_ROLLUP_STATUS_NOW, HD_ROLLUP_NOW, to, 1, err);
    if (rc == 0)
        rc = hd_rollup_add(txn, HD_TICKETS_ROLLUP_STATUS_IN, hd_rollup_day(now_ms), to, 1, err);
    return rc;
}

static int record(hd_tickets_edit *e, hd_err *err)
{
    hd_tickets_committed *c = e->committed;
    if (!c)
        return 0;
    if (c->n == HD_TICKETS_COMMITTED_MAX)
        return hd_err_set(err, HD_EFULL, "ticket %" PRIu64 ": more than %d events in a mutation",
                          e->t->id, HD_TICKETS_COMMITTED_MAX);
    c->events[c->n] = e->event;
    c->before[c->n] = e->before;
    c->after[c->n] = e->t;
    c->n++;
    return 0;
}

int hd_tickets_edit_commit(hd_tickets_edit *e, Helpdesk__V1__TicketEventKind kind, hd_err *err)
{
    diff d = {e->arena, NULL, 0, 0};
    Helpdesk__V1__TicketEvent *ev;
    Helpdesk__V1__Actor *actor;
    hd_key k;
    int rc;

    e->event = NULL;
    rc = e->reopening ? 0 : hd_tickets_lifecycle_writable(e->before->status, kind, err);
    if (rc < 0)
        return rc;
    if (diff_ticket(&d, e->before, e->t) < 0)
        return hd_err_set(err, HD_ENOMEM, "ticket %" PRIu64 ": out of memory", e->t->id);
    if (d.n == 0 && e->n_facts == 0 && !e->message)
        return 0;
    for (size_t i = 0; i < e->n_facts; i++) {
        if (diff_add(&d, e->facts[i]->field, e->facts[i]->before, e->facts[i]->after) < 0)
            return hd_err_set(err, HD_ENOMEM, "ticket %" PRIu64 ": out of memory", e->t->id);
    }

    e->t->update_time = hd_tickets_ts_new(e->arena, e->now_ms);
    ev = hd_arena_alloc(e->arena, sizeof(*ev));
    actor = hd_arena_alloc(e->arena, sizeof(*actor));
    if (!e->t->update_time || !ev || !actor)
        return hd_err_set(err, HD_ENOMEM, "ticket %" PRIu64 ": out of memory", e->t->id);
    helpdesk__v1__ticket_event__init(ev);
    helpdesk__v1__actor__init(actor);
    actor->kind = e->actor.kind;
    actor->id = e->actor.id;
    rc = hd_store_seq_next(e->txn, HD_TICKETS_SEQ_EVENT, &ev->id, err);
    if (rc < 0)
        return rc;
    ev->ticket_id = e->t->id;
    ev->time = e->t->update_time;
    ev->actor = actor;
    ev->kind = kind;
    ev->n_changes = d.n;
    ev->changes = d.ch;
    ev->message_id = e->message ? e->message->id : 0;
    ev->note_id = e->note_id;
    ev->related_ticket_id = e->related_ticket_id;

    rc = hd_store_put_msg(e->txn, HD_STORE_EVENTS, hd_tickets_key_child(&k, ev->ticket_id, ev->id),
                          &ev->base, HD_STORE_NOOVERWRITE, err);
    if (rc < 0)
        return rc;
    rc = hd_store_put_msg(e->txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, e->t->id), &e->t->base, 0,
                          err);
    if (rc < 0)
        return rc;
    rc = hd_tickets_index_move(e->txn, e->before, e->t, err);
    if (rc < 0)
        return rc;
    if (e->before->status != e->t->status) {
        rc = status_rollups(e->txn, (uint32_t)e->before->status, (uint32_t)e->t->status, e->now_ms,
                            err);
        if (rc < 0)
            return rc;
    }
    e->event = ev;
    hd_ticket_change change = {
        .txn = e->txn,
        .arena = e->arena,
        .before = e->before,
        .after = e->t,
        .event = ev,
        .message = e->message,
        .now_ms = e->now_ms,
    };
    rc = hd_tickets_notify(&change, err);
    if (rc < 0)
        return rc;
    return record(e, err);
}
