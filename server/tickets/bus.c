/* The event bus (see bus.h): a mutex-guarded list of watchers. Publishing is O(watchers)
 * per event; deliver functions only enqueue, so the lock is held briefly. */
#include "server/tickets/bus.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct watcher {
    struct watcher *next;
    uint64_t id;
    hd_tickets_watch_filter f;
    hd_tickets_deliver_fn deliver;
    hd_tickets_dropped_fn dropped;
    void *ud;
} watcher;

struct hd_tickets_bus {
    pthread_mutex_t mu;
    watcher *head;
    uint64_t next_id;
    size_t n;
    bool closed;
};

int hd_tickets_bus_create(hd_tickets_bus **out, hd_err *err)
{
    hd_tickets_bus *b = calloc(1, sizeof(*b));
    *out = NULL;
    if (!b)
        return hd_err_set(err, HD_ENOMEM, "bus: out of memory");
    pthread_mutex_init(&b->mu, NULL);
    b->next_id = 1;
    *out = b;
    return 0;
}

void hd_tickets_bus_destroy(hd_tickets_bus *b)
{
    if (!b)
        return;
    for (watcher *w = b->head, *next; w; w = next) {
        next = w->next;
        free(w);
    }
    pthread_mutex_destroy(&b->mu);
    free(b);
}

int hd_tickets_bus_subscribe(hd_tickets_bus *b, const hd_tickets_watch_filter *f,
                             hd_tickets_deliver_fn deliver, hd_tickets_dropped_fn dropped, void *ud,
                             uint64_t *id, hd_err *err)
{
    watcher *w = calloc(1, sizeof(*w));
    if (!w)
        return hd_err_set(err, HD_ENOMEM, "bus: out of memory");
    if (f)
        w->f = *f;
    w->deliver = deliver;
    w->dropped = dropped;
    w->ud = ud;
    pthread_mutex_lock(&b->mu);
    if (b->closed) {
        pthread_mutex_unlock(&b->mu);
        free(w);
        return hd_err_set(err, HD_EUNAVAIL, "bus: server is stopping");
    }
    w->id = b->next_id++;
    w->next = b->head;
    b->head = w;
    b->n++;
    pthread_mutex_unlock(&b->mu);
    *id = w->id;
    return 0;
}

void hd_tickets_bus_close(hd_tickets_bus *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->closed = true;
    for (watcher *w = b->head, *next; w; w = next) {
        next = w->next;
        if (w->dropped)
            w->dropped(w->ud, HD_EUNAVAIL);
        free(w);
    }
    b->head = NULL;
    b->n = 0;
    pthread_mutex_unlock(&b->mu);
}

bool hd_tickets_bus_unsubscribe(hd_tickets_bus *b, uint64_t id)
{
    watcher *found = NULL;
    pthread_mutex_lock(&b->mu);
    for (watcher **pp = &b->head; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            found = *pp;
            *pp = found->next;
            b->n--;
            break;
        }
    }
    pthread_mutex_unlock(&b->mu);
    free(found);
    return found != NULL;
}

bool hd_tickets_watch_matches(const hd_tickets_watch_filter *f, const Helpdesk__V1__Ticket *before,
                              const Helpdesk__V1__Ticket *after)
{
    if (f->assignee_id && after->assignee_id != f->assignee_id &&
        (!before || before->assignee_id != f->assignee_id))
        return false;
    if (f->group_id && after->group_id != f->group_id &&
        (!before || before->group_id != f->group_id))
        return false;
    return true;
}

void hd_tickets_bus_publish(hd_tickets_bus *b, const hd_tickets_committed *c)
{
    if (!b || !c || !c->n)
        return;
    pthread_mutex_lock(&b->mu);
    for (size_t i = 0; i < c->n; i++) {
        for (watcher **pp = &b->head; *pp;) {
            watcher *w = *pp;
            int rc = 0;
            if (hd_tickets_watch_matches(&w->f, c->before[i], c->after[i]))
                rc = w->deliver(w->ud, c->events[i], c->after[i]);
            if (rc == 0) {
                pp = &w->next;
                continue;
            }
            *pp = w->next;
            b->n--;
            if (w->dropped)
                w->dropped(w->ud, rc);
            free(w);
        }
    }
    pthread_mutex_unlock(&b->mu);
}

size_t hd_tickets_bus_watchers(hd_tickets_bus *b)
{
    pthread_mutex_lock(&b->mu);
    size_t n = b->n;
    pthread_mutex_unlock(&b->mu);
    return n;
}
