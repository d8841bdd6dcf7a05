/* Staff passwords: argon2id through libsodium's crypto_pwhash_str at OWASP's minimum
 * parameters (19 MiB, 2 passes, 1 lane) or above, and a verify that costs the same whether
 * or not the user exists (a dummy hash stands in for unknown users). */
#ifndef HD_AUTH_PASSWORD_H
#define HD_AUTH_PASSWORD_H

#include <stddef.h>

#include "server/common/err.h"

/* Shortest and longest password accepted, bytes. */
#define HD_PASSWORD_MIN 12
#define HD_PASSWORD_MAX 1024

/* Size of an encoded hash buffer (crypto_pwhash_STRBYTES). */
#define HD_PASSWORD_HASH_MAX 128

/* Memory and passes of every new hash (OWASP: m >= 19 MiB, t >= 2 for argon2id). */
#define HD_PASSWORD_MEMLIMIT ((size_t)19 * 1024 * 1024)
#define HD_PASSWORD_OPSLIMIT 2ull

/* Checks length (HD_PASSWORD_MIN..MAX bytes) and UTF-8. Returns 0 or HD_EINVAL naming
 * `field`. */
int hd_password_validate(const char *field, const char *pw, hd_err *err);

/* Hashes pw into out (size n >= HD_PASSWORD_HASH_MAX), NUL-terminated. Slow on purpose
 * (tens of ms): never on the store's writer thread. Returns 0, HD_EINVAL, or HD_ENOMEM (argon2
 * could not get its memory). */
int hd_password_hash(char *out, size_t n, const char *pw, hd_err *err);

/* Verifies pw against an encoded hash; hash NULL means "no such user": a dummy hash of the
 * same parameters is verified instead, so both cost the same, and the result is a mismatch.
 * Returns 1 on a match, 0 otherwise. Thread-safe. */
int hd_password_verify(const char *hash, const char *pw);

#endif
