/* The gRPC serving core behind rpc.h. N worker threads each poll their own NEXT
 * completion queue, on which they keep requests for every registered method (plus one
 * generic request for unknown paths) outstanding; all events of a call then arrive on one
 * worker. Other threads (async finish, stream sends) only start batches, under the call's
 * mutex. A call context is freed when its last reference (one per outstanding batch, one
 * for a handler that went async) is dropped. Shutdown follows
 * ../../../shared/notes/grpc-core.md: notify, grace, cancel all, wait for contexts, then
 * queues, threads, server, grpc_shutdown. */
#include "server/rpc/rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "server/common/log.h"
#include "server/rpc/decode.h"
#include "server/rpc/ratelimit.h"
#include "server/rpc/status.h"

#define HD_RPC_REQUESTS_PER_METHOD 4
#define HD_RPC_DEFAULT_MAX_MSG     (4u * 1024u * 1024u)
#define HD_RPC_DEFAULT_MAX_CALLS   4096
#define HD_RPC_DEFAULT_STREAM_Q    1024
#define HD_RPC_REQUEST_ID_MAX      64
#define HD_RPC_TLS_FILE_MAX        (1024 * 1024)

/* What a completion-queue tag stands for. Each tag is embedded in a call context. */
typedef enum op_kind {
    OP_NEW,    /* a requested call arrived (or failed at shutdown) */
    OP_CLOSE,  /* the separate RECV_CLOSE_ON_SERVER batch completed */
    OP_SEND,   /* a stream SEND_MESSAGE completed */
    OP_RECV,   /* bidi: a {SEND_MESSAGE?, RECV_MESSAGE} batch completed */
    OP_STATUS, /* the final SEND_STATUS batch completed */
} op_kind;

typedef struct op_tag {
    hd_rpc_call *call;
    op_kind kind;
} op_tag;

/* One registered method: its row and the handle from grpc_server_register_method. */
typedef struct method_entry {
    const hd_rpc_method *m;
    void *reg;
} method_entry;

typedef struct stream_msg {
    struct stream_msg *next;
    grpc_byte_buffer *bb;
} stream_msg;

typedef struct worker {
    hd_rpc_server *s;
    grpc_completion_queue *cq;
    pthread_t thread;
    int started;
} worker;

struct hd_rpc_server {
    char *listen;
    char *tls_cert_file;
    char *tls_key_file;
    int nworkers;
    size_t max_message_bytes;
    int max_concurrent_calls;
    int max_stream_queue;
    hd_rpc_auth_fn auth;
    void *auth_ud;
    hd_ratelimit *ratelimit; /* NULL = unlimited */
    void *app;

    method_entry *methods;
    size_t nmethods, cap_methods;

    grpc_server *srv;
    grpc_completion_queue *shutdown_cq;
    worker *workers;
    int port;
    int started;
    int shut_down;
    pthread_mutex_t shutdown_mu; /* makes shutdown idempotent and serialised */

    atomic_bool shutting_down;
    atomic_int active_calls; /* admitted calls whose context is alive */
    atomic_uint_fast64_t next_request_id;
    uint32_t id_prefix;

    pthread_mutex_t live_mu;
    pthread_cond_t live_cv;
    int live; /* call contexts allocated and not yet freed (incl. pending requests) */
};

struct hd_rpc_call {
    hd_rpc_server *s;
    worker *w;
    const method_entry *me; /* NULL for the generic (unknown path) request */
    atomic_int refs;

    op_tag t_new, t_close, t_send, t_recv, t_status;

    /* Filled by grpc for the request. */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_call_details details; /* generic requests only */
    grpc_byte_buffer *payload; /* registered request payload / bidi received message */

    hd_arena *arena;
    ProtobufCMessage *resp; /* unary: response handed to the handler */
    hd_identity who;
    char request_id[HD_RPC_REQUEST_ID_MAX + 1];
    gpr_timespec started_at;
    int admitted;

    /* Everything below is shared with other threads: guarded by mu. */
    pthread_mutex_t mu;
    pthread_cond_t space_cv; /* broadcast when q_len drops or the call ends/cancels */
    int close_started;       /* RECV_CLOSE_ON_SERVER already in some batch */
    int initial_sent;        /* SEND_INITIAL_METADATA already in some batch */
    int finished;            /* hd_rpc_finish called / final code chosen */
    int status_started;      /* final status batch started */
    int send_busy;           /* a SEND_MESSAGE batch is outstanding */
    int owner_ref;           /* a handler that went async holds a reference */
    stream_msg *q_head, *q_tail;
    int q_len;
    int final_code;
    char final_detail[HD_ERR_DETAIL_MAX];
    void (*on_cancel)(void *);
    void *on_cancel_arg;
    int on_cancel_fired;
    atomic_bool cancelled;

    /* Batch outputs; live in the context until the batch completes. */
    int close_cancelled;
    grpc_byte_buffer *send_bb; /* stream / unary / bidi message in flight */
    grpc_byte_buffer *recv_bb; /* bidi received message */
    grpc_slice status_slice;   /* details sent with the status */
    int has_status_slice;

    /* For the log line. */
    grpc_status_code sent_status;
    int sent_code;
    int logged_status; /* a status was chosen (else the call died without one) */
};

/* ---------------------------------------------------------------- small helpers ---- */

static char *dup_str(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

static void live_add(hd_rpc_server *s, int d)
{
    pthread_mutex_lock(&s->live_mu);
    s->live += d;
    if (s->live == 0)
        pthread_cond_broadcast(&s->live_cv);
    pthread_mutex_unlock(&s->live_mu);
}

static void ctx_ref(hd_rpc_call *c)
{
    atomic_fetch_add(&c->refs, 1);
}

static void ctx_free(hd_rpc_call *c);

static void ctx_unref(hd_rpc_call *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        ctx_free(c);
}

static hd_rpc_call *ctx_new(hd_rpc_server *s, worker *w, const method_entry *me)
{
    hd_rpc_call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->s = s;
    c->w = w;
    c->me = me;
    atomic_init(&c->refs, 1);
    atomic_init(&c->cancelled, false);
    c->t_new = (op_tag){c, OP_NEW};
    c->t_close = (op_tag){c, OP_CLOSE};
    c->t_send = (op_tag){c, OP_SEND};
    c->t_recv = (op_tag){c, OP_RECV};
    c->t_status = (op_tag){c, OP_STATUS};
    grpc_metadata_array_init(&c->md);
    grpc_call_details_init(&c->details);
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* hd_rpc_stream_send_wait's clock */
    pthread_cond_init(&c->space_cv, &ca);
    pthread_condattr_destroy(&ca);
    c->sent_code = HD_OK;
    live_add(s, 1);
    return c;
}

static void log_call(hd_rpc_call *c)
{
    hd_rpc_server *s = c->s;
    grpc_status_code st = c->logged_status ? c->sent_status : GRPC_STATUS_CANCELLED;
    int code = c->logged_status ? c->sent_code : HD_ECANCELED;
    const char *detail = c->final_detail;
    if (c->close_cancelled || !c->logged_status) {
        /* Our status (if any) never reached the client: log what it saw instead. */
        if (hd_rpc_call_deadline_left_ms(c) <= 0) {
            st = GRPC_STATUS_DEADLINE_EXCEEDED;
            code = HD_ETIMEDOUT;
            detail = "deadline exceeded";
        } else {
            st = GRPC_STATUS_CANCELLED;
            code = HD_ECANCELED;
            detail = atomic_load(&s->shutting_down) ? "server shutdown" : "cancelled by client";
        }
    }
    hd_log_level lvl = st == GRPC_STATUS_OK ? HD_LOG_DEBUG : HD_LOG_INFO;
    if (st == GRPC_STATUS_INTERNAL)
        lvl = HD_LOG_ERROR;
    if (!hd_log_enabled(lvl))
        return;
    gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
    gpr_timespec d = gpr_time_sub(now, c->started_at);
    long long us = (long long)d.tv_sec * 1000000LL + d.tv_nsec / 1000;
    char *peer = c->call ? grpc_call_get_peer(c->call) : NULL;
    char qpeer[128], qmethod[256], qdetail[HD_ERR_DETAIL_MAX * 2];
    const char *method = c->me ? c->me->m->path : NULL;
    char unknown[256];
    if (!method) {
        const grpc_slice *m = &c->details.method;
        size_t n = GRPC_SLICE_LENGTH(*m) < sizeof(unknown) - 1 ? GRPC_SLICE_LENGTH(*m)
                                                               : sizeof(unknown) - 1;
        memcpy(unknown, GRPC_SLICE_START_PTR(*m), n);
        unknown[n] = '\0';
        method = unknown;
    }
    hd_log_quote(qmethod, sizeof(qmethod), method);
    hd_log_quote(qpeer, sizeof(qpeer), peer ? peer : "-");
    if (st == GRPC_STATUS_OK) {
        hd_log(lvl, "rpc", "method=%s status=%s code=%s latency_us=%lld request_id=%s peer=%s",
               qmethod, hd_rpc_status_name(st), hd_errname(code), us,
               c->request_id[0] ? c->request_id : "-", qpeer);
    } else {
        hd_log_quote(qdetail, sizeof(qdetail), detail[0] ? detail : "-");
        hd_log(lvl, "rpc",
               "method=%s status=%s code=%s latency_us=%lld request_id=%s peer=%s detail=%s",
               qmethod, hd_rpc_status_name(st), hd_errname(code), us,
               c->request_id[0] ? c->request_id : "-", qpeer, qdetail);
    }
    gpr_free(peer);
}

static void ctx_free(hd_rpc_call *c)
{
    hd_rpc_server *s = c->s;
    if (c->call)
        log_call(c);
    grpc_metadata_array_destroy(&c->md);
    grpc_call_details_destroy(&c->details);
    if (c->payload)
        grpc_byte_buffer_destroy(c->payload);
    if (c->recv_bb)
        grpc_byte_buffer_destroy(c->recv_bb);
    if (c->send_bb)
        grpc_byte_buffer_destroy(c->send_bb);
    for (stream_msg *m = c->q_head; m;) {
        stream_msg *next = m->next;
        grpc_byte_buffer_destroy(m->bb);
        free(m);
        m = next;
    }
    if (c->has_status_slice)
        grpc_slice_unref(c->status_slice);
    if (c->call)
        grpc_call_unref(c->call);
    hd_arena_destroy(c->arena);
    pthread_cond_destroy(&c->space_cv);
    pthread_mutex_destroy(&c->mu);
    if (c->admitted)
        atomic_fetch_sub(&s->active_calls, 1);
    free(c);
    live_add(s, -1);
}

/* Starts a batch holding one reference for it; on refusal drops it again (no event will
 * come). Returns 0 or -1. */
static int start_batch(hd_rpc_call *c, const grpc_op *ops, size_t n, op_tag *tag)
{
    ctx_ref(c);
    grpc_call_error e = grpc_call_start_batch(c->call, ops, n, tag, NULL);
    if (e != GRPC_CALL_OK) {
        hd_log(HD_LOG_WARN, "rpc_batch_refused", "error=%d request_id=%s", (int)e,
               c->request_id[0] ? c->request_id : "-");
        ctx_unref(c);
        return -1;
    }
    return 0;
}

/* Serialises msg into a new byte buffer (owned; NULL when out of memory). */
static grpc_byte_buffer *pack_message(const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    grpc_slice sl = grpc_slice_malloc(n);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(sl));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    return bb;
}

/* Unpacks bb into the call's arena. Returns the message or NULL (cannot decode). */
static ProtobufCMessage *unpack_message(hd_rpc_call *c, grpc_byte_buffer *bb,
                                        const ProtobufCMessageDescriptor *d)
{
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, bb))
        return NULL;
    grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    ProtobufCMessage *m =
        hd_rpc_decode_request(d, c->arena, GRPC_SLICE_START_PTR(sl), GRPC_SLICE_LENGTH(sl));
    grpc_slice_unref(sl);
    return m;
}

/* Records the final status and fills the SEND_STATUS op. Caller holds mu (or is the only
 * user of the call). INTERNAL details are logged but never sent. */
static void fill_status(hd_rpc_call *c, grpc_op *op, int code, const char *detail)
{
    grpc_status_code st = hd_rpc_status_from_err(code);
    char text[HD_ERR_DETAIL_MAX + 64];
    c->sent_status = st;
    c->sent_code = code;
    c->logged_status = 1;
    if (detail != c->final_detail)
        snprintf(c->final_detail, sizeof(c->final_detail), "%s", detail ? detail : "");
    if (st == GRPC_STATUS_INTERNAL)
        snprintf(text, sizeof(text), "internal error (request id %s)", c->request_id);
    else if (st != GRPC_STATUS_OK && !c->final_detail[0])
        snprintf(text, sizeof(text), "%s", hd_strerror(code));
    else
        snprintf(text, sizeof(text), "%s", c->final_detail);
    if (c->has_status_slice)
        grpc_slice_unref(c->status_slice);
    c->status_slice = grpc_slice_from_copied_string(text);
    c->has_status_slice = 1;
    op->op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    op->data.send_status_from_server.trailing_metadata_count = 0;
    op->data.send_status_from_server.status = st;
    op->data.send_status_from_server.status_details = &c->status_slice;
}

/* Starts the final batch: {initial metadata if not sent, message if msg, status, close if
 * not started}. Caller holds mu or is the only user. msg is taken. */
static void send_final(hd_rpc_call *c, grpc_byte_buffer *msg, int code, const char *detail)
{
    grpc_op ops[4];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    if (!c->initial_sent) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->initial_sent = 1;
    }
    if (msg) {
        c->send_bb = msg;
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = msg;
    }
    fill_status(c, &ops[n++], code, detail);
    if (!c->close_started) {
        ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        ops[n++].data.recv_close_on_server.cancelled = &c->close_cancelled;
        c->close_started = 1;
    }
    c->status_started = 1;
    start_batch(c, ops, n, &c->t_status);
}

/* Starts the separate RECV_CLOSE_ON_SERVER batch that reports cancellation. mu held. */
static void start_close_locked(hd_rpc_call *c)
{
    if (c->close_started)
        return;
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->close_cancelled;
    c->close_started = 1;
    start_batch(c, &op, 1, &c->t_close);
}

/* Stream: sends the next queued message, or the status once finished and drained. mu
 * held; no SEND_MESSAGE outstanding. */
static void stream_pump_locked(hd_rpc_call *c)
{
    if (c->send_busy || c->status_started)
        return;
    if (c->q_head) {
        stream_msg *m = c->q_head;
        c->q_head = m->next;
        if (!c->q_head)
            c->q_tail = NULL;
        c->q_len--;
        pthread_cond_broadcast(&c->space_cv);
        grpc_op ops[2];
        size_t n = 0;
        memset(ops, 0, sizeof(ops));
        if (!c->initial_sent) {
            ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
            c->initial_sent = 1;
        }
        c->send_bb = m->bb;
        free(m);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = c->send_bb;
        c->send_busy = 1;
        if (start_batch(c, ops, n, &c->t_send) != 0) {
            c->send_busy = 0;
            grpc_byte_buffer_destroy(c->send_bb);
            c->send_bb = NULL;
        }
        return;
    }
    if (c->finished)
        send_final(c, NULL, c->final_code, c->final_detail);
}

/* Sends a status right away for a call no handler will see (busy, auth, decode...). */
static void fail_now(hd_rpc_call *c, int code, const char *detail)
{
    pthread_mutex_lock(&c->mu);
    c->finished = 1;
    send_final(c, NULL, code, detail);
    pthread_mutex_unlock(&c->mu);
}

/* ------------------------------------------------------------ request identity ---- */

static const grpc_slice *md_find(const grpc_metadata_array *md, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < md->count; i++) {
        const grpc_slice *k = &md->metadata[i].key;
        if (GRPC_SLICE_LENGTH(*k) == kl && memcmp(GRPC_SLICE_START_PTR(*k), key, kl) == 0)
            return &md->metadata[i].value;
    }
    return NULL;
}

static int request_id_valid(const grpc_slice *v)
{
    size_t n = GRPC_SLICE_LENGTH(*v);
    const unsigned char *p = GRPC_SLICE_START_PTR(*v);
    if (n == 0 || n > HD_RPC_REQUEST_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

static void set_request_id(hd_rpc_call *c)
{
    const grpc_slice *v = md_find(&c->md, "x-request-id");
    if (v && request_id_valid(v)) {
        memcpy(c->request_id, GRPC_SLICE_START_PTR(*v), GRPC_SLICE_LENGTH(*v));
        c->request_id[GRPC_SLICE_LENGTH(*v)] = '\0';
        return;
    }
    uint64_t n = atomic_fetch_add(&c->s->next_request_id, 1);
    snprintf(c->request_id, sizeof(c->request_id), "%08x%012llx", (unsigned)c->s->id_prefix,
             (unsigned long long)(n & 0xffffffffffffULL));
}

/* Admits an authenticated call under its caller's token bucket. Returns HD_OK or HD_EFULL
 * (RESOURCE_EXHAUSTED) with the limit and the wait in err's detail. */
static int rate_limit(hd_rpc_call *c, hd_err *err)
{
    if (!c->s->ratelimit)
        return HD_OK;
    gpr_timespec t = gpr_now(GPR_CLOCK_MONOTONIC);
    int64_t now_ms = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
    return hd_ratelimit_take(c->s->ratelimit, (int)c->who.kind, c->who.id, now_ms, NULL, err);
}

/* Checks the caller of a non-open method, then its rate limit. Returns HD_OK or an error
 * with detail. */
static int authenticate(hd_rpc_call *c, hd_err *err)
{
    const hd_rpc_method *m = c->me->m;
    if (m->permission == HD_RPC_OPEN)
        return HD_OK;
    const grpc_slice *v = md_find(&c->md, "authorization");
    char token[1024];
    if (!v)
        return hd_err_set(err, HD_EUNAUTH, "authorization: missing bearer token");
    size_t n = GRPC_SLICE_LENGTH(*v);
    const char *p = (const char *)GRPC_SLICE_START_PTR(*v);
    if (n < 7 || strncasecmp(p, "Bearer ", 7) != 0)
        return hd_err_set(err, HD_EUNAUTH, "authorization: expected \"Bearer <token>\"");
    p += 7;
    n -= 7;
    while (n && *p == ' ') {
        p++;
        n--;
    }
    if (n == 0 || n >= sizeof(token) || memchr(p, '\0', n))
        return hd_err_set(err, HD_EUNAUTH, "authorization: missing or malformed token");
    memcpy(token, p, n);
    token[n] = '\0';
    if (!c->s->auth)
        return hd_err_set(err, HD_EUNAUTH, "authorization: no authentication configured");
    int rc = c->s->auth(c->s->auth_ud, token, m->permission, &c->who, err);
    explicit_bzero(token, n); /* no bearer secrets left on worker stacks */
    if (rc == HD_OK)
        return rate_limit(c, err);
    if (err->code != rc)
        err->code = rc;
    if (rc > 0)
        return hd_err_set(err, HD_EINTERNAL, "auth hook returned %d", rc);
    return rc;
}

/* ------------------------------------------------------------------ dispatch ------ */

static void request_registered(hd_rpc_server *s, worker *w, const method_entry *me)
{
    hd_rpc_call *c = ctx_new(s, w, me);
    if (!c)
        return;
    grpc_byte_buffer **payload = me->m->kind == HD_RPC_BIDI ? NULL : &c->payload;
    grpc_call_error e = grpc_server_request_registered_call(
        s->srv, me->reg, &c->call, &c->deadline, &c->md, payload, w->cq, w->cq, &c->t_new);
    if (e != GRPC_CALL_OK)
        ctx_unref(c);
}

static void request_generic(hd_rpc_server *s, worker *w)
{
    hd_rpc_call *c = ctx_new(s, w, NULL);
    if (!c)
        return;
    grpc_call_error e =
        grpc_server_request_call(s->srv, &c->call, &c->details, &c->md, w->cq, w->cq, &c->t_new);
    if (e != GRPC_CALL_OK)
        ctx_unref(c);
}

static void run_unary(hd_rpc_call *c, const ProtobufCMessage *req)
{
    const hd_rpc_method *m = c->me->m;
    hd_err err;
    hd_err_clear(&err);
    c->resp = hd_arena_alloc(c->arena, m->response->sizeof_message);
    if (!c->resp) {
        fail_now(c, HD_ENOMEM, "response: out of memory");
        return;
    }
    protobuf_c_message_init(m->response, c->resp);
    pthread_mutex_lock(&c->mu);
    c->owner_ref = 1; /* the handler may call hd_rpc_finish from another thread */
    pthread_mutex_unlock(&c->mu);
    ctx_ref(c);
    int rc = m->unary(c, req, c->resp, &err);
    if (rc == HD_RPC_ASYNC) {
        pthread_mutex_lock(&c->mu);
        if (!c->finished)
            start_close_locked(c);
        pthread_mutex_unlock(&c->mu);
        return; /* hd_rpc_finish drops the owner reference */
    }
    if (rc > 0)
        rc = hd_err_set(&err, HD_EINTERNAL, "handler returned %d", rc);
    else if (rc != HD_OK && err.code != rc)
        err.code = rc;
    hd_rpc_finish(c, rc == HD_OK ? NULL : &err);
}

static void run_stream(hd_rpc_call *c, const ProtobufCMessage *req)
{
    hd_err err;
    hd_err_clear(&err);
    pthread_mutex_lock(&c->mu);
    start_close_locked(c);
    c->owner_ref = 1;
    pthread_mutex_unlock(&c->mu);
    ctx_ref(c);
    int rc = c->me->m->stream(c, req, &err);
    if (rc == HD_RPC_ASYNC)
        return;
    if (rc > 0)
        rc = hd_err_set(&err, HD_EINTERNAL, "handler returned %d", rc);
    else if (rc != HD_OK && err.code != rc)
        err.code = rc;
    hd_rpc_finish(c, rc == HD_OK ? NULL : &err);
}

/* Bidi: starts {SEND_MESSAGE resp?, RECV_MESSAGE}. msg is taken. */
static void bidi_next(hd_rpc_call *c, grpc_byte_buffer *msg)
{
    grpc_op ops[3];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    pthread_mutex_lock(&c->mu);
    if (!c->initial_sent) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->initial_sent = 1;
    }
    if (msg) {
        c->send_bb = msg;
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = msg;
    }
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n++].data.recv_message.recv_message = &c->recv_bb;
    if (start_batch(c, ops, n, &c->t_recv) != 0 && msg) {
        grpc_byte_buffer_destroy(c->send_bb);
        c->send_bb = NULL;
    }
    pthread_mutex_unlock(&c->mu);
}

static void on_bidi_recv(hd_rpc_call *c, bool ok)
{
    if (c->send_bb) {
        grpc_byte_buffer_destroy(c->send_bb);
        c->send_bb = NULL;
    }
    if (!ok || atomic_load(&c->cancelled))
        return; /* the call is gone; the close batch reports it */
    if (!c->recv_bb) {
        if (grpc_call_failed_before_recv_message(c->call))
            return;
        fail_now(c, HD_OK, NULL); /* clean half-close */
        return;
    }
    const hd_rpc_method *m = c->me->m;
    hd_arena_reset(c->arena);
    ProtobufCMessage *req = unpack_message(c, c->recv_bb, m->request);
    grpc_byte_buffer_destroy(c->recv_bb);
    c->recv_bb = NULL;
    if (!req) {
        char d[HD_ERR_DETAIL_MAX];
        snprintf(d, sizeof(d), "request: cannot decode %s", m->request->name);
        fail_now(c, HD_EINVAL, d);
        return;
    }
    ProtobufCMessage *resp = hd_arena_alloc(c->arena, m->response->sizeof_message);
    if (!resp) {
        fail_now(c, HD_ENOMEM, "response: out of memory");
        return;
    }
    protobuf_c_message_init(m->response, resp);
    hd_err err;
    hd_err_clear(&err);
    int rc = m->unary(c, req, resp, &err);
    if (rc == HD_OK) {
        bidi_next(c, pack_message(resp));
        return;
    }
    if (rc > 0)
        rc = hd_err_set(&err, HD_EINTERNAL, "bidi handler returned %d", rc);
    else if (err.code != rc)
        err.code = rc;
    fail_now(c, rc, err.detail);
}

static void on_new_call(hd_rpc_call *c, bool ok)
{
    hd_rpc_server *s = c->s;
    if (!ok) {
        ctx_unref(c); /* shutdown: outstanding requests fail; do not re-request */
        return;
    }
    c->started_at = gpr_now(GPR_CLOCK_MONOTONIC);
    if (!atomic_load(&s->shutting_down)) {
        if (c->me)
            request_registered(s, c->w, c->me);
        else
            request_generic(s, c->w);
    }
    set_request_id(c);
    if (!c->me) {
        c->deadline = c->details.deadline;
        char d[HD_ERR_DETAIL_MAX];
        int len = (int)GRPC_SLICE_LENGTH(c->details.method);
        snprintf(d, sizeof(d), "unknown method %.*s", len > 200 ? 200 : len,
                 (const char *)GRPC_SLICE_START_PTR(c->details.method));
        fail_now(c, HD_EUNIMPL, d);
        ctx_unref(c);
        return;
    }
    int n = atomic_fetch_add(&s->active_calls, 1) + 1;
    c->admitted = 1;
    if (n > s->max_concurrent_calls) {
        char d[HD_ERR_DETAIL_MAX];
        snprintf(d, sizeof(d), "server busy: %d calls in flight", n - 1);
        fail_now(c, HD_EFULL, d);
        ctx_unref(c);
        return;
    }
    c->arena = hd_arena_create(0);
    if (!c->arena) {
        fail_now(c, HD_ENOMEM, "call: out of memory");
        ctx_unref(c);
        return;
    }
    hd_err err;
    hd_err_clear(&err);
    if (authenticate(c, &err) != HD_OK) {
        fail_now(c, err.code, err.detail);
        ctx_unref(c);
        return;
    }
    const hd_rpc_method *m = c->me->m;
    if (m->kind == HD_RPC_BIDI) {
        pthread_mutex_lock(&c->mu);
        start_close_locked(c);
        pthread_mutex_unlock(&c->mu);
        bidi_next(c, NULL);
        ctx_unref(c);
        return;
    }
    if (!c->payload) {
        fail_now(c, HD_EINVAL, "request: missing message");
        ctx_unref(c);
        return;
    }
    ProtobufCMessage *req = unpack_message(c, c->payload, m->request);
    grpc_byte_buffer_destroy(c->payload);
    c->payload = NULL;
    if (!req) {
        char d[HD_ERR_DETAIL_MAX];
        snprintf(d, sizeof(d), "request: cannot decode %s", m->request->name);
        fail_now(c, HD_EINVAL, d);
        ctx_unref(c);
        return;
    }
    if (m->kind == HD_RPC_UNARY)
        run_unary(c, req);
    else
        run_stream(c, req);
    ctx_unref(c);
}

static void on_close(hd_rpc_call *c)
{
    void (*fn)(void *) = NULL;
    void *arg = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->close_cancelled) {
        atomic_store(&c->cancelled, true);
        if (c->on_cancel && !c->on_cancel_fired && !c->finished) {
            c->on_cancel_fired = 1;
            fn = c->on_cancel;
            arg = c->on_cancel_arg;
        }
        /* Nothing more can be delivered: drop what is queued. */
        for (stream_msg *m = c->q_head; m;) {
            stream_msg *next = m->next;
            grpc_byte_buffer_destroy(m->bb);
            free(m);
            m = next;
        }
        c->q_head = c->q_tail = NULL;
        c->q_len = 0;
        pthread_cond_broadcast(&c->space_cv);
    }
    pthread_mutex_unlock(&c->mu);
    if (fn)
        fn(arg);
}

static void on_send(hd_rpc_call *c, bool ok)
{
    pthread_mutex_lock(&c->mu);
    if (c->send_bb) /* NULL after hd_rpc_stream_open's headers-only batch */
        grpc_byte_buffer_destroy(c->send_bb);
    c->send_bb = NULL;
    c->send_busy = 0;
    if (!ok) {
        atomic_store(&c->cancelled, true);
        pthread_cond_broadcast(&c->space_cv);
    }
    stream_pump_locked(c);
    pthread_mutex_unlock(&c->mu);
}

static void dispatch(op_tag *t, bool ok)
{
    hd_rpc_call *c = t->call;
    switch (t->kind) {
    case OP_NEW:
        on_new_call(c, ok);
        return; /* on_new_call drops the request's reference */
    case OP_CLOSE:
        on_close(c);
        break;
    case OP_SEND:
        on_send(c, ok);
        break;
    case OP_RECV:
        on_bidi_recv(c, ok);
        break;
    case OP_STATUS:
        if (c->close_cancelled)
            atomic_store(&c->cancelled, true);
        break;
    }
    ctx_unref(c);
}

/* Set on worker threads: hd_rpc_stream_send_wait must never block one (the sends it waits
 * for complete on a worker's queue). */
static _Thread_local int tl_on_worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    tl_on_worker = 1;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE)
            dispatch(ev.tag, ev.success != 0);
    }
    return NULL;
}

/* ------------------------------------------------------------ public: server ---- */

int hd_rpc_server_create(hd_rpc_server **out, const hd_rpc_config *cfg, hd_err *err)
{
    hd_rpc_server *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (!s)
        return hd_err_set(err, HD_ENOMEM, "rpc server: out of memory");
    pthread_mutex_init(&s->shutdown_mu, NULL);
    pthread_mutex_init(&s->live_mu, NULL);
    pthread_cond_init(&s->live_cv, NULL);
    atomic_init(&s->shutting_down, false);
    atomic_init(&s->active_calls, 0);
    atomic_init(&s->next_request_id, 1);
    if (!cfg || !cfg->listen || !*cfg->listen) {
        hd_err_set(err, HD_EINVAL, "rpc config: listen address missing");
        goto fail;
    }
    if (!cfg->tls_cert_file != !cfg->tls_key_file) {
        hd_err_set(err, HD_EINVAL, "rpc config: TLS needs both a certificate and a key file");
        goto fail;
    }
    if (cfg->workers < 0 || cfg->max_concurrent_calls < 0 || cfg->max_stream_queue < 0) {
        hd_err_set(err, HD_EINVAL, "rpc config: negative workers or limits");
        goto fail;
    }
    s->listen = dup_str(cfg->listen);
    s->tls_cert_file = dup_str(cfg->tls_cert_file);
    s->tls_key_file = dup_str(cfg->tls_key_file);
    if (!s->listen || (cfg->tls_cert_file && (!s->tls_cert_file || !s->tls_key_file))) {
        hd_err_set(err, HD_ENOMEM, "rpc server: out of memory");
        goto fail;
    }
    s->nworkers = cfg->workers;
    if (s->nworkers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->nworkers = n > 0 ? (int)n : 1;
    }
    s->max_message_bytes = cfg->max_message_bytes ? cfg->max_message_bytes : HD_RPC_DEFAULT_MAX_MSG;
    if (s->max_message_bytes > (size_t)0x7fffffff)
        s->max_message_bytes = 0x7fffffff;
    s->max_concurrent_calls =
        cfg->max_concurrent_calls ? cfg->max_concurrent_calls : HD_RPC_DEFAULT_MAX_CALLS;
    s->max_stream_queue = cfg->max_stream_queue ? cfg->max_stream_queue : HD_RPC_DEFAULT_STREAM_Q;
    s->auth = cfg->auth;
    s->auth_ud = cfg->auth_ud;
    if (cfg->rate_per_s > 0 &&
        hd_ratelimit_create(&s->ratelimit, cfg->rate_per_s,
                            cfg->rate_burst >= 1 ? cfg->rate_burst
                                                 : (cfg->rate_per_s >= 1 ? cfg->rate_per_s : 1),
                            err) != HD_OK)
        goto fail;
    s->app = cfg->app;
    if (getrandom(&s->id_prefix, sizeof(s->id_prefix), 0) != (ssize_t)sizeof(s->id_prefix))
        s->id_prefix = (uint32_t)time(NULL) ^ (uint32_t)getpid();
    grpc_init();
    *out = s;
    return HD_OK;
fail:
    hd_ratelimit_destroy(s->ratelimit);
    free(s->listen);
    free(s->tls_cert_file);
    free(s->tls_key_file);
    pthread_mutex_destroy(&s->shutdown_mu);
    pthread_mutex_destroy(&s->live_mu);
    pthread_cond_destroy(&s->live_cv);
    free(s);
    return err ? err->code : HD_EINVAL;
}

int hd_rpc_server_add_methods(hd_rpc_server *s, const hd_rpc_method *methods, size_t n, hd_err *err)
{
    if (s->started)
        return hd_err_set(err, HD_ESTATE, "rpc: methods must be added before start");
    for (size_t i = 0; i < n; i++) {
        const hd_rpc_method *m = &methods[i];
        if (!m->path || m->path[0] != '/' || !strchr(m->path + 1, '/') || !m->request ||
            !m->response)
            return hd_err_set(err, HD_EINVAL, "rpc method %zu: bad path or message types", i);
        if ((m->kind == HD_RPC_UNARY || m->kind == HD_RPC_BIDI) ? !m->unary
            : m->kind == HD_RPC_SERVER_STREAM                   ? !m->stream
                                                                : 1)
            return hd_err_set(err, HD_EINVAL, "rpc method %s: kind without handler", m->path);
        for (size_t j = 0; j < s->nmethods; j++)
            if (strcmp(s->methods[j].m->path, m->path) == 0)
                return hd_err_set(err, HD_EEXIST, "rpc method %s: registered twice", m->path);
        for (size_t j = 0; j < i; j++)
            if (strcmp(methods[j].path, m->path) == 0)
                return hd_err_set(err, HD_EEXIST, "rpc method %s: registered twice", m->path);
    }
    if (s->nmethods + n > s->cap_methods) {
        size_t cap = s->cap_methods ? s->cap_methods : 16;
        while (cap < s->nmethods + n)
            cap *= 2;
        method_entry *p = realloc(s->methods, cap * sizeof(*p));
        if (!p)
            return hd_err_set(err, HD_ENOMEM, "rpc: out of memory");
        s->methods = p;
        s->cap_methods = cap;
    }
    for (size_t i = 0; i < n; i++)
        s->methods[s->nmethods++] = (method_entry){&methods[i], NULL};
    return HD_OK;
}

static int read_file(const char *path, char **out, hd_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f)
        return hd_err_set(err, HD_EIO, "tls: cannot read %s: %s", path, strerror(errno));
    buf = malloc(HD_RPC_TLS_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return hd_err_set(err, HD_ENOMEM, "tls: out of memory");
    }
    size_t n = fread(buf, 1, HD_RPC_TLS_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n == 0 || n > HD_RPC_TLS_FILE_MAX) {
        free(buf);
        return hd_err_set(err, HD_EIO, "tls: cannot read %s: %s", path,
                          bad      ? "read error"
                          : n == 0 ? "empty file"
                                   : "larger than 1 MiB");
    }
    buf[n] = '\0';
    *out = buf;
    return HD_OK;
}

static grpc_server_credentials *make_credentials(hd_rpc_server *s, hd_err *err)
{
    if (!s->tls_cert_file)
        return grpc_insecure_server_credentials_create();
    char *cert = NULL, *key = NULL;
    grpc_server_credentials *creds = NULL;
    if (read_file(s->tls_cert_file, &cert, err) != HD_OK)
        goto done;
    if (read_file(s->tls_key_file, &key, err) != HD_OK)
        goto done;
    grpc_ssl_pem_key_cert_pair pair = {key, cert};
    creds = grpc_ssl_server_credentials_create(NULL, &pair, 1, 0, NULL);
    if (!creds)
        hd_err_set(err, HD_EIO, "tls: cannot use %s / %s", s->tls_cert_file, s->tls_key_file);
done:
    if (key)
        memset(key, 0, strlen(key));
    free(key);
    free(cert);
    return creds;
}

int hd_rpc_server_start(hd_rpc_server *s, hd_err *err)
{
    if (s->started || s->shut_down)
        return hd_err_set(err, HD_ESTATE, "rpc: server already started");
    grpc_arg args[2];
    memset(args, 0, sizeof(args));
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = (int)s->max_message_bytes;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
    args[1].value.integer = 0;
    grpc_channel_args ch = {2, args};
    s->srv = grpc_server_create(&ch, NULL);
    for (size_t i = 0; i < s->nmethods; i++) {
        const hd_rpc_method *m = s->methods[i].m;
        s->methods[i].reg = grpc_server_register_method(
            s->srv, m->path, NULL,
            m->kind == HD_RPC_BIDI ? GRPC_SRM_PAYLOAD_NONE
                                   : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
            0);
        if (!s->methods[i].reg) {
            hd_err_set(err, HD_EINVAL, "rpc method %s: grpc refused registration", m->path);
            goto fail;
        }
    }
    s->workers = calloc((size_t)s->nworkers, sizeof(*s->workers));
    if (!s->workers) {
        hd_err_set(err, HD_ENOMEM, "rpc: out of memory");
        goto fail;
    }
    for (int i = 0; i < s->nworkers; i++) {
        s->workers[i].s = s;
        s->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(s->srv, s->workers[i].cq, NULL);
    }
    s->shutdown_cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(s->srv, s->shutdown_cq, NULL);
    grpc_server_credentials *creds = make_credentials(s, err);
    if (!creds)
        goto fail;
    s->port = grpc_server_add_http2_port(s->srv, s->listen, creds);
    grpc_server_credentials_release(creds);
    if (s->port <= 0) {
        s->port = 0;
        hd_err_set(err, HD_EIO, "listen: cannot bind %s", s->listen);
        goto fail;
    }
    grpc_server_start(s->srv);
    s->started = 1;
    for (int i = 0; i < s->nworkers; i++) {
        worker *w = &s->workers[i];
        for (size_t j = 0; j < s->nmethods; j++)
            for (int k = 0; k < HD_RPC_REQUESTS_PER_METHOD; k++)
                request_registered(s, w, &s->methods[j]);
        request_generic(s, w);
        if (pthread_create(&w->thread, NULL, worker_main, w) == 0)
            w->started = 1;
        else
            hd_log(HD_LOG_ERROR, "rpc_worker_failed", "worker=%d", i);
    }
    return HD_OK;
fail:
    /* Not started, no listener bound: the server can be destroyed directly. */
    if (s->srv)
        grpc_server_destroy(s->srv);
    s->srv = NULL;
    if (s->workers) {
        for (int i = 0; i < s->nworkers; i++) {
            if (!s->workers[i].cq)
                continue;
            grpc_completion_queue_shutdown(s->workers[i].cq);
            grpc_completion_queue_destroy(s->workers[i].cq);
        }
        free(s->workers);
        s->workers = NULL;
    }
    if (s->shutdown_cq) {
        grpc_completion_queue_shutdown(s->shutdown_cq);
        grpc_completion_queue_destroy(s->shutdown_cq);
        s->shutdown_cq = NULL;
    }
    return err ? err->code : HD_EIO;
}

int hd_rpc_server_port(const hd_rpc_server *s)
{
    return s && s->started ? s->port : 0;
}

static void drain_shutdown_cq(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
    }
}

void hd_rpc_server_shutdown(hd_rpc_server *s, int grace_ms)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->shutdown_mu);
    if (!s->started || s->shut_down) {
        pthread_mutex_unlock(&s->shutdown_mu);
        return;
    }
    atomic_store(&s->shutting_down, true);
    gpr_timespec t0 = gpr_now(GPR_CLOCK_MONOTONIC);
    int tag = 0;
    grpc_server_shutdown_and_notify(s->srv, s->shutdown_cq, &tag);
    gpr_timespec until =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                     gpr_time_from_millis(grace_ms > 0 ? grace_ms : 0, GPR_TIMESPAN));
    /* gRPC completes the notification only when every connection is gone, so an idle
     * keep-alive client would hold shutdown for the whole grace: stop waiting as soon as
     * no admitted call is in flight (checked every 20 ms) and cancel what is left. */
    grpc_event ev;
    for (;;) {
        gpr_timespec step =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(20, GPR_TIMESPAN));
        ev = grpc_completion_queue_next(s->shutdown_cq, gpr_time_min(step, until), NULL);
        if (ev.type == GRPC_OP_COMPLETE || atomic_load(&s->active_calls) == 0 ||
            gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), until) >= 0)
            break;
    }
    int cancelled = ev.type != GRPC_OP_COMPLETE;
    long long notified_ms =
        (long long)gpr_time_to_millis(gpr_time_sub(gpr_now(GPR_CLOCK_MONOTONIC), t0));
    if (cancelled) {
        grpc_server_cancel_all_calls(s->srv);
        ev = grpc_completion_queue_next(s->shutdown_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    }
    pthread_mutex_lock(&s->live_mu);
    while (s->live > 0)
        pthread_cond_wait(&s->live_cv, &s->live_mu);
    pthread_mutex_unlock(&s->live_mu);
    for (int i = 0; i < s->nworkers; i++)
        grpc_completion_queue_shutdown(s->workers[i].cq);
    for (int i = 0; i < s->nworkers; i++)
        if (s->workers[i].started)
            pthread_join(s->workers[i].thread, NULL);
    grpc_server_destroy(s->srv);
    s->srv = NULL;
    for (int i = 0; i < s->nworkers; i++) {
        if (!s->workers[i].started)
            drain_shutdown_cq(s->workers[i].cq);
        grpc_completion_queue_destroy(s->workers[i].cq);
    }
    drain_shutdown_cq(s->shutdown_cq);
    grpc_completion_queue_destroy(s->shutdown_cq);
    s->shutdown_cq = NULL;
    s->shut_down = 1;
    pthread_mutex_unlock(&s->shutdown_mu);
    hd_log(HD_LOG_INFO, "rpc_shutdown",
           "grace_ms=%d grace_used_ms=%lld cancel_all=%d total_ms=%lld", grace_ms, notified_ms,
           cancelled,
           (long long)gpr_time_to_millis(gpr_time_sub(gpr_now(GPR_CLOCK_MONOTONIC), t0)));
}

void hd_rpc_server_destroy(hd_rpc_server *s)
{
    if (!s)
        return;
    hd_rpc_server_shutdown(s, 0);
    free(s->workers);
    free(s->methods);
    hd_ratelimit_destroy(s->ratelimit);
    free(s->listen);
    free(s->tls_cert_file);
    free(s->tls_key_file);
    pthread_mutex_destroy(&s->shutdown_mu);
    pthread_mutex_destroy(&s->live_mu);
    pthread_cond_destroy(&s->live_cv);
    free(s);
    grpc_shutdown();
}

int hd_rpc_server_active_calls(const hd_rpc_server *s)
{
    return atomic_load(&((hd_rpc_server *)s)->active_calls);
}

/* ------------------------------------------------------------- public: calls ---- */

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
    return call->s->app;
}

const hd_rpc_method *hd_rpc_call_method(const hd_rpc_call *call)
{
    return call->me ? call->me->m : NULL;
}

const char *hd_rpc_call_request_id(const hd_rpc_call *call)
{
    return call->request_id;
}

char *hd_rpc_call_peer(const hd_rpc_call *call, char *buf, size_t n)
{
    if (!n)
        return buf;
    buf[0] = '\0';
    char *peer = call->call ? grpc_call_get_peer(call->call) : NULL;
    if (!peer)
        return buf;
    const char *p = peer;
    if (strncmp(p, "ipv4:", 5) == 0 || strncmp(p, "ipv6:", 5) == 0)
        p += 5;
    size_t len = strlen(p);
    const char *colon = strrchr(p, ':');
    if (colon && peer != p && (p[0] != '[' || (colon > p && colon[-1] == ']')))
        len = (size_t)(colon - p); /* drop ":port" of ip addresses */
    if (len >= 2 && p[0] == '[' && p[len - 1] == ']') {
        p++;
        len -= 2;
    }
    snprintf(buf, n, "%.*s", (int)len, p);
    gpr_free(peer);
    return buf;
}

int64_t hd_rpc_call_deadline_left_ms(const hd_rpc_call *call)
{
    if (gpr_time_cmp(call->deadline, gpr_inf_future(call->deadline.clock_type)) == 0)
        return INT64_MAX;
    gpr_timespec d = gpr_convert_clock_type(call->deadline, GPR_CLOCK_MONOTONIC);
    gpr_timespec left = gpr_time_sub(d, gpr_now(GPR_CLOCK_MONOTONIC));
    return (int64_t)left.tv_sec * 1000 + left.tv_nsec / 1000000;
}

bool hd_rpc_call_cancelled(const hd_rpc_call *call)
{
    return atomic_load(&((hd_rpc_call *)call)->cancelled) || atomic_load(&call->s->shutting_down);
}

void hd_rpc_call_on_cancel(hd_rpc_call *call, void (*fn)(void *arg), void *arg)
{
    int now = 0;
    pthread_mutex_lock(&call->mu);
    call->on_cancel = fn;
    call->on_cancel_arg = arg;
    if (atomic_load(&call->cancelled) && !call->on_cancel_fired && !call->finished) {
        call->on_cancel_fired = 1;
        now = 1;
    }
    pthread_mutex_unlock(&call->mu);
    if (now && fn)
        fn(arg);
}

int hd_rpc_stream_open(hd_rpc_call *call)
{
    pthread_mutex_lock(&call->mu);
    int rc = HD_OK;
    if (call->finished || atomic_load(&call->cancelled)) {
        rc = HD_ECANCELED;
    } else if (!call->initial_sent && !call->send_busy && !call->status_started) {
        /* Rides the send slot: on_send clears send_busy and pumps any queued message. */
        grpc_op op;
        memset(&op, 0, sizeof(op));
        op.op = GRPC_OP_SEND_INITIAL_METADATA;
        call->initial_sent = 1;
        call->send_busy = 1;
        if (start_batch(call, &op, 1, &call->t_send) != 0) {
            call->send_busy = 0;
            rc = HD_ECANCELED;
        }
    }
    pthread_mutex_unlock(&call->mu);
    return rc;
}

int hd_rpc_stream_send(hd_rpc_call *call, const ProtobufCMessage *msg)
{
    pthread_mutex_lock(&call->mu);
    int rc = HD_OK;
    if (call->finished || atomic_load(&call->cancelled)) {
        rc = HD_ECANCELED;
        goto out;
    }
    if (call->q_len >= call->s->max_stream_queue) {
        rc = HD_EFULL;
        goto out;
    }
    stream_msg *m = malloc(sizeof(*m));
    if (!m) {
        rc = HD_ENOMEM;
        goto out;
    }
    m->bb = pack_message(msg);
    m->next = NULL;
    if (call->q_tail)
        call->q_tail->next = m;
    else
        call->q_head = m;
    call->q_tail = m;
    call->q_len++;
    stream_pump_locked(call);
out:
    pthread_mutex_unlock(&call->mu);
    return rc;
}

int hd_rpc_stream_send_wait(hd_rpc_call *call, const ProtobufCMessage *msg, int64_t timeout_ms)
{
    if (tl_on_worker)
        return HD_ESTATE;
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    int64_t end_ns = (int64_t)end.tv_sec * 1000000000 + end.tv_nsec + timeout_ms * 1000000;
    for (;;) {
        int rc = hd_rpc_stream_send(call, msg);
        if (rc != HD_EFULL)
            return rc;
        pthread_mutex_lock(&call->mu);
        /* Short slices: server shutdown sets a server-wide flag nobody broadcasts for. */
        while (call->q_len >= call->s->max_stream_queue && !call->finished &&
               !hd_rpc_call_cancelled(call)) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
            if (now_ns >= end_ns) {
                pthread_mutex_unlock(&call->mu);
                return HD_ETIMEDOUT;
            }
            int64_t wake_ns = now_ns + 100000000 < end_ns ? now_ns + 100000000 : end_ns;
            struct timespec wake = {(time_t)(wake_ns / 1000000000), (long)(wake_ns % 1000000000)};
            pthread_cond_timedwait(&call->space_cv, &call->mu, &wake);
        }
        pthread_mutex_unlock(&call->mu);
    }
}

void hd_rpc_finish(hd_rpc_call *call, const hd_err *err)
{
    int code = err ? err->code : HD_OK;
    pthread_mutex_lock(&call->mu);
    if (call->finished || !call->owner_ref) {
        pthread_mutex_unlock(&call->mu);
        hd_log(HD_LOG_ERROR, "rpc_finish_misuse", "request_id=%s", call->request_id);
        return;
    }
    call->finished = 1;
    call->owner_ref = 0;
    pthread_cond_broadcast(&call->space_cv);
    call->final_code = code;
    snprintf(call->final_detail, sizeof(call->final_detail), "%s",
             err && code != HD_OK ? err->detail : "");
    if (call->me->m->kind == HD_RPC_UNARY) {
        grpc_byte_buffer *bb = code == HD_OK ? pack_message(call->resp) : NULL;
        send_final(call, bb, code, call->final_detail);
    } else {
        stream_pump_locked(call);
    }
    pthread_mutex_unlock(&call->mu);
    ctx_unref(call);
}
