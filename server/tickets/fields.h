/* Validation of ticket fields, shared by create, update, replies and notes so that every
 * entry point applies the same limits and names the field in its error. Module-internal
 * (hd_tickets__ prefix): handlers call the domain functions, which call these. */
#ifndef HD_TICKETS_FIELDS_H
#define HD_TICKETS_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "helpdesk/v1/common.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"

/* Checks a UTF-8 single-line text of at most max characters (code points); required
 * refuses "". Returns 0 or HD_EINVAL naming field ("subject: longer than 998 characters"). */
int hd_tickets__check_line(const char *field, const char *s, size_t max, bool required,
                           hd_err *err);

/* Checks a required UTF-8 body of at most max bytes (0 = HD_TICKETS_BODY_MAX_DEFAULT).
 * Returns 0 or HD_EINVAL naming field. */
int hd_tickets__check_body(const char *field, const char *s, size_t max, hd_err *err);

/* Checks an optional request id (printable ASCII, at most HD_TICKETS_REQUEST_ID_MAX bytes;
 * "" = none). Returns 0 or HD_EINVAL naming request_id. */
int hd_tickets__check_request_id(const char *s, hd_err *err);

/* Whether v is a value of the enum d. */
bool hd_tickets__enum_known(const ProtobufCEnumDescriptor *d, int v);

/* Checks n tags ([a-z0-9_-], 1-64 bytes, at most 32) and returns them deduplicated (first
 * occurrence kept) in *out (arena array of borrowed strings, NULL-terminated) and *n_out.
 * Returns 0, HD_EINVAL ("tags[2]: ...") or HD_ENOMEM. */
int hd_tickets__check_tags(hd_arena *a, char *const *tags, size_t n, char ***out, size_t *n_out,
                           hd_err *err);

/* Checks n custom fields (keys [a-z0-9_] 1-64 bytes and unique, values <= 1024 bytes of
 * UTF-8, at most 64). Returns 0 or HD_EINVAL ("custom_fields[1].key: ..."). */
int hd_tickets__check_custom_fields(Helpdesk__V1__CustomField *const *f, size_t n, hd_err *err);

#endif
