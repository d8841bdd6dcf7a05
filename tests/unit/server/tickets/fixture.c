/* Ticket test fixture (see fixture.h). */
#include "tests/unit/server/tickets/fixture.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "server/clock/clock.h"
#include "server/common/arena.h"
#include "server/tickets/note.h"
#include "server/tickets/observer.h"
#include "server/tickets/outbox_hook.h"
#include "server/tickets/tickets.h"

int tf_setup(void **state)
{
    tf_fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    hd_clock_set_test_ms(TF_T0);
    f->s = tf_store_open("tickets");
    f->a = hd_arena_create(0);
    *state = f;
    return f->a ? 0 : -1;
}

int tf_teardown(void **state)
{
    tf_fx *f = *state;
    hd_store_close(f->s);
    hd_arena_destroy(f->a);
    free(f);
    hd_clock_set_test_ms(0);
    hd_tickets_observers_clear();
    hd_tickets_mentions_resolver(NULL, NULL);
    hd_tickets_outbox_set(NULL, NULL);
    hd_tickets_attach_check_set(NULL, NULL);
    return 0;
}

hd_store *tf_store_open(const char *tag)
{
    const char *base = getenv("TEST_TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%s-XXXXXX", base && base[0] ? base : "/tmp", tag);
    assert_non_null(mkdtemp(dir));
    hd_store_opts o = {.path = dir, .unsafe_nosync = 1};
    hd_store *s = NULL;
    hd_err err = {0};
    int rc = hd_store_open(&s, &o, &err);
    if (rc)
        fail_msg("hd_store_open(%s): %s %s", dir, hd_errname(rc), err.detail);
    return s;
}

void tf_request(Helpdesk__V1__CreateTicketRequest *req, const char *subject, const char *body,
                const char *email)
{
    helpdesk__v1__create_ticket_request__init(req);
    req->subject = (char *)(subject ? subject : "Printer on fire");
    req->body = (char *)(body ? body : "It is on fire.");
    req->customer_email = (char *)(email ? email : "ada@example.com");
}

typedef struct bulk {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t done;
    size_t failed;
    hd_err first_err;
} bulk;

/* args first: the same pointer is the apply's args and the done callback's item. */
typedef struct bulk_item {
    hd_tickets_create_args args;
    bulk *b;
} bulk_item;

static void bulk_done(void *arg, const hd_err *err)
{
    bulk_item *it = arg;
    pthread_mutex_lock(&it->b->mu);
    if (err->code < 0 && it->b->failed++ == 0)
        it->b->first_err = *err;
    it->b->done++;
    pthread_cond_signal(&it->b->cv);
    pthread_mutex_unlock(&it->b->mu);
}

void tf_create_many(hd_store *s, size_t n, uint64_t *ids)
{
    bulk b = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    hd_arena *a = hd_arena_create(1 << 16);
    Helpdesk__V1__CreateTicketRequest req;
    bulk_item *items = calloc(n, sizeof(*items));
    hd_err err = {0};
    assert_non_null(a);
    assert_non_null(items);
    tf_request(&req, "Bulk", "Bulk body", "bulk@example.com");
    for (size_t i = 0; i < n; i++) {
        items[i].b = &b;
        int rc = hd_tickets_create_prepare(&items[i].args, a, &req, NULL, NULL, &err);
        if (rc)
            fail_msg("prepare: %s %s", hd_errname(rc), err.detail);
    }
    /* The writer thread allocates results from a from now on: no more use of a here. */
    for (size_t i = 0; i < n; i++) {
        int rc = hd_store_submit(s, hd_tickets_create_apply, bulk_done, &items[i], &err);
        if (rc)
            fail_msg("submit: %s %s", hd_errname(rc), err.detail);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 120;
    pthread_mutex_lock(&b.mu);
    while (b.done < n) {
        if (pthread_cond_timedwait(&b.cv, &b.mu, &until) == ETIMEDOUT)
            break;
    }
    size_t done = b.done;
    pthread_mutex_unlock(&b.mu);
    if (done < n)
        fail_msg("only %zu of %zu creates acknowledged within 120 s", done, n);
    if (b.failed)
        fail_msg("%zu creates failed, first: %s %s", b.failed, hd_errname(b.first_err.code),
                 b.first_err.detail);
    for (size_t i = 0; ids && i < n; i++)
        ids[i] = items[i].args.ticket->id;
    free(items);
    hd_arena_destroy(a);
}

typedef struct status_arg {
    uint64_t id;
    Helpdesk__V1__TicketStatus status;
    hd_arena *a;
} status_arg;

static int apply_status(hd_txn *txn, void *arg, hd_err *err)
{
    status_arg *sa = arg;
    hd_key k;
    ProtobufCMessage *m;
    int rc = hd_store_get_msg(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, sa->id),
                              &helpdesk__v1__ticket__descriptor, sa->a, &m, err);
    if (rc)
        return rc;
    Helpdesk__V1__Ticket *t = (Helpdesk__V1__Ticket *)m;
    rc = hd_store_del(txn, HD_STORE_IDX_STATUS,
                      hd_tickets_key_status(&k, t->status, t->priority, t->id), err);
    if (rc)
        return rc;
    t->status = sa->status;
    rc = hd_store_put(txn, HD_STORE_IDX_STATUS,
                      hd_tickets_key_status(&k, t->status, t->priority, t->id), "", 0, 0, err);
    if (rc)
        return rc;
    return hd_store_put_msg(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, t->id), &t->base, 0, err);
}

void tf_set_status(hd_store *s, uint64_t id, Helpdesk__V1__TicketStatus status)
{
    status_arg sa = {id, status, hd_arena_create(0)};
    hd_err err = {0};
    assert_non_null(sa.a);
    int rc = hd_store_write(s, apply_status, &sa, &err);
    if (rc)
        fail_msg("set status of %llu: %s %s", (unsigned long long)id, hd_errname(rc), err.detail);
    hd_arena_destroy(sa.a);
}
