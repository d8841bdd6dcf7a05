/* TicketService end to end in process: the real serving core on 127.0.0.1:0 with the ticket
 * method table and a store, called through the client library. Checks the async group-commit
 * path, status mapping with field-named details, idempotent retries racing over the wire,
 * reads, paging and how customer tokens are scoped to their own tickets. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clients/lib/client.h"
#include "helpdesk/v1/auth.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "server/api/perm.h"
#include "server/api/tickets_api.h"
#include "server/app.h"
#include "server/common/arena.h"
#include "server/common/log.h"
#include "server/rpc/rpc.h"
#include "server/store/store.h"
#include "tests/unit/server/tickets/fixture.h"

#define CREATE "/helpdesk.v1.TicketService/CreateTicket"
#define GET    "/helpdesk.v1.TicketService/GetTicket"
#define LIST   "/helpdesk.v1.TicketService/ListTickets"

/* Status codes as the client reports them (grpc_status_code values). */
enum {
    ST_OK = 0,
    ST_INVALID_ARGUMENT = 3,
    ST_NOT_FOUND = 5,
    ST_PERMISSION_DENIED = 7,
    ST_UNAUTHENTICATED = 16,
};

/* Tokens: "staff" (staff 7, every ticket permission), "reader" (staff 8, read only),
 * "cust-<id>" (customer <id>). */
static int auth(void *ud, const char *token, uint32_t permission, hd_identity *who, hd_err *err)
{
    (void)ud;
    if (!token)
        return hd_err_set(err, HD_EUNAUTH, "authorization: missing");
    if (strcmp(token, "staff") == 0) {
        who->kind = HD_PRINCIPAL_STAFF;
        who->id = 7;
        who->role = HELPDESK__V1__ROLE__ROLE_ADMIN; /* sees every ticket (server/api/access.h) */
    } else if (strcmp(token, "reader") == 0) {
        if (permission != HD_PERM_TICKET_READ)
            return hd_err_set(err, HD_EPERM, "token: lacks %s", hd_perm_name(permission));
        who->kind = HD_PRINCIPAL_STAFF;
        who->id = 8;
        who->role = HELPDESK__V1__ROLE__ROLE_MANAGER;
    } else if (strncmp(token, "cust-", 5) == 0) {
        who->kind = HD_PRINCIPAL_CUSTOMER;
        who->id = strtoull(token + 5, NULL, 10);
    } else {
        return hd_err_set(err, HD_EUNAUTH, "token: unknown");
    }
    return HD_OK;
}

typedef struct fx {
    hd_app app;
    hd_rpc_server *srv;
    char target[64];
    hd_client *staff;
    hd_arena *a;
} fx;

static hd_client *client(fx *f, const char *token)
{
    hd_client_opts o = {.target = f->target, .token = token};
    hd_client *cl = NULL;
    hd_err err = {0};
    int rc = hd_client_open(&cl, &o, &err);
    if (rc)
        fail_msg("client: %s %s", hd_errname(rc), err.detail);
    return cl;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    hd_err err = {0};
    size_t n;
    if (!f)
        return -1;
    hd_log_set_level(HD_LOG_WARN);
    f->app.store = tf_store_open("api");
    f->app.max_body_bytes = 4096;
    hd_rpc_config cfg = {.listen = "127.0.0.1:0", .workers = 2, .auth = auth, .app = &f->app};
    const hd_rpc_method *methods = hd_tickets_api_methods(&n);
    if (hd_rpc_server_create(&f->srv, &cfg, &err) ||
        hd_rpc_server_add_methods(f->srv, methods, n, &err) || hd_rpc_server_start(f->srv, &err)) {
        fail_msg("server: %s", err.detail);
    }
    snprintf(f->target, sizeof(f->target), "127.0.0.1:%d", hd_rpc_server_port(f->srv));
    f->staff = client(f, "staff");
    f->a = hd_arena_create(0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    hd_client_close(f->staff);
    hd_rpc_server_destroy(f->srv);
    hd_store_close(f->app.store);
    hd_arena_destroy(f->a);
    free(f);
    return 0;
}

/* Calls method; returns the gRPC status code, *out the response (arena) on OK. */
static int call(fx *f, hd_client *cl, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *rd, ProtobufCMessage **out, hd_client_status *st)
{
    ProtobufCMessage *resp = NULL;
    hd_client_unary(cl, method, req, rd, f->a, 10000, &resp, st);
    if (out)
        *out = resp;
    return st->code;
}

static Helpdesk__V1__Ticket *create_ok(fx *f, hd_client *cl,
                                       const Helpdesk__V1__CreateTicketRequest *req)
{
    hd_client_status st;
    ProtobufCMessage *m;
    if (call(f, cl, CREATE, &req->base, &helpdesk__v1__ticket__descriptor, &m, &st) != ST_OK)
        fail_msg("CreateTicket: %s %s", st.name, st.detail);
    return (Helpdesk__V1__Ticket *)m;
}

static void create_over_rpc_commits_and_get_returns_thread_and_events(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    tf_request(&req, "VPN down", "Cannot connect since 9:00.", "Bob@Example.com");
    Helpdesk__V1__Ticket *t = create_ok(f, f->staff, &req);
    assert_int_equal(t->id, 1);
    assert_string_equal(t->number, "TKT-000001");
    assert_int_equal(t->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_NEW);
    assert_non_null(t->create_time);

    Helpdesk__V1__GetTicketRequest g = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    g.number = (char *)"TKT-000001";
    hd_client_status st;
    ProtobufCMessage *m;
    assert_int_equal(
        call(f, f->staff, GET, &g.base, &helpdesk__v1__get_ticket_response__descriptor, &m, &st),
        ST_OK);
    Helpdesk__V1__GetTicketResponse *r = (Helpdesk__V1__GetTicketResponse *)m;
    assert_int_equal(r->ticket->id, 1);
    assert_int_equal(r->n_messages, 1);
    assert_string_equal(r->messages[0]->body, "Cannot connect since 9:00.");
    assert_int_equal(r->n_events, 1);
    assert_int_equal(r->events[0]->actor->kind, HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF);
    assert_int_equal(r->events[0]->actor->id, 7);

    g.number = (char *)"";
    g.id = 404;
    assert_int_equal(
        call(f, f->staff, GET, &g.base, &helpdesk__v1__get_ticket_response__descriptor, NULL, &st),
        ST_NOT_FOUND);
    assert_string_equal(st.detail, "ticket 404: not found");
}

static void invalid_fields_map_to_invalid_argument_naming_the_field(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    hd_client_status st;
    char body[4098];
    memset(body, 'b', sizeof(body) - 1);
    body[sizeof(body) - 1] = 0;
    tf_request(&req, "Subject\r\nBcc: x@y.z", NULL, NULL);
    assert_int_equal(
        call(f, f->staff, CREATE, &req.base, &helpdesk__v1__ticket__descriptor, NULL, &st),
        ST_INVALID_ARGUMENT);
    assert_string_equal(st.detail, "subject: must not contain CR or LF");
    tf_request(&req, NULL, body, NULL); /* over the app's 4096-byte limit */
    assert_int_equal(
        call(f, f->staff, CREATE, &req.base, &helpdesk__v1__ticket__descriptor, NULL, &st),
        ST_INVALID_ARGUMENT);
    assert_string_equal(st.detail, "body: longer than 4096 bytes");
    tf_request(&req, NULL, NULL, NULL);
    req.priority = (Helpdesk__V1__Priority)42; /* unknown enum number on the wire */
    assert_int_equal(
        call(f, f->staff, CREATE, &req.base, &helpdesk__v1__ticket__descriptor, NULL, &st),
        ST_INVALID_ARGUMENT);
    assert_string_equal(st.detail, "priority: unknown value 42");
    Helpdesk__V1__ListTicketsRequest l = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
    l.status = (Helpdesk__V1__TicketStatus)99;
    assert_int_equal(call(f, f->staff, LIST, &l.base,
                          &helpdesk__v1__list_tickets_response__descriptor, NULL, &st),
                     ST_INVALID_ARGUMENT);
    assert_string_equal(st.detail, "status: unknown value 99");
    tf_request(&req, NULL, NULL, "");
    req.customer_id = 77;
    assert_int_equal(
        call(f, f->staff, CREATE, &req.base, &helpdesk__v1__ticket__descriptor, NULL, &st),
        ST_NOT_FOUND);
    assert_string_equal(st.detail, "customer_id: no customer 77");
}

typedef struct racer {
    fx *f;
    hd_client *cl;
    pthread_barrier_t *go;
    uint64_t id;
    int code;
    hd_arena *a;
} racer;

static void *race(void *p)
{
    racer *r = p;
    Helpdesk__V1__CreateTicketRequest req;
    hd_client_status st;
    ProtobufCMessage *m = NULL;
    tf_request(&req, NULL, NULL, NULL);
    req.request_id = (char *)"wire-retry";
    pthread_barrier_wait(r->go);
    hd_client_unary(r->cl, CREATE, &req.base, &helpdesk__v1__ticket__descriptor, r->a, 10000, &m,
                    &st);
    r->code = st.code;
    r->id = m ? ((Helpdesk__V1__Ticket *)m)->id : 0;
    return NULL;
}

static void eight_concurrent_rpcs_with_one_request_id_create_one_ticket(void **state)
{
    fx *f = *state;
    enum { N = 8 };
    pthread_t th[N];
    racer r[N];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    for (int i = 0; i < N; i++) {
        r[i] = (racer){.f = f, .cl = f->staff, .go = &go, .a = hd_arena_create(0)};
        assert_non_null(r[i].a);
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].code, ST_OK);
        assert_int_equal(r[i].id, r[0].id);
        hd_arena_destroy(r[i].a);
    }
    hd_store_stats stats;
    hd_err err = {0};
    assert_int_equal(hd_store_stats_get(f->app.store, &stats, &err), 0);
    assert_int_equal(stats.entries[HD_STORE_TICKETS], 1);
}

static void list_over_rpc_pages_newest_first(void **state)
{
    fx *f = *state;
    tf_create_many(f->app.store, 120, NULL);
    Helpdesk__V1__ListTicketsRequest l = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
    l.page_size = 50;
    size_t sizes[3] = {0}, pages = 0;
    uint64_t expect = 120;
    for (int guard = 0; guard < 10; guard++) {
        hd_client_status st;
        ProtobufCMessage *m;
        assert_int_equal(call(f, f->staff, LIST, &l.base,
                              &helpdesk__v1__list_tickets_response__descriptor, &m, &st),
                         ST_OK);
        Helpdesk__V1__ListTicketsResponse *r = (Helpdesk__V1__ListTicketsResponse *)m;
        assert_true(pages < 3);
        sizes[pages++] = r->n_tickets;
        for (size_t i = 0; i < r->n_tickets; i++)
            assert_int_equal(r->tickets[i]->id, expect--);
        if (!r->next_page_token[0])
            break;
        l.page_token = r->next_page_token;
    }
    assert_int_equal(pages, 3);
    assert_int_equal(sizes[0], 50);
    assert_int_equal(sizes[1], 50);
    assert_int_equal(sizes[2], 20);
    assert_int_equal(expect, 0);
}

static void customer_tokens_see_and_open_only_their_own_tickets(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    hd_client_status st;
    ProtobufCMessage *m;
    tf_request(&req, NULL, NULL, "carol@example.com");
    Helpdesk__V1__Ticket *carols = create_ok(f, f->staff, &req);
    tf_request(&req, NULL, NULL, "dave@example.com");
    Helpdesk__V1__Ticket *daves = create_ok(f, f->staff, &req);
    char token[32];
    snprintf(token, sizeof(token), "cust-%llu", (unsigned long long)carols->customer_id);
    hd_client *carol = client(f, token);

    /* Opening a ticket: for herself only. */
    tf_request(&req, "Mine", "Opened by me", "");
    Helpdesk__V1__Ticket *own = create_ok(f, carol, &req);
    assert_int_equal(own->customer_id, carols->customer_id);
    tf_request(&req, NULL, NULL, "dave@example.com");
    assert_int_equal(
        call(f, carol, CREATE, &req.base, &helpdesk__v1__ticket__descriptor, NULL, &st),
        ST_PERMISSION_DENIED);

    /* Reading: Dave's ticket looks absent. */
    Helpdesk__V1__GetTicketRequest g = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    g.id = daves->id;
    assert_int_equal(
        call(f, carol, GET, &g.base, &helpdesk__v1__get_ticket_response__descriptor, NULL, &st),
        ST_NOT_FOUND);
    g.id = carols->id;
    assert_int_equal(
        call(f, carol, GET, &g.base, &helpdesk__v1__get_ticket_response__descriptor, NULL, &st),
        ST_OK);

    /* Listing: her two tickets, newest first. */
    Helpdesk__V1__ListTicketsRequest l = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
    assert_int_equal(
        call(f, carol, LIST, &l.base, &helpdesk__v1__list_tickets_response__descriptor, &m, &st),
        ST_OK);
    Helpdesk__V1__ListTicketsResponse *r = (Helpdesk__V1__ListTicketsResponse *)m;
    assert_int_equal(r->n_tickets, 2);
    assert_int_equal(r->tickets[0]->id, own->id);
    assert_int_equal(r->tickets[1]->id, carols->id);
    hd_client_close(carol);
}

static void missing_token_and_read_only_token_are_refused(void **state)
{
    fx *f = *state;
    Helpdesk__V1__CreateTicketRequest req;
    hd_client_status st;
    tf_request(&req, NULL, NULL, NULL);
    hd_client *anon = client(f, NULL);
    assert_int_equal(call(f, anon, CREATE, &req.base, &helpdesk__v1__ticket__descriptor, NULL, &st),
                     ST_UNAUTHENTICATED);
    hd_client_close(anon);
    hd_client *reader = client(f, "reader");
    assert_int_equal(
        call(f, reader, CREATE, &req.base, &helpdesk__v1__ticket__descriptor, NULL, &st),
        ST_PERMISSION_DENIED);
    Helpdesk__V1__ListTicketsRequest l = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
    assert_int_equal(
        call(f, reader, LIST, &l.base, &helpdesk__v1__list_tickets_response__descriptor, NULL, &st),
        ST_OK);
    hd_client_close(reader);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(create_over_rpc_commits_and_get_returns_thread_and_events),
        T(invalid_fields_map_to_invalid_argument_naming_the_field),
        T(eight_concurrent_rpcs_with_one_request_id_create_one_ticket),
        T(list_over_rpc_pages_newest_first),
        T(customer_tokens_see_and_open_only_their_own_tickets),
        T(missing_token_and_read_only_token_are_refused),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
