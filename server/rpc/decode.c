/* Request decoding (see decode.h). */
#include "server/rpc/decode.h"

/* Returns field f's member in m. */
static void *member(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    return (char *)m + f->offset;
}

/* Drops m's unknown fields and those of every message it holds. Depth is bounded by
 * protobuf-c's own recursion limit on unpack. */
static void strip_unknown(ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    m->n_unknown_fields = 0;
    m->unknown_fields = NULL; /* arena memory: nothing to free */
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* only the member named by the case holds a message */
            if (*(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
                continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            ProtobufCMessage **arr = *(ProtobufCMessage ***)member(m, f);
            for (size_t k = 0; k < n; k++)
                if (arr[k])
                    strip_unknown(arr[k]);
        } else {
            ProtobufCMessage *sub = *(ProtobufCMessage **)member(m, f);
            if (sub)
                strip_unknown(sub);
        }
    }
}

ProtobufCMessage *hd_rpc_decode_request(const ProtobufCMessageDescriptor *d, hd_arena *a,
                                        const uint8_t *data, size_t n)
{
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(a, &pa);
    ProtobufCMessage *m = protobuf_c_message_unpack(d, &pa, n, data);
    if (m)
        strip_unknown(m);
    return m;
}
