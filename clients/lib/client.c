/* Synchronous gRPC calls on the C core. Each call gets its own pluck completion queue,
 * so calls from several threads never share a queue (the core allows at most 6 pluckers
 * per queue) and a queue is never used for both next and pluck. */
#include "clients/lib/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#define HD_CLIENT_MAX_MSG_DEFAULT (64u * 1024 * 1024)
#define HD_CLIENT_CA_MAX          (1024 * 1024)
/* Time past the call's own deadline before the client gives up waiting on the queue
 * (the core ends every call at its deadline; this only guards against a lost event). */
#define HD_CLIENT_SLACK_MS 5000

struct hd_client {
    grpc_channel *channel;
    char *target;
    char *auth;       /* "Bearer <token>" or NULL */
    char *request_id; /* fixed x-request-id or NULL */
};

/* Per-call state: everything a batch writes into lives here until it completes. */
typedef struct call_ctx {
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata md[2];
    size_t md_count;
    grpc_metadata_array initial_md;
    grpc_metadata_array trailing_md;
    grpc_status_code status;
    grpc_slice details;
    const char *error_string;
    grpc_byte_buffer *send_buf;
    grpc_byte_buffer *recv_buf;
    const volatile sig_atomic_t *stop; /* nonzero *stop cancels the call; NULL = never */
    int interrupted;                   /* the call was cancelled because of *stop */
} call_ctx;

static const char *const code_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

#define HD_CLIENT_NCODES ((int)(sizeof(code_names) / sizeof(code_names[0])))

const char *hd_client_code_name(int code)
{
    if (code < 0 || code >= HD_CLIENT_NCODES)
        return "UNKNOWN_CODE";
    return code_names[code];
}

int hd_client_exit_code(int code)
{
    switch (code) {
    case GRPC_STATUS_OK:
        return HD_CLIENT_EXIT_OK;
    case GRPC_STATUS_NOT_FOUND:
        return HD_CLIENT_EXIT_NOT_FOUND;
    case GRPC_STATUS_PERMISSION_DENIED:
    case GRPC_STATUS_UNAUTHENTICATED:
        return HD_CLIENT_EXIT_DENIED;
    case GRPC_STATUS_INVALID_ARGUMENT:
    case GRPC_STATUS_OUT_OF_RANGE:
        return HD_CLIENT_EXIT_INVALID;
    case GRPC_STATUS_UNAVAILABLE:
        return HD_CLIENT_EXIT_UNAVAILABLE;
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        return HD_CLIENT_EXIT_DEADLINE;
    case GRPC_STATUS_ALREADY_EXISTS:
    case GRPC_STATUS_FAILED_PRECONDITION:
    case GRPC_STATUS_ABORTED:
        return HD_CLIENT_EXIT_CONFLICT;
    case GRPC_STATUS_RESOURCE_EXHAUSTED:
        return HD_CLIENT_EXIT_EXHAUSTED;
    default: /* CANCELLED, UNKNOWN, UNIMPLEMENTED, INTERNAL, DATA_LOSS, unknown codes */
        return HD_CLIENT_EXIT_INTERNAL;
    }
}

int hd_client_code_to_err(int code)
{
    switch (code) {
    case GRPC_STATUS_OK:
        return HD_OK;
    case GRPC_STATUS_CANCELLED:
        return HD_ECANCELED;
    case GRPC_STATUS_INVALID_ARGUMENT:
        return HD_EINVAL;
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        return HD_ETIMEDOUT;
    case GRPC_STATUS_NOT_FOUND:
        return HD_ENOTFOUND;
    case GRPC_STATUS_ALREADY_EXISTS:
        return HD_EEXIST;
    case GRPC_STATUS_PERMISSION_DENIED:
        return HD_EPERM;
    case GRPC_STATUS_RESOURCE_EXHAUSTED:
        return HD_EFULL;
    case GRPC_STATUS_FAILED_PRECONDITION:
        return HD_ESTATE;
    case GRPC_STATUS_ABORTED:
        return HD_EABORTED;
    case GRPC_STATUS_OUT_OF_RANGE:
        return HD_ETOOBIG;
    case GRPC_STATUS_UNIMPLEMENTED:
        return HD_EUNIMPL;
    case GRPC_STATUS_UNAVAILABLE:
        return HD_EUNAVAIL;
    case GRPC_STATUS_DATA_LOSS:
        return HD_ECORRUPT;
    case GRPC_STATUS_UNAUTHENTICATED:
        return HD_EUNAUTH;
    default: /* UNKNOWN, INTERNAL, codes outside the table */
        return HD_EINTERNAL;
    }
}

/* What a status means to a person, and what to do about it, by code. */
static const char *code_hint(int code)
{
    switch (code) {
    case GRPC_STATUS_OK:
        return "ok";
    case GRPC_STATUS_CANCELLED:
        return "the call was cancelled";
    case GRPC_STATUS_INVALID_ARGUMENT:
        return "invalid input";
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        return "the server did not answer in time (try a longer --timeout)";
    case GRPC_STATUS_NOT_FOUND:
        return "not found";
    case GRPC_STATUS_ALREADY_EXISTS:
        return "already exists";
    case GRPC_STATUS_PERMISSION_DENIED:
        return "permission denied (the token lacks the right role)";
    case GRPC_STATUS_RESOURCE_EXHAUSTED:
        return "the server is overloaded or a limit was reached; retry later";
    case GRPC_STATUS_FAILED_PRECONDITION:
        return "not allowed in the current state";
    case GRPC_STATUS_ABORTED:
        return "conflict with a concurrent change; retry";
    case GRPC_STATUS_OUT_OF_RANGE:
        return "out of range";
    case GRPC_STATUS_UNIMPLEMENTED:
        return "the server does not offer this call (older server?)";
    case GRPC_STATUS_INTERNAL:
        return "internal server error";
    case GRPC_STATUS_UNAVAILABLE:
        return "server unavailable";
    case GRPC_STATUS_DATA_LOSS:
        return "data loss";
    case GRPC_STATUS_UNAUTHENTICATED:
        return "not authenticated (missing or invalid token; set HELPDESK_TOKEN or --token)";
    default:
        return "unknown error";
    }
}

const char *hd_client_status_message(char *buf, size_t n, const hd_client_status *st,
                                     const char *target)
{
    if (!buf || n == 0)
        return buf;
    if (!st) {
        snprintf(buf, n, "no status");
        return buf;
    }
    const char *hint = code_hint(st->code);
    const char *name = hd_client_code_name(st->code);
    if (st->code == GRPC_STATUS_UNAVAILABLE) {
        snprintf(buf, n,
                 "server unavailable at %s%s%s%s: is helpdeskd running? Start it with "
                 "`tools/up` (or `helpdeskd --listen %s`) (UNAVAILABLE)",
                 target ? target : "the configured address", st->detail[0] ? " (" : "", st->detail,
                 st->detail[0] ? ")" : "", target ? target : "HOST:PORT");
    } else if (st->detail[0]) {
        snprintf(buf, n, "%s: %s (%s)", hint, st->detail, name);
    } else {
        snprintf(buf, n, "%s (%s)", hint, name);
    }
    /* One line: a server detail could carry newlines. */
    for (char *p = buf; *p; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    return buf;
}

/* Metadata values go on the wire as-is: refuse what the core or the server would reject. */
static int printable_value(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len == 0 || len > max)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e)
            return 0;
    }
    return 1;
}

static int valid_request_id(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > HD_CLIENT_REQUEST_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

static char *dup_str(const char *s)
{
    size_t len = strlen(s);
    char *d = malloc(len + 1);
    if (d)
        memcpy(d, s, len + 1);
    return d;
}

/* Reads a whole PEM file into an owned NUL-terminated buffer (free()). */
static int read_file(char **out, const char *path, hd_err *err)
{
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return hd_err_set(err, HD_EIO, "ca file %s: %s", path, strerror(errno));
    buf = malloc(HD_CLIENT_CA_MAX + 1);
    if (!buf) {
        hd_err_set(err, HD_ENOMEM, "ca file %s: out of memory", path);
        goto fail;
    }
    size_t n = fread(buf, 1, HD_CLIENT_CA_MAX + 1, f);
    if (ferror(f) || n == 0 || n > HD_CLIENT_CA_MAX) {
        hd_err_set(err, HD_EIO, "ca file %s: unreadable, empty or larger than 1 MiB", path);
        goto fail;
    }
    buf[n] = '\0';
    fclose(f);
    *out = buf;
    return HD_OK;
fail:
    free(buf);
    fclose(f);
    return err ? err->code : HD_EIO;
}

int hd_client_open(hd_client **out, const hd_client_opts *opts, hd_err *err)
{
    hd_client *cl = NULL;
    char *ca = NULL;
    grpc_channel_credentials *creds = NULL;
    int rc = HD_OK;

    *out = NULL;
    if (!opts || !opts->target || !opts->target[0])
        return hd_err_set(err, HD_EINVAL, "client: no target address");
    if (opts->token && !printable_value(opts->token, 4096))
        return hd_err_set(err, HD_EINVAL, "client: token must be 1-4096 printable characters");
    if (opts->request_id && !valid_request_id(opts->request_id))
        return hd_err_set(err, HD_EINVAL,
                          "client: request id must be 1-64 characters of [A-Za-z0-9._-]");
    if (opts->tls && opts->ca_file) {
        rc = read_file(&ca, opts->ca_file, err);
        if (rc != HD_OK)
            return rc;
    }

    grpc_init();
    cl = calloc(1, sizeof(*cl));
    if (!cl) {
        rc = hd_err_set(err, HD_ENOMEM, "client: out of memory");
        goto fail;
    }
    cl->target = dup_str(opts->target);
    if (!cl->target)
        goto nomem;
    if (opts->token) {
        size_t len = strlen(opts->token) + sizeof("Bearer ");
        cl->auth = malloc(len);
        if (!cl->auth)
            goto nomem;
        snprintf(cl->auth, len, "Bearer %s", opts->token);
    }
    if (opts->request_id) {
        cl->request_id = dup_str(opts->request_id);
        if (!cl->request_id)
            goto nomem;
    }

    creds = opts->tls ? grpc_ssl_credentials_create(ca, NULL, NULL, NULL)
                      : grpc_insecure_credentials_create();
    if (!creds) {
        rc = hd_err_set(err, HD_EINVAL, "client: cannot create channel credentials");
        goto fail;
    }
    grpc_arg args[1];
    memset(args, 0, sizeof(args));
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    size_t max = opts->max_message_bytes ? opts->max_message_bytes : HD_CLIENT_MAX_MSG_DEFAULT;
    args[0].value.integer = max > 0x7fffffff ? 0x7fffffff : (int)max;
    grpc_channel_args cargs = {.num_args = 1, .args = args};
    cl->channel = grpc_channel_create(cl->target, creds, &cargs);
    grpc_channel_credentials_release(creds);
    if (!cl->channel) {
        rc = hd_err_set(err, HD_EINVAL, "client: cannot create a channel to %s", opts->target);
        goto fail;
    }
    free(ca);
    *out = cl;
    return HD_OK;

nomem:
    rc = hd_err_set(err, HD_ENOMEM, "client: out of memory");
fail:
    free(ca);
    if (cl) {
        free(cl->target);
        free(cl->auth);
        free(cl->request_id);
        free(cl);
    }
    grpc_shutdown();
    return rc;
}

void hd_client_close(hd_client *cl)
{
    if (!cl)
        return;
    grpc_channel_destroy(cl->channel);
    free(cl->target);
    free(cl->auth);
    free(cl->request_id);
    free(cl);
    grpc_shutdown();
}

const char *hd_client_target(const hd_client *cl)
{
    return cl->target;
}

static void status_set(hd_client_status *st, int code, const char *detail)
{
    st->code = code;
    st->name = hd_client_code_name(code);
    snprintf(st->detail, sizeof(st->detail), "%s", detail ? detail : "");
}

static void new_request_id(char *buf, size_t n)
{
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)rand();
        memcpy(rnd, &v, sizeof(rnd));
    }
    snprintf(buf, n, "cli-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
             rnd[5], rnd[6], rnd[7]);
}

/* Creates the call, its queue and its metadata. On failure st is filled and the
 * context is left for ctx_destroy. */
static int ctx_start(call_ctx *c, hd_client *cl, const char *method, const ProtobufCMessage *req,
                     int timeout_ms, hd_client_status *st)
{
    memset(c, 0, sizeof(*c));
    grpc_metadata_array_init(&c->initial_md);
    grpc_metadata_array_init(&c->trailing_md);
    c->details = grpc_empty_slice();

    if (cl->request_id)
        snprintf(st->request_id, sizeof(st->request_id), "%s", cl->request_id);
    else
        new_request_id(st->request_id, sizeof(st->request_id));

    if (!method || method[0] != '/') {
        status_set(st, GRPC_STATUS_INVALID_ARGUMENT, "client: method must look like /pkg.Svc/M");
        return HD_EINVAL;
    }

    size_t len = protobuf_c_message_get_packed_size(req);
    grpc_slice payload = grpc_slice_malloc(len);
    protobuf_c_message_pack(req, GRPC_SLICE_START_PTR(payload));
    c->send_buf = grpc_raw_byte_buffer_create(&payload, 1);
    grpc_slice_unref(payload);

    c->cq = grpc_completion_queue_create_for_pluck(NULL);
    gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
    if (timeout_ms > 0)
        deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    grpc_slice path = grpc_slice_from_copied_string(method);
    c->call = grpc_channel_create_call(cl->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, path,
                                       NULL, deadline, NULL);
    grpc_slice_unref(path);
    if (!c->call) {
        status_set(st, GRPC_STATUS_INTERNAL, "client: cannot create call");
        return HD_EINTERNAL;
    }

    if (cl->auth) {
        c->md[c->md_count].key = grpc_slice_from_static_string("authorization");
        c->md[c->md_count].value = grpc_slice_from_copied_string(cl->auth);
        c->md_count++;
    }
    c->md[c->md_count].key = grpc_slice_from_static_string("x-request-id");
    c->md[c->md_count].value = grpc_slice_from_copied_string(st->request_id);
    c->md_count++;
    return HD_OK;
}

/* Waits for the batch tagged tag; past the deadline plus slack cancels the call and waits
 * for the cancellation to complete it. With c->stop set, also wakes every
 * HD_CLIENT_STOP_POLL_MS and cancels the call (CANCELLED) once *c->stop is nonzero: a
 * signal does not wake a completion queue. */
static int ctx_wait(call_ctx *c, void *tag, int timeout_ms)
{
    gpr_timespec limit = gpr_inf_future(GPR_CLOCK_MONOTONIC);
    grpc_event ev;
    if (timeout_ms > 0)
        limit = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                             gpr_time_from_millis(timeout_ms + HD_CLIENT_SLACK_MS, GPR_TIMESPAN));
    for (;;) {
        gpr_timespec until = limit;
        if (c->stop && *c->stop && !c->interrupted) {
            c->interrupted = 1;
            grpc_call_cancel_with_status(c->call, GRPC_STATUS_CANCELLED, "client: interrupted",
                                         NULL);
        }
        if (c->stop && !c->interrupted) {
            gpr_timespec poll =
                gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                             gpr_time_from_millis(HD_CLIENT_STOP_POLL_MS, GPR_TIMESPAN));
            if (gpr_time_cmp(poll, limit) < 0)
                until = poll;
        }
        ev = grpc_completion_queue_pluck(c->cq, tag, until, NULL);
        if (ev.type != GRPC_QUEUE_TIMEOUT)
            break;
        if (gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), limit) >= 0) {
            grpc_call_cancel_with_status(c->call, GRPC_STATUS_DEADLINE_EXCEEDED,
                                         "client: no answer past the deadline", NULL);
            ev = grpc_completion_queue_pluck(c->cq, tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
            break;
        }
    }
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static void ctx_destroy(call_ctx *c)
{
    if (c->call)
        grpc_call_unref(c->call);
    for (size_t i = 0; i < c->md_count; i++) {
        grpc_slice_unref(c->md[i].key);
        grpc_slice_unref(c->md[i].value);
    }
    if (c->send_buf)
        grpc_byte_buffer_destroy(c->send_buf);
    if (c->recv_buf)
        grpc_byte_buffer_destroy(c->recv_buf);
    grpc_metadata_array_destroy(&c->initial_md);
    grpc_metadata_array_destroy(&c->trailing_md);
    grpc_slice_unref(c->details);
    gpr_free((void *)c->error_string);
    if (c->cq) {
        grpc_completion_queue_shutdown(c->cq);
        grpc_event ev;
        do {
            ev =
                grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        } while (ev.type != GRPC_QUEUE_SHUTDOWN);
        grpc_completion_queue_destroy(c->cq);
    }
}

/* Copies the received status into st. */
static void ctx_status(const call_ctx *c, hd_client_status *st)
{
    char detail[HD_CLIENT_DETAIL_MAX];
    size_t len = GRPC_SLICE_LENGTH(c->details);
    if (len >= sizeof(detail))
        len = sizeof(detail) - 1;
    memcpy(detail, GRPC_SLICE_START_PTR(c->details), len);
    detail[len] = '\0';
    status_set(st, (int)c->status, detail);
}

/* Unpacks a received buffer into arena (or the default allocator when arena is NULL:
 * the caller then frees with protobuf_c_message_free_unpacked). */
static ProtobufCMessage *unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc,
                                ProtobufCAllocator *alloc)
{
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, bb))
        return NULL;
    grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    ProtobufCMessage *m =
        protobuf_c_message_unpack(desc, alloc, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    return m;
}

int hd_client_unary(hd_client *cl, const char *method, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *resp_desc, hd_arena *arena, int timeout_ms,
                    ProtobufCMessage **resp_out, hd_client_status *st)
{
    call_ctx c;
    int rc;
    grpc_op ops[6];

    *resp_out = NULL;
    memset(st, 0, sizeof(*st));
    if (timeout_ms <= 0)
        timeout_ms = HD_CLIENT_DEFAULT_TIMEOUT_MS;
    rc = ctx_start(&c, cl, method, req, timeout_ms, st);
    if (rc != HD_OK)
        goto done;

    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = c.md_count;
    ops[0].data.send_initial_metadata.metadata = c.md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c.send_buf;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &c.initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &c.recv_buf;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &c.trailing_md;
    ops[5].data.recv_status_on_client.status = &c.status;
    ops[5].data.recv_status_on_client.status_details = &c.details;
    ops[5].data.recv_status_on_client.error_string = &c.error_string;
    if (grpc_call_start_batch(c.call, ops, 6, &c, NULL) != GRPC_CALL_OK) {
        status_set(st, GRPC_STATUS_INTERNAL, "client: cannot start the call");
        rc = HD_EINTERNAL;
        goto done;
    }
    ctx_wait(&c, &c, timeout_ms);
    ctx_status(&c, st);
    if (st->code != GRPC_STATUS_OK) {
        rc = hd_client_code_to_err(st->code);
        goto done;
    }
    if (!c.recv_buf) {
        status_set(st, GRPC_STATUS_INTERNAL, "client: the server sent no response message");
        rc = HD_ECORRUPT;
        goto done;
    }
    ProtobufCAllocator alloc;
    hd_arena_pb_allocator(arena, &alloc);
    *resp_out = unpack(c.recv_buf, resp_desc, &alloc);
    if (!*resp_out) {
        status_set(st, GRPC_STATUS_INTERNAL, "client: the response could not be decoded");
        rc = HD_ECORRUPT;
        goto done;
    }
    rc = HD_OK;
done:
    ctx_destroy(&c);
    return rc;
}

int hd_client_server_stream(hd_client *cl, const char *method, const ProtobufCMessage *req,
                            const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                            hd_client_stream_fn fn, void *ud, hd_client_status *st)
{
    return hd_client_server_stream_until(cl, method, req, resp_desc, timeout_ms, fn, ud, NULL, st);
}

int hd_client_server_stream_until(hd_client *cl, const char *method, const ProtobufCMessage *req,
                                  const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                                  hd_client_stream_fn fn, void *ud,
                                  const volatile sig_atomic_t *stop, hd_client_status *st)
{
    call_ctx c;
    int rc;
    int stopped = 0;
    grpc_op ops[4];
    hd_arena *arena = NULL;
    int status_tag; /* address used as the tag of the status batch */

    memset(st, 0, sizeof(*st));
    rc = ctx_start(&c, cl, method, req, timeout_ms, st);
    c.stop = stop; /* ctx_start zeroes c */
    if (rc != HD_OK)
        goto done;
    arena = hd_arena_create(0);
    if (!arena) {
        status_set(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "client: out of memory");
        rc = HD_ENOMEM;
        goto done;
    }

    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = c.md_count;
    ops[0].data.send_initial_metadata.metadata = c.md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c.send_buf;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &c.initial_md;
    if (grpc_call_start_batch(c.call, ops, 4, &c, NULL) != GRPC_CALL_OK) {
        status_set(st, GRPC_STATUS_INTERNAL, "client: cannot start the call");
        rc = HD_EINTERNAL;
        goto done;
    }
    /* The status batch stays outstanding for the whole stream; it completes last. */
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &c.trailing_md;
    ops[0].data.recv_status_on_client.status = &c.status;
    ops[0].data.recv_status_on_client.status_details = &c.details;
    ops[0].data.recv_status_on_client.error_string = &c.error_string;
    if (grpc_call_start_batch(c.call, ops, 1, &status_tag, NULL) != GRPC_CALL_OK) {
        grpc_call_cancel(c.call, NULL);
        ctx_wait(&c, &c, timeout_ms);
        status_set(st, GRPC_STATUS_INTERNAL, "client: cannot start the call");
        rc = HD_EINTERNAL;
        goto done;
    }
    ctx_wait(&c, &c, timeout_ms);

    ProtobufCAllocator alloc;
    hd_arena_pb_allocator(arena, &alloc);
    int recv_tag;
    for (;;) {
        memset(ops, 0, sizeof(ops));
        ops[0].op = GRPC_OP_RECV_MESSAGE;
        ops[0].data.recv_message.recv_message = &c.recv_buf;
        if (grpc_call_start_batch(c.call, ops, 1, &recv_tag, NULL) != GRPC_CALL_OK)
            break;
        int ok = ctx_wait(&c, &recv_tag, timeout_ms);
        if (!ok || !c.recv_buf)
            break; /* end of stream, error or cancellation: the status says which */
        ProtobufCMessage *m = unpack(c.recv_buf, resp_desc, &alloc);
        grpc_byte_buffer_destroy(c.recv_buf);
        c.recv_buf = NULL;
        if (!m) {
            grpc_call_cancel_with_status(c.call, GRPC_STATUS_INTERNAL,
                                         "client: a stream message could not be decoded", NULL);
            break;
        }
        int enough = fn(ud, m);
        hd_arena_reset(arena);
        if (enough) {
            stopped = 1;
            grpc_call_cancel_with_status(c.call, GRPC_STATUS_CANCELLED, "client: stopped", NULL);
            break;
        }
    }
    ctx_wait(&c, &status_tag, timeout_ms);
    if (stopped) {
        status_set(st, GRPC_STATUS_OK, "");
        rc = HD_OK;
        goto done;
    }
    if (c.interrupted) {
        status_set(st, GRPC_STATUS_CANCELLED, "client: interrupted");
        rc = HD_ECANCELED;
        goto done;
    }
    ctx_status(&c, st);
    rc = hd_client_code_to_err(st->code);
done:
    hd_arena_destroy(arena);
    ctx_destroy(&c);
    return rc;
}
