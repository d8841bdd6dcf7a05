/* grpc.health.v1.Health handlers called directly against fake calls (no network). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <string.h>

#include <cmocka.h>

#include "grpc/health/v1/health.pb-c.h"
#include "server/rpc/builtin/health.h"
#include "tests/unit/server/rpc/builtin/fake_rpc.h"

#define SERVING         GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING     GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define SERVICE_UNKNOWN GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN

typedef struct fixture {
    hd_health *h;
    const hd_rpc_method *check;
    const hd_rpc_method *watch;
} fixture;

static int setup(void **state)
{
    static fixture f;
    hd_err err;
    if (hd_health_create(&f.h, &err) != HD_OK)
        return -1;
    size_t n;
    const hd_rpc_method *m = hd_health_methods(f.h, &n);
    if (n != 2)
        return -1;
    f.check = &m[0];
    f.watch = &m[1];
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hd_health_destroy(f->h);
    return 0;
}

/* Runs Check for service; returns the handler's code and the status in *st. */
static int check(const fixture *f, const char *service, int *st)
{
    hd_rpc_call *c = fake_call_new(f->check, 0);
    assert_non_null(c);
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)service;
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    hd_err err;
    hd_err_clear(&err);
    int rc = f->check->unary(c, &req.base, &resp.base, &err);
    *st = resp.status;
    fake_call_free(c);
    return rc;
}

/* Starts Watch for service on c; returns the handler's code. */
static int watch(const fixture *f, hd_rpc_call *c, const char *service)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)service;
    hd_err err;
    hd_err_clear(&err);
    return f->watch->stream(c, &req.base, &err);
}

static int sent_status(hd_rpc_call *c, size_t i)
{
    ProtobufCMessage *m =
        fake_call_sent(c, i, &grpc__health__v1__health_check_response__descriptor);
    assert_non_null(m);
    int st = ((Grpc__Health__V1__HealthCheckResponse *)m)->status;
    protobuf_c_message_free_unpacked(m, NULL);
    return st;
}

static void methods_are_open_check_unary_and_watch_stream(void **state)
{
    const fixture *f = *state;
    assert_string_equal(f->check->path, "/grpc.health.v1.Health/Check");
    assert_int_equal(f->check->kind, HD_RPC_UNARY);
    assert_int_equal(f->check->permission, HD_RPC_OPEN);
    assert_string_equal(f->watch->path, "/grpc.health.v1.Health/Watch");
    assert_int_equal(f->watch->kind, HD_RPC_SERVER_STREAM);
    assert_int_equal(f->watch->permission, HD_RPC_OPEN);
}

static void whole_server_is_serving_after_create(void **state)
{
    int st = -1;
    assert_int_equal(check(*state, "", &st), HD_OK);
    assert_int_equal(st, SERVING);
}

static void check_follows_set(void **state)
{
    const fixture *f = *state;
    int st = -1;
    assert_int_equal(hd_health_set(f->h, "helpdesk.v1.TicketService", true), HD_OK);
    assert_int_equal(check(f, "helpdesk.v1.TicketService", &st), HD_OK);
    assert_int_equal(st, SERVING);
    assert_int_equal(hd_health_set(f->h, "helpdesk.v1.TicketService", false), HD_OK);
    assert_int_equal(check(f, "helpdesk.v1.TicketService", &st), HD_OK);
    assert_int_equal(st, NOT_SERVING);
    assert_int_equal(hd_health_set(f->h, "", false), HD_OK);
    assert_int_equal(check(f, "", &st), HD_OK);
    assert_int_equal(st, NOT_SERVING);
}

static void unknown_service_is_not_found(void **state)
{
    int st = -1;
    assert_int_equal(check(*state, "no.such.Service", &st), HD_ENOTFOUND);
}

static void overlong_service_name_is_rejected(void **state)
{
    const fixture *f = *state;
    char name[HD_HEALTH_NAME_MAX + 2];
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    assert_int_equal(hd_health_set(f->h, name, true), HD_EINVAL);
    name[HD_HEALTH_NAME_MAX] = '\0';
    assert_int_equal(hd_health_set(f->h, name, true), HD_OK);
}

static void watch_sends_current_status_then_each_change_once(void **state)
{
    const fixture *f = *state;
    assert_int_equal(hd_health_set(f->h, "svc", true), HD_OK);
    hd_rpc_call *c = fake_call_new(f->watch, 0);
    assert_int_equal(watch(f, c, "svc"), HD_RPC_ASYNC);
    assert_int_equal(hd_health_watch_count(f->h), 1);
    assert_int_equal(fake_call_sent_count(c), 1);
    assert_int_equal(sent_status(c, 0), SERVING);

    assert_int_equal(hd_health_set(f->h, "svc", false), HD_OK);
    assert_int_equal(hd_health_set(f->h, "svc", false), HD_OK); /* no change: no message */
    assert_int_equal(hd_health_set(f->h, "other", true), HD_OK);
    assert_int_equal(hd_health_set(f->h, "svc", true), HD_OK);
    assert_int_equal(fake_call_sent_count(c), 3);
    assert_int_equal(sent_status(c, 1), NOT_SERVING);
    assert_int_equal(sent_status(c, 2), SERVING);
    assert_int_equal(fake_call_finish_count(c), 0);

    fake_call_cancel(c);
    assert_int_equal(fake_call_finish_count(c), 1);
    assert_int_equal(hd_health_watch_count(f->h), 0);
    assert_int_equal(hd_health_set(f->h, "svc", false), HD_OK);
    assert_int_equal(fake_call_sent_count(c), 3);
    fake_call_free(c);
}

static void watch_of_unknown_service_waits_for_it_to_appear(void **state)
{
    const fixture *f = *state;
    hd_rpc_call *c = fake_call_new(f->watch, 0);
    assert_int_equal(watch(f, c, "later"), HD_RPC_ASYNC);
    assert_int_equal(sent_status(c, 0), SERVICE_UNKNOWN);
    assert_int_equal(hd_health_set(f->h, "later", true), HD_OK);
    assert_int_equal(fake_call_sent_count(c), 2);
    assert_int_equal(sent_status(c, 1), SERVING);
    fake_call_cancel(c);
    assert_int_equal(fake_call_finish_count(c), 1);
    fake_call_free(c);
}

static void client_leaving_during_watch_start_finishes_call_once(void **state)
{
    const fixture *f = *state;
    hd_rpc_call *c = fake_call_new(f->watch, 0);
    fake_call_cancel_at_register(c);
    assert_int_equal(watch(f, c, ""), HD_RPC_ASYNC);
    assert_int_equal(fake_call_finish_count(c), 1);
    assert_int_equal(fake_call_finish_code(c), HD_ECANCELED);
    assert_int_equal(hd_health_watch_count(f->h), 0);
    fake_call_cancel(c); /* a second cancel must not finish again */
    assert_int_equal(fake_call_finish_count(c), 1);
    fake_call_free(c);
}

static void watch_on_cancelled_call_fails_without_registering(void **state)
{
    const fixture *f = *state;
    hd_rpc_call *c = fake_call_new(f->watch, 0);
    fake_call_cancel(c);
    assert_int_equal(watch(f, c, ""), HD_ECANCELED);
    assert_int_equal(hd_health_watch_count(f->h), 0);
    assert_int_equal(fake_call_finish_count(c), 0); /* the server finishes on error */
    fake_call_free(c);
}

static void slow_watcher_is_ended_with_resource_exhausted(void **state)
{
    const fixture *f = *state;
    hd_rpc_call *c = fake_call_new(f->watch, 1);
    assert_int_equal(hd_health_set(f->h, "svc", true), HD_OK);
    assert_int_equal(watch(f, c, "svc"), HD_RPC_ASYNC);
    assert_int_equal(hd_health_set(f->h, "svc", false), HD_OK);
    assert_int_equal(fake_call_finish_count(c), 1);
    assert_int_equal(fake_call_finish_code(c), HD_EFULL);
    assert_int_equal(hd_health_watch_count(f->h), 0);
    fake_call_cancel(c);
    assert_int_equal(fake_call_finish_count(c), 1);
    fake_call_free(c);
}

static void shutdown_ends_every_watch_with_not_serving(void **state)
{
    const fixture *f = *state;
    assert_int_equal(hd_health_set(f->h, "svc", true), HD_OK);
    hd_rpc_call *a = fake_call_new(f->watch, 0);
    hd_rpc_call *b = fake_call_new(f->watch, 0);
    assert_int_equal(watch(f, a, "svc"), HD_RPC_ASYNC);
    assert_int_equal(watch(f, b, ""), HD_RPC_ASYNC);
    assert_int_equal(hd_health_watch_count(f->h), 2);

    hd_health_shutdown(f->h);
    assert_int_equal(hd_health_watch_count(f->h), 0);
    for (int i = 0; i < 2; i++) {
        hd_rpc_call *c = i ? b : a;
        assert_int_equal(fake_call_sent_count(c), 2);
        assert_int_equal(sent_status(c, 1), NOT_SERVING);
        assert_int_equal(fake_call_finish_count(c), 1);
        assert_int_equal(fake_call_finish_code(c), HD_OK);
        fake_call_cancel(c); /* the server cancelling later must not finish again */
        assert_int_equal(fake_call_finish_count(c), 1);
    }
    int st = -1;
    assert_int_equal(check(f, "", &st), HD_OK);
    assert_int_equal(st, NOT_SERVING);
    assert_int_equal(hd_health_set(f->h, "svc", true), HD_ESTATE);

    hd_rpc_call *late = fake_call_new(f->watch, 0);
    assert_int_equal(watch(f, late, "svc"), HD_OK);
    assert_int_equal(sent_status(late, 0), NOT_SERVING);
    assert_int_equal(hd_health_watch_count(f->h), 0);
    fake_call_free(late);
    fake_call_free(a);
    fake_call_free(b);
}

/* --- concurrency: setters and cancelling watchers on several threads ------------------- */

#define RACE_WATCHERS 200
#define RACE_SETS     2000

static void *toggle(void *arg)
{
    hd_health *h = arg;
    for (int i = 0; i < RACE_SETS; i++)
        hd_health_set(h, "race", i & 1);
    return NULL;
}

static void *cancel_all(void *arg)
{
    hd_rpc_call **calls = arg;
    for (int i = 0; i < RACE_WATCHERS; i++)
        fake_call_cancel(calls[i]);
    return NULL;
}

static void racing_sets_and_cancels_finish_each_watch_once(void **state)
{
    const fixture *f = *state;
    static hd_rpc_call *calls[RACE_WATCHERS];
    for (int i = 0; i < RACE_WATCHERS; i++) {
        calls[i] = fake_call_new(f->watch, 0);
        assert_int_equal(watch(f, calls[i], "race"), HD_RPC_ASYNC);
    }
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, toggle, f->h), 0);
    assert_int_equal(pthread_create(&t2, NULL, cancel_all, calls), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(hd_health_watch_count(f->h), 0);
    for (int i = 0; i < RACE_WATCHERS; i++) {
        assert_int_equal(fake_call_finish_count(calls[i]), 1);
        fake_call_free(calls[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(methods_are_open_check_unary_and_watch_stream, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(whole_server_is_serving_after_create, setup, teardown),
        cmocka_unit_test_setup_teardown(check_follows_set, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_service_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(overlong_service_name_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(watch_sends_current_status_then_each_change_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(watch_of_unknown_service_waits_for_it_to_appear, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(client_leaving_during_watch_start_finishes_call_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(watch_on_cancelled_call_fails_without_registering, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(slow_watcher_is_ended_with_resource_exhausted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(shutdown_ends_every_watch_with_not_serving, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(racing_sets_and_cancels_finish_each_watch_once, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
