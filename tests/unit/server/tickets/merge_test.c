/* Merging as a specification: every message, note and reply draft of the source moves to the target
 * in arrival order, marked with the ticket it came from; the source becomes MERGED pointing at the
 * target; both timelines and both link lists record it; repeating the merge is a no-op; merging
 * into itself, into a closed or merged ticket, or from a closed or already merged ticket is
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/clock/clock.h"
#include "server/tickets/merge.h"
#include "tests/unit/server/tickets/work_fixture.h"

static int merge(wf *f, uint64_t source, uint64_t target, hd_tickets_merge_args *x, hd_err *err)
{
    memset(x, 0, sizeof(*x));
    x->w = wf_work(f);
    x->source_id = source;
    x->target_id = target;
    return wf_run(f, hd_tickets_merge_apply, x, err);
}

typedef struct notes {
    size_t n;
    uint64_t ticket[8], merged_from[8];
} notes;

static int note_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    notes *ns = arg;
    (void)key;
    (void)klen;
    Helpdesk__V1__Note *n = helpdesk__v1__note__unpack(NULL, vlen, val);
    if (!n || ns->n == 8)
        return HD_ECORRUPT;
    ns->ticket[ns->n] = n->ticket_id;
    ns->merged_from[ns->n] = n->merged_from;
    ns->n++;
    helpdesk__v1__note__free_unpacked(n, NULL);
    return 0;
}

static notes notes_of(wf *f, uint64_t ticket)
{
    notes ns = {0};
    hd_txn *txn;
    hd_err err = {0};
    hd_key prefix;
    hd_key_init(&prefix);
    hd_key_u64(&prefix, ticket);
    hd_store_range rg = {.prefix = &prefix};
    wf_ok(hd_store_read_begin(f->s, &txn, &err), err);
    int64_t rc = hd_store_scan(txn, HD_STORE_NOTES, &rg, note_cb, &ns, &err);
    hd_store_read_end(txn);
    assert_true(rc >= 0);
    return ns;
}

static void merge_moves_messages_and_notes_with_provenance(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_merge_args x;
    hd_tickets_thread th;
    uint64_t target = wf_ticket(f, WF_PR(NORMAL), ""); /* message 1 */
    hd_clock_advance_ms(1000);
    uint64_t source = wf_ticket(f, WF_PR(HIGH), ""); /* message 2 */
    hd_clock_advance_ms(1000);
    wf_ok(wf_message(f, target, true, "target reply", &err), err);  /* message 3 */
    wf_ok(wf_message(f, source, false, "source again", &err), err); /* message 4 */
    wf_note(f, source, "source note");
    wf_note(f, target, "target note");

    wf_ok(merge(f, source, target, &x, &err), err);
    assert_int_equal(x.moved_messages, 2);
    assert_int_equal(x.moved_notes, 1);
    assert_int_equal(x.source->status, WF_ST(MERGED));
    assert_int_equal(x.source->merged_into, target);
    assert_int_equal(x.w.committed.n, 2);

    wf_get(f, target, &th);
    assert_int_equal(th.n_messages, 4);
    assert_int_equal(th.ticket->message_count, 4);
    uint64_t want_from[4] = {0, source, 0, source};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(th.messages[i]->id, i + 1); /* arrival order kept */
        assert_int_equal(th.messages[i]->ticket_id, target);
        assert_int_equal(th.messages[i]->merged_from, want_from[i]);
    }
    const Helpdesk__V1__TicketEvent *ev = th.events[th.n_events - 1];
    assert_int_equal(ev->kind, WF_EV(MERGED));
    assert_int_equal(ev->related_ticket_id, source);
    assert_int_equal(th.ticket->n_links, 1);
    assert_int_equal(th.ticket->links[0]->ticket_id, source);
    assert_int_equal(th.ticket->links[0]->kind, HELPDESK__V1__LINK_KIND__LINK_KIND_MERGED_FROM);

    wf_get(f, source, &th);
    assert_int_equal(th.n_messages, 0);
    assert_int_equal(th.ticket->status, WF_ST(MERGED));
    ev = th.events[th.n_events - 1];
    assert_int_equal(ev->kind, WF_EV(MERGED));
    assert_int_equal(ev->related_ticket_id, target);
    assert_int_equal(th.ticket->links[0]->kind, HELPDESK__V1__LINK_KIND__LINK_KIND_MERGED_INTO);

    notes ns = notes_of(f, target);
    assert_int_equal(ns.n, 2);
    assert_int_equal(ns.merged_from[0], source); /* the source's note came first */
    assert_int_equal(ns.merged_from[1], 0);
    assert_int_equal(notes_of(f, source).n, 0);
}

static void repeating_a_merge_changes_nothing(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_merge_args x;
    hd_tickets_thread th;
    uint64_t target = wf_ticket(f, WF_PR(NORMAL), "");
    uint64_t source = wf_ticket(f, WF_PR(NORMAL), "");
    wf_ok(merge(f, source, target, &x, &err), err);
    wf_get(f, target, &th);
    size_t events = th.n_events;
    wf_ok(merge(f, source, target, &x, &err), err);
    assert_int_equal(x.moved_messages, 0);
    assert_int_equal(x.w.committed.n, 0);
    assert_int_equal(x.source->merged_into, target);
    wf_get(f, target, &th);
    assert_int_equal(th.n_events, events);
    assert_int_equal(th.n_messages, 2);
}

static void merges_into_a_merged_chain_keep_the_first_origin(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_merge_args x;
    hd_tickets_thread th;
    uint64_t a = wf_ticket(f, WF_PR(NORMAL), "");
    uint64_t b = wf_ticket(f, WF_PR(NORMAL), "");
    uint64_t c = wf_ticket(f, WF_PR(NORMAL), "");
    wf_ok(merge(f, a, b, &x, &err), err);
    wf_ok(merge(f, b, c, &x, &err), err);
    wf_get(f, c, &th);
    assert_int_equal(th.n_messages, 3);
    assert_int_equal(th.messages[0]->merged_from, a);
    assert_int_equal(th.messages[1]->merged_from, b);
    assert_int_equal(th.messages[2]->merged_from, 0);
}

static int put_draft_apply(hd_txn *txn, void *arg, hd_err *err)
{
    Helpdesk__V1__Draft *d = arg;
    hd_key k;
    return hd_store_put_msg(txn, HD_STORE_DRAFTS, hd_tickets_key_child(&k, d->ticket_id, d->id),
                            &d->base, HD_STORE_NOOVERWRITE, err);
}

/* Writes reply draft id (body) on ticket directly, as ReplyToTicket in draft mode would. */
static void put_draft(wf *f, uint64_t ticket, uint64_t id, const char *body)
{
    Helpdesk__V1__Draft d = HELPDESK__V1__DRAFT__INIT;
    hd_err err = {0};
    d.id = id;
    d.ticket_id = ticket;
    d.author_id = 1;
    d.body = WF_CS(body);
    wf_ok(hd_store_write(f->s, put_draft_apply, &d, &err), err);
}

static void drafts_move_to_the_target_with_provenance(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_merge_args x;
    hd_tickets_thread th;
    uint64_t target = wf_ticket(f, WF_PR(NORMAL), "");
    uint64_t source = wf_ticket(f, WF_PR(NORMAL), "");
    put_draft(f, target, 10, "target draft");
    put_draft(f, source, 11, "source draft");
    put_draft(f, source, 12, "second source draft");

    wf_ok(merge(f, source, target, &x, &err), err);
    assert_int_equal(x.moved_drafts, 2);
    wf_get(f, target, &th);
    assert_int_equal(th.n_drafts, 3);
    uint64_t want_from[3] = {0, source, source};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(th.drafts[i]->id, 10 + i);
        assert_int_equal(th.drafts[i]->ticket_id, target);
        assert_int_equal(th.drafts[i]->merged_from, want_from[i]);
    }
    assert_string_equal(th.drafts[1]->body, "source draft");
    const Helpdesk__V1__TicketEvent *ev = th.events[th.n_events - 1];
    bool fact = false;
    for (size_t i = 0; i < ev->n_changes; i++)
        fact = fact || (strcmp(ev->changes[i]->field, "moved") == 0 &&
                        strstr(ev->changes[i]->after, "2 drafts") != NULL);
    assert_true(fact);
    wf_get(f, source, &th);
    assert_int_equal(th.n_drafts, 0);
}

static void illegal_merges_are_refused(void **state)
{
    wf *f = *state;
    hd_err err = {0};
    hd_tickets_merge_args x;
    uint64_t a = wf_ticket(f, WF_PR(NORMAL), "");
    uint64_t b = wf_ticket(f, WF_PR(NORMAL), "");
    uint64_t c = wf_ticket(f, WF_PR(NORMAL), "");
    uint64_t closed = wf_ticket(f, WF_PR(NORMAL), "");
    wf_ok(wf_status(f, closed, WF_ST(CLOSED), &err), err);

    wf_err(merge(f, a, a, &x, &err), HD_EINVAL, err, "into itself");
    wf_err(merge(f, a, 999, &x, &err), HD_ENOTFOUND, err, "ticket 999");
    wf_err(merge(f, a, closed, &x, &err), HD_ESTATE, err, "is CLOSED");
    wf_err(merge(f, closed, a, &x, &err), HD_ESTATE, err, "cannot be merged");
    wf_ok(merge(f, a, b, &x, &err), err);
    wf_err(merge(f, a, c, &x, &err), HD_ESTATE, err, "already merged into");
    wf_err(merge(f, c, a, &x, &err), HD_ESTATE, err, "is MERGED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(merge_moves_messages_and_notes_with_provenance, wf_setup,
                                        wf_teardown),
        cmocka_unit_test_setup_teardown(repeating_a_merge_changes_nothing, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(merges_into_a_merged_chain_keep_the_first_origin, wf_setup,
                                        wf_teardown),
        cmocka_unit_test_setup_teardown(illegal_merges_are_refused, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(drafts_move_to_the_target_with_provenance, wf_setup,
                                        wf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
