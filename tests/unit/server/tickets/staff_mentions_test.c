/* The default mention resolver against staff records stored under the staff module's own
 * key builder (so a change of its key layout fails here): email local part, dotted full name and
 * first name match ignoring case; inactive staff and strangers do not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helpdesk/v1/staff.pb-c.h"
#include "server/staff/staff.h"
#include "server/tickets/staff_mentions.h"
#include "tests/unit/server/tickets/fixture.h"

#define CS(x) ((char *)(x))

static int put_staff(hd_txn *txn, void *arg, hd_err *err)
{
    (void)arg;
    static const struct {
        uint64_t id;
        const char *email, *name;
        int active;
    } people[] = {
        {1, "ada@example.com", "Ada Lovelace", 1},
        {2, "grace@example.com", "Grace Hopper", 0},
        {3, "alan.t@example.com", "Alan Turing", 1},
        {4, "ada.b@example.com", "Ada Byron", 1},
    };
    for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++) {
        Helpdesk__V1__Staff s = HELPDESK__V1__STAFF__INIT;
        s.id = people[i].id;
        s.email = CS(people[i].email);
        s.name = CS(people[i].name);
        s.active = people[i].active;
        s.role = HELPDESK__V1__ROLE__ROLE_AGENT;
        hd_key k;
        int rc = hd_store_put_msg(txn, HD_STORE_STAFF, hd_staff_key_id(&k, s.id), &s.base, 0, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

typedef struct look {
    const char *name;
    uint64_t id;
    int rc;
} look;

static int lookup(hd_txn *txn, void *arg, hd_err *err)
{
    look *l = arg;
    l->id = 0;
    l->rc = hd_tickets_staff_mention(NULL, txn, l->name, strlen(l->name), &l->id, err);
    return 0;
}

static void mentions_match_email_local_part_dotted_name_or_first_name_of_active_staff(void **state)
{
    tf_fx *f = *state;
    hd_err err = {0};
    TF_ASSERT_OK(hd_store_write(f->s, put_staff, NULL, &err), err);
    const struct {
        const char *name;
        uint64_t want; /* 0 = not found */
    } cases[] = {
        {"ada", 1},                        /* email local part of 1 (and first name of 1 and 4) */
        {"ADA.lovelace", 1},               /* dotted full name, any case */
        {"alan.t", 3},                     /* email local part */
        {"Alan", 3},                       /* first name */
        {"ada.byron", 4},    {"grace", 0}, /* inactive */
        {"nobody", 0},       {"ad", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        look l = {cases[i].name, 0, 0};
        TF_ASSERT_OK(hd_store_write(f->s, lookup, &l, &err), err);
        if (cases[i].want && (l.rc != 0 || l.id != cases[i].want))
            fail_msg("@%s: rc %s id %llu, want %llu", cases[i].name, hd_errname(l.rc),
                     (unsigned long long)l.id, (unsigned long long)cases[i].want);
        if (!cases[i].want && l.rc != HD_ENOTFOUND)
            fail_msg("@%s: rc %s id %llu, want HD_ENOTFOUND", cases[i].name, hd_errname(l.rc),
                     (unsigned long long)l.id);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            mentions_match_email_local_part_dotted_name_or_first_name_of_active_staff, tf_setup,
            tf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
