/* Test fixture for the ticket domain and its handlers: a fresh store per test, requests
 * with sane defaults, and many creates submitted for group commit at once. */
#ifndef HD_TESTS_TICKETS_FIXTURE_H
#define HD_TESTS_TICKETS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/store/store.h"

/* Fails the test unless rc is 0, printing the expression, the code name and the detail. */
#define TF_ASSERT_OK(rc, err)                                                                      \
    do {                                                                                           \
        int rc_ = (rc);                                                                            \
        if (rc_ != 0)                                                                              \
            fail_msg("%s = %s (%s)", #rc, hd_errname(rc_), (err).detail);                          \
    } while (0)

/* Fails unless rc is want and err's detail contains part, printing both sides. */
#define TF_ASSERT_ERR(rc, want, err, part)                                                         \
    do {                                                                                           \
        int rc_ = (rc);                                                                            \
        if (rc_ != (want) || !strstr((err).detail, (part)))                                        \
            fail_msg("%s = %s (%s), want %s with \"%s\"", #rc, hd_errname(rc_), (err).detail,      \
                     hd_errname(want), (part));                                                    \
    } while (0)

/* The test clock's start: 2024-10-04 01:00 UTC. */
#define TF_T0 (20000 * 86400000LL + 3600000)

/* Per-test state of the store-backed suites: a fresh store and an arena. */
typedef struct tf_fx {
    hd_store *s;
    hd_arena *a;
} tf_fx;

/* cmocka setup: sets the test clock to TF_T0, opens a fresh store and an arena into *state
 * (a tf_fx *). Returns 0 or -1. */
int tf_setup(void **state);

/* cmocka teardown: closes and frees what tf_setup made, restores the real clock and clears
 * the ticket observers, the mention resolver, the outbox hook and the attachment checker.
 * Returns 0. */
int tf_teardown(void **state);

/* Returns an owned store (hd_store_close) opened with unsafe_nosync in a new directory under
 * $TEST_TMPDIR; fails the test on error. */
hd_store *tf_store_open(const char *tag);

/* Fills *req with a valid request: subject, body and customer_email as given (NULLs keep
 * "Printer on fire", "It is on fire." and "ada@example.com"). Strings are borrowed. */
void tf_request(Helpdesk__V1__CreateTicketRequest *req, const char *subject, const char *body,
                const char *email);

/* Creates n tickets for customer_email "bulk@example.com" with hd_store_submit (so they are
 * group-committed) and waits (bounded) for every acknowledgement; fails the test on any
 * error. ids (may be NULL, n entries) get the new ticket ids in submit order. */
void tf_create_many(hd_store *s, size_t n, uint64_t *ids);

/* Moves ticket id to status (rewrites the record and its IDX_STATUS entry), standing in for
 * the status transitions of a later step. Fails the test on error. */
void tf_set_status(hd_store *s, uint64_t id, Helpdesk__V1__TicketStatus status);

#endif
