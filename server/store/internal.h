/* Private to server/store: the store and transaction structs shared by store.c (open, ops,
 * stats), writer.c (group commit), migrate.c (schema steps) and backup.c. */
#ifndef HD_STORE_INTERNAL_H
#define HD_STORE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <lmdb.h>

#include "server/store/store.h"

/* One submitted mutation, owned by the queue until acknowledged. */
typedef struct hd_store__mut {
    hd_store_apply_fn apply;
    hd_store_done_fn done;
    void *arg;
    hd_err err;   /* result of the latest attempt */
    int excluded; /* dropped from replays: failed with HD_EFULL / HD_ETOOBIG at max map */
    struct hd_store__mut *next;
} hd_store__mut;

/* Reset read txns kept for reuse (a few per worker thread). */
#define HD_STORE__RPOOL_MAX 32

struct hd_store {
    MDB_env *env;
    MDB_dbi dbi[HD_STORE_TABLE_COUNT];
    char *path;
    uint64_t map_size; /* guarded by map_lock (written only by the writer under wrlock) */
    uint64_t map_max;
    unsigned max_batch;

    /* Growing the map remaps it: every transaction holds this lock shared, and a grow holds
     * it exclusively (writer-preferring, so grows are not starved by overlapping readers). */
    pthread_rwlock_t map_lock;

    pthread_mutex_t mu; /* guards the queue, stopping and the counters below */
    pthread_cond_t cv;  /* signals the writer: work or stop */
    hd_store__mut *head, *tail;
    int stopping;
    int writer_idle; /* the writer is waiting on cv */
    pthread_t writer;
    int writer_started;
    hd_store__mut **batch; /* writer-owned scratch, max_batch entries */

    uint64_t last_batch, commits, mutations, grows;
    uint32_t schema_version;

    /* Ended read txns kept reset (mdb_txn_reset: slot kept, no snapshot pinned) for the
     * next hd_store_read_begin to renew, saving the reader-table mutex, slot search and
     * mallocs of a fresh begin (MDB_NOTLS lets any thread renew them). Guarded by rpool_mu. */
    pthread_mutex_t rpool_mu;
    hd_txn *rpool[HD_STORE__RPOOL_MAX];
    int rpool_n;
};

struct hd_txn {
    hd_store *s;
    MDB_txn *txn;
    int write;
    int map_full; /* an op hit MDB_MAP_FULL: the batch must be aborted and replayed */
    int txn_full; /* an op hit MDB_TXN_FULL: too many dirty pages for one batch */
};

/* Translates an LMDB return code into an hd_ code with detail "<what>: <mdb_strerror>";
 * sets the txn flags for MAP_FULL/TXN_FULL when t is not NULL. */
int hd_store__mdb_err(hd_txn *t, int rc, hd_err *err, const char *what);

/* Runs the schema steps from version `from` up to HD_STORE_SCHEMA_VERSION inside t (a write
 * txn whose tables are open). Returns 0 or the failing step's error. */
int hd_store__migrate(hd_txn *t, uint32_t from, hd_err *err);

/* Meta record keys. */
#define HD_STORE__META_VERSION "schema_version"
#define HD_STORE__META_STEPS   "migration_steps_run"

/* Reads the u32 schema version from the meta table of txn (dbi). Returns 0, HD_ENOTFOUND
 * or HD_ECORRUPT. */
int hd_store__read_version(MDB_txn *txn, MDB_dbi meta, const char *path, uint32_t *out,
                           hd_err *err);

/* Writer thread entry (writer.c). */
void *hd_store__writer_main(void *arg);

/* Monotonic milliseconds. */
uint64_t hd_store__now_ms(void);

#endif
