/* Ticket.sla and the SLA filters of ListTickets, from the per-ticket SLA records. */
#include "server/sla/query.h"

#include "server/sla/record.h"

typedef struct source {
    hd_txn *txn;
    const hd_sla_filter *f;
    int64_t limit_s; /* due_within: last due time included */
    hd_sla_query_fn fn;
    void *arg;
    uint64_t visited;
    hd_err *err;
} source;

int hd_sla_query_active(const hd_sla_filter *f)
{
    return f && (f->breached || f->due_within_min > 0);
}

static int breached_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    source *s = arg;
    hd_key_reader r;
    uint64_t id;
    (void)val, (void)vlen;
    s->visited++;
    hd_key_reader_init(&r, key, klen);
    int rc = hd_key_read_u64(&r, &id, s->err);
    if (rc < 0)
        return rc;
    return s->fn(s->arg, id, 0);
}

static int due_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    source *s = arg;
    hd_key_reader r;
    int64_t due_s;
    uint64_t id;
    (void)val, (void)vlen;
    s->visited++;
    hd_key_reader_init(&r, key, klen);
    int rc = hd_key_read_i64(&r, &due_s, s->err);
    if (rc == 0)
        rc = hd_key_read_u64(&r, &id, s->err);
    if (rc < 0)
        return rc;
    if (due_s > s->limit_s)
        return 1;
    return s->fn(s->arg, id, due_s);
}

int hd_sla_query_scan(hd_txn *txn, const hd_sla_filter *f, int resume, int64_t after_key,
                      uint64_t after_id, hd_sla_query_fn fn, void *arg, uint64_t *visited,
                      hd_err *err)
{
    source s = {txn, f, f->now_s + (int64_t)f->due_within_min * 60, fn, arg, 0, err};
    hd_store_range r = {0};
    hd_key start;
    int64_t n;
    if (f->breached) {
        r.reverse = 1;
        r.start = resume ? hd_sla_record_breached_key(&start, after_id) : NULL;
        r.exclusive = resume;
        n = hd_store_scan(txn, HD_STORE_IDX_SLABREACHED, &r, breached_cb, &s, err);
    } else {
        r.start = resume ? hd_sla_record_run_key(&start, after_key, after_id) : NULL;
        r.exclusive = resume;
        n = hd_store_scan(txn, HD_STORE_IDX_SLARUN, &r, due_cb, &s, err);
    }
    if (visited)
        *visited += s.visited;
    return n < 0 ? (int)n : 0;
}

static int keep(const hd_sla_ticket *t, const hd_sla_filter *f)
{
    int ok_b = !f->breached, ok_d = f->due_within_min <= 0;
    for (int i = 0; i < HD_SLA_TARGETS; i++) {
        const hd_sla_clock *c = &t->clocks[i];
        if (!c->active)
            continue;
        if (c->breached)
            ok_b = 1;
        if (c->running && c->due_s <= f->now_s + (int64_t)f->due_within_min * 60)
            ok_d = 1;
    }
    return ok_b && ok_d;
}

int hd_sla_query_annotate(hd_store *s, hd_arena *a, Helpdesk__V1__Ticket **v, size_t *n,
                          const hd_sla_filter *f, hd_err *err)
{
    hd_txn *rt = NULL;
    size_t out = 0;
    int rc = hd_store_read_begin(s, &rt, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < *n; i++) {
        hd_sla_ticket t;
        Helpdesk__V1__TicketSla *m = NULL;
        rc = hd_sla_record_load(rt, v[i]->id, &t, err);
        if (rc == HD_ENOTFOUND) {
            hd_err_clear(err);
            rc = 0;
        }
        if (rc < 0)
            break;
        if (!keep(&t, f))
            continue;
        rc = hd_sla_record_to_proto(&t, NULL, f->now_s, a, &m, err);
        if (rc < 0)
            break;
        v[i]->n_sla = m->n_clocks;
        v[i]->sla = m->clocks;
        v[out++] = v[i];
    }
    hd_store_read_end(rt);
    if (rc == 0)
        *n = out;
    return rc;
}
