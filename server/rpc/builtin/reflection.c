/* ServerReflectionInfo: one bidi handler answers each request with exactly one response
 * built in the call's arena. File bytes are borrowed from the process-wide index (built
 * once by hd_reflection_init, read-only afterwards), so answers copy nothing. Lookup
 * failures are answered in-stream with error_response (the stream stays open), as the
 * reference implementations do; only a missing index fails the call. */
#include "server/rpc/builtin/reflection.h"

#include "grpc/reflection/v1/reflection.pb-c.h"
#include "proto/descriptor_set.h"
#include "server/rpc/builtin/refl_index.h"

/* gRPC status codes carried in ErrorResponse.error_code. */
#define HD_REFLECTION_INVALID_ARGUMENT 3
#define HD_REFLECTION_NOT_FOUND        5

typedef Grpc__Reflection__V1__ServerReflectionRequest refl_req;
typedef Grpc__Reflection__V1__ServerReflectionResponse refl_resp;

static hd_refl_index *g_index;

int hd_reflection_init(hd_err *err)
{
    if (g_index)
        return HD_OK;
    return hd_refl_index_create(&g_index, hd_descriptor_set, hd_descriptor_set_len, err);
}

void hd_reflection_cleanup(void)
{
    hd_refl_index_destroy(g_index);
    g_index = NULL;
}

/* Answers with error_response {code, "<what>: <name>"}; name is cut at 200 bytes. */
static int set_error(hd_arena *a, refl_resp *resp, int32_t code, const char *what, const char *name)
{
    Grpc__Reflection__V1__ErrorResponse *e = hd_arena_alloc(a, sizeof(*e));
    char *msg = hd_arena_printf(a, "%s: %.200s", what, name);
    if (!e || !msg)
        return HD_ENOMEM;
    grpc__reflection__v1__error_response__init(e);
    e->error_code = code;
    e->error_message = msg;
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    resp->error_response = e;
    return HD_OK;
}

static int set_files(hd_arena *a, refl_resp *resp, size_t file)
{
    size_t n_files = hd_refl_index_file_count(g_index);
    size_t *order = hd_arena_calloc(a, n_files, sizeof(*order));
    Grpc__Reflection__V1__FileDescriptorResponse *fd = hd_arena_alloc(a, sizeof(*fd));
    ProtobufCBinaryData *blobs = hd_arena_calloc(a, n_files, sizeof(*blobs));
    if (!order || !fd || !blobs)
        return HD_ENOMEM;
    size_t n = hd_refl_index_closure(g_index, file, order);
    for (size_t i = 0; i < n; i++) {
        /* Borrowed from the index, which outlives every call; packing only reads it. */
        blobs[i].data = (uint8_t *)hd_refl_index_file_bytes(g_index, order[i], &blobs[i].len);
    }
    grpc__reflection__v1__file_descriptor_response__init(fd);
    fd->n_file_descriptor_proto = n;
    fd->file_descriptor_proto = blobs;
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
    resp->file_descriptor_response = fd;
    return HD_OK;
}

static int set_services(hd_arena *a, refl_resp *resp)
{
    size_t n = hd_refl_index_service_count(g_index);
    Grpc__Reflection__V1__ListServiceResponse *l = hd_arena_alloc(a, sizeof(*l));
    Grpc__Reflection__V1__ServiceResponse *rows = hd_arena_calloc(a, n, sizeof(*rows));
    Grpc__Reflection__V1__ServiceResponse **ptrs = hd_arena_calloc(a, n, sizeof(*ptrs));
    if (!l || !rows || !ptrs)
        return HD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        grpc__reflection__v1__service_response__init(&rows[i]);
        rows[i].name = (char *)hd_refl_index_service(g_index, i);
        ptrs[i] = &rows[i];
    }
    grpc__reflection__v1__list_service_response__init(l);
    l->n_service = n;
    l->service = ptrs;
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
    resp->list_services_response = l;
    return HD_OK;
}

static int set_extension_numbers(hd_arena *a, refl_resp *resp, const char *type)
{
    size_t file;
    hd_refl_kind kind;
    if (hd_refl_index_find_symbol(g_index, type, &file, &kind) != HD_OK || kind != HD_REFL_MESSAGE)
        return set_error(a, resp, HD_REFLECTION_NOT_FOUND, "message type not found", type);
    size_t n = hd_refl_index_extension_numbers(g_index, type, NULL, 0);
    Grpc__Reflection__V1__ExtensionNumberResponse *e = hd_arena_alloc(a, sizeof(*e));
    int32_t *nums = hd_arena_calloc(a, n, sizeof(*nums));
    if (!e || !nums)
        return HD_ENOMEM;
    hd_refl_index_extension_numbers(g_index, type, nums, n);
    grpc__reflection__v1__extension_number_response__init(e);
    e->base_type_name = (char *)(type[0] == '.' ? type + 1 : type);
    e->n_extension_number = n;
    e->extension_number = nums;
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
    resp->all_extension_numbers_response = e;
    return HD_OK;
}

static int answer(hd_arena *a, const refl_req *req, refl_resp *resp)
{
    size_t file;
    switch (req->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        return set_services(a, resp);
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        if (hd_refl_index_find_file(g_index, req->file_by_filename, &file) != HD_OK)
            return set_error(a, resp, HD_REFLECTION_NOT_FOUND, "file not found",
                             req->file_by_filename);
        return set_files(a, resp, file);
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        if (hd_refl_index_find_symbol(g_index, req->file_containing_symbol, &file, NULL) != HD_OK)
            return set_error(a, resp, HD_REFLECTION_NOT_FOUND, "symbol not found",
                             req->file_containing_symbol);
        return set_files(a, resp, file);
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION: {
        const Grpc__Reflection__V1__ExtensionRequest *x = req->file_containing_extension;
        if (!x || hd_refl_index_find_extension(g_index, x->containing_type, x->extension_number,
                                               &file) != HD_OK) {
            const char *name =
                x ? hd_arena_printf(a, "%s(%d)", x->containing_type, (int)x->extension_number)
                  : "(none)";
            return set_error(a, resp, HD_REFLECTION_NOT_FOUND, "extension not found",
                             name ? name : "");
        }
        return set_files(a, resp, file);
    }
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
        return set_extension_numbers(a, resp, req->all_extension_numbers_of_type);
    default:
        return set_error(a, resp, HD_REFLECTION_INVALID_ARGUMENT, "invalid request",
                         "no message_request set");
    }
}

static int reflection_info(hd_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp,
                           hd_err *err)
{
    const refl_req *rq = (const refl_req *)req;
    refl_resp *rs = (refl_resp *)resp;
    if (!g_index)
        return hd_err_set(err, HD_EUNAVAIL, "reflection: not initialised");
    /* Request and response share the call's arena, so pointing back at the request
     * (host, original_request) is valid until the response is packed. */
    rs->valid_host = rq->host;
    rs->original_request = (refl_req *)rq;
    if (answer(hd_rpc_call_arena(call), rq, rs) != HD_OK)
        return hd_err_set(err, HD_ENOMEM, "reflection: out of memory");
    return HD_OK;
}

static const hd_rpc_method methods[] = {
    {
        .path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        .kind = HD_RPC_BIDI,
        .request = &grpc__reflection__v1__server_reflection_request__descriptor,
        .response = &grpc__reflection__v1__server_reflection_response__descriptor,
        .unary = reflection_info,
        .permission = HD_RPC_OPEN,
    },
    {
        /* v1alpha is wire identical to v1; grpcurl <= 1.8.7 speaks only this one. */
        .path = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        .kind = HD_RPC_BIDI,
        .request = &grpc__reflection__v1__server_reflection_request__descriptor,
        .response = &grpc__reflection__v1__server_reflection_response__descriptor,
        .unary = reflection_info,
        .permission = HD_RPC_OPEN,
    },
};

const hd_rpc_method *hd_reflection_methods(size_t *n)
{
    *n = sizeof(methods) / sizeof(methods[0]);
    return methods;
}
