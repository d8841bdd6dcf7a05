/* Login throttling: failures per account and per peer address, delays that double, success
 * clearing the account, counters that survive a restart, refusals that skip argon2id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/auth/auth.h"
#include "server/auth/throttle.h"
#include "server/clock/clock.h"
#include "server/staff/staff.h"
#include "server/store/store.h"

#define T0 1800000000000LL

typedef struct fixture {
    char dir[512];
    char path[600];
    hd_store *store;
    hd_auth *auth;
} fixture;

static void open_all(fixture *f)
{
    hd_store_opts o = {.path = f->path, .unsafe_nosync = 1};
    hd_err err;
    assert_int_equal(hd_store_open(&f->store, &o, &err), HD_OK);
    int rc = hd_auth_open(&f->auth, f->store, &err);
    if (rc != HD_OK)
        fail_msg("hd_auth_open: %s: %s", hd_errname(rc), err.detail);
}

static void close_all(fixture *f)
{
    hd_auth_destroy(f->auth);
    hd_store_close(f->store);
    f->auth = NULL;
    f->store = NULL;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    const char *base = getenv("TEST_TMPDIR");
    snprintf(f->dir, sizeof(f->dir), "%s/thrXXXXXX", base ? base : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/store", f->dir);
    hd_clock_set_test_ms(T0);
    open_all(f);
    hd_arena *a = hd_arena_create(1024);
    Helpdesk__V1__CreateStaffRequest req = HELPDESK__V1__CREATE_STAFF_REQUEST__INIT;
    req.email = (char *)"gina@example.com";
    req.name = (char *)"Gina";
    req.role = HELPDESK__V1__ROLE__ROLE_AGENT;
    req.password = (char *)"correct horse battery";
    Helpdesk__V1__Staff *s = NULL;
    hd_err err;
    int rc = hd_staff_create(f->store, a, &req, NULL, &s, &err);
    if (rc != HD_OK)
        fail_msg("hd_staff_create: %s: %s", hd_errname(rc), err.detail);
    hd_arena_destroy(a);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    close_all(f);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* One login attempt; returns its code and copies the detail into detail (n bytes). */
static int attempt(fixture *f, const char *email, const char *pw, const char *peer, char *detail,
                   size_t n)
{
    hd_arena *a = hd_arena_create(1024);
    char text[HD_AUTH_TOKEN_TEXT_MAX];
    hd_err err;
    hd_err_clear(&err);
    int rc = hd_auth_login_from(f->auth, a, email, pw, peer, 0, text, sizeof(text), NULL, &err);
    if (detail)
        snprintf(detail, n, "%s", err.detail);
    hd_arena_destroy(a);
    return rc;
}

static void fail_times(fixture *f, const char *email, const char *peer, int n)
{
    for (int i = 0; i < n; i++) {
        char d[256];
        int rc = attempt(f, email, "wrong password", peer, d, sizeof(d));
        if (rc != HD_EUNAUTH)
            fail_msg("failure %d of %d: expected HD_EUNAUTH, got %s: %s", i + 1, n, hd_errname(rc),
                     d);
    }
}

static void delay_doubles_after_the_free_failures_and_is_capped(void **state)
{
    (void)state;
    assert_int_equal(hd_throttle_delay_ms(0, 5), 0);
    assert_int_equal(hd_throttle_delay_ms(4, 5), 0);
    assert_int_equal(hd_throttle_delay_ms(5, 5), 1000);
    assert_int_equal(hd_throttle_delay_ms(6, 5), 2000);
    assert_int_equal(hd_throttle_delay_ms(9, 5), 16000);
    assert_int_equal(hd_throttle_delay_ms(30, 5), HD_THROTTLE_WINDOW_MS);
    assert_int_equal(hd_throttle_delay_ms(UINT32_MAX, 5), HD_THROTTLE_WINDOW_MS);
}

static void account_is_refused_after_five_failures_even_with_the_right_password(void **state)
{
    fixture *f = *state;
    fail_times(f, "gina@example.com", "10.0.0.1", HD_THROTTLE_ACCOUNT_FREE);
    char d[256];
    assert_int_equal(
        attempt(f, "gina@example.com", "correct horse battery", "10.0.0.2", d, sizeof(d)),
        HD_EFULL);
    assert_non_null(strstr(d, "retry in 1 s"));
    /* Once the delay has passed the right password works and clears the count. */
    hd_clock_advance_ms(1000);
    assert_int_equal(
        attempt(f, "GINA@example.com", "correct horse battery", "10.0.0.2", d, sizeof(d)), HD_OK);
    fail_times(f, "gina@example.com", "10.0.0.3", HD_THROTTLE_ACCOUNT_FREE - 1);
    assert_int_equal(
        attempt(f, "gina@example.com", "correct horse battery", "10.0.0.3", d, sizeof(d)), HD_OK);
}

static void each_failure_past_the_limit_doubles_the_wait(void **state)
{
    fixture *f = *state;
    fail_times(f, "gina@example.com", NULL, HD_THROTTLE_ACCOUNT_FREE);
    char d[256];
    int64_t want[] = {1, 2, 4, 8};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char exp[64];
        snprintf(exp, sizeof(exp), "retry in %lld s", (long long)want[i]);
        assert_int_equal(attempt(f, "gina@example.com", "wrong", NULL, d, sizeof(d)), HD_EFULL);
        if (!strstr(d, exp))
            fail_msg("step %zu: want '%s' in '%s'", i, exp, d);
        hd_clock_advance_ms(want[i] * 1000);
        fail_times(f, "gina@example.com", NULL, 1); /* allowed again, and counted */
    }
}

static void unknown_emails_are_throttled_like_real_ones(void **state)
{
    fixture *f = *state;
    fail_times(f, "nobody@example.com", NULL, HD_THROTTLE_ACCOUNT_FREE);
    char d[256];
    assert_int_equal(attempt(f, "nobody@example.com", "x", NULL, d, sizeof(d)), HD_EFULL);
    /* Another account is unaffected. */
    assert_int_equal(attempt(f, "gina@example.com", "correct horse battery", NULL, d, sizeof(d)),
                     HD_OK);
}

static void one_address_guessing_many_accounts_is_throttled(void **state)
{
    fixture *f = *state;
    char email[64], d[256];
    for (int i = 0; i < HD_THROTTLE_PEER_FREE; i++) {
        snprintf(email, sizeof(email), "user%d@example.com", i);
        fail_times(f, email, "192.0.2.7", 1);
    }
    assert_int_equal(
        attempt(f, "gina@example.com", "correct horse battery", "192.0.2.7", d, sizeof(d)),
        HD_EFULL);
    /* The same account from another address still works. */
    assert_int_equal(
        attempt(f, "gina@example.com", "correct horse battery", "192.0.2.8", d, sizeof(d)), HD_OK);
}

static void failures_survive_a_restart_and_expire_after_the_window(void **state)
{
    fixture *f = *state;
    fail_times(f, "gina@example.com", NULL, HD_THROTTLE_ACCOUNT_FREE);
    hd_clock_advance_ms(1000);
    fail_times(f, "gina@example.com", NULL, 1); /* now 2 s owed */
    close_all(f);
    open_all(f);
    char d[256];
    assert_int_equal(attempt(f, "gina@example.com", "correct horse battery", NULL, d, sizeof(d)),
                     HD_EFULL);
    assert_non_null(strstr(d, "retry in 2 s"));
    hd_clock_advance_ms(HD_THROTTLE_WINDOW_MS);
    assert_int_equal(attempt(f, "gina@example.com", "correct horse battery", NULL, d, sizeof(d)),
                     HD_OK);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A refusal must not run argon2id (~20 ms; far more under ASan): 20 refusals take less time
 * than the 5 verified failures before them. */
static void throttled_attempts_skip_the_password_hash(void **state)
{
    fixture *f = *state;
    double t0 = now_s();
    fail_times(f, "gina@example.com", NULL, HD_THROTTLE_ACCOUNT_FREE);
    double verified = now_s() - t0;
    t0 = now_s();
    for (int i = 0; i < 20; i++)
        assert_int_equal(attempt(f, "gina@example.com", "wrong", NULL, NULL, 0), HD_EFULL);
    double refused = now_s() - t0;
    if (refused >= verified)
        fail_msg("20 refusals took %.1f ms, 5 verifications %.1f ms", refused * 1e3,
                 verified * 1e3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(delay_doubles_after_the_free_failures_and_is_capped),
        cmocka_unit_test_setup_teardown(
            account_is_refused_after_five_failures_even_with_the_right_password, setup, teardown),
        cmocka_unit_test_setup_teardown(each_failure_past_the_limit_doubles_the_wait, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unknown_emails_are_throttled_like_real_ones, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(one_address_guessing_many_accounts_is_throttled, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(failures_survive_a_restart_and_expire_after_the_window,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(throttled_attempts_skip_the_password_hash, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
