/* Record helpers for the staff and customer domains. */
#include "server/record/record.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "server/validate/validate.h"

int hd_record_get(hd_txn *txn, hd_table t, const hd_key *key,
                  const ProtobufCMessageDescriptor *desc, hd_arena *a, const char *what,
                  uint64_t id, void *out, hd_err *err)
{
    ProtobufCMessage *m = NULL;
    int rc = hd_store_get_msg(txn, t, key, desc, a, &m, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "%s %" PRIu64 ": not found", what, id);
    if (rc == HD_OK)
        *(ProtobufCMessage **)out = m;
    return rc;
}

Google__Protobuf__Timestamp *hd_record_time(hd_arena *a, int64_t ms)
{
    Google__Protobuf__Timestamp *t = hd_arena_alloc(a, sizeof(*t));
    if (!t)
        return NULL;
    google__protobuf__timestamp__init(t);
    t->seconds = ms / 1000;
    t->nanos = (int32_t)(ms % 1000) * 1000000;
    return t;
}

char *hd_record_lower(hd_arena *a, const char *s)
{
    char *o = hd_arena_strdup(a, s ? s : "");
    for (char *p = o; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return o;
}

int hd_record_check_line(const char *field, const char *s, size_t max_chars, int required,
                         hd_err *err)
{
    const char *v = s ? s : "";
    size_t n = strlen(v);
    if (required && n == 0)
        return hd_err_set(err, HD_EINVAL, "%s: required", field);
    if (!hd_validate_utf8(v, n))
        return hd_err_set(err, HD_EINVAL, "%s: not valid UTF-8", field);
    if (!hd_validate_single_line(v, n))
        return hd_err_set(err, HD_EINVAL, "%s: must be one line", field);
    if (hd_validate_utf8_chars(v, n) > max_chars)
        return hd_err_set(err, HD_EINVAL, "%s: longer than %zu characters", field, max_chars);
    return HD_OK;
}
