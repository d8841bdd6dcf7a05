/* The reports' observer rollups on a real store: hourly created/solved/backlog flows, the
 * backlog gauge through solve and reopen, and CSAT moving when a rating changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/reports/rollups.h"
#include "server/rollup/rollup.h"

#define DAY0          20415LL /* 2025-11-24, a Monday */
#define AT(day, h, m) (((DAY0 + (day)) * 86400 + (h)*3600 + (m)*60) * 1000)

enum { NEW = 1, OPEN = 2, SOLVED = 4, CLOSED = 5 };

typedef struct fixture {
    char dir[64];
    hd_store *store;
    Helpdesk__V1__Ticket prev; /* the ticket as last changed */
    Google__Protobuf__Timestamp created, rated[2];
    Helpdesk__V1__Rating rating[2];
    int has_prev;
} fixture;

typedef struct change {
    const Helpdesk__V1__Ticket *before, *after;
    int64_t now_ms;
} change;

static int apply(hd_txn *txn, void *arg, hd_err *err)
{
    change *ch = arg;
    hd_ticket_change c = {
        .txn = txn, .before = ch->before, .after = ch->after, .now_ms = ch->now_ms};
    return hd_reports_rollups_observe(NULL, &c, err);
}

/* Changes the fixture's ticket to status (and rating r, may be NULL) at now_ms. */
static void step(fixture *f, int status, const Helpdesk__V1__Rating *r, int64_t now_ms)
{
    Helpdesk__V1__Ticket next = f->prev;
    next.status = (Helpdesk__V1__TicketStatus)status;
    next.rating = (Helpdesk__V1__Rating *)r;
    change ch = {f->has_prev ? &f->prev : NULL, &next, now_ms};
    hd_err err;
    assert_int_equal(hd_store_write(f->store, apply, &ch, &err), 0);
    f->prev = next;
    f->has_prev = 1;
}

static uint64_t get(fixture *f, const char *metric, uint32_t day, uint32_t dim)
{
    hd_txn *txn;
    hd_err err;
    uint64_t v;
    assert_int_equal(hd_store_read_begin(f->store, &txn, &err), 0);
    assert_int_equal(hd_rollup_get(txn, metric, day, dim, &v, &err), 0);
    hd_store_read_end(txn);
    return v;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/hd-rr-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    hd_store_opts o = {.path = f->dir, .unsafe_nosync = 1};
    hd_err err;
    assert_int_equal(hd_store_open(&f->store, &o, &err), 0);
    helpdesk__v1__ticket__init(&f->prev);
    google__protobuf__timestamp__init(&f->created);
    f->created.seconds = AT(0, 9, 30) / 1000;
    f->prev.create_time = &f->created;
    f->prev.id = 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hd_store_close(f->store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void create_solve_reopen_count_per_utc_hour_and_move_the_backlog(void **state)
{
    fixture *f = *state;
    step(f, NEW, NULL, AT(0, 9, 30));
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_CREATED_HOUR, DAY0, 9), 1);
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_OPENED_HOUR, DAY0, 9), 1);
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_OPEN, HD_ROLLUP_NOW, 0), 1);
    step(f, OPEN, NULL, AT(0, 11, 0)); /* still in the backlog: no flow */
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_OPENED_HOUR, DAY0, 11), 0);
    step(f, SOLVED, NULL, AT(1, 23, 59));
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_SOLVED_HOUR, DAY0 + 1, 23), 1);
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_CLOSED_HOUR, DAY0 + 1, 23), 1);
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_OPEN, HD_ROLLUP_NOW, 0), 0);
    step(f, CLOSED, NULL, AT(2, 0, 0)); /* solved -> closed: already out of the backlog */
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_CLOSED_HOUR, DAY0 + 2, 0), 0);
    step(f, OPEN, NULL, AT(3, 8, 0)); /* reopened */
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_OPENED_HOUR, DAY0 + 3, 8), 1);
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_OPEN, HD_ROLLUP_NOW, 0), 1);
    step(f, SOLVED, NULL, AT(3, 8, 59));
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_SOLVED_HOUR, DAY0 + 3, 8), 1);
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_CREATED_HOUR, DAY0 + 3, 8), 0);
}

static void a_changed_rating_moves_from_its_old_day_and_score(void **state)
{
    fixture *f = *state;
    step(f, SOLVED, NULL, AT(0, 9, 30));
    for (int i = 0; i < 2; i++) {
        helpdesk__v1__rating__init(&f->rating[i]);
        google__protobuf__timestamp__init(&f->rated[i]);
        f->rating[i].time = &f->rated[i];
    }
    f->rating[0].score = 5;
    f->rated[0].seconds = AT(1, 10, 0) / 1000;
    step(f, SOLVED, &f->rating[0], AT(1, 10, 0));
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_CSAT, DAY0 + 1, 5), 1);
    step(f, SOLVED, &f->rating[0], AT(1, 12, 0)); /* unrelated change: counted once */
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_CSAT, DAY0 + 1, 5), 1);
    f->rating[1].score = 2;
    f->rated[1].seconds = AT(2, 10, 0) / 1000;
    step(f, SOLVED, &f->rating[1], AT(2, 10, 0));
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_CSAT, DAY0 + 1, 5), 0);
    assert_int_equal(get(f, HD_REPORTS_ROLLUP_CSAT, DAY0 + 2, 2), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_solve_reopen_count_per_utc_hour_and_move_the_backlog,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_changed_rating_moves_from_its_old_day_and_score, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
