/* Fake call: see fake_rpc.h. Sent messages are packed copies, as the real server packs at
 * send time and the message stays the caller's. */
#include "tests/unit/server/rpc/builtin/fake_rpc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct hd_rpc_call {
    pthread_mutex_t mu;
    hd_arena *arena;
    const hd_rpc_method *method;
    hd_identity who;
    size_t max_queue;
    uint8_t *sent[FAKE_RPC_MAX_SENT];
    size_t sent_len[FAKE_RPC_MAX_SENT];
    size_t n_sent;
    void (*on_cancel)(void *);
    void *on_cancel_arg;
    bool cancelled;
    bool cancel_at_register;
    bool cancel_fired;
    int finish_count;
    int finish_code;
};

hd_rpc_call *fake_call_new(const hd_rpc_method *m, size_t max_queue)
{
    hd_rpc_call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->arena = hd_arena_create(0);
    if (!c->arena) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    c->method = m;
    c->max_queue = max_queue && max_queue < FAKE_RPC_MAX_SENT ? max_queue : FAKE_RPC_MAX_SENT;
    return c;
}

void fake_call_free(hd_rpc_call *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_sent; i++)
        free(c->sent[i]);
    hd_arena_destroy(c->arena);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void fake_call_cancel(hd_rpc_call *c)
{
    void (*fn)(void *) = NULL;
    void *arg = NULL;
    pthread_mutex_lock(&c->mu);
    c->cancelled = true;
    if (c->on_cancel && !c->cancel_fired && c->finish_count == 0) {
        c->cancel_fired = true;
        fn = c->on_cancel;
        arg = c->on_cancel_arg;
    }
    pthread_mutex_unlock(&c->mu);
    if (fn)
        fn(arg);
}

void fake_call_cancel_at_register(hd_rpc_call *c)
{
    pthread_mutex_lock(&c->mu);
    c->cancel_at_register = true;
    pthread_mutex_unlock(&c->mu);
}

size_t fake_call_sent_count(hd_rpc_call *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->n_sent;
    pthread_mutex_unlock(&c->mu);
    return n;
}

ProtobufCMessage *fake_call_sent(hd_rpc_call *c, size_t i, const ProtobufCMessageDescriptor *desc)
{
    pthread_mutex_lock(&c->mu);
    ProtobufCMessage *m =
        i < c->n_sent ? protobuf_c_message_unpack(desc, NULL, c->sent_len[i], c->sent[i]) : NULL;
    pthread_mutex_unlock(&c->mu);
    return m;
}

int fake_call_finish_count(hd_rpc_call *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->finish_count;
    pthread_mutex_unlock(&c->mu);
    return n;
}

int fake_call_finish_code(hd_rpc_call *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->finish_code;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* --- rpc.h, handler side --------------------------------------------------------------- */

hd_arena *hd_rpc_call_arena(hd_rpc_call *call)
{
    return call->arena;
}

const hd_identity *hd_rpc_call_identity(const hd_rpc_call *call)
{
    return &call->who;
}

void *hd_rpc_call_app(const hd_rpc_call *call)
{
    (void)call;
    return NULL;
}

const hd_rpc_method *hd_rpc_call_method(const hd_rpc_call *call)
{
    return call->method;
}

const char *hd_rpc_call_request_id(const hd_rpc_call *call)
{
    (void)call;
    return "fake";
}

int64_t hd_rpc_call_deadline_left_ms(const hd_rpc_call *call)
{
    (void)call;
    return INT64_MAX;
}

bool hd_rpc_call_cancelled(const hd_rpc_call *call)
{
    hd_rpc_call *c = (hd_rpc_call *)call;
    pthread_mutex_lock(&c->mu);
    bool v = c->cancelled;
    pthread_mutex_unlock(&c->mu);
    return v;
}

void hd_rpc_call_on_cancel(hd_rpc_call *call, void (*fn)(void *arg), void *arg)
{
    bool now = false;
    pthread_mutex_lock(&call->mu);
    call->on_cancel = fn;
    call->on_cancel_arg = arg;
    if (call->cancel_at_register)
        call->cancelled = true;
    if (call->cancelled && !call->cancel_fired && call->finish_count == 0) {
        call->cancel_fired = true;
        now = true;
    }
    pthread_mutex_unlock(&call->mu);
    if (now && fn)
        fn(arg);
}

int hd_rpc_stream_send(hd_rpc_call *call, const ProtobufCMessage *msg)
{
    int rc = HD_OK;
    pthread_mutex_lock(&call->mu);
    if (call->cancelled || call->finish_count) {
        rc = HD_ECANCELED;
    } else if (call->n_sent >= call->max_queue) {
        rc = HD_EFULL;
    } else {
        size_t len = protobuf_c_message_get_packed_size(msg);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf) {
            rc = HD_ENOMEM;
        } else {
            protobuf_c_message_pack(msg, buf);
            call->sent[call->n_sent] = buf;
            call->sent_len[call->n_sent] = len;
            call->n_sent++;
        }
    }
    pthread_mutex_unlock(&call->mu);
    return rc;
}

void hd_rpc_finish(hd_rpc_call *call, const hd_err *err)
{
    pthread_mutex_lock(&call->mu);
    call->finish_count++;
    call->finish_code = err ? err->code : HD_OK;
    pthread_mutex_unlock(&call->mu);
}
