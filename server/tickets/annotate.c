/* The read-time annotation hook (see annotate.h). */
#include "server/tickets/annotate.h"

static hd_tickets_annotate_fn hook;
static void *hook_ud;

void hd_tickets_annotate_set(hd_tickets_annotate_fn fn, void *ud)
{
    hook = fn;
    hook_ud = ud;
}

int hd_tickets_annotate(hd_txn *txn, hd_arena *a, Helpdesk__V1__Ticket *t, hd_err *err)
{
    return hook ? hook(hook_ud, txn, a, t, err) : 0;
}
