/* Content-addressed attachment store (see blob.h). */
#include "server/mail/blob.h"

#include <string.h>

#include <sodium.h>

#include "server/mail/keys.h"

bool hd_blob_hex_ok(const char *s)
{
    if (!s || strlen(s) != HD_BLOB_HEX_LEN)
        return false;
    for (size_t i = 0; i < HD_BLOB_HEX_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

void hd_blob_hash(char hex[HD_BLOB_HEX_LEN + 1], const void *data, size_t len)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(hex, HD_BLOB_HEX_LEN + 1, h, sizeof h);
}

int hd_blob_put(hd_txn *txn, const void *data, size_t len, char hex[HD_BLOB_HEX_LEN + 1],
                hd_err *err)
{
    hd_key k;
    if (len == 0)
        return hd_err_set(err, HD_EINVAL, "data: empty");
    if (len > HD_BLOB_MAX)
        return hd_err_set(err, HD_EINVAL, "data: %zu bytes, larger than the %u-byte limit", len,
                          HD_BLOB_MAX);
    hd_blob_hash(hex, data, len);
    int rc = hd_store_put(txn, HD_STORE_MAILSTATE, hd_mailkey_blob(&k, hex), data, len,
                          HD_STORE_NOOVERWRITE, err);
    if (rc == HD_EEXIST) {
        hd_err_clear(err);
        return HD_OK;
    }
    return rc;
}

typedef struct upload_args {
    const void *data;
    size_t len;
    char *hex;
} upload_args;

static int upload_apply(hd_txn *txn, void *arg, hd_err *err)
{
    upload_args *u = arg;
    return hd_blob_put(txn, u->data, u->len, u->hex, err);
}

int hd_blob_upload(hd_store *s, const void *data, size_t len, char hex[HD_BLOB_HEX_LEN + 1],
                   hd_err *err)
{
    if (len == 0)
        return hd_err_set(err, HD_EINVAL, "data: empty");
    if (len > HD_BLOB_MAX)
        return hd_err_set(err, HD_EINVAL, "data: %zu bytes, larger than the %u-byte limit", len,
                          HD_BLOB_MAX);
    upload_args u = {data, len, hex};
    return hd_store_write(s, upload_apply, &u, err);
}

int hd_blob_get(hd_txn *txn, const char *hex, const void **data, size_t *len, hd_err *err)
{
    hd_key k;
    if (!hd_blob_hex_ok(hex))
        return hd_err_set(err, HD_EINVAL, "sha256: not 64 lower-case hex digits");
    int rc = hd_store_get(txn, HD_STORE_MAILSTATE, hd_mailkey_blob(&k, hex), data, len, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "attachment %s: not stored", hex);
    return rc;
}
