/* Stream backpressure: hd_rpc_stream_send_wait from a handler's own thread waits for queue
 * space instead of failing with HD_EFULL, ends promptly when the call is cancelled, and is
 * refused on an RPC worker thread (which must stay free to complete the sends). */
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

#include <grpc/grpc.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/rpc/rpc.h"
#include "tests/unit/server/rpc/test_client.h"

typedef Helpdesk__V1__GetTicketRequest Req;
typedef Helpdesk__V1__GetTicketResponse Resp;
#define REQ_DESC  (&helpdesk__v1__get_ticket_request__descriptor)
#define RESP_DESC (&helpdesk__v1__get_ticket_response__descriptor)

/* The producer of the current test: sends tickets 1..n with a padded subject, then ends the
 * call with OK or the first error. */
typedef struct producer {
    pthread_t thread;
    hd_rpc_call *call;
    uint64_t n;
    int64_t timeout_ms;
    int last_rc;
    uint64_t sent;
} producer;

static producer g_prod;
static char g_pad[2048];

static void *produce(void *arg)
{
    producer *p = arg;
    int rc = HD_OK;
    for (uint64_t i = 1; i <= p->n && rc == HD_OK; i++) {
        Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
        Resp r = HELPDESK__V1__GET_TICKET_RESPONSE__INIT;
        t.id = i;
        t.subject = g_pad;
        r.ticket = &t;
        rc = hd_rpc_stream_send_wait(p->call, &r.base, p->timeout_ms);
        if (rc == HD_OK)
            p->sent = i;
    }
    p->last_rc = rc;
    hd_err e;
    hd_err_set(&e, rc, "producer: %s", hd_strerror(rc));
    hd_rpc_finish(p->call, rc == HD_OK ? NULL : &e);
    return NULL;
}

/* Streams req.id tickets from a thread of its own. */
static int h_produce(hd_rpc_call *call, const ProtobufCMessage *reqm, hd_err *err)
{
    g_prod.call = call;
    g_prod.n = ((const Req *)reqm)->id;
    if (pthread_create(&g_prod.thread, NULL, produce, &g_prod) != 0)
        return hd_err_set(err, HD_EINTERNAL, "pthread_create");
    return HD_RPC_ASYNC;
}

static int g_worker_rc;

/* Misuse: waits on the worker thread itself. */
static int h_on_worker(hd_rpc_call *call, const ProtobufCMessage *reqm, hd_err *err)
{
    (void)reqm;
    Resp r = HELPDESK__V1__GET_TICKET_RESPONSE__INIT;
    g_worker_rc = hd_rpc_stream_send_wait(call, &r.base, 1000);
    return hd_err_set(err, g_worker_rc, "send_wait on a worker");
}

static const hd_rpc_method methods[] = {
    {"/t.T/Produce", HD_RPC_SERVER_STREAM, REQ_DESC, RESP_DESC, NULL, h_produce, HD_RPC_OPEN},
    {"/t.T/OnWorker", HD_RPC_SERVER_STREAM, REQ_DESC, RESP_DESC, NULL, h_on_worker, HD_RPC_OPEN},
};

typedef struct fixture {
    hd_rpc_server *s;
    grpc_channel *ch;
} fixture;

/* A server whose streams queue at most 4 unsent messages: any producer faster than the
 * network hits a full queue at once. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    hd_rpc_config cfg;
    hd_err err;
    memset(&cfg, 0, sizeof(cfg));
    memset(g_pad, 'x', sizeof g_pad - 1);
    cfg.listen = "127.0.0.1:0";
    cfg.workers = 2;
    cfg.max_stream_queue = 4;
    assert_int_equal(hd_rpc_server_create(&f->s, &cfg, &err), HD_OK);
    assert_int_equal(hd_rpc_server_add_methods(f->s, methods, 2, &err), HD_OK);
    assert_int_equal(hd_rpc_server_start(f->s, &err), HD_OK);
    f->ch = tc_channel(hd_rpc_server_port(f->s));
    memset(&g_prod, 0, sizeof g_prod);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    grpc_channel_destroy(f->ch);
    hd_rpc_server_destroy(f->s);
    free(f);
    return 0;
}

static tc_result stream(fixture *f, const char *method, uint64_t id, int timeout_ms)
{
    Req q = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    q.id = id;
    size_t len;
    unsigned char *b = tc_pack(&q.base, &len);
    tc_result res;
    assert_int_equal(tc_server_stream(f->ch, method, b, len, NULL, timeout_ms, &res), 0);
    free(b);
    return res;
}

static void waiting_send_delivers_20000_messages_through_a_queue_of_4_in_order(void **state)
{
    fixture *f = *state;
    g_prod.timeout_ms = 10000;
    tc_result res = stream(f, "/t.T/Produce", 20000, 30000);
    pthread_join(g_prod.thread, NULL);
    print_message("status %d (%s), %d messages, producer %s\n", res.status, res.details, res.nmsgs,
                  hd_errname(g_prod.last_rc));
    assert_int_equal(g_prod.last_rc, HD_OK);
    assert_int_equal(res.status, GRPC_STATUS_OK);
    assert_int_equal(res.nmsgs, 20000);
    Resp *r = helpdesk__v1__get_ticket_response__unpack(NULL, res.resp_len, res.resp);
    assert_non_null(r);
    assert_int_equal(r->ticket->id, 20000);
    helpdesk__v1__get_ticket_response__free_unpacked(r, NULL);
    tc_result_clear(&res);
}

static void waiting_send_ends_with_cancelled_when_the_deadline_passes(void **state)
{
    fixture *f = *state;
    g_prod.timeout_ms = 60000; /* far beyond the call's deadline */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tc_result res = stream(f, "/t.T/Produce", 100000000, 300);
    pthread_join(g_prod.thread, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("status %d after %.2f s; producer sent %llu, then %s\n", res.status, s,
                  (unsigned long long)g_prod.sent, hd_errname(g_prod.last_rc));
    assert_int_equal(res.status, GRPC_STATUS_DEADLINE_EXCEEDED);
    assert_int_equal(g_prod.last_rc, HD_ECANCELED);
    assert_true(g_prod.sent < 100000000);
    assert_true(s < 5.0); /* the wait noticed the cancel, not its own 60 s timeout */
    tc_result_clear(&res);
}

static void waiting_send_on_an_rpc_worker_is_refused(void **state)
{
    fixture *f = *state;
    tc_result res = stream(f, "/t.T/OnWorker", 1, 5000);
    assert_int_equal(g_worker_rc, HD_ESTATE);
    assert_int_equal(res.nmsgs, 0);
    assert_int_not_equal(res.status, GRPC_STATUS_OK);
    tc_result_clear(&res);
}

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            waiting_send_delivers_20000_messages_through_a_queue_of_4_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(waiting_send_ends_with_cancelled_when_the_deadline_passes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(waiting_send_on_an_rpc_worker_is_refused, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    grpc_shutdown();
    return rc;
}
