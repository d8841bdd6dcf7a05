/* The shared start of every ticket-working mutation (see work.h). */
#include "server/tickets/work.h"

int hd_tickets__work_begin(hd_tickets_edit *e, hd_txn *txn, hd_tickets_work *w, uint64_t ticket_id,
                           hd_err *err)
{
    int rc = hd_tickets_edit_begin(e, txn, w->arena, ticket_id, &w->actor, w->now_ms, &w->committed,
                                   err);
    if (rc < 0)
        return rc;
    return w->check ? w->check(w->check_ud, txn, e->before, err) : 0;
}
