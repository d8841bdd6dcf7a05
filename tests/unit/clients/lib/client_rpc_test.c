/* The client library against the real serving core (//server/rpc:rpc) with test handlers:
 * the contract the CLI and reporter rely on, end to end (auth, request id, error mapping,
 * deadlines, streams). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clients/lib/client.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "server/rpc/rpc.h"

static int test_auth(void *ud, const char *token, uint32_t permission, hd_identity *who,
                     hd_err *err)
{
    (void)ud;
    (void)permission;
    if (!token || strcmp(token, "good-token") != 0)
        return hd_err_set(err, HD_EUNAUTH, "bad or missing token");
    who->kind = HD_PRINCIPAL_STAFF;
    who->id = 7;
    snprintf(who->name, sizeof(who->name), "agent-7");
    return HD_OK;
}

/* Echo: id back, the request id the server saw in number, the caller in subject-less
 * GetTicketRequest fields. */
static int h_echo(hd_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp,
                  hd_err *err)
{
    (void)err;
    const Helpdesk__V1__GetTicketRequest *r = (const void *)req;
    Helpdesk__V1__GetTicketRequest *out = (void *)resp;
    out->id = r->id * 10 + hd_rpc_call_identity(call)->id;
    out->number = hd_arena_strdup(hd_rpc_call_arena(call), hd_rpc_call_request_id(call));
    return HD_OK;
}

static int h_missing(hd_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp,
                     hd_err *err)
{
    (void)call;
    (void)resp;
    return hd_err_set(err, HD_ENOTFOUND, "ticket %llu does not exist",
                      (unsigned long long)((const Helpdesk__V1__GetTicketRequest *)req)->id);
}

static void hang_cancelled(void *arg)
{
    hd_err err;
    hd_err_set(&err, HD_ECANCELED, "gone");
    hd_rpc_finish(arg, &err);
}

static int h_hang(hd_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp,
                  hd_err *err)
{
    (void)req;
    (void)resp;
    (void)err;
    hd_rpc_call_on_cancel(call, hang_cancelled, call);
    return HD_RPC_ASYNC;
}

static int h_count(hd_rpc_call *call, const ProtobufCMessage *req, hd_err *err)
{
    const Helpdesk__V1__GetTicketRequest *r = (const void *)req;
    for (uint64_t i = 1; i <= r->id; i++) {
        Helpdesk__V1__GetTicketRequest m = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
        m.id = i;
        int rc = hd_rpc_stream_send(call, &m.base);
        if (rc != HD_OK)
            return hd_err_set(err, rc, "stream send failed at %llu", (unsigned long long)i);
    }
    return HD_OK;
}

/* A quiet stream, like a watch with nothing happening: one message, then nothing until the
 * client goes away (ended by the cancel callback, as WatchTickets is). */
static int h_quiet(hd_rpc_call *call, const ProtobufCMessage *req, hd_err *err)
{
    (void)req;
    Helpdesk__V1__GetTicketRequest m = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    m.id = 1;
    if (hd_rpc_stream_send(call, &m.base) != HD_OK)
        return hd_err_set(err, HD_ECANCELED, "gone before the first message");
    hd_rpc_call_on_cancel(call, hang_cancelled, call);
    return HD_RPC_ASYNC;
}

#define GTR &helpdesk__v1__get_ticket_request__descriptor

static const hd_rpc_method methods[] = {
    {"/test.v1.T/Echo", HD_RPC_UNARY, GTR, GTR, h_echo, NULL, 1},
    {"/test.v1.T/Missing", HD_RPC_UNARY, GTR, GTR, h_missing, NULL, 1},
    {"/test.v1.T/Hang", HD_RPC_UNARY, GTR, GTR, h_hang, NULL, 1},
    {"/test.v1.T/Count", HD_RPC_SERVER_STREAM, GTR, GTR, NULL, h_count, 1},
    {"/test.v1.T/Quiet", HD_RPC_SERVER_STREAM, GTR, GTR, NULL, h_quiet, 1},
};

typedef struct fixture {
    hd_rpc_server *srv;
    hd_client *cl;
    hd_arena *arena;
    char target[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    hd_err err;
    hd_rpc_config cfg = {.listen = "127.0.0.1:0", .workers = 2, .auth = test_auth};
    assert_int_equal(hd_rpc_server_create(&f->srv, &cfg, &err), HD_OK);
    assert_int_equal(
        hd_rpc_server_add_methods(f->srv, methods, sizeof(methods) / sizeof(methods[0]), &err),
        HD_OK);
    assert_int_equal(hd_rpc_server_start(f->srv, &err), HD_OK);
    snprintf(f->target, sizeof(f->target), "127.0.0.1:%d", hd_rpc_server_port(f->srv));
    hd_client_opts o = {.target = f->target, .token = "good-token"};
    assert_int_equal(hd_client_open(&f->cl, &o, &err), HD_OK);
    f->arena = hd_arena_create(0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hd_client_close(f->cl);
    hd_rpc_server_destroy(f->srv);
    hd_arena_destroy(f->arena);
    free(f);
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int call(fixture *f, hd_client *cl, const char *method, uint64_t id, int timeout_ms,
                Helpdesk__V1__GetTicketRequest **out, hd_client_status *st)
{
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    req.id = id;
    ProtobufCMessage *resp = NULL;
    int rc =
        hd_client_unary(cl ? cl : f->cl, method, &req.base, GTR, f->arena, timeout_ms, &resp, st);
    if (out)
        *out = (Helpdesk__V1__GetTicketRequest *)resp;
    return rc;
}

static void authorised_call_reaches_handler_with_identity_and_request_id(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__GetTicketRequest *resp = NULL;
    hd_client_status st;
    assert_int_equal(call(f, NULL, "/test.v1.T/Echo", 4, 2000, &resp, &st), HD_OK);
    assert_int_equal(resp->id, 47); /* 4 * 10 + staff id 7 */
    assert_string_equal(resp->number, st.request_id);
}

static void missing_or_wrong_token_is_unauthenticated_exit_3(void **state)
{
    fixture *f = *state;
    hd_client *anon = NULL, *wrong = NULL;
    hd_err err;
    hd_client_opts a = {.target = f->target};
    hd_client_opts w = {.target = f->target, .token = "bad-token"};
    assert_int_equal(hd_client_open(&anon, &a, &err), HD_OK);
    assert_int_equal(hd_client_open(&wrong, &w, &err), HD_OK);
    hd_client_status st;
    assert_int_equal(call(f, anon, "/test.v1.T/Echo", 1, 2000, NULL, &st), HD_EUNAUTH);
    assert_string_equal(st.name, "UNAUTHENTICATED");
    assert_int_equal(hd_client_exit_code(st.code), 3);
    assert_int_equal(call(f, wrong, "/test.v1.T/Echo", 1, 2000, NULL, &st), HD_EUNAUTH);
    hd_client_close(anon);
    hd_client_close(wrong);
}

static void handler_not_found_arrives_as_NOT_FOUND_with_detail(void **state)
{
    fixture *f = *state;
    hd_client_status st;
    assert_int_equal(call(f, NULL, "/test.v1.T/Missing", 9, 2000, NULL, &st), HD_ENOTFOUND);
    assert_string_equal(st.name, "NOT_FOUND");
    assert_non_null(strstr(st.detail, "ticket 9 does not exist"));
    assert_int_equal(hd_client_exit_code(st.code), 2);
}

static void unknown_method_is_UNIMPLEMENTED(void **state)
{
    fixture *f = *state;
    hd_client_status st;
    assert_int_equal(call(f, NULL, "/test.v1.T/Nope", 1, 2000, NULL, &st), HD_EUNIMPL);
    assert_string_equal(st.name, "UNIMPLEMENTED");
}

static void slow_handler_past_deadline_is_DEADLINE_EXCEEDED(void **state)
{
    fixture *f = *state;
    hd_client_status st;
    double t0 = now_ms();
    assert_int_equal(call(f, NULL, "/test.v1.T/Hang", 1, 300, NULL, &st), HD_ETIMEDOUT);
    double took = now_ms() - t0;
    assert_string_equal(st.name, "DEADLINE_EXCEEDED");
    assert_true(took >= 250);
    assert_true(took < 3000);
    /* The server released the call (its cancel callback ran). */
    for (int i = 0; i < 200 && hd_rpc_server_active_calls(f->srv) > 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(hd_rpc_server_active_calls(f->srv), 0);
}

typedef struct seen {
    uint64_t n, last;
    uint64_t stop_at;
} seen;

static int on_msg(void *ud, const ProtobufCMessage *m)
{
    seen *s = ud;
    s->n++;
    s->last = ((const Helpdesk__V1__GetTicketRequest *)m)->id;
    return s->stop_at && s->n >= s->stop_at;
}

static void server_stream_arrives_in_order_and_can_be_stopped(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    hd_client_status st;
    seen s = {0};
    req.id = 40;
    assert_int_equal(
        hd_client_server_stream(f->cl, "/test.v1.T/Count", &req.base, GTR, 2000, on_msg, &s, &st),
        HD_OK);
    assert_int_equal(s.n, 40);
    assert_int_equal(s.last, 40);

    seen s2 = {.stop_at = 5};
    req.id = 500;
    assert_int_equal(
        hd_client_server_stream(f->cl, "/test.v1.T/Count", &req.base, GTR, 2000, on_msg, &s2, &st),
        HD_OK);
    assert_int_equal(s2.n, 5);
}

static volatile sig_atomic_t alarm_seen;

static void on_alarm(int signo)
{
    alarm_seen = signo;
}

static void wait_server_idle(fixture *f)
{
    for (int i = 0; i < 500 && hd_rpc_server_active_calls(f->srv) > 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(hd_rpc_server_active_calls(f->srv), 0);
}

static void a_signal_during_a_quiet_stream_cancels_it_promptly(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    hd_client_status st;
    seen s = {0};
    struct sigaction sa, old;
    struct itimerval in300 = {.it_value = {0, 300 * 1000}};
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    alarm_seen = 0;
    assert_int_equal(setitimer(ITIMER_REAL, &in300, NULL), 0);
    double t0 = now_ms();
    int rc = hd_client_server_stream_until(f->cl, "/test.v1.T/Quiet", &req.base, GTR, 0, on_msg, &s,
                                           &alarm_seen, &st);
    double took = now_ms() - t0;
    sigaction(SIGALRM, &old, NULL);
    assert_int_equal(rc, HD_ECANCELED);
    assert_int_equal(alarm_seen, SIGALRM);
    assert_string_equal(st.name, "CANCELLED");
    assert_string_equal(st.detail, "client: interrupted");
    assert_int_equal(s.n, 1); /* the stream was open and quiet when the signal came */
    assert_true(took >= 250);
    assert_true(took < 3000); /* not the handler's 20 s */
    wait_server_idle(f);
}

static void a_stop_flag_already_set_ends_the_stream_before_any_message(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    hd_client_status st;
    seen s = {0};
    volatile sig_atomic_t stop = SIGTERM;
    req.id = 40;
    assert_int_equal(hd_client_server_stream_until(f->cl, "/test.v1.T/Count", &req.base, GTR, 0,
                                                   on_msg, &s, &stop, &st),
                     HD_ECANCELED);
    assert_string_equal(st.name, "CANCELLED");
    assert_int_equal(s.n, 0);
    wait_server_idle(f);
}

static void stopped_server_is_UNAVAILABLE(void **state)
{
    fixture *f = *state;
    hd_client_status st;
    hd_rpc_server_shutdown(f->srv, 0);
    assert_int_equal(call(f, NULL, "/test.v1.T/Echo", 1, 2000, NULL, &st), HD_EUNAVAIL);
    assert_string_equal(st.name, "UNAVAILABLE");
    assert_int_equal(hd_client_exit_code(st.code), 5);
}

/* --- TLS ---------------------------------------------------------------------------- */

typedef struct tls_fixture {
    hd_rpc_server *srv;
    hd_arena *arena;
    char dir[512], cert[600], key[600], other[600];
    char target[64];
} tls_fixture;

/* A self-signed certificate for 127.0.0.1/localhost, made with the openssl command. */
static void make_cert(const char *cert, const char *key)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout '%s' -out '%s' -days 2 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    assert_int_equal(system(cmd), 0);
}

static int tls_setup(void **state)
{
    tls_fixture *f = calloc(1, sizeof(*f));
    hd_err err;
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(f->dir, sizeof(f->dir), "%s/tlsXXXXXX", tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->cert, sizeof(f->cert), "%s/cert.pem", f->dir);
    snprintf(f->key, sizeof(f->key), "%s/key.pem", f->dir);
    snprintf(f->other, sizeof(f->other), "%s/other.pem", f->dir);
    make_cert(f->cert, f->key);
    char other_key[600];
    snprintf(other_key, sizeof(other_key), "%s/other.key", f->dir);
    make_cert(f->other, other_key);
    hd_rpc_config cfg = {.listen = "127.0.0.1:0",
                         .workers = 1,
                         .auth = test_auth,
                         .tls_cert_file = f->cert,
                         .tls_key_file = f->key};
    assert_int_equal(hd_rpc_server_create(&f->srv, &cfg, &err), HD_OK);
    assert_int_equal(hd_rpc_server_add_methods(f->srv, methods, 1, &err), HD_OK);
    assert_int_equal(hd_rpc_server_start(f->srv, &err), HD_OK);
    snprintf(f->target, sizeof(f->target), "127.0.0.1:%d", hd_rpc_server_port(f->srv));
    f->arena = hd_arena_create(0);
    *state = f;
    return 0;
}

static int tls_teardown(void **state)
{
    tls_fixture *f = *state;
    hd_rpc_server_destroy(f->srv);
    hd_arena_destroy(f->arena);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int tls_call(tls_fixture *f, int tls, const char *ca, hd_client_status *st)
{
    hd_client *cl = NULL;
    hd_err err;
    hd_client_opts o = {.target = f->target, .tls = tls, .ca_file = ca, .token = "good-token"};
    assert_int_equal(hd_client_open(&cl, &o, &err), HD_OK);
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    req.id = 2;
    ProtobufCMessage *resp = NULL;
    int rc = hd_client_unary(cl, "/test.v1.T/Echo", &req.base, GTR, f->arena, 3000, &resp, st);
    if (rc == HD_OK)
        assert_int_equal(((Helpdesk__V1__GetTicketRequest *)resp)->id, 27);
    hd_client_close(cl);
    return rc;
}

static void tls_client_trusting_the_ca_file_gets_through(void **state)
{
    tls_fixture *f = *state;
    hd_client_status st;
    assert_int_equal(tls_call(f, 1, f->cert, &st), HD_OK);
}

static void tls_client_with_another_ca_is_refused_UNAVAILABLE(void **state)
{
    tls_fixture *f = *state;
    hd_client_status st;
    assert_int_equal(tls_call(f, 1, f->other, &st), HD_EUNAVAIL);
    assert_string_equal(st.name, "UNAVAILABLE");
}

static void plaintext_client_to_tls_server_is_UNAVAILABLE(void **state)
{
    tls_fixture *f = *state;
    hd_client_status st;
    assert_int_equal(tls_call(f, 0, NULL, &st), HD_EUNAVAIL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            authorised_call_reaches_handler_with_identity_and_request_id, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_or_wrong_token_is_unauthenticated_exit_3, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(handler_not_found_arrives_as_NOT_FOUND_with_detail, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unknown_method_is_UNIMPLEMENTED, setup, teardown),
        cmocka_unit_test_setup_teardown(slow_handler_past_deadline_is_DEADLINE_EXCEEDED, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_signal_during_a_quiet_stream_cancels_it_promptly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_stop_flag_already_set_ends_the_stream_before_any_message,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(server_stream_arrives_in_order_and_can_be_stopped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(stopped_server_is_UNAVAILABLE, setup, teardown),
        cmocka_unit_test_setup_teardown(tls_client_trusting_the_ca_file_gets_through, tls_setup,
                                        tls_teardown),
        cmocka_unit_test_setup_teardown(tls_client_with_another_ca_is_refused_UNAVAILABLE,
                                        tls_setup, tls_teardown),
        cmocka_unit_test_setup_teardown(plaintext_client_to_tls_server_is_UNAVAILABLE, tls_setup,
                                        tls_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
