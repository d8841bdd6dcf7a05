/* argon2id password hashing with a constant-cost miss path. */
#include "server/auth/password.h"

#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "server/validate/validate.h"

static char dummy_hash[crypto_pwhash_STRBYTES];
static int dummy_ok;
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

/* A hash of a random password, made once: verifying anything against it fails, at the
 * price of a real verification. */
static void dummy_init(void)
{
    char pw[33];
    unsigned char raw[16];
    if (sodium_init() < 0)
        return;
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(pw, sizeof(pw), raw, sizeof(raw));
    dummy_ok = crypto_pwhash_str_alg(dummy_hash, pw, strlen(pw), HD_PASSWORD_OPSLIMIT,
                                     HD_PASSWORD_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) == 0;
    sodium_memzero(pw, sizeof(pw));
}

int hd_password_validate(const char *field, const char *pw, hd_err *err)
{
    size_t n = pw ? strlen(pw) : 0;
    if (n < HD_PASSWORD_MIN)
        return hd_err_set(err, HD_EINVAL, "%s: shorter than %d bytes", field, HD_PASSWORD_MIN);
    if (n > HD_PASSWORD_MAX)
        return hd_err_set(err, HD_EINVAL, "%s: longer than %d bytes", field, HD_PASSWORD_MAX);
    if (!hd_validate_utf8(pw, n))
        return hd_err_set(err, HD_EINVAL, "%s: not valid UTF-8", field);
    return HD_OK;
}

int hd_password_hash(char *out, size_t n, const char *pw, hd_err *err)
{
    if (n < crypto_pwhash_STRBYTES)
        return hd_err_set(err, HD_EINVAL, "password hash buffer: %zu bytes, need %d", n,
                          (int)crypto_pwhash_STRBYTES);
    if (sodium_init() < 0)
        return hd_err_set(err, HD_EINTERNAL, "libsodium: initialisation failed");
    if (crypto_pwhash_str_alg(out, pw, strlen(pw), HD_PASSWORD_OPSLIMIT, HD_PASSWORD_MEMLIMIT,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return hd_err_set(err, HD_ENOMEM, "password: argon2id could not allocate %zu bytes",
                          HD_PASSWORD_MEMLIMIT);
    return HD_OK;
}

int hd_password_verify(const char *hash, const char *pw)
{
    pthread_once(&dummy_once, dummy_init);
    size_t n = pw ? strlen(pw) : 0;
    if (!hash) {
        int same = dummy_ok && crypto_pwhash_str_verify(dummy_hash, pw ? pw : "", n) == 0;
        return same && 0;
    }
    return crypto_pwhash_str_verify(hash, pw ? pw : "", n) == 0;
}
