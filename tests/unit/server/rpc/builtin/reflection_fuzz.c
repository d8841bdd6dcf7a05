/* libFuzzer target for the reflection handler, whose requests come from anyone (open
 * method): bytes -> unpack as the server does (into the call's arena) -> handler -> pack.
 * Built as a cc_test it runs a fixed, seeded corpus (reflection_fuzz_replay.c); with clang:
 *   clang -fsanitize=fuzzer,address,undefined -I. -Ibazel-bin/proto this file, fake_rpc.c,
 *   reflection.c, refl_index.c, arena.c, err.c and the generated reflection, descriptor and
 *   descriptor_set sources, -lprotobuf-c. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "grpc/reflection/v1/reflection.pb-c.h"
#include "server/rpc/builtin/reflection.h"
#include "tests/unit/server/rpc/builtin/fake_rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        hd_err err;
        if (hd_reflection_init(&err) != HD_OK)
            abort();
        ready = 1;
    }
    size_t n;
    const hd_rpc_method *m = hd_reflection_methods(&n);
    hd_rpc_call *c = fake_call_new(&m[0], 0);
    if (!c)
        abort();
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(hd_rpc_call_arena(c), &pa);
    ProtobufCMessage *req = protobuf_c_message_unpack(m[0].request, &pa, size, data);
    if (req) {
        ProtobufCMessage *resp =
            hd_arena_alloc(hd_rpc_call_arena(c), m[0].response->sizeof_message);
        if (!resp)
            abort();
        protobuf_c_message_init(m[0].response, resp);
        hd_err err;
        hd_err_clear(&err);
        if (m[0].unary(c, req, resp, &err) == HD_OK) {
            size_t len = protobuf_c_message_get_packed_size(resp);
            uint8_t *buf = malloc(len ? len : 1);
            if (!buf)
                abort();
            if (protobuf_c_message_pack(resp, buf) != len)
                abort();
            free(buf);
        }
    }
    fake_call_free(c);
    return 0;
}
