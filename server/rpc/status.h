/* The one mapping from hd_ error codes to gRPC status codes (STYLE.md rule 3), and the
 * names used for both in logs. Every status the server sends is chosen here. */
#ifndef HD_RPC_STATUS_H
#define HD_RPC_STATUS_H

#include <stdbool.h>

#include <grpc/status.h>

/* Returns the gRPC status for an hd_ code: HD_OK -> GRPC_STATUS_OK, each listed error to
 * its status, every other code (HD_ENOMEM, HD_EIO, HD_EINTERNAL, unknown) -> INTERNAL. */
grpc_status_code hd_rpc_status_from_err(int code);

/* Returns true when code is sent to clients as INTERNAL, i.e. its detail must be hidden
 * from the client and only logged. */
bool hd_rpc_status_is_internal(int code);

/* Returns the canonical upper-case name of a status ("NOT_FOUND"); static storage,
 * "UNKNOWN_STATUS" for values outside the gRPC range. */
const char *hd_rpc_status_name(grpc_status_code status);

#endif
