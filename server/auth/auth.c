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
#include "server/audit/audit.h"
#include "server/auth/password.h"
#include "server/auth/throttle.h"
#include "server/clock/clock.h"
#include "server/common/log.h"
#include "server/staff/staff.h"

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
    return hd_clock_now_ms();
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
    const char *action;    /* audit action ("token.issue", "auth.login") */
    int actor_kind;        /* helpdesk.v1.ActorKind of who issues it */
    uint64_t actor_id;
    uint64_t id;                /* out */
    int skipped;                /* out: bootstrap flag was already set */
    const char *clear_throttle; /* login: forget this email's failed attempts */
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
    if (arg->clear_throttle) {
        rc = hd_throttle_clear(txn, arg->clear_throttle, err);
        if (rc != HD_OK)
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
        if (rc != HD_OK)
            return rc;
    }
    return hd_audit_append(txn, arg->actor_kind, arg->actor_id,
                           arg->action ? arg->action : "token.issue", "token", arg->id, rec.name,
                           arg->now, err);
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

static int issue(hd_auth *a, const Helpdesk__V1__ApiToken *tmpl, const char *action, int actor_kind,
                 uint64_t actor_id, const char *clear_throttle, char *text, size_t n,
                 issue_arg *arg, hd_err *err)
{
    memset(arg, 0, sizeof(*arg));
    arg->clear_throttle = clear_throttle;
    arg->tmpl = tmpl;
    arg->action = action;
    arg->actor_kind = actor_kind;
    arg->actor_id = actor_id;
    arg->now = now_ms();
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
    return hd_auth_issue_by(a, tmpl, HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM, 0, text, n, id,
                            err);
}

int hd_auth_issue_by(hd_auth *a, const Helpdesk__V1__ApiToken *tmpl, int actor_kind,
                     uint64_t actor_id, char *text, size_t n, uint64_t *id, hd_err *err)
{
    issue_arg arg;
    int rc = issue(a, tmpl, NULL, actor_kind, actor_id, NULL, text, n, &arg, err);
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
    arg.action = "token.bootstrap";
    arg.actor_kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM;
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

/* For a staff member's token: refuses it once the member is deactivated or gone, and takes
 * the member's current role (a demotion applies at once). The bootstrap admin (principal 0)
 * has no record. */
static int staff_current(hd_txn *txn, hd_arena *arena, Helpdesk__V1__ApiToken *t, hd_err *err)
{
    if (t->principal_kind != HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_STAFF ||
        t->principal_id == 0)
        return HD_OK;
    Helpdesk__V1__Staff *s = NULL;
    int rc = hd_staff_get(txn, arena, t->principal_id, &s, err);
    if (rc == HD_ENOTFOUND || (rc == HD_OK && !s->active))
        return hd_err_set(err, HD_EUNAUTH, "staff member deactivated");
    if (rc == HD_OK)
        t->role = s->role;
    return rc;
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

    /* A token record (and a staff record) is small: one arena block. */
    hd_arena *arena = hd_arena_create(2048);
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
    if (rc == HD_OK)
        rc = staff_current(txn, arena, (Helpdesk__V1__ApiToken *)m, err);
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
    if (permission == HD_PERM_SELF)
        return who->kind != HD_PRINCIPAL_NONE;
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
    int actor_kind;
    uint64_t actor_id;
    hd_arena *arena;             /* result memory; NULL = no result wanted */
    Helpdesk__V1__ApiToken *out; /* the revoked record */
} revoke_arg;

/* Reads the record of token id through its 'i' entry into arena; *hash gets the hash. */
static int token_by_id(hd_txn *txn, hd_arena *arena, uint64_t id,
                       unsigned char hash[crypto_generichash_BYTES], Helpdesk__V1__ApiToken **out,
                       hd_err *err)
{
    hd_key k;
    id_key(&k, id);
    const void *v;
    size_t n;
    int rc = hd_store_get(txn, HD_STORE_TOKENS, &k, &v, &n, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "token %llu: no such token", (unsigned long long)id);
    if (rc != HD_OK)
        return rc;
    if (n != crypto_generichash_BYTES)
        return hd_err_set(err, HD_ECORRUPT, "token %llu: bad index entry", (unsigned long long)id);
    memcpy(hash, v, n);
    hash_key(&k, hash);
    ProtobufCMessage *m = NULL;
    rc = hd_store_get_msg(txn, HD_STORE_TOKENS, &k, &helpdesk__v1__api_token__descriptor, arena, &m,
                          err);
    if (rc == HD_OK)
        *out = (Helpdesk__V1__ApiToken *)m;
    return rc;
}

static int revoke_apply(hd_txn *txn, void *argp, hd_err *err)
{
    revoke_arg *arg = argp;
    unsigned char hash[crypto_generichash_BYTES];
    hd_arena *arena = arg->arena ? arg->arena : hd_arena_create(1024);
    if (!arena)
        return hd_err_set(err, HD_ENOMEM, "auth: out of memory");
    Helpdesk__V1__ApiToken *t = NULL;
    int rc = token_by_id(txn, arena, arg->id, hash, &t, err);
    if (rc == HD_OK && !t->revoke_time) {
        Google__Protobuf__Timestamp *when = hd_arena_alloc(arena, sizeof(*when));
        if (!when) {
            rc = hd_err_set(err, HD_ENOMEM, "auth: out of memory");
            goto out;
        }
        google__protobuf__timestamp__init(when);
        when->seconds = arg->now / 1000;
        when->nanos = (int32_t)(arg->now % 1000) * 1000000;
        t->revoke_time = when;
        hd_key k;
        hash_key(&k, hash);
        rc = hd_store_put_msg(txn, HD_STORE_TOKENS, &k, &t->base, 0, err);
        if (rc == HD_OK)
            rc = hd_audit_append(txn, arg->actor_kind, arg->actor_id, "token.revoke", "token",
                                 arg->id, t->name, arg->now, err);
    }
    if (rc == HD_OK && arg->arena)
        arg->out = t;
out:
    if (!arg->arena)
        hd_arena_destroy(arena);
    return rc;
}

int hd_auth_revoke(hd_auth *a, uint64_t id, hd_err *err)
{
    return hd_auth_revoke_by(a, id, HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM, 0, NULL, NULL,
                             err);
}

int hd_auth_revoke_by(hd_auth *a, uint64_t id, int actor_kind, uint64_t actor_id, hd_arena *arena,
                      Helpdesk__V1__ApiToken **out, hd_err *err)
{
    revoke_arg arg = {
        .id = id, .now = now_ms(), .actor_kind = actor_kind, .actor_id = actor_id, .arena = arena};
    int rc = hd_store_write(a->store, revoke_apply, &arg, err);
    if (rc == HD_OK && out)
        *out = arg.out;
    return rc;
}

int hd_auth_token_get(hd_auth *a, hd_arena *arena, uint64_t id, Helpdesk__V1__ApiToken **out,
                      hd_err *err)
{
    hd_txn *txn;
    unsigned char hash[crypto_generichash_BYTES];
    int rc = hd_store_read_begin(a->store, &txn, err);
    if (rc != HD_OK)
        return rc;
    rc = token_by_id(txn, arena, id, hash, out, err);
    hd_store_read_end(txn);
    return rc;
}

/* --- listing ----------------------------------------------------------------------- */

typedef struct list_ctx {
    hd_txn *txn;
    hd_arena *arena;
    bool include_inactive;
    int64_t now;
    Helpdesk__V1__ApiToken **v;
    size_t n, cap;
    hd_err *err;
} list_ctx;

static int list_entry(void *argp, const void *key, size_t klen, const void *val, size_t vlen)
{
    list_ctx *c = argp;
    (void)key;
    (void)klen;
    if (vlen != crypto_generichash_BYTES)
        return hd_err_set(c->err, HD_ECORRUPT, "tokens: bad index entry");
    hd_key k;
    hash_key(&k, val);
    ProtobufCMessage *m = NULL;
    int rc = hd_store_get_msg(c->txn, HD_STORE_TOKENS, &k, &helpdesk__v1__api_token__descriptor,
                              c->arena, &m, c->err);
    if (rc != HD_OK)
        return rc;
    Helpdesk__V1__ApiToken *t = (Helpdesk__V1__ApiToken *)m;
    bool live = !t->revoke_time && (!t->expire_time || ts_ms(t->expire_time) > c->now);
    if (!live && !c->include_inactive)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        Helpdesk__V1__ApiToken **v = hd_arena_alloc(c->arena, cap * sizeof(*v));
        if (!v)
            return hd_err_set(c->err, HD_ENOMEM, "auth: out of memory");
        if (c->n)
            memcpy(v, c->v, c->n * sizeof(*v));
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = t;
    return 0;
}

int hd_auth_list(hd_auth *a, hd_arena *arena, bool include_inactive, Helpdesk__V1__ApiToken ***out,
                 size_t *n, hd_err *err)
{
    list_ctx c = {
        .arena = arena, .include_inactive = include_inactive, .now = now_ms(), .err = err};
    hd_key prefix;
    hd_key_init(&prefix);
    hd_key_u8(&prefix, 'i');
    hd_store_range range = {.prefix = &prefix};
    int rc = hd_store_read_begin(a->store, &c.txn, err);
    if (rc != HD_OK)
        return rc;
    int64_t got = hd_store_scan(c.txn, HD_STORE_TOKENS, &range, list_entry, &c, err);
    hd_store_read_end(c.txn);
    if (got < 0)
        return (int)got;
    *out = c.v;
    *n = c.n;
    return HD_OK;
}

/* --- login ------------------------------------------------------------------------- */

typedef struct fail_arg {
    const char *email;
    const char *peer;
    int64_t now;
} fail_arg;

static int login_failed_apply(hd_txn *txn, void *argp, hd_err *err)
{
    fail_arg *f = argp;
    int rc = hd_throttle_fail(txn, f->email, f->peer, f->now, err);
    if (rc != HD_OK)
        return rc;
    return hd_audit_append(txn, HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM, 0, "auth.login_failed",
                           "staff", 0, f->email, f->now, err);
}

/* Reads the staff member and password hash for email into arena, and the throttle delay
 * still owed by email/peer into *wait_ms; leaves *hash NULL and *staff NULL when either is
 * missing. */
static int login_lookup(hd_auth *a, hd_arena *arena, const char *email, const char *peer,
                        Helpdesk__V1__Staff **staff, const char **hash, int64_t *wait_ms,
                        hd_err *err)
{
    *staff = NULL;
    *hash = NULL;
    hd_txn *txn;
    int rc = hd_store_read_begin(a->store, &txn, err);
    if (rc != HD_OK)
        return rc;
    rc = hd_throttle_wait(txn, email, peer, now_ms(), wait_ms, err);
    uint64_t id = 0;
    if (rc == HD_OK && *wait_ms == 0)
        rc = hd_staff_find_email(txn, email, &id, err);
    if (rc == HD_OK && *wait_ms == 0)
        rc = hd_staff_get(txn, arena, id, staff, err);
    if (rc == HD_OK && *wait_ms == 0) {
        hd_key k;
        ProtobufCMessage *m = NULL;
        rc = hd_store_get_msg(txn, HD_STORE_STAFF, hd_staff_key_credential(&k, id),
                              &helpdesk__v1__staff_credential__descriptor, arena, &m, err);
        if (rc == HD_OK)
            *hash = ((Helpdesk__V1__StaffCredential *)m)->password_hash;
    }
    hd_store_read_end(txn);
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(err);
        rc = HD_OK;
    }
    return rc;
}

int hd_auth_login(hd_auth *a, hd_arena *arena, const char *email, const char *password,
                  int64_t ttl_ms, char *text, size_t n, Helpdesk__V1__ApiToken **info, hd_err *err)
{
    return hd_auth_login_from(a, arena, email, password, NULL, ttl_ms, text, n, info, err);
}

int hd_auth_login_from(hd_auth *a, hd_arena *arena, const char *email, const char *password,
                       const char *peer, int64_t ttl_ms, char *text, size_t n,
                       Helpdesk__V1__ApiToken **info, hd_err *err)
{
    Helpdesk__V1__Staff *staff = NULL;
    const char *hash = NULL;
    size_t pn = password ? strlen(password) : 0;
    int64_t wait_ms = 0;
    int rc = HD_OK;
    char shown[HD_STAFF_EMAIL_MAX + 1];
    snprintf(shown, sizeof(shown), "%s", email ? email : "");
    if (!email || strlen(email) > HD_STAFF_EMAIL_MAX || pn > HD_PASSWORD_MAX)
        hash = NULL; /* still pay for one verification below */
    else
        rc = login_lookup(a, arena, email, peer, &staff, &hash, &wait_ms, err);
    if (rc != HD_OK)
        return rc;
    /* A throttled attempt is refused before the (costly) verification and not counted. */
    if (wait_ms > 0)
        return hd_err_set(err, HD_EFULL,
                          "login: too many failed attempts for this account or address; retry "
                          "in %lld s",
                          (long long)((wait_ms + 999) / 1000));
    /* Always one argon2id verification: against the real hash, or a dummy one. */
    int ok = hd_password_verify(hash, pn <= HD_PASSWORD_MAX ? password : "");
    if (!ok || !staff || !staff->active) {
        fail_arg f = {.email = shown, .peer = peer, .now = now_ms()};
        rc = hd_store_write(a->store, login_failed_apply, &f, err);
        if (rc != HD_OK)
            return rc;
        return hd_err_set(err, HD_EUNAUTH, "login: wrong email or password");
    }
    Helpdesk__V1__ApiToken tmpl = HELPDESK__V1__API_TOKEN__INIT;
    Google__Protobuf__Timestamp exp = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    int64_t until = now_ms() + (ttl_ms > 0 ? ttl_ms : HD_AUTH_SESSION_TTL_MS);
    exp.seconds = until / 1000;
    exp.nanos = (int32_t)(until % 1000) * 1000000;
    tmpl.name = hd_arena_printf(arena, "session %s", staff->email);
    tmpl.principal_kind = HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_STAFF;
    tmpl.principal_id = staff->id;
    tmpl.role = staff->role;
    tmpl.expire_time = &exp;
    if (!tmpl.name)
        return hd_err_set(err, HD_ENOMEM, "auth: out of memory");
    issue_arg arg;
    rc = issue(a, &tmpl, "auth.login", HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, staff->id, shown,
               text, n, &arg, err);
    if (rc != HD_OK)
        return rc;
    if (info)
        rc = hd_auth_token_get(a, arena, arg.id, info, err);
    return rc;
}
