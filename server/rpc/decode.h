/* Request decoding shared by the serving core and the request fuzz target: protobuf-c
 * unpack into the call's arena, then unknown fields dropped at every depth, so bytes the
 * server does not understand are never echoed back or stored (protobuf-c keeps them and
 * would re-encode them: an overlong field-0 tag it accepted re-encoded to one it refuses,
 * found by requests_fuzz). */
#ifndef HD_SERVER_RPC_DECODE_H
#define HD_SERVER_RPC_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "server/common/arena.h"

/* Unpacks n bytes at data as a message of type d into arena memory (borrowed until the
 * arena is destroyed) and strips its unknown fields. Returns the message, or NULL when the
 * bytes are not a valid message (or memory ran out). */
ProtobufCMessage *hd_rpc_decode_request(const ProtobufCMessageDescriptor *d, hd_arena *a,
                                        const uint8_t *data, size_t n);

#endif
