/* The ticket event bus: filters by assignee and group (before or after the change), order
 * of delivery, a slow watcher dropped with HD_EFULL while the others keep receiving, the
 * exactly-once end of a watcher (dropped vs unsubscribed) and close on shutdown. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/tickets/bus.h"

/* A watcher with a bounded queue of event ids, like a stream's send queue. */
typedef struct fake_watcher {
    uint64_t got[64];
    size_t n, cap;
    int dropped_code; /* 0 = not dropped */
    int drops;
} fake_watcher;

static int deliver(void *ud, const Helpdesk__V1__TicketEvent *ev, const Helpdesk__V1__Ticket *t)
{
    fake_watcher *w = ud;
    (void)t;
    if (w->n == w->cap)
        return HD_EFULL;
    w->got[w->n++] = ev->id;
    return 0;
}

static void dropped(void *ud, int code)
{
    fake_watcher *w = ud;
    w->dropped_code = code;
    w->drops++;
}

/* One committed change of ticket 1 from (assignee a0, group g0) to (a1, g1). */
typedef struct change {
    Helpdesk__V1__TicketEvent ev;
    Helpdesk__V1__Ticket before, after;
    hd_tickets_committed c;
} change;

static void make_change(change *ch, uint64_t ev_id, uint64_t a0, uint64_t a1, uint64_t g0,
                        uint64_t g1)
{
    helpdesk__v1__ticket_event__init(&ch->ev);
    helpdesk__v1__ticket__init(&ch->before);
    helpdesk__v1__ticket__init(&ch->after);
    ch->ev.id = ev_id;
    ch->before.id = ch->after.id = 1;
    ch->before.assignee_id = a0;
    ch->after.assignee_id = a1;
    ch->before.group_id = g0;
    ch->after.group_id = g1;
    memset(&ch->c, 0, sizeof(ch->c));
    ch->c.n = 1;
    ch->c.events[0] = &ch->ev;
    ch->c.before[0] = &ch->before;
    ch->c.after[0] = &ch->after;
}

static hd_tickets_bus *bus_new(void)
{
    hd_tickets_bus *b = NULL;
    hd_err err = {0};
    assert_int_equal(hd_tickets_bus_create(&b, &err), 0);
    return b;
}

static uint64_t sub(hd_tickets_bus *b, fake_watcher *w, uint64_t assignee, uint64_t group)
{
    hd_tickets_watch_filter f = {.assignee_id = assignee, .group_id = group};
    hd_err err = {0};
    uint64_t id = 0;
    assert_int_equal(hd_tickets_bus_subscribe(b, &f, deliver, dropped, w, &id, &err), 0);
    assert_true(id != 0);
    return id;
}

static void watchers_get_events_of_their_assignee_or_group_before_or_after(void **state)
{
    (void)state;
    hd_tickets_bus *b = bus_new();
    fake_watcher all = {.cap = 64}, ada = {.cap = 64}, grp = {.cap = 64};
    sub(b, &all, 0, 0);
    sub(b, &ada, 7, 0);
    sub(b, &grp, 0, 3);
    change ch;
    make_change(&ch, 10, 0, 7, 0, 0); /* assigned to 7 */
    hd_tickets_bus_publish(b, &ch.c);
    make_change(&ch, 11, 7, 8, 3, 3); /* moved from 7 to 8, group 3 */
    hd_tickets_bus_publish(b, &ch.c);
    make_change(&ch, 12, 8, 8, 3, 4); /* 7 no longer involved; left group 3 */
    hd_tickets_bus_publish(b, &ch.c);
    make_change(&ch, 13, 8, 8, 4, 4); /* neither */
    hd_tickets_bus_publish(b, &ch.c);
    assert_int_equal(all.n, 4);
    assert_int_equal(ada.n, 2);
    assert_int_equal(ada.got[0], 10);
    assert_int_equal(ada.got[1], 11);
    assert_int_equal(grp.n, 2);
    assert_int_equal(grp.got[0], 11);
    assert_int_equal(grp.got[1], 12);
    hd_tickets_bus_destroy(b);
}

static void a_slow_watcher_is_dropped_with_efull_and_others_keep_receiving(void **state)
{
    (void)state;
    hd_tickets_bus *b = bus_new();
    fake_watcher slow = {.cap = 3}, fast = {.cap = 64};
    uint64_t slow_id = sub(b, &slow, 0, 0);
    sub(b, &fast, 0, 0);
    change ch;
    for (uint64_t i = 1; i <= 10; i++) {
        make_change(&ch, i, 0, 0, 0, 0);
        hd_tickets_bus_publish(b, &ch.c);
    }
    assert_int_equal(slow.n, 3);
    assert_int_equal(slow.dropped_code, HD_EFULL);
    assert_int_equal(slow.drops, 1);
    assert_int_equal(fast.n, 10);
    assert_int_equal(hd_tickets_bus_watchers(b), 1);
    /* Already dropped: unsubscribing must tell the caller not to end it again. */
    assert_false(hd_tickets_bus_unsubscribe(b, slow_id));
    hd_tickets_bus_destroy(b);
}

static void unsubscribe_ends_delivery_and_reports_removal_once(void **state)
{
    (void)state;
    hd_tickets_bus *b = bus_new();
    fake_watcher w = {.cap = 64};
    uint64_t id = sub(b, &w, 0, 0);
    change ch;
    make_change(&ch, 1, 0, 0, 0, 0);
    hd_tickets_bus_publish(b, &ch.c);
    assert_true(hd_tickets_bus_unsubscribe(b, id));
    assert_false(hd_tickets_bus_unsubscribe(b, id));
    hd_tickets_bus_publish(b, &ch.c);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.drops, 0);
    hd_tickets_bus_destroy(b);
}

static void close_drops_every_watcher_as_unavailable_and_refuses_new_ones(void **state)
{
    (void)state;
    hd_tickets_bus *b = bus_new();
    fake_watcher w1 = {.cap = 64}, w2 = {.cap = 64};
    sub(b, &w1, 0, 0);
    sub(b, &w2, 5, 0);
    hd_tickets_bus_close(b);
    assert_int_equal(w1.dropped_code, HD_EUNAVAIL);
    assert_int_equal(w2.dropped_code, HD_EUNAVAIL);
    assert_int_equal(hd_tickets_bus_watchers(b), 0);
    hd_err err = {0};
    uint64_t id;
    assert_int_equal(hd_tickets_bus_subscribe(b, NULL, deliver, dropped, &w1, &id, &err),
                     HD_EUNAVAIL);
    hd_tickets_bus_destroy(b);
    hd_tickets_bus_publish(NULL, NULL); /* no bus: nothing happens */
}

/* Publishers and subscribers on several threads: every watcher that stays subscribed gets
 * every event published after it subscribed, in order. */
typedef struct pub_arg {
    hd_tickets_bus *b;
    int n;
} pub_arg;

static void *publisher(void *p)
{
    pub_arg *a = p;
    change ch;
    for (int i = 1; i <= a->n; i++) {
        make_change(&ch, (uint64_t)i, 0, 0, 0, 0);
        hd_tickets_bus_publish(a->b, &ch.c);
    }
    return NULL;
}

static void *churner(void *p)
{
    hd_tickets_bus *b = p;
    for (int i = 0; i < 200; i++) {
        fake_watcher w = {.cap = 64};
        uint64_t id = sub(b, &w, 0, 0);
        if (!hd_tickets_bus_unsubscribe(b, id) && w.drops != 1)
            return (void *)1; /* removed without being told */
    }
    return NULL;
}

static void concurrent_publish_and_subscribe_keep_order_and_lose_no_watcher(void **state)
{
    (void)state;
    hd_tickets_bus *b = bus_new();
    fake_watcher steady = {.cap = 64};
    sub(b, &steady, 0, 0);
    pub_arg pa = {b, 60};
    pthread_t tp, tc;
    assert_int_equal(pthread_create(&tp, NULL, publisher, &pa), 0);
    assert_int_equal(pthread_create(&tc, NULL, churner, b), 0);
    void *rc = NULL;
    pthread_join(tp, NULL);
    pthread_join(tc, &rc);
    assert_null(rc);
    assert_int_equal(steady.n, 60);
    for (size_t i = 0; i < steady.n; i++)
        assert_int_equal(steady.got[i], i + 1);
    assert_int_equal(hd_tickets_bus_watchers(b), 1);
    hd_tickets_bus_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(watchers_get_events_of_their_assignee_or_group_before_or_after),
        cmocka_unit_test(a_slow_watcher_is_dropped_with_efull_and_others_keep_receiving),
        cmocka_unit_test(unsubscribe_ends_delivery_and_reports_removal_once),
        cmocka_unit_test(close_drops_every_watcher_as_unavailable_and_refuses_new_ones),
        cmocka_unit_test(concurrent_publish_and_subscribe_keep_order_and_lose_no_watcher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
