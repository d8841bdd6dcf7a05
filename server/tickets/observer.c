/* The observer registry: a fixed array written at start-up, read by the writer thread. */
#include "server/tickets/observer.h"

#include <stddef.h>

static struct {
    hd_ticket_observer_fn fn;
    void *ud;
} observers[HD_TICKETS_OBSERVERS_MAX];
static size_t n_observers;

int hd_tickets_observe(hd_ticket_observer_fn fn, void *ud)
{
    for (size_t i = 0; i < n_observers; i++)
        if (observers[i].fn == fn && observers[i].ud == ud)
            return HD_EEXIST;
    if (n_observers == HD_TICKETS_OBSERVERS_MAX)
        return HD_EFULL;
    observers[n_observers].fn = fn;
    observers[n_observers].ud = ud;
    n_observers++;
    return HD_OK;
}

void hd_tickets_observers_clear(void)
{
    n_observers = 0;
}

int hd_tickets_notify(const hd_ticket_change *c, hd_err *err)
{
    for (size_t i = 0; i < n_observers; i++) {
        int rc = observers[i].fn(observers[i].ud, c, err);
        if (rc != HD_OK)
            return rc;
    }
    return HD_OK;
}
