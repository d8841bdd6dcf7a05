/* Staff domain: members, groups, membership index, paging, audit; per-agent metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/audit/audit.h"
#include "server/clock/clock.h"
#include "server/rollup/rollup.h"
#include "server/staff/metrics.h"
#include "server/staff/staff.h"
#include "tests/unit/server/tickets/fixture.h"

typedef struct fx {
    hd_store *s;
    hd_arena *a;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->s = tf_store_open("staff");
    f->a = hd_arena_create(0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    hd_arena_destroy(f->a);
    hd_store_close(f->s);
    free(f);
    return 0;
}

/* Runs expr (which names `oke` as its hd_err *) and fails the test with the detail unless
 * it returns HD_OK. */
#define OKC(expr)                                                                                  \
    do {                                                                                           \
        hd_err oke_;                                                                               \
        hd_err *oke = &oke_;                                                                       \
        int rc_ = (expr);                                                                          \
        if (rc_ != HD_OK)                                                                          \
            fail_msg("%s: %s: %s", #expr, hd_errname(rc_), oke_.detail);                           \
    } while (0)

static uint64_t group(fx *f, const char *name)
{
    Helpdesk__V1__Group *g = NULL;
    OKC(hd_staff_group_create(f->s, f->a, name, "", false, NULL, &g, oke));
    return g->id;
}

static Helpdesk__V1__Staff *member(fx *f, const char *email, int role, uint64_t *groups, size_t n)
{
    Helpdesk__V1__CreateStaffRequest req = HELPDESK__V1__CREATE_STAFF_REQUEST__INIT;
    req.email = (char *)email;
    req.name = (char *)"Someone";
    req.role = role;
    req.group_ids = groups;
    req.n_group_ids = n;
    Helpdesk__V1__Staff *s = NULL;
    OKC(hd_staff_create(f->s, f->a, &req, NULL, &s, oke));
    return s;
}

static void members_of(fx *f, uint64_t gid, uint64_t **ids, size_t *n)
{
    hd_txn *txn;
    hd_err e;
    assert_int_equal(hd_store_read_begin(f->s, &txn, &e), HD_OK);
    assert_int_equal(hd_staff_group_members(txn, f->a, gid, ids, n, &e), HD_OK);
    hd_store_read_end(txn);
}

static void create_normalises_email_and_rejects_duplicates_and_unknown_groups(void **state)
{
    fx *f = *state;
    uint64_t g = group(f, "billing");
    uint64_t gs[] = {g, g};
    Helpdesk__V1__Staff *s = member(f, "Ann@Example.COM", HELPDESK__V1__ROLE__ROLE_AGENT, gs, 2);
    assert_string_equal(s->email, "ann@example.com");
    assert_true(s->active);
    assert_int_equal(s->n_group_ids, 1);

    Helpdesk__V1__CreateStaffRequest req = HELPDESK__V1__CREATE_STAFF_REQUEST__INIT;
    req.email = (char *)"ANN@example.com";
    req.name = (char *)"Again";
    req.role = HELPDESK__V1__ROLE__ROLE_AGENT;
    hd_err err;
    Helpdesk__V1__Staff *out = NULL;
    assert_int_equal(hd_staff_create(f->s, f->a, &req, NULL, &out, &err), HD_EEXIST);
    req.email = (char *)"bob@example.com";
    uint64_t missing = 99;
    req.group_ids = &missing;
    req.n_group_ids = 1;
    assert_int_equal(hd_staff_create(f->s, f->a, &req, NULL, &out, &err), HD_ENOTFOUND);
    assert_non_null(strstr(err.detail, "group_ids"));
    req.n_group_ids = 0;
    req.role = 0;
    assert_int_equal(hd_staff_create(f->s, f->a, &req, NULL, &out, &err), HD_EINVAL);
    assert_non_null(strstr(err.detail, "role"));
    req.role = HELPDESK__V1__ROLE__ROLE_AGENT;
    req.password = (char *)"short";
    assert_int_equal(hd_staff_create(f->s, f->a, &req, NULL, &out, &err), HD_EINVAL);
    assert_non_null(strstr(err.detail, "password"));
}

static void membership_index_follows_joins_leaves_and_updates(void **state)
{
    fx *f = *state;
    uint64_t g1 = group(f, "one"), g2 = group(f, "two");
    Helpdesk__V1__Staff *s = member(f, "a@example.com", HELPDESK__V1__ROLE__ROLE_AGENT, &g1, 1);
    member(f, "b@example.com", HELPDESK__V1__ROLE__ROLE_AGENT, &g1, 1);
    uint64_t *ids;
    size_t n;
    members_of(f, g1, &ids, &n);
    assert_int_equal(n, 2);
    Helpdesk__V1__Staff *out = NULL;
    OKC(hd_staff_membership(f->s, f->a, g2, s->id, true, NULL, &out, oke));
    assert_int_equal(out->n_group_ids, 2);
    OKC(hd_staff_membership(f->s, f->a, g1, s->id, false, NULL, &out, oke));
    members_of(f, g1, &ids, &n);
    assert_int_equal(n, 1);
    members_of(f, g2, &ids, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], s->id);

    Helpdesk__V1__Staff upd = HELPDESK__V1__STAFF__INIT;
    upd.id = s->id;
    upd.group_ids = &g1;
    upd.n_group_ids = 1;
    const char *mask[] = {"group_ids"};
    OKC(hd_staff_update(f->s, f->a, &upd, mask, 1, NULL, NULL, &out, oke));
    members_of(f, g2, &ids, &n);
    assert_int_equal(n, 0);
    members_of(f, g1, &ids, &n);
    assert_int_equal(n, 2);
}

static void empty_mask_update_never_deactivates(void **state)
{
    fx *f = *state;
    Helpdesk__V1__Staff *s = member(f, "c@example.com", HELPDESK__V1__ROLE__ROLE_AGENT, NULL, 0);
    Helpdesk__V1__Staff upd = HELPDESK__V1__STAFF__INIT, *out = NULL;
    upd.id = s->id;
    upd.name = (char *)"Renamed";
    upd.capacity = 5;
    OKC(hd_staff_update(f->s, f->a, &upd, NULL, 0, NULL, NULL, &out, oke));
    assert_true(out->active);
    assert_string_equal(out->name, "Renamed");
    assert_int_equal(out->capacity, 5);
    const char *bad[] = {"email"};
    hd_err err;
    assert_int_equal(hd_staff_update(f->s, f->a, &upd, bad, 1, NULL, NULL, &out, &err), HD_EINVAL);
    OKC(hd_staff_deactivate(f->s, f->a, s->id, NULL, &out, oke));
    assert_false(out->active);
}

static void list_pages_by_id_and_hides_inactive(void **state)
{
    fx *f = *state;
    char email[32];
    uint64_t last = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(email, sizeof(email), "p%d@example.com", i);
        last = member(f, email, HELPDESK__V1__ROLE__ROLE_AGENT, NULL, 0)->id;
    }
    Helpdesk__V1__Staff *out;
    OKC(hd_staff_deactivate(f->s, f->a, last, NULL, &out, oke));
    Helpdesk__V1__ListStaffRequest req = HELPDESK__V1__LIST_STAFF_REQUEST__INIT;
    Helpdesk__V1__ListStaffResponse resp = HELPDESK__V1__LIST_STAFF_RESPONSE__INIT;
    req.page_size = 2;
    size_t seen = 0;
    uint64_t prev = 0;
    for (int page = 0; page < 10; page++) {
        OKC(hd_staff_list(f->s, f->a, &req, &resp, oke));
        for (size_t i = 0; i < resp.n_staff; i++) {
            assert_true(resp.staff[i]->id > prev);
            assert_true(resp.staff[i]->active);
            prev = resp.staff[i]->id;
            seen++;
        }
        if (!*resp.next_page_token)
            break;
        req.page_token = resp.next_page_token;
    }
    assert_int_equal(seen, 4);
}

static void group_names_are_unique_and_changes_are_audited(void **state)
{
    fx *f = *state;
    group(f, "ops");
    Helpdesk__V1__Group *g = NULL;
    hd_err err;
    assert_int_equal(hd_staff_group_create(f->s, f->a, "ops", "", false, NULL, &g, &err),
                     HD_EEXIST);
    member(f, "d@example.com", HELPDESK__V1__ROLE__ROLE_MANAGER, NULL, 0);
    Helpdesk__V1__ListAuditEventsResponse ev = HELPDESK__V1__LIST_AUDIT_EVENTS_RESPONSE__INIT;
    OKC(hd_audit_list(f->s, f->a, 0, "", &ev, oke));
    assert_int_equal(ev.n_events, 2);
    assert_string_equal(ev.events[0]->action, "staff.create"); /* newest first */
    assert_string_equal(ev.events[1]->action, "group.create");
}

/* ---- metrics observer ------------------------------------------------------------------ */

typedef struct obs_arg {
    hd_ticket_change c;
} obs_arg;

static int obs_apply(hd_txn *txn, void *argp, hd_err *err)
{
    obs_arg *o = argp;
    o->c.txn = txn;
    return hd_staff_metrics_observe(NULL, &o->c, err);
}

static Google__Protobuf__Timestamp ts(int64_t ms)
{
    Google__Protobuf__Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    t.seconds = ms / 1000;
    return t;
}

static void metrics_count_open_load_solves_and_first_response(void **state)
{
    fx *f = *state;
    int64_t now = 1764000000000LL;
    Google__Protobuf__Timestamp created = ts(now), replied = ts(now + 600 * 1000);
    Helpdesk__V1__Ticket b = HELPDESK__V1__TICKET__INIT, a = HELPDESK__V1__TICKET__INIT;
    a.id = b.id = 1;
    a.create_time = b.create_time = &created;
    a.status = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_OPEN;
    a.assignee_id = 7;
    obs_arg o = {.c = {.before = NULL, .after = &a, .now_ms = now}};
    OKC(hd_store_write(f->s, obs_apply, &o, oke));

    /* first staff reply after 10 minutes, by agent 7 */
    b = a;
    a.first_response_time = &replied;
    Helpdesk__V1__Message msg = HELPDESK__V1__MESSAGE__INIT;
    msg.author_kind = HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF;
    msg.author_id = 7;
    o.c = (hd_ticket_change){.before = &b, .after = &a, .message = &msg, .now_ms = now};
    OKC(hd_store_write(f->s, obs_apply, &o, oke));

    /* reassigned to 8, then solved */
    b = a;
    a.assignee_id = 8;
    o.c = (hd_ticket_change){.before = &b, .after = &a, .now_ms = now};
    OKC(hd_store_write(f->s, obs_apply, &o, oke));
    b = a;
    a.status = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED;
    OKC(hd_store_write(f->s, obs_apply, &o, oke));

    Helpdesk__V1__AgentMetrics m7 = HELPDESK__V1__AGENT_METRICS__INIT;
    Helpdesk__V1__AgentMetrics m8 = HELPDESK__V1__AGENT_METRICS__INIT;
    OKC(hd_staff_metrics_get(f->s, 7, now, &m7, oke));
    OKC(hd_staff_metrics_get(f->s, 8, now, &m8, oke));
    assert_int_equal(m7.open, 0);
    assert_int_equal(m7.first_responses_7d, 1);
    assert_int_equal(m7.median_first_response_seconds, 900); /* the 5-15 min bucket */
    assert_int_equal(m8.open, 0);
    assert_int_equal(m8.solved_today, 1);
    assert_int_equal(m8.solved_7d, 1);
    assert_int_equal(m8.first_responses_7d, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            create_normalises_email_and_rejects_duplicates_and_unknown_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(membership_index_follows_joins_leaves_and_updates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(empty_mask_update_never_deactivates, setup, teardown),
        cmocka_unit_test_setup_teardown(list_pages_by_id_and_hides_inactive, setup, teardown),
        cmocka_unit_test_setup_teardown(group_names_are_unique_and_changes_are_audited, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(metrics_count_open_load_solves_and_first_response, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
