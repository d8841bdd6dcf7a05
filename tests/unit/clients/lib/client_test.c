/* The client library against a small in-process gRPC server written on the C core
 * (echo, fail, hang, metadata and stream methods), plus the status-to-text table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include <cmocka.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "clients/lib/client.h"
#include "helpdesk/v1/tickets.pb-c.h"

/* --- The test server ----------------------------------------------------------------- */

enum tag_kind { TAG_NEW, TAG_STEP, TAG_CLOSE, TAG_SHUTDOWN };

typedef struct srv_call srv_call;
typedef struct srv_tag {
    enum tag_kind kind;
    srv_call *call;
} srv_tag;

struct srv_call {
    srv_tag new_tag, step_tag, close_tag;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array request_md;
    grpc_byte_buffer *recv_buf;
    grpc_byte_buffer *send_buf;
    int cancelled;
    int step_out, close_out;
    int phase; /* 0 requested, 1 got request, 2 finishing */
    uint64_t sent, to_send;
};

typedef struct test_server {
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t thread;
    int port;
    int live;
    char last_auth[128];
    char last_request_id[80];
} test_server;

static void srv_request(test_server *ts)
{
    srv_call *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->new_tag = (srv_tag){TAG_NEW, c};
    c->step_tag = (srv_tag){TAG_STEP, c};
    c->close_tag = (srv_tag){TAG_CLOSE, c};
    grpc_call_details_init(&c->details);
    grpc_metadata_array_init(&c->request_md);
    ts->live++;
    grpc_call_error e = grpc_server_request_call(ts->server, &c->call, &c->details, &c->request_md,
                                                 ts->cq, ts->cq, &c->new_tag);
    assert_int_equal(e, GRPC_CALL_OK);
}

static void srv_free(test_server *ts, srv_call *c)
{
    if (c->call)
        grpc_call_unref(c->call);
    grpc_call_details_destroy(&c->details);
    grpc_metadata_array_destroy(&c->request_md);
    if (c->recv_buf)
        grpc_byte_buffer_destroy(c->recv_buf);
    if (c->send_buf)
        grpc_byte_buffer_destroy(c->send_buf);
    free(c);
    ts->live--;
}

static int method_is(const srv_call *c, const char *m)
{
    size_t len = strlen(m);
    return GRPC_SLICE_LENGTH(c->details.method) == len &&
           memcmp(GRPC_SLICE_START_PTR(c->details.method), m, len) == 0;
}

static void md_copy(const grpc_metadata_array *md, const char *key, char *out, size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; i < md->count; i++) {
        const grpc_slice *k = &md->metadata[i].key;
        if (GRPC_SLICE_LENGTH(*k) == strlen(key) &&
            memcmp(GRPC_SLICE_START_PTR(*k), key, strlen(key)) == 0) {
            size_t len = GRPC_SLICE_LENGTH(md->metadata[i].value);
            if (len >= n)
                len = n - 1;
            memcpy(out, GRPC_SLICE_START_PTR(md->metadata[i].value), len);
            out[len] = '\0';
        }
    }
}

static grpc_byte_buffer *pack_msg(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    grpc_slice s = grpc_slice_malloc(len);
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

/* Starts one step batch: an optional message and an optional status. */
static void srv_step(srv_call *c, grpc_byte_buffer *msg, int with_status, grpc_status_code code,
                     const char *detail)
{
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    if (c->send_buf)
        grpc_byte_buffer_destroy(c->send_buf);
    c->send_buf = msg;
    if (msg) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = msg;
        n++;
    }
    grpc_slice ds = grpc_slice_from_copied_string(detail ? detail : "");
    if (with_status) {
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n].data.send_status_from_server.status = code;
        ops[n].data.send_status_from_server.status_details = &ds;
        n++;
        c->phase = 2;
    }
    if (grpc_call_start_batch(c->call, ops, n, &c->step_tag, NULL) == GRPC_CALL_OK)
        c->step_out = 1;
    grpc_slice_unref(ds);
}

static void srv_on_request(test_server *ts, srv_call *c)
{
    Helpdesk__V1__GetTicketRequest *req = NULL;
    if (c->recv_buf) {
        grpc_byte_buffer_reader r;
        grpc_byte_buffer_reader_init(&r, c->recv_buf);
        grpc_slice all = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
        req = helpdesk__v1__get_ticket_request__unpack(NULL, GRPC_SLICE_LENGTH(all),
                                                       GRPC_SLICE_START_PTR(all));
        grpc_slice_unref(all);
    }
    if (method_is(c, "/t.T/Echo")) {
        grpc_byte_buffer *bb = c->recv_buf;
        c->recv_buf = NULL;
        srv_step(c, bb, 1, GRPC_STATUS_OK, NULL);
    } else if (method_is(c, "/t.T/Fail")) {
        srv_step(c, NULL, 1, GRPC_STATUS_NOT_FOUND, "ticket 7 does not exist");
    } else if (method_is(c, "/t.T/Meta")) {
        md_copy(&c->request_md, "authorization", ts->last_auth, sizeof(ts->last_auth));
        md_copy(&c->request_md, "x-request-id", ts->last_request_id, sizeof(ts->last_request_id));
        Helpdesk__V1__GetTicketRequest resp = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
        resp.number = ts->last_auth;
        srv_step(c, pack_msg(&resp.base), 1, GRPC_STATUS_OK, NULL);
    } else if (method_is(c, "/t.T/Stream")) {
        c->to_send = req ? req->id : 0;
        c->sent = 0;
        if (c->to_send == 0)
            srv_step(c, NULL, 1, GRPC_STATUS_OK, NULL);
        else {
            Helpdesk__V1__GetTicketRequest m = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
            m.id = ++c->sent;
            srv_step(c, pack_msg(&m.base), 0, GRPC_STATUS_OK, NULL);
        }
    } else if (method_is(c, "/t.T/Garbage")) {
        grpc_slice s = grpc_slice_from_static_string("\xff\xff\xff");
        grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
        grpc_slice_unref(s);
        srv_step(c, bb, 1, GRPC_STATUS_OK, NULL);
    } else if (method_is(c, "/t.T/Hang")) {
        /* no answer: the client's deadline ends the call */
    } else {
        srv_step(c, NULL, 1, GRPC_STATUS_UNIMPLEMENTED, "no such method");
    }
    if (req)
        helpdesk__v1__get_ticket_request__free_unpacked(req, NULL);
}

static void srv_on_step(srv_call *c, int ok)
{
    if (!ok || c->phase == 2)
        return;
    if (method_is(c, "/t.T/Stream") && c->sent < c->to_send) {
        Helpdesk__V1__GetTicketRequest m = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
        m.id = ++c->sent;
        srv_step(c, pack_msg(&m.base), 0, GRPC_STATUS_OK, NULL);
    } else if (method_is(c, "/t.T/Stream")) {
        srv_step(c, NULL, 1, GRPC_STATUS_OK, NULL);
    }
}

static void *srv_main(void *arg)
{
    test_server *ts = arg;
    int shutting_down = 0;
    for (int guard = 0; guard < 10000000; guard++) {
        grpc_event ev =
            grpc_completion_queue_next(ts->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        srv_tag *t = ev.tag;
        srv_call *c = t->call;
        enum tag_kind kind = t->kind; /* t lives inside c, which may be freed below */
        switch (kind) {
        case TAG_SHUTDOWN:
            shutting_down = 1;
            break;
        case TAG_NEW:
            if (!ev.success) {
                srv_free(ts, c);
                break;
            }
            if (!shutting_down)
                srv_request(ts);
            {
                grpc_op ops[2];
                memset(ops, 0, sizeof(ops));
                ops[0].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
                ops[0].data.recv_close_on_server.cancelled = &c->cancelled;
                if (grpc_call_start_batch(c->call, ops, 1, &c->close_tag, NULL) == GRPC_CALL_OK)
                    c->close_out = 1;
                memset(ops, 0, sizeof(ops));
                ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
                ops[1].op = GRPC_OP_RECV_MESSAGE;
                ops[1].data.recv_message.recv_message = &c->recv_buf;
                if (grpc_call_start_batch(c->call, ops, 2, &c->step_tag, NULL) == GRPC_CALL_OK)
                    c->step_out = 1;
                c->phase = 1;
            }
            break;
        case TAG_STEP:
            c->step_out = 0;
            if (c->phase == 1 && ev.success && c->sent == 0 && !c->send_buf)
                srv_on_request(ts, c);
            else
                srv_on_step(c, ev.success);
            break;
        case TAG_CLOSE:
            c->close_out = 0;
            break;
        }
        if ((kind == TAG_STEP || kind == TAG_CLOSE) && !c->step_out && !c->close_out)
            srv_free(ts, c);
        if (shutting_down && ts->live == 0) {
            grpc_completion_queue_shutdown(ts->cq);
        }
    }
    return NULL;
}

static srv_tag shutdown_tag = {TAG_SHUTDOWN, NULL};

static test_server *server_start(void)
{
    test_server *ts = calloc(1, sizeof(*ts));
    assert_non_null(ts);
    ts->cq = grpc_completion_queue_create_for_next(NULL);
    ts->server = grpc_server_create(NULL, NULL);
    grpc_server_register_completion_queue(ts->server, ts->cq, NULL);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    ts->port = grpc_server_add_http2_port(ts->server, "127.0.0.1:0", creds);
    grpc_server_credentials_release(creds);
    assert_true(ts->port > 0);
    grpc_server_start(ts->server);
    srv_request(ts);
    assert_int_equal(pthread_create(&ts->thread, NULL, srv_main, ts), 0);
    return ts;
}

static void server_stop(test_server *ts)
{
    grpc_server_shutdown_and_notify(ts->server, ts->cq, &shutdown_tag);
    grpc_server_cancel_all_calls(ts->server);
    pthread_join(ts->thread, NULL);
    grpc_server_destroy(ts->server);
    grpc_completion_queue_destroy(ts->cq);
    free(ts);
}

/* --- Fixtures ------------------------------------------------------------------------ */

typedef struct fixture {
    test_server *ts;
    hd_client *cl;
    hd_arena *arena;
    char target[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    hd_err err;
    f->ts = server_start();
    snprintf(f->target, sizeof(f->target), "127.0.0.1:%d", f->ts->port);
    hd_client_opts o = {.target = f->target, .token = "s3cret"};
    assert_int_equal(hd_client_open(&f->cl, &o, &err), HD_OK);
    f->arena = hd_arena_create(0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hd_client_close(f->cl);
    server_stop(f->ts);
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

/* A port nothing listens on: bind an ephemeral one and close it again. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* --- Tests --------------------------------------------------------------------------- */

static void unary_ok_unpacks_response_into_callers_arena(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    req.id = 42;
    req.number = (char *)"TKT-000042";
    ProtobufCMessage *resp = NULL;
    hd_client_status st;
    int rc =
        hd_client_unary(f->cl, "/t.T/Echo", &req.base,
                        &helpdesk__v1__get_ticket_request__descriptor, f->arena, 2000, &resp, &st);
    assert_int_equal(rc, HD_OK);
    assert_int_equal(st.code, 0);
    assert_string_equal(st.name, "OK");
    assert_non_null(resp);
    Helpdesk__V1__GetTicketRequest *got = (Helpdesk__V1__GetTicketRequest *)resp;
    assert_int_equal(got->id, 42);
    assert_string_equal(got->number, "TKT-000042");
}

static void unary_sends_bearer_token_and_request_id(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    hd_client_status st;
    int rc =
        hd_client_unary(f->cl, "/t.T/Meta", &req.base,
                        &helpdesk__v1__get_ticket_request__descriptor, f->arena, 2000, &resp, &st);
    assert_int_equal(rc, HD_OK);
    assert_string_equal(((Helpdesk__V1__GetTicketRequest *)resp)->number, "Bearer s3cret");
    assert_true(strlen(st.request_id) > 4);
    assert_string_equal(f->ts->last_request_id, st.request_id);

    /* A second call gets a fresh id. */
    char first[sizeof(st.request_id)];
    snprintf(first, sizeof(first), "%s", st.request_id);
    rc = hd_client_unary(f->cl, "/t.T/Meta", &req.base,
                         &helpdesk__v1__get_ticket_request__descriptor, f->arena, 2000, &resp, &st);
    assert_int_equal(rc, HD_OK);
    assert_string_not_equal(first, st.request_id);
}

static void fixed_request_id_is_sent_on_every_call(void **state)
{
    fixture *f = *state;
    hd_client *cl = NULL;
    hd_err err;
    hd_client_opts o = {.target = f->target, .request_id = "abc-123"};
    assert_int_equal(hd_client_open(&cl, &o, &err), HD_OK);
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    hd_client_status st;
    assert_int_equal(hd_client_unary(cl, "/t.T/Meta", &req.base,
                                     &helpdesk__v1__get_ticket_request__descriptor, f->arena, 2000,
                                     &resp, &st),
                     HD_OK);
    assert_string_equal(f->ts->last_request_id, "abc-123");
    assert_string_equal(f->ts->last_auth, ""); /* no token configured: no header */
    hd_client_close(cl);
}

static void unary_error_status_carries_code_name_and_detail(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    ProtobufCMessage *resp = (ProtobufCMessage *)1;
    hd_client_status st;
    int rc =
        hd_client_unary(f->cl, "/t.T/Fail", &req.base,
                        &helpdesk__v1__get_ticket_request__descriptor, f->arena, 2000, &resp, &st);
    assert_int_equal(rc, HD_ENOTFOUND);
    assert_null(resp);
    assert_int_equal(st.code, GRPC_STATUS_NOT_FOUND);
    assert_string_equal(st.name, "NOT_FOUND");
    assert_string_equal(st.detail, "ticket 7 does not exist");
    char msg[256];
    hd_client_status_message(msg, sizeof(msg), &st, f->target);
    assert_string_equal(msg, "not found: ticket 7 does not exist (NOT_FOUND)");
    assert_int_equal(hd_client_exit_code(st.code), 2);
}

static void unary_undecodable_response_is_corrupt(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    hd_client_status st;
    int rc =
        hd_client_unary(f->cl, "/t.T/Garbage", &req.base,
                        &helpdesk__v1__get_ticket_request__descriptor, f->arena, 2000, &resp, &st);
    assert_int_equal(rc, HD_ECORRUPT);
    assert_null(resp);
    assert_int_equal(st.code, GRPC_STATUS_INTERNAL);
}

static void unary_past_deadline_is_deadline_exceeded_on_time(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    hd_client_status st;
    double t0 = now_ms();
    int rc =
        hd_client_unary(f->cl, "/t.T/Hang", &req.base,
                        &helpdesk__v1__get_ticket_request__descriptor, f->arena, 200, &resp, &st);
    double took = now_ms() - t0;
    assert_int_equal(rc, HD_ETIMEDOUT);
    assert_string_equal(st.name, "DEADLINE_EXCEEDED");
    assert_true(took >= 150);
    assert_true(took < 2000);
    assert_int_equal(hd_client_exit_code(st.code), 6);
}

static void unary_to_closed_port_is_unavailable_with_start_hint(void **state)
{
    (void)state;
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", closed_port());
    hd_client *cl = NULL;
    hd_err err;
    hd_client_opts o = {.target = target};
    assert_int_equal(hd_client_open(&cl, &o, &err), HD_OK);
    hd_arena *arena = hd_arena_create(0);
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    hd_client_status st;
    double t0 = now_ms();
    int rc =
        hd_client_unary(cl, "/t.T/Echo", &req.base, &helpdesk__v1__get_ticket_request__descriptor,
                        arena, 5000, &resp, &st);
    assert_int_equal(rc, HD_EUNAVAIL);
    assert_string_equal(st.name, "UNAVAILABLE");
    assert_true(now_ms() - t0 < 4000); /* fails fast, not at the deadline */
    char msg[512];
    hd_client_status_message(msg, sizeof(msg), &st, target);
    assert_non_null(strstr(msg, target));
    assert_non_null(strstr(msg, "tools/up"));
    assert_int_equal(hd_client_exit_code(st.code), 5);
    hd_arena_destroy(arena);
    hd_client_close(cl);
}

typedef struct collect {
    int seen;
    int stop_after;
    uint64_t last_id;
} collect;

static int on_msg(void *ud, const ProtobufCMessage *msg)
{
    collect *c = ud;
    c->seen++;
    c->last_id = ((const Helpdesk__V1__GetTicketRequest *)msg)->id;
    return c->stop_after && c->seen >= c->stop_after;
}

static void stream_delivers_every_message_in_order(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    req.id = 25;
    collect c = {0};
    hd_client_status st;
    int rc = hd_client_server_stream(f->cl, "/t.T/Stream", &req.base,
                                     &helpdesk__v1__get_ticket_request__descriptor, 2000, on_msg,
                                     &c, &st);
    assert_int_equal(rc, HD_OK);
    assert_int_equal(st.code, 0);
    assert_int_equal(c.seen, 25);
    assert_int_equal(c.last_id, 25);
}

static void stream_stops_when_callback_asks(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    req.id = 100000;
    collect c = {.stop_after = 3};
    hd_client_status st;
    int rc = hd_client_server_stream(f->cl, "/t.T/Stream", &req.base,
                                     &helpdesk__v1__get_ticket_request__descriptor, 5000, on_msg,
                                     &c, &st);
    assert_int_equal(rc, HD_OK);
    assert_int_equal(st.code, 0);
    assert_int_equal(c.seen, 3);
}

static void stream_error_status_is_returned(void **state)
{
    fixture *f = *state;
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    collect c = {0};
    hd_client_status st;
    int rc = hd_client_server_stream(f->cl, "/t.T/Nope", &req.base,
                                     &helpdesk__v1__get_ticket_request__descriptor, 2000, on_msg,
                                     &c, &st);
    assert_int_equal(rc, HD_EUNIMPL);
    assert_string_equal(st.name, "UNIMPLEMENTED");
    assert_int_equal(c.seen, 0);
}

static void open_rejects_bad_target_token_and_request_id(void **state)
{
    (void)state;
    hd_client *cl = (hd_client *)1;
    hd_err err;
    hd_client_opts none = {0};
    assert_int_equal(hd_client_open(&cl, &none, &err), HD_EINVAL);
    assert_null(cl);
    hd_client_opts tok = {.target = "127.0.0.1:1", .token = "a\nb"};
    assert_int_equal(hd_client_open(&cl, &tok, &err), HD_EINVAL);
    hd_client_opts rid = {.target = "127.0.0.1:1", .request_id = "has space"};
    assert_int_equal(hd_client_open(&cl, &rid, &err), HD_EINVAL);
    hd_client_opts ca = {.target = "127.0.0.1:1", .tls = 1, .ca_file = "/nonexistent/ca.pem"};
    assert_int_equal(hd_client_open(&cl, &ca, &err), HD_EIO);
    assert_non_null(strstr(err.detail, "/nonexistent/ca.pem"));
    hd_client_close(NULL);
}

static void every_grpc_code_has_name_exit_code_error_and_message(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *name;
        int exit_code;
        int err;
    } table[] = {
        {0, "OK", 0, HD_OK},
        {1, "CANCELLED", 10, HD_ECANCELED},
        {2, "UNKNOWN", 10, HD_EINTERNAL},
        {3, "INVALID_ARGUMENT", 4, HD_EINVAL},
        {4, "DEADLINE_EXCEEDED", 6, HD_ETIMEDOUT},
        {5, "NOT_FOUND", 2, HD_ENOTFOUND},
        {6, "ALREADY_EXISTS", 7, HD_EEXIST},
        {7, "PERMISSION_DENIED", 3, HD_EPERM},
        {8, "RESOURCE_EXHAUSTED", 8, HD_EFULL},
        {9, "FAILED_PRECONDITION", 7, HD_ESTATE},
        {10, "ABORTED", 7, HD_EABORTED},
        {11, "OUT_OF_RANGE", 4, HD_ETOOBIG},
        {12, "UNIMPLEMENTED", 10, HD_EUNIMPL},
        {13, "INTERNAL", 10, HD_EINTERNAL},
        {14, "UNAVAILABLE", 5, HD_EUNAVAIL},
        {15, "DATA_LOSS", 10, HD_ECORRUPT},
        {16, "UNAUTHENTICATED", 3, HD_EUNAUTH},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        int code = table[i].code;
        assert_string_equal(hd_client_code_name(code), table[i].name);
        assert_int_equal(hd_client_exit_code(code), table[i].exit_code);
        assert_int_equal(hd_client_code_to_err(code), table[i].err);
        hd_client_status st = {.code = code, .name = hd_client_code_name(code)};
        snprintf(st.detail, sizeof(st.detail), "line one\nline two");
        char msg[512];
        hd_client_status_message(msg, sizeof(msg), &st, "127.0.0.1:7070");
        assert_non_null(strstr(msg, table[i].name));
        assert_non_null(strstr(msg, "line one line two"));
        assert_null(strchr(msg, '\n'));
    }
    assert_string_equal(hd_client_code_name(17), "UNKNOWN_CODE");
    assert_string_equal(hd_client_code_name(-1), "UNKNOWN_CODE");
    assert_int_equal(hd_client_exit_code(99), 10);
    assert_int_equal(hd_client_code_to_err(99), HD_EINTERNAL);
}

static void status_message_truncates_to_buffer(void **state)
{
    (void)state;
    hd_client_status st = {.code = 5, .name = "NOT_FOUND"};
    snprintf(st.detail, sizeof(st.detail), "ticket 9");
    char small[10];
    hd_client_status_message(small, sizeof(small), &st, NULL);
    assert_int_equal(strlen(small), 9);
    st.code = 14;
    char msg[512];
    hd_client_status_message(msg, sizeof(msg), &st, NULL);
    assert_non_null(strstr(msg, "tools/up"));
}

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unary_ok_unpacks_response_into_callers_arena, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unary_sends_bearer_token_and_request_id, setup, teardown),
        cmocka_unit_test_setup_teardown(fixed_request_id_is_sent_on_every_call, setup, teardown),
        cmocka_unit_test_setup_teardown(unary_error_status_carries_code_name_and_detail, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unary_undecodable_response_is_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(unary_past_deadline_is_deadline_exceeded_on_time, setup,
                                        teardown),
        cmocka_unit_test(unary_to_closed_port_is_unavailable_with_start_hint),
        cmocka_unit_test_setup_teardown(stream_delivers_every_message_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(stream_stops_when_callback_asks, setup, teardown),
        cmocka_unit_test_setup_teardown(stream_error_status_is_returned, setup, teardown),
        cmocka_unit_test(open_rejects_bad_target_token_and_request_id),
        cmocka_unit_test(every_grpc_code_has_name_exit_code_error_and_message),
        cmocka_unit_test(status_message_truncates_to_buffer),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    grpc_shutdown_blocking();
    return failed;
}
