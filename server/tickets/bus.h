/* The in-process bus of committed ticket events (WatchTickets, live dashboards, internal
 * services). Mutations publish from their done callback once the change is durable, never
 * from inside the transaction (a rolled-back change must not be seen). Watchers subscribe
 * with a filter and a deliver function that must not block: it hands the event to the
 * watcher's own bounded queue (for WatchTickets, the stream's send queue) and reports
 * HD_EFULL when that is full; the bus then drops the watcher and tells it why, so a slow
 * watcher costs a bounded amount of memory and never holds up a mutation. */
#ifndef HD_TICKETS_BUS_H
#define HD_TICKETS_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/err.h"
#include "server/tickets/tickets.h"

typedef struct hd_tickets_bus hd_tickets_bus;

/* Which events a watcher wants: all fields 0 = every event. A ticket matches when it had
 * or has the assignee (or group), so a watcher also sees a ticket moving away. */
typedef struct hd_tickets_watch_filter {
    uint64_t assignee_id;
    uint64_t group_id;
} hd_tickets_watch_filter;

/* Hands one event to a watcher. ev and t are borrowed for the call (copy or serialise).
 * Called with the bus locked, on the publishing thread: no blocking and no bus calls.
 * Returns 0, or an hd_ code (HD_EFULL: queue full) to be dropped. */
typedef int (*hd_tickets_deliver_fn)(void *ud, const Helpdesk__V1__TicketEvent *ev,
                                     const Helpdesk__V1__Ticket *t);

/* Tells a watcher it was dropped because deliver returned code; the watcher is already
 * removed (its unsubscribe will return false). Called with the bus locked: no bus calls. */
typedef void (*hd_tickets_dropped_fn)(void *ud, int code);

/* Creates an empty bus. Returns 0 with *out owned (hd_tickets_bus_destroy) or HD_ENOMEM. */
int hd_tickets_bus_create(hd_tickets_bus **out, hd_err *err);

/* Frees the bus; any watchers left are forgotten without a callback. NULL is allowed. */
void hd_tickets_bus_destroy(hd_tickets_bus *b);

/* Drops every watcher with HD_EUNAVAIL (server stopping: streams end instead of holding
 * the shutdown grace); later subscribes are refused with HD_EUNAVAIL. NULL is allowed. */
void hd_tickets_bus_close(hd_tickets_bus *b);

/* Adds a watcher. ud is borrowed until unsubscribe returns true or dropped is called.
 * Returns 0 with *id (never 0), HD_EUNAVAIL (closed) or HD_ENOMEM. Thread-safe. */
int hd_tickets_bus_subscribe(hd_tickets_bus *b, const hd_tickets_watch_filter *f,
                             hd_tickets_deliver_fn deliver, hd_tickets_dropped_fn dropped, void *ud,
                             uint64_t *id, hd_err *err);

/* Removes watcher id. Returns true if it was still subscribed (the caller now ends it);
 * false if it was already dropped (dropped was or is being called: do not end it twice).
 * Thread-safe; never calls the watcher's functions. */
bool hd_tickets_bus_unsubscribe(hd_tickets_bus *b, uint64_t id);

/* Delivers every event of c, in order, to each matching watcher. Thread-safe; b may be
 * NULL (no bus: nothing happens). */
void hd_tickets_bus_publish(hd_tickets_bus *b, const hd_tickets_committed *c);

/* Watchers currently subscribed (for tests and statistics). */
size_t hd_tickets_bus_watchers(hd_tickets_bus *b);

/* Whether ticket t (before: may be NULL) matches filter f. */
bool hd_tickets_watch_matches(const hd_tickets_watch_filter *f, const Helpdesk__V1__Ticket *before,
                              const Helpdesk__V1__Ticket *after);

#endif
