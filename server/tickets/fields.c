/* Ticket field validation (see fields.h). */
#include "server/tickets/fields.h"

#include <string.h>

#include "server/tickets/tickets.h"
#include "server/validate/validate.h"

#define TAG_CHARS   "abcdefghijklmnopqrstuvwxyz0123456789_-"
#define FIELD_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_"

int hd_tickets__check_line(const char *field, const char *s, size_t max, bool required, hd_err *err)
{
    size_t n = strlen(s);
    if (n == 0 && required)
        return hd_err_set(err, HD_EINVAL, "%s: required", field);
    if (!hd_validate_utf8(s, n))
        return hd_err_set(err, HD_EINVAL, "%s: not valid UTF-8", field);
    if (!hd_validate_single_line(s, n))
        return hd_err_set(err, HD_EINVAL, "%s: must not contain CR or LF", field);
    if (hd_validate_utf8_chars(s, n) > max)
        return hd_err_set(err, HD_EINVAL, "%s: longer than %zu characters", field, max);
    return 0;
}

int hd_tickets__check_request_id(const char *s, hd_err *err)
{
    size_t n = strlen(s);
    if (n > HD_TICKETS_REQUEST_ID_MAX)
        return hd_err_set(err, HD_EINVAL, "request_id: longer than %d characters",
                          HD_TICKETS_REQUEST_ID_MAX);
    if (!hd_validate_printable_ascii(s, n))
        return hd_err_set(err, HD_EINVAL, "request_id: must be printable ASCII");
    return 0;
}

int hd_tickets__check_body(const char *field, const char *s, size_t max, hd_err *err)
{
    size_t n = strlen(s);
    if (!max)
        max = HD_TICKETS_BODY_MAX_DEFAULT;
    if (n == 0)
        return hd_err_set(err, HD_EINVAL, "%s: required", field);
    if (n > max)
        return hd_err_set(err, HD_EINVAL, "%s: longer than %zu bytes", field, max);
    if (!hd_validate_utf8(s, n))
        return hd_err_set(err, HD_EINVAL, "%s: not valid UTF-8", field);
    return 0;
}

bool hd_tickets__enum_known(const ProtobufCEnumDescriptor *d, int v)
{
    return protobuf_c_enum_descriptor_get_value(d, v) != NULL;
}

int hd_tickets__check_tags(hd_arena *a, char *const *tags, size_t n, char ***out, size_t *n_out,
                           hd_err *err)
{
    char **v;
    size_t nv = 0;
    *out = NULL;
    *n_out = 0;
    if (n > HD_TICKETS_TAGS_MAX)
        return hd_err_set(err, HD_EINVAL, "tags: more than %d tags", HD_TICKETS_TAGS_MAX);
    v = hd_arena_calloc(a, n + 1, sizeof(char *));
    if (!v)
        return hd_err_set(err, HD_ENOMEM, "tags: out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *t = tags[i];
        size_t len = strlen(t);
        bool dup = false;
        if (len == 0 || len > HD_TICKETS_TAG_MAX || !hd_validate_charset(t, len, TAG_CHARS))
            return hd_err_set(err, HD_EINVAL, "tags[%zu]: must be 1-%d characters of [a-z0-9_-]", i,
                              HD_TICKETS_TAG_MAX);
        for (size_t j = 0; j < nv; j++)
            dup = dup || strcmp(v[j], t) == 0;
        if (!dup)
            v[nv++] = tags[i];
    }
    *out = v;
    *n_out = nv;
    return 0;
}

int hd_tickets__check_custom_fields(Helpdesk__V1__CustomField *const *f, size_t n, hd_err *err)
{
    if (n > HD_TICKETS_FIELDS_MAX)
        return hd_err_set(err, HD_EINVAL, "custom_fields: more than %d fields",
                          HD_TICKETS_FIELDS_MAX);
    for (size_t i = 0; i < n; i++) {
        size_t kn = strlen(f[i]->key), vn = strlen(f[i]->value);
        if (kn == 0 || kn > HD_TICKETS_FIELD_KEY_MAX ||
            !hd_validate_charset(f[i]->key, kn, FIELD_CHARS))
            return hd_err_set(err, HD_EINVAL,
                              "custom_fields[%zu].key: must be 1-%d characters of [a-z0-9_]", i,
                              HD_TICKETS_FIELD_KEY_MAX);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(f[j]->key, f[i]->key) == 0)
                return hd_err_set(err, HD_EINVAL, "custom_fields[%zu].key: duplicate \"%s\"", i,
                                  f[i]->key);
        }
        if (vn > HD_TICKETS_FIELD_VALUE_MAX)
            return hd_err_set(err, HD_EINVAL, "custom_fields[%zu].value: longer than %d bytes", i,
                              HD_TICKETS_FIELD_VALUE_MAX);
        if (!hd_validate_utf8(f[i]->value, vn))
            return hd_err_set(err, HD_EINVAL, "custom_fields[%zu].value: not valid UTF-8", i);
    }
    return 0;
}
