/* The content-addressed attachment store (MAILSTATE, key HD_MAILKEY_BLOB + lower-case hex
 * SHA-256 -> the bytes): written by inbound mail (ingest keeps every kept attachment) and by
 * staff uploads (MailService/UploadAttachment), read when an outgoing mail is composed. The
 * key is the content's hash, so an entry never changes; entries are never deleted. */
#ifndef HD_MAIL_BLOB_H
#define HD_MAIL_BLOB_H

#include <stdbool.h>
#include <stddef.h>

#include "server/common/err.h"
#include "server/store/store.h"

#define HD_BLOB_HEX_LEN 64          /* characters of a hex SHA-256 */
#define HD_BLOB_MAX     (10u << 20) /* largest upload, bytes (= the inbound attachment limit) */

/* Whether s is exactly 64 lower-case hex digits. */
bool hd_blob_hex_ok(const char *s);

/* Writes the lower-case hex SHA-256 of len bytes at data into hex (NUL-terminated). */
void hd_blob_hash(char hex[HD_BLOB_HEX_LEN + 1], const void *data, size_t len);

/* Stores len bytes (1..HD_BLOB_MAX) under their hash in txn, a write transaction, and writes
 * the hash into hex. Storing content that is already there writes nothing. Returns 0,
 * HD_EINVAL ("data: empty", "data: larger than ..."), or the store's errors. */
int hd_blob_put(hd_txn *txn, const void *data, size_t len, char hex[HD_BLOB_HEX_LEN + 1],
                hd_err *err);

/* Runs hd_blob_put as its own durable write (not on the writer thread). Returns as
 * hd_blob_put. */
int hd_blob_upload(hd_store *s, const void *data, size_t len, char hex[HD_BLOB_HEX_LEN + 1],
                   hd_err *err);

/* Looks up the content with hash hex in txn. Returns 0 with *data (borrowed until txn ends)
 * and *len, HD_ENOTFOUND ("attachment <hex>: not stored"), HD_EINVAL (not a hex SHA-256) or
 * the store's errors. */
int hd_blob_get(hd_txn *txn, const char *hex, const void **data, size_t *len, hd_err *err);

#endif
