/* loadgen: a gRPC load generator on the C core for helpdeskd. N connections x M streams,
 * each stream keeping one call outstanding and issuing the next when it completes, driven
 * by one NEXT completion queue per thread. Bounded by --duration and --max-calls, whichever
 * comes first; every latency goes into a log-linear histogram. Prints one line per
 * scenario (calls, calls/s, p50/p90/p99/max in microseconds, errors by gRPC status), or
 * JSON with --json. Run `loadgen --help` for the options. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "clients/lib/client.h"
#include "grpc/health/v1/health.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "tests/bench/hist.h"

#define LG_NCODES        17
#define LG_MAX_CONNS     1024
#define LG_MAX_STREAMS   1024
#define LG_MAX_THREADS   256
#define LG_PAYLOAD_MAX   1024
#define LG_SETUP_TIMEOUT 10000

static const char M_HEALTH[] = "/grpc.health.v1.Health/Check";
static const char M_CREATE[] = "/helpdesk.v1.TicketService/CreateTicket";
static const char M_GET[] = "/helpdesk.v1.TicketService/GetTicket";
static const char M_LIST[] = "/helpdesk.v1.TicketService/ListTickets";

typedef enum lg_op { OP_NULL, OP_CREATE, OP_GET, OP_LIST, OP_REPLY, OP_MIX } lg_op;

static const char *const op_names[] = {"null", "create", "get", "list", "reply", "mix"};

typedef struct lg_opts {
    const char *target;
    const char *token;
    char *token_buf;
    const char *reply_method;
    int connections, streams, threads;
    double duration, warmup;
    uint64_t max_calls;
    int call_timeout_ms;
    int setup_tickets;
    int json;
} lg_opts;

/* What one scenario run shares between threads. Read-only after start except counters. */
typedef struct lg_run {
    lg_op op;
    uint64_t t_start, t_warm_end, t_end, t_hard_end; /* CLOCK_MONOTONIC ns */
    uint64_t max_calls;                              /* measured calls; 0 = no limit */
    atomic_uint_fast64_t issued;                     /* measured calls started */
    const uint64_t *ids;                             /* tickets for get/mix */
    size_t nids;
    const lg_opts *o;
} lg_run;

typedef struct lg_worker lg_worker;

/* Methods registered once per channel: a registered call skips parsing and interning the
 * path on every call. */
static const char *const lg_methods[] = {M_HEALTH, M_CREATE, M_GET, M_LIST, NULL};
#define LG_NMETHODS 5 /* the four above + the reply method */

typedef struct lg_channel {
    grpc_channel *channel;
    void *registered[LG_NMETHODS];
} lg_channel;

typedef struct lg_stream {
    lg_worker *w;
    lg_channel *channel;
    unsigned index;
    grpc_call *call;
    grpc_metadata md[1];
    size_t md_count;
    grpc_metadata_array initial_md, trailing_md;
    grpc_status_code status;
    grpc_slice details;
    const char *error_string;
    grpc_byte_buffer *send_buf, *recv_buf;
    grpc_slice auth; /* "Bearer <token>", made once per stream, referenced per call */
    uint64_t start_ns;
    int measured;
    uint64_t seq;
} lg_stream;

struct lg_worker {
    pthread_t thread;
    unsigned id;
    lg_run *run;
    grpc_completion_queue *cq;
    lg_stream *streams;
    size_t nstreams;
    size_t outstanding;
    uint64_t rng;
    hd_hist *hist;
    uint64_t calls;             /* measured calls completed */
    uint64_t errors[LG_NCODES]; /* measured calls by non-OK status */
    uint64_t last_done_ns;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Packs the request of one call; returns the method path. */
static const char *build_request(lg_stream *s, lg_op op, uint8_t *buf, size_t *len)
{
    lg_worker *w = s->w;
    lg_run *run = w->run;
    if (op == OP_MIX) {
        uint64_t r = rng_next(&w->rng) % 100;
        op = r < 35 ? OP_GET : r < 70 ? OP_LIST : OP_CREATE;
        if (op == OP_GET && run->nids == 0)
            op = OP_LIST;
    }
    switch (op) {
    case OP_NULL: {
        Grpc__Health__V1__HealthCheckRequest m = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        *len = protobuf_c_message_pack(&m.base, buf);
        return M_HEALTH;
    }
    case OP_CREATE: {
        char rid[96], subject[96];
        snprintf(rid, sizeof(rid), "lg-%ld-%" PRIu64 "-%u-%u-%" PRIu64, (long)getpid(),
                 run->t_start, w->id, s->index, s->seq);
        snprintf(subject, sizeof(subject), "Load test ticket %u-%u-%" PRIu64, w->id, s->index,
                 s->seq);
        Helpdesk__V1__CreateTicketRequest m = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
        m.request_id = rid;
        m.customer_email = (char *)"loadgen@example.com";
        m.customer_name = (char *)"Load Generator";
        m.subject = subject;
        m.body = (char *)"Created by tests/bench/loadgen to measure CreateTicket.";
        *len = protobuf_c_message_pack(&m.base, buf);
        return M_CREATE;
    }
    case OP_GET: {
        Helpdesk__V1__GetTicketRequest m = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
        m.id = run->nids ? run->ids[rng_next(&w->rng) % run->nids] : 1;
        *len = protobuf_c_message_pack(&m.base, buf);
        return M_GET;
    }
    case OP_LIST: {
        Helpdesk__V1__ListTicketsRequest m = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
        m.page_size = 50;
        *len = protobuf_c_message_pack(&m.base, buf);
        return M_LIST;
    }
    case OP_REPLY: {
        /* No reply RPC in the API yet: hand-encode {1: ticket_id, 2: body} so that a server
         * with the method can answer and one without answers UNIMPLEMENTED. */
        static const char body[] = "Reply from loadgen.";
        uint64_t id = run->nids ? run->ids[rng_next(&w->rng) % run->nids] : 1;
        size_t n = 0;
        buf[n++] = 0x08;
        do {
            uint8_t b = id & 0x7f;
            id >>= 7;
            buf[n++] = id ? (b | 0x80) : b;
        } while (id);
        buf[n++] = 0x12;
        buf[n++] = (uint8_t)(sizeof(body) - 1);
        memcpy(buf + n, body, sizeof(body) - 1);
        *len = n + sizeof(body) - 1;
        return run->o->reply_method;
    }
    case OP_MIX:
        break;
    }
    *len = 0;
    return M_HEALTH;
}

static void stream_release(lg_stream *s)
{
    if (s->call)
        grpc_call_unref(s->call);
    s->call = NULL;
    for (size_t i = 0; i < s->md_count; i++)
        grpc_slice_unref(s->md[i].value);
    s->md_count = 0;
    if (s->send_buf)
        grpc_byte_buffer_destroy(s->send_buf);
    if (s->recv_buf)
        grpc_byte_buffer_destroy(s->recv_buf);
    s->send_buf = s->recv_buf = NULL;
    grpc_metadata_array_destroy(&s->initial_md);
    grpc_metadata_array_destroy(&s->trailing_md);
    grpc_slice_unref(s->details);
    s->details = grpc_empty_slice();
    gpr_free((void *)s->error_string);
    s->error_string = NULL;
}

/* Starts the stream's next call. Returns 1 when a call is outstanding, 0 when the run
 * is over for this stream (time or call budget used up, or the call could not start). */
static int stream_start(lg_stream *s)
{
    lg_worker *w = s->w;
    lg_run *run = w->run;
    uint64_t now = mono_ns();
    if (now >= run->t_end)
        return 0;
    s->measured = now >= run->t_warm_end;
    if (s->measured && run->max_calls && atomic_fetch_add(&run->issued, 1) >= run->max_calls)
        return 0;

    uint8_t buf[LG_PAYLOAD_MAX];
    size_t len = 0;
    s->seq++;
    const char *method = build_request(s, run->op, buf, &len);
    grpc_slice payload = grpc_slice_from_copied_buffer((const char *)buf, len);
    s->send_buf = grpc_raw_byte_buffer_create(&payload, 1);
    grpc_slice_unref(payload);
    grpc_metadata_array_init(&s->initial_md);
    grpc_metadata_array_init(&s->trailing_md);
    s->details = grpc_empty_slice();
    s->md_count = 0;
    if (run->o->token) {
        s->md[0].key = grpc_slice_from_static_string("authorization");
        s->md[0].value = grpc_slice_ref(s->auth);
        s->md_count = 1;
    }

    gpr_timespec deadline = gpr_time_add(
        gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(run->o->call_timeout_ms, GPR_TIMESPAN));
    void *handle = NULL;
    for (int i = 0; i < LG_NMETHODS; i++) {
        if (method == (i < LG_NMETHODS - 1 ? lg_methods[i] : run->o->reply_method))
            handle = s->channel->registered[i];
    }
    if (handle)
        s->call = grpc_channel_create_registered_call(
            s->channel->channel, NULL, GRPC_PROPAGATE_DEFAULTS, w->cq, handle, deadline, NULL);
    else
        s->call =
            grpc_channel_create_call(s->channel->channel, NULL, GRPC_PROPAGATE_DEFAULTS, w->cq,
                                     grpc_slice_from_static_string(method), NULL, deadline, NULL);
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = s->md_count;
    ops[0].data.send_initial_metadata.metadata = s->md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = s->send_buf;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &s->recv_buf;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &s->trailing_md;
    ops[5].data.recv_status_on_client.status = &s->status;
    ops[5].data.recv_status_on_client.status_details = &s->details;
    ops[5].data.recv_status_on_client.error_string = &s->error_string;
    s->start_ns = mono_ns();
    if (!s->call || grpc_call_start_batch(s->call, ops, 6, s, NULL) != GRPC_CALL_OK) {
        stream_release(s);
        return 0;
    }
    return 1;
}

static void stream_done(lg_stream *s)
{
    lg_worker *w = s->w;
    uint64_t now = mono_ns();
    if (s->measured) {
        w->calls++;
        if (s->status == GRPC_STATUS_OK)
            hd_hist_record(w->hist, now - s->start_ns);
        else
            w->errors[(unsigned)s->status < LG_NCODES ? s->status : GRPC_STATUS_UNKNOWN]++;
        if (now > w->last_done_ns)
            w->last_done_ns = now;
    }
    stream_release(s);
}

static void *worker_main(void *arg)
{
    lg_worker *w = arg;
    lg_run *run = w->run;
    int cancelled = 0;
    for (size_t i = 0; i < w->nstreams; i++)
        w->outstanding += (size_t)stream_start(&w->streams[i]);
    while (w->outstanding > 0) {
        gpr_timespec t =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(100, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_next(w->cq, t, NULL);
        if (ev.type == GRPC_OP_COMPLETE) {
            lg_stream *s = ev.tag;
            stream_done(s);
            w->outstanding--;
            if (!cancelled)
                w->outstanding += (size_t)stream_start(s);
        } else if (ev.type == GRPC_QUEUE_SHUTDOWN) {
            break;
        }
        /* Past the hard end, stop waiting for slow calls: cancelling completes them. */
        if (!cancelled && mono_ns() > run->t_hard_end) {
            cancelled = 1;
            for (size_t i = 0; i < w->nstreams; i++) {
                if (w->streams[i].call)
                    grpc_call_cancel(w->streams[i].call, NULL);
            }
        }
    }
    return NULL;
}

typedef struct lg_result {
    uint64_t calls;
    double seconds;
    hd_hist *hist;
    uint64_t errors[LG_NCODES];
} lg_result;

/* Runs one scenario to completion and fills res (res->hist owned by the caller). */
static int run_scenario(lg_op op, const lg_opts *o, lg_channel *channels, const uint64_t *ids,
                        size_t nids, lg_result *res)
{
    int nthreads = o->threads < o->connections ? o->threads : o->connections;
    lg_worker *workers = calloc((size_t)nthreads, sizeof(*workers));
    lg_run run;
    int rc = -1;
    memset(&run, 0, sizeof(run));
    if (!workers)
        return -1;
    run.op = op;
    run.o = o;
    run.ids = ids;
    run.nids = nids;
    run.max_calls = o->max_calls;
    atomic_init(&run.issued, 0);
    run.t_start = mono_ns();
    run.t_warm_end = run.t_start + (uint64_t)(o->warmup * 1e9);
    run.t_end = run.t_warm_end + (uint64_t)(o->duration * 1e9);
    run.t_hard_end = run.t_end + (uint64_t)o->call_timeout_ms * 1000000ull + 2000000000ull;

    for (int t = 0; t < nthreads; t++) {
        lg_worker *w = &workers[t];
        w->id = (unsigned)t;
        w->run = &run;
        w->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)(t + 1) * 0xbf58476d1ce4e5b9ull) ^ run.t_start;
        w->cq = grpc_completion_queue_create_for_next(NULL);
        w->hist = hd_hist_create();
        /* Connections t, t + nthreads, ... belong to thread t. */
        size_t nconn = 0;
        for (int c = t; c < o->connections; c += nthreads)
            nconn++;
        w->nstreams = nconn * (size_t)o->streams;
        w->streams = calloc(w->nstreams, sizeof(lg_stream));
        if (!w->hist || !w->streams) {
            fprintf(stderr, "loadgen: out of memory\n");
            goto fail;
        }
        size_t k = 0;
        for (int c = t; c < o->connections; c += nthreads) {
            for (int m = 0; m < o->streams; m++, k++) {
                w->streams[k].w = w;
                w->streams[k].channel = &channels[c];
                w->streams[k].index = (unsigned)k;
                w->streams[k].details = grpc_empty_slice();
                w->streams[k].auth = grpc_empty_slice();
                if (o->token) {
                    char auth[600];
                    snprintf(auth, sizeof(auth), "Bearer %s", o->token);
                    w->streams[k].auth = grpc_slice_from_copied_string(auth);
                }
            }
        }
    }
    for (int t = 0; t < nthreads; t++)
        pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]);
    for (int t = 0; t < nthreads; t++)
        pthread_join(workers[t].thread, NULL);

    uint64_t last = run.t_warm_end;
    memset(res->errors, 0, sizeof(res->errors));
    res->calls = 0;
    res->hist = hd_hist_create();
    if (!res->hist)
        goto fail;
    for (int t = 0; t < nthreads; t++) {
        lg_worker *w = &workers[t];
        hd_hist_merge(res->hist, w->hist);
        res->calls += w->calls;
        for (int c = 0; c < LG_NCODES; c++)
            res->errors[c] += w->errors[c];
        if (w->last_done_ns > last)
            last = w->last_done_ns;
    }
    res->seconds = (double)(last - run.t_warm_end) / 1e9;
    rc = 0;
fail:
    for (int t = 0; t < nthreads; t++) {
        lg_worker *w = &workers[t];
        if (w->cq) {
            grpc_completion_queue_shutdown(w->cq);
            grpc_event ev;
            do {
                ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
            } while (ev.type != GRPC_QUEUE_SHUTDOWN);
            grpc_completion_queue_destroy(w->cq);
        }
        if (w->streams) {
            for (size_t i = 0; i < w->nstreams; i++) {
                grpc_slice_unref(w->streams[i].details);
                grpc_slice_unref(w->streams[i].auth);
            }
        }
        free(w->streams);
        hd_hist_destroy(w->hist);
    }
    free(workers);
    return rc;
}

/* Creates tickets for get/reply/mix with the client library. Returns the number created
 * (ids in *out, owned: free()), or -1 with a message printed. */
static int setup_tickets(const lg_opts *o, uint64_t **out)
{
    hd_client *cl = NULL;
    hd_arena *arena = hd_arena_create(0);
    uint64_t *ids = calloc((size_t)o->setup_tickets + 1, sizeof(*ids));
    hd_err err;
    int n = -1;
    hd_client_opts co = {.target = o->target, .token = o->token};
    if (!arena || !ids) {
        fprintf(stderr, "loadgen: out of memory\n");
        goto fail;
    }
    if (hd_client_open(&cl, &co, &err) != HD_OK) {
        fprintf(stderr, "loadgen: setup: %s\n", err.detail);
        goto fail;
    }
    pid_t pid = getpid();
    for (n = 0; n < o->setup_tickets; n++) {
        char rid[64], subject[64];
        snprintf(rid, sizeof(rid), "lg-setup-%ld-%" PRIu64 "-%d", (long)pid, mono_ns(), n);
        snprintf(subject, sizeof(subject), "Load test setup ticket %d", n);
        Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
        req.request_id = rid;
        req.customer_email = (char *)"loadgen@example.com";
        req.customer_name = (char *)"Load Generator";
        req.subject = subject;
        req.body = (char *)"Setup ticket for GetTicket load.";
        ProtobufCMessage *resp = NULL;
        hd_client_status st;
        if (hd_client_unary(cl, M_CREATE, &req.base, &helpdesk__v1__ticket__descriptor, arena,
                            LG_SETUP_TIMEOUT, &resp, &st) != HD_OK) {
            char msg[768];
            fprintf(stderr, "loadgen: setup: CreateTicket: %s\n",
                    hd_client_status_message(msg, sizeof(msg), &st, o->target));
            n = -1;
            goto fail;
        }
        ids[n] = ((Helpdesk__V1__Ticket *)resp)->id;
        hd_arena_reset(arena);
    }
    *out = ids;
    ids = NULL;
fail:
    free(ids);
    hd_client_close(cl);
    hd_arena_destroy(arena);
    return n;
}

static void print_errors(FILE *f, const uint64_t *errors, int json)
{
    int first = 1;
    for (int c = 0; c < LG_NCODES; c++) {
        if (!errors[c])
            continue;
        if (json)
            fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",", hd_client_code_name(c), errors[c]);
        else
            fprintf(f, "%s%s=%" PRIu64, first ? "" : ",", hd_client_code_name(c), errors[c]);
        first = 0;
    }
    if (first && !json)
        fputs("-", f);
}

static void print_result(const char *name, const lg_result *r, const lg_opts *o, int first)
{
    double us[4] = {hd_hist_percentile(r->hist, 50) / 1e3, hd_hist_percentile(r->hist, 90) / 1e3,
                    hd_hist_percentile(r->hist, 99) / 1e3, hd_hist_max(r->hist) / 1e3};
    double rate = r->seconds > 0 ? (double)r->calls / r->seconds : 0.0;
    if (o->json) {
        printf("%s{\"scenario\":\"%s\",\"calls\":%" PRIu64 ",\"ok\":%" PRIu64
               ",\"seconds\":%.3f,\"calls_per_s\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,"
               "\"p99_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,\"errors\":{",
               first ? "" : ",\n", name, r->calls, hd_hist_count(r->hist), r->seconds, rate, us[0],
               us[1], us[2], us[3], hd_hist_mean(r->hist) / 1e3);
        print_errors(stdout, r->errors, 1);
        printf("}}");
        return;
    }
    printf("%-8s %10" PRIu64 " %11.1f %9.1f %9.1f %9.1f %9.1f  ", name, r->calls, rate, us[0],
           us[1], us[2], us[3]);
    print_errors(stdout, r->errors, 0);
    if (r->calls && r->errors[GRPC_STATUS_UNIMPLEMENTED] == r->calls)
        printf("  (%s not available: the server answers UNIMPLEMENTED)", name);
    printf("\n");
}

static void usage(FILE *f)
{
    fputs("usage: loadgen --target HOST:PORT [options]\n"
          "  --scenario LIST      comma-separated: null,create,get,list,reply,mix (default null)\n"
          "  --connections N      HTTP/2 connections (default 4)\n"
          "  --streams M          concurrent calls per connection (default 16)\n"
          "  --threads T          polling threads (default: cores, at most connections)\n"
          "  --duration S         measured seconds per scenario (default 5)\n"
          "  --warmup S           unmeasured seconds before (default 1)\n"
          "  --max-calls N        stop after N measured calls (default 0 = no limit)\n"
          "  --token TOKEN        bearer token; --token-file FILE reads it from a file\n"
          "  --setup-tickets N    tickets created before get/reply/mix (default 200)\n"
          "  --call-timeout-ms N  deadline of each call (default 10000)\n"
          "  --reply-method PATH  method for the reply scenario\n"
          "  --json               machine-readable output\n",
          f);
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int read_token_file(lg_opts *o, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[512];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    o->token_buf = strdup(buf);
    o->token = o->token_buf;
    return o->token_buf ? 0 : -1;
}

int main(int argc, char **argv)
{
    lg_opts o = {.reply_method = "/helpdesk.v1.TicketService/AddReply",
                 .connections = 4,
                 .streams = 16,
                 .threads = (int)sysconf(_SC_NPROCESSORS_ONLN),
                 .duration = 5,
                 .warmup = 1,
                 .call_timeout_ms = 10000,
                 .setup_tickets = 200};
    const char *scenarios = "null";
    int rc = 2;
    lg_channel *channels = NULL;
    uint64_t *ids = NULL;
    int nids = 0;
    static const struct option longopts[] = {
        {"target", required_argument, NULL, 'a'},
        {"scenario", required_argument, NULL, 's'},
        {"connections", required_argument, NULL, 'c'},
        {"streams", required_argument, NULL, 'm'},
        {"threads", required_argument, NULL, 't'},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'w'},
        {"max-calls", required_argument, NULL, 'n'},
        {"token", required_argument, NULL, 'k'},
        {"token-file", required_argument, NULL, 'K'},
        {"setup-tickets", required_argument, NULL, 'S'},
        {"call-timeout-ms", required_argument, NULL, 'T'},
        {"reply-method", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int bad = 0;
        char *end = NULL;
        switch (ch) {
        case 'a':
            o.target = optarg;
            break;
        case 's':
            scenarios = optarg;
            break;
        case 'c':
            bad = parse_int(optarg, 1, LG_MAX_CONNS, &o.connections);
            break;
        case 'm':
            bad = parse_int(optarg, 1, LG_MAX_STREAMS, &o.streams);
            break;
        case 't':
            bad = parse_int(optarg, 1, LG_MAX_THREADS, &o.threads);
            break;
        case 'd':
            o.duration = strtod(optarg, &end);
            bad = *end || o.duration <= 0 || o.duration > 86400;
            break;
        case 'w':
            o.warmup = strtod(optarg, &end);
            bad = *end || o.warmup < 0 || o.warmup > 3600;
            break;
        case 'n':
            o.max_calls = strtoull(optarg, &end, 10);
            bad = *end != '\0' || optarg[0] == '-';
            break;
        case 'k':
            o.token = optarg;
            bad = strlen(optarg) == 0 || strlen(optarg) > 512;
            break;
        case 'K':
            bad = read_token_file(&o, optarg);
            break;
        case 'S':
            bad = parse_int(optarg, 1, 1000000, &o.setup_tickets);
            break;
        case 'T':
            bad = parse_int(optarg, 1, 3600000, &o.call_timeout_ms);
            break;
        case 'r':
            o.reply_method = optarg;
            bad = optarg[0] != '/';
            break;
        case 'j':
            o.json = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
        if (bad) {
            fprintf(stderr, "loadgen: bad option value: %s\n", optarg);
            usage(stderr);
            return 1;
        }
    }
    if (!o.target || optind != argc) {
        usage(stderr);
        return 1;
    }
    if (o.threads < 1)
        o.threads = 1;

    /* Parse the scenario list first so a typo fails before any load. */
    lg_op ops[16];
    int nops = 0;
    char list[256];
    snprintf(list, sizeof(list), "%s", scenarios);
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int found = -1;
        for (int i = 0; i < (int)(sizeof(op_names) / sizeof(op_names[0])); i++) {
            if (strcmp(tok, op_names[i]) == 0)
                found = i;
        }
        if (found < 0 || nops == 16) {
            fprintf(stderr, "loadgen: unknown scenario '%s'\n", tok);
            return 1;
        }
        ops[nops++] = (lg_op)found;
    }

    grpc_init();
    channels = calloc((size_t)o.connections, sizeof(*channels));
    if (!channels)
        goto done;
    for (int c = 0; c < o.connections; c++) {
        /* A local subchannel pool and a distinct argument give each channel its own TCP
         * connection; otherwise channels to one target share one. */
        grpc_arg args[3];
        memset(args, 0, sizeof(args));
        args[0].type = GRPC_ARG_INTEGER;
        args[0].key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
        args[0].value.integer = 1;
        args[1].type = GRPC_ARG_INTEGER;
        args[1].key = (char *)"hd.loadgen.connection";
        args[1].value.integer = c;
        args[2].type = GRPC_ARG_INTEGER;
        args[2].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
        args[2].value.integer = 64 * 1024 * 1024;
        grpc_channel_args cargs = {.num_args = 3, .args = args};
        grpc_channel_credentials *creds = grpc_insecure_credentials_create();
        channels[c].channel = grpc_channel_create(o.target, creds, &cargs);
        grpc_channel_credentials_release(creds);
        for (int i = 0; i < LG_NMETHODS; i++) {
            const char *m = i < LG_NMETHODS - 1 ? lg_methods[i] : o.reply_method;
            channels[c].registered[i] =
                grpc_channel_register_call(channels[c].channel, m, NULL, NULL);
        }
    }

    rc = 0;
    if (o.json)
        printf("{\"target\":\"%s\",\"connections\":%d,\"streams\":%d,\"threads\":%d,"
               "\"duration_s\":%.3f,\"warmup_s\":%.3f,\"max_calls\":%" PRIu64 ",\"results\":[",
               o.target, o.connections, o.streams,
               o.threads < o.connections ? o.threads : o.connections, o.duration, o.warmup,
               o.max_calls);
    else
        printf("%-8s %10s %11s %9s %9s %9s %9s  %s\n", "scenario", "calls", "calls/s", "p50_us",
               "p90_us", "p99_us", "max_us", "errors");
    fflush(stdout);
    int printed = 0;
    for (int i = 0; i < nops; i++) {
        if ((ops[i] == OP_GET || ops[i] == OP_MIX || ops[i] == OP_REPLY) && !ids) {
            nids = setup_tickets(&o, &ids);
            if (nids < 0) {
                fprintf(stderr, "loadgen: %s: setup failed, scenario skipped\n", op_names[ops[i]]);
                rc = 3;
                nids = 0;
                continue;
            }
        }
        lg_result r;
        memset(&r, 0, sizeof(r));
        if (run_scenario(ops[i], &o, channels, ids, (size_t)nids, &r) != 0) {
            rc = 3;
            continue;
        }
        print_result(op_names[ops[i]], &r, &o, printed == 0);
        printed++;
        fflush(stdout);
        hd_hist_destroy(r.hist);
    }
    if (o.json)
        printf("]}\n");

done:
    if (channels) {
        for (int c = 0; c < o.connections; c++) {
            if (channels[c].channel)
                grpc_channel_destroy(channels[c].channel);
        }
    }
    free(channels);
    free(ids);
    free(o.token_buf);
    grpc_shutdown_blocking();
    return rc;
}
