/* The serving core end to end: an in-process server on 127.0.0.1:0 with test handlers,
 * called by a C-core client over loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/log.h"
#include "server/rpc/rpc.h"
#include "tests/unit/server/rpc/test_client.h"

typedef Helpdesk__V1__GetTicketRequest Req;
typedef Helpdesk__V1__GetTicketResponse Resp;
#define REQ_DESC  (&helpdesk__v1__get_ticket_request__descriptor)
#define RESP_DESC (&helpdesk__v1__get_ticket_response__descriptor)

/* ------------------------------------------------------------- test handlers ---- */

/* Shared state for handlers that park calls (Hang) and for async finishers. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_arrived;           /* Hang calls seen */
static int g_cancel_callbacks;  /* on_cancel callbacks run */
static int64_t g_deadline_left; /* deadline_left_ms seen by the last Hang */

static Helpdesk__V1__Ticket *ticket_in(hd_rpc_call *call, uint64_t id, const char *subject)
{
    Helpdesk__V1__Ticket *t = hd_arena_alloc(hd_rpc_call_arena(call), sizeof(*t));
    helpdesk__v1__ticket__init(t);
    t->id = id;
    t->subject = hd_arena_strdup(hd_rpc_call_arena(call), subject);
    t->number = hd_arena_strdup(hd_rpc_call_arena(call), hd_rpc_call_identity(call)->name);
    return t;
}

/* Echo: ticket.id = req.id, subject = request id, number = identity name. Special ids
 * produce errors. */
static int h_get(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                 hd_err *err)
{
    const Req *req = (const Req *)reqm;
    Resp *resp = (Resp *)respm;
    if (req->id == 404)
        return hd_err_set(err, HD_ENOTFOUND, "ticket 404: not found");
    if (req->id == 500)
        return hd_err_set(err, HD_EIO, "disk /secret/path failed");
    resp->ticket = ticket_in(call, req->id, hd_rpc_call_request_id(call));
    return HD_OK;
}

static pthread_t g_async_thread;

static void *async_finisher(void *arg)
{
    hd_rpc_call *call = arg;
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL); /* make sure the worker returned from the handler first */
    hd_rpc_finish(call, NULL);
    return NULL;
}

/* Fills the response now, finishes from another thread. */
static int h_async(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                   hd_err *err)
{
    (void)err;
    const Req *req = (const Req *)reqm;
    ((Resp *)respm)->ticket = ticket_in(call, req->id * 2, "async");
    if (pthread_create(&g_async_thread, NULL, async_finisher, call) != 0)
        return hd_err_set(err, HD_EINTERNAL, "pthread_create");
    return HD_RPC_ASYNC;
}

static void hang_cancelled(void *arg)
{
    hd_rpc_call *call = arg;
    hd_err e;
    hd_err_set(&e, HD_ECANCELED, "cancelled");
    pthread_mutex_lock(&g_mu);
    g_cancel_callbacks++;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    hd_rpc_finish(call, &e);
}

/* Never finishes until cancelled. */
static int h_hang(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                  hd_err *err)
{
    (void)reqm;
    (void)respm;
    (void)err;
    pthread_mutex_lock(&g_mu);
    g_arrived++;
    g_deadline_left = hd_rpc_call_deadline_left_ms(call);
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    hd_rpc_call_on_cancel(call, hang_cancelled, call);
    return HD_RPC_ASYNC;
}

/* Streams req.id tickets with ids 1..n, then OK. */
static int h_list(hd_rpc_call *call, const ProtobufCMessage *reqm, hd_err *err)
{
    const Req *req = (const Req *)reqm;
    for (uint64_t i = 1; i <= req->id; i++) {
        Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
        Resp r = HELPDESK__V1__GET_TICKET_RESPONSE__INIT;
        t.id = i;
        r.ticket = &t;
        int rc = hd_rpc_stream_send(call, &r.base);
        if (rc != HD_OK)
            return hd_err_set(err, rc, "stream send %llu", (unsigned long long)i);
    }
    return HD_OK;
}

/* Async stream fed by a producer thread until the stream refuses more. */
static pthread_t g_feed_thread;
static int g_feed_last_rc;
static int g_feed_sent;

static void *feed_producer(void *arg)
{
    hd_rpc_call *call = arg;
    int rc = HD_OK;
    for (uint64_t i = 1; i <= 1000000; i++) {
        Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
        Resp r = HELPDESK__V1__GET_TICKET_RESPONSE__INIT;
        t.id = i;
        r.ticket = &t;
        rc = hd_rpc_stream_send(call, &r.base);
        if (rc == HD_EFULL) {
            struct timespec ts = {0, 1000000}; /* slow reader: back off, try again */
            nanosleep(&ts, NULL);
            i--;
            continue;
        }
        if (rc != HD_OK)
            break;
        g_feed_sent++;
    }
    g_feed_last_rc = rc;
    hd_err e;
    hd_err_set(&e, HD_ECANCELED, "client went away");
    hd_rpc_finish(call, &e);
    return NULL;
}

static void feed_cancelled(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_mu);
    g_cancel_callbacks++;
    pthread_mutex_unlock(&g_mu);
}

static int h_feed(hd_rpc_call *call, const ProtobufCMessage *reqm, hd_err *err)
{
    (void)reqm;
    hd_rpc_call_on_cancel(call, feed_cancelled, NULL);
    if (pthread_create(&g_feed_thread, NULL, feed_producer, call) != 0)
        return hd_err_set(err, HD_EINTERNAL, "pthread_create");
    return HD_RPC_ASYNC;
}

/* Bidi: answers each request with id + 1000. */
static int h_chat(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                  hd_err *err)
{
    (void)err;
    ((Resp *)respm)->ticket = ticket_in(call, ((const Req *)reqm)->id + 1000, "chat");
    return HD_OK;
}

static int test_auth(void *ud, const char *token, uint32_t permission, hd_identity *who,
                     hd_err *err)
{
    (void)ud;
    if (!token || strcmp(token, "good") != 0)
        return hd_err_set(err, HD_EUNAUTH, "token: unknown");
    if (permission != 1)
        return hd_err_set(err, HD_EPERM, "token: lacks permission %u", permission);
    who->kind = HD_PRINCIPAL_STAFF;
    who->id = 7;
    snprintf(who->name, sizeof(who->name), "alice");
    return HD_OK;
}

static const hd_rpc_method methods[] = {
    {"/t.T/Get", HD_RPC_UNARY, REQ_DESC, RESP_DESC, h_get, NULL, HD_RPC_OPEN},
    {"/t.T/Secure", HD_RPC_UNARY, REQ_DESC, RESP_DESC, h_get, NULL, 1},
    {"/t.T/Admin", HD_RPC_UNARY, REQ_DESC, RESP_DESC, h_get, NULL, 2},
    {"/t.T/Async", HD_RPC_UNARY, REQ_DESC, RESP_DESC, h_async, NULL, HD_RPC_OPEN},
    {"/t.T/Hang", HD_RPC_UNARY, REQ_DESC, RESP_DESC, h_hang, NULL, HD_RPC_OPEN},
    {"/t.T/List", HD_RPC_SERVER_STREAM, REQ_DESC, RESP_DESC, NULL, h_list, HD_RPC_OPEN},
    {"/t.T/Feed", HD_RPC_SERVER_STREAM, REQ_DESC, RESP_DESC, NULL, h_feed, HD_RPC_OPEN},
    {"/t.T/Chat", HD_RPC_BIDI, REQ_DESC, RESP_DESC, h_chat, NULL, HD_RPC_OPEN},
};

/* ------------------------------------------------------------------ fixture ------ */

typedef struct fixture {
    hd_rpc_server *s;
    grpc_channel *ch;
} fixture;

static void start(fixture *f, hd_rpc_config *cfg)
{
    hd_err err;
    hd_err_clear(&err);
    cfg->listen = "127.0.0.1:0";
    if (!cfg->workers)
        cfg->workers = 2;
    cfg->auth = test_auth;
    int rc = hd_rpc_server_create(&f->s, cfg, &err);
    if (rc != HD_OK)
        print_error("create: %s\n", err.detail);
    assert_int_equal(rc, HD_OK);
    assert_int_equal(
        hd_rpc_server_add_methods(f->s, methods, sizeof(methods) / sizeof(*methods), &err), HD_OK);
    rc = hd_rpc_server_start(f->s, &err);
    if (rc != HD_OK)
        print_error("start: %s\n", err.detail);
    assert_int_equal(rc, HD_OK);
    assert_true(hd_rpc_server_port(f->s) > 0);
    f->ch = tc_channel(hd_rpc_server_port(f->s));
    pthread_mutex_lock(&g_mu);
    g_arrived = 0;
    g_cancel_callbacks = 0;
    pthread_mutex_unlock(&g_mu);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    hd_rpc_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    start(f, &cfg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->ch)
        grpc_channel_destroy(f->ch);
    hd_rpc_server_destroy(f->s);
    free(f);
    return 0;
}

static void wait_arrived(int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&g_mu);
    while (g_arrived < n) {
        if (pthread_cond_timedwait(&g_cv, &g_mu, &until) != 0)
            break;
    }
    int got = g_arrived;
    pthread_mutex_unlock(&g_mu);
    assert_int_equal(got, n);
}

/* Polls the server's call counter (no condition to wait on) for up to 5 s. */
static void wait_active(hd_rpc_server *s, int n)
{
    for (int i = 0; i < 500 && hd_rpc_server_active_calls(s) != n; i++) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(hd_rpc_server_active_calls(s), n);
}

static unsigned char *req_bytes(uint64_t id, const char *number, size_t *len)
{
    Req r = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    r.id = id;
    if (number)
        r.number = (char *)number;
    return tc_pack(&r.base, len);
}

static Resp *call_get(fixture *f, const char *method, uint64_t id, const tc_md *md, tc_result *res)
{
    size_t len;
    unsigned char *b = req_bytes(id, NULL, &len);
    assert_int_equal(tc_unary(f->ch, method, b, len, md, 5000, res), 0);
    free(b);
    if (!res->resp)
        return NULL;
    return helpdesk__v1__get_ticket_response__unpack(NULL, res->resp_len, res->resp);
}

/* -------------------------------------------------------------------- tests ------ */

static void unary_call_returns_handler_response(void **state)
{
    fixture *f = *state;
    tc_result res;
    tc_md md = {NULL, "req-abc.123_X"};
    Resp *r = call_get(f, "/t.T/Get", 41, &md, &res);
    assert_int_equal(res.status, GRPC_STATUS_OK);
    assert_non_null(r);
    assert_non_null(r->ticket);
    assert_int_equal(r->ticket->id, 41);
    assert_string_equal(r->ticket->subject, "req-abc.123_X"); /* x-request-id honoured */
    helpdesk__v1__get_ticket_response__free_unpacked(r, NULL);
    tc_result_clear(&res);
}

static void invalid_request_id_is_replaced_by_generated_one(void **state)
{
    fixture *f = *state;
    tc_result res;
    tc_md md = {NULL, "bad id with spaces"};
    Resp *r = call_get(f, "/t.T/Get", 1, &md, &res);
    assert_int_equal(res.status, GRPC_STATUS_OK);
    assert_non_null(r);
    assert_string_not_equal(r->ticket->subject, "bad id with spaces");
    assert_int_equal(strlen(r->ticket->subject), 20);
    helpdesk__v1__get_ticket_response__free_unpacked(r, NULL);
    tc_result_clear(&res);
}

static void finished_calls_log_one_line_with_status_code_and_request_id(void **state)
{
    fixture *f = *state;
    char path[600];
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(path, sizeof(path), "%s/rpc-log.%d", tmp ? tmp : "/tmp", (int)getpid());
    FILE *fp = fopen(path, "w+");
    assert_non_null(fp);
    hd_log_set_level(HD_LOG_DEBUG);
    hd_log_set_fd(fileno(fp));
    tc_result res;
    tc_md md = {NULL, "log-404"};
    call_get(f, "/t.T/Get", 404, &md, &res);
    tc_result_clear(&res);
    tc_md md2 = {NULL, "log-500"};
    call_get(f, "/t.T/Get", 500, &md2, &res);
    tc_result_clear(&res);
    wait_active(f->s, 0); /* contexts log before they release their slot */
    hd_log_set_fd(2);
    hd_log_set_level(HD_LOG_WARN);
    char buf[8192];
    rewind(fp);
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    unlink(path);
    print_message("%s", buf);
    assert_non_null(strstr(buf, "level=info event=rpc method=/t.T/Get status=NOT_FOUND "
                                "code=HD_ENOTFOUND latency_us="));
    assert_non_null(strstr(buf, "request_id=log-404 peer="));
    /* The INTERNAL detail the client never sees is in the log, at error level. */
    assert_non_null(strstr(buf, "level=error event=rpc method=/t.T/Get status=INTERNAL "
                                "code=HD_EIO"));
    assert_non_null(strstr(buf, "request_id=log-500"));
    assert_non_null(strstr(buf, "/secret/path"));
}

static void handler_error_maps_to_status_with_detail(void **state)
{
    fixture *f = *state;
    tc_result res;
    Resp *r = call_get(f, "/t.T/Get", 404, NULL, &res);
    assert_null(r);
    assert_int_equal(res.status, GRPC_STATUS_NOT_FOUND);
    assert_string_equal(res.details, "ticket 404: not found");
    tc_result_clear(&res);
}

static void internal_error_detail_is_hidden_from_client(void **state)
{
    fixture *f = *state;
    tc_result res;
    tc_md md = {NULL, "rid-500"};
    Resp *r = call_get(f, "/t.T/Get", 500, &md, &res);
    assert_null(r);
    assert_int_equal(res.status, GRPC_STATUS_INTERNAL);
    assert_string_equal(res.details, "internal error (request id rid-500)");
    assert_null(strstr(res.details, "secret"));
    tc_result_clear(&res);
}

static void malformed_request_bytes_are_invalid_argument(void **state)
{
    fixture *f = *state;
    tc_result res;
    static const unsigned char junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    assert_int_equal(tc_unary(f->ch, "/t.T/Get", junk, sizeof(junk), NULL, 5000, &res), 0);
    assert_int_equal(res.status, GRPC_STATUS_INVALID_ARGUMENT);
    assert_string_equal(res.details, "request: cannot decode helpdesk.v1.GetTicketRequest");
    tc_result_clear(&res);
}

static void unknown_method_is_unimplemented_at_once(void **state)
{
    fixture *f = *state;
    tc_result res;
    gpr_timespec t0 = gpr_now(GPR_CLOCK_MONOTONIC);
    assert_int_equal(tc_unary(f->ch, "/t.T/Nope", "", 0, NULL, 10000, &res), 0);
    gpr_timespec dt = gpr_time_sub(gpr_now(GPR_CLOCK_MONOTONIC), t0);
    assert_int_equal(res.status, GRPC_STATUS_UNIMPLEMENTED);
    print_message("unimplemented after %lld ms\n", (long long)gpr_time_to_millis(dt));
    assert_true(gpr_time_to_millis(dt) < 2000);
    tc_result_clear(&res);
}

static void missing_or_invalid_token_is_unauthenticated(void **state)
{
    fixture *f = *state;
    tc_result res;
    call_get(f, "/t.T/Secure", 1, NULL, &res);
    assert_int_equal(res.status, GRPC_STATUS_UNAUTHENTICATED);
    tc_result_clear(&res);

    tc_md bad = {"Bearer nope", NULL};
    call_get(f, "/t.T/Secure", 1, &bad, &res);
    assert_int_equal(res.status, GRPC_STATUS_UNAUTHENTICATED);
    assert_string_equal(res.details, "token: unknown");
    tc_result_clear(&res);

    tc_md basic = {"Basic Z29vZA==", NULL};
    call_get(f, "/t.T/Secure", 1, &basic, &res);
    assert_int_equal(res.status, GRPC_STATUS_UNAUTHENTICATED);
    tc_result_clear(&res);
}

static void valid_token_gives_identity_and_permission_is_checked(void **state)
{
    fixture *f = *state;
    tc_result res;
    tc_md good = {"bearer good", NULL}; /* scheme is case-insensitive */
    Resp *r = call_get(f, "/t.T/Secure", 9, &good, &res);
    assert_int_equal(res.status, GRPC_STATUS_OK);
    assert_non_null(r);
    assert_string_equal(r->ticket->number, "alice");
    helpdesk__v1__get_ticket_response__free_unpacked(r, NULL);
    tc_result_clear(&res);

    call_get(f, "/t.T/Admin", 9, &good, &res);
    assert_int_equal(res.status, GRPC_STATUS_PERMISSION_DENIED);
    tc_result_clear(&res);
}

static void open_method_works_without_token(void **state)
{
    fixture *f = *state;
    tc_result res;
    Resp *r = call_get(f, "/t.T/Get", 3, NULL, &res);
    assert_int_equal(res.status, GRPC_STATUS_OK);
    assert_string_equal(r->ticket->number, ""); /* HD_PRINCIPAL_NONE, empty name */
    helpdesk__v1__get_ticket_response__free_unpacked(r, NULL);
    tc_result_clear(&res);
}

static void async_call_finishes_from_another_thread(void **state)
{
    fixture *f = *state;
    tc_result res;
    Resp *r = call_get(f, "/t.T/Async", 21, NULL, &res);
    pthread_join(g_async_thread, NULL);
    assert_int_equal(res.status, GRPC_STATUS_OK);
    assert_non_null(r);
    assert_int_equal(r->ticket->id, 42);
    assert_string_equal(r->ticket->subject, "async");
    helpdesk__v1__get_ticket_response__free_unpacked(r, NULL);
    tc_result_clear(&res);
}

static void server_stream_sends_100_messages_then_ok(void **state)
{
    fixture *f = *state;
    tc_result res;
    size_t len;
    unsigned char *b = req_bytes(100, NULL, &len);
    assert_int_equal(tc_server_stream(f->ch, "/t.T/List", b, len, NULL, 10000, &res), 0);
    free(b);
    assert_int_equal(res.status, GRPC_STATUS_OK);
    assert_int_equal(res.nmsgs, 100);
    Resp *r = helpdesk__v1__get_ticket_response__unpack(NULL, res.resp_len, res.resp);
    assert_non_null(r);
    assert_int_equal(r->ticket->id, 100); /* in order: the last is the 100th */
    helpdesk__v1__get_ticket_response__free_unpacked(r, NULL);
    tc_result_clear(&res);
}

static void stream_beyond_queue_limit_fails_with_resource_exhausted(void **state)
{
    fixture *f = *state;
    teardown(state);
    f = calloc(1, sizeof(*f));
    *state = f;
    hd_rpc_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_stream_queue = 4;
    start(f, &cfg);
    tc_result res;
    size_t len;
    unsigned char *b = req_bytes(1000, NULL, &len);
    assert_int_equal(tc_server_stream(f->ch, "/t.T/List", b, len, NULL, 10000, &res), 0);
    free(b);
    /* The handler queues faster than the network drains: HD_EFULL ends the stream. */
    assert_int_equal(res.status, GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_true(res.nmsgs >= 4 && res.nmsgs < 1000);
    tc_result_clear(&res);
}

static void client_cancel_stops_async_stream_fed_from_another_thread(void **state)
{
    fixture *f = *state;
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice m = grpc_slice_from_static_string("/t.T/Feed");
    grpc_call *call = grpc_channel_create_call(f->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, NULL,
                                               tc_deadline_ms(20000), NULL);
    size_t len;
    unsigned char *b = req_bytes(1, NULL, &len);
    grpc_slice sl = grpc_slice_from_copied_buffer((const char *)b, len);
    free(b);
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    grpc_metadata_array imd, tmd;
    grpc_metadata_array_init(&imd);
    grpc_metadata_array_init(&tmd);
    grpc_op ops[4];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &imd;
    assert_int_equal(grpc_call_start_batch(call, ops, 4, &ops, NULL), GRPC_CALL_OK);
    assert_int_equal(grpc_completion_queue_pluck(cq, &ops, tc_deadline_ms(10000), NULL).type,
                     GRPC_OP_COMPLETE);
    grpc_byte_buffer_destroy(send);
    for (int i = 0; i < 5; i++) {
        grpc_byte_buffer *recv = NULL;
        memset(ops, 0, sizeof(ops));
        ops[0].op = GRPC_OP_RECV_MESSAGE;
        ops[0].data.recv_message.recv_message = &recv;
        assert_int_equal(grpc_call_start_batch(call, ops, 1, &ops, NULL), GRPC_CALL_OK);
        grpc_event ev = grpc_completion_queue_pluck(cq, &ops, tc_deadline_ms(10000), NULL);
        assert_int_equal(ev.type, GRPC_OP_COMPLETE);
        assert_non_null(recv);
        grpc_byte_buffer_destroy(recv);
    }
    grpc_call_cancel(call, NULL);
    grpc_status_code st;
    grpc_slice details;
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &tmd;
    ops[0].data.recv_status_on_client.status = &st;
    ops[0].data.recv_status_on_client.status_details = &details;
    assert_int_equal(grpc_call_start_batch(call, ops, 1, &ops, NULL), GRPC_CALL_OK);
    assert_int_equal(grpc_completion_queue_pluck(cq, &ops, tc_deadline_ms(10000), NULL).type,
                     GRPC_OP_COMPLETE);
    assert_int_equal(st, GRPC_STATUS_CANCELLED);
    pthread_join(g_feed_thread, NULL);
    print_message("producer sent %d messages, then %s\n", g_feed_sent, hd_errname(g_feed_last_rc));
    assert_int_equal(g_feed_last_rc, HD_ECANCELED);
    assert_true(g_feed_sent >= 5);
    wait_active(f->s, 0);
    pthread_mutex_lock(&g_mu);
    assert_int_equal(g_cancel_callbacks, 1);
    pthread_mutex_unlock(&g_mu);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&imd);
    grpc_metadata_array_destroy(&tmd);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
}

static void bidi_three_requests_get_three_responses(void **state)
{
    fixture *f = *state;
    unsigned char *reqs[3], *resps[3] = {NULL, NULL, NULL};
    size_t lens[3], rlens[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++)
        reqs[i] = req_bytes((uint64_t)i + 1, NULL, &lens[i]);
    tc_result res;
    assert_int_equal(tc_bidi(f->ch, "/t.T/Chat", (const unsigned char *const *)reqs, lens, 3, 10000,
                             resps, rlens, &res),
                     0);
    assert_int_equal(res.status, GRPC_STATUS_OK);
    assert_int_equal(res.nmsgs, 3);
    for (int i = 0; i < 3; i++) {
        Resp *r = helpdesk__v1__get_ticket_response__unpack(NULL, rlens[i], resps[i]);
        assert_non_null(r);
        assert_int_equal(r->ticket->id, 1001 + i);
        helpdesk__v1__get_ticket_response__free_unpacked(r, NULL);
        free(reqs[i]);
        free(resps[i]);
    }
    tc_result_clear(&res);
}

static void expired_deadline_cancels_call_and_runs_callback(void **state)
{
    fixture *f = *state;
    char path[600];
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(path, sizeof(path), "%s/rpc-deadline-log.%d", tmp ? tmp : "/tmp", (int)getpid());
    FILE *fp = fopen(path, "w+");
    assert_non_null(fp);
    hd_log_set_level(HD_LOG_INFO);
    hd_log_set_fd(fileno(fp));
    tc_result res;
    size_t len;
    unsigned char *b = req_bytes(1, NULL, &len);
    assert_int_equal(tc_unary(f->ch, "/t.T/Hang", b, len, NULL, 300, &res), 0);
    free(b);
    assert_int_equal(res.status, GRPC_STATUS_DEADLINE_EXCEEDED);
    pthread_mutex_lock(&g_mu);
    int64_t left = g_deadline_left;
    pthread_mutex_unlock(&g_mu);
    print_message("handler saw %lld ms left\n", (long long)left);
    assert_true(left > 0 && left <= 300);
    wait_active(f->s, 0);
    hd_log_set_fd(2);
    hd_log_set_level(HD_LOG_WARN);
    char buf[4096];
    rewind(fp);
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    unlink(path);
    /* The log says what the client saw, not the code the owner finished with. */
    assert_non_null(strstr(buf, "method=/t.T/Hang status=DEADLINE_EXCEEDED code=HD_ETIMEDOUT"));
    pthread_mutex_lock(&g_mu);
    assert_int_equal(g_cancel_callbacks, 1);
    pthread_mutex_unlock(&g_mu);
    tc_result_clear(&res);
}

static void oversize_request_is_resource_exhausted(void **state)
{
    fixture *f = *state;
    teardown(state);
    f = calloc(1, sizeof(*f));
    *state = f;
    hd_rpc_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_message_bytes = 1024;
    start(f, &cfg);
    char big[2000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    size_t len;
    unsigned char *b = req_bytes(1, big, &len);
    tc_result res;
    assert_int_equal(tc_unary(f->ch, "/t.T/Get", b, len, NULL, 5000, &res), 0);
    free(b);
    assert_int_equal(res.status, GRPC_STATUS_RESOURCE_EXHAUSTED);
    tc_result_clear(&res);
    /* A request under the limit still works. */
    Resp *r = call_get(f, "/t.T/Get", 2, NULL, &res);
    assert_int_equal(res.status, GRPC_STATUS_OK);
    helpdesk__v1__get_ticket_response__free_unpacked(r, NULL);
    tc_result_clear(&res);
}

/* Client side of calls left open on a NEXT queue. */
typedef struct open_call {
    grpc_call *call;
    grpc_byte_buffer *send, *recv;
    grpc_metadata_array imd, tmd;
    grpc_status_code status;
    grpc_slice details;
} open_call;

static void open_calls_start(grpc_channel *ch, grpc_completion_queue *cq, open_call *oc, int n,
                             const char *method)
{
    size_t len;
    unsigned char *b = req_bytes(1, NULL, &len);
    for (int i = 0; i < n; i++) {
        open_call *c = &oc[i];
        memset(c, 0, sizeof(*c));
        grpc_slice m = grpc_slice_from_copied_string(method);
        c->call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, NULL,
                                           tc_deadline_ms((30) * 1000), NULL);
        grpc_slice_unref(m);
        grpc_slice sl = grpc_slice_from_copied_buffer((const char *)b, len);
        c->send = grpc_raw_byte_buffer_create(&sl, 1);
        grpc_slice_unref(sl);
        grpc_metadata_array_init(&c->imd);
        grpc_metadata_array_init(&c->tmd);
        grpc_op ops[6];
        memset(ops, 0, sizeof(ops));
        ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[1].op = GRPC_OP_SEND_MESSAGE;
        ops[1].data.send_message.send_message = c->send;
        ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
        ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->imd;
        ops[4].op = GRPC_OP_RECV_MESSAGE;
        ops[4].data.recv_message.recv_message = &c->recv;
        ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
        ops[5].data.recv_status_on_client.trailing_metadata = &c->tmd;
        ops[5].data.recv_status_on_client.status = &c->status;
        ops[5].data.recv_status_on_client.status_details = &c->details;
        assert_int_equal(grpc_call_start_batch(c->call, ops, 6, c, NULL), GRPC_CALL_OK);
    }
    free(b);
}

/* Waits for all n calls to complete and frees them; returns how many ended with want. */
static int open_calls_finish(grpc_completion_queue *cq, open_call *oc, int n, grpc_status_code want)
{
    int matched = 0;
    for (int done = 0; done < n; done++) {
        grpc_event ev = grpc_completion_queue_next(cq, tc_deadline_ms((20) * 1000), NULL);
        assert_int_equal(ev.type, GRPC_OP_COMPLETE);
        open_call *c = ev.tag;
        if (c->status == want)
            matched++;
    }
    for (int i = 0; i < n; i++) {
        open_call *c = &oc[i];
        grpc_byte_buffer_destroy(c->send);
        if (c->recv)
            grpc_byte_buffer_destroy(c->recv);
        grpc_metadata_array_destroy(&c->imd);
        grpc_metadata_array_destroy(&c->tmd);
        grpc_slice_unref(c->details);
        grpc_call_unref(c->call);
    }
    return matched;
}

static void drain_cq(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
}

static void calls_beyond_max_concurrent_are_resource_exhausted(void **state)
{
    fixture *f = *state;
    teardown(state);
    f = calloc(1, sizeof(*f));
    *state = f;
    hd_rpc_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_concurrent_calls = 2;
    start(f, &cfg);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    open_call oc[2];
    open_calls_start(f->ch, cq, oc, 2, "/t.T/Hang");
    wait_arrived(2);
    tc_result res;
    call_get(f, "/t.T/Get", 1, NULL, &res);
    assert_int_equal(res.status, GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_string_equal(res.details, "server busy: 2 calls in flight");
    tc_result_clear(&res);
    for (int i = 0; i < 2; i++)
        grpc_call_cancel(oc[i].call, NULL);
    assert_int_equal(open_calls_finish(cq, oc, 2, GRPC_STATUS_CANCELLED), 2);
    drain_cq(cq);
    wait_active(f->s, 0);
    /* Capacity is back. */
    Resp *r = call_get(f, "/t.T/Get", 1, NULL, &res);
    assert_int_equal(res.status, GRPC_STATUS_OK);
    helpdesk__v1__get_ticket_response__free_unpacked(r, NULL);
    tc_result_clear(&res);
}

static void shutdown_cancels_parked_calls_and_returns(void **state)
{
    fixture *f = *state;
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    open_call oc[8];
    open_calls_start(f->ch, cq, oc, 8, "/t.T/Hang");
    wait_arrived(8);
    assert_int_equal(hd_rpc_server_active_calls(f->s), 8);
    hd_rpc_server_shutdown(f->s, 50);
    assert_int_equal(hd_rpc_server_active_calls(f->s), 0);
    pthread_mutex_lock(&g_mu);
    assert_int_equal(g_cancel_callbacks, 8);
    pthread_mutex_unlock(&g_mu);
    /* The server cancelled them: the clients never see OK. */
    assert_int_equal(open_calls_finish(cq, oc, 8, GRPC_STATUS_OK), 0);
    drain_cq(cq);
    hd_rpc_server_shutdown(f->s, 50); /* idempotent */
}

/* An HTTP/2 peer that completes the preface and then ignores everything, like a client
 * that does not react to GOAWAY: it never closes its connection. */
static int idle_http2_peer(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                  "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    assert_int_equal(write(fd, preface, sizeof(preface) - 1), (ssize_t)(sizeof(preface) - 1));
    char buf[256]; /* the server's SETTINGS: the transport is up */
    assert_true(read(fd, buf, sizeof(buf)) > 0);
    return fd;
}

static void shutdown_does_not_wait_grace_for_idle_connections(void **state)
{
    fixture *f = *state;
    int fd = idle_http2_peer(hd_rpc_server_port(f->s));
    gpr_timespec t0 = gpr_now(GPR_CLOCK_MONOTONIC);
    hd_rpc_server_shutdown(f->s, 3000);
    long long ms = (long long)gpr_time_to_millis(gpr_time_sub(gpr_now(GPR_CLOCK_MONOTONIC), t0));
    close(fd);
    print_message("shutdown with an idle connection took %lld ms (grace 3000)\n", ms);
    assert_true(ms < 1000);
}

static void unreadable_tls_files_fail_start_with_path(void **state)
{
    (void)state;
    hd_rpc_server *s = NULL;
    hd_err err;
    hd_err_clear(&err);
    hd_rpc_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.listen = "127.0.0.1:0";
    cfg.workers = 1;
    cfg.tls_cert_file = "/nonexistent/cert.pem";
    cfg.tls_key_file = "/nonexistent/key.pem";
    assert_int_equal(hd_rpc_server_create(&s, &cfg, &err), HD_OK);
    assert_int_equal(hd_rpc_server_start(s, &err), HD_EIO);
    assert_non_null(strstr(err.detail, "/nonexistent/cert.pem"));
    assert_int_equal(hd_rpc_server_port(s), 0);
    hd_rpc_server_destroy(s);
}

static void duplicate_or_bad_method_rows_are_rejected(void **state)
{
    (void)state;
    hd_rpc_server *s = NULL;
    hd_err err;
    hd_rpc_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.listen = "127.0.0.1:0";
    assert_int_equal(hd_rpc_server_create(&s, &cfg, &err), HD_OK);
    assert_int_equal(hd_rpc_server_add_methods(s, methods, 2, &err), HD_OK);
    assert_int_equal(hd_rpc_server_add_methods(s, methods, 1, &err), HD_EEXIST);
    assert_non_null(strstr(err.detail, "/t.T/Get"));
    hd_rpc_method bad = {"/t.T/NoHandler", HD_RPC_UNARY, REQ_DESC, RESP_DESC, NULL, NULL, 0};
    assert_int_equal(hd_rpc_server_add_methods(s, &bad, 1, &err), HD_EINVAL);
    hd_rpc_server_destroy(s); /* never started */
}

static void bind_failure_is_eio_naming_address(void **state)
{
    (void)state;
    hd_rpc_server *s = NULL;
    hd_err err;
    hd_rpc_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.listen = "203.0.113.1:1"; /* TEST-NET-3: not a local address */
    cfg.workers = 1;
    assert_int_equal(hd_rpc_server_create(&s, &cfg, &err), HD_OK);
    assert_int_equal(hd_rpc_server_start(s, &err), HD_EIO);
    assert_non_null(strstr(err.detail, "203.0.113.1:1"));
    hd_rpc_server_destroy(s);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

static void tls_server_serves_ssl_client(void **state)
{
    (void)state;
    const char *tmp = getenv("TEST_TMPDIR");
    char dir[512], cmd[2048], cert[600], key[600];
    snprintf(dir, sizeof(dir), "%s/tls.%d", tmp ? tmp : "/tmp", (int)getpid());
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s' && openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost -addext "
             "subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '%s' -out '%s' 2>/dev/null",
             dir, key, cert);
    if (system(cmd) != 0)
        fail_msg("openssl could not make a test certificate");
    hd_rpc_server *s = NULL;
    hd_err err;
    hd_err_clear(&err);
    hd_rpc_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.listen = "127.0.0.1:0";
    cfg.workers = 1;
    cfg.tls_cert_file = cert;
    cfg.tls_key_file = key;
    assert_int_equal(hd_rpc_server_create(&s, &cfg, &err), HD_OK);
    assert_int_equal(hd_rpc_server_add_methods(s, methods, 1, &err), HD_OK);
    int rc = hd_rpc_server_start(s, &err);
    if (rc != HD_OK)
        print_error("start: %s\n", err.detail);
    assert_int_equal(rc, HD_OK);

    char *ca = slurp(cert);
    assert_non_null(ca);
    grpc_channel_credentials *creds = grpc_ssl_credentials_create(ca, NULL, NULL, NULL);
    /* An IP target with the name override: resolving "localhost" goes through c-ares,
     * which leaks 10 bytes per process under LSan (not ours). */
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", hd_rpc_server_port(s));
    grpc_arg arg;
    memset(&arg, 0, sizeof(arg));
    arg.type = GRPC_ARG_STRING;
    arg.key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
    arg.value.string = (char *)"localhost";
    grpc_channel_args args = {1, &arg};
    grpc_channel *ch = grpc_channel_create(target, creds, &args);
    grpc_channel_credentials_release(creds);
    fixture f = {s, ch};
    tc_result res;
    Resp *r = call_get(&f, "/t.T/Get", 5, NULL, &res);
    assert_int_equal(res.status, GRPC_STATUS_OK);
    assert_non_null(r);
    assert_int_equal(r->ticket->id, 5);
    helpdesk__v1__get_ticket_response__free_unpacked(r, NULL);
    tc_result_clear(&res);
    grpc_channel_destroy(ch);
    hd_rpc_server_destroy(s);
    free(ca);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

int main(void)
{
    hd_log_set_level(HD_LOG_WARN);
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unary_call_returns_handler_response, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_request_id_is_replaced_by_generated_one, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(handler_error_maps_to_status_with_detail, setup, teardown),
        cmocka_unit_test_setup_teardown(internal_error_detail_is_hidden_from_client, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(finished_calls_log_one_line_with_status_code_and_request_id,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_request_bytes_are_invalid_argument, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unknown_method_is_unimplemented_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_or_invalid_token_is_unauthenticated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(valid_token_gives_identity_and_permission_is_checked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(open_method_works_without_token, setup, teardown),
        cmocka_unit_test_setup_teardown(async_call_finishes_from_another_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(server_stream_sends_100_messages_then_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(stream_beyond_queue_limit_fails_with_resource_exhausted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(client_cancel_stops_async_stream_fed_from_another_thread,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bidi_three_requests_get_three_responses, setup, teardown),
        cmocka_unit_test_setup_teardown(expired_deadline_cancels_call_and_runs_callback, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(oversize_request_is_resource_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(calls_beyond_max_concurrent_are_resource_exhausted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(shutdown_cancels_parked_calls_and_returns, setup, teardown),
        cmocka_unit_test_setup_teardown(shutdown_does_not_wait_grace_for_idle_connections, setup,
                                        teardown),
        cmocka_unit_test(unreadable_tls_files_fail_start_with_path),
        cmocka_unit_test(duplicate_or_bad_method_rows_are_rejected),
        cmocka_unit_test(bind_failure_is_eio_naming_address),
        cmocka_unit_test(tls_server_serves_ssl_client),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    grpc_shutdown();
    return failed;
}
