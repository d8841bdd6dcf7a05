/* Idempotent notes: an AddNote retried by request id (after a lost acknowledgement, racing
 * the first call, or after the ticket was closed or merged) adds exactly one note and
 * returns it; the same id with another ticket, body, visibility or author is refused naming
 * request_id. */
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
#include "server/tickets/note.h"
#include "server/tickets/tickets.h"
#include "tests/unit/server/tickets/work_fixture.h"

#define TEAM    HELPDESK__V1__NOTE_VISIBILITY__NOTE_VISIBILITY_TEAM
#define PRIVATE HELPDESK__V1__NOTE_VISIBILITY__NOTE_VISIBILITY_PRIVATE

static const hd_tickets_actor ann = {.kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, .id = 7};
static const hd_tickets_actor bob = {.kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, .id = 8};

/* One AddNote: what it sends and what it got. */
typedef struct call {
    hd_store *s;
    pthread_barrier_t *go;
    const hd_tickets_actor *who;
    uint64_t ticket_id;
    const char *body;
    Helpdesk__V1__NoteVisibility vis;
    const char *request_id;
    /* results */
    int rc;
    hd_err err;
    uint64_t note_id, note_ticket, ticket_id_after;
    bool replayed;
    size_t committed;
} call;

/* Runs c (prepare + apply) in its own arena, as the RPC handler does. */
static void *add_note(void *p)
{
    call *c = p;
    hd_arena *a = hd_arena_create(0);
    Helpdesk__V1__AddNoteRequest req = HELPDESK__V1__ADD_NOTE_REQUEST__INIT;
    hd_tickets_note_args args;
    req.ticket_id = c->ticket_id;
    req.body = WF_CS(c->body);
    req.visibility = c->vis;
    req.request_id = WF_CS(c->request_id);
    hd_err_clear(&c->err);
    c->rc = a ? hd_tickets_note_prepare(&args, a, &req, 0, c->who, &c->err) : HD_ENOMEM;
    if (c->go)
        pthread_barrier_wait(c->go);
    if (c->rc == 0)
        c->rc = hd_store_write(c->s, hd_tickets_note_apply, &args, &c->err);
    if (c->rc == 0) {
        c->note_id = args.note->id;
        c->note_ticket = args.note->ticket_id;
        c->ticket_id_after = args.ticket->id;
        c->replayed = args.replayed;
        c->committed = args.committed.n;
    }
    hd_arena_destroy(a);
    return NULL;
}

static uint64_t table_count(wf *f, hd_table t)
{
    hd_txn *txn;
    hd_err err = {0};
    uint64_t n = 0;
    wf_ok(hd_store_read_begin(f->s, &txn, &err), err);
    wf_ok(hd_store_count(txn, t, &n, &err), err);
    hd_store_read_end(txn);
    return n;
}

static call note_call(wf *f, uint64_t ticket, const char *body, const char *request_id)
{
    return (call){.s = f->s,
                  .who = &ann,
                  .ticket_id = ticket,
                  .body = body,
                  .vis = TEAM,
                  .request_id = request_id};
}

static void retried_note_returns_the_first_note_and_writes_nothing(void **state)
{
    wf *f = *state;
    uint64_t t = wf_ticket(f, WF_PR(NORMAL), "");
    uint64_t notes0 = table_count(f, HD_STORE_NOTES), events0 = table_count(f, HD_STORE_EVENTS);
    call first = note_call(f, t, "Checked the logs", "note-1");
    call retry = first;
    add_note(&first);
    hd_clock_advance_ms(5000); /* the retry comes later */
    add_note(&retry);
    wf_ok(first.rc, first.err);
    wf_ok(retry.rc, retry.err);
    assert_false(first.replayed);
    assert_int_equal(first.committed, 1);
    assert_true(retry.replayed);
    assert_int_equal(retry.committed, 0); /* nothing published on the watch bus */
    assert_int_equal(retry.note_id, first.note_id);
    assert_int_equal(retry.ticket_id_after, t);
    assert_int_equal(table_count(f, HD_STORE_NOTES), notes0 + 1);
    assert_int_equal(table_count(f, HD_STORE_EVENTS), events0 + 1);
}

static void notes_without_or_with_distinct_request_ids_are_all_added(void **state)
{
    wf *f = *state;
    uint64_t t = wf_ticket(f, WF_PR(NORMAL), "");
    call none1 = note_call(f, t, "same text", ""), none2 = none1;
    call a = note_call(f, t, "same text", "a"), b = note_call(f, t, "same text", "b");
    add_note(&none1);
    add_note(&none2);
    add_note(&a);
    add_note(&b);
    wf_ok(none1.rc, none1.err);
    wf_ok(none2.rc, none2.err);
    wf_ok(a.rc, a.err);
    wf_ok(b.rc, b.err);
    assert_int_not_equal(none1.note_id, none2.note_id);
    assert_int_not_equal(a.note_id, b.note_id);
    assert_false(b.replayed);
    assert_int_equal(table_count(f, HD_STORE_NOTES), 4);
}

static void same_request_id_with_other_content_is_refused_naming_request_id(void **state)
{
    wf *f = *state;
    uint64_t t = wf_ticket(f, WF_PR(NORMAL), "");
    uint64_t other = wf_ticket(f, WF_PR(NORMAL), "");
    call first = note_call(f, t, "Checked the logs", "reused");
    add_note(&first);
    wf_ok(first.rc, first.err);

    call body = note_call(f, t, "Something else", "reused");
    call vis = note_call(f, t, "Checked the logs", "reused");
    call author = note_call(f, t, "Checked the logs", "reused");
    call ticket = note_call(f, other, "Checked the logs", "reused");
    vis.vis = PRIVATE;
    author.who = &bob;
    call *bad[] = {&body, &vis, &author, &ticket};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        add_note(bad[i]);
        wf_err(bad[i]->rc, HD_EINVAL, bad[i]->err,
               "request_id \"reused\": already used for another note");
    }
    assert_int_equal(table_count(f, HD_STORE_NOTES), 1);
}

static void retry_after_the_ticket_was_closed_returns_the_note(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    uint64_t t = wf_ticket(f, WF_PR(NORMAL), "");
    call first = note_call(f, t, "Refund approved", "close-1");
    call retry = first, fresh = note_call(f, t, "Refund approved", "close-2");
    add_note(&first);
    wf_ok(first.rc, first.err);
    wf_ok(wf_status(f, t, WF_ST(CLOSED), &err), err);
    add_note(&retry);
    wf_ok(retry.rc, retry.err);
    assert_true(retry.replayed);
    assert_int_equal(retry.note_id, first.note_id);
    add_note(&fresh); /* a new note on a closed ticket is still refused */
    assert_int_equal(fresh.rc, HD_ESTATE);
}

static void retry_after_a_merge_returns_the_note_on_the_target(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_merge_args x;
    uint64_t target = wf_ticket(f, WF_PR(NORMAL), "");
    uint64_t source = wf_ticket(f, WF_PR(NORMAL), "");
    uint64_t last = wf_ticket(f, WF_PR(NORMAL), "");
    call first = note_call(f, source, "Duplicate of the printer one", "merge-1");
    call retry = first;
    add_note(&first);
    wf_ok(first.rc, first.err);
    hd_clock_advance_ms(1000);
    memset(&x, 0, sizeof(x));
    x.w = wf_work(f);
    x.source_id = source;
    x.target_id = target;
    wf_ok(wf_run(f, hd_tickets_merge_apply, &x, &err), err);
    hd_clock_advance_ms(1000);
    memset(&x, 0, sizeof(x)); /* and the target onward: two hops */
    x.w = wf_work(f);
    x.source_id = target;
    x.target_id = last;
    wf_ok(wf_run(f, hd_tickets_merge_apply, &x, &err), err);
    add_note(&retry);
    wf_ok(retry.rc, retry.err);
    assert_true(retry.replayed);
    assert_int_equal(retry.note_id, first.note_id);
    assert_int_equal(retry.note_ticket, last);
    assert_int_equal(retry.ticket_id_after, last);
    assert_int_equal(table_count(f, HD_STORE_NOTES), 1);
}

static void eight_concurrent_notes_with_one_request_id_add_one_note(void **state)
{
    wf *f = *state;
    enum { N = 8 };
    pthread_t th[N];
    call c[N];
    pthread_barrier_t go;
    int replays = 0;
    uint64_t t = wf_ticket(f, WF_PR(NORMAL), "");
    pthread_barrier_init(&go, NULL, N);
    for (int i = 0; i < N; i++) {
        c[i] = note_call(f, t, "@ann look", "race-1");
        c[i].go = &go;
        assert_int_equal(pthread_create(&th[i], NULL, add_note, &c[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < N; i++) {
        wf_ok(c[i].rc, c[i].err);
        assert_int_equal(c[i].note_id, c[0].note_id);
        replays += c[i].replayed;
    }
    assert_int_equal(replays, N - 1);
    assert_int_equal(table_count(f, HD_STORE_NOTES), 1);
}

static void request_id_too_long_or_not_printable_is_refused(void **state)
{
    wf *f = *state;
    char longid[HD_TICKETS_REQUEST_ID_MAX + 2];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    call tab = note_call(f, 1, "x", "tab\there"), big = note_call(f, 1, "x", longid);
    add_note(&tab);
    add_note(&big);
    wf_err(tab.rc, HD_EINVAL, tab.err, "request_id: must be printable ASCII");
    wf_err(big.rc, HD_EINVAL, big.err, "request_id: longer than 128 characters");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(retried_note_returns_the_first_note_and_writes_nothing,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(notes_without_or_with_distinct_request_ids_are_all_added,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(
            same_request_id_with_other_content_is_refused_naming_request_id, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(retry_after_the_ticket_was_closed_returns_the_note,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(retry_after_a_merge_returns_the_note_on_the_target,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(eight_concurrent_notes_with_one_request_id_add_one_note,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(request_id_too_long_or_not_printable_is_refused, wf_setup,
                                        wf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
