/* Helpers shared by the domain modules that keep plain records (staff, groups, customers,
 * organizations): a typed get whose NOT_FOUND names the record, arena timestamps, email
 * normalisation and the one-line text check every name field gets. */
#ifndef HD_RECORD_RECORD_H
#define HD_RECORD_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"

/* Reads the message of type desc under key in t into arena memory (*out borrowed until the
 * arena resets). Returns 0, HD_ENOTFOUND with detail "<what> <id>: not found", HD_ECORRUPT,
 * HD_ENOMEM or a store error. */
int hd_record_get(hd_txn *txn, hd_table t, const hd_key *key,
                  const ProtobufCMessageDescriptor *desc, hd_arena *a, const char *what,
                  uint64_t id, void *out, hd_err *err);

/* A Timestamp of Unix time ms in arena memory, or NULL when out of memory. */
Google__Protobuf__Timestamp *hd_record_time(hd_arena *a, int64_t ms);

/* A copy of s (NULL = "") with ASCII letters lower-cased, in arena memory; NULL when out of
 * memory. */
char *hd_record_lower(hd_arena *a, const char *s);

/* Checks a one-line text field: non-empty when required, UTF-8 without NUL, CR or LF, at
 * most max_chars code points. Returns 0 or HD_EINVAL naming field. */
int hd_record_check_line(const char *field, const char *s, size_t max_chars, int required,
                         hd_err *err);

#endif
