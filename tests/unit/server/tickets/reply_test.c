/* Idempotent replies: a ReplyToTicket retried by request id (after a lost acknowledgement or
 * racing the first call) posts exactly one message. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/clock/clock.h"
#include "server/common/arena.h"
#include "server/tickets/merge.h"
#include "server/tickets/reply.h"
#include "server/tickets/tickets.h"
#include "tests/unit/server/tickets/fixture.h"

#define assert_ok TF_ASSERT_OK

static const hd_tickets_actor staff = {.kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, .id = 7};

static uint64_t table_count(hd_store *s, hd_table t)
{
    hd_txn *txn;
    hd_err err = {0};
    uint64_t n = 0;
    assert_ok(hd_store_read_begin(s, &txn, &err), err);
    assert_ok(hd_store_count(txn, t, &n, &err), err);
    hd_store_read_end(txn);
    return n;
}

static uint64_t create_ticket(tf_fx *f)
{
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args args;
    hd_err err = {0};
    tf_request(&req, NULL, NULL, NULL);
    assert_ok(hd_tickets_create_prepare(&args, f->a, &req, NULL, NULL, &err), err);
    assert_ok(hd_tickets_create(f->s, &args, &err), err);
    return args.ticket->id;
}

typedef struct racer {
    hd_store *s;
    pthread_barrier_t *go;
    uint64_t ticket_id;
    const char *request_id;
    const char *body;               /* NULL = "We are on it." */
    const hd_tickets_actor *author; /* NULL = staff */
    uint64_t message_id, message_ticket, ticket_after;
    uint32_t message_count;
    bool replayed;
    int rc;
    hd_err err;
} racer;

/* One ReplyToTicket(SEND) with r's request id; records the result in r. */
static void *reply_once(void *p)
{
    racer *r = p;
    hd_arena *a = hd_arena_create(0);
    Helpdesk__V1__ReplyToTicketRequest req = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
    hd_tickets_reply_args args;
    req.ticket_id = r->ticket_id;
    req.body = (char *)(r->body ? r->body : "We are on it.");
    req.request_id = (char *)r->request_id;
    r->rc = a ? hd_tickets_reply_prepare(&args, a, &req, 0, r->author ? r->author : &staff, &r->err)
              : HD_ENOMEM;
    if (r->go)
        pthread_barrier_wait(r->go);
    if (r->rc == 0)
        r->rc = hd_store_write(r->s, hd_tickets_reply_apply, &args, &r->err);
    if (r->rc == 0) {
        r->message_id = args.message->id;
        r->message_ticket = args.message->ticket_id;
        r->ticket_after = args.ticket->id;
        r->message_count = args.ticket->message_count;
        r->replayed = args.replayed;
    }
    hd_arena_destroy(a);
    return NULL;
}

static void eight_concurrent_replies_with_one_request_id_post_one_message(void **state)
{
    tf_fx *f = *state;
    enum { N = 8 };
    pthread_t th[N];
    racer r[N];
    pthread_barrier_t go;
    uint64_t id = create_ticket(f);
    uint64_t before = table_count(f->s, HD_STORE_MESSAGES);
    int replays = 0;
    pthread_barrier_init(&go, NULL, N);
    for (int i = 0; i < N; i++) {
        r[i] = (racer){.s = f->s, .go = &go, .ticket_id = id, .request_id = "reply-1"};
        assert_int_equal(pthread_create(&th[i], NULL, reply_once, &r[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < N; i++) {
        assert_ok(r[i].rc, r[i].err);
        assert_int_equal(r[i].message_id, r[0].message_id);
        assert_int_equal(r[i].message_count, 2);
        replays += r[i].replayed;
    }
    assert_int_equal(replays, N - 1);
    assert_int_equal(table_count(f->s, HD_STORE_MESSAGES), before + 1);
}

static void reply_retried_after_commit_returns_first_message_and_distinct_ids_post_two(void **state)
{
    tf_fx *f = *state;
    uint64_t id = create_ticket(f);
    racer a = {.s = f->s, .ticket_id = id, .request_id = "r-a"};
    racer again = a;
    racer b = {.s = f->s, .ticket_id = id, .request_id = "r-b"};
    racer none1 = {.s = f->s, .ticket_id = id, .request_id = ""};
    racer none2 = none1;
    reply_once(&a);
    reply_once(&again);
    reply_once(&b);
    reply_once(&none1);
    reply_once(&none2);
    assert_ok(a.rc, a.err);
    assert_ok(again.rc, again.err);
    assert_ok(b.rc, b.err);
    assert_ok(none1.rc, none1.err);
    assert_ok(none2.rc, none2.err);
    assert_false(a.replayed);
    assert_true(again.replayed);
    assert_int_equal(again.message_id, a.message_id);
    assert_int_not_equal(b.message_id, a.message_id);
    assert_int_not_equal(none1.message_id, none2.message_id);
    assert_int_equal(none2.message_count, 5);
}

static void request_id_reused_for_another_body_ticket_or_author_is_refused(void **state)
{
    tf_fx *f = *state;
    static const hd_tickets_actor other = {.kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF,
                                           .id = 8};
    uint64_t id = create_ticket(f), id2 = create_ticket(f);
    racer first = {.s = f->s, .ticket_id = id, .request_id = "r-1"};
    racer body = first, ticket = first, author = first;
    body.body = "Something else";
    ticket.ticket_id = id2;
    author.author = &other;
    reply_once(&first);
    assert_ok(first.rc, first.err);
    racer *bad[] = {&body, &ticket, &author};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        reply_once(bad[i]);
        TF_ASSERT_ERR(bad[i]->rc, HD_EINVAL, bad[i]->err,
                      "request_id \"r-1\": already used for another reply");
    }
    assert_int_equal(table_count(f->s, HD_STORE_MESSAGES), 3); /* two first messages + one */
}

static void reply_retried_after_a_merge_returns_the_moved_message(void **state)
{
    tf_fx *f = *state;
    hd_err err = {0};
    hd_tickets_merge_args x;
    uint64_t target = create_ticket(f), source = create_ticket(f);
    racer first = {.s = f->s, .ticket_id = source, .request_id = "r-merge"};
    racer again = first;
    reply_once(&first);
    assert_ok(first.rc, first.err);
    memset(&x, 0, sizeof(x));
    x.w.actor = staff;
    x.w.now_ms = hd_clock_now_ms();
    x.w.arena = f->a;
    x.source_id = source;
    x.target_id = target;
    assert_ok(hd_store_write(f->s, hd_tickets_merge_apply, &x, &err), err);
    reply_once(&again);
    assert_ok(again.rc, again.err);
    assert_true(again.replayed);
    assert_int_equal(again.message_id, first.message_id);
    assert_int_equal(again.message_ticket, target);
    assert_int_equal(again.ticket_after, target);
}

static void request_id_on_a_draft_or_not_printable_is_refused(void **state)
{
    tf_fx *f = *state;
    Helpdesk__V1__ReplyToTicketRequest req = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
    hd_tickets_reply_args args;
    hd_err err = {0};
    req.ticket_id = 1;
    req.body = (char *)"x";
    req.request_id = (char *)"d-1";
    req.mode = HELPDESK__V1__REPLY_MODE__REPLY_MODE_DRAFT;
    TF_ASSERT_ERR(hd_tickets_reply_prepare(&args, f->a, &req, 0, &staff, &err), HD_EINVAL, err,
                  "request_id: only for mode SEND");
    req.mode = HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND;
    req.request_id = (char *)"tab\there";
    TF_ASSERT_ERR(hd_tickets_reply_prepare(&args, f->a, &req, 0, &staff, &err), HD_EINVAL, err,
                  "request_id: must be printable ASCII");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            eight_concurrent_replies_with_one_request_id_post_one_message, tf_setup, tf_teardown),
        cmocka_unit_test_setup_teardown(
            reply_retried_after_commit_returns_first_message_and_distinct_ids_post_two, tf_setup,
            tf_teardown),
        cmocka_unit_test_setup_teardown(
            request_id_reused_for_another_body_ticket_or_author_is_refused, tf_setup, tf_teardown),
        cmocka_unit_test_setup_teardown(reply_retried_after_a_merge_returns_the_moved_message,
                                        tf_setup, tf_teardown),
        cmocka_unit_test_setup_teardown(request_id_on_a_draft_or_not_printable_is_refused, tf_setup,
                                        tf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
