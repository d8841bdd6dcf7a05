/* Tokens: bootstrap, issue, check, expiry, revocation and the permission policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/api/perm.h"
#include "server/auth/auth.h"
#include "server/store/store.h"

typedef struct fixture {
    char dir[512];
    hd_store *store;
    hd_auth *auth;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    const char *base = getenv("TEST_TMPDIR");
    snprintf(f->dir, sizeof(f->dir), "%s/authXXXXXX", base ? base : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    char path[600];
    snprintf(path, sizeof(path), "%s/store", f->dir);
    hd_store_opts o = {.path = path, .unsafe_nosync = 1};
    hd_err err;
    assert_int_equal(hd_store_open(&f->store, &o, &err), HD_OK);
    int rc = hd_auth_open(&f->auth, f->store, &err);
    if (rc != HD_OK)
        fail_msg("hd_auth_open: %s: %s", hd_errname(rc), err.detail);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hd_auth_destroy(f->auth);
    hd_store_close(f->store);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int check(fixture *f, const char *token, uint32_t perm, hd_identity *who)
{
    hd_err err;
    hd_err_clear(&err);
    return hd_auth_check(f->auth, token, perm, who, &err);
}

static void bootstrap_writes_a_private_token_file_once(void **state)
{
    fixture *f = *state;
    char file[600], text[HD_AUTH_TOKEN_TEXT_MAX], again[HD_AUTH_TOKEN_TEXT_MAX];
    snprintf(file, sizeof(file), "%s/admin.token", f->dir);
    int created = 0;
    hd_err err;
    assert_int_equal(hd_auth_bootstrap(f->auth, file, text, sizeof(text), &created, &err), 0);
    assert_int_equal(created, 1);
    assert_int_equal(strncmp(text, "hd_", 3), 0);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    FILE *fp = fopen(file, "r");
    char line[128] = {0};
    assert_non_null(fgets(line, sizeof(line), fp));
    fclose(fp);
    line[strcspn(line, "\n")] = '\0';
    assert_string_equal(line, text);

    hd_identity who;
    assert_int_equal(check(f, text, HD_PERM_ADMIN, &who), HD_OK);
    assert_int_equal(who.kind, HD_PRINCIPAL_STAFF);
    assert_int_equal(who.role, HELPDESK__V1__ROLE__ROLE_ADMIN);
    assert_string_equal(who.name, "bootstrap admin");

    assert_int_equal(hd_auth_bootstrap(f->auth, file, again, sizeof(again), &created, &err), 0);
    assert_int_equal(created, 0);
}

static void unknown_malformed_and_missing_tokens_are_unauthenticated(void **state)
{
    fixture *f = *state;
    hd_identity who;
    assert_int_equal(check(f, NULL, HD_PERM_TICKET_READ, &who), HD_EUNAUTH);
    assert_int_equal(check(f, "", HD_PERM_TICKET_READ, &who), HD_EUNAUTH);
    assert_int_equal(check(f, "not-a-token", HD_PERM_TICKET_READ, &who), HD_EUNAUTH);
    /* Right shape, never issued. */
    assert_int_equal(
        check(f, "hd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", HD_PERM_TICKET_READ, &who),
        HD_EUNAUTH);
}

static uint64_t issue(fixture *f, Helpdesk__V1__ApiToken *tmpl, char *text)
{
    uint64_t id = 0;
    hd_err err;
    assert_int_equal(hd_auth_issue(f->auth, tmpl, text, HD_AUTH_TOKEN_TEXT_MAX, &id, &err), 0);
    assert_true(id > 0);
    return id;
}

static void agent_token_reads_tickets_but_is_denied_admin(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__ApiToken t = HELPDESK__V1__API_TOKEN__INIT;
    t.name = (char *)"alice";
    t.principal_kind = HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_STAFF;
    t.principal_id = 7;
    t.role = HELPDESK__V1__ROLE__ROLE_AGENT;
    char text[HD_AUTH_TOKEN_TEXT_MAX];
    issue(f, &t, text);
    hd_identity who;
    assert_int_equal(check(f, text, HD_PERM_TICKET_WRITE, &who), HD_OK);
    assert_int_equal(who.id, 7);
    assert_int_equal(check(f, text, HD_PERM_ADMIN, &who), HD_EPERM);
}

static void service_token_holds_only_its_scopes(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__ApiToken t = HELPDESK__V1__API_TOKEN__INIT;
    char *scopes[] = {(char *)"tickets.read", (char *)"no.such.scope"};
    t.name = (char *)"billing";
    t.principal_kind = HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_SERVICE;
    t.scopes = scopes;
    t.n_scopes = 2;
    char text[HD_AUTH_TOKEN_TEXT_MAX];
    issue(f, &t, text);
    hd_identity who;
    assert_int_equal(check(f, text, HD_PERM_TICKET_READ, &who), HD_OK);
    assert_int_equal(who.kind, HD_PRINCIPAL_SERVICE);
    assert_int_equal(check(f, text, HD_PERM_TICKET_WRITE, &who), HD_EPERM);
    assert_int_equal(check(f, text, HD_PERM_ADMIN, &who), HD_EPERM);
}

static void customer_token_never_reaches_staff_or_admin_methods(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__ApiToken t = HELPDESK__V1__API_TOKEN__INIT;
    t.name = (char *)"carol";
    t.principal_kind = HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_CUSTOMER;
    t.principal_id = 99;
    char text[HD_AUTH_TOKEN_TEXT_MAX];
    issue(f, &t, text);
    hd_identity who;
    assert_int_equal(check(f, text, HD_PERM_TICKET_READ, &who), HD_OK);
    assert_int_equal(who.kind, HD_PRINCIPAL_CUSTOMER);
    assert_int_equal(check(f, text, HD_PERM_STAFF_READ, &who), HD_EPERM);
    assert_int_equal(check(f, text, HD_PERM_ADMIN, &who), HD_EPERM);
}

static void revoked_token_is_refused_on_the_next_call(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__ApiToken t = HELPDESK__V1__API_TOKEN__INIT;
    t.name = (char *)"temp";
    t.principal_kind = HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_STAFF;
    t.role = HELPDESK__V1__ROLE__ROLE_MANAGER;
    char text[HD_AUTH_TOKEN_TEXT_MAX];
    uint64_t id = issue(f, &t, text);
    hd_identity who;
    assert_int_equal(check(f, text, HD_PERM_REPORT_READ, &who), HD_OK);
    hd_err err;
    assert_int_equal(hd_auth_revoke(f->auth, id, &err), HD_OK);
    assert_int_equal(check(f, text, HD_PERM_REPORT_READ, &who), HD_EUNAUTH);
    assert_int_equal(hd_auth_revoke(f->auth, id + 1000, &err), HD_ENOTFOUND);
}

static void expired_token_is_refused(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__ApiToken t = HELPDESK__V1__API_TOKEN__INIT;
    Google__Protobuf__Timestamp past = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Timestamp future = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    past.seconds = time(NULL) - 1;
    future.seconds = time(NULL) + 3600;
    t.name = (char *)"old";
    t.principal_kind = HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_STAFF;
    t.role = HELPDESK__V1__ROLE__ROLE_AGENT;
    t.expire_time = &past;
    char expired[HD_AUTH_TOKEN_TEXT_MAX], valid[HD_AUTH_TOKEN_TEXT_MAX];
    issue(f, &t, expired);
    t.expire_time = &future;
    issue(f, &t, valid);
    hd_identity who;
    assert_int_equal(check(f, expired, HD_PERM_TICKET_READ, &who), HD_EUNAUTH);
    assert_int_equal(check(f, valid, HD_PERM_TICKET_READ, &who), HD_OK);
}

static void the_hashing_key_survives_a_restart(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__ApiToken t = HELPDESK__V1__API_TOKEN__INIT;
    t.name = (char *)"keeps";
    t.principal_kind = HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_STAFF;
    t.role = HELPDESK__V1__ROLE__ROLE_AGENT;
    char text[HD_AUTH_TOKEN_TEXT_MAX];
    issue(f, &t, text);
    hd_auth_destroy(f->auth);
    hd_err err;
    assert_int_equal(hd_auth_open(&f->auth, f->store, &err), HD_OK);
    hd_identity who;
    assert_int_equal(check(f, text, HD_PERM_TICKET_READ, &who), HD_OK);
}

static void role_policy_table(void **state)
{
    (void)state;
    for (uint32_t p = 1; p < HD_PERM__COUNT; p++) {
        assert_true(hd_perm_role_allows(HELPDESK__V1__ROLE__ROLE_ADMIN, p));
        assert_int_equal(hd_perm_role_allows(HELPDESK__V1__ROLE__ROLE_MANAGER, p),
                         p != HD_PERM_ADMIN);
        assert_false(hd_perm_role_allows(HELPDESK__V1__ROLE__ROLE_UNSPECIFIED, p));
    }
    assert_false(hd_perm_role_allows(HELPDESK__V1__ROLE__ROLE_AGENT, HD_PERM_REPORT_READ));
    assert_false(hd_perm_role_allows(HELPDESK__V1__ROLE__ROLE_AGENT, HD_PERM_STAFF_WRITE));
    assert_false(hd_perm_role_allows(HELPDESK__V1__ROLE__ROLE_ADMIN, HD_PERM__COUNT));
    assert_string_equal(hd_perm_name(HD_PERM_TICKET_READ), "tickets.read");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(bootstrap_writes_a_private_token_file_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unknown_malformed_and_missing_tokens_are_unauthenticated,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(agent_token_reads_tickets_but_is_denied_admin, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(service_token_holds_only_its_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(customer_token_never_reaches_staff_or_admin_methods, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(revoked_token_is_refused_on_the_next_call, setup, teardown),
        cmocka_unit_test_setup_teardown(expired_token_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(the_hashing_key_survives_a_restart, setup, teardown),
        cmocka_unit_test(role_policy_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
