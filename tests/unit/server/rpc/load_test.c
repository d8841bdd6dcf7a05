/* The serving core under load: many concurrent streams, and shutdown with calls in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/support/time.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/log.h"
#include "server/rpc/rpc.h"
#include "tests/unit/server/rpc/test_client.h"

#define REQ_DESC  (&helpdesk__v1__get_ticket_request__descriptor)
#define RESP_DESC (&helpdesk__v1__get_ticket_response__descriptor)

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_parked;

static int h_get(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                 hd_err *err)
{
    (void)err;
    const Helpdesk__V1__GetTicketRequest *req = (const Helpdesk__V1__GetTicketRequest *)reqm;
    Helpdesk__V1__Ticket *t = hd_arena_alloc(hd_rpc_call_arena(call), sizeof(*t));
    helpdesk__v1__ticket__init(t);
    t->id = req->id;
    ((Helpdesk__V1__GetTicketResponse *)respm)->ticket = t;
    return HD_OK;
}

static void park_cancelled(void *arg)
{
    hd_err e;
    hd_err_set(&e, HD_EUNAVAIL, "server shutting down");
    hd_rpc_finish(arg, &e);
}

static int h_park(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                  hd_err *err)
{
    (void)reqm;
    (void)respm;
    (void)err;
    hd_rpc_call_on_cancel(call, park_cancelled, call);
    pthread_mutex_lock(&g_mu);
    g_parked++;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    return HD_RPC_ASYNC;
}

/* A finisher thread ending async calls after a short random delay, racing the clients'
 * deadlines; the cancel callback only counts (the finisher still finishes, once). */
#define FIN_Q 8192
static hd_rpc_call *g_finq[FIN_Q];
static int g_fin_head, g_fin_tail, g_fin_stop;
static atomic_int g_fin_cancels;

static void *finisher(void *arg)
{
    (void)arg;
    unsigned seed = 12345;
    for (;;) {
        pthread_mutex_lock(&g_mu);
        while (g_fin_head == g_fin_tail && !g_fin_stop)
            pthread_cond_wait(&g_cv, &g_mu);
        if (g_fin_head == g_fin_tail && g_fin_stop) {
            pthread_mutex_unlock(&g_mu);
            return NULL;
        }
        hd_rpc_call *call = g_finq[g_fin_head++ % FIN_Q];
        pthread_mutex_unlock(&g_mu);
        if (rand_r(&seed) % 4 == 0) {
            struct timespec ts = {0, (long)(rand_r(&seed) % 3000) * 1000};
            nanosleep(&ts, NULL);
        }
        hd_rpc_finish(call, NULL);
    }
}

static void race_cancelled(void *arg)
{
    (void)arg;
    atomic_fetch_add(&g_fin_cancels, 1);
}

static int h_race(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                  hd_err *err)
{
    h_get(call, reqm, respm, err);
    hd_rpc_call_on_cancel(call, race_cancelled, NULL);
    pthread_mutex_lock(&g_mu);
    g_finq[g_fin_tail++ % FIN_Q] = call;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    return HD_RPC_ASYNC;
}

static const hd_rpc_method methods[] = {
    {"/t.T/Get", HD_RPC_UNARY, REQ_DESC, RESP_DESC, h_get, NULL, HD_RPC_OPEN},
    {"/t.T/Park", HD_RPC_UNARY, REQ_DESC, RESP_DESC, h_park, NULL, HD_RPC_OPEN},
    {"/t.T/Race", HD_RPC_UNARY, REQ_DESC, RESP_DESC, h_race, NULL, HD_RPC_OPEN},
};

static hd_rpc_server *start_server(void)
{
    hd_rpc_server *s = NULL;
    hd_err err;
    hd_rpc_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.listen = "127.0.0.1:0";
    assert_int_equal(hd_rpc_server_create(&s, &cfg, &err), HD_OK);
    assert_int_equal(hd_rpc_server_add_methods(s, methods, 3, &err), HD_OK);
    assert_int_equal(hd_rpc_server_start(s, &err), HD_OK);
    return s;
}

#define SLOTS 64

typedef struct slot {
    grpc_call *call;
    grpc_byte_buffer *send, *recv;
    grpc_metadata_array imd, tmd;
    grpc_status_code status;
    grpc_slice details;
    uint64_t id;
} slot;

static void slot_start(grpc_channel *ch, grpc_completion_queue *cq, slot *c, const char *method,
                       uint64_t id, int deadline_ms)
{
    memset(c, 0, sizeof(*c));
    c->id = id;
    Helpdesk__V1__GetTicketRequest r = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    r.id = id;
    size_t len;
    unsigned char *b = tc_pack(&r.base, &len);
    grpc_slice sl = grpc_slice_from_copied_buffer((const char *)b, len);
    free(b);
    c->send = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    grpc_slice m = grpc_slice_from_static_string(method);
    c->call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, NULL,
                                       tc_deadline_ms(deadline_ms), NULL);
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

/* Checks the response carries the request's id; frees the call. Returns 1 when OK. */
static int slot_end(slot *c)
{
    int ok = c->status == GRPC_STATUS_OK && c->recv;
    if (ok) {
        size_t len;
        unsigned char *b = tc_read_bb(c->recv, &len);
        Helpdesk__V1__GetTicketResponse *r =
            helpdesk__v1__get_ticket_response__unpack(NULL, len, b);
        ok = r && r->ticket && r->ticket->id == c->id;
        helpdesk__v1__get_ticket_response__free_unpacked(r, NULL);
        free(b);
    }
    grpc_byte_buffer_destroy(c->send);
    if (c->recv)
        grpc_byte_buffer_destroy(c->recv);
    grpc_metadata_array_destroy(&c->imd);
    grpc_metadata_array_destroy(&c->tmd);
    grpc_slice_unref(c->details);
    grpc_call_unref(c->call);
    return ok;
}

static void drain_cq(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
}

static void ten_thousand_calls_over_64_streams_all_succeed(void **state)
{
    (void)state;
    enum { TOTAL = 10000 };
    hd_rpc_server *s = start_server();
    grpc_channel *ch = tc_channel(hd_rpc_server_port(s));
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    slot *slots = calloc(SLOTS, sizeof(*slots));
    uint64_t next = 1;
    int done = 0, ok = 0;
    gpr_timespec t0 = gpr_now(GPR_CLOCK_MONOTONIC);
    for (int i = 0; i < SLOTS; i++)
        slot_start(ch, cq, &slots[i], "/t.T/Get", next++, 60000);
    while (done < TOTAL) {
        grpc_event ev = grpc_completion_queue_next(cq, tc_deadline_ms((60) * 1000), NULL);
        assert_int_equal(ev.type, GRPC_OP_COMPLETE);
        slot *c = ev.tag;
        ok += slot_end(c);
        done++;
        if (next <= TOTAL)
            slot_start(ch, cq, c, "/t.T/Get", next++, 60000);
    }
    gpr_timespec dt = gpr_time_sub(gpr_now(GPR_CLOCK_MONOTONIC), t0);
    double secs = (double)dt.tv_sec + dt.tv_nsec / 1e9;
    print_message("%d calls, %d OK, %.3f s, %.0f calls/s\n", done, ok, secs, done / secs);
    assert_int_equal(ok, TOTAL);
    drain_cq(cq);
    free(slots);
    grpc_channel_destroy(ch);
    hd_rpc_server_destroy(s);
}

static void shutdown_with_64_calls_in_flight_exits_cleanly(void **state)
{
    (void)state;
    hd_rpc_server *s = start_server();
    grpc_channel *ch = tc_channel(hd_rpc_server_port(s));
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    slot *slots = calloc(SLOTS, sizeof(*slots));
    pthread_mutex_lock(&g_mu);
    g_parked = 0;
    pthread_mutex_unlock(&g_mu);
    for (int i = 0; i < SLOTS; i++)
        slot_start(ch, cq, &slots[i], "/t.T/Park", (uint64_t)i + 1, 60000);

    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&g_mu);
    while (g_parked < SLOTS && pthread_cond_timedwait(&g_cv, &g_mu, &until) == 0) {
    }
    int parked = g_parked;
    pthread_mutex_unlock(&g_mu);
    assert_int_equal(parked, SLOTS);
    assert_int_equal(hd_rpc_server_active_calls(s), SLOTS);

    gpr_timespec t0 = gpr_now(GPR_CLOCK_MONOTONIC);
    hd_rpc_server_shutdown(s, 200);
    gpr_timespec dt = gpr_time_sub(gpr_now(GPR_CLOCK_MONOTONIC), t0);
    print_message("shutdown with %d parked calls took %lld ms\n", SLOTS,
                  (long long)gpr_time_to_millis(dt));
    assert_int_equal(hd_rpc_server_active_calls(s), 0);
    assert_true(gpr_time_to_millis(dt) < 10000);

    int failed = 0;
    for (int i = 0; i < SLOTS; i++) {
        grpc_event ev = grpc_completion_queue_next(cq, tc_deadline_ms((20) * 1000), NULL);
        assert_int_equal(ev.type, GRPC_OP_COMPLETE);
        slot *c = ev.tag;
        failed += c->status != GRPC_STATUS_OK;
        slot_end(c);
    }
    assert_int_equal(failed, SLOTS); /* none of them could succeed */
    drain_cq(cq);
    free(slots);
    grpc_channel_destroy(ch);
    hd_rpc_server_destroy(s);
}

static void async_finish_racing_deadlines_leaves_nothing_behind(void **state)
{
    (void)state;
    enum { TOTAL = 3000, CONC = 16 };
    hd_rpc_server *s = start_server();
    pthread_t fin;
    g_fin_head = g_fin_tail = g_fin_stop = 0;
    atomic_store(&g_fin_cancels, 0);
    assert_int_equal(pthread_create(&fin, NULL, finisher, NULL), 0);
    grpc_channel *ch = tc_channel(hd_rpc_server_port(s));
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    slot *slots = calloc(SLOTS, sizeof(*slots));
    unsigned seed = 99;
    uint64_t next = 1;
    int done = 0, ok = 0, deadline = 0, other = 0;
    for (int i = 0; i < CONC; i++)
        slot_start(ch, cq, &slots[i], "/t.T/Race", next++, 1 + (int)(rand_r(&seed) % 20));
    while (done < TOTAL) {
        grpc_event ev = grpc_completion_queue_next(cq, tc_deadline_ms(60000), NULL);
        assert_int_equal(ev.type, GRPC_OP_COMPLETE);
        slot *c = ev.tag;
        grpc_status_code st = c->status;
        int good = slot_end(c);
        if (st == GRPC_STATUS_OK && good)
            ok++;
        else if (st == GRPC_STATUS_DEADLINE_EXCEEDED)
            deadline++;
        else
            other++;
        done++;
        if (next <= TOTAL)
            slot_start(ch, cq, c, "/t.T/Race", next++, 1 + (int)(rand_r(&seed) % 20));
    }
    print_message("%d calls: %d OK, %d DEADLINE_EXCEEDED, %d other; %d cancel callbacks\n", done,
                  ok, deadline, other, atomic_load(&g_fin_cancels));
    assert_int_equal(other, 0);
    assert_int_equal(ok + deadline, TOTAL);
    /* Calls whose client gave up can still reach the handler later: keep the finisher
     * running until the server is shut down, so each call is finished exactly once. */
    for (int i = 0; i < 500 && hd_rpc_server_active_calls(s) != 0; i++) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&g_mu);
    int parked = g_fin_tail, finished = g_fin_head;
    pthread_mutex_unlock(&g_mu);
    print_message("handlers parked %d calls, finisher took %d, %d still active\n", parked, finished,
                  hd_rpc_server_active_calls(s));
    assert_int_equal(hd_rpc_server_active_calls(s), 0);
    hd_rpc_server_shutdown(s, 100);
    pthread_mutex_lock(&g_mu);
    g_fin_stop = 1;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    pthread_join(fin, NULL);
    drain_cq(cq);
    free(slots);
    grpc_channel_destroy(ch);
    hd_rpc_server_destroy(s);
}

typedef struct traffic {
    grpc_channel *ch;
    grpc_completion_queue *cq;
    slot *slots;
    atomic_int stop;
    atomic_int completed;
    int ok;
} traffic;

/* Keeps 64 Get calls in flight until told to stop, then collects the outstanding ones. */
static void *traffic_main(void *arg)
{
    traffic *t = arg;
    uint64_t next = 1;
    int outstanding = 0;
    for (int i = 0; i < SLOTS; i++, outstanding++)
        slot_start(t->ch, t->cq, &t->slots[i], "/t.T/Get", next++, 30000);
    while (outstanding > 0) {
        grpc_event ev = grpc_completion_queue_next(t->cq, tc_deadline_ms(30000), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            break;
        slot *c = ev.tag;
        t->ok += slot_end(c);
        outstanding--;
        atomic_fetch_add(&t->completed, 1);
        if (!atomic_load(&t->stop)) {
            slot_start(t->ch, t->cq, c, "/t.T/Get", next++, 30000);
            outstanding++;
        }
    }
    return NULL;
}

static void shutdown_under_steady_traffic_is_clean(void **state)
{
    (void)state;
    hd_rpc_server *s = start_server();
    traffic t;
    memset(&t, 0, sizeof(t));
    t.ch = tc_channel(hd_rpc_server_port(s));
    t.cq = grpc_completion_queue_create_for_next(NULL);
    t.slots = calloc(SLOTS, sizeof(*t.slots));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, traffic_main, &t), 0);
    /* Let traffic flow (bounded wait for 2000 completions), then shut down under it. */
    for (int i = 0; i < 3000 && atomic_load(&t.completed) < 2000; i++) {
        struct timespec ts = {0, 2 * 1000000};
        nanosleep(&ts, NULL);
    }
    assert_true(atomic_load(&t.completed) >= 2000);
    hd_rpc_server_shutdown(s, 100);
    assert_int_equal(hd_rpc_server_active_calls(s), 0);
    atomic_store(&t.stop, 1);
    pthread_join(th, NULL);
    print_message("%d calls completed (%d OK) before and during shutdown\n",
                  atomic_load(&t.completed), t.ok);
    drain_cq(t.cq);
    free(t.slots);
    grpc_channel_destroy(t.ch);
    hd_rpc_server_destroy(s);
}

int main(void)
{
    hd_log_set_level(HD_LOG_WARN);
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ten_thousand_calls_over_64_streams_all_succeed),
        cmocka_unit_test(shutdown_with_64_calls_in_flight_exits_cleanly),
        cmocka_unit_test(async_finish_racing_deadlines_leaves_nothing_behind),
        cmocka_unit_test(shutdown_under_steady_traffic_is_clean),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    grpc_shutdown();
    return failed;
}
