/* ListTickets from the indexes (see hd_tickets_list in tickets.h). One driving source is
 * chosen from the filters: a set of reverse-ordered index ranges whose trailing u64 is the
 * ticket id. Each range is read until it yielded page + 1 matches (the global page can only
 * hold a range's first page + 1), the matches are merged, and one more than a page tells
 * whether another page follows. Filters the source does not imply are checked on the ticket
 * record, which is then kept for the page (each record is read once). A scoped query
 * (who may see what) newest first reads the scope's ranges instead, merged with duplicates
 * dropped (a ticket of the agent's group assigned to the agent is in two of them). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "server/sla/query.h"
#include "server/tickets/annotate.h"
#include "server/tickets/change.h"
#include "server/tickets/fields.h"
#include "server/tickets/tickets.h"

#define SORT(x) HELPDESK__V1__TICKET_SORT__TICKET_SORT_##x

/* Page tokens: "t2", 8 hex digits of the filter hash, 1 of the priority group (PRIORITY
 * sort), 16 of the sort key (update ms, UPDATE sort), 16 of the last id. */
#define TOKEN_PREFIX "t2"
#define TOKEN_LEN    (2 + 8 + 1 + 16 + 16)

#define RANGES_MAX 6 /* statuses merged for one priority */
#define N_PRIO     4 /* URGENT..LOW */
#define N_STATUS   6 /* NEW..MERGED */

/* Filter bits, to tell which ones the source implies. */
enum {
    F_STATUS = 1 << 0,
    F_PRIORITY = 1 << 1,
    F_CATEGORY = 1 << 2,
    F_ASSIGNEE = 1 << 3,
    F_CUSTOMER = 1 << 4,
    F_TAG = 1 << 5,
    F_CREATE = 1 << 6,
    F_UPDATE = 1 << 7,
    F_SCOPE = 1 << 8,
};

/* Most ranges one newest-first plan reads: the status x priority ranges, or a scope. */
#define PLAN_MAX (HD_TICKETS_SCOPE_GROUPS_MAX + 3)

typedef struct range {
    hd_table t;
    hd_key prefix;
    size_t key_skip; /* bytes before the trailing id (after the update time for IDX_UPDATED) */
    int time_key;    /* IDX_UPDATED: an i64 update time precedes the id */
} range;

typedef struct cand {
    uint64_t id;
    int64_t key;             /* update ms (UPDATE sort), priority (PRIORITY sort), else 0 */
    Helpdesk__V1__Ticket *t; /* the record when it was read for a filter check */
} cand;

typedef struct lister {
    const hd_tickets_query *q;
    unsigned active;  /* F_* filters set in q */
    unsigned checked; /* F_* filters checked on records (not implied by the source) */
    hd_txn *txn;
    hd_arena *a;
    hd_err *err;
    cand *c;
    size_t n, cap;
    size_t quota; /* matches wanted from the current range */
    size_t got;   /* matches from the current range */
    int64_t key;  /* key of the current range's cands (PRIORITY sort) */
    uint64_t visited;
    const range *r;
} lister;

/* ---- Filters --------------------------------------------------------------------------- */

static unsigned active_filters(const hd_tickets_query *q)
{
    unsigned f = 0;
    f |= q->status ? F_STATUS : 0;
    f |= q->priority ? F_PRIORITY : 0;
    f |= (q->category && q->category[0]) || q->uncategorised ? F_CATEGORY : 0;
    f |= q->assignee_id || q->unassigned ? F_ASSIGNEE : 0;
    f |= q->customer_id ? F_CUSTOMER : 0;
    f |= q->tag && q->tag[0] ? F_TAG : 0;
    f |= q->create_from_ms || q->create_to_ms ? F_CREATE : 0;
    f |= q->update_from_ms || q->update_to_ms ? F_UPDATE : 0;
    f |= q->scoped ? F_SCOPE : 0;
    return f;
}

/* The category the filter asks for ("" for uncategorised). */
static const char *category_of(const hd_tickets_query *q)
{
    return q->uncategorised || !q->category ? "" : q->category;
}

/* Whether the query's visibility scope lets t through. */
static bool visible(const hd_tickets_query *q, const Helpdesk__V1__Ticket *t)
{
    if (q->scope_assignee && t->assignee_id == q->scope_assignee)
        return true;
    if (q->scope_customer && t->customer_id == q->scope_customer)
        return true;
    if (q->scope_org && t->organization_id == q->scope_org)
        return true;
    for (size_t i = 0; t->group_id && i < q->n_scope_groups; i++)
        if (t->group_id == q->scope_groups[i])
            return true;
    return false;
}

/* Whether the scope grants nothing at all (the list is empty without reading). */
static bool scope_empty(const hd_tickets_query *q)
{
    return q->scoped && !q->scope_assignee && !q->scope_customer && !q->scope_org &&
           !q->n_scope_groups;
}

static bool in_range(int64_t v, int64_t from, int64_t to)
{
    return (!from || v >= from) && (!to || v < to);
}

static bool matches(const lister *l, const Helpdesk__V1__Ticket *t)
{
    const hd_tickets_query *q = l->q;
    unsigned f = l->checked;
    if ((f & F_STATUS) && t->status != q->status)
        return false;
    if ((f & F_PRIORITY) && t->priority != q->priority)
        return false;
    if ((f & F_CATEGORY) && strcmp(t->category, category_of(q)) != 0)
        return false;
    if ((f & F_ASSIGNEE) && t->assignee_id != (q->unassigned ? 0 : q->assignee_id))
        return false;
    if ((f & F_CUSTOMER) && t->customer_id != q->customer_id)
        return false;
    if (f & F_TAG) {
        bool has = false;
        for (size_t i = 0; i < t->n_tags && !has; i++)
            has = strcmp(t->tags[i], q->tag) == 0;
        if (!has)
            return false;
    }
    if ((f & F_CREATE) &&
        !in_range(hd_tickets_ts_ms(t->create_time), q->create_from_ms, q->create_to_ms))
        return false;
    if ((f & F_UPDATE) &&
        !in_range(hd_tickets_ts_ms(t->update_time), q->update_from_ms, q->update_to_ms))
        return false;
    if ((f & F_SCOPE) && !visible(q, t))
        return false;
    return true;
}

/* A hash of every filter and the sort, so a token cannot continue another query. */
static uint32_t filter_hash(const hd_tickets_query *q)
{
    uint32_t h = 2166136261u;
    int64_t nums[] = {q->status,
                      q->priority,
                      (int64_t)q->assignee_id,
                      q->unassigned,
                      (int64_t)q->customer_id,
                      q->create_from_ms,
                      q->create_to_ms,
                      q->update_from_ms,
                      q->update_to_ms,
                      q->sort,
                      q->sla_breached,
                      q->sla_due_within_min,
                      q->uncategorised};
    const char *strs[] = {q->category ? q->category : "", q->tag ? q->tag : ""};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        for (int b = 0; b < 8; b++)
            h = (h ^ (uint8_t)((uint64_t)nums[i] >> (8 * b))) * 16777619u;
    for (size_t i = 0; i < 2; i++)
        for (const char *p = strs[i];; p++) {
            h = (h ^ (uint8_t)*p) * 16777619u;
            if (!*p)
                break;
        }
    return h;
}

/* ---- Tokens ---------------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int hex_field(const char *s, int n, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return -1;
        v = (v << 4) | (uint64_t)h;
    }
    *out = v;
    return 0;
}

typedef struct position {
    bool resume;
    uint32_t prio;    /* PRIORITY sort: group of the last ticket */
    int64_t key;      /* UPDATE sort: update ms of the last ticket */
    uint64_t last_id; /* last ticket returned */
} position;

static int token_decode(const char *tok, uint32_t hash, position *p, hd_err *err)
{
    uint64_t h, prio, key, id;
    if (strlen(tok) != TOKEN_LEN || strncmp(tok, TOKEN_PREFIX, 2) != 0 ||
        hex_field(tok + 2, 8, &h) || hex_field(tok + 10, 1, &prio) ||
        hex_field(tok + 11, 16, &key) || hex_field(tok + 27, 16, &id))
        return hd_err_set(err, HD_EINVAL, "page_token: malformed");
    if (h != hash)
        return hd_err_set(err, HD_EINVAL, "page_token: issued for another filter or sort");
    p->resume = true;
    p->prio = (uint32_t)prio;
    p->key = (int64_t)key;
    p->last_id = id;
    return 0;
}

static char *token_encode(hd_arena *a, uint32_t hash, const cand *c, int sort)
{
    uint32_t prio = sort == SORT(PRIORITY) ? (uint32_t)c->key : 0;
    uint64_t key = sort == SORT(UPDATE_TIME_DESC) ? (uint64_t)c->key : 0;
    return hd_arena_printf(a, TOKEN_PREFIX "%08" PRIx32 "%01" PRIx32 "%016" PRIx64 "%016" PRIx64,
                           hash, prio, key, c->id);
}

/* ---- Scanning -------------------------------------------------------------------------- */

static int push(lister *l, uint64_t id, int64_t key, Helpdesk__V1__Ticket *t)
{
    cand *c = hd_arena_grow(l->a, l->c, l->n, &l->cap, sizeof(*c), 64);
    if (!c)
        return hd_err_set(l->err, HD_ENOMEM, "list: out of memory");
    l->c = c;
    l->c[l->n].id = id;
    l->c[l->n].key = key;
    l->c[l->n].t = t;
    l->n++;
    return 0;
}

static int load(lister *l, uint64_t id, Helpdesk__V1__Ticket **out)
{
    hd_key k;
    ProtobufCMessage *m;
    int rc = hd_store_get_msg(l->txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, id),
                              &helpdesk__v1__ticket__descriptor, l->a, &m, l->err);
    l->visited++;
    if (rc == HD_ENOTFOUND)
        return hd_err_set(l->err, HD_ECORRUPT, "index entry names missing ticket %" PRIu64, id);
    if (rc < 0)
        return rc;
    *out = (Helpdesk__V1__Ticket *)m;
    return 0;
}

/* Keeps ticket id (sort key `key`) when it passes the checked filters. Returns 1 once the
 * current source yielded its quota, 0 to go on, or an error. */
static int consider(void *arg, uint64_t id, int64_t key)
{
    lister *l = arg;
    Helpdesk__V1__Ticket *t = NULL;
    int rc;
    if (l->checked) {
        rc = load(l, id, &t);
        if (rc < 0)
            return rc;
        if (!matches(l, t))
            return 0;
    }
    rc = push(l, id, key, t);
    if (rc < 0)
        return rc;
    return ++l->got >= l->quota ? 1 : 0;
}

static int entry_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    lister *l = arg;
    const range *r = l->r;
    hd_key_reader rd;
    uint64_t id;
    int64_t key_v = l->key;
    (void)val;
    (void)vlen;
    if (klen != r->key_skip + (r->time_key ? 16u : 8u))
        return hd_err_set(l->err, HD_ECORRUPT, "%s key of %zu bytes", hd_store_table_name(r->t),
                          klen);
    hd_key_reader_init(&rd, (const unsigned char *)key + r->key_skip, klen - r->key_skip);
    int rc = r->time_key ? hd_key_read_i64(&rd, &key_v, l->err) : 0;
    if (rc == 0)
        rc = hd_key_read_u64(&rd, &id, l->err);
    if (rc < 0)
        return rc;
    return consider(l, id, key_v);
}

/* Reads range r in reverse (resuming after start when given) until quota matches. */
static int scan(lister *l, const range *r, const hd_key *start, size_t quota, int64_t key)
{
    hd_store_range sr = {0};
    sr.prefix = &r->prefix;
    sr.start = start;
    sr.exclusive = start != NULL;
    sr.reverse = 1;
    sr.limit = l->checked ? 0 : quota;
    l->r = r;
    l->got = 0;
    l->quota = quota;
    l->key = key;
    int64_t n = hd_store_scan(l->txn, r->t, &sr, entry_cb, l, l->err);
    if (n < 0)
        return (int)n;
    l->visited += (uint64_t)n;
    return 0;
}

/* The resume key of range r for the last id (and update time). */
static const hd_key *resume_key(hd_key *k, const range *r, const position *p)
{
    *k = r->prefix;
    if (r->time_key)
        hd_key_i64(k, p->key);
    return hd_key_u64(k, p->last_id);
}

static int cmp_id_desc(const void *x, const void *y)
{
    uint64_t a = ((const cand *)x)->id, b = ((const cand *)y)->id;
    return a < b ? 1 : a > b ? -1 : 0;
}

/* ---- Sources --------------------------------------------------------------------------- */

static void range_u64(range *r, hd_table t, uint64_t v)
{
    r->t = t;
    hd_key_init(&r->prefix);
    hd_key_u64(&r->prefix, v);
    r->key_skip = 8;
    r->time_key = 0;
}

static void range_str(range *r, hd_table t, const char *s)
{
    r->t = t;
    hd_key_init(&r->prefix);
    hd_key_str(&r->prefix, s);
    r->key_skip = r->prefix.len;
    r->time_key = 0;
}

static void range_status(range *r, uint32_t status, uint32_t prio)
{
    r->t = HD_STORE_IDX_STATUS;
    hd_key_init(&r->prefix);
    hd_key_u32(hd_key_u32(&r->prefix, status), prio);
    r->key_skip = 8;
    r->time_key = 0;
}

/* The ranges of a scope: each group's IDX_GROUP range, then the assignee's, the customer's
 * and the organization's. */
static void scope_ranges(const hd_tickets_query *q, range *rs, size_t *nr)
{
    *nr = 0;
    for (size_t i = 0; i < q->n_scope_groups; i++)
        range_u64(&rs[(*nr)++], HD_STORE_IDX_GROUP, q->scope_groups[i]);
    if (q->scope_assignee)
        range_u64(&rs[(*nr)++], HD_STORE_IDX_ASSIGNEE, q->scope_assignee);
    if (q->scope_customer)
        range_u64(&rs[(*nr)++], HD_STORE_IDX_CUSTOMER, q->scope_customer);
    if (q->scope_org)
        range_u64(&rs[(*nr)++], HD_STORE_IDX_ORG, q->scope_org);
}

/* Picks the ranges for the newest-first order: one index range, or the status x priority
 * ranges of the status and/or priority filter, or TICKETS; for a scope not implied by the
 * assignee or customer filter, the scope's ranges. Returns the F_* filters implied. */
static unsigned newest_first_ranges(const hd_tickets_query *q, unsigned active, range *rs,
                                    size_t *nr)
{
    *nr = 1;
    if (active & F_SCOPE) {
        if ((active & F_ASSIGNEE) && q->scope_assignee && q->assignee_id == q->scope_assignee) {
            range_u64(&rs[0], HD_STORE_IDX_ASSIGNEE, q->assignee_id);
            return F_ASSIGNEE | F_SCOPE;
        }
        if ((active & F_CUSTOMER) && q->scope_customer && q->customer_id == q->scope_customer) {
            range_u64(&rs[0], HD_STORE_IDX_CUSTOMER, q->customer_id);
            return F_CUSTOMER | F_SCOPE;
        }
        scope_ranges(q, rs, nr);
        return F_SCOPE;
    }
    if (active & F_CUSTOMER) {
        range_u64(&rs[0], HD_STORE_IDX_CUSTOMER, q->customer_id);
        return F_CUSTOMER;
    }
    if (active & F_ASSIGNEE) {
        range_u64(&rs[0], HD_STORE_IDX_ASSIGNEE, q->unassigned ? 0 : q->assignee_id);
        return F_ASSIGNEE;
    }
    if (active & F_TAG) {
        range_str(&rs[0], HD_STORE_IDX_TAG, q->tag);
        return F_TAG;
    }
    if ((active & F_CATEGORY) && !(active & (F_STATUS | F_PRIORITY))) {
        range_str(&rs[0], HD_STORE_IDX_CATEGORY, category_of(q));
        return F_CATEGORY;
    }
    if (active & (F_STATUS | F_PRIORITY)) {
        *nr = 0;
        for (uint32_t s = 1; s <= N_STATUS; s++) {
            if ((active & F_STATUS) && s != (uint32_t)q->status)
                continue;
            for (uint32_t p = 1; p <= N_PRIO; p++) {
                if ((active & F_PRIORITY) && p != (uint32_t)q->priority)
                    continue;
                range_status(&rs[(*nr)++], s, p);
            }
        }
        return active & (F_STATUS | F_PRIORITY);
    }
    rs[0].t = HD_STORE_TICKETS;
    hd_key_init(&rs[0].prefix);
    rs[0].key_skip = 0;
    rs[0].time_key = 0;
    return 0;
}

/* Drops adjacent candidates with the same id (sorted input), keeping the first. */
static void dedup(lister *l)
{
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++)
        if (kept == 0 || l->c[kept - 1].id != l->c[i].id)
            l->c[kept++] = l->c[i];
    l->n = kept;
}

/* Newest first: every range read for page + 1 matches after the resume id, merged by id.
 * The first page + 1 of the union is within the union of each range's first page + 1. */
static int list_newest(lister *l, size_t want, const position *p)
{
    range rs[PLAN_MAX > N_STATUS * N_PRIO ? PLAN_MAX : N_STATUS * N_PRIO];
    size_t nr;
    hd_key k;
    l->checked = l->active & ~newest_first_ranges(l->q, l->active, rs, &nr);
    for (size_t i = 0; i < nr; i++) {
        int rc = scan(l, &rs[i], p->resume ? resume_key(&k, &rs[i], p) : NULL, want, 0);
        if (rc < 0)
            return rc;
    }
    if (nr > 1 && l->n > 1) {
        qsort(l->c, l->n, sizeof(*l->c), cmp_id_desc);
        dedup(l);
    }
    return 0;
}

/* Most recently updated first: IDX_UPDATED, (update ms, id) descending. */
static int list_updated(lister *l, size_t want, const position *p)
{
    range r = {.t = HD_STORE_IDX_UPDATED, .key_skip = 0, .time_key = 1};
    hd_key k;
    hd_key_init(&r.prefix);
    l->checked = l->active;
    return scan(l, &r, p->resume ? resume_key(&k, &r, p) : NULL, want, 0);
}

/* By priority: one group per priority, URGENT first; within a group the status ranges
 * (or the one status) merged newest first. */
static int list_priority(lister *l, size_t want, const position *p)
{
    const hd_tickets_query *q = l->q;
    hd_key k;
    l->checked = l->active & ~(F_STATUS | F_PRIORITY);
    for (uint32_t prio = 1; prio <= N_PRIO && l->n < want; prio++) {
        if ((l->active & F_PRIORITY) && prio != (uint32_t)q->priority)
            continue;
        if (p->resume && prio < p->prio)
            continue;
        size_t first = l->n;
        for (uint32_t s = 1; s <= N_STATUS; s++) {
            range r;
            if ((l->active & F_STATUS) && s != (uint32_t)q->status)
                continue;
            range_status(&r, s, prio);
            bool from_last = p->resume && prio == p->prio;
            int rc = scan(l, &r, from_last ? resume_key(&k, &r, p) : NULL, want - first, prio);
            if (rc < 0)
                return rc;
        }
        if (l->n - first > 1) /* qsort must not see the NULL of an empty list */
            qsort(l->c + first, l->n - first, sizeof(*l->c), cmp_id_desc);
        if (l->n > want)
            l->n = want;
    }
    return 0;
}

/* ---- SLA filters (hook for issue 7): the SLA list indexes drive ------------------------
 * server/sla/query.h yields the tickets in its own order (breached: newest first; due within:
 * soonest due first); the other filters are checked on the records. The position (due time,
 * ticket id) travels in the token's key and id fields, like the update-time sort's. */

static int list_sla(lister *l, size_t want, const position *p)
{
    hd_sla_filter f = {l->q->sla_breached, l->q->sla_due_within_min, l->q->sla_now_s};
    l->checked = l->active;
    l->quota = want;
    l->got = 0;
    return hd_sla_query_scan(l->txn, &f, p->resume, p->key, p->last_id, consider, l, &l->visited,
                             l->err);
}

/* ---- List ------------------------------------------------------------------------------ */

static int check_query(const hd_tickets_query *q, hd_err *err)
{
    if (q->page_size < 0 || q->page_size > HD_TICKETS_PAGE_MAX)
        return hd_err_set(err, HD_EINVAL, "page_size: must be 0-%d", HD_TICKETS_PAGE_MAX);
    if (!hd_tickets__enum_known(&helpdesk__v1__ticket_status__descriptor, (int)q->status))
        return hd_err_set(err, HD_EINVAL, "status: unknown value %d", (int)q->status);
    if (!hd_tickets__enum_known(&helpdesk__v1__priority__descriptor, (int)q->priority))
        return hd_err_set(err, HD_EINVAL, "priority: unknown value %d", (int)q->priority);
    if (!hd_tickets__enum_known(&helpdesk__v1__ticket_sort__descriptor, (int)q->sort))
        return hd_err_set(err, HD_EINVAL, "sort: unknown value %d", (int)q->sort);
    if (q->unassigned && q->assignee_id)
        return hd_err_set(err, HD_EINVAL, "assignee_id: set either assignee_id or unassigned");
    if (q->uncategorised && q->category && q->category[0])
        return hd_err_set(err, HD_EINVAL, "uncategorised: set either category or uncategorised");
    if (q->n_scope_groups > HD_TICKETS_SCOPE_GROUPS_MAX)
        return hd_err_set(err, HD_EINVAL, "scope_groups: more than %d",
                          HD_TICKETS_SCOPE_GROUPS_MAX);
    if (q->category &&
        hd_tickets__check_line("category", q->category, HD_TICKETS_CATEGORY_MAX, false, err) < 0)
        return err->code;
    if (q->tag && strlen(q->tag) > HD_TICKETS_TAG_MAX)
        return hd_err_set(err, HD_EINVAL, "tag: longer than %d characters", HD_TICKETS_TAG_MAX);
    return 0;
}

int hd_tickets_list(hd_store *s, hd_arena *a, const hd_tickets_query *q, hd_tickets_page *out,
                    hd_err *err)
{
    size_t page = q->page_size ? (size_t)q->page_size : HD_TICKETS_PAGE_DEFAULT;
    uint32_t hash = filter_hash(q);
    bool sla = q->sla_breached || q->sla_due_within_min > 0;
    position pos = {0};
    lister l = {0};
    int rc;

    memset(out, 0, sizeof(*out));
    out->next_page_token = "";
    rc = check_query(q, err);
    if (rc < 0)
        return rc;
    if (q->page_token && q->page_token[0]) {
        rc = token_decode(q->page_token, hash, &pos, err);
        if (rc < 0)
            return rc;
    }
    if (scope_empty(q))
        return 0;
    l.q = q;
    l.active = active_filters(q);
    l.a = a;
    l.err = err;
    rc = hd_store_read_begin(s, &l.txn, err);
    if (rc < 0)
        return rc;
    if (sla) /* issue 7 hook */
        rc = list_sla(&l, page + 1, &pos);
    else if (q->sort == SORT(UPDATE_TIME_DESC))
        rc = list_updated(&l, page + 1, &pos);
    else if (q->sort == SORT(PRIORITY))
        rc = list_priority(&l, page + 1, &pos);
    else
        rc = list_newest(&l, page + 1, &pos);
    if (rc < 0)
        goto fail;

    size_t take = l.n < page ? l.n : page;
    out->tickets = hd_arena_calloc(a, take + 1, sizeof(*out->tickets));
    if (!out->tickets) {
        rc = hd_err_set(err, HD_ENOMEM, "list: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < take; i++) {
        if (!l.c[i].t) {
            rc = load(&l, l.c[i].id, &l.c[i].t);
            if (rc < 0)
                goto fail;
        }
        rc = hd_tickets_annotate(l.txn, a, l.c[i].t, err);
        if (rc < 0)
            goto fail;
        out->tickets[out->n_tickets++] = l.c[i].t;
    }
    hd_store_read_end(l.txn);
    l.txn = NULL;
    out->visited = l.visited;
    if (l.n > page) {
        out->next_page_token =
            token_encode(a, hash, &l.c[page - 1], sla ? SORT(UPDATE_TIME_DESC) : (int)q->sort);
        if (!out->next_page_token) {
            rc = hd_err_set(err, HD_ENOMEM, "list: out of memory");
            goto fail;
        }
    }
    return 0;
fail:
    hd_store_read_end(l.txn);
    memset(out, 0, sizeof(*out));
    out->next_page_token = "";
    return rc;
}
