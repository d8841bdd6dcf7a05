/* Opening and closing the store, the table list, typed get/put/del/scan on transactions,
 * sequences, counts and statistics. The writer thread lives in writer.c. */
#include "server/store/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "server/common/log.h"

#define HD_STORE_DEFAULT_MAP_START   (UINT64_C(8) << 20)
#define HD_STORE_DEFAULT_MAX_READERS 256u
#define HD_STORE_DEFAULT_MAX_BATCH   1024u
#define HD_STORE_MIN_MAP             (UINT64_C(32) << 10)

static const char *const table_names[HD_STORE_TABLE_COUNT] = {
#define HD__STORE_TABLE_NAME(id, name) name,
    HD_STORE_TABLES(HD__STORE_TABLE_NAME)
#undef HD__STORE_TABLE_NAME
};

const char *hd_store_table_name(hd_table t)
{
    if ((int)t < 0 || t >= HD_STORE_TABLE_COUNT)
        return "?";
    return table_names[t];
}

uint64_t hd_store__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int hd_store__mdb_err(hd_txn *t, int rc, hd_err *err, const char *what)
{
    int code;
    switch (rc) {
    case MDB_NOTFOUND:
        code = HD_ENOTFOUND;
        break;
    case MDB_KEYEXIST:
        code = HD_EEXIST;
        break;
    case MDB_MAP_FULL:
        if (t)
            t->map_full = 1;
        code = HD_EFULL;
        break;
    case MDB_TXN_FULL:
        if (t)
            t->txn_full = 1;
        code = HD_EFULL;
        break;
    case MDB_READERS_FULL:
        code = HD_EFULL;
        break;
    case MDB_BAD_VALSIZE:
        code = HD_ETOOBIG;
        break;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_INCOMPATIBLE:
        code = HD_ECORRUPT;
        break;
    case ENOMEM:
        code = HD_ENOMEM;
        break;
    case EACCES:
        code = HD_EPERM;
        break;
    default:
        code = HD_EIO;
        break;
    }
    return hd_err_set(err, code, "%s: %s", what, mdb_strerror(rc));
}

static uint64_t default_map_max(void)
{
    if (SIZE_MAX > UINT32_MAX)
        return UINT64_C(64) << 30;
    return UINT64_C(1) << 30;
}

int hd_store__read_version(MDB_txn *txn, MDB_dbi meta, const char *path, uint32_t *out, hd_err *err)
{
    hd_key k;
    hd_key_init(&k);
    hd_key_str(&k, HD_STORE__META_VERSION);
    MDB_val key = {k.len, k.buf}, val;
    int rc = mdb_get(txn, meta, &key, &val);
    if (rc == MDB_NOTFOUND)
        return hd_err_set(err, HD_ECORRUPT, "%s: meta table has no schema version record", path);
    if (rc)
        return hd_store__mdb_err(NULL, rc, err, path);
    if (val.mv_size != 4)
        return hd_err_set(err, HD_ECORRUPT, "%s: schema version record is %zu bytes, not 4", path,
                          val.mv_size);
    const unsigned char *b = val.mv_data;
    *out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return 0;
}

/* Checks the meta record, initialises a fresh store or migrates an older one, and opens
 * every table, all in one write transaction. */
static int open_schema(hd_store *s, hd_err *err)
{
    MDB_txn *txn = NULL;
    MDB_dbi main_dbi, meta;
    MDB_stat st;
    uint32_t version = 0;
    int fresh = 0;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc) {
        hd_store__mdb_err(NULL, rc, err, s->path);
        goto fail;
    }
    rc = mdb_dbi_open(txn, table_names[HD_STORE_META], 0, &meta);
    if (rc == MDB_NOTFOUND) {
        rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
        if (rc == 0)
            rc = mdb_stat(txn, main_dbi, &st);
        if (rc) {
            hd_store__mdb_err(NULL, rc, err, s->path);
            goto fail;
        }
        if (st.ms_entries > 0) {
            hd_err_set(err, HD_ECORRUPT,
                       "%s: LMDB environment without a Helpdesk meta table (%zu foreign "
                       "entries): not a Helpdesk data dir",
                       s->path, st.ms_entries);
            goto fail;
        }
        fresh = 1;
    } else if (rc == MDB_INCOMPATIBLE) {
        hd_err_set(err, HD_ECORRUPT, "%s: 'meta' is not a Helpdesk meta table", s->path);
        goto fail;
    } else if (rc) {
        hd_store__mdb_err(NULL, rc, err, s->path);
        goto fail;
    } else {
        rc = hd_store__read_version(txn, meta, s->path, &version, err);
        if (rc)
            goto fail;
        if (version > HD_STORE_SCHEMA_VERSION) {
            hd_err_set(err, HD_EVERSION,
                       "%s: store has schema version %u, newer than this binary's %u; run "
                       "a newer helpdeskd",
                       s->path, version, HD_STORE_SCHEMA_VERSION);
            goto fail;
        }
        if (version == 0) {
            hd_err_set(err, HD_ECORRUPT, "%s: schema version 0 is invalid", s->path);
            goto fail;
        }
    }
    for (int i = 0; i < HD_STORE_TABLE_COUNT; i++) {
        rc = mdb_dbi_open(txn, table_names[i], MDB_CREATE, &s->dbi[i]);
        if (rc) {
            hd_store__mdb_err(NULL, rc, err, table_names[i]);
            hd_err_set(err, err->code, "%s: opening table %s: %s", s->path, table_names[i],
                       mdb_strerror(rc));
            goto fail;
        }
    }
    hd_txn t = {.s = s, .txn = txn, .write = 1};
    if (fresh) {
        hd_key k;
        unsigned char b[4];
        uint32_t v = HD_STORE_SCHEMA_VERSION;
        b[0] = (unsigned char)(v >> 24);
        b[1] = (unsigned char)(v >> 16);
        b[2] = (unsigned char)(v >> 8);
        b[3] = (unsigned char)v;
        hd_key_init(&k);
        hd_key_str(&k, HD_STORE__META_VERSION);
        rc = hd_store_put(&t, HD_STORE_META, &k, b, 4, 0, err);
        if (rc)
            goto fail;
        version = HD_STORE_SCHEMA_VERSION;
        hd_log(HD_LOG_INFO, "store_initialised", "path=%s schema_version=%u", s->path, version);
    } else if (version < HD_STORE_SCHEMA_VERSION) {
        rc = hd_store__migrate(&t, version, err);
        if (rc) {
            hd_err_set(err, err->code, "%s: migrating from schema version %u: %s", s->path, version,
                       err->detail);
            goto fail;
        }
        hd_log(HD_LOG_INFO, "store_migrated", "path=%s from=%u to=%u", s->path, version,
               HD_STORE_SCHEMA_VERSION);
        version = HD_STORE_SCHEMA_VERSION;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc) {
        hd_store__mdb_err(NULL, rc, err, s->path);
        goto fail;
    }
    s->schema_version = version;
    return 0;
fail:
    mdb_txn_abort(txn);
    return err && err->code ? err->code : HD_EIO;
}

static void reader_check(hd_store *s)
{
    int dead = 0;
    int rc = mdb_reader_check(s->env, &dead);
    if (rc)
        hd_log(HD_LOG_WARN, "store_reader_check_failed", "path=%s error=\"%s\"", s->path,
               mdb_strerror(rc));
    else
        hd_log(dead ? HD_LOG_WARN : HD_LOG_INFO, "store_reader_check", "path=%s stale_cleared=%d",
               s->path, dead);
}

int hd_store_open(hd_store **out, const hd_store_opts *opts, hd_err *err)
{
    hd_store *s = NULL;
    int rc;
    *out = NULL;
    if (!opts || !opts->path || !opts->path[0])
        return hd_err_set(err, HD_EINVAL, "store: no data dir path");
    s = calloc(1, sizeof(*s));
    if (!s)
        return hd_err_set(err, HD_ENOMEM, "store: allocating");
    s->path = strdup(opts->path);
    s->map_size = opts->map_start ? opts->map_start : HD_STORE_DEFAULT_MAP_START;
    s->map_max = opts->map_max ? opts->map_max : default_map_max();
    s->max_batch = opts->max_batch ? opts->max_batch : HD_STORE_DEFAULT_MAX_BATCH;
    if (s->map_size < HD_STORE_MIN_MAP)
        s->map_size = HD_STORE_MIN_MAP;
    if (s->map_max < s->map_size)
        s->map_max = s->map_size;
    s->batch = calloc(s->max_batch, sizeof(*s->batch));
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->map_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->rpool_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (!s->path || !s->batch) {
        hd_err_set(err, HD_ENOMEM, "store: allocating");
        goto fail;
    }

    if (mkdir(s->path, 0700) != 0 && errno != EEXIST) {
        hd_err_set(err, errno == ENOENT ? HD_ENOTFOUND : HD_EIO, "%s: creating data dir: %s",
                   s->path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (stat(s->path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        hd_err_set(err, HD_EINVAL, "%s: not a directory", s->path);
        goto fail;
    }

    rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, HD_STORE_TABLE_COUNT + 4);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, opts->max_readers ? opts->max_readers
                                                              : HD_STORE_DEFAULT_MAX_READERS);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, (size_t)s->map_size);
    if (rc) {
        hd_store__mdb_err(NULL, rc, err, s->path);
        goto fail;
    }
    rc = mdb_env_open(s->env, s->path, MDB_NOTLS | (opts->unsafe_nosync ? MDB_NOSYNC : 0), 0600);
    if (rc == MDB_INVALID) {
        hd_err_set(err, HD_ECORRUPT, "%s/data.mdb: not an LMDB file (corrupt or foreign data)",
                   s->path);
        goto fail;
    }
    if (rc == MDB_VERSION_MISMATCH) {
        hd_err_set(err, HD_EVERSION, "%s/data.mdb: written by an incompatible LMDB version",
                   s->path);
        goto fail;
    }
    if (rc) {
        hd_err_set(err, rc == EACCES ? HD_EPERM : HD_EIO, "%s: opening LMDB: %s", s->path,
                   mdb_strerror(rc));
        goto fail;
    }
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    s->map_size = info.me_mapsize;
    if (s->map_max < s->map_size)
        s->map_max = s->map_size;
    reader_check(s);

    rc = open_schema(s, err);
    if (rc)
        goto fail;

    rc = pthread_create(&s->writer, NULL, hd_store__writer_main, s);
    if (rc) {
        hd_err_set(err, HD_ENOMEM, "%s: starting writer thread: %s", s->path, strerror(rc));
        goto fail;
    }
    s->writer_started = 1;
    hd_log(HD_LOG_INFO, "store_open",
           "path=%s schema_version=%u map_size=%llu map_max=%llu nosync=%d max_batch=%u", s->path,
           s->schema_version, (unsigned long long)s->map_size, (unsigned long long)s->map_max,
           opts->unsafe_nosync ? 1 : 0, s->max_batch);
    *out = s;
    return 0;
fail:
    hd_store_close(s);
    return err && err->code ? err->code : HD_EIO;
}

void hd_store_close(hd_store *s)
{
    if (!s)
        return;
    if (s->writer_started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->writer, NULL);
    }
    for (int i = 0; i < s->rpool_n; i++) {
        mdb_txn_abort(s->rpool[i]->txn);
        free(s->rpool[i]);
    }
    s->rpool_n = 0;
    if (s->env)
        mdb_env_close(s->env);
    pthread_mutex_destroy(&s->rpool_mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    pthread_rwlock_destroy(&s->map_lock);
    free(s->batch);
    free(s->path);
    free(s);
}

/* Applies a map size another process set (MDB_MAP_RESIZED). No transaction of this
 * process may be open, hence the exclusive lock. */
static void adopt_resized_map(hd_store *s)
{
    pthread_rwlock_wrlock(&s->map_lock);
    if (mdb_env_set_mapsize(s->env, 0) == 0) {
        MDB_envinfo info;
        mdb_env_info(s->env, &info);
        s->map_size = info.me_mapsize;
    }
    pthread_rwlock_unlock(&s->map_lock);
}

/* Pops a reset read txn and renews it under the map lock (held on success, as for a
 * fresh begin). Returns NULL when the pool is empty or the renewal failed (the txn is
 * then discarded and the caller begins a fresh one, which handles a resized map). */
static hd_txn *renew_pooled(hd_store *s)
{
    pthread_mutex_lock(&s->rpool_mu);
    hd_txn *t = s->rpool_n ? s->rpool[--s->rpool_n] : NULL;
    pthread_mutex_unlock(&s->rpool_mu);
    if (!t)
        return NULL;
    pthread_rwlock_rdlock(&s->map_lock);
    if (mdb_txn_renew(t->txn) == 0)
        return t;
    pthread_rwlock_unlock(&s->map_lock);
    mdb_txn_abort(t->txn);
    free(t);
    return NULL;
}

int hd_store_read_begin(hd_store *s, hd_txn **out, hd_err *err)
{
    *out = renew_pooled(s);
    if (*out)
        return 0;
    hd_txn *t = calloc(1, sizeof(*t));
    if (!t)
        return hd_err_set(err, HD_ENOMEM, "store: read txn");
    t->s = s;
    for (int attempt = 0;; attempt++) {
        pthread_rwlock_rdlock(&s->map_lock);
        int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn);
        if (rc == 0)
            break;
        pthread_rwlock_unlock(&s->map_lock);
        if (rc == MDB_MAP_RESIZED && attempt < 4) {
            adopt_resized_map(s);
            continue;
        }
        free(t);
        return hd_store__mdb_err(NULL, rc, err, "store: begin read txn");
    }
    *out = t;
    return 0;
}

void hd_store_read_end(hd_txn *t)
{
    if (!t)
        return;
    hd_store *s = t->s;
    mdb_txn_reset(t->txn); /* releases the snapshot before the map lock */
    pthread_rwlock_unlock(&s->map_lock);
    pthread_mutex_lock(&s->rpool_mu);
    int kept = s->rpool_n < HD_STORE__RPOOL_MAX;
    if (kept)
        s->rpool[s->rpool_n++] = t;
    pthread_mutex_unlock(&s->rpool_mu);
    if (!kept) {
        mdb_txn_abort(t->txn);
        free(t);
    }
}

static int check_key(const hd_key *k, hd_err *err)
{
    if (k->overflow)
        return hd_err_set(err, HD_ETOOBIG, "store: key longer than %d bytes", HD_KEY_MAX);
    if (k->len == 0)
        return hd_err_set(err, HD_EINVAL, "store: empty key");
    return 0;
}

static int check_table(hd_table t, hd_err *err)
{
    if ((int)t < 0 || t >= HD_STORE_TABLE_COUNT)
        return hd_err_set(err, HD_EINVAL, "store: no table %d", (int)t);
    return 0;
}

int hd_store_get(hd_txn *txn, hd_table t, const hd_key *key, const void **val, size_t *len,
                 hd_err *err)
{
    int rc = check_table(t, err);
    if (rc == 0)
        rc = check_key(key, err);
    if (rc)
        return rc;
    MDB_val k = {key->len, (void *)key->buf}, v;
    rc = mdb_get(txn->txn, txn->s->dbi[t], &k, &v);
    if (rc == MDB_NOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "%s: key not found", table_names[t]);
    if (rc)
        return hd_store__mdb_err(txn, rc, err, table_names[t]);
    *val = v.mv_data;
    *len = v.mv_size;
    return 0;
}

int hd_store_put(hd_txn *txn, hd_table t, const hd_key *key, const void *val, size_t len,
                 unsigned flags, hd_err *err)
{
    int rc = check_table(t, err);
    if (rc == 0)
        rc = check_key(key, err);
    if (rc)
        return rc;
    if (!txn->write)
        return hd_err_set(err, HD_EPERM, "%s: put in a read transaction", table_names[t]);
    MDB_val k = {key->len, (void *)key->buf}, v = {len, (void *)val};
    rc = mdb_put(txn->txn, txn->s->dbi[t], &k, &v,
                 (flags & HD_STORE_NOOVERWRITE) ? MDB_NOOVERWRITE : 0);
    if (rc == MDB_KEYEXIST)
        return hd_err_set(err, HD_EEXIST, "%s: key exists", table_names[t]);
    if (rc)
        return hd_store__mdb_err(txn, rc, err, table_names[t]);
    return 0;
}

int hd_store_del(hd_txn *txn, hd_table t, const hd_key *key, hd_err *err)
{
    int rc = check_table(t, err);
    if (rc == 0)
        rc = check_key(key, err);
    if (rc)
        return rc;
    if (!txn->write)
        return hd_err_set(err, HD_EPERM, "%s: delete in a read transaction", table_names[t]);
    MDB_val k = {key->len, (void *)key->buf};
    rc = mdb_del(txn->txn, txn->s->dbi[t], &k, NULL);
    if (rc == MDB_NOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "%s: key not found", table_names[t]);
    if (rc)
        return hd_store__mdb_err(txn, rc, err, table_names[t]);
    return 0;
}

int hd_store_put_msg(hd_txn *txn, hd_table t, const hd_key *key, const ProtobufCMessage *msg,
                     unsigned flags, hd_err *err)
{
    int rc = check_table(t, err);
    if (rc == 0)
        rc = check_key(key, err);
    if (rc)
        return rc;
    if (!txn->write)
        return hd_err_set(err, HD_EPERM, "%s: put in a read transaction", table_names[t]);
    size_t n = protobuf_c_message_get_packed_size(msg);
    MDB_val k = {key->len, (void *)key->buf}, v = {n, NULL};
    /* MDB_RESERVE: pack straight into the page, no intermediate buffer. */
    rc = mdb_put(txn->txn, txn->s->dbi[t], &k, &v,
                 MDB_RESERVE | ((flags & HD_STORE_NOOVERWRITE) ? MDB_NOOVERWRITE : 0));
    if (rc == MDB_KEYEXIST)
        return hd_err_set(err, HD_EEXIST, "%s: key exists", table_names[t]);
    if (rc)
        return hd_store__mdb_err(txn, rc, err, table_names[t]);
    protobuf_c_message_pack(msg, v.mv_data);
    return 0;
}

int hd_store_get_msg(hd_txn *txn, hd_table t, const hd_key *key,
                     const ProtobufCMessageDescriptor *desc, hd_arena *a, ProtobufCMessage **out,
                     hd_err *err)
{
    const void *val;
    size_t len;
    int rc = hd_store_get(txn, t, key, &val, &len, err);
    if (rc)
        return rc;
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(a, &pa);
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &pa, len, val);
    if (!m)
        return hd_err_set(err, HD_ECORRUPT, "%s: %zu-byte value does not unpack as %s",
                          table_names[t], len, desc->name);
    *out = m;
    return 0;
}

static int has_prefix(const MDB_val *k, const hd_key *p)
{
    return !p || (k->mv_size >= p->len && memcmp(k->mv_data, p->buf, p->len) == 0);
}

/* Positions c at the first entry of the range in its direction. Returns 0, MDB_NOTFOUND
 * or an LMDB error; *k and *v hold the entry. */
static int scan_first(MDB_cursor *c, const hd_store_range *r, MDB_val *k, MDB_val *v)
{
    const hd_key *from = r->start ? r->start : r->prefix;
    int rc;
    if (!r->reverse) {
        if (!from)
            return mdb_cursor_get(c, k, v, MDB_FIRST);
        k->mv_size = from->len;
        k->mv_data = (void *)from->buf;
        rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
        if (rc == 0 && r->start && r->exclusive && k->mv_size == r->start->len &&
            memcmp(k->mv_data, r->start->buf, k->mv_size) == 0)
            rc = mdb_cursor_get(c, k, v, MDB_NEXT);
        return rc;
    }
    if (!from)
        return mdb_cursor_get(c, k, v, MDB_LAST);
    if (r->start) {
        /* Last key <= start: seek to the first key >= start and step back unless equal. */
        k->mv_size = r->start->len;
        k->mv_data = (void *)r->start->buf;
        rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND)
            return mdb_cursor_get(c, k, v, MDB_LAST);
        if (rc)
            return rc;
        if (r->exclusive || k->mv_size != r->start->len ||
            memcmp(k->mv_data, r->start->buf, k->mv_size) != 0)
            rc = mdb_cursor_get(c, k, v, MDB_PREV);
        return rc;
    }
    /* Last key with the prefix: seek past every key with it (prefix + 0xFF...). */
    unsigned char past[HD_KEY_MAX + 1];
    size_t n = r->prefix->len;
    memcpy(past, r->prefix->buf, n);
    /* Increment the prefix as a big number; all-0xFF prefixes run to the end. */
    size_t i = n;
    while (i > 0 && past[i - 1] == 0xFF)
        i--;
    if (i == 0)
        return mdb_cursor_get(c, k, v, MDB_LAST);
    past[i - 1]++;
    k->mv_size = i;
    k->mv_data = past;
    rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
        return mdb_cursor_get(c, k, v, MDB_LAST);
    if (rc)
        return rc;
    return mdb_cursor_get(c, k, v, MDB_PREV);
}

int64_t hd_store_scan(hd_txn *txn, hd_table t, const hd_store_range *range, hd_store_scan_fn fn,
                      void *arg, hd_err *err)
{
    static const hd_store_range all = {0};
    const hd_store_range *r = range ? range : &all;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int64_t visited = 0;
    int rc = check_table(t, err);
    if (rc)
        return rc;
    if ((r->prefix && r->prefix->overflow) || (r->start && r->start->overflow))
        return hd_err_set(err, HD_ETOOBIG, "%s: scan key longer than %d bytes", table_names[t],
                          HD_KEY_MAX);
    if (r->prefix && r->start &&
        (r->start->len < r->prefix->len ||
         memcmp(r->start->buf, r->prefix->buf, r->prefix->len) != 0))
        return hd_err_set(err, HD_EINVAL, "%s: scan start does not begin with the prefix",
                          table_names[t]);
    rc = mdb_cursor_open(txn->txn, txn->s->dbi[t], &c);
    if (rc)
        return hd_store__mdb_err(txn, rc, err, table_names[t]);
    rc = scan_first(c, r, &k, &v);
    while (rc == 0 && (!r->limit || (uint64_t)visited < r->limit)) {
        if (!has_prefix(&k, r->prefix))
            break;
        int cb = fn(arg, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
        if (cb < 0) {
            mdb_cursor_close(c);
            if (err && err->code == 0)
                hd_err_set(err, cb, "%s: scan stopped by callback", table_names[t]);
            return cb;
        }
        visited++;
        if (cb > 0)
            break;
        rc = mdb_cursor_get(c, &k, &v, r->reverse ? MDB_PREV : MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return hd_store__mdb_err(txn, rc, err, table_names[t]);
    return visited;
}

int hd_store_seq_next(hd_txn *txn, const char *name, uint64_t *out, hd_err *err)
{
    hd_key k;
    const void *val;
    size_t len;
    uint64_t n = 0;
    if (!txn->write)
        return hd_err_set(err, HD_EPERM, "seq %s: next in a read transaction", name);
    hd_key_init(&k);
    hd_key_str(&k, name);
    int rc = hd_store_get(txn, HD_STORE_SEQ, &k, &val, &len, err);
    if (rc == 0) {
        if (len != 8)
            return hd_err_set(err, HD_ECORRUPT, "seq %s: value is %zu bytes, not 8", name, len);
        const unsigned char *b = val;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | b[i];
    } else if (rc != HD_ENOTFOUND) {
        return rc;
    }
    n++;
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(n >> (56 - 8 * i));
    rc = hd_store_put(txn, HD_STORE_SEQ, &k, b, 8, 0, err);
    if (rc)
        return rc;
    hd_err_clear(err);
    *out = n;
    return 0;
}

int hd_store_count(hd_txn *txn, hd_table t, uint64_t *out, hd_err *err)
{
    MDB_stat st;
    int rc = check_table(t, err);
    if (rc)
        return rc;
    rc = mdb_stat(txn->txn, txn->s->dbi[t], &st);
    if (rc)
        return hd_store__mdb_err(txn, rc, err, table_names[t]);
    *out = st.ms_entries;
    return 0;
}

/* Counts mdb_reader_list's lines, except slots of reset txns kept for reuse (txnid "-"). */
static int count_reader_line(const char *msg, void *ctx)
{
    size_t n = strlen(msg);
    if (n >= 3 && strcmp(msg + n - 3, " -\n") == 0)
        return 0;
    (*(unsigned *)ctx)++;
    return 0;
}

int hd_store_stats_get(hd_store *s, hd_store_stats *out, hd_err *err)
{
    hd_txn *t = NULL;
    MDB_envinfo info;
    MDB_stat st;
    unsigned lines = 0;
    memset(out, 0, sizeof(*out));
    int rc = hd_store_read_begin(s, &t, err);
    if (rc)
        return rc;
    for (int i = 0; i < HD_STORE_TABLE_COUNT; i++) {
        rc = hd_store_count(t, (hd_table)i, &out->entries[i], err);
        if (rc)
            goto done;
    }
    mdb_env_info(s->env, &info);
    mdb_env_stat(s->env, &st);
    mdb_reader_list(s->env, count_reader_line, &lines);
    out->map_size = info.me_mapsize;
    out->map_max = s->map_max;
    out->page_size = st.ms_psize;
    out->used_pages = (uint64_t)info.me_last_pgno + 1;
    out->readers_max = info.me_maxreaders;
    /* mdb_reader_list prints a header line then one per reader; ours is not counted. */
    out->readers_used = lines > 1 ? lines - 2 : 0;
    pthread_mutex_lock(&s->mu);
    out->last_batch = s->last_batch;
    out->commits = s->commits;
    out->mutations = s->mutations;
    out->map_grows = s->grows;
    pthread_mutex_unlock(&s->mu);
    out->schema_version = s->schema_version;
done:
    hd_store_read_end(t);
    return rc;
}
