/* The Helpdesk client library: one gRPC channel to helpdeskd (insecure or TLS), unary and
 * server-streaming calls with protobuf-c messages, a deadline and the bearer token on
 * every call, and gRPC statuses turned into one-line messages and CLI exit codes.
 * Used by the CLI (helpdesk), the reporter and the benchmarks. */
#ifndef HD_CLIENTS_LIB_CLIENT_H
#define HD_CLIENTS_LIB_CLIENT_H

#include <signal.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "server/common/arena.h"
#include "server/common/err.h"

typedef struct hd_client hd_client;

/* Default per-call deadline when a call passes timeout_ms <= 0. */
#define HD_CLIENT_DEFAULT_TIMEOUT_MS 10000

/* Longest x-request-id (gRPC metadata value the server accepts), without the NUL. */
#define HD_CLIENT_REQUEST_ID_MAX 64

/* Longest server detail kept in a status, including the NUL (longer text is cut). */
#define HD_CLIENT_DETAIL_MAX 512

/* Exit codes suggested to command-line clients (see hd_client_exit_code). */
enum {
    HD_CLIENT_EXIT_OK = 0,
    HD_CLIENT_EXIT_USAGE = 1,
    HD_CLIENT_EXIT_NOT_FOUND = 2,
    HD_CLIENT_EXIT_DENIED = 3,
    HD_CLIENT_EXIT_INVALID = 4,
    HD_CLIENT_EXIT_UNAVAILABLE = 5,
    HD_CLIENT_EXIT_DEADLINE = 6,
    HD_CLIENT_EXIT_CONFLICT = 7,
    HD_CLIENT_EXIT_EXHAUSTED = 8,
    HD_CLIENT_EXIT_INTERNAL = 10,
};

typedef struct hd_client_opts {
    const char *target;       /* "host:port"; required */
    int tls;                  /* nonzero: TLS; else plaintext HTTP/2 */
    const char *ca_file;      /* TLS only: PEM roots; NULL = the system's roots */
    const char *token;        /* sent as `authorization: Bearer <token>`; NULL = none */
    const char *request_id;   /* x-request-id for every call; NULL = a fresh one per call */
    size_t max_message_bytes; /* largest response accepted; 0 = 64 MiB */
} hd_client_opts;

/* The outcome of one call. code is the gRPC status code (0 = OK). */
typedef struct hd_client_status {
    int code;
    const char *name;                              /* "NOT_FOUND"; static */
    char detail[HD_CLIENT_DETAIL_MAX];             /* the server's message, may be empty */
    char request_id[HD_CLIENT_REQUEST_ID_MAX + 1]; /* the x-request-id that was sent */
} hd_client_status;

/* Opens a client: initialises gRPC, creates the channel (connects lazily, on the first
 * call) and copies opts' strings. Reads ca_file now. On success *out is an owned client
 * (free with hd_client_close). Returns HD_OK, HD_EINVAL (no target, bad token or
 * request id) or HD_EIO (ca_file unreadable), with detail in err. A client is
 * thread-safe: calls may run concurrently from several threads. */
int hd_client_open(hd_client **out, const hd_client_opts *opts, hd_err *err);

/* Closes the channel and frees the client. No call may be running. NULL is allowed. */
void hd_client_close(hd_client *cl);

/* The target the client was opened with. Borrowed until hd_client_close. */
const char *hd_client_target(const hd_client *cl);

/* Calls method ("/helpdesk.v1.TicketService/GetTicket") with req and waits for the reply,
 * at most timeout_ms (<= 0: HD_CLIENT_DEFAULT_TIMEOUT_MS). The response is unpacked with
 * resp_desc into arena: *resp_out is borrowed until the arena is reset or destroyed (no
 * protobuf_c_message_free_unpacked). st (required) is always filled. Returns HD_OK when the
 * call succeeded; otherwise *resp_out is NULL and the result is the hd_ code of the gRPC
 * status (hd_client_code_to_err), or HD_ECORRUPT (code INTERNAL) when the reply cannot be
 * decoded. */
int hd_client_unary(hd_client *cl, const char *method, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *resp_desc, hd_arena *arena, int timeout_ms,
                    ProtobufCMessage **resp_out, hd_client_status *st);

/* Called for each message of a server stream. msg is borrowed until the callback returns.
 * Return 0 to go on, nonzero to stop the stream (the call is cancelled). */
typedef int (*hd_client_stream_fn)(void *ud, const ProtobufCMessage *msg);

/* Calls a server-streaming method and runs fn for every response, in order, until the
 * server ends the stream, fn asks to stop, or timeout_ms (<= 0: no deadline, for watch
 * streams) passes. Returns HD_OK when the stream ended with status OK or was stopped by
 * fn (st->code is then OK); otherwise an hd_ code as for hd_client_unary. */
int hd_client_server_stream(hd_client *cl, const char *method, const ProtobufCMessage *req,
                            const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                            hd_client_stream_fn fn, void *ud, hd_client_status *st);

/* How often a stream given a stop flag looks at it, at most (ms). */
#define HD_CLIENT_STOP_POLL_MS 100

/* hd_client_server_stream that also ends once *stop is nonzero (a flag a SIGINT/SIGTERM
 * handler sets; looked at every HD_CLIENT_STOP_POLL_MS while the stream waits, including
 * while it connects): the call is cancelled, the server sees CANCELLED, and the result is
 * HD_ECANCELED with st->code CANCELLED and detail "client: interrupted". stop is borrowed
 * for the call; NULL = never (exactly hd_client_server_stream). */
int hd_client_server_stream_until(hd_client *cl, const char *method, const ProtobufCMessage *req,
                                  const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                                  hd_client_stream_fn fn, void *ud,
                                  const volatile sig_atomic_t *stop, hd_client_status *st);

/* Returns the upper-case name of a gRPC status code ("DEADLINE_EXCEEDED"), static;
 * "UNKNOWN_CODE" for codes outside 0-16. */
const char *hd_client_code_name(int code);

/* Returns the suggested exit code (HD_CLIENT_EXIT_*) for a gRPC status code. */
int hd_client_exit_code(int code);

/* Returns the hd_ error code for a gRPC status code (HD_OK for 0, HD_ENOTFOUND for
 * NOT_FOUND, ...). */
int hd_client_code_to_err(int code);

/* Writes a one-line human message for st into buf (size n, always NUL-terminated when
 * n > 0), e.g. "not found: ticket 42 does not exist (NOT_FOUND)". For UNAVAILABLE it
 * names target (may be NULL) and says how to start the server (tools/up). Returns buf. */
const char *hd_client_status_message(char *buf, size_t n, const hd_client_status *st,
                                     const char *target);

#endif
