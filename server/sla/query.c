/* Ticket.sla and the SLA filters of ListTickets, from the per-ticket SLA records. */
#include "server/sla/query.h"

#include "server/sla/record.h"

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
