/* The store checker: a store written only through the ticket domain is clean; each kind
 * of damage (lost index entry, stale index entry, counter drift, orphan message) is found
 * and reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/check/check.h"
#include "server/rollup/rollup.h"
#include "server/store/key.h"
#include "server/tickets/tickets.h"
#include "tests/unit/server/tickets/fixture.h"

typedef struct damage {
    int kind;
    uint64_t id;
} damage;

enum { LOSE_NUMBER, STALE_STATUS, DRIFT_ROLLUP, ORPHAN_MESSAGE };

static int apply_damage(hd_txn *txn, void *arg, hd_err *err)
{
    const damage *d = arg;
    hd_key k;
    char num[32];
    switch (d->kind) {
    case LOSE_NUMBER:
        return hd_store_del(txn, HD_STORE_IDX_NUMBER,
                            hd_tickets_key_number(&k, hd_tickets_number(num, sizeof(num), d->id)),
                            err);
    case STALE_STATUS:
        return hd_store_put(txn, HD_STORE_IDX_STATUS, hd_tickets_key_status(&k, 5, 1, d->id), "", 0,
                            0, err);
    case DRIFT_ROLLUP:
        return hd_rollup_add(txn, HD_TICKETS_ROLLUP_STATUS_NOW, HD_ROLLUP_NOW, 1, 1, err);
    default:
        return hd_store_put(txn, HD_STORE_MESSAGES, hd_tickets_key_child(&k, 999999, 1), "x", 1, 0,
                            err);
    }
}

/* Returns the problems found after damage kind (or none for kind < 0) on 5 tickets, with the
 * report in buf. */
static uint64_t check_after(tf_fx *fx, int kind, char *buf, size_t n)
{
    uint64_t ids[5];
    hd_err err = {0};
    tf_create_many(fx->s, 5, ids);
    if (kind >= 0) {
        damage d = {kind, ids[2]};
        TF_ASSERT_OK(hd_store_write(fx->s, apply_damage, &d, &err), err);
    }
    FILE *f = fmemopen(buf, n, "w");
    assert_non_null(f);
    hd_check_result r;
    TF_ASSERT_OK(hd_check_store(&r, fx->s, f, &err), err);
    fclose(f);
    assert_int_equal(r.tickets, 5);
    return r.problems;
}

static void store_written_by_the_domain_has_no_problems(void **state)
{
    char buf[4096] = "";
    assert_int_equal(check_after(*state, -1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
}

static void lost_number_entry_is_reported(void **state)
{
    char buf[4096] = "";
    assert_true(check_after(*state, LOSE_NUMBER, buf, sizeof(buf)) >= 1);
    assert_non_null(strstr(buf, "no number index entry"));
}

static void stale_status_entry_is_reported(void **state)
{
    char buf[4096] = "";
    assert_int_equal(check_after(*state, STALE_STATUS, buf, sizeof(buf)), 1);
    assert_non_null(strstr(buf, "status index has 6 entries, tickets need 5"));
}

static void drifted_rollup_is_reported(void **state)
{
    char buf[4096] = "";
    assert_int_equal(check_after(*state, DRIFT_ROLLUP, buf, sizeof(buf)), 1);
    assert_non_null(strstr(buf, "tickets.status_now[status 1] is 6, recount 5"));
}

static void message_without_ticket_is_reported(void **state)
{
    char buf[4096] = "";
    assert_true(check_after(*state, ORPHAN_MESSAGE, buf, sizeof(buf)) >= 1);
    assert_non_null(strstr(buf, "messages of missing ticket 999999"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(store_written_by_the_domain_has_no_problems, tf_setup,
                                        tf_teardown),
        cmocka_unit_test_setup_teardown(lost_number_entry_is_reported, tf_setup, tf_teardown),
        cmocka_unit_test_setup_teardown(stale_status_entry_is_reported, tf_setup, tf_teardown),
        cmocka_unit_test_setup_teardown(drifted_rollup_is_reported, tf_setup, tf_teardown),
        cmocka_unit_test_setup_teardown(message_without_ticket_is_reported, tf_setup, tf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
