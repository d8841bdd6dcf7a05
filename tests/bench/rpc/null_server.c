/* A serving core with one null unary method (/bench.B/Null, GetTicketRequest ->
 * GetTicketResponse echoing the id), for h2load: `null_server 127.0.0.1:0 [workers]`
 * prints the port and serves until SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/log.h"
#include "server/rpc/rpc.h"

static int h_null(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                  hd_err *err)
{
    (void)err;
    Helpdesk__V1__Ticket *t = hd_arena_alloc(hd_rpc_call_arena(call), sizeof(*t));
    if (!t)
        return HD_ENOMEM;
    helpdesk__v1__ticket__init(t);
    t->id = ((const Helpdesk__V1__GetTicketRequest *)reqm)->id;
    ((Helpdesk__V1__GetTicketResponse *)respm)->ticket = t;
    return HD_OK;
}

static const hd_rpc_method methods[] = {
    {"/bench.B/Null", HD_RPC_UNARY, &helpdesk__v1__get_ticket_request__descriptor,
     &helpdesk__v1__get_ticket_response__descriptor, h_null, NULL, HD_RPC_OPEN},
};

int main(int argc, char **argv)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before grpc starts threads */
    hd_rpc_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.listen = argc > 1 ? argv[1] : "127.0.0.1:0";
    cfg.workers = argc > 2 ? atoi(argv[2]) : 0;
    hd_rpc_server *s = NULL;
    hd_err err;
    hd_err_clear(&err);
    if (hd_rpc_server_create(&s, &cfg, &err) != HD_OK ||
        hd_rpc_server_add_methods(s, methods, 1, &err) != HD_OK ||
        hd_rpc_server_start(s, &err) != HD_OK) {
        fprintf(stderr, "null_server: %s\n", err.detail);
        hd_rpc_server_destroy(s);
        return 1;
    }
    printf("%d\n", hd_rpc_server_port(s));
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    hd_rpc_server_shutdown(s, 1000);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    hd_rpc_server_destroy(s);
    clock_gettime(CLOCK_MONOTONIC, &b);
    fprintf(stderr, "null_server: destroy took %ld ms\n",
            (long)((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000));
    return 0;
}
