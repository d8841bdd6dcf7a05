/* The project's error codes, from one table (libuv's UV_ERRNO_MAP style), and an error
 * value that carries detail text with the code so that no detail is ever lost. */
#ifndef HD_COMMON_ERR_H
#define HD_COMMON_ERR_H

#include <stddef.h>

/* XX(name, value, message). 0 is success; every error is negative. The gRPC status for
 * each code is chosen in one place: server/rpc/status.c. */
#define HD_ERRNO_MAP(XX)                                                                           \
    XX(HD_EINVAL, -1, "invalid argument")                                                          \
    XX(HD_ENOTFOUND, -2, "not found")                                                              \
    XX(HD_EEXIST, -3, "already exists")                                                            \
    XX(HD_EPERM, -4, "permission denied")                                                          \
    XX(HD_EUNAUTH, -5, "unauthenticated")                                                          \
    XX(HD_ENOMEM, -6, "out of memory")                                                             \
    XX(HD_EFULL, -7, "resource exhausted")                                                         \
    XX(HD_ESTATE, -8, "failed precondition")                                                       \
    XX(HD_EIO, -9, "input/output error")                                                           \
    XX(HD_ECORRUPT, -10, "corrupt data")                                                           \
    XX(HD_EVERSION, -11, "unsupported version")                                                    \
    XX(HD_EINTERNAL, -12, "internal error")                                                        \
    XX(HD_EUNAVAIL, -13, "unavailable")                                                            \
    XX(HD_ECANCELED, -14, "cancelled")                                                             \
    XX(HD_ETIMEDOUT, -15, "deadline exceeded")                                                     \
    XX(HD_EABORTED, -16, "aborted")                                                                \
    XX(HD_ETOOBIG, -17, "too large")                                                               \
    XX(HD_EUNIMPL, -18, "not implemented")

enum {
    HD_OK = 0,
#define HD__ERR_ENUM(name, value, msg) name = value,
    HD_ERRNO_MAP(HD__ERR_ENUM)
#undef HD__ERR_ENUM
};

/* Longest detail text kept with an error, including the terminating NUL. */
#define HD_ERR_DETAIL_MAX 256

/* An error code with its detail text, e.g. {HD_EINVAL, "subject: longer than 998
 * characters"}. Lives on the caller's stack; no heap memory. */
typedef struct hd_err {
    int code;
    char detail[HD_ERR_DETAIL_MAX];
} hd_err;

/* Returns a static message for code ("unknown error" for codes not in the table). */
const char *hd_strerror(int code);

/* Returns the table name of code, e.g. "HD_ENOTFOUND" (static; "HD_OK" for 0). */
const char *hd_errname(int code);

/* Sets err (if not NULL) to code with printf-style detail; returns code, so callers can
 * write `return hd_err_set(err, HD_EINVAL, "subject: empty");`. */
int hd_err_set(hd_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Clears err to HD_OK with empty detail. err may be NULL. */
void hd_err_clear(hd_err *err);

#endif
