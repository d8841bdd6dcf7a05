/* Brute-force checking of ListTickets for the list suites: every ticket record read by a
 * plain scan of TICKETS (not through the list code), and a paging walk compared with the
 * records a predicate selects, in the query's order. */
#ifndef HD_TESTS_TICKETS_LIST_CHECK_H
#define HD_TESTS_TICKETS_LIST_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/store/store.h"
#include "server/tickets/tickets.h"

/* Every ticket record of s, in id order. */
typedef struct lc_all {
    Helpdesk__V1__Ticket **t; /* in the arena given to lc_read_all */
    size_t n;
} lc_all;

/* Whether ticket t answers query q (the test's own reading of the filters). */
typedef bool (*lc_want_fn)(const hd_tickets_query *q, const Helpdesk__V1__Ticket *t);

/* Reads every ticket record of s into a (at most max). Fails the test on error. */
lc_all lc_read_all(hd_store *s, hd_arena *a, size_t max);

/* Pages through q with page size 4 and fails the test (naming what) unless the pages hold
 * exactly the tickets of every that want selects, in q's sort order, with every page but
 * the last full. Returns how many tickets matched. */
size_t lc_check_query(hd_store *s, hd_arena *a, const lc_all *every, hd_tickets_query q,
                      lc_want_fn want, const char *what);

#endif
