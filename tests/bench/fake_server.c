/* fake_server: a stand-in for helpdeskd for benchmarking the load generator and the
 * serving core while the real server is being written. Same command-line contract subset
 * (--listen, --data, --workers, --ready-file, admin token in <data>/admin.token) and the
 * same services the load generator calls: grpc.health.v1.Health and TicketService
 * CreateTicket/GetTicket/ListTickets, with tickets kept in memory (no store, no rules).
 * Built on //server/rpc:rpc, so `fake null` vs `helpdeskd null` isolates the store cost. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/common/log.h"
#include "server/rpc/builtin/health.h"
#include "server/rpc/rpc.h"

#define FS_SUBJECT_MAX 998

typedef struct fs_ticket {
    char *subject;
    char number[16];
} fs_ticket;

static struct {
    pthread_mutex_t mu;
    fs_ticket *items; /* index id-1 */
    size_t n, cap;
    char token[65];
} fs = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int fs_auth(void *ud, const char *token, uint32_t permission, hd_identity *who, hd_err *err)
{
    (void)ud;
    (void)permission;
    if (!token || strcmp(token, fs.token) != 0)
        return hd_err_set(err, HD_EUNAUTH, "missing or invalid token");
    who->kind = HD_PRINCIPAL_STAFF;
    who->id = 1;
    snprintf(who->name, sizeof(who->name), "admin");
    return HD_OK;
}

/* Fills t (arena memory) from ticket id; caller holds fs.mu. */
static void fill_ticket(hd_arena *a, Helpdesk__V1__Ticket *t, uint64_t id)
{
    helpdesk__v1__ticket__init(t);
    t->id = id;
    t->number = hd_arena_strdup(a, fs.items[id - 1].number);
    t->subject = hd_arena_strdup(a, fs.items[id - 1].subject);
    t->status = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_NEW;
}

static int create_ticket(hd_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp,
                         hd_err *err)
{
    const Helpdesk__V1__CreateTicketRequest *r = (const void *)req;
    size_t len = r->subject ? strlen(r->subject) : 0;
    if (len == 0 || len > FS_SUBJECT_MAX)
        return hd_err_set(err, HD_EINVAL, "subject: must be 1-998 characters");
    char *subject = strdup(r->subject);
    if (!subject)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    pthread_mutex_lock(&fs.mu);
    if (fs.n == fs.cap) {
        size_t cap = fs.cap ? fs.cap * 2 : 1024;
        fs_ticket *items = realloc(fs.items, cap * sizeof(*items));
        if (!items) {
            pthread_mutex_unlock(&fs.mu);
            free(subject);
            return hd_err_set(err, HD_ENOMEM, "out of memory");
        }
        fs.items = items;
        fs.cap = cap;
    }
    uint64_t id = ++fs.n;
    fs.items[id - 1].subject = subject;
    snprintf(fs.items[id - 1].number, sizeof(fs.items[id - 1].number), "TKT-%06" PRIu64, id);
    fill_ticket(hd_rpc_call_arena(call), (Helpdesk__V1__Ticket *)resp, id);
    pthread_mutex_unlock(&fs.mu);
    return HD_OK;
}

static int get_ticket(hd_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp,
                      hd_err *err)
{
    const Helpdesk__V1__GetTicketRequest *r = (const void *)req;
    Helpdesk__V1__GetTicketResponse *out = (void *)resp;
    hd_arena *a = hd_rpc_call_arena(call);
    out->ticket = hd_arena_alloc(a, sizeof(*out->ticket));
    if (!out->ticket)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    pthread_mutex_lock(&fs.mu);
    int found = r->id >= 1 && r->id <= fs.n;
    if (found)
        fill_ticket(a, out->ticket, r->id);
    pthread_mutex_unlock(&fs.mu);
    if (!found)
        return hd_err_set(err, HD_ENOTFOUND, "ticket %" PRIu64 " does not exist", r->id);
    return HD_OK;
}

static int list_tickets(hd_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp,
                        hd_err *err)
{
    const Helpdesk__V1__ListTicketsRequest *r = (const void *)req;
    Helpdesk__V1__ListTicketsResponse *out = (void *)resp;
    hd_arena *a = hd_rpc_call_arena(call);
    size_t want = r->page_size > 0 ? (size_t)r->page_size : 50;
    if (want > 1000)
        return hd_err_set(err, HD_EINVAL, "page_size: at most 1000");
    pthread_mutex_lock(&fs.mu);
    size_t n = fs.n < want ? fs.n : want;
    out->tickets = hd_arena_calloc(a, n ? n : 1, sizeof(*out->tickets));
    Helpdesk__V1__Ticket *ts = hd_arena_calloc(a, n ? n : 1, sizeof(*ts));
    if (!out->tickets || !ts) {
        pthread_mutex_unlock(&fs.mu);
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        fill_ticket(a, &ts[i], fs.n - i);
        out->tickets[i] = &ts[i];
    }
    out->n_tickets = n;
    pthread_mutex_unlock(&fs.mu);
    return HD_OK;
}

static const hd_rpc_method ticket_methods[] = {
    {"/helpdesk.v1.TicketService/CreateTicket", HD_RPC_UNARY,
     &helpdesk__v1__create_ticket_request__descriptor, &helpdesk__v1__ticket__descriptor,
     create_ticket, NULL, 1},
    {"/helpdesk.v1.TicketService/GetTicket", HD_RPC_UNARY,
     &helpdesk__v1__get_ticket_request__descriptor, &helpdesk__v1__get_ticket_response__descriptor,
     get_ticket, NULL, 1},
    {"/helpdesk.v1.TicketService/ListTickets", HD_RPC_UNARY,
     &helpdesk__v1__list_tickets_request__descriptor,
     &helpdesk__v1__list_tickets_response__descriptor, list_tickets, NULL, 1},
};

/* Writes content to path atomically (temp file + rename) with the given mode. */
static int write_atomic(const char *path, const char *content, mode_t mode)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return -1;
    size_t len = strlen(content);
    int ok = write(fd, content, len) == (ssize_t)len && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int load_or_create_token(const char *data)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/admin.token", data);
    FILE *f = fopen(path, "r");
    if (f) {
        int ok = fgets(fs.token, sizeof(fs.token), f) != NULL;
        fclose(f);
        fs.token[strcspn(fs.token, "\r\n")] = '\0';
        return ok ? 0 : -1;
    }
    unsigned char rnd[32];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return -1;
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(fs.token + 2 * i, 3, "%02x", rnd[i]);
    char line[80];
    snprintf(line, sizeof(line), "%s\n", fs.token);
    if (write_atomic(path, line, 0600) != 0)
        return -1;
    printf("admin token: %s\n", fs.token);
    return 0;
}

int main(int argc, char **argv)
{
    const char *listen = getenv("HELPDESK_LISTEN");
    const char *data = getenv("HELPDESK_DATA");
    const char *ready = NULL;
    int workers = 0;
    hd_rpc_server *srv = NULL;
    hd_health *health = NULL;
    hd_err err;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--listen") == 0 && next) {
            listen = argv[++i];
        } else if (strcmp(argv[i], "--data") == 0 && next) {
            data = argv[++i];
        } else if (strcmp(argv[i], "--ready-file") == 0 && next) {
            ready = argv[++i];
        } else if (strcmp(argv[i], "--workers") == 0 && next) {
            workers = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--log-level") == 0 && next) {
            hd_log_level level;
            if (hd_log_parse_level(argv[++i], &level) != HD_OK) {
                fprintf(stderr, "fake_server: bad --log-level %s\n", argv[i]);
                return 1;
            }
            hd_log_set_level(level);
        } else {
            fprintf(stderr, "usage: fake_server [--listen HOST:PORT] [--data DIR] [--workers N] "
                            "[--ready-file FILE] [--log-level L]\n");
            return 1;
        }
    }
    if (!listen)
        listen = "127.0.0.1:7070";
    if (!data)
        data = "./var";
    if (mkdir(data, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "fake_server: %s: %s\n", data, strerror(errno));
        return 1;
    }
    if (load_or_create_token(data) != 0) {
        fprintf(stderr, "fake_server: cannot read or write %s/admin.token\n", data);
        return 1;
    }

    /* Block the stop signals before any gRPC thread exists: they inherit the mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    hd_rpc_config cfg = {.listen = listen, .workers = workers, .auth = fs_auth};
    size_t nh = 0;
    if (hd_health_create(&health, &err) != HD_OK || hd_rpc_server_create(&srv, &cfg, &err) != HD_OK)
        goto fail;
    const hd_rpc_method *hm = hd_health_methods(health, &nh);
    if (hd_rpc_server_add_methods(srv, hm, nh, &err) != HD_OK ||
        hd_rpc_server_add_methods(srv, ticket_methods,
                                  sizeof(ticket_methods) / sizeof(ticket_methods[0]),
                                  &err) != HD_OK ||
        hd_rpc_server_start(srv, &err) != HD_OK)
        goto fail;

    char addr[300];
    const char *colon = strrchr(listen, ':');
    int hostlen = colon ? (int)(colon - listen) : (int)strlen(listen);
    snprintf(addr, sizeof(addr), "%.*s:%d", hostlen, listen, hd_rpc_server_port(srv));
    printf("helpdeskd listening on %s\n", addr);
    fflush(stdout);
    if (ready) {
        char line[320];
        snprintf(line, sizeof(line), "%s\n", addr);
        if (write_atomic(ready, line, 0644) != 0) {
            hd_err_set(&err, HD_EIO, "cannot write ready file %s", ready);
            goto fail;
        }
    }
    int sig = 0;
    sigwait(&stop, &sig);
    hd_health_shutdown(health);
    hd_rpc_server_shutdown(srv, 2000);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "fake_server: %s: %s\n", hd_strerror(err.code), err.detail);
done:
    hd_rpc_server_destroy(srv);
    hd_health_destroy(health);
    for (size_t i = 0; i < fs.n; i++)
        free(fs.items[i].subject);
    free(fs.items);
    return rc;
}
