/* The dashboard (see dashboard.h): an observer that moves open-ticket gauges and feeds the
 * duration histograms inside each change's transaction, and a reader that assembles the
 * figures from those rollups, the engine's status gauges and the IDX_UPDATED index. */
#include "server/tickets/dashboard.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "server/rollup/rollup.h"
#include "server/sla/rollups.h"
#include "server/tickets/change.h"
#include "server/tickets/tickets.h"

#define N_STATUS   7 /* TicketStatus values 0-6 */
#define N_PRIORITY 5 /* Priority values 0-4 */

uint32_t hd_dashboard_bucket(int64_t m)
{
    if (m < 0)
        m = 0;
    if (m < 120)
        return (uint32_t)m;
    if (m < 1440)
        return 120u + (uint32_t)((m - 120) / 10);
    if (m < 43200)
        return 252u + (uint32_t)((m - 1440) / 60);
    return HD_DASHBOARD_BUCKETS - 1;
}

int64_t hd_dashboard_bucket_floor(uint32_t b)
{
    if (b < 120)
        return b;
    if (b < 252)
        return 120 + (int64_t)(b - 120) * 10;
    if (b < HD_DASHBOARD_BUCKETS - 1)
        return 1440 + (int64_t)(b - 252) * 60;
    return 43200;
}

static bool is_open(const Helpdesk__V1__Ticket *t)
{
    return t && (t->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_NEW ||
                 t->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_OPEN ||
                 t->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING);
}

/* Adds delta to a gauge. A decrement of a gauge already at 0 is skipped rather than failing
 * the change: tickets written before this observer existed were never counted. */
static int gauge_add(hd_txn *txn, const char *metric, uint32_t dim, int64_t delta, hd_err *err)
{
    if (delta < 0) {
        uint64_t v;
        int rc = hd_rollup_get(txn, metric, HD_ROLLUP_NOW, dim, &v, err);
        if (rc < 0)
            return rc;
        if (v == 0)
            return 0;
    }
    return hd_rollup_add(txn, metric, HD_ROLLUP_NOW, dim, delta, err);
}

/* Adds sign to every open-ticket gauge t counts in (nothing for a ticket not open). */
static int gauges(hd_txn *txn, hd_arena *a, const Helpdesk__V1__Ticket *t, int64_t sign,
                  hd_err *err)
{
    if (!is_open(t))
        return 0;
    const char *cat = hd_arena_printf(a, "%s%s", HD_DASHBOARD_OPEN_CATEGORY, t->category);
    if (!cat)
        return hd_err_set(err, HD_ENOMEM, "dashboard: out of memory");
    int rc = gauge_add(txn, HD_DASHBOARD_OPEN_PRIORITY, (uint32_t)t->priority, sign, err);
    if (rc == 0)
        rc = gauge_add(txn, cat, 0, sign, err);
    if (rc == 0 && t->assignee_id == 0)
        rc = gauge_add(txn, HD_DASHBOARD_OPEN_UNASSIGNED, 0, sign, err);
    /* Staff ids beyond 32 bits (never issued by the staff sequence in practice) are not
     * counted per agent, on the way in and out alike. */
    if (rc == 0 && t->assignee_id != 0 && t->assignee_id <= UINT32_MAX)
        rc = gauge_add(txn, HD_DASHBOARD_OPEN_AGENT, (uint32_t)t->assignee_id, sign, err);
    return rc;
}

static bool same_gauges(const Helpdesk__V1__Ticket *b, const Helpdesk__V1__Ticket *t)
{
    if (!b || is_open(b) != is_open(t))
        return false;
    if (!is_open(t))
        return true;
    return b->priority == t->priority && b->assignee_id == t->assignee_id &&
           strcmp(b->category, t->category) == 0;
}

int hd_dashboard_observe(void *ud, const hd_ticket_change *c, hd_err *err)
{
    const Helpdesk__V1__Ticket *b = c->before, *t = c->after;
    int64_t created = hd_tickets_ts_ms(t->create_time);
    int rc = 0;
    (void)ud;

    if (!same_gauges(b, t)) {
        rc = gauges(c->txn, c->arena, b, -1, err);
        if (rc == 0)
            rc = gauges(c->txn, c->arena, t, 1, err);
        if (rc < 0)
            return rc;
    }
    if (t->first_response_time && !(b && b->first_response_time)) {
        int64_t at = hd_tickets_ts_ms(t->first_response_time);
        rc = hd_rollup_add(c->txn, HD_DASHBOARD_FIRST_RESPONSE, hd_rollup_day(at),
                           hd_dashboard_bucket((at - created) / 60000), 1, err);
        if (rc < 0)
            return rc;
    }
    if (t->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED &&
        !(b && b->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED)) {
        rc = hd_rollup_add(c->txn, HD_DASHBOARD_RESOLUTION, hd_rollup_day(c->now_ms),
                           hd_dashboard_bucket((c->now_ms - created) / 60000), 1, err);
    }
    return rc;
}

int hd_dashboard_agent_open(hd_txn *txn, uint64_t staff_id, uint64_t *out, hd_err *err)
{
    *out = 0;
    if (staff_id > UINT32_MAX)
        return 0;
    return hd_rollup_get(txn, HD_DASHBOARD_OPEN_AGENT, HD_ROLLUP_NOW, (uint32_t)staff_id, out, err);
}

/* ---- Reading --------------------------------------------------------------------------- */

static uint64_t be64(const void *p)
{
    const unsigned char *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

/* Growable arrays of the response, in the arena. */
typedef struct reader {
    hd_arena *a;
    hd_txn *txn;
    Helpdesk__V1__Dashboard *d;
    uint64_t hist[HD_DASHBOARD_BUCKETS];
    int rc;
    hd_err *err;
} reader;

static void *grow(hd_arena *a, void *old, size_t n, size_t size)
{
    /* Doubling at powers of two keeps appends amortised O(1). */
    if (n && (n & (n - 1)) != 0)
        return old;
    void *p = hd_arena_alloc(a, (n ? n * 2 : 1) * size);
    if (p && n)
        memcpy(p, old, n * size);
    return p;
}

static int add_count(hd_arena *a, Helpdesk__V1__DashboardCount ***arr, size_t *n, const char *key,
                     uint64_t count)
{
    Helpdesk__V1__DashboardCount **g = grow(a, *arr, *n, sizeof(**arr));
    Helpdesk__V1__DashboardCount *c = hd_arena_alloc(a, sizeof(*c));
    char *k = hd_arena_strdup(a, key);
    if (!g || !c || !k)
        return HD_ENOMEM;
    helpdesk__v1__dashboard_count__init(c);
    c->key = k;
    c->count = count;
    *arr = g;
    g[(*n)++] = c;
    return 0;
}

static int category_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    reader *r = arg;
    hd_key_reader kr;
    char *metric;
    size_t mlen;
    uint32_t day;
    hd_key_reader_init(&kr, key, klen);
    if (vlen != 8 || hd_key_read_str(&kr, r->a, &metric, &mlen, r->err) < 0 ||
        hd_key_read_u32(&kr, &day, r->err) < 0)
        return hd_err_set(r->err, HD_ECORRUPT, "dashboard: bad rollup entry");
    uint64_t v = be64(val);
    if (day != HD_ROLLUP_NOW || v == 0)
        return 0;
    const char *cat = metric + strlen(HD_DASHBOARD_OPEN_CATEGORY);
    if (add_count(r->a, &r->d->by_category, &r->d->n_by_category, cat, v) < 0)
        return hd_err_set(r->err, HD_ENOMEM, "dashboard: out of memory");
    return 0;
}

static int agent_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    reader *r = arg;
    Helpdesk__V1__Dashboard *d = r->d;
    if (vlen != 8 || klen < 4)
        return hd_err_set(r->err, HD_ECORRUPT, "dashboard: bad rollup entry");
    uint64_t v = be64(val);
    if (v == 0)
        return 0;
    const unsigned char *p = (const unsigned char *)key + klen - 4;
    Helpdesk__V1__AgentLoad **g = grow(r->a, d->agent_load, d->n_agent_load, sizeof(*g));
    Helpdesk__V1__AgentLoad *l = hd_arena_alloc(r->a, sizeof(*l));
    if (!g || !l)
        return hd_err_set(r->err, HD_ENOMEM, "dashboard: out of memory");
    helpdesk__v1__agent_load__init(l);
    l->staff_id = (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
    l->open = v;
    d->agent_load = g;
    g[d->n_agent_load++] = l;
    return 0;
}

static int hist_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    reader *r = arg;
    if (vlen != 8 || klen < 4)
        return hd_err_set(r->err, HD_ECORRUPT, "dashboard: bad rollup entry");
    const unsigned char *p = (const unsigned char *)key + klen - 4;
    uint32_t b = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (b < HD_DASHBOARD_BUCKETS)
        r->hist[b] += be64(val);
    return 0;
}

/* The lower median of r->hist as a bucket floor (-1 when empty), and the total in *n. */
static int64_t hist_median(const reader *r, uint64_t *n)
{
    uint64_t total = 0, seen = 0;
    for (uint32_t b = 0; b < HD_DASHBOARD_BUCKETS; b++)
        total += r->hist[b];
    *n = total;
    if (total == 0)
        return -1;
    for (uint32_t b = 0; b < HD_DASHBOARD_BUCKETS; b++) {
        seen += r->hist[b];
        if (seen > (total - 1) / 2)
            return hd_dashboard_bucket_floor(b);
    }
    return -1;
}

/* Sums days [from, to] of the histogram metric into r->hist. */
static int hist_days(reader *r, const char *metric, uint32_t from, uint32_t to)
{
    hd_key prefix;
    memset(r->hist, 0, sizeof(r->hist));
    for (uint32_t day = from; day <= to; day++) {
        hd_key_init(&prefix);
        hd_key_str(&prefix, metric);
        hd_key_u32(&prefix, day);
        hd_store_range rg = {.prefix = &prefix};
        if (hd_store_scan(r->txn, HD_STORE_ROLLUPS, &rg, hist_cb, r, r->err) < 0)
            return r->err->code;
    }
    return 0;
}

/* The lower median of an SLA total histogram in minutes (-1 when empty), total in *n. */
static int64_t sla_median(const uint64_t *counts, uint64_t *n)
{
    *n = 0;
    for (uint32_t b = 0; b < HD_SLA_BUCKETS; b++)
        *n += counts[b];
    return *n ? llround(hd_sla_rollups_percentile(counts, 0.5)) : -1;
}

/* Medians in SLA working minutes from the SLA rollups' all-slice histograms: 1 when either
 * has a count in days [from, to], 0 when both are empty (m untouched), or an error. */
static int sla_medians(reader *r, uint32_t from, uint32_t to, Helpdesk__V1__DashboardMedians *m)
{
    uint64_t *frt = hd_arena_calloc(r->a, 2 * HD_SLA_BUCKETS, sizeof(*frt)), *res;
    uint64_t n_frt, n_res;
    if (!frt)
        return hd_err_set(r->err, HD_ENOMEM, "dashboard: out of memory");
    res = frt + HD_SLA_BUCKETS;
    int rc = hd_sla_rollups_total_hist(r->txn, HD_SLA_ROLLUP_ALL_FRT_HIST, from, to, frt, r->err);
    if (rc == 0)
        rc = hd_sla_rollups_total_hist(r->txn, HD_SLA_ROLLUP_ALL_RES_HIST, from, to, res, r->err);
    if (rc < 0)
        return rc;
    int64_t frt_min = sla_median(frt, &n_frt), res_min = sla_median(res, &n_res);
    if (n_frt + n_res == 0)
        return 0;
    m->first_response_minutes = frt_min;
    m->first_responses = n_frt;
    m->resolution_minutes = res_min;
    m->resolutions = n_res;
    m->working_minutes = 1;
    return 1;
}

/* The window's medians: SLA working minutes when any ticket under a policy was answered or
 * solved in it, else wall-clock minutes of all tickets (a store without SLA policies). */
static int medians(reader *r, uint32_t from, uint32_t to, Helpdesk__V1__DashboardMedians **out)
{
    Helpdesk__V1__DashboardMedians *m = hd_arena_alloc(r->a, sizeof(*m));
    if (!m)
        return hd_err_set(r->err, HD_ENOMEM, "dashboard: out of memory");
    helpdesk__v1__dashboard_medians__init(m);
    int rc = sla_medians(r, from, to, m);
    if (rc != 0) {
        *out = m;
        return rc < 0 ? rc : 0;
    }
    rc = hist_days(r, HD_DASHBOARD_FIRST_RESPONSE, from, to);
    if (rc < 0)
        return rc;
    m->first_response_minutes = hist_median(r, &m->first_responses);
    rc = hist_days(r, HD_DASHBOARD_RESOLUTION, from, to);
    if (rc < 0)
        return rc;
    m->resolution_minutes = hist_median(r, &m->resolutions);
    *out = m;
    return 0;
}

/* Collects up to HD_DASHBOARD_RECENT ticket ids, most recently updated first. */
typedef struct recent {
    uint64_t ids[HD_DASHBOARD_RECENT];
    size_t n;
    hd_err *err;
} recent;

static int recent_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    recent *rc = arg;
    (void)val;
    (void)vlen;
    if (klen < 8)
        return hd_err_set(rc->err, HD_ECORRUPT, "dashboard: bad IDX_UPDATED entry");
    rc->ids[rc->n++] = be64((const unsigned char *)key + klen - 8);
    return rc->n == HD_DASHBOARD_RECENT ? 1 : 0;
}

static int last_event_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    reader *r = arg;
    Helpdesk__V1__Dashboard *d = r->d;
    ProtobufCAllocator pa;
    (void)key;
    (void)klen;
    hd_arena_pb_allocator(r->a, &pa);
    Helpdesk__V1__TicketEvent *ev = (Helpdesk__V1__TicketEvent *)protobuf_c_message_unpack(
        &helpdesk__v1__ticket_event__descriptor, &pa, vlen, val);
    if (!ev)
        return hd_err_set(r->err, HD_ECORRUPT, "dashboard: event does not unpack");
    Helpdesk__V1__TicketEvent **g =
        grow(r->a, d->recent_activity, d->n_recent_activity, sizeof(*g));
    if (!g)
        return hd_err_set(r->err, HD_ENOMEM, "dashboard: out of memory");
    d->recent_activity = g;
    g[d->n_recent_activity++] = ev;
    return 1;
}

static int recent_activity(reader *r)
{
    recent ids = {.n = 0, .err = r->err};
    hd_store_range rg = {.reverse = 1, .limit = HD_DASHBOARD_RECENT};
    if (hd_store_scan(r->txn, HD_STORE_IDX_UPDATED, &rg, recent_cb, &ids, r->err) < 0)
        return r->err->code;
    for (size_t i = 0; i < ids.n; i++) {
        hd_key prefix;
        hd_store_range er = {
            .prefix = hd_tickets_key_id(&prefix, ids.ids[i]), .reverse = 1, .limit = 1};
        if (hd_store_scan(r->txn, HD_STORE_EVENTS, &er, last_event_cb, r, r->err) < 0)
            return r->err->code;
    }
    return 0;
}

static int read_all(reader *r, int64_t now_ms)
{
    Helpdesk__V1__Dashboard *d = r->d;
    uint32_t today = hd_rollup_day(now_ms);
    uint64_t v;
    hd_key prefix;
    int rc;

    for (uint32_t s = 1; s < N_STATUS; s++) {
        rc = hd_rollup_get(r->txn, HD_TICKETS_ROLLUP_STATUS_NOW, HD_ROLLUP_NOW, s, &v, r->err);
        if (rc < 0)
            return rc;
        if (s <= HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING)
            d->open += v;
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value(&helpdesk__v1__ticket_status__descriptor, (int)s);
        if (add_count(r->a, &d->by_status, &d->n_by_status, ev ? ev->name : "?", v) < 0)
            return hd_err_set(r->err, HD_ENOMEM, "dashboard: out of memory");
    }
    for (uint32_t p = 1; p < N_PRIORITY; p++) {
        rc = hd_rollup_get(r->txn, HD_DASHBOARD_OPEN_PRIORITY, HD_ROLLUP_NOW, p, &v, r->err);
        if (rc < 0)
            return rc;
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value(&helpdesk__v1__priority__descriptor, (int)p);
        if (add_count(r->a, &d->by_priority, &d->n_by_priority, ev ? ev->name : "?", v) < 0)
            return hd_err_set(r->err, HD_ENOMEM, "dashboard: out of memory");
    }
    hd_key_init(&prefix);
    hd_key_str_prefix(&prefix, HD_DASHBOARD_OPEN_CATEGORY, strlen(HD_DASHBOARD_OPEN_CATEGORY));
    hd_store_range rg = {.prefix = &prefix};
    if (hd_store_scan(r->txn, HD_STORE_ROLLUPS, &rg, category_cb, r, r->err) < 0)
        return r->err->code;
    rc = hd_rollup_get(r->txn, HD_DASHBOARD_OPEN_UNASSIGNED, HD_ROLLUP_NOW, 0, &d->unassigned,
                       r->err);
    if (rc < 0)
        return rc;
    hd_key_init(&prefix);
    hd_key_str(&prefix, HD_DASHBOARD_OPEN_AGENT);
    hd_key_u32(&prefix, HD_ROLLUP_NOW);
    if (hd_store_scan(r->txn, HD_STORE_ROLLUPS, &rg, agent_cb, r, r->err) < 0)
        return r->err->code;
    rc = medians(r, today, today, &d->today);
    if (rc == 0)
        rc = medians(r, today >= 6 ? today - 6 : 0, today, &d->last_7_days);
    if (rc == 0)
        rc = hd_rollup_get(r->txn, HD_TICKETS_ROLLUP_CREATED, today, 0, &d->created_today, r->err);
    if (rc == 0)
        rc = hd_rollup_get(r->txn, HD_TICKETS_ROLLUP_STATUS_IN, today,
                           HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED, &d->solved_today,
                           r->err);
    if (rc == 0)
        rc = recent_activity(r);
    return rc;
}

int hd_dashboard_get(hd_store *s, hd_arena *a, int64_t now_ms, Helpdesk__V1__Dashboard *out,
                     hd_err *err)
{
    reader *r = hd_arena_calloc(a, 1, sizeof(*r));
    hd_txn *txn = NULL;
    int rc;

    helpdesk__v1__dashboard__init(out);
    if (!r)
        return hd_err_set(err, HD_ENOMEM, "dashboard: out of memory");
    out->time = hd_tickets_ts_new(a, now_ms);
    if (!out->time)
        return hd_err_set(err, HD_ENOMEM, "dashboard: out of memory");
    rc = hd_store_read_begin(s, &txn, err);
    if (rc < 0)
        goto fail;
    r->a = a;
    r->txn = txn;
    r->d = out;
    r->err = err;
    rc = read_all(r, now_ms);
fail:
    hd_store_read_end(txn);
    return rc;
}
