/* A fake of the handler side of server/rpc/rpc.h for unit tests: handlers run against an
 * in-memory call that records what they send and how they finish, and tests cancel it at
 * will. No network, no gRPC. Thread-safe like the real one. */
#ifndef HD_TESTS_FAKE_RPC_H
#define HD_TESTS_FAKE_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/rpc/rpc.h"

#define FAKE_RPC_MAX_SENT 256

/* Returns a new call for method m with a fresh arena, or NULL when out of memory. Owned:
 * free with fake_call_free. max_queue: hd_rpc_stream_send answers HD_EFULL once this many
 * messages were sent (nothing drains a fake queue); 0 = FAKE_RPC_MAX_SENT. */
hd_rpc_call *fake_call_new(const hd_rpc_method *m, size_t max_queue);

/* Frees the call and its recorded messages. NULL is allowed. */
void fake_call_free(hd_rpc_call *c);

/* Cancels the call like a client going away: runs the on_cancel callback once if one is
 * registered and the call is not finished. */
void fake_call_cancel(hd_rpc_call *c);

/* Makes the next hd_rpc_call_on_cancel see an already cancelled call (the race where the
 * client leaves while the handler runs). */
void fake_call_cancel_at_register(hd_rpc_call *c);

/* Messages sent so far with hd_rpc_stream_send. */
size_t fake_call_sent_count(hd_rpc_call *c);

/* Message i unpacked with desc; owned (free with protobuf_c_message_free_unpacked). */
ProtobufCMessage *fake_call_sent(hd_rpc_call *c, size_t i, const ProtobufCMessageDescriptor *desc);

/* How many times hd_rpc_finish was called, and the last code it got. */
int fake_call_finish_count(hd_rpc_call *c);
int fake_call_finish_code(hd_rpc_call *c);

#endif
