/* Fuzz target for every RPC's request decoding and validation: the input names a method
 * (its path, then a NUL; or one byte choosing from the table) and carries the request
 * bytes. They are decoded exactly as the server does (hd_rpc_decode_request with the
 * method's request descriptor), the decoded message must re-encode stably, and the
 * request goes through the domain's prepare/validate function where the handler has one.
 * No network and no store: what runs is exactly what a hostile client's bytes reach
 * before any write.
 * Built as a libFuzzer target with clang (tools/fuzz requests_fuzz), or with
 * HD_FUZZ_DRIVER as a plain test replaying the checked-in corpus (argv[1]) plus a bounded
 * number of mutations of each seed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/api/admin_api.h"
#include "server/api/auth_api.h"
#include "server/api/customers_api.h"
#include "server/api/mail_api.h"
#include "server/api/reporting_api.h"
#include "server/api/sla_api.h"
#include "server/api/staff_api.h"
#include "server/api/tickets_api.h"
#include "server/api/tickets_work_api.h"
#include "server/common/arena.h"
#include "server/rpc/decode.h"
#include "server/rpc/rpc.h"
#include "server/tickets/escalate.h"
#include "server/tickets/note.h"
#include "server/tickets/rating.h"
#include "server/tickets/reply.h"
#include "server/tickets/tickets.h"
#include "server/tickets/update.h"
#include "tests/fuzz/corpus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BODY_MAX    4096
#define METHODS_MAX 512

static const hd_rpc_method *methods[METHODS_MAX];
static size_t n_methods;

static void add_table(const hd_rpc_method *(*table)(size_t *))
{
    size_t n;
    const hd_rpc_method *m = table(&n);
    for (size_t i = 0; i < n && n_methods < METHODS_MAX; i++)
        methods[n_methods++] = &m[i];
}

static void load_methods(void)
{
    if (n_methods)
        return;
    add_table(hd_tickets_api_methods);
    add_table(hd_tickets_work_api_methods);
    add_table(hd_admin_api_methods);
    add_table(hd_auth_api_methods);
    add_table(hd_staff_api_methods);
    add_table(hd_customers_api_methods);
    add_table(hd_sla_api_methods);
    add_table(hd_mail_api_methods);
    add_table(hd_reporting_api_methods);
}

/* Runs the domain validation the handler of this request type runs before writing. */
static void prepare(hd_arena *a, const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    hd_tickets_actor staff = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, 1};
    hd_tickets_actor customer = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_CUSTOMER, 2};
    hd_err err = {0};
    if (d == &helpdesk__v1__create_ticket_request__descriptor) {
        hd_tickets_create_args args;
        hd_tickets_limits lim = {.body_max = BODY_MAX};
        (void)hd_tickets_create_prepare(&args, a, (Helpdesk__V1__CreateTicketRequest *)m, &lim,
                                        &staff, &err);
    } else if (d == &helpdesk__v1__update_ticket_request__descriptor) {
        hd_tickets_update_args args;
        (void)hd_tickets_update_prepare(&args, a, (const Helpdesk__V1__UpdateTicketRequest *)m,
                                        &staff, &err);
    } else if (d == &helpdesk__v1__reply_to_ticket_request__descriptor) {
        hd_tickets_reply_args args;
        const Helpdesk__V1__ReplyToTicketRequest *r = (const void *)m;
        if (hd_tickets_reply_prepare(&args, a, r, BODY_MAX, &staff, &err) == 0)
            CHECK(r->body && strlen(r->body) <= BODY_MAX);
        (void)hd_tickets_reply_prepare(&args, a, r, BODY_MAX, &customer, &err);
    } else if (d == &helpdesk__v1__add_note_request__descriptor) {
        hd_tickets_note_args args;
        (void)hd_tickets_note_prepare(&args, a, (const Helpdesk__V1__AddNoteRequest *)m, BODY_MAX,
                                      &staff, &err);
    } else if (d == &helpdesk__v1__rate_ticket_request__descriptor) {
        hd_tickets_rate_args args;
        (void)hd_tickets_rate_prepare(&args, a, (const Helpdesk__V1__RateTicketRequest *)m,
                                      &customer, &err);
    } else if (d == &helpdesk__v1__escalate_ticket_request__descriptor) {
        hd_tickets_escalate_args args;
        (void)hd_tickets_escalate_prepare(&args, (const Helpdesk__V1__EscalateTicketRequest *)m,
                                          &err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_methods();
    if (size == 0 || n_methods == 0)
        return 0;
    const hd_rpc_method *me = NULL;
    const uint8_t *nul = memchr(data, '\0', size < 128 ? size : 128);
    if (data[0] == '/' && nul) {
        for (size_t i = 0; i < n_methods && !me; i++)
            if (strlen(methods[i]->path) == (size_t)(nul - data) &&
                memcmp(methods[i]->path, data, (size_t)(nul - data)) == 0)
                me = methods[i];
        if (!me)
            return 0;
        size -= (size_t)(nul + 1 - data);
        data = nul + 1;
    } else {
        me = methods[data[0] % n_methods];
        data++;
        size--;
    }
    hd_arena *a = hd_arena_create(0);
    if (!a)
        return 0;
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(a, &pa);
    ProtobufCMessage *m = hd_rpc_decode_request(me->request, a, data, size);
    if (m) {
        /* What the server decoded re-encodes, and that encoding is a fixed point. */
        size_t n1 = protobuf_c_message_get_packed_size(m);
        uint8_t *b1 = hd_arena_alloc(a, n1 + 1);
        CHECK(b1 && protobuf_c_message_pack(m, b1) == n1);
        ProtobufCMessage *m2 = protobuf_c_message_unpack(me->request, &pa, n1, b1);
        CHECK(m2);
        size_t n2 = protobuf_c_message_get_packed_size(m2);
        uint8_t *b2 = hd_arena_alloc(a, n2 + 1);
        CHECK(b2 && protobuf_c_message_pack(m2, b2) == n2);
        CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
        prepare(a, m);
    }
    hd_arena_destroy(a);
    return 0;
}

#ifdef HD_FUZZ_DRIVER
int main(int argc, char **argv)
{
    size_t runs = hd_fuzz_corpus_replay(argc > 1 ? argv[1] : "tests/fuzz/rpc/corpus", 200);
    load_methods();
    /* Every method's empty request too (a valid message of every request type). */
    for (size_t i = 0; i < n_methods; i++) {
        uint8_t in[160];
        size_t n = strlen(methods[i]->path);
        CHECK(n + 1 < sizeof(in));
        memcpy(in, methods[i]->path, n + 1);
        LLVMFuzzerTestOneInput(in, n + 1);
    }
    printf("requests_fuzz: %zu corpus inputs and mutations, %zu methods\n", runs, n_methods);
    CHECK(runs >= 20 && n_methods >= 40);
    return 0;
}
#endif
