/* Store keys: fixed big-endian encodings whose memcmp order is the numeric, time and string
 * order of the values, so composite keys (status+priority+id, email, due+ticket) sort in
 * index order. A builder appends fields; a reader decodes them in the same order. */
#ifndef HD_STORE_KEY_H
#define HD_STORE_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "server/common/arena.h"
#include "server/common/err.h"

/* Longest key LMDB accepts with its default build (mdb_env_get_maxkeysize). */
#define HD_KEY_MAX 511

/* A key under construction. A value type: lives on the caller's stack, no heap memory.
 * Appending past HD_KEY_MAX sets `overflow`; store operations then fail with HD_ETOOBIG. */
typedef struct hd_key {
    size_t len;
    int overflow;
    unsigned char buf[HD_KEY_MAX];
} hd_key;

/* Empties k. */
void hd_key_init(hd_key *k);

/* Append one field each. Unsigned integers are big-endian; signed ones have the sign bit
 * flipped first, so -1 < 0 < 1 in memcmp order. Return k for chaining. */
hd_key *hd_key_u8(hd_key *k, uint8_t v);
hd_key *hd_key_u32(hd_key *k, uint32_t v);
hd_key *hd_key_u64(hd_key *k, uint64_t v);
hd_key *hd_key_i64(hd_key *k, int64_t v);

/* Appends a string of n bytes (may contain NUL) in an order-preserving escaped form:
 * 0x00 becomes 0x00 0xFF and the field ends with 0x00 0x01, so "a" < "a\0" < "ab" both
 * alone and followed by further fields. */
hd_key *hd_key_strn(hd_key *k, const char *s, size_t n);

/* hd_key_strn of a NUL-terminated string (NULL is the empty string). */
hd_key *hd_key_str(hd_key *k, const char *s);

/* Appends the escaped bytes of s WITHOUT the terminator: as a scan prefix it matches every
 * string field starting with s (e.g. tags starting with "bil"). Must be the last field. */
hd_key *hd_key_str_prefix(hd_key *k, const char *s, size_t n);

/* Appends n raw bytes. Only order-safe as the last field or for fixed-length fields. */
hd_key *hd_key_bytes(hd_key *k, const void *p, size_t n);

/* Decodes the fields of an encoded key in order. Borrows the bytes until the reader is no
 * longer used (for keys from a scan: until the scan callback returns). */
typedef struct hd_key_reader {
    const unsigned char *p;
    size_t len;
    size_t pos;
} hd_key_reader;

/* Starts reading the len bytes at p. */
void hd_key_reader_init(hd_key_reader *r, const void *p, size_t len);

/* Each reads one field into *out and returns 0, or HD_ECORRUPT (with detail in err) when
 * the remaining bytes do not hold such a field. */
int hd_key_read_u8(hd_key_reader *r, uint8_t *out, hd_err *err);
int hd_key_read_u32(hd_key_reader *r, uint32_t *out, hd_err *err);
int hd_key_read_u64(hd_key_reader *r, uint64_t *out, hd_err *err);
int hd_key_read_i64(hd_key_reader *r, int64_t *out, hd_err *err);

/* Reads a string field, unescaped and NUL-terminated, into arena memory: *out is borrowed
 * until the arena resets; *n (may be NULL) gets its length (it may contain NUL bytes).
 * Returns 0, HD_ECORRUPT or HD_ENOMEM. */
int hd_key_read_str(hd_key_reader *r, hd_arena *a, char **out, size_t *n, hd_err *err);

/* Reads n raw bytes: *out points into the key (borrowed like the reader). */
int hd_key_read_bytes(hd_key_reader *r, size_t n, const void **out, hd_err *err);

/* Returns the number of bytes not yet read (0 once every field was read). */
size_t hd_key_reader_left(const hd_key_reader *r);

#endif
