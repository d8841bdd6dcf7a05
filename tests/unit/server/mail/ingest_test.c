/* Ingest over a real store: the corpus table (threading, loops, bounces, duplicates,
 * acknowledgements), exactly-once on re-fetch and UIDVALIDITY change, closed-ticket
 * follow-ups and the mailbox's reopen grace on both sides of its boundary, and the outbox
 * (staff reply observer, backoff, dead letter, retry). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/clock/clock.h"
#include "server/common/arena.h"
#include "server/mail/ingest.h"
#include "server/mail/keys.h"
#include "server/mail/outbox.h"
#include "server/store/store.h"
#include "server/tickets/change.h"
#include "server/tickets/merge.h"
#include "server/tickets/outbox_hook.h"
#include "server/tickets/reply.h"
#include "server/tickets/tickets.h"
#include "tests/unit/server/mail/corpus.h"
#include "tests/unit/server/tickets/fixture.h"

typedef struct env {
    hd_store *s;
    hd_thread_conf tc;
    hd_ingest_conf ic;
    Helpdesk__V1__Mailbox mb;
    char ownid[HD_THREAD_ID_MAX], ownid2[HD_THREAD_ID_MAX], token[HD_THREAD_ID_MAX];
    char number[24];
} env;

static char mb_name[] = "support";
static char mb_from[] = "support@helpdesk.test";

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    e->s = tf_store_open("mail");
    memset(e->tc.key, 7, sizeof e->tc.key);
    e->tc.msgid_domain = "helpdesk.test";
    e->ic.thread = &e->tc;
    e->ic.limiter = hd_loop_limiter_new(3, 3600000);
    e->ic.mime.attach_bytes = 256 * 1024;
    helpdesk__v1__mailbox__init(&e->mb);
    e->mb.id = 1;
    e->mb.name = mb_name;
    e->mb.from_address = mb_from;
    e->mb.acknowledge = 1;
    e->mb.priority = HELPDESK__V1__PRIORITY__PRIORITY_NORMAL;
    hd_clock_set_test_ms(1795000000000);
    hd_tickets_outbox_set(hd_outbox_reply_hook, &e->tc);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    hd_tickets_outbox_set(NULL, NULL);
    hd_loop_limiter_free(e->ic.limiter);
    hd_store_close(e->s);
    free(e);
    return 0;
}

/* Ingests raw as (uidvalidity, uid) and waits; returns the args (arena a). */
static hd_ingest_args *ingest_raw(env *e, hd_arena *a, uint32_t uidv, uint32_t uid, const char *raw,
                                  size_t len)
{
    hd_ingest_args *args = hd_arena_calloc(a, 1, sizeof *args);
    hd_err err;
    char *copy = hd_arena_strndup(a, raw, len);
    assert_int_equal(
        hd_ingest_prepare(args, a, &e->ic, &e->mb, uidv, uid, copy, len, hd_clock_now_ms(), &err),
        0);
    if (hd_store_write(e->s, hd_ingest_apply, args, &err) != 0)
        fail_msg("ingest uid %u: %s", uid, err.detail);
    return args;
}

static hd_ingest_args *ingest_file(env *e, hd_arena *a, uint32_t uidv, uint32_t uid,
                                   const char *file)
{
    tc_subst subst[] = {{"TICKET", e->number},
                        {"OWNID", e->ownid},
                        {"OWNID2", e->ownid2},
                        {"TOKENLOCAL", e->token}};
    size_t len;
    char *raw = tc_read(file, subst, 4, &len);
    hd_ingest_args *args = ingest_raw(e, a, uidv, uid, raw, len);
    free(raw);
    return args;
}

static uint64_t count(env *e, hd_table t)
{
    hd_txn *txn;
    uint64_t n = 0;
    assert_int_equal(hd_store_read_begin(e->s, &txn, NULL), 0);
    assert_int_equal(hd_store_count(txn, t, &n, NULL), 0);
    hd_store_read_end(txn);
    return n;
}

typedef struct status_args {
    uint64_t id;
    Helpdesk__V1__TicketStatus to;
    hd_arena *a;
} status_args;

static int status_apply(hd_txn *txn, void *arg, hd_err *err)
{
    status_args *sa = arg;
    hd_tickets_edit e;
    int rc = hd_tickets_edit_begin(&e, txn, sa->a, sa->id, NULL, hd_clock_now_ms(), NULL, err);
    if (rc == 0)
        rc = hd_tickets_edit_status(&e, sa->to, err);
    if (rc == 0)
        rc = hd_tickets_edit_commit(
            &e, HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_STATUS_CHANGED, err);
    return rc;
}

/* Moves ticket id to status through the change engine (as staff would). */
static void set_status(env *e, uint64_t id, Helpdesk__V1__TicketStatus to)
{
    hd_arena *a = hd_arena_create(0);
    status_args sa = {id, to, a};
    hd_err err;
    if (hd_store_write(e->s, status_apply, &sa, &err) != 0)
        fail_msg("status: %s", err.detail);
    hd_arena_destroy(a);
}

/* Makes e's placeholders for the seed ticket. */
static void seed_ids(env *e, uint64_t tid)
{
    hd_tickets_number(e->number, sizeof e->number, tid);
    assert_int_equal(hd_thread_own_msgid(e->ownid, sizeof e->ownid, &e->tc, tid, 1000), 0);
    assert_int_equal(hd_thread_own_msgid(e->ownid2, sizeof e->ownid2, &e->tc, tid, 1001), 0);
    char addr[HD_THREAD_ID_MAX];
    assert_int_equal(
        hd_thread_reply_address(addr, sizeof addr, &e->tc, "support@helpdesk.test", tid), 0);
    const char *plus = strchr(addr, '+');
    const char *at = strchr(addr, '@');
    snprintf(e->token, sizeof e->token, "%.*s", (int)(at - plus - 1), plus + 1);
}

static void corpus_outcomes_match_expected_table(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    FILE *f = fopen("tests/data/mail/expected.tsv", "r");
    assert_non_null(f);
    char line[512];
    uint32_t uid = 0;
    uint64_t seed = 0;
    size_t rows = 0, acks = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char file[128], outcome[32], ticket[16], via[32], ack[8], kind[16];
        assert_int_equal(
            sscanf(line, "%127s %31s %15s %31s %7s %15s", file, outcome, ticket, via, ack, kind),
            6);
        hd_ingest_args *r = ingest_file(e, a, 1, ++uid, file);
        rows++;
        if (!seed) {
            seed = r->ticket_id;
            seed_ids(e, seed);
        }
        if (strcmp(hd_ingest_outcome_name(r->outcome), outcome) != 0)
            fail_msg("%s: outcome %s, want %s", file, hd_ingest_outcome_name(r->outcome), outcome);
        if (strcmp(ticket, "seed") == 0 && r->ticket_id != seed)
            fail_msg("%s: ticket %" PRIu64 ", want seed %" PRIu64, file, r->ticket_id, seed);
        if (strcmp(ticket, "new") == 0 && (r->ticket_id == 0 || r->ticket_id == seed))
            fail_msg("%s: ticket %" PRIu64 ", want a new one", file, r->ticket_id);
        if (strcmp(ticket, "none") == 0 && r->ticket_id != 0)
            fail_msg("%s: ticket %" PRIu64 ", want none", file, r->ticket_id);
        if (strcmp(hd_thread_via_name(r->via), via) != 0)
            fail_msg("%s: via %s, want %s", file, hd_thread_via_name(r->via), via);
        if (r->acked != (strcmp(ack, "yes") == 0))
            fail_msg("%s: acked %d, want %s", file, r->acked, ack);
        if (r->m && strcmp(hd_loop_kind_name(r->verdict.kind), kind) != 0)
            fail_msg("%s: kind %s, want %s", file, hd_loop_kind_name(r->verdict.kind), kind);
        acks += r->acked;
        hd_arena_reset(a);
    }
    fclose(f);
    assert_true(rows >= 24);
    /* Every acknowledgement is in the outbox; the bounce marked Ann undeliverable. */
    assert_int_equal(count(e, HD_STORE_OUTBOX), acks);
    hd_txn *txn;
    hd_key k;
    const void *v;
    size_t n;
    assert_int_equal(hd_store_read_begin(e->s, &txn, NULL), 0);
    assert_int_equal(hd_store_get(txn, HD_STORE_MAILSTATE,
                                  hd_mailkey_undeliverable(&k, "ann@customer.example"), &v, &n,
                                  NULL),
                     0);
    hd_store_read_end(txn);
    /* The seed ticket shows the undeliverable address in its audit trail. */
    hd_tickets_thread th;
    assert_int_equal(hd_tickets_get(e->s, a, seed, NULL, &th, NULL), 0);
    int found = 0;
    for (size_t i = 0; i < th.n_events; i++)
        for (size_t j = 0; j < th.events[i]->n_changes; j++)
            found |= strcmp(th.events[i]->changes[j]->field, "undeliverable") == 0;
    assert_true(found);
    /* Replies carried only their new text. */
    for (size_t i = 1; i < th.n_messages; i++)
        if (strstr(th.messages[i]->body, "Please unplug"))
            fail_msg("message %zu kept quoted history: %s", i, th.messages[i]->body);
    hd_arena_destroy(a);
}

static void refetch_of_same_uid_writes_nothing(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    hd_ingest_args *r1 = ingest_file(e, a, 5, 1, "01_new_plain.eml");
    assert_int_equal(r1->outcome, HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_NEW_TICKET);
    uint64_t tickets = count(e, HD_STORE_TICKETS), state_n = count(e, HD_STORE_MAILSTATE);
    uint64_t outbox = count(e, HD_STORE_OUTBOX);
    for (int i = 0; i < 3; i++) {
        hd_ingest_args *r = ingest_file(e, a, 5, 1, "01_new_plain.eml");
        assert_true(r->replayed);
        assert_int_equal(r->ticket_id, r1->ticket_id);
    }
    assert_int_equal(count(e, HD_STORE_TICKETS), tickets);
    assert_int_equal(count(e, HD_STORE_MAILSTATE), state_n);
    assert_int_equal(count(e, HD_STORE_OUTBOX), outbox);
    hd_arena_destroy(a);
}

static void new_uidvalidity_same_message_id_is_duplicate(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    hd_ingest_args *r1 = ingest_file(e, a, 5, 1, "01_new_plain.eml");
    hd_ingest_args *r2 = ingest_file(e, a, 6, 1, "01_new_plain.eml");
    assert_int_equal(r2->outcome, HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_DUPLICATE);
    assert_int_equal(r2->ticket_id, r1->ticket_id);
    assert_int_equal(count(e, HD_STORE_TICKETS), 1);
    hd_arena_destroy(a);
}

static void missing_message_id_refetched_elsewhere_is_duplicate(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    ingest_file(e, a, 1, 1, "19_no_message_id.eml");
    hd_ingest_args *r = ingest_file(e, a, 2, 9, "19_no_message_id.eml");
    assert_int_equal(r->outcome, HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_DUPLICATE);
    assert_int_equal(count(e, HD_STORE_TICKETS), 1);
    hd_arena_destroy(a);
}

static void reply_to_closed_ticket_opens_linked_follow_up(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    hd_ingest_args *r1 = ingest_file(e, a, 1, 1, "01_new_plain.eml");
    seed_ids(e, r1->ticket_id);
    set_status(e, r1->ticket_id, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED);
    set_status(e, r1->ticket_id, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED);
    hd_ingest_args *r2 = ingest_file(e, a, 1, 2, "02_gmail_reply.eml");
    assert_int_equal(r2->outcome, HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_NEW_TICKET);
    assert_true(r2->follow_up);
    assert_true(r2->ticket_id != r1->ticket_id);
    hd_tickets_thread th;
    assert_int_equal(hd_tickets_get(e->s, a, r1->ticket_id, NULL, &th, NULL), 0);
    assert_int_equal(th.events[th.n_events - 1]->kind,
                     HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_FOLLOW_UP);
    hd_arena_destroy(a);
}

static void reply_to_solved_ticket_reopens_it(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    hd_ingest_args *r1 = ingest_file(e, a, 1, 1, "01_new_plain.eml");
    seed_ids(e, r1->ticket_id);
    set_status(e, r1->ticket_id, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED);
    hd_ingest_args *r2 = ingest_file(e, a, 1, 2, "02_gmail_reply.eml");
    assert_int_equal(r2->outcome, HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_APPENDED);
    hd_tickets_thread th;
    assert_int_equal(hd_tickets_get(e->s, a, r1->ticket_id, NULL, &th, NULL), 0);
    assert_int_equal(th.ticket->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_OPEN);
    hd_arena_destroy(a);
}

/* The seed ticket from 01_new_plain.eml, solved then closed at the current test clock. */
static uint64_t closed_seed(env *e, hd_arena *a)
{
    hd_ingest_args *r1 = ingest_file(e, a, 1, 1, "01_new_plain.eml");
    seed_ids(e, r1->ticket_id);
    set_status(e, r1->ticket_id, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED);
    set_status(e, r1->ticket_id, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED);
    return r1->ticket_id;
}

static bool event_has_change(const Helpdesk__V1__TicketEvent *ev, const char *field,
                             const char *before, const char *after)
{
    for (size_t i = 0; i < ev->n_changes; i++) {
        const Helpdesk__V1__FieldChange *c = ev->changes[i];
        if (strcmp(c->field, field) == 0 && (!before || strcmp(c->before, before) == 0) &&
            (!after || strcmp(c->after, after) == 0))
            return true;
    }
    return false;
}

static void closing_records_close_time(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    int64_t closed_at = hd_clock_now_ms();
    uint64_t tid = closed_seed(e, a);
    hd_tickets_thread th;
    assert_int_equal(hd_tickets_get(e->s, a, tid, NULL, &th, NULL), 0);
    assert_non_null(th.ticket->close_time);
    assert_int_equal(hd_tickets_ts_ms(th.ticket->close_time), closed_at);
    hd_arena_destroy(a);
}

static void reply_to_closed_ticket_reopens_within_grace(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    e->mb.reopen_grace_seconds = 3600;
    uint64_t tid = closed_seed(e, a);
    hd_tickets_thread th;
    assert_int_equal(hd_tickets_get(e->s, a, tid, NULL, &th, NULL), 0);
    uint32_t messages_before = th.ticket->message_count;
    hd_clock_advance_ms(3600 * 1000); /* exactly at the boundary: still within */
    hd_ingest_args *r2 = ingest_file(e, a, 1, 2, "02_gmail_reply.eml");
    assert_int_equal(r2->outcome, HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_APPENDED);
    assert_true(r2->reopened);
    assert_false(r2->follow_up);
    assert_false(r2->acked); /* not a new ticket: no acknowledgement */
    assert_int_equal(r2->ticket_id, tid);
    assert_int_equal(count(e, HD_STORE_TICKETS), 1);
    assert_int_equal(hd_tickets_get(e->s, a, tid, NULL, &th, NULL), 0);
    assert_int_equal(th.ticket->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_OPEN);
    assert_null(th.ticket->close_time);
    assert_int_equal(th.ticket->follow_up_of, 0);
    assert_int_equal(th.ticket->message_count, messages_before + 1);
    assert_string_equal(th.messages[th.n_messages - 1]->body, "Thanks, it is out now.");
    assert_int_equal(th.messages[th.n_messages - 1]->author_kind,
                     HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER);
    /* One event: the message, the status CLOSED -> OPEN and why. */
    const Helpdesk__V1__TicketEvent *ev = th.events[th.n_events - 1];
    assert_int_equal(ev->kind, HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_MESSAGE_ADDED);
    assert_int_equal(ev->message_id, th.messages[th.n_messages - 1]->id);
    assert_true(event_has_change(ev, "status", "TICKET_STATUS_CLOSED", "TICKET_STATUS_OPEN"));
    assert_true(
        event_has_change(ev, "reopened", "", "customer reply 3600 s after closing (grace 3600 s)"));
    hd_arena_destroy(a);
}

static void reply_one_millisecond_past_grace_opens_a_follow_up(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    e->mb.reopen_grace_seconds = 3600;
    uint64_t tid = closed_seed(e, a);
    hd_clock_advance_ms(3600 * 1000 + 1);
    hd_ingest_args *r2 = ingest_file(e, a, 1, 2, "02_gmail_reply.eml");
    assert_int_equal(r2->outcome, HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_NEW_TICKET);
    assert_true(r2->follow_up);
    assert_false(r2->reopened);
    assert_true(r2->ticket_id != tid);
    hd_tickets_thread th;
    assert_int_equal(hd_tickets_get(e->s, a, tid, NULL, &th, NULL), 0);
    assert_int_equal(th.ticket->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED);
    assert_non_null(th.ticket->close_time);
    assert_int_equal(hd_tickets_get(e->s, a, r2->ticket_id, NULL, &th, NULL), 0);
    assert_int_equal(th.ticket->follow_up_of, tid);
    hd_arena_destroy(a);
}

static void grace_zero_always_opens_a_follow_up(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    e->mb.reopen_grace_seconds = 0;
    uint64_t tid = closed_seed(e, a);
    hd_clock_advance_ms(1000);
    hd_ingest_args *r2 = ingest_file(e, a, 1, 2, "02_gmail_reply.eml");
    assert_int_equal(r2->outcome, HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_NEW_TICKET);
    assert_true(r2->follow_up);
    assert_false(r2->reopened);
    assert_true(r2->ticket_id != tid);
    hd_arena_destroy(a);
}

static void grace_counts_from_the_latest_close(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    e->mb.reopen_grace_seconds = 600;
    uint64_t tid = closed_seed(e, a);
    hd_clock_advance_ms(60 * 1000);
    hd_ingest_args *r2 = ingest_file(e, a, 1, 2, "02_gmail_reply.eml");
    assert_true(r2->reopened);
    /* Closed again an hour later: the grace restarts there, and a reply 599 s after the
     * second close reopens again although the first close is long past. */
    hd_clock_advance_ms(3600 * 1000);
    set_status(e, tid, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED);
    hd_clock_advance_ms(599 * 1000);
    const char *raw = "From: Ann Customer <ann@customer.example>\r\n"
                      "To: support@helpdesk.test\r\n"
                      "Subject: Re: Printer on fire\r\n"
                      "Message-ID: <again-003@customer.example>\r\n"
                      "In-Reply-To: <CAgmail002@mail.gmail.com>\r\n"
                      "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                      "It is on fire again.\r\n";
    hd_ingest_args *r3 = ingest_raw(e, a, 1, 3, raw, strlen(raw));
    assert_true(r3->reopened);
    assert_int_equal(r3->ticket_id, tid);
    assert_int_equal(count(e, HD_STORE_TICKETS), 1);
    hd_arena_destroy(a);
}

static void reply_through_a_merge_to_a_closed_target_keeps_the_follow_up(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    hd_err err;
    e->mb.reopen_grace_seconds = 3600;
    hd_ingest_args *r1 = ingest_file(e, a, 1, 1, "01_new_plain.eml");
    seed_ids(e, r1->ticket_id);
    const char *raw = "From: Ann Customer <ann@customer.example>\r\n"
                      "To: support@helpdesk.test\r\n"
                      "Subject: Also the scanner\r\n"
                      "Message-ID: <scanner-001@customer.example>\r\n"
                      "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                      "The scanner too.\r\n";
    hd_ingest_args *r2 = ingest_raw(e, a, 1, 2, raw, strlen(raw));
    uint64_t source = r1->ticket_id, target = r2->ticket_id;
    hd_tickets_merge_args x;
    memset(&x, 0, sizeof x);
    x.w.now_ms = hd_clock_now_ms();
    x.w.arena = a;
    x.source_id = source;
    x.target_id = target;
    if (hd_store_write(e->s, hd_tickets_merge_apply, &x, &err) != 0)
        fail_msg("merge: %s", err.detail);
    set_status(e, target, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED);
    set_status(e, target, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED);
    hd_clock_advance_ms(1000);
    /* The reply threads to the merged source; its target closed a second ago. */
    hd_ingest_args *r3 = ingest_file(e, a, 1, 3, "02_gmail_reply.eml");
    assert_true(r3->follow_up);
    assert_false(r3->reopened);
    hd_tickets_thread th;
    assert_int_equal(hd_tickets_get(e->s, a, target, NULL, &th, NULL), 0);
    assert_int_equal(th.ticket->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED);
    assert_int_equal(hd_tickets_get(e->s, a, r3->ticket_id, NULL, &th, NULL), 0);
    assert_int_equal(th.ticket->follow_up_of, target);
    hd_arena_destroy(a);
}

static void forged_reply_token_does_not_thread(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    hd_ingest_args *r1 = ingest_file(e, a, 1, 1, "01_new_plain.eml");
    seed_ids(e, r1->ticket_id);
    e->token[strlen(e->token) - 1] ^= 1; /* one hex digit of the MAC changed */
    hd_ingest_args *r2 = ingest_file(e, a, 1, 2, "10_stripped_references.eml");
    assert_int_equal(r2->outcome, HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_NEW_TICKET);
    hd_arena_destroy(a);
}

static void too_large_message_is_recorded_as_rejected_with_reason(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    hd_ingest_args args;
    hd_err err;
    hd_ingest_prepare_rejected(&args, a, &e->ic, &e->mb, 1, 7, "too large: 99 > 10 bytes",
                               hd_clock_now_ms());
    assert_int_equal(hd_store_write(e->s, hd_ingest_apply, &args, &err), 0);
    assert_int_equal(args.outcome, HELPDESK__V1__INGEST_OUTCOME__INGEST_OUTCOME_REJECTED);
    hd_txn *txn;
    hd_key k;
    ProtobufCMessage *pm;
    assert_int_equal(hd_store_read_begin(e->s, &txn, NULL), 0);
    assert_int_equal(hd_store_get_msg(txn, HD_STORE_MAILSTATE, hd_mailkey_ingest(&k, 1, 1, 7),
                                      &helpdesk__v1__ingest_record__descriptor, a, &pm, NULL),
                     0);
    hd_store_read_end(txn);
    assert_string_equal(((Helpdesk__V1__IngestRecord *)pm)->reason, "too large: 99 > 10 bytes");
    assert_int_equal(count(e, HD_STORE_TICKETS), 0);
    hd_arena_destroy(a);
}

/* ---- Outbox ---------------------------------------------------------------------------- */

typedef struct staff_reply {
    uint64_t ticket_id;
    hd_arena *a;
} staff_reply;

/* A staff reply sent through the ticket domain's reply mutation (ReplyToTicket, SEND). */
static int staff_reply_apply(hd_txn *txn, void *arg, hd_err *err)
{
    staff_reply *r = arg;
    hd_tickets_reply_args *ra = hd_arena_calloc(r->a, 1, sizeof *ra);
    Helpdesk__V1__ReplyToTicketRequest req = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
    static char body[] = "Please unplug it.";
    req.ticket_id = r->ticket_id;
    req.body = body;
    req.mode = HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND;
    hd_tickets_actor actor = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, 9};
    int rc = hd_tickets_reply_prepare(ra, r->a, &req, 0, &actor, err);
    if (rc < 0)
        return rc;
    ra->now_ms = hd_clock_now_ms();
    return hd_tickets_reply_apply(txn, ra, err);
}

typedef struct fake_sink {
    int fail_left;
    bool permanent;
    int calls;
    char last_msgid[HD_THREAD_ID_MAX];
    char last_irt[HD_THREAD_ID_MAX];
    size_t last_ncc;
} fake_sink;

static int fake_send(void *ud, const Helpdesk__V1__OutboxMessage *m, bool *permanent, hd_err *err)
{
    fake_sink *f = ud;
    f->calls++;
    snprintf(f->last_msgid, sizeof f->last_msgid, "%s", m->rfc_message_id);
    snprintf(f->last_irt, sizeof f->last_irt, "%s", m->in_reply_to);
    f->last_ncc = m->n_cc;
    if (f->fail_left > 0) {
        f->fail_left--;
        *permanent = f->permanent;
        return hd_err_set(err, HD_EUNAVAIL, "smtp: 451 try again");
    }
    return HD_OK;
}

static Helpdesk__V1__OutboxMessage *only_entry(env *e, hd_arena *a)
{
    Helpdesk__V1__OutboxMessage **v;
    size_t n;
    const char *next;
    assert_int_equal(hd_outbox_list(e->s, a, 0, 0, "", &v, &n, &next, NULL), 0);
    assert_int_equal(n, 1);
    return v[0];
}

static void staff_reply_on_email_ticket_is_queued_with_thread_headers(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    e->mb.acknowledge = 0;
    hd_ingest_args *r1 = ingest_file(e, a, 1, 1, "01_new_plain.eml");
    ingest_file(e, a, 1, 2, "05_reply_all_cc.eml"); /* Carl joins by reply-all */
    staff_reply sr = {r1->ticket_id, a};
    assert_int_equal(hd_store_write(e->s, staff_reply_apply, &sr, NULL), 0);
    Helpdesk__V1__OutboxMessage *m = only_entry(e, a);
    assert_string_equal(m->to[0], "ann@customer.example");
    assert_int_equal(m->n_cc, 1);
    assert_string_equal(m->cc[0], "carl@customer.example");
    assert_string_equal(m->in_reply_to, "reply-all-005@customer.example");
    assert_int_equal(m->n_references, 2);
    uint64_t tid = 0;
    assert_true(hd_thread_own_msgid_parse(&e->tc, m->rfc_message_id, &tid));
    assert_int_equal(tid, r1->ticket_id);
    hd_arena_destroy(a);
}

static void failed_delivery_backs_off_then_dead_letters_and_retry_resends_same_id(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    e->mb.acknowledge = 0;
    hd_ingest_args *r1 = ingest_file(e, a, 1, 1, "01_new_plain.eml");
    staff_reply sr = {r1->ticket_id, a};
    assert_int_equal(hd_store_write(e->s, staff_reply_apply, &sr, NULL), 0);
    fake_sink f = {.fail_left = 100};
    hd_outbox_opts o = {.store = e->s,
                        .thread = &e->tc,
                        .backoff_base_ms = 1000,
                        .backoff_max_ms = 8000,
                        .max_attempts = 4,
                        .send = fake_send,
                        .send_ud = &f};
    int64_t now = hd_clock_now_ms();
    unsigned att, sent;
    int64_t delays[] = {1000, 2000, 4000};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hd_outbox_run_once(&o, now, &att, &sent, NULL), 0);
        assert_int_equal(att, 1);
        Helpdesk__V1__OutboxMessage *m = only_entry(e, a);
        assert_int_equal(m->attempts, i + 1);
        assert_int_equal(hd_tickets_ts_ms(m->next_attempt_time), now + delays[i]);
        /* Not due yet: nothing attempted one millisecond early. */
        assert_int_equal(hd_outbox_run_once(&o, now + delays[i] - 1, &att, NULL, NULL), 0);
        assert_int_equal(att, 0);
        now += delays[i];
    }
    assert_int_equal(hd_outbox_run_once(&o, now, &att, NULL, NULL), 0);
    Helpdesk__V1__OutboxMessage *dead = only_entry(e, a);
    assert_int_equal(dead->state, HELPDESK__V1__OUTBOX_STATE__OUTBOX_STATE_DEAD);
    assert_string_equal(dead->last_error, "smtp: 451 try again");
    char first_id[HD_THREAD_ID_MAX];
    snprintf(first_id, sizeof first_id, "%s", f.last_msgid);
    /* Dead letters are never attempted again on their own. */
    assert_int_equal(hd_outbox_run_once(&o, now + 10000000, &att, NULL, NULL), 0);
    assert_int_equal(att, 0);
    Helpdesk__V1__OutboxMessage *m = NULL;
    assert_int_equal(hd_outbox_retry(e->s, a, dead->id, now, &m, NULL), 0);
    f.fail_left = 0;
    assert_int_equal(hd_outbox_run_once(&o, now, &att, &sent, NULL), 0);
    assert_int_equal(sent, 1);
    assert_string_equal(f.last_msgid, first_id);
    assert_int_equal(count(e, HD_STORE_OUTBOX), 0);
    hd_arena_destroy(a);
}

static void permanent_failure_dead_letters_at_once(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    e->mb.acknowledge = 0;
    hd_ingest_args *r1 = ingest_file(e, a, 1, 1, "01_new_plain.eml");
    staff_reply sr = {r1->ticket_id, a};
    assert_int_equal(hd_store_write(e->s, staff_reply_apply, &sr, NULL), 0);
    fake_sink f = {.fail_left = 1, .permanent = true};
    hd_outbox_opts o = {.store = e->s, .thread = &e->tc, .send = fake_send, .send_ud = &f};
    assert_int_equal(hd_outbox_run_once(&o, hd_clock_now_ms(), NULL, NULL, NULL), 0);
    assert_int_equal(only_entry(e, a)->state, HELPDESK__V1__OUTBOX_STATE__OUTBOX_STATE_DEAD);
    hd_arena_destroy(a);
}

static void undeliverable_customer_gets_no_reply_mail(void **state)
{
    env *e = *state;
    hd_arena *a = hd_arena_create(0);
    e->mb.acknowledge = 0;
    hd_ingest_args *r1 = ingest_file(e, a, 1, 1, "01_new_plain.eml");
    seed_ids(e, r1->ticket_id);
    ingest_file(e, a, 1, 2, "13_dsn_bounce.eml");
    staff_reply sr = {r1->ticket_id, a};
    assert_int_equal(hd_store_write(e->s, staff_reply_apply, &sr, NULL), 0);
    assert_int_equal(count(e, HD_STORE_OUTBOX), 0);
    hd_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(corpus_outcomes_match_expected_table, setup, teardown),
        cmocka_unit_test_setup_teardown(refetch_of_same_uid_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(new_uidvalidity_same_message_id_is_duplicate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(missing_message_id_refetched_elsewhere_is_duplicate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reply_to_closed_ticket_opens_linked_follow_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reply_to_solved_ticket_reopens_it, setup, teardown),
        cmocka_unit_test_setup_teardown(closing_records_close_time, setup, teardown),
        cmocka_unit_test_setup_teardown(reply_to_closed_ticket_reopens_within_grace, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reply_one_millisecond_past_grace_opens_a_follow_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(grace_zero_always_opens_a_follow_up, setup, teardown),
        cmocka_unit_test_setup_teardown(grace_counts_from_the_latest_close, setup, teardown),
        cmocka_unit_test_setup_teardown(
            reply_through_a_merge_to_a_closed_target_keeps_the_follow_up, setup, teardown),
        cmocka_unit_test_setup_teardown(forged_reply_token_does_not_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(too_large_message_is_recorded_as_rejected_with_reason,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(staff_reply_on_email_ticket_is_queued_with_thread_headers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            failed_delivery_backs_off_then_dead_letters_and_retry_resends_same_id, setup, teardown),
        cmocka_unit_test_setup_teardown(permanent_failure_dead_letters_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(undeliverable_customer_gets_no_reply_mail, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
