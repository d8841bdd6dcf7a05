/* The offload pool: a blocking handler on the pool leaves the RPC worker free for other
 * calls, a full queue refuses at once with RESOURCE_EXHAUSTED, queued calls all finish. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/api/offload.h"
#include "server/rpc/rpc.h"
#include "tests/unit/server/rpc/test_client.h"

#define REQ_DESC  (&helpdesk__v1__get_ticket_request__descriptor)
#define RESP_DESC (&helpdesk__v1__get_ticket_response__descriptor)

/* The gate blocking handlers wait at, and how many have entered. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_open;
static int g_entered;

static int blocking(hd_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp,
                    hd_err *err)
{
    (void)call, (void)req, (void)resp, (void)err;
    pthread_mutex_lock(&g_mu);
    g_entered++;
    pthread_cond_broadcast(&g_cv);
    while (!g_open)
        pthread_cond_wait(&g_cv, &g_mu);
    pthread_mutex_unlock(&g_mu);
    return HD_OK;
}

#define POOL(call) ((hd_offload *)hd_rpc_call_app(call))
HD_OFFLOADED(blocking, POOL)

static int fast(hd_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp, hd_err *err)
{
    (void)call, (void)req, (void)resp, (void)err;
    return HD_OK;
}

static const hd_rpc_method methods[] = {
    {"/t.T/Block", HD_RPC_UNARY, REQ_DESC, RESP_DESC, blocking_offloaded, NULL, HD_RPC_OPEN},
    {"/t.T/Fast", HD_RPC_UNARY, REQ_DESC, RESP_DESC, fast, NULL, HD_RPC_OPEN},
};

typedef struct fixture {
    hd_offload *pool;
    hd_rpc_server *s;
    grpc_channel *ch;
} fixture;

/* One RPC worker; a pool of 1 thread with room for 2 waiting calls. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    hd_err err;
    g_open = 0;
    g_entered = 0;
    assert_int_equal(hd_offload_create(&f->pool, 1, 2, &err), HD_OK);
    hd_rpc_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.listen = "127.0.0.1:0";
    cfg.workers = 1;
    cfg.app = f->pool;
    assert_int_equal(hd_rpc_server_create(&f->s, &cfg, &err), HD_OK);
    assert_int_equal(hd_rpc_server_add_methods(f->s, methods, 2, &err), HD_OK);
    assert_int_equal(hd_rpc_server_start(f->s, &err), HD_OK);
    f->ch = tc_channel(hd_rpc_server_port(f->s));
    *state = f;
    return 0;
}

static void open_gate(void)
{
    pthread_mutex_lock(&g_mu);
    g_open = 1;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

static int teardown(void **state)
{
    fixture *f = *state;
    open_gate();
    grpc_channel_destroy(f->ch);
    hd_rpc_server_destroy(f->s);
    hd_offload_destroy(f->pool);
    free(f);
    return 0;
}

typedef struct caller {
    pthread_t thread;
    fixture *f;
    const char *method;
    tc_result res;
} caller;

static void *call_main(void *arg)
{
    caller *c = arg;
    Helpdesk__V1__GetTicketRequest q = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    size_t len;
    unsigned char *b = tc_pack(&q.base, &len);
    memset(&c->res, 0, sizeof(c->res));
    if (tc_unary(c->f->ch, c->method, b, len, NULL, 20000, &c->res) != 0)
        c->res.status = GRPC_STATUS_UNKNOWN;
    free(b);
    return NULL;
}

static void start_call(caller *c, fixture *f, const char *method)
{
    c->f = f;
    c->method = method;
    assert_int_equal(pthread_create(&c->thread, NULL, call_main, c), 0);
}

/* Waits (bounded) until n blocking handlers have entered. */
static void wait_entered(int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&g_mu);
    while (g_entered < n)
        if (pthread_cond_timedwait(&g_cv, &g_mu, &until) != 0)
            break;
    int got = g_entered;
    pthread_mutex_unlock(&g_mu);
    if (got < n)
        fail_msg("%d blocking handlers entered within 10 s, want %d", got, n);
}

static void wait_queued(hd_offload *pool, int n)
{
    for (int i = 0; i < 1000 && hd_offload_queued(pool) < n; i++) {
        struct timespec ms = {0, 10 * 1000 * 1000};
        nanosleep(&ms, NULL); /* polls a counter no event announces; bounded to 10 s */
    }
    assert_int_equal(hd_offload_queued(pool), n);
}

static void blocked_pool_leaves_the_only_worker_free(void **state)
{
    fixture *f = *state;
    caller slow;
    start_call(&slow, f, "/t.T/Block");
    wait_entered(1);
    caller quick;
    start_call(&quick, f, "/t.T/Fast");
    pthread_join(quick.thread, NULL);
    assert_int_equal(quick.res.status, GRPC_STATUS_OK);
    tc_result_clear(&quick.res);
    open_gate();
    pthread_join(slow.thread, NULL);
    assert_int_equal(slow.res.status, GRPC_STATUS_OK);
    tc_result_clear(&slow.res);
}

static void full_queue_is_refused_at_once_and_queued_calls_finish(void **state)
{
    fixture *f = *state;
    caller c[3];
    start_call(&c[0], f, "/t.T/Block");
    wait_entered(1);
    start_call(&c[1], f, "/t.T/Block");
    start_call(&c[2], f, "/t.T/Block");
    wait_queued(f->pool, 2);
    caller over;
    start_call(&over, f, "/t.T/Block");
    pthread_join(over.thread, NULL);
    assert_int_equal(over.res.status, GRPC_STATUS_RESOURCE_EXHAUSTED);
    if (!strstr(over.res.details, "server busy"))
        fail_msg("details: '%s'", over.res.details);
    tc_result_clear(&over.res);
    open_gate();
    for (int i = 0; i < 3; i++) {
        pthread_join(c[i].thread, NULL);
        assert_int_equal(c[i].res.status, GRPC_STATUS_OK);
        tc_result_clear(&c[i].res);
    }
    assert_int_equal(g_entered, 3);
}

static void bad_sizes_are_refused(void **state)
{
    (void)state;
    hd_offload *p = NULL;
    hd_err err;
    assert_int_equal(hd_offload_create(&p, 0, 4, &err), HD_EINVAL);
    assert_null(p);
    assert_int_equal(hd_offload_create(&p, 1, 0, &err), HD_EINVAL);
    hd_offload_destroy(NULL);
}

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(blocked_pool_leaves_the_only_worker_free, setup, teardown),
        cmocka_unit_test_setup_teardown(full_queue_is_refused_at_once_and_queued_calls_finish,
                                        setup, teardown),
        cmocka_unit_test(bad_sizes_are_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    grpc_shutdown();
    return rc;
}
