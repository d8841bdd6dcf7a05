/* ServerReflectionInfo handler called directly with requests built in an arena (no
 * network); every response also goes through pack/unpack as it would on the wire. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "server/rpc/builtin/reflection.h"
#include "tests/unit/server/rpc/builtin/expected_services.h"
#include "tests/unit/server/rpc/builtin/fake_rpc.h"

typedef Grpc__Reflection__V1__ServerReflectionRequest refl_req;
typedef Grpc__Reflection__V1__ServerReflectionResponse refl_resp;

#define REQ(x)  GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##x
#define RESP(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##x

static int setup(void **state)
{
    (void)state;
    hd_err err;
    return hd_reflection_init(&err) == HD_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hd_reflection_cleanup();
    return 0;
}

/* Runs the v1 handler for a request whose oneof `which` carries arg, packs the
 * response and returns it unpacked (owned: free with ..._free_unpacked). */
static refl_resp *ask(int which, const char *arg)
{
    size_t n;
    const hd_rpc_method *m = hd_reflection_methods(&n);
    hd_rpc_call *c = fake_call_new(&m[0], 0);
    assert_non_null(c);
    hd_arena *a = hd_rpc_call_arena(c);
    refl_req *req = hd_arena_alloc(a, sizeof(*req));
    grpc__reflection__v1__server_reflection_request__init(req);
    req->host = hd_arena_strdup(a, "localhost:7070");
    req->message_request_case = which;
    Grpc__Reflection__V1__ExtensionRequest *x;
    switch (which) {
    case REQ(FILE_BY_FILENAME):
        req->file_by_filename = hd_arena_strdup(a, arg);
        break;
    case REQ(FILE_CONTAINING_SYMBOL):
        req->file_containing_symbol = hd_arena_strdup(a, arg);
        break;
    case REQ(ALL_EXTENSION_NUMBERS_OF_TYPE):
        req->all_extension_numbers_of_type = hd_arena_strdup(a, arg);
        break;
    case REQ(LIST_SERVICES):
        req->list_services = hd_arena_strdup(a, arg);
        break;
    case REQ(FILE_CONTAINING_EXTENSION):
        x = hd_arena_alloc(a, sizeof(*x));
        grpc__reflection__v1__extension_request__init(x);
        x->containing_type = hd_arena_strdup(a, arg);
        x->extension_number = 1000;
        req->file_containing_extension = x;
        break;
    default:
        break;
    }
    refl_resp *resp = hd_arena_alloc(a, sizeof(*resp));
    protobuf_c_message_init(m[0].response, resp);
    hd_err err;
    hd_err_clear(&err);
    assert_int_equal(m[0].unary(c, &req->base, &resp->base, &err), HD_OK);
    assert_string_equal(resp->valid_host, "localhost:7070");
    assert_ptr_equal(resp->original_request, req);

    size_t len = protobuf_c_message_get_packed_size(&resp->base);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    protobuf_c_message_pack(&resp->base, buf);
    refl_resp *out = grpc__reflection__v1__server_reflection_response__unpack(NULL, len, buf);
    free(buf);
    fake_call_free(c);
    assert_non_null(out);
    assert_int_equal(out->original_request->message_request_case, which);
    return out;
}

/* File name of the i-th FileDescriptorProto of a file_descriptor_response. */
static char *file_name(const refl_resp *r, size_t i, char *buf, size_t n)
{
    const ProtobufCBinaryData *b = &r->file_descriptor_response->file_descriptor_proto[i];
    Google__Protobuf__FileDescriptorProto *f =
        google__protobuf__file_descriptor_proto__unpack(NULL, b->len, b->data);
    assert_non_null(f);
    snprintf(buf, n, "%s", f->name);
    google__protobuf__file_descriptor_proto__free_unpacked(f, NULL);
    return buf;
}

static void v1_and_v1alpha_paths_share_one_open_bidi_handler(void **state)
{
    (void)state;
    size_t n;
    const hd_rpc_method *m = hd_reflection_methods(&n);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].path, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
    assert_string_equal(m[1].path,
                        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(m[i].kind, HD_RPC_BIDI);
        assert_int_equal(m[i].permission, HD_RPC_OPEN);
        assert_ptr_equal(m[i].unary, m[0].unary);
    }
}

static void list_services_names_api_health_and_both_reflections(void **state)
{
    (void)state;
    refl_resp *r = ask(REQ(LIST_SERVICES), "*");
    assert_int_equal(r->message_response_case, RESP(LIST_SERVICES_RESPONSE));
    const Grpc__Reflection__V1__ListServiceResponse *l = r->list_services_response;
    size_t n;
    const char *const *want = expected_services(&n);
    assert_int_equal(l->n_service, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l->service[i]->name, want[i]);
    grpc__reflection__v1__server_reflection_response__free_unpacked(r, NULL);
}

static void symbol_of_a_method_returns_its_file_first_with_imports(void **state)
{
    (void)state;
    char name[128];
    refl_resp *r = ask(REQ(FILE_CONTAINING_SYMBOL), "helpdesk.v1.TicketService.CreateTicket");
    assert_int_equal(r->message_response_case, RESP(FILE_DESCRIPTOR_RESPONSE));
    size_t want = expected_closure_size("helpdesk/v1/tickets.proto");
    assert_true(want >= 4);
    assert_int_equal(r->file_descriptor_response->n_file_descriptor_proto, want);
    assert_string_equal(file_name(r, 0, name, sizeof(name)), "helpdesk/v1/tickets.proto");
    int common = 0;
    for (size_t i = 1; i < want; i++)
        common += strcmp(file_name(r, i, name, sizeof(name)), "helpdesk/v1/common.proto") == 0;
    assert_int_equal(common, 1);
    grpc__reflection__v1__server_reflection_response__free_unpacked(r, NULL);
}

static void file_by_filename_returns_that_file(void **state)
{
    (void)state;
    char name[128];
    refl_resp *r = ask(REQ(FILE_BY_FILENAME), "grpc/health/v1/health.proto");
    assert_int_equal(r->message_response_case, RESP(FILE_DESCRIPTOR_RESPONSE));
    assert_int_equal(r->file_descriptor_response->n_file_descriptor_proto, 1);
    assert_string_equal(file_name(r, 0, name, sizeof(name)), "grpc/health/v1/health.proto");
    grpc__reflection__v1__server_reflection_response__free_unpacked(r, NULL);
}

static void expect_error(refl_resp *r, int code, const char *needle)
{
    assert_int_equal(r->message_response_case, RESP(ERROR_RESPONSE));
    assert_int_equal(r->error_response->error_code, code);
    assert_non_null(strstr(r->error_response->error_message, needle));
    grpc__reflection__v1__server_reflection_response__free_unpacked(r, NULL);
}

static void unknown_symbol_and_file_answer_not_found_in_stream(void **state)
{
    (void)state;
    expect_error(ask(REQ(FILE_CONTAINING_SYMBOL), "helpdesk.v1.NoSuchThing"), 5,
                 "helpdesk.v1.NoSuchThing");
    expect_error(ask(REQ(FILE_BY_FILENAME), "nope.proto"), 5, "nope.proto");
    expect_error(ask(REQ(FILE_CONTAINING_EXTENSION), "helpdesk.v1.Ticket"), 5,
                 "helpdesk.v1.Ticket(1000)");
    expect_error(ask(REQ(ALL_EXTENSION_NUMBERS_OF_TYPE), "helpdesk.v1.Nope"), 5,
                 "helpdesk.v1.Nope");
    /* An enum is not a message type. */
    expect_error(ask(REQ(ALL_EXTENSION_NUMBERS_OF_TYPE), "helpdesk.v1.Priority"), 5,
                 "helpdesk.v1.Priority");
}

static void extension_numbers_of_a_known_message_are_an_empty_list(void **state)
{
    (void)state;
    refl_resp *r = ask(REQ(ALL_EXTENSION_NUMBERS_OF_TYPE), "helpdesk.v1.Ticket");
    assert_int_equal(r->message_response_case, RESP(ALL_EXTENSION_NUMBERS_RESPONSE));
    assert_string_equal(r->all_extension_numbers_response->base_type_name, "helpdesk.v1.Ticket");
    assert_int_equal(r->all_extension_numbers_response->n_extension_number, 0);
    grpc__reflection__v1__server_reflection_response__free_unpacked(r, NULL);
}

static void request_without_a_kind_is_invalid_argument(void **state)
{
    (void)state;
    expect_error(ask(REQ(_NOT_SET), NULL), 3, "no message_request");
}

static void uninitialised_reflection_is_unavailable(void **state)
{
    (void)state;
    hd_reflection_cleanup();
    size_t n;
    const hd_rpc_method *m = hd_reflection_methods(&n);
    hd_rpc_call *c = fake_call_new(&m[1], 0);
    refl_req req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
    refl_resp resp = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
    hd_err err;
    hd_err_clear(&err);
    assert_int_equal(m[1].unary(c, &req.base, &resp.base, &err), HD_EUNAVAIL);
    assert_int_equal(err.code, HD_EUNAVAIL);
    fake_call_free(c);
    assert_int_equal(hd_reflection_init(&err), HD_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(v1_and_v1alpha_paths_share_one_open_bidi_handler),
        cmocka_unit_test(list_services_names_api_health_and_both_reflections),
        cmocka_unit_test(symbol_of_a_method_returns_its_file_first_with_imports),
        cmocka_unit_test(file_by_filename_returns_that_file),
        cmocka_unit_test(unknown_symbol_and_file_answer_not_found_in_stream),
        cmocka_unit_test(extension_numbers_of_a_known_message_are_an_empty_list),
        cmocka_unit_test(request_without_a_kind_is_invalid_argument),
        cmocka_unit_test(uninitialised_reflection_is_unavailable),
    };
    return cmocka_run_group_tests(tests, setup, teardown) ? 1 : 0;
}
