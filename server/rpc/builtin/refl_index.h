/* The symbol index behind server reflection: files, fully-qualified symbols, services and
 * extensions of a serialized FileDescriptorSet, with each file's original bytes. Pure C,
 * no gRPC. Built once, then read-only: any number of threads may read it concurrently. */
#ifndef HD_RPC_BUILTIN_REFL_INDEX_H
#define HD_RPC_BUILTIN_REFL_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "server/common/err.h"

typedef struct hd_refl_index hd_refl_index;

/* What a fully-qualified name denotes. Enum values are scoped like C++ protobuf: as
 * siblings of their enum ("helpdesk.v1.PRIORITY_URGENT"). A package maps to the first
 * file of the set that declares it (or a sub-package). */
typedef enum hd_refl_kind {
    HD_REFL_PACKAGE = 0,
    HD_REFL_MESSAGE = 1,
    HD_REFL_FIELD = 2,
    HD_REFL_ONEOF = 3,
    HD_REFL_ENUM = 4,
    HD_REFL_ENUM_VALUE = 5,
    HD_REFL_SERVICE = 6,
    HD_REFL_METHOD = 7,
    HD_REFL_EXTENSION = 8,
} hd_refl_kind;

/* Builds an index from the serialized FileDescriptorSet set[0..len) (copied; the caller
 * keeps set). Every dependency named by a file must be in the set (as written by
 * `protoc --include_imports`). On success *out is owned (free with
 * hd_refl_index_destroy) and HD_OK is returned; else HD_ECORRUPT (bad wire data, missing
 * dependency, duplicate file) or HD_ENOMEM, with detail in err. */
int hd_refl_index_create(hd_refl_index **out, const void *set, size_t len, hd_err *err);

/* Frees the index. NULL is allowed. */
void hd_refl_index_destroy(hd_refl_index *idx);

/* Number of files in the set; files are numbered 0..count-1 in set order. */
size_t hd_refl_index_file_count(const hd_refl_index *idx);

/* Name ("helpdesk/v1/tickets.proto") of file i < file_count, borrowed until destroy. */
const char *hd_refl_index_file_name(const hd_refl_index *idx, size_t i);

/* The serialized FileDescriptorProto of file i exactly as it appeared in the set:
 * stores its length in *len and returns the bytes, borrowed until destroy. */
const uint8_t *hd_refl_index_file_bytes(const hd_refl_index *idx, size_t i, size_t *len);

/* Finds a file by name. Returns HD_OK with its number in *file, or HD_ENOTFOUND. */
int hd_refl_index_find_file(const hd_refl_index *idx, const char *name, size_t *file);

/* Finds the file declaring a fully-qualified symbol ("helpdesk.v1.Ticket",
 * "helpdesk.v1.TicketService.GetTicket"; a leading '.' is ignored). Returns HD_OK with the
 * file in *file and, if kind is not NULL, what the symbol is in *kind; else HD_ENOTFOUND. */
int hd_refl_index_find_symbol(const hd_refl_index *idx, const char *symbol, size_t *file,
                              hd_refl_kind *kind);

/* Number of services in the set. */
size_t hd_refl_index_service_count(const hd_refl_index *idx);

/* Fully-qualified name of service i < service_count ("grpc.health.v1.Health"), in
 * alphabetical order; borrowed until destroy. */
const char *hd_refl_index_service(const hd_refl_index *idx, size_t i);

/* Writes the transitive dependency closure of file (which must be < file_count) to out:
 * file itself first, then its dependencies breadth-first, every file once. out must hold
 * file_count entries. Returns the number written. */
size_t hd_refl_index_closure(const hd_refl_index *idx, size_t file, size_t *out);

/* Finds the file declaring extension `number` of message `type` (fully qualified).
 * Returns HD_OK with the file in *file, or HD_ENOTFOUND. */
int hd_refl_index_find_extension(const hd_refl_index *idx, const char *type, int32_t number,
                                 size_t *file);

/* Writes up to cap extension numbers of message `type` to out and returns how many the
 * set has in total (may exceed cap, like snprintf). */
size_t hd_refl_index_extension_numbers(const hd_refl_index *idx, const char *type, int32_t *out,
                                       size_t cap);

#endif
