/* The serving layer: a multi-threaded gRPC server on the C core that decodes protobuf-c
 * requests, checks the caller, runs a handler from a method table and sends the reply.
 * Every service of helpdeskd plugs in through hd_rpc_method tables; handlers never touch
 * grpc_* types, never free by hand (per-call arena) and map errors through hd_err. */
#ifndef HD_RPC_RPC_H
#define HD_RPC_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "server/common/arena.h"
#include "server/common/err.h"

typedef struct hd_rpc_server hd_rpc_server;
typedef struct hd_rpc_call hd_rpc_call;

/* Returned by a handler that will finish the call later with hd_rpc_finish (from any
 * thread). Positive, so it never collides with an hd_ error code. */
#define HD_RPC_ASYNC 1

/* Permission value of methods that need no token (health, reflection). */
#define HD_RPC_OPEN 0u

typedef enum hd_rpc_kind {
    HD_RPC_UNARY = 0,         /* one request, one response */
    HD_RPC_SERVER_STREAM = 1, /* one request, responses sent with hd_rpc_stream_send */
    HD_RPC_BIDI = 2,          /* each request answered by exactly one response, in order */
} hd_rpc_kind;

/* Who is calling, as established by the auth hook. */
typedef enum hd_principal_kind {
    HD_PRINCIPAL_NONE = 0, /* open method, no token checked */
    HD_PRINCIPAL_STAFF = 1,
    HD_PRINCIPAL_SERVICE = 2,
    HD_PRINCIPAL_CUSTOMER = 3,
} hd_principal_kind;

typedef struct hd_identity {
    hd_principal_kind kind;
    uint64_t id;     /* staff, service-token or customer id */
    int role;        /* application-defined (admin, manager, agent) */
    uint64_t scopes; /* application-defined permission bits */
    char name[64];   /* for logs and audit, NUL-terminated */
} hd_identity;

/* Unary and bidi handler. req was unpacked into the call's arena; resp was initialised
 * (message_init) in the arena for the method's response type: fill it with arena memory.
 * Return HD_OK to send resp; an hd_ error code (with detail in err) to fail the call with
 * the mapped gRPC status; or HD_RPC_ASYNC (unary only) to keep the call open until
 * hd_rpc_finish. Runs on a worker thread: must not block for long. */
typedef int (*hd_rpc_unary_fn)(hd_rpc_call *call, const ProtobufCMessage *req,
                               ProtobufCMessage *resp, hd_err *err);

/* Server-streaming handler. Sends any number of responses with hd_rpc_stream_send, then
 * either returns a final code (HD_OK or an error: the call ends with it) or returns
 * HD_RPC_ASYNC and ends the call later with hd_rpc_finish from any thread. */
typedef int (*hd_rpc_stream_fn)(hd_rpc_call *call, const ProtobufCMessage *req, hd_err *err);

/* One row of a method table. Tables are borrowed by the server until it is destroyed. */
typedef struct hd_rpc_method {
    const char *path; /* "/helpdesk.v1.TicketService/CreateTicket" */
    hd_rpc_kind kind;
    const ProtobufCMessageDescriptor *request;
    const ProtobufCMessageDescriptor *response;
    hd_rpc_unary_fn unary;   /* for HD_RPC_UNARY and HD_RPC_BIDI */
    hd_rpc_stream_fn stream; /* for HD_RPC_SERVER_STREAM */
    uint32_t permission;     /* HD_RPC_OPEN, or a value passed to the auth hook */
} hd_rpc_method;

/* Auth hook. token is the NUL-terminated value after "Bearer " in the `authorization`
 * metadata (calls without one are refused as UNAUTHENTICATED before the hook runs).
 * Fills *who and returns HD_OK to allow the call, HD_EUNAUTH (bad token) or HD_EPERM
 * (valid token lacking `permission`) with detail in err. Called on worker threads
 * concurrently: must be thread-safe. */
typedef int (*hd_rpc_auth_fn)(void *ud, const char *token, uint32_t permission, hd_identity *who,
                              hd_err *err);

typedef struct hd_rpc_config {
    const char *listen;        /* "host:port"; port 0 picks an ephemeral port */
    int workers;               /* worker threads, each with its own queue; 0 = cores */
    const char *tls_cert_file; /* PEM certificate chain; with tls_key_file enables TLS */
    const char *tls_key_file;  /* PEM private key */
    size_t max_message_bytes;  /* largest request accepted; 0 = 4 MiB */
    int max_concurrent_calls;  /* beyond this new calls get RESOURCE_EXHAUSTED; 0 = 4096 */
    int max_stream_queue;      /* queued, unsent stream messages per call; 0 = 1024 */
    hd_rpc_auth_fn auth;       /* NULL = every non-open method is UNAUTHENTICATED */
    void *auth_ud;
    double rate_per_s; /* per authenticated caller, after auth; 0 = no rate limit */
    double rate_burst; /* calls a caller may make at once; 0 = rate_per_s (at least 1) */
    void *app;         /* returned by hd_rpc_call_app, borrowed */
} hd_rpc_config;

/* Creates a server (not yet listening). cfg's strings are copied. On success *out is an
 * owned server (free with hd_rpc_server_destroy). Returns HD_OK or an error with detail. */
int hd_rpc_server_create(hd_rpc_server **out, const hd_rpc_config *cfg, hd_err *err);

/* Adds n methods (borrowed until destroy). Only before hd_rpc_server_start. Returns
 * HD_OK, HD_EEXIST (path registered twice) or HD_EINVAL (bad row), with detail. */
int hd_rpc_server_add_methods(hd_rpc_server *s, const hd_rpc_method *methods, size_t n,
                              hd_err *err);

/* Binds the listen address and starts the workers. Returns HD_OK, or HD_EIO when the
 * address cannot be bound / TLS files cannot be read (detail names which). */
int hd_rpc_server_start(hd_rpc_server *s, hd_err *err);

/* Returns the bound port (after a successful start), else 0. */
int hd_rpc_server_port(const hd_rpc_server *s);

/* Stops accepting calls, lets calls in flight finish for up to grace_ms, then cancels the
 * rest, waits until every call context is released and joins the workers. Idempotent. */
void hd_rpc_server_shutdown(hd_rpc_server *s, int grace_ms);

/* Shuts down (grace 0) if still running and frees the server. NULL is allowed. */
void hd_rpc_server_destroy(hd_rpc_server *s);

/* Calls in flight right now (for tests and statistics). */
int hd_rpc_server_active_calls(const hd_rpc_server *s);

/* --- For handlers ------------------------------------------------------------------- */

/* The call's arena: request-scoped memory, freed when the call ends. Borrowed. Not
 * thread-safe: use it from one thread at a time. For bidi calls it is reset after each
 * response is packed, so keep nothing in it from one message to the next. */
hd_arena *hd_rpc_call_arena(hd_rpc_call *call);

/* The caller (kind HD_PRINCIPAL_NONE on open methods). Borrowed until the call ends. */
const hd_identity *hd_rpc_call_identity(const hd_rpc_call *call);

/* cfg.app of the server. */
void *hd_rpc_call_app(const hd_rpc_call *call);

/* The method row being served. Borrowed. */
const hd_rpc_method *hd_rpc_call_method(const hd_rpc_call *call);

/* The request id for logs: the client's `x-request-id` metadata if sent (<= 64 chars of
 * [A-Za-z0-9._-]), else one generated by the server. Borrowed until the call ends. */
const char *hd_rpc_call_request_id(const hd_rpc_call *call);

/* Writes the client's address without its port ("127.0.0.1", "::1", "unix:/path") into
 * buf (n bytes, NUL-terminated, "" when unknown). Returns buf. */
char *hd_rpc_call_peer(const hd_rpc_call *call, char *buf, size_t n);

/* Milliseconds left until the client's deadline (INT64_MAX when none, <= 0 when past). */
int64_t hd_rpc_call_deadline_left_ms(const hd_rpc_call *call);

/* True once the client cancelled, the deadline passed or the server is shutting down. */
bool hd_rpc_call_cancelled(const hd_rpc_call *call);

/* Registers fn(arg) to run once when the call is cancelled (client gone, deadline, server
 * shutdown) while a stream or async call is still open. Runs on a worker thread (at once
 * on the calling thread if the call is already cancelled). The owner must still end the
 * call with hd_rpc_finish. One callback per call. */
void hd_rpc_call_on_cancel(hd_rpc_call *call, void (*fn)(void *arg), void *arg);

/* Sends a server stream's response headers now, before its first message, so the client
 * learns the stream is live (a watcher knows it is subscribed before any event exists).
 * Thread-safe; a no-op once headers went out. Returns HD_OK, or HD_ECANCELED once the call
 * is cancelled or finished. */
int hd_rpc_stream_open(hd_rpc_call *call);

/* Queues msg (packed now; msg stays the caller's) on a server stream. Thread-safe.
 * Returns HD_OK, HD_ECANCELED once the call is cancelled or finished, or HD_EFULL when
 * max_stream_queue unsent messages are already queued (slow reader). */
int hd_rpc_stream_send(hd_rpc_call *call, const ProtobufCMessage *msg);

/* Like hd_rpc_stream_send, but when the queue is full waits (up to timeout_ms) until the
 * client has taken enough for msg to fit: backpressure for a handler that produces rows
 * faster than the client reads. Blocks, so only for threads of the handler's own (e.g. a
 * thread it started and that ends the call with hd_rpc_finish), never an RPC worker: there
 * it returns HD_ESTATE without sending. Returns HD_OK, HD_ECANCELED (cancelled, finished,
 * deadline or shutdown, also while waiting), HD_ETIMEDOUT, HD_ENOMEM. */
int hd_rpc_stream_send_wait(hd_rpc_call *call, const ProtobufCMessage *msg, int64_t timeout_ms);

/* Ends an async unary call or a stream, exactly once, from any thread. For unary calls,
 * err == NULL or err->code == HD_OK sends the response handed to the handler (so it
 * must stay valid: arena memory is). Queued stream messages are sent before the status.
 * The call must not be used after this returns. */
void hd_rpc_finish(hd_rpc_call *call, const hd_err *err);

#endif
