/* Error table lookups and detail formatting. */
#include "server/common/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *hd_strerror(int code)
{
    switch (code) {
    case HD_OK:
        return "ok";
#define HD__ERR_MSG(name, value, msg)                                                              \
    case name:                                                                                     \
        return msg;
        HD_ERRNO_MAP(HD__ERR_MSG)
#undef HD__ERR_MSG
    default:
        return "unknown error";
    }
}

const char *hd_errname(int code)
{
    switch (code) {
    case HD_OK:
        return "HD_OK";
#define HD__ERR_NAME(name, value, msg)                                                             \
    case name:                                                                                     \
        return #name;
        HD_ERRNO_MAP(HD__ERR_NAME)
#undef HD__ERR_NAME
    default:
        return "HD_EUNKNOWN";
    }
}

int hd_err_set(hd_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
    return code;
}

void hd_err_clear(hd_err *err)
{
    if (!err)
        return;
    err->code = HD_OK;
    err->detail[0] = '\0';
}
