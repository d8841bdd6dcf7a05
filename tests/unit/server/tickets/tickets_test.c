/* The ticket domain as a specification: create/get round trip, numbers, idempotency under
 * races, customers by email, every validation rule, paging, list cost, index consistency
 * and rollups. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/clock/clock.h"
#include "server/common/arena.h"
#include "server/rollup/rollup.h"
#include "server/tickets/observer.h"
#include "server/tickets/tickets.h"
#include "tests/unit/server/tickets/fixture.h"

#define assert_ok TF_ASSERT_OK

#define DAY_MS  86400000LL
#define T0      TF_T0
#define NEW     HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_NEW
#define OPEN    HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_OPEN
#define PENDING HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING

typedef tf_fx fx;

/* Creates one ticket from req; fails the test on error. Result borrowed from f->a. */
static Helpdesk__V1__Ticket *create(fx *f, const Helpdesk__V1__CreateTicketRequest *req,
                                    hd_tickets_create_args *args)
{
    hd_tickets_create_args local;
    hd_err err = {0};
    if (!args)
        args = &local;
    assert_ok(hd_tickets_create_prepare(args, f->a, req, NULL, NULL, &err), err);
    assert_ok(hd_tickets_create(f->s, args, &err), err);
    assert_non_null(args->ticket);
    return args->ticket;
}

static uint64_t table_count(fx *f, hd_table t)
{
    hd_txn *txn;
    hd_err err = {0};
    uint64_t n = 0;
    assert_ok(hd_store_read_begin(f->s, &txn, &err), err);
    assert_ok(hd_store_count(txn, t, &n, &err), err);
    hd_store_read_end(txn);
    return n;
}

/* ---- create and get ---- */

static void create_then_get_returns_ticket_first_message_and_created_event(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    char *tags[] = {(char *)"billing", (char *)"vip", (char *)"billing"};
    Helpdesk__V1__CustomField cf = HELPDESK__V1__CUSTOM_FIELD__INIT;
    Helpdesk__V1__CustomField *cfs[] = {&cf};
    cf.key = (char *)"order_id";
    cf.value = (char *)"A-17";
    tf_request(&req, "Invoice wrong", "Charged twice — please fix.", NULL);
    req.priority = HELPDESK__V1__PRIORITY__PRIORITY_HIGH;
    req.category = (char *)"billing";
    req.n_tags = 3;
    req.tags = tags;
    req.n_custom_fields = 1;
    req.custom_fields = cfs;
    hd_tickets_actor actor = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, 7};
    hd_tickets_create_args args;
    hd_err err = {0};
    assert_ok(hd_tickets_create_prepare(&args, f->a, &req, NULL, &actor, &err), err);
    assert_ok(hd_tickets_create(f->s, &args, &err), err);
    Helpdesk__V1__Ticket *t = args.ticket;
    assert_int_equal(t->id, 1);
    assert_string_equal(t->number, "TKT-000001");
    assert_int_equal(t->status, NEW);
    assert_int_equal(t->channel, HELPDESK__V1__CHANNEL__CHANNEL_API);
    assert_int_equal(t->n_tags, 2); /* duplicate dropped */
    assert_true(args.customer_created);

    hd_tickets_thread th;
    assert_ok(hd_tickets_get(f->s, f->a, t->id, NULL, &th, &err), err);
    assert_string_equal(th.ticket->subject, "Invoice wrong");
    assert_int_equal(th.ticket->priority, HELPDESK__V1__PRIORITY__PRIORITY_HIGH);
    assert_string_equal(th.ticket->category, "billing");
    assert_int_equal(th.ticket->n_tags, 2);
    assert_string_equal(th.ticket->tags[0], "billing");
    assert_string_equal(th.ticket->tags[1], "vip");
    assert_int_equal(th.ticket->n_custom_fields, 1);
    assert_string_equal(th.ticket->custom_fields[0]->value, "A-17");
    assert_int_equal(th.ticket->message_count, 1);
    assert_int_equal(th.ticket->create_time->seconds, T0 / 1000);
    assert_int_equal(th.ticket->update_time->seconds, T0 / 1000);
    assert_int_equal(th.n_messages, 1);
    assert_string_equal(th.messages[0]->body, "Charged twice — please fix.");
    assert_int_equal(th.messages[0]->ticket_id, t->id);
    assert_int_equal(th.messages[0]->author_kind, HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER);
    assert_int_equal(th.messages[0]->author_id, t->customer_id);
    assert_int_equal(th.n_events, 1);
    Helpdesk__V1__TicketEvent *ev = th.events[0];
    assert_int_equal(ev->kind, HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_CREATED);
    assert_int_equal(ev->ticket_id, t->id);
    assert_int_equal(ev->actor->kind, HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF);
    assert_int_equal(ev->actor->id, 7);
    assert_int_equal(ev->time->seconds, T0 / 1000);
    assert_int_equal(ev->n_changes, 3);
    assert_string_equal(ev->changes[0]->field, "status");
    assert_string_equal(ev->changes[0]->before, "");
    assert_string_equal(ev->changes[0]->after, "TICKET_STATUS_NEW");
}

static void get_by_number_ignores_case_and_unknown_ones_are_not_found(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_thread th;
    hd_err err = {0};
    tf_request(&req, NULL, NULL, NULL);
    create(f, &req, NULL);
    Helpdesk__V1__Ticket *t2 = create(f, &req, NULL);
    assert_ok(hd_tickets_get(f->s, f->a, 0, "TKT-000002", &th, &err), err);
    assert_int_equal(th.ticket->id, t2->id);
    assert_ok(hd_tickets_get(f->s, f->a, 0, "tkt-000002", &th, &err), err);
    assert_int_equal(th.ticket->id, t2->id);
    assert_int_equal(hd_tickets_get(f->s, f->a, 99, NULL, &th, &err), HD_ENOTFOUND);
    assert_string_equal(err.detail, "ticket 99: not found");
    assert_int_equal(hd_tickets_get(f->s, f->a, 0, "TKT-000099", &th, &err), HD_ENOTFOUND);
    assert_int_equal(hd_tickets_get(f->s, f->a, 0, NULL, &th, &err), HD_EINVAL);
    assert_int_equal(hd_tickets_get(f->s, f->a, 1, "TKT-000001", &th, &err), HD_EINVAL);
}

static void numbers_are_tkt_and_six_digits_and_unique(void **state)
{
    fx *f = *state;
    uint64_t ids[30];
    tf_create_many(f->s, 30, ids);
    char buf[24];
    assert_string_equal(hd_tickets_number(buf, sizeof(buf), 42), "TKT-000042");
    assert_string_equal(hd_tickets_number(buf, sizeof(buf), 1234567), "TKT-1234567");
    for (size_t i = 0; i < 30; i++) {
        hd_tickets_thread th;
        hd_err err = {0};
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(ids[i], ids[j]);
        assert_ok(hd_tickets_get(f->s, f->a, ids[i], NULL, &th, &err), err);
        assert_string_equal(th.ticket->number, hd_tickets_number(buf, sizeof(buf), ids[i]));
        assert_int_equal(strlen(th.ticket->number), 10);
    }
    assert_int_equal(table_count(f, HD_STORE_IDX_NUMBER), 30);
}

/* ---- idempotency ---- */

static void retry_with_same_request_id_returns_the_first_ticket(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args a1, a2;
    tf_request(&req, NULL, NULL, NULL);
    req.request_id = (char *)"req-1";
    create(f, &req, &a1);
    hd_clock_advance_ms(5000);
    create(f, &req, &a2);
    assert_false(a1.replayed);
    assert_true(a2.replayed);
    assert_int_equal(a2.ticket->id, a1.ticket->id);
    assert_string_equal(a2.ticket->number, a1.ticket->number);
    assert_int_equal(a2.ticket->create_time->seconds, T0 / 1000);
    req.request_id = (char *)"req-2";
    Helpdesk__V1__Ticket *t3 = create(f, &req, NULL);
    assert_int_not_equal(t3->id, a1.ticket->id);
    assert_int_equal(table_count(f, HD_STORE_TICKETS), 2);
    assert_int_equal(table_count(f, HD_STORE_MESSAGES), 2);
    assert_int_equal(table_count(f, HD_STORE_EVENTS), 2);
}

typedef struct racer {
    hd_store *s;
    pthread_barrier_t *go;
    uint64_t id;
    int rc;
    hd_err err;
} racer;

static void *race(void *p)
{
    racer *r = p;
    hd_arena *a = hd_arena_create(0);
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args args;
    tf_request(&req, NULL, NULL, NULL);
    req.request_id = (char *)"same-id";
    r->rc = a ? hd_tickets_create_prepare(&args, a, &req, NULL, NULL, &r->err) : HD_ENOMEM;
    pthread_barrier_wait(r->go);
    if (r->rc == 0)
        r->rc = hd_tickets_create(r->s, &args, &r->err);
    if (r->rc == 0)
        r->id = args.ticket->id;
    hd_arena_destroy(a);
    return NULL;
}

static void eight_concurrent_creates_with_one_request_id_make_one_ticket(void **state)
{
    fx *f = *state;
    enum { N = 8 };
    pthread_t th[N];
    racer r[N];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    for (int i = 0; i < N; i++) {
        r[i] = (racer){.s = f->s, .go = &go};
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < N; i++) {
        assert_ok(r[i].rc, r[i].err);
        assert_int_equal(r[i].id, r[0].id);
    }
    assert_int_equal(table_count(f, HD_STORE_TICKETS), 1);
    assert_int_equal(table_count(f, HD_STORE_CUSTOMERS), 1);
    assert_int_equal(table_count(f, HD_STORE_IDEMPOTENCY), 1);
}

/* The same race inside one group-commit batch: eight submits before any acknowledgement. */
typedef struct batch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int failed;
} batch;

/* args first: the same pointer is the apply's args and the done callback's item. */
typedef struct batch_item {
    hd_tickets_create_args args;
    batch *b;
    hd_arena *a;
    hd_err err; /* the acknowledgement's */
} batch_item;

static void batch_done(void *arg, const hd_err *err)
{
    batch_item *it = arg;
    pthread_mutex_lock(&it->b->mu);
    it->err = *err;
    it->b->failed += err->code < 0;
    it->b->done++;
    pthread_cond_signal(&it->b->cv);
    pthread_mutex_unlock(&it->b->mu);
}

static void one_request_id_submitted_eight_times_in_one_batch_makes_one_ticket(void **state)
{
    fx *f = *state;
    enum { N = 8 };
    batch b = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    batch_item it[N];
    Helpdesk__V1__CreateTicketRequest req;
    hd_err err = {0};
    tf_request(&req, NULL, NULL, "Batch@Example.com");
    req.request_id = (char *)"batched";
    for (int i = 0; i < N; i++) {
        it[i].b = &b;
        it[i].a = hd_arena_create(0);
        assert_non_null(it[i].a);
        assert_ok(hd_tickets_create_prepare(&it[i].args, it[i].a, &req, NULL, NULL, &err), err);
    }
    for (int i = 0; i < N; i++)
        assert_ok(hd_store_submit(f->s, hd_tickets_create_apply, batch_done, &it[i], &err), err);
    pthread_mutex_lock(&b.mu);
    for (int spins = 0; b.done < N && spins < 1000; spins++)
        pthread_cond_wait(&b.cv, &b.mu);
    pthread_mutex_unlock(&b.mu);
    assert_int_equal(b.done, N);
    assert_int_equal(b.failed, 0);
    int replayed = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(it[i].args.ticket->id, it[0].args.ticket->id);
        replayed += it[i].args.replayed;
    }
    for (int i = 0; i < N; i++)
        hd_arena_destroy(it[i].a);
    assert_int_equal(replayed, N - 1);
    assert_int_equal(table_count(f, HD_STORE_TICKETS), 1);
}

/* ---- idempotency: a reused request id is not a retry ---- */

#define REUSED(rid)                                                                                \
    "request_id \"" rid "\": already used for another ticket; a new ticket needs a new id"

/* Prepares req as actor (NULL = SYSTEM) and runs the create; returns its code. */
static int try_create(fx *f, const Helpdesk__V1__CreateTicketRequest *req,
                      const hd_tickets_actor *actor, hd_tickets_create_args *args, hd_err *err)
{
    assert_ok(hd_tickets_create_prepare(args, f->a, req, NULL, actor, err), *err);
    return hd_tickets_create(f->s, args, err);
}

static void
retry_with_the_same_content_as_validated_replays_even_if_spelled_differently(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args a1, a2;
    hd_err err = {0};
    char *tags[] = {(char *)"vip", (char *)"billing"};
    char *tags_again[] = {(char *)"vip", (char *)"billing", (char *)"vip"};
    tf_request(&req, NULL, NULL, "Ada@Example.com");
    req.request_id = (char *)"spelled";
    req.n_tags = 2;
    req.tags = tags;
    create(f, &req, &a1);
    /* Later, the email in another case, a duplicated tag, the default priority spelled out:
     * the same request once validated. */
    hd_clock_advance_ms(60000);
    req.customer_email = (char *)"ada@example.com";
    req.n_tags = 3;
    req.tags = tags_again;
    req.priority = HELPDESK__V1__PRIORITY__PRIORITY_NORMAL;
    assert_ok(try_create(f, &req, NULL, &a2, &err), err);
    assert_true(a2.replayed);
    assert_int_equal(a2.ticket->id, a1.ticket->id);
    assert_int_equal(a2.committed.n, 0);
    assert_memory_equal(a1.fingerprint, a2.fingerprint, HD_TICKETS_FINGERPRINT_BYTES);
    assert_int_equal(table_count(f, HD_STORE_TICKETS), 1);
    assert_int_equal(table_count(f, HD_STORE_MESSAGES), 1);
    assert_int_equal(table_count(f, HD_STORE_EVENTS), 1);
}

/* One change to the request (or who sends it) that makes it another ticket. */
typedef struct reuse_case {
    const char *name;
    void (*mutate)(Helpdesk__V1__CreateTicketRequest *req, hd_tickets_actor *actor);
} reuse_case;

static Google__Protobuf__Timestamp reuse_ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
static Helpdesk__V1__CustomField reuse_cf = HELPDESK__V1__CUSTOM_FIELD__INIT;
static Helpdesk__V1__CustomField *reuse_cfs[] = {&reuse_cf};
static char *other_tags[] = {(char *)"other"};

static void change_subject(Helpdesk__V1__CreateTicketRequest *r, hd_tickets_actor *a)
{
    (void)a;
    r->subject = (char *)"Printer on fire again";
}
static void change_body(Helpdesk__V1__CreateTicketRequest *r, hd_tickets_actor *a)
{
    (void)a;
    r->body = (char *)"It is on fire!";
}
static void change_email(Helpdesk__V1__CreateTicketRequest *r, hd_tickets_actor *a)
{
    (void)a;
    r->customer_email = (char *)"grace@example.com";
}
static void change_customer_id(Helpdesk__V1__CreateTicketRequest *r, hd_tickets_actor *a)
{
    (void)a;
    r->customer_email = (char *)"";
    r->customer_id = 1;
}
static void change_name(Helpdesk__V1__CreateTicketRequest *r, hd_tickets_actor *a)
{
    (void)a;
    r->customer_name = (char *)"Ada L.";
}
static void change_priority(Helpdesk__V1__CreateTicketRequest *r, hd_tickets_actor *a)
{
    (void)a;
    r->priority = HELPDESK__V1__PRIORITY__PRIORITY_URGENT;
}
static void change_channel(Helpdesk__V1__CreateTicketRequest *r, hd_tickets_actor *a)
{
    (void)a;
    r->channel = HELPDESK__V1__CHANNEL__CHANNEL_PHONE;
}
static void change_category(Helpdesk__V1__CreateTicketRequest *r, hd_tickets_actor *a)
{
    (void)a;
    r->category = (char *)"billing";
}
static void change_tags(Helpdesk__V1__CreateTicketRequest *r, hd_tickets_actor *a)
{
    (void)a;
    r->n_tags = 1;
    r->tags = other_tags;
}
static void change_field(Helpdesk__V1__CreateTicketRequest *r, hd_tickets_actor *a)
{
    (void)a;
    reuse_cf.key = (char *)"order_id";
    reuse_cf.value = (char *)"A-18";
    r->n_custom_fields = 1;
    r->custom_fields = reuse_cfs;
}
static void change_group(Helpdesk__V1__CreateTicketRequest *r, hd_tickets_actor *a)
{
    (void)a;
    r->group_id = 3;
}
static void change_create_time(Helpdesk__V1__CreateTicketRequest *r, hd_tickets_actor *a)
{
    (void)a;
    reuse_ts.seconds = T0 / 1000 - 86400;
    r->create_time = &reuse_ts;
}
static void change_caller(Helpdesk__V1__CreateTicketRequest *r, hd_tickets_actor *a)
{
    (void)r;
    a->id = 8; /* another staff member */
}
static void change_caller_kind(Helpdesk__V1__CreateTicketRequest *r, hd_tickets_actor *a)
{
    (void)r;
    a->kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SERVICE; /* same number, a service */
}

static void request_id_reused_for_another_ticket_is_invalid_and_writes_nothing(void **state)
{
    fx *f = *state;
    static const reuse_case cases[] = {
        {"subject", change_subject},
        {"body", change_body},
        {"customer_email", change_email},
        {"customer_id", change_customer_id},
        {"customer_name", change_name},
        {"priority", change_priority},
        {"channel", change_channel},
        {"category", change_category},
        {"tags", change_tags},
        {"custom_fields", change_field},
        {"group_id", change_group},
        {"create_time", change_create_time},
        {"caller", change_caller},
        {"caller kind", change_caller_kind},
    };
    const hd_tickets_actor staff7 = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, 7};
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args first, args;
    hd_err err = {0};
    tf_request(&req, NULL, NULL, NULL);
    req.request_id = (char *)"rid-7";
    assert_ok(try_create(f, &req, &staff7, &first, &err), err);
    assert_false(first.replayed);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        Helpdesk__V1__CreateTicketRequest other = req;
        hd_tickets_actor actor = staff7;
        cases[i].mutate(&other, &actor);
        int rc = try_create(f, &other, &actor, &args, &err);
        if (rc != HD_EINVAL || strcmp(err.detail, REUSED("rid-7")) != 0)
            fail_msg("%s changed: %s (%s), want HD_EINVAL (%s)", cases[i].name, hd_errname(rc),
                     err.detail, REUSED("rid-7"));
        assert_null(args.ticket);
        assert_false(args.replayed);
        assert_int_equal(args.committed.n, 0);
    }
    assert_int_equal(table_count(f, HD_STORE_TICKETS), 1);
    assert_int_equal(table_count(f, HD_STORE_MESSAGES), 1);
    assert_int_equal(table_count(f, HD_STORE_EVENTS), 1);
    assert_int_equal(table_count(f, HD_STORE_CUSTOMERS), 1);
    assert_int_equal(table_count(f, HD_STORE_IDEMPOTENCY), 1);

    /* The refusals left the record as it was: the true retry still gets the first ticket. */
    assert_ok(try_create(f, &req, &staff7, &args, &err), err);
    assert_true(args.replayed);
    assert_int_equal(args.ticket->id, first.ticket->id);
    /* And another id with the refused content is a new ticket. */
    req.request_id = (char *)"rid-8";
    req.subject = (char *)"Printer on fire again";
    assert_ok(try_create(f, &req, &staff7, &args, &err), err);
    assert_false(args.replayed);
    assert_int_not_equal(args.ticket->id, first.ticket->id);
}

/* Writes value (len bytes) under CreateTicket's request id rid, as another binary would. */
typedef struct raw_idem {
    const char *rid;
    const void *val;
    size_t len;
} raw_idem;

static int put_raw_idem(hd_txn *txn, void *arg, hd_err *err)
{
    raw_idem *r = arg;
    hd_key k;
    return hd_store_put(txn, HD_STORE_IDEMPOTENCY,
                        hd_tickets_key_idem(&k, HD_TICKETS_IDEM_CREATE, r->rid), r->val, r->len,
                        HD_STORE_NOOVERWRITE, err);
}

static void record_without_fingerprint_from_an_older_store_still_replays(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args args;
    hd_err err = {0};
    tf_request(&req, NULL, NULL, NULL);
    Helpdesk__V1__Ticket *old = create(f, &req, NULL);
    unsigned char id8[8] = {0, 0, 0, 0, 0, 0, 0, (unsigned char)old->id};
    raw_idem legacy = {"before-upgrade", id8, sizeof(id8)};
    assert_int_equal(old->id, 1);
    assert_ok(hd_store_write(f->s, put_raw_idem, &legacy, &err), err);

    /* Nothing to compare against: any content replays, as before fingerprints. */
    req.request_id = (char *)"before-upgrade";
    req.subject = (char *)"Whatever the retry says";
    assert_ok(try_create(f, &req, NULL, &args, &err), err);
    assert_true(args.replayed);
    assert_int_equal(args.ticket->id, old->id);
    assert_string_equal(args.ticket->subject, "Printer on fire");
    assert_int_equal(table_count(f, HD_STORE_TICKETS), 1);

    /* Any other length is corrupt, named by its request id. */
    unsigned char odd[16] = {0};
    raw_idem bad = {"torn", odd, sizeof(odd)};
    assert_ok(hd_store_write(f->s, put_raw_idem, &bad, &err), err);
    req.request_id = (char *)"torn";
    TF_ASSERT_ERR(try_create(f, &req, NULL, &args, &err), HD_ECORRUPT, err,
                  "request_id \"torn\": value of 16 bytes, want 8 or 40");
    assert_int_equal(table_count(f, HD_STORE_TICKETS), 1);
}

static void
one_request_id_with_two_contents_in_one_batch_creates_once_and_refuses_the_other(void **state)
{
    fx *f = *state;
    enum { N = 6 };
    batch b = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    batch_item it[N];
    Helpdesk__V1__CreateTicketRequest req, other;
    hd_err err = {0};
    tf_request(&req, NULL, NULL, NULL);
    req.request_id = (char *)"batched-two";
    other = req;
    other.body = (char *)"Not the same message";
    for (int i = 0; i < N; i++) {
        it[i].b = &b;
        it[i].a = hd_arena_create(0);
        assert_non_null(it[i].a);
        assert_ok(hd_tickets_create_prepare(&it[i].args, it[i].a, i % 2 ? &other : &req, NULL, NULL,
                                            &err),
                  err);
    }
    for (int i = 0; i < N; i++)
        assert_ok(hd_store_submit(f->s, hd_tickets_create_apply, batch_done, &it[i], &err), err);
    pthread_mutex_lock(&b.mu);
    for (int spins = 0; b.done < N && spins < 1000; spins++)
        pthread_cond_wait(&b.cv, &b.mu);
    pthread_mutex_unlock(&b.mu);
    assert_int_equal(b.done, N);
    for (int i = 0; i < N; i++) {
        if (i % 2) {
            TF_ASSERT_ERR(it[i].err.code, HD_EINVAL, it[i].err, REUSED("batched-two"));
        } else {
            TF_ASSERT_OK(it[i].err.code, it[i].err);
            assert_int_equal(it[i].args.ticket->id, it[0].args.ticket->id);
            assert_int_equal(it[i].args.replayed, i != 0);
        }
    }
    for (int i = 0; i < N; i++)
        hd_arena_destroy(it[i].a);
    assert_int_equal(b.failed, N / 2);
    assert_int_equal(table_count(f, HD_STORE_TICKETS), 1);
    assert_int_equal(table_count(f, HD_STORE_MESSAGES), 1);
}

/* ---- customers ---- */

static void customer_is_created_on_first_sight_and_reused_ignoring_case(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args a1, a2, a3;
    tf_request(&req, NULL, NULL, "Grace.Hopper@Navy.MIL");
    req.customer_name = (char *)"Grace Hopper";
    create(f, &req, &a1);
    req.customer_email = (char *)"grace.hopper@navy.mil";
    create(f, &req, &a2);
    req.customer_email = (char *)"other@navy.mil";
    create(f, &req, &a3);
    assert_true(a1.customer_created);
    assert_false(a2.customer_created);
    assert_true(a3.customer_created);
    assert_int_equal(a1.ticket->customer_id, a2.ticket->customer_id);
    assert_int_not_equal(a1.ticket->customer_id, a3.ticket->customer_id);

    hd_txn *txn;
    hd_err err = {0};
    hd_key k;
    ProtobufCMessage *m;
    assert_ok(hd_store_read_begin(f->s, &txn, &err), err);
    assert_ok(hd_store_get_msg(txn, HD_STORE_CUSTOMERS,
                               hd_tickets_key_id(&k, a1.ticket->customer_id),
                               &helpdesk__v1__customer__descriptor, f->a, &m, &err),
              err);
    hd_store_read_end(txn);
    Helpdesk__V1__Customer *c = (Helpdesk__V1__Customer *)m;
    assert_string_equal(c->email, "grace.hopper@navy.mil");
    assert_string_equal(c->name, "Grace Hopper");
    assert_int_equal(c->create_time->seconds, T0 / 1000);
    assert_int_equal(table_count(f, HD_STORE_CUSTOMERS), 2);
    assert_int_equal(table_count(f, HD_STORE_IDX_EMAIL), 2);

    /* By id: the customer created above is accepted. */
    helpdesk__v1__create_ticket_request__init(&req);
    req.subject = (char *)"By id";
    req.body = (char *)"x";
    req.customer_id = a1.ticket->customer_id;
    assert_int_equal(create(f, &req, NULL)->customer_id, a1.ticket->customer_id);
}

static void unknown_customer_id_is_not_found_naming_the_field(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args args;
    hd_err err = {0};
    tf_request(&req, NULL, NULL, "");
    req.customer_id = 42;
    assert_ok(hd_tickets_create_prepare(&args, f->a, &req, NULL, NULL, &err), err);
    assert_int_equal(hd_tickets_create(f->s, &args, &err), HD_ENOTFOUND);
    assert_string_equal(err.detail, "customer_id: no customer 42");
    assert_int_equal(table_count(f, HD_STORE_TICKETS), 0);
}

/* ---- validation ---- */

typedef struct bad_case {
    const char *name;
    void (*mutate)(Helpdesk__V1__CreateTicketRequest *req, char *buf);
    const char *detail_prefix;
} bad_case;

#define BIG (1100 * 1024)

static void m_subject_empty(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->subject = (char *)"";
}
static void m_subject_long(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    memset(b, 'x', 999);
    b[999] = 0;
    r->subject = b;
}
static void m_subject_crlf(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->subject = (char *)"Hello\r\nBcc: x@y.z";
}
static void m_subject_utf8(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->subject = (char *)"bad \xC3\x28 byte";
}
static void m_body_empty(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->body = (char *)"";
}
static void m_body_long(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    memset(b, 'y', (1u << 20) + 1);
    b[(1u << 20) + 1] = 0;
    r->body = b;
}
static void m_body_utf8(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->body = (char *)"surrogate \xED\xA0\x80";
}
static void m_reqid_long(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    memset(b, 'r', 129);
    b[129] = 0;
    r->request_id = b;
}
static void m_reqid_ctrl(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->request_id = (char *)"abc\x01";
}
static void m_email_bad(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->customer_email = (char *)"not-an-address";
}
static void m_email_space(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->customer_email = (char *)"a b@example.com";
}
static void m_email_crlf(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->customer_email = (char *)"a@example.com\r\nRCPT TO:<x@y.z>";
}
static void m_email_long(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    memset(b, 'e', 251);
    b[20] = '@';
    memcpy(b + 251, ".com", 5); /* 255 bytes */
    r->customer_email = b;
}
static void m_no_customer(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->customer_email = (char *)"";
}
static void m_both_customers(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->customer_id = 3;
}
static void m_category_long(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    memset(b, 'c', 65);
    b[65] = 0;
    r->category = b;
}
static char *many_tags[33];
static void m_tags_many(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    for (int i = 0; i < 33; i++) {
        snprintf(b + i * 16, 16, "t%d", i);
        many_tags[i] = b + i * 16;
    }
    r->n_tags = 33;
    r->tags = many_tags;
}
static char *bad_tag[] = {(char *)"ok", (char *)"Not-Lower"};
static void m_tag_chars(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->n_tags = 2;
    r->tags = bad_tag;
}
static char *empty_tag[] = {(char *)""};
static void m_tag_empty(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->n_tags = 1;
    r->tags = empty_tag;
}
static char *long_tag[1];
static void m_tag_long(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    memset(b, 't', 65);
    b[65] = 0;
    long_tag[0] = b;
    r->n_tags = 1;
    r->tags = long_tag;
}
static Helpdesk__V1__CustomField cf_store[65];
static Helpdesk__V1__CustomField *cf_ptrs[65];
static void set_fields(Helpdesk__V1__CreateTicketRequest *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        helpdesk__v1__custom_field__init(&cf_store[i]);
        cf_ptrs[i] = &cf_store[i];
    }
    r->n_custom_fields = n;
    r->custom_fields = cf_ptrs;
}
static void m_fields_many(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    set_fields(r, 65);
    for (int i = 0; i < 65; i++) {
        snprintf(b + i * 16, 16, "k%d", i);
        cf_store[i].key = b + i * 16;
    }
}
static void m_field_key(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    set_fields(r, 1);
    cf_store[0].key = (char *)"Bad-Key";
}
static void m_field_dup(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    set_fields(r, 2);
    cf_store[0].key = (char *)"k";
    cf_store[1].key = (char *)"k";
}
static void m_field_value_long(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    set_fields(r, 1);
    cf_store[0].key = (char *)"k";
    memset(b, 'v', 1025);
    b[1025] = 0;
    cf_store[0].value = b;
}
static void m_field_value_utf8(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    set_fields(r, 1);
    cf_store[0].key = (char *)"k";
    cf_store[0].value = (char *)"\xFF";
}
static void m_priority(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->priority = (Helpdesk__V1__Priority)9;
}
static void m_channel(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->channel = (Helpdesk__V1__Channel)-1;
}
static void m_name_crlf(Helpdesk__V1__CreateTicketRequest *r, char *b)
{
    (void)b;
    r->customer_name = (char *)"Eve\nInjected";
}

static const bad_case bad_cases[] = {
    {"empty subject", m_subject_empty, "subject: required"},
    {"subject of 999 chars", m_subject_long, "subject: longer than 998 characters"},
    {"subject with CRLF", m_subject_crlf, "subject: must not contain CR or LF"},
    {"subject bad UTF-8", m_subject_utf8, "subject: not valid UTF-8"},
    {"empty body", m_body_empty, "body: required"},
    {"body over 1 MiB", m_body_long, "body: longer than 1048576 bytes"},
    {"body with surrogate", m_body_utf8, "body: not valid UTF-8"},
    {"request_id of 129", m_reqid_long, "request_id: longer than 128 characters"},
    {"request_id control char", m_reqid_ctrl, "request_id: must be printable ASCII"},
    {"email without @", m_email_bad, "customer_email: not a valid email address"},
    {"email with space", m_email_space, "customer_email: not a valid email address"},
    {"email with CRLF", m_email_crlf, "customer_email: not a valid email address"},
    {"email of 254+", m_email_long, "customer_email: longer than 254 characters"},
    {"no customer", m_no_customer, "customer_id: customer_id or customer_email is required"},
    {"both customers", m_both_customers, "customer_id: set either"},
    {"customer_name with LF", m_name_crlf, "customer_name: must not contain CR or LF"},
    {"category of 65", m_category_long, "category: longer than 64 characters"},
    {"33 tags", m_tags_many, "tags: more than 32 tags"},
    {"tag with capitals", m_tag_chars, "tags[1]: must be 1-64 characters of [a-z0-9_-]"},
    {"empty tag", m_tag_empty, "tags[0]: must be"},
    {"tag of 65", m_tag_long, "tags[0]: must be"},
    {"65 custom fields", m_fields_many, "custom_fields: more than 64 fields"},
    {"custom field key chars", m_field_key, "custom_fields[0].key: must be 1-64"},
    {"duplicate custom field", m_field_dup, "custom_fields[1].key: duplicate \"k\""},
    {"custom value of 1025", m_field_value_long, "custom_fields[0].value: longer than 1024"},
    {"custom value bad UTF-8", m_field_value_utf8, "custom_fields[0].value: not valid UTF-8"},
    {"priority 9", m_priority, "priority: unknown value 9"},
    {"channel -1", m_channel, "channel: unknown value -1"},
};

static void every_validation_rule_rejects_with_the_field_named(void **state)
{
    fx *f = *state;
    char *buf = malloc(BIG);
    assert_non_null(buf);
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        Helpdesk__V1__CreateTicketRequest req;
        hd_tickets_create_args args;
        hd_err err = {0};
        tf_request(&req, NULL, NULL, NULL);
        bad_cases[i].mutate(&req, buf);
        int rc = hd_tickets_create_prepare(&args, f->a, &req, NULL, NULL, &err);
        if (rc != HD_EINVAL)
            fail_msg("case \"%s\": rc %s (%s), want HD_EINVAL", bad_cases[i].name, hd_errname(rc),
                     err.detail);
        if (strncmp(err.detail, bad_cases[i].detail_prefix, strlen(bad_cases[i].detail_prefix)))
            fail_msg("case \"%s\": detail \"%s\", want prefix \"%s\"", bad_cases[i].name,
                     err.detail, bad_cases[i].detail_prefix);
    }
    free(buf);
}

static void limits_at_the_boundary_are_accepted_and_body_limit_is_configurable(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args args;
    hd_err err = {0};
    char subject[998 * 2 + 1];
    /* 998 two-byte characters: the limit counts characters, not bytes. */
    for (int i = 0; i < 998; i++)
        memcpy(subject + 2 * i, "\xC3\xA9", 2);
    subject[998 * 2] = 0;
    char reqid[129];
    memset(reqid, '~', 128);
    reqid[128] = 0;
    tf_request(&req, subject, "0123456789", "UPPER@Example.ORG");
    req.request_id = reqid;
    assert_ok(hd_tickets_create_prepare(&args, f->a, &req, NULL, NULL, &err), err);
    assert_string_equal(args.customer_email, "upper@example.org");
    hd_tickets_limits lim = {.body_max = 9};
    assert_int_equal(hd_tickets_create_prepare(&args, f->a, &req, &lim, NULL, &err), HD_EINVAL);
    assert_string_equal(err.detail, "body: longer than 9 bytes");
    lim.body_max = 10;
    assert_ok(hd_tickets_create_prepare(&args, f->a, &req, &lim, NULL, &err), err);
}

/* ---- list ---- */

static void collect_pages(fx *f, Helpdesk__V1__TicketStatus status, int page_size, uint64_t *seen,
                          size_t cap, size_t *sizes, size_t *npages)
{
    hd_tickets_query q = {.status = status, .page_size = page_size, .page_token = ""};
    size_t n = 0;
    *npages = 0;
    for (int guard = 0; guard < 100; guard++) {
        hd_tickets_page p;
        hd_err err = {0};
        assert_ok(hd_tickets_list(f->s, f->a, &q, &p, &err), err);
        sizes[(*npages)++] = p.n_tickets;
        for (size_t i = 0; i < p.n_tickets; i++) {
            assert_true(n < cap);
            if (status)
                assert_int_equal(p.tickets[i]->status, status);
            seen[n++] = p.tickets[i]->id;
        }
        if (!p.next_page_token[0])
            return;
        q.page_token = p.next_page_token;
    }
    fail_msg("paging did not end within 100 pages");
}

static void list_pages_120_tickets_as_50_50_20_newest_first_without_gaps(void **state)
{
    fx *f = *state;
    uint64_t seen[200];
    size_t sizes[10], npages;
    tf_create_many(f->s, 120, NULL);
    collect_pages(f, 0, 50, seen, 200, sizes, &npages);
    assert_int_equal(npages, 3);
    assert_int_equal(sizes[0], 50);
    assert_int_equal(sizes[1], 50);
    assert_int_equal(sizes[2], 20);
    for (size_t i = 0; i < 120; i++)
        assert_int_equal(seen[i], 120 - i); /* newest first, each exactly once */
}

static int cmp_desc(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? 1 : a > b ? -1 : 0;
}

static void list_by_status_pages_only_matching_tickets_across_priorities(void **state)
{
    fx *f = *state;
    uint64_t ids[150];
    uint64_t seen[200];
    size_t sizes[10], npages;
    tf_create_many(f->s, 150, ids);
    /* Mixed priorities inside one status must still come back newest first. */
    Helpdesk__V1__CreateTicketRequest req;
    tf_request(&req, NULL, NULL, NULL);
    req.priority = HELPDESK__V1__PRIORITY__PRIORITY_URGENT;
    create(f, &req, NULL); /* id 151 */
    req.priority = HELPDESK__V1__PRIORITY__PRIORITY_LOW;
    create(f, &req, NULL); /* id 152 */
    for (size_t i = 0; i < 150; i += 3)
        tf_set_status(f->s, ids[i], PENDING); /* 50 pending: 1, 4, ..., 148 */

    collect_pages(f, PENDING, 20, seen, 200, sizes, &npages);
    assert_int_equal(npages, 3);
    assert_int_equal(sizes[0] + sizes[1] + sizes[2], 50);
    assert_int_equal(sizes[2], 10);
    uint64_t want[50];
    for (size_t i = 0; i < 50; i++)
        want[i] = ids[3 * i];
    qsort(want, 50, sizeof(want[0]), cmp_desc);
    for (size_t i = 0; i < 50; i++)
        assert_int_equal(seen[i], want[i]);

    collect_pages(f, NEW, 1000, seen, 200, sizes, &npages);
    assert_int_equal(npages, 1);
    assert_int_equal(sizes[0], 102);
    assert_int_equal(seen[0], 152);
    assert_int_equal(seen[1], 151);
    for (size_t i = 1; i < 102; i++)
        assert_true(seen[i] < seen[i - 1]);
}

static void list_with_a_rare_status_reads_only_its_index_entries(void **state)
{
    fx *f = *state;
    enum { N = 3000 };
    uint64_t *ids = calloc(N, sizeof(*ids));
    assert_non_null(ids);
    tf_create_many(f->s, N, ids);
    for (size_t i = 0; i < 5; i++)
        tf_set_status(f->s, ids[i * 600 + 17], OPEN);
    hd_tickets_query q = {.status = OPEN, .page_size = 50};
    hd_tickets_page p;
    hd_err err = {0};
    assert_ok(hd_tickets_list(f->s, f->a, &q, &p, &err), err);
    assert_int_equal(p.n_tickets, 5);
    assert_string_equal(p.next_page_token, "");
    /* 5 index entries + 5 records, nowhere near the 3000 tickets. */
    assert_int_equal(p.visited, 10);

    /* Unfiltered pages read page_size + 1 entries plus the records, whatever the total. */
    q.status = 0;
    q.page_size = 10;
    assert_ok(hd_tickets_list(f->s, f->a, &q, &p, &err), err);
    assert_int_equal(p.n_tickets, 10);
    assert_int_equal(p.visited, 21);
    assert_int_equal(p.tickets[0]->id, N);
    free(ids);
}

static void list_for_a_customer_returns_only_their_tickets_with_optional_status(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    uint64_t mine[10], cust = 0;
    for (int i = 0; i < 20; i++) {
        tf_request(&req, NULL, NULL, i % 2 ? "other@example.com" : "me@example.com");
        Helpdesk__V1__Ticket *t = create(f, &req, NULL);
        if (i % 2 == 0) {
            mine[i / 2] = t->id;
            cust = t->customer_id;
        }
    }
    tf_set_status(f->s, mine[1], OPEN);
    tf_set_status(f->s, mine[6], OPEN);
    tf_set_status(f->s, mine[8], OPEN);
    hd_tickets_query q = {.customer_id = cust, .page_size = 3};
    hd_err err = {0};
    size_t n = 0;
    for (int guard = 0; guard < 10; guard++) {
        hd_tickets_page p;
        assert_ok(hd_tickets_list(f->s, f->a, &q, &p, &err), err);
        assert_true(p.visited <= 2 * 4);
        for (size_t i = 0; i < p.n_tickets; i++, n++) {
            assert_int_equal(p.tickets[i]->customer_id, cust);
            assert_int_equal(p.tickets[i]->id, mine[9 - n]);
        }
        if (!p.next_page_token[0])
            break;
        q.page_token = p.next_page_token;
    }
    assert_int_equal(n, 10);

    q.status = OPEN;
    q.page_size = 2;
    q.page_token = NULL;
    hd_tickets_page p;
    assert_ok(hd_tickets_list(f->s, f->a, &q, &p, &err), err);
    assert_int_equal(p.n_tickets, 2);
    assert_int_equal(p.tickets[0]->id, mine[8]);
    assert_int_equal(p.tickets[1]->id, mine[6]);
    q.page_token = p.next_page_token;
    assert_ok(hd_tickets_list(f->s, f->a, &q, &p, &err), err);
    assert_int_equal(p.n_tickets, 1);
    assert_int_equal(p.tickets[0]->id, mine[1]);
    assert_string_equal(p.next_page_token, "");
}

static void bad_page_size_status_and_tokens_are_rejected(void **state)
{
    fx *f = *state;
    hd_tickets_page p;
    hd_err err = {0};
    tf_create_many(f->s, 3, NULL);
    hd_tickets_query q = {.page_size = 1};
    assert_ok(hd_tickets_list(f->s, f->a, &q, &p, &err), err);
    assert_string_not_equal(p.next_page_token, "");
    const char *tok = p.next_page_token;

    hd_tickets_query bad = {.page_size = -1};
    assert_int_equal(hd_tickets_list(f->s, f->a, &bad, &p, &err), HD_EINVAL);
    assert_string_equal(err.detail, "page_size: must be 0-1000");
    bad.page_size = 1001;
    assert_int_equal(hd_tickets_list(f->s, f->a, &bad, &p, &err), HD_EINVAL);
    bad.page_size = 0;
    bad.status = (Helpdesk__V1__TicketStatus)77;
    assert_int_equal(hd_tickets_list(f->s, f->a, &bad, &p, &err), HD_EINVAL);
    assert_string_equal(err.detail, "status: unknown value 77");
    bad.status = OPEN;
    bad.page_token = tok;
    assert_int_equal(hd_tickets_list(f->s, f->a, &bad, &p, &err), HD_EINVAL);
    assert_string_equal(err.detail, "page_token: issued for another filter or sort");
    bad.status = 0;
    bad.page_token = "garbage";
    assert_int_equal(hd_tickets_list(f->s, f->a, &bad, &p, &err), HD_EINVAL);
    assert_string_equal(err.detail, "page_token: malformed");
    bad.page_token = "t100000000000000000Z";
    assert_int_equal(hd_tickets_list(f->s, f->a, &bad, &p, &err), HD_EINVAL);
}

/* ---- indexes and rollups ---- */

typedef struct idx_check {
    fx *f;
    hd_txn *txn;
    hd_table t;
    size_t n;
} idx_check;

static Helpdesk__V1__Ticket *load(idx_check *c, uint64_t id)
{
    hd_key k;
    ProtobufCMessage *m;
    hd_err err = {0};
    int rc = hd_store_get_msg(c->txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, id),
                              &helpdesk__v1__ticket__descriptor, c->f->a, &m, &err);
    if (rc)
        fail_msg("%s entry names ticket %llu: %s", hd_store_table_name(c->t),
                 (unsigned long long)id, hd_errname(rc));
    return (Helpdesk__V1__Ticket *)m;
}

static int idx_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    idx_check *c = arg;
    hd_key_reader r;
    hd_err err = {0};
    uint64_t id = 0, u = 0;
    uint32_t st = 0, pr = 0;
    int64_t ms = 0;
    char *s = NULL;
    Helpdesk__V1__Ticket *t;
    hd_key_reader_init(&r, key, klen);
    c->n++;
    switch (c->t) {
    case HD_STORE_IDX_STATUS:
        assert_ok(hd_key_read_u32(&r, &st, &err), err);
        assert_ok(hd_key_read_u32(&r, &pr, &err), err);
        assert_ok(hd_key_read_u64(&r, &id, &err), err);
        t = load(c, id);
        assert_int_equal(t->status, st);
        assert_int_equal(t->priority, pr);
        break;
    case HD_STORE_IDX_CUSTOMER:
        assert_ok(hd_key_read_u64(&r, &u, &err), err);
        assert_ok(hd_key_read_u64(&r, &id, &err), err);
        assert_int_equal(load(c, id)->customer_id, u);
        break;
    case HD_STORE_IDX_TAG: {
        assert_ok(hd_key_read_str(&r, c->f->a, &s, NULL, &err), err);
        assert_ok(hd_key_read_u64(&r, &id, &err), err);
        t = load(c, id);
        int found = 0;
        for (size_t i = 0; i < t->n_tags; i++)
            found += strcmp(t->tags[i], s) == 0;
        assert_int_equal(found, 1);
        break;
    }
    case HD_STORE_IDX_UPDATED:
        assert_ok(hd_key_read_i64(&r, &ms, &err), err);
        assert_ok(hd_key_read_u64(&r, &id, &err), err);
        t = load(c, id);
        assert_int_equal(t->update_time->seconds * 1000 + t->update_time->nanos / 1000000, ms);
        break;
    case HD_STORE_IDX_NUMBER:
        assert_ok(hd_key_read_str(&r, c->f->a, &s, NULL, &err), err);
        assert_ok(hd_tickets_read_id(val, vlen, &id, &err), err);
        assert_string_equal(load(c, id)->number, s);
        break;
    default:
        fail_msg("unexpected table");
    }
    assert_int_equal(hd_key_reader_left(&r), 0);
    return 0;
}

static void every_index_entry_points_at_a_ticket_with_those_values(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    char *tags[] = {(char *)"a", (char *)"b-c"};
    const char *emails[] = {"x@example.com", "y@example.com", "z@example.com"};
    for (int i = 0; i < 12; i++) {
        tf_request(&req, NULL, NULL, emails[i % 3]);
        req.priority = (Helpdesk__V1__Priority)(i % 5);
        req.n_tags = (size_t)(i % 3);
        req.tags = tags;
        hd_clock_advance_ms(1001);
        create(f, &req, NULL);
    }
    tf_set_status(f->s, 5, OPEN);
    static const hd_table tables[] = {HD_STORE_IDX_STATUS, HD_STORE_IDX_CUSTOMER, HD_STORE_IDX_TAG,
                                      HD_STORE_IDX_UPDATED, HD_STORE_IDX_NUMBER};
    static const size_t want[] = {12, 12, 4 * 1 + 4 * 2, 12, 12};
    hd_err err = {0};
    for (size_t i = 0; i < 5; i++) {
        idx_check c = {f, NULL, tables[i], 0};
        assert_ok(hd_store_read_begin(f->s, &c.txn, &err), err);
        int64_t n = hd_store_scan(c.txn, tables[i], &(hd_store_range){0}, idx_cb, &c, &err);
        hd_store_read_end(c.txn);
        assert_true(n >= 0);
        if (c.n != want[i])
            fail_msg("%s: %zu entries, want %zu", hd_store_table_name(tables[i]), c.n, want[i]);
    }
}

static void rollups_count_creates_per_day_priority_and_status(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    tf_request(&req, NULL, NULL, NULL);
    create(f, &req, NULL);
    req.priority = HELPDESK__V1__PRIORITY__PRIORITY_URGENT;
    create(f, &req, NULL);
    hd_clock_advance_ms(DAY_MS);
    create(f, &req, NULL);

    uint32_t d0 = hd_rollup_day(T0), d1 = d0 + 1;
    uint64_t v;
    hd_txn *txn;
    hd_err err = {0};
    assert_int_equal(d0, 20000);
    assert_ok(hd_store_read_begin(f->s, &txn, &err), err);
#define ROLL(metric, day, dim, want)                                                               \
    do {                                                                                           \
        assert_ok(hd_rollup_get(txn, metric, day, dim, &v, &err), err);                            \
        assert_int_equal(v, want);                                                                 \
    } while (0)
    ROLL(HD_TICKETS_ROLLUP_CREATED, d0, 0, 2);
    ROLL(HD_TICKETS_ROLLUP_CREATED, d1, 0, 1);
    ROLL(HD_TICKETS_ROLLUP_CREATED, d1 + 1, 0, 0);
    ROLL(HD_TICKETS_ROLLUP_CREATED_BY_PRIORITY, d0, HELPDESK__V1__PRIORITY__PRIORITY_NORMAL, 1);
    ROLL(HD_TICKETS_ROLLUP_CREATED_BY_PRIORITY, d0, HELPDESK__V1__PRIORITY__PRIORITY_URGENT, 1);
    ROLL(HD_TICKETS_ROLLUP_CREATED_BY_CHANNEL, d1, HELPDESK__V1__CHANNEL__CHANNEL_API, 1);
    ROLL(HD_TICKETS_ROLLUP_STATUS_IN, d0, NEW, 2);
    ROLL(HD_TICKETS_ROLLUP_STATUS_NOW, HD_ROLLUP_NOW, NEW, 3);
#undef ROLL
    hd_store_read_end(txn);
}

static void failed_create_leaves_no_trace(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args args;
    hd_err err = {0};
    tf_request(&req, NULL, NULL, "");
    req.customer_id = 9;
    req.request_id = (char *)"will-fail";
    assert_ok(hd_tickets_create_prepare(&args, f->a, &req, NULL, NULL, &err), err);
    assert_int_equal(hd_tickets_create(f->s, &args, &err), HD_ENOTFOUND);
    for (int t = 0; t < HD_STORE_TABLE_COUNT; t++) {
        if (t == HD_STORE_META)
            continue;
        if (table_count(f, (hd_table)t) != 0)
            fail_msg("table %s not empty after a failed create", hd_store_table_name((hd_table)t));
    }
    /* The request id was not consumed: a corrected retry creates the ticket. */
    tf_request(&req, NULL, NULL, NULL);
    req.request_id = (char *)"will-fail";
    hd_tickets_create_args ok;
    create(f, &req, &ok);
    assert_false(ok.replayed);
}

/* ---- observers ---- */

typedef struct seen_change {
    int calls;
    uint64_t ticket_id;
    int had_before;
    int event_kind;
    char body[32];
    int64_t now_ms;
    int fail_on_call; /* 1-based call that fails; 0 = never */
} seen_change;

static int observe(void *ud, const hd_ticket_change *c, hd_err *err)
{
    seen_change *sc = ud;
    sc->calls++;
    sc->ticket_id = c->after->id;
    sc->had_before = c->before != NULL;
    sc->event_kind = (int)c->event->kind;
    snprintf(sc->body, sizeof(sc->body), "%s", c->message ? c->message->body : "");
    sc->now_ms = c->now_ms;
    /* Observers write in the same txn: this lands or vanishes with the ticket. */
    int rc = hd_rollup_add(c->txn, "test.observed", 0, 0, 1, err);
    if (rc)
        return rc;
    if (sc->calls == sc->fail_on_call)
        return hd_err_set(err, HD_EFULL, "observer: refusing call %d", sc->calls);
    return 0;
}

static void observers_see_each_create_in_its_transaction_and_can_veto_it(void **state)
{
    fx *f = *state;
    seen_change sc = {.fail_on_call = 2};
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args args;
    hd_err err = {0};
    assert_int_equal(hd_tickets_observe(observe, &sc), 0);
    tf_request(&req, NULL, "Observed body", NULL);
    Helpdesk__V1__Ticket *t = create(f, &req, NULL);
    assert_int_equal(sc.calls, 1);
    assert_int_equal(sc.ticket_id, t->id);
    assert_false(sc.had_before);
    assert_int_equal(sc.event_kind, HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_CREATED);
    assert_string_equal(sc.body, "Observed body");
    assert_int_equal(sc.now_ms, T0);

    /* A failing observer undoes the whole create, its own write included. */
    assert_ok(hd_tickets_create_prepare(&args, f->a, &req, NULL, NULL, &err), err);
    assert_int_equal(hd_tickets_create(f->s, &args, &err), HD_EFULL);
    assert_string_equal(err.detail, "observer: refusing call 2");
    assert_int_equal(table_count(f, HD_STORE_TICKETS), 1);
    hd_txn *txn;
    uint64_t v = 0;
    assert_ok(hd_store_read_begin(f->s, &txn, &err), err);
    assert_ok(hd_rollup_get(txn, "test.observed", 0, 0, &v, &err), err);
    hd_store_read_end(txn);
    assert_int_equal(v, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tf_setup, tf_teardown)
        T(create_then_get_returns_ticket_first_message_and_created_event),
        T(get_by_number_ignores_case_and_unknown_ones_are_not_found),
        T(numbers_are_tkt_and_six_digits_and_unique),
        T(retry_with_same_request_id_returns_the_first_ticket),
        T(eight_concurrent_creates_with_one_request_id_make_one_ticket),
        T(one_request_id_submitted_eight_times_in_one_batch_makes_one_ticket),
        T(retry_with_the_same_content_as_validated_replays_even_if_spelled_differently),
        T(request_id_reused_for_another_ticket_is_invalid_and_writes_nothing),
        T(record_without_fingerprint_from_an_older_store_still_replays),
        T(one_request_id_with_two_contents_in_one_batch_creates_once_and_refuses_the_other),
        T(customer_is_created_on_first_sight_and_reused_ignoring_case),
        T(unknown_customer_id_is_not_found_naming_the_field),
        T(every_validation_rule_rejects_with_the_field_named),
        T(limits_at_the_boundary_are_accepted_and_body_limit_is_configurable),
        T(list_pages_120_tickets_as_50_50_20_newest_first_without_gaps),
        T(list_by_status_pages_only_matching_tickets_across_priorities),
        T(list_with_a_rare_status_reads_only_its_index_entries),
        T(list_for_a_customer_returns_only_their_tickets_with_optional_status),
        T(bad_page_size_status_and_tokens_are_rejected),
        T(every_index_entry_points_at_a_ticket_with_those_values),
        T(rollups_count_creates_per_day_priority_and_status),
        T(failed_create_leaves_no_trace),
        T(observers_see_each_create_in_its_transaction_and_can_veto_it),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
