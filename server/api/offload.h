/* Offload: a small dedicated thread pool for handlers that must block (argon2id password
 * checks, synchronous store writes of the staff, customer and token modules) so that they
 * never hold one of the few RPC worker threads. The queue is bounded: when it is full the
 * call fails at once with RESOURCE_EXHAUSTED instead of piling up. */
#ifndef HD_API_OFFLOAD_H
#define HD_API_OFFLOAD_H

#include "server/common/err.h"
#include "server/rpc/rpc.h"

typedef struct hd_offload hd_offload;

/* Starts threads (>= 1) serving a queue of at most queue_max (>= 1) waiting calls. Returns 0
 * with *out owned (free with hd_offload_destroy), HD_EINVAL or HD_ENOMEM/HD_EIO. */
int hd_offload_create(hd_offload **out, int threads, int queue_max, hd_err *err);

/* Runs every queued call, then joins the threads and frees o. Call it after the RPC server
 * shut down (its calls may be queued here) and before the store closes. NULL is allowed. */
void hd_offload_destroy(hd_offload *o);

/* From a unary handler: queues fn(call, req, resp, err) to run on a pool thread, which then
 * ends the call with hd_rpc_finish (with resp on HD_OK, else fn's error; nothing when fn
 * itself returns HD_RPC_ASYNC). A call cancelled while queued ends with HD_ECANCELED
 * without running fn. req and resp are borrowed until the call ends (arena memory is).
 * Returns HD_RPC_ASYNC, or HD_EFULL (queue full; detail says so) for the handler to
 * return. */
int hd_offload_call(hd_offload *o, hd_rpc_call *call, hd_rpc_unary_fn fn,
                    const ProtobufCMessage *req, ProtobufCMessage *resp, hd_err *err);

/* Calls waiting in the queue now (for tests). */
int hd_offload_queued(hd_offload *o);

/* Defines `static int name_offloaded(...)`: the unary handler name run through the app's
 * offload pool (APP_POOL(call) must give the hd_offload *). For method tables. */
#define HD_OFFLOADED(name, APP_POOL)                                                               \
    static int name##_offloaded(hd_rpc_call *call, const ProtobufCMessage *req,                    \
                                ProtobufCMessage *resp, hd_err *err)                               \
    {                                                                                              \
        return hd_offload_call(APP_POOL(call), call, name, req, resp, err);                        \
    }

#endif
