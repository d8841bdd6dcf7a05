/* gRPC server reflection (grpc.reflection.v1 and v1alpha, wire identical) over the
 * embedded FileDescriptorSet, so grpcurl and buf curl can list and call our services
 * without .proto files. Open methods: no token needed. */
#ifndef HD_RPC_BUILTIN_REFLECTION_H
#define HD_RPC_BUILTIN_REFLECTION_H

#include <stddef.h>

#include "server/common/err.h"
#include "server/rpc/rpc.h"

/* Builds the process-wide reflection index from hd_descriptor_set. Call once before
 * serving (not thread-safe against itself or hd_reflection_cleanup). Returns HD_OK (also
 * when already initialised), HD_ECORRUPT or HD_ENOMEM with detail. */
int hd_reflection_init(hd_err *err);

/* Frees the index. Only after the server serving the methods has shut down. */
void hd_reflection_cleanup(void);

/* The method table: ServerReflectionInfo under the v1 and the v1alpha path (HD_RPC_BIDI,
 * HD_RPC_OPEN). Static storage; stores the row count in *n. Handlers answer
 * HD_EUNAVAIL until hd_reflection_init succeeded. */
const hd_rpc_method *hd_reflection_methods(size_t *n);

#endif
