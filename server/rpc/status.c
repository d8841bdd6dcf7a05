/* hd_ code -> gRPC status, in one table so no handler chooses a status by itself. */
#include "server/rpc/status.h"

#include "server/common/err.h"

grpc_status_code hd_rpc_status_from_err(int code)
{
    switch (code) {
    case HD_OK:
        return GRPC_STATUS_OK;
    case HD_EINVAL:
        return GRPC_STATUS_INVALID_ARGUMENT;
    case HD_ENOTFOUND:
        return GRPC_STATUS_NOT_FOUND;
    case HD_EEXIST:
        return GRPC_STATUS_ALREADY_EXISTS;
    case HD_EPERM:
        return GRPC_STATUS_PERMISSION_DENIED;
    case HD_EUNAUTH:
        return GRPC_STATUS_UNAUTHENTICATED;
    case HD_EFULL:
    case HD_ETOOBIG:
        return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case HD_ESTATE:
        return GRPC_STATUS_FAILED_PRECONDITION;
    case HD_EABORTED:
        return GRPC_STATUS_ABORTED;
    case HD_EUNAVAIL:
        return GRPC_STATUS_UNAVAILABLE;
    case HD_ETIMEDOUT:
        return GRPC_STATUS_DEADLINE_EXCEEDED;
    case HD_ECANCELED:
        return GRPC_STATUS_CANCELLED;
    case HD_EUNIMPL:
        return GRPC_STATUS_UNIMPLEMENTED;
    default:
        return GRPC_STATUS_INTERNAL;
    }
}

bool hd_rpc_status_is_internal(int code)
{
    return hd_rpc_status_from_err(code) == GRPC_STATUS_INTERNAL;
}

static const char *const status_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *hd_rpc_status_name(grpc_status_code status)
{
    if ((int)status < 0 || (size_t)status >= sizeof(status_names) / sizeof(status_names[0]))
        return "UNKNOWN_STATUS";
    return status_names[status];
}
