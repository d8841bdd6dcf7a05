/* Health and reflection served by the real serving core on 127.0.0.1:0 and called by a
 * C-core client over loopback: the wire path the unit tests with a fake call skip. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "server/rpc/builtin/health.h"
#include "server/rpc/builtin/reflection.h"
#include "tests/unit/server/rpc/builtin/expected_services.h"

#define SERVING         GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING     GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define SERVICE_UNKNOWN GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN
#define WAIT_MS         10000

typedef struct fixture {
    hd_health *health;
    hd_rpc_server *server;
    grpc_channel *ch;
} fixture;

static fixture g;

/* ---------------------------------------------------------------- tiny client ---- */

typedef struct client_call {
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata_array init_md, trail_md;
    grpc_status_code status;
    grpc_slice details;
} client_call;

static gpr_timespec in_ms(int ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static void cc_start(client_call *c, const char *method)
{
    memset(c, 0, sizeof(*c));
    c->cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice m = grpc_slice_from_copied_string(method);
    c->call = grpc_channel_create_call(g.ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, m, NULL,
                                       in_ms(WAIT_MS), NULL);
    grpc_slice_unref(m);
    assert_non_null(c->call);
    grpc_metadata_array_init(&c->init_md);
    grpc_metadata_array_init(&c->trail_md);
}

/* Runs one batch and waits for it; returns its success flag. */
static int cc_batch(client_call *c, const grpc_op *ops, size_t n)
{
    assert_int_equal(grpc_call_start_batch(c->call, ops, n, c, NULL), GRPC_CALL_OK);
    grpc_event ev = grpc_completion_queue_pluck(c->cq, c, in_ms(WAIT_MS + 5000), NULL);
    assert_int_equal(ev.type, GRPC_OP_COMPLETE);
    return ev.success;
}

/* Sends msg (if not NULL) and, with close, the half-close; the first send also waits for
 * the server's initial metadata. */
static void cc_send(client_call *c, const ProtobufCMessage *msg, int close, int first)
{
    grpc_op ops[4];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    grpc_byte_buffer *bb = NULL;
    if (first) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[n++].data.recv_initial_metadata.recv_initial_metadata = &c->init_md;
    }
    if (msg) {
        size_t len = protobuf_c_message_get_packed_size(msg);
        uint8_t *buf = malloc(len ? len : 1);
        assert_non_null(buf);
        protobuf_c_message_pack(msg, buf);
        grpc_slice sl = grpc_slice_from_copied_buffer((const char *)buf, len);
        free(buf);
        bb = grpc_raw_byte_buffer_create(&sl, 1);
        grpc_slice_unref(sl);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = bb;
    }
    if (close)
        ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    assert_true(cc_batch(c, ops, n));
    if (bb)
        grpc_byte_buffer_destroy(bb);
}

/* Receives one message unpacked with desc (owned: free_unpacked), or NULL at the end. */
static ProtobufCMessage *cc_recv(client_call *c, const ProtobufCMessageDescriptor *desc)
{
    grpc_byte_buffer *bb = NULL;
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &bb;
    cc_batch(c, &op, 1);
    if (!bb)
        return NULL;
    grpc_byte_buffer_reader r;
    grpc_byte_buffer_reader_init(&r, bb);
    grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    grpc_byte_buffer_destroy(bb);
    ProtobufCMessage *m =
        protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(sl), GRPC_SLICE_START_PTR(sl));
    grpc_slice_unref(sl);
    assert_non_null(m);
    return m;
}

/* Waits for the status, frees everything and returns the status code. */
static grpc_status_code cc_end(client_call *c)
{
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op.data.recv_status_on_client.trailing_metadata = &c->trail_md;
    op.data.recv_status_on_client.status = &c->status;
    op.data.recv_status_on_client.status_details = &c->details;
    cc_batch(c, &op, 1);
    grpc_slice_unref(c->details);
    grpc_metadata_array_destroy(&c->init_md);
    grpc_metadata_array_destroy(&c->trail_md);
    grpc_call_unref(c->call);
    grpc_completion_queue_shutdown(c->cq);
    while (
        grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
        GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(c->cq);
    return c->status;
}

/* ---------------------------------------------------------------- fixture ---- */

static int setup(void **state)
{
    (void)state;
    hd_err err;
    grpc_init();
    if (hd_health_create(&g.health, &err) != HD_OK || hd_reflection_init(&err) != HD_OK)
        return -1;
    hd_health_set(g.health, "helpdesk.v1.TicketService", true);
    hd_rpc_config cfg = {.listen = "127.0.0.1:0", .workers = 2};
    if (hd_rpc_server_create(&g.server, &cfg, &err) != HD_OK)
        return -1;
    size_t n;
    const hd_rpc_method *m = hd_health_methods(g.health, &n);
    if (hd_rpc_server_add_methods(g.server, m, n, &err) != HD_OK)
        return -1;
    m = hd_reflection_methods(&n);
    if (hd_rpc_server_add_methods(g.server, m, n, &err) != HD_OK)
        return -1;
    if (hd_rpc_server_start(g.server, &err) != HD_OK) {
        print_error("start: %s\n", err.detail);
        return -1;
    }
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", hd_rpc_server_port(g.server));
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    g.ch = grpc_channel_create(target, creds, NULL);
    grpc_channel_credentials_release(creds);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    grpc_channel_destroy(g.ch);
    hd_health_shutdown(g.health);
    hd_rpc_server_destroy(g.server);
    hd_health_destroy(g.health);
    hd_reflection_cleanup();
    grpc_shutdown();
    return 0;
}

/* ---------------------------------------------------------------- tests ---- */

static grpc_status_code check(const char *service, int *st)
{
    client_call c;
    cc_start(&c, "/grpc.health.v1.Health/Check");
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)service;
    cc_send(&c, &req.base, 1, 1);
    Grpc__Health__V1__HealthCheckResponse *r = (Grpc__Health__V1__HealthCheckResponse *)cc_recv(
        &c, &grpc__health__v1__health_check_response__descriptor);
    *st = r ? (int)r->status : -1;
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
    return cc_end(&c);
}

static void check_over_the_wire_serving_and_not_found(void **state)
{
    (void)state;
    int st = -1;
    assert_int_equal(check("", &st), GRPC_STATUS_OK);
    assert_int_equal(st, SERVING);
    assert_int_equal(check("helpdesk.v1.TicketService", &st), GRPC_STATUS_OK);
    assert_int_equal(st, SERVING);
    assert_int_equal(check("no.such.Service", &st), GRPC_STATUS_NOT_FOUND);
    assert_int_equal(st, -1);
}

static void reflection_answers_each_request_in_order_on_both_paths(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    };
    for (int p = 0; p < 2; p++) {
        client_call c;
        cc_start(&c, paths[p]);
        Grpc__Reflection__V1__ServerReflectionRequest req =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
        req.message_request_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES;
        req.list_services = (char *)"";
        cc_send(&c, &req.base, 0, 1);
        Grpc__Reflection__V1__ServerReflectionResponse *r =
            (void *)cc_recv(&c, &grpc__reflection__v1__server_reflection_response__descriptor);
        assert_non_null(r);
        size_t n_expected;
        expected_services(&n_expected);
        assert_int_equal(r->list_services_response->n_service, n_expected);
        protobuf_c_message_free_unpacked(&r->base, NULL);

        req.message_request_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
        req.file_containing_symbol = (char *)"helpdesk.v1.Nope";
        cc_send(&c, &req.base, 0, 0);
        req.file_containing_symbol = (char *)"grpc.health.v1.Health.Check";
        cc_send(&c, &req.base, 1, 0);
        r = (void *)cc_recv(&c, &grpc__reflection__v1__server_reflection_response__descriptor);
        assert_non_null(r);
        assert_int_equal(r->error_response->error_code, 5);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        r = (void *)cc_recv(&c, &grpc__reflection__v1__server_reflection_response__descriptor);
        assert_non_null(r);
        assert_int_equal(r->file_descriptor_response->n_file_descriptor_proto, 1);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        assert_null(cc_recv(&c, &grpc__reflection__v1__server_reflection_response__descriptor));
        assert_int_equal(cc_end(&c), GRPC_STATUS_OK);
    }
}

static int recv_status(client_call *c)
{
    Grpc__Health__V1__HealthCheckResponse *r =
        (void *)cc_recv(c, &grpc__health__v1__health_check_response__descriptor);
    int st = r ? (int)r->status : -1;
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
    return st;
}

/* Waits (bounded) until the server has dropped every watcher. The cancel reaches the
 * server asynchronously and nothing signals it to the client, so this polls. */
static size_t wait_watchers_gone(void)
{
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < WAIT_MS && hd_health_watch_count(g.health) > 0; i++)
        nanosleep(&ms, NULL);
    return hd_health_watch_count(g.health);
}

static void watch_streams_changes_until_client_cancels(void **state)
{
    (void)state;
    client_call c;
    cc_start(&c, "/grpc.health.v1.Health/Watch");
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)"svc";
    cc_send(&c, &req.base, 1, 1);
    assert_int_equal(recv_status(&c), SERVICE_UNKNOWN);
    assert_int_equal(hd_health_watch_count(g.health), 1);
    assert_int_equal(hd_health_set(g.health, "svc", true), HD_OK);
    assert_int_equal(recv_status(&c), SERVING);
    assert_int_equal(hd_health_set(g.health, "svc", false), HD_OK);
    assert_int_equal(recv_status(&c), NOT_SERVING);
    grpc_call_cancel(c.call, NULL);
    assert_int_equal(cc_end(&c), GRPC_STATUS_CANCELLED);
    assert_int_equal(wait_watchers_gone(), 0);
}

static void health_shutdown_ends_open_watch_with_not_serving_and_ok(void **state)
{
    (void)state;
    client_call c;
    cc_start(&c, "/grpc.health.v1.Health/Watch");
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    cc_send(&c, &req.base, 1, 1);
    assert_int_equal(recv_status(&c), SERVING);
    hd_health_shutdown(g.health);
    assert_int_equal(recv_status(&c), NOT_SERVING);
    assert_int_equal(recv_status(&c), -1);
    assert_int_equal(cc_end(&c), GRPC_STATUS_OK);
    int st = -1;
    assert_int_equal(check("", &st), GRPC_STATUS_OK);
    assert_int_equal(st, NOT_SERVING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_over_the_wire_serving_and_not_found),
        cmocka_unit_test(reflection_answers_each_request_in_order_on_both_paths),
        cmocka_unit_test(watch_streams_changes_until_client_cancels),
        /* Last: health shutdown is final. */
        cmocka_unit_test(health_shutdown_ends_open_watch_with_not_serving_and_ok),
    };
    return cmocka_run_group_tests(tests, setup, teardown) ? 1 : 0;
}
