/* Token issue, keyed hashing and the per-call check. The TOKENS table holds two kinds of
 * entries: 'h' + BLAKE2b-256(key, secret) -> ApiToken, and 'i' + id -> the hash, so a token
 * can be revoked by id without its secret. */
#include "server/auth/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "server/api/perm.h"
#include "server/common/log.h"

#define KEY_SETTING       "token_hash_key"
#define BOOTSTRAP_SETTING "bootstrap_admin_token"
#define TOKEN_PREFIX      "hd_"
#define SECRET_BYTES      32

struct hd_auth {
    hd_store *store;
    unsigned char key[crypto_generichash_KEYBYTES];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void setting_key(hd_key *k, const char *name)
{
    hd_key_init(k);
    hd_key_str(k, name);
}

static void hash_key(hd_key *k, const unsigned char hash[crypto_generichash_BYTES])
{
    hd_key_init(k);
    hd_key_u8(k, 'h');
    hd_key_bytes(k, hash, crypto_generichash_BYTES);
}

static void id_key(hd_key *k, uint64_t id)
{
    hd_key_init(k);
    hd_key_u8(k, 'i');
    hd_key_u64(k, id);
}

/* --- the hashing key --------------------------------------------------------------- */

typedef struct key_arg {
    unsigned char fresh[crypto_generichash_KEYBYTES]; /* used when none is stored */
    unsigned char out[crypto_generichash_KEYBYTES];
} key_arg;

static int key_apply(hd_txn *txn, void *argp, hd_err *err)
{
    key_arg *arg = argp;
    hd_key k;
    setting_key(&k, KEY_SETTING);
    const void *v;
    size_t n;
    int rc = hd_store_get(txn, HD_STORE_SETTINGS, &k, &v, &n, err);
    if (rc == HD_OK) {
        if (n != sizeof(arg->out))
            return hd_err_set(err, HD_ECORRUPT, "settings/%s: %zu bytes, want %zu", KEY_SETTING, n,
                              sizeof(arg->out));
        memcpy(arg->out, v, n);
        return HD_OK;
    }
    if (rc != HD_ENOTFOUND)
        return rc;
    memcpy(arg->out, arg->fresh, sizeof(arg->out));
    return hd_store_put(txn, HD_STORE_SETTINGS, &k, arg->out, sizeof(arg->out), 0, err);
}

int hd_auth_open(hd_auth **out, hd_store *store, hd_err *err)
{
    *out = NULL;
    if (sodium_init() < 0)
        return hd_err_set(err, HD_EINTERNAL, "libsodium: initialisation failed");
    hd_auth *a = calloc(1, sizeof(*a));
    if (!a)
        return hd_err_set(err, HD_ENOMEM, "auth: out of memory");
    a->store = store;
    key_arg arg;
    randombytes_buf(arg.fresh, sizeof(arg.fresh));
    int rc = hd_store_write(store, key_apply, &arg, err);
    if (rc != HD_OK)
        goto fail;
    memcpy(a->key, arg.out, sizeof(a->key));
    sodium_memzero(&arg, sizeof(arg));
    *out = a;
    return HD_OK;
fail:
    sodium_memzero(&arg, sizeof(arg));
    free(a);
    return rc;
}

void hd_auth_destroy(hd_auth *a)
{
    if (!a)
        return;
    sodium_memzero(a->key, sizeof(a->key));
    free(a);
}

/* Hashes the secret text of a token. Returns 0, or HD_EUNAUTH when text is not of our
 * token form (so malformed tokens never reach the store). */
static int token_hash(const hd_auth *a, const char *text,
                      unsigned char out[crypto_generichash_BYTES])
{
    size_t n = strlen(text);
    size_t want =
        strlen(TOKEN_PREFIX) +
        sodium_base64_ENCODED_LEN(SECRET_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1;
    if (n != want || strncmp(text, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0)
        return HD_EUNAUTH;
    crypto_generichash(out, crypto_generichash_BYTES, (const unsigned char *)text, n, a->key,
                       sizeof(a->key));
    return HD_OK;
}

/* --- issuing ----------------------------------------------------------------------- */

typedef struct issue_arg {
    const Helpdesk__V1__ApiToken *tmpl;
    unsigned char hash[crypto_generichash_BYTES];
    int64_t now;
    const char *bootstrap; /* when set: settings flag to check and set in the same txn */
    uint64_t id;           /* out */
    int skipped;           /* out: bootstrap flag was already set */
} issue_arg;

static int issue_apply(hd_txn *txn, void *argp, hd_err *err)
{
    issue_arg *arg = argp;
    hd_key k;
    int rc;
    arg->skipped = 0;
    if (arg->bootstrap) {
        const void *v;
        size_t n;
        setting_key(&k, arg->bootstrap);
        rc = hd_store_get(txn, HD_STORE_SETTINGS, &k, &v, &n, err);
        if (rc == HD_OK) {
            arg->skipped = 1;
            return HD_OK;
        }
        if (rc != HD_ENOTFOUND)
            return rc;
    }
    rc = hd_store_seq_next(txn, "token", &arg->id, err);
    if (rc != HD_OK)
        return rc;
    Helpdesk__V1__ApiToken rec = *arg->tmpl;
    Google__Protobuf__Timestamp created = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    created.seconds = arg->now / 1000;
    created.nanos = (int32_t)(arg->now % 1000) * 1000000;
    rec.id = arg->id;
    rec.create_time = &created;
    rec.revoke_time = NULL;
    hash_key(&k, arg->hash);
    rc = hd_store_put_msg(txn, HD_STORE_TOKENS, &k, &rec.base, HD_STORE_NOOVERWRITE, err);
    if (rc != HD_OK)
        return rc;
    id_key(&k, arg->id);
    rc = hd_store_put(txn, HD_STORE_TOKENS, &k, arg->hash, sizeof(arg->hash), 0, err);
    if (rc != HD_OK)
        return rc;
    if (arg->bootstrap) {
        setting_key(&k, arg->bootstrap);
        uint64_t be = arg->id;
        rc = hd_store_put(txn, HD_STORE_SETTINGS, &k, &be, sizeof(be), 0, err);
    }
    return rc;
}

static int new_secret(const hd_auth *a, char *text, size_t n, unsigned char hash[], hd_err *err)
{
    unsigned char secret[SECRET_BYTES];
    char b64[sodium_base64_ENCODED_LEN(SECRET_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    if (n < HD_AUTH_TOKEN_TEXT_MAX)
        return hd_err_set(err, HD_EINVAL, "token buffer: %zu bytes, need %d", n,
                          HD_AUTH_TOKEN_TEXT_MAX);
    randombytes_buf(secret, sizeof(secret));
    sodium_bin2base64(b64, sizeof(b64), secret, sizeof(secret),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(secret, sizeof(secret));
    snprintf(text, n, "%s%s", TOKEN_PREFIX, b64);
    sodium_memzero(b64, sizeof(b64));
    return token_hash(a, text, hash) == HD_OK
               ? HD_OK
               : hd_err_set(err, HD_EINTERNAL, "token: generated secret did not verify");
}

static int issue(hd_auth *a, const Helpdesk__V1__ApiToken *tmpl, const char *bootstrap, char *text,
                 size_t n, issue_arg *arg, hd_err *err)
{
    memset(arg, 0, sizeof(*arg));
    arg->tmpl = tmpl;
    arg->now = now_ms();
    arg->bootstrap = bootstrap;
    int rc = new_secret(a, text, n, arg->hash, err);
    if (rc != HD_OK)
        return rc;
    rc = hd_store_write(a->store, issue_apply, arg, err);
    if (rc != HD_OK)
        sodium_memzero(text, n);
    return rc;
}

int hd_auth_issue(hd_auth *a, const Helpdesk__V1__ApiToken *tmpl, char *text, size_t n,
                  uint64_t *id, hd_err *err)
{
    issue_arg arg;
    int rc = issue(a, tmpl, NULL, text, n, &arg, err);
    if (rc == HD_OK && id)
        *id = arg.id;
    return rc;
}

/* Writes text + "\n" to path with mode 0600 through a temp file, fsync and rename. */
static int write_secret_file(const char *path, const char *text, hd_err *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return hd_err_set(err, HD_EINVAL, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return hd_err_set(err, HD_EIO, "%s: %s", tmp, strerror(errno));
    size_t len = strlen(text);
    int ok = fchmod(fd, 0600) == 0 && write(fd, text, len) == (ssize_t)len &&
             write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            saved = errno;
        unlink(tmp);
        return hd_err_set(err, HD_EIO, "%s: %s", path, strerror(saved));
    }
    return HD_OK;
}

int hd_auth_bootstrap(hd_auth *a, const char *token_file, char *text, size_t n, int *created,
                      hd_err *err)
{
    *created = 0;
    /* Cheap check first so restarts do not write the file again. */
    hd_txn *txn;
    int rc = hd_store_read_begin(a->store, &txn, err);
    if (rc != HD_OK)
        return rc;
    hd_key k;
    setting_key(&k, BOOTSTRAP_SETTING);
    const void *v;
    size_t vn;
    rc = hd_store_get(txn, HD_STORE_SETTINGS, &k, &v, &vn, err);
    hd_store_read_end(txn);
    if (rc == HD_OK)
        return HD_OK;
    if (rc != HD_ENOTFOUND)
        return rc;

    Helpdesk__V1__ApiToken tmpl = HELPDESK__V1__API_TOKEN__INIT;
    tmpl.name = (char *)"bootstrap admin";
    tmpl.principal_kind = HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_STAFF;
    tmpl.role = HELPDESK__V1__ROLE__ROLE_ADMIN;
    /* The file is written before the commit: if the commit fails or the process dies, the
     * flag is unset and the next start writes a new token over the unusable one. */
    issue_arg arg;
    memset(&arg, 0, sizeof(arg));
    arg.tmpl = &tmpl;
    arg.now = now_ms();
    arg.bootstrap = BOOTSTRAP_SETTING;
    rc = new_secret(a, text, n, arg.hash, err);
    if (rc != HD_OK)
        return rc;
    rc = write_secret_file(token_file, text, err);
    if (rc == HD_OK)
        rc = hd_store_write(a->store, issue_apply, &arg, err);
    if (rc == HD_OK && arg.skipped) {
        /* Another process bootstrapped between our check and our write: impossible with
         * one server per data dir, but never print a token that does not work. */
        sodium_memzero(text, n);
        return hd_err_set(err, HD_ESTATE, "bootstrap token already exists");
    }
    if (rc != HD_OK) {
        sodium_memzero(text, n);
        return rc;
    }
    *created = 1;
    hd_log(HD_LOG_INFO, "bootstrap_token", "token_id=%llu file=%s", (unsigned long long)arg.id,
           token_file);
    return HD_OK;
}

/* --- checking ---------------------------------------------------------------------- */

static int64_t ts_ms(const Google__Protobuf__Timestamp *t)
{
    return t->seconds * 1000 + t->nanos / 1000000;
}

int hd_auth_check(void *ud, const char *token, uint32_t permission, hd_identity *who, hd_err *err)
{
    hd_auth *a = ud;
    unsigned char hash[crypto_generichash_BYTES];
    if (!token || !*token)
        return hd_err_set(err, HD_EUNAUTH,
                          "missing token: send metadata 'authorization: Bearer <token>'");
    if (token_hash(a, token, hash) != HD_OK)
        return hd_err_set(err, HD_EUNAUTH, "invalid token");

    /* A token record is small: unpack into a stack buffer through a fixed arena. */
    hd_arena *arena = hd_arena_create(1024);
    if (!arena)
        return hd_err_set(err, HD_ENOMEM, "auth: out of memory");
    hd_txn *txn = NULL;
    int rc = hd_store_read_begin(a->store, &txn, err);
    if (rc != HD_OK)
        goto out;
    hd_key k;
    hash_key(&k, hash);
    ProtobufCMessage *m = NULL;
    rc = hd_store_get_msg(txn, HD_STORE_TOKENS, &k, &helpdesk__v1__api_token__descriptor, arena, &m,
                          err);
    hd_store_read_end(txn);
    if (rc == HD_ENOTFOUND) {
        rc = hd_err_set(err, HD_EUNAUTH, "invalid token");
        goto out;
    }
    if (rc != HD_OK)
        goto out;
    const Helpdesk__V1__ApiToken *t = (const Helpdesk__V1__ApiToken *)m;
    int64_t now = now_ms();
    if (t->revoke_time) {
        rc = hd_err_set(err, HD_EUNAUTH, "token revoked");
        goto out;
    }
    if (t->expire_time && ts_ms(t->expire_time) <= now) {
        rc = hd_err_set(err, HD_EUNAUTH, "token expired");
        goto out;
    }
    memset(who, 0, sizeof(*who));
    switch (t->principal_kind) {
    case HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_STAFF:
        who->kind = HD_PRINCIPAL_STAFF;
        break;
    case HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_SERVICE:
        who->kind = HD_PRINCIPAL_SERVICE;
        break;
    case HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_CUSTOMER:
        who->kind = HD_PRINCIPAL_CUSTOMER;
        break;
    default:
        rc = hd_err_set(err, HD_EUNAUTH, "token has no principal");
        goto out;
    }
    who->id = t->principal_id;
    who->role = (int)t->role;
    who->scopes = hd_perm_scopes_from_names((const char *const *)t->scopes, t->n_scopes);
    snprintf(who->name, sizeof(who->name), "%s", t->name ? t->name : "");
    if (!hd_auth_allows(who, permission))
        rc = hd_err_set(err, HD_EPERM, "token '%s' lacks permission %s", who->name,
                        hd_perm_name(permission));
out:
    hd_arena_destroy(arena);
    return rc;
}

int hd_auth_allows(const hd_identity *who, uint32_t permission)
{
    if (permission == HD_RPC_OPEN)
        return 1;
    switch (who->kind) {
    case HD_PRINCIPAL_STAFF:
        return hd_perm_role_allows(who->role, permission);
    case HD_PRINCIPAL_SERVICE:
        return (who->scopes & hd_perm_bit(permission)) != 0;
    case HD_PRINCIPAL_CUSTOMER:
        return hd_perm_customer_allows(permission);
    default:
        return 0;
    }
}

/* --- revoking ---------------------------------------------------------------------- */

typedef struct revoke_arg {
    uint64_t id;
    int64_t now;
} revoke_arg;

static int revoke_apply(hd_txn *txn, void *argp, hd_err *err)
{
    revoke_arg *arg = argp;
    hd_key k;
    id_key(&k, arg->id);
    const void *v;
    size_t n;
    int rc = hd_store_get(txn, HD_STORE_TOKENS, &k, &v, &n, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "token %llu: no such token",
                          (unsigned long long)arg->id);
    if (rc != HD_OK)
        return rc;
    if (n != crypto_generichash_BYTES)
        return hd_err_set(err, HD_ECORRUPT, "token %llu: bad index entry",
                          (unsigned long long)arg->id);
    unsigned char hash[crypto_generichash_BYTES];
    memcpy(hash, v, n);
    hash_key(&k, hash);
    hd_arena *arena = hd_arena_create(1024);
    if (!arena)
        return hd_err_set(err, HD_ENOMEM, "auth: out of memory");
    ProtobufCMessage *m = NULL;
    rc = hd_store_get_msg(txn, HD_STORE_TOKENS, &k, &helpdesk__v1__api_token__descriptor, arena, &m,
                          err);
    if (rc == HD_OK) {
        Helpdesk__V1__ApiToken *t = (Helpdesk__V1__ApiToken *)m;
        Google__Protobuf__Timestamp when = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        when.seconds = arg->now / 1000;
        when.nanos = (int32_t)(arg->now % 1000) * 1000000;
        if (!t->revoke_time)
            t->revoke_time = &when;
        rc = hd_store_put_msg(txn, HD_STORE_TOKENS, &k, &t->base, 0, err);
    }
    hd_arena_destroy(arena);
    return rc;
}

int hd_auth_revoke(hd_auth *a, uint64_t id, hd_err *err)
{
    revoke_arg arg = {.id = id, .now = now_ms()};
    return hd_store_write(a->store, revoke_apply, &arg, err);
}
