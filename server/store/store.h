/* The LMDB store: one environment in a data dir, named tables from one list, typed get/put/
 * del/scan on transactions, and a single writer thread that group-commits every mutation
 * (many requests, one fsync). The store knows tables and keys, never business rules. */
#ifndef HD_STORE_STORE_H
#define HD_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/key.h"

/* Every table (LMDB named database). XX(enum suffix, on-disk name). Index tables hold
 * composite keys with empty values, so cursor order is index order. */
#define HD_STORE_TABLES(XX)                                                                        \
    XX(TICKETS, "tickets")             /* ticket id -> Ticket */                                   \
    XX(MESSAGES, "messages")           /* ticket id + message id -> message */                     \
    XX(NOTES, "notes")                 /* ticket id + note id -> internal note */                  \
    XX(EVENTS, "events")               /* ticket id + time + seq -> audit event */                 \
    XX(STAFF, "staff")                 /* staff id -> staff member */                              \
    XX(CUSTOMERS, "customers")         /* customer id -> customer */                               \
    XX(ORGANIZATIONS, "organizations") /* organization id -> organization */                       \
    XX(GROUPS, "groups")               /* group id -> group */                                     \
    XX(TOKENS, "tokens")               /* token hash -> token record */                            \
    XX(SEQ, "seq")                     /* sequence name -> u64 (hd_store_seq_next) */              \
    XX(ROLLUPS, "rollups")             /* metric + bucket -> rollup */                             \
    XX(OUTBOX, "outbox")               /* outgoing mail/webhooks pending delivery */               \
    XX(MAILSTATE, "mailstate")         /* mailbox -> UIDVALIDITY/last UID */                       \
    XX(SETTINGS, "settings")           /* name -> value */                                         \
    XX(IDEMPOTENCY, "idempotency")     /* request id -> stored result */                           \
    XX(META, "meta")                   /* schema version etc. (owned by the store) */              \
    XX(IDX_STATUS, "idx_status")       /* status + priority + ticket id */                         \
    XX(IDX_ASSIGNEE, "idx_assignee")   /* assignee + ticket id */                                  \
    XX(IDX_CUSTOMER, "idx_customer")   /* customer + ticket id */                                  \
    XX(IDX_TAG, "idx_tag")             /* tag + ticket id */                                       \
    XX(IDX_UPDATED, "idx_updated")     /* updated time + ticket id */                              \
    XX(IDX_NUMBER, "idx_number")       /* human number -> ticket id */                             \
    XX(IDX_EMAIL, "idx_email")         /* customer email -> customer id */                         \
    XX(IDX_MSGID, "idx_msgid")         /* Message-ID -> ticket id */                               \
    XX(IDX_SLADUE, "idx_sladue")       /* due time + ticket id + target */                         \
    XX(DRAFTS, "drafts")               /* ticket id + draft id -> reply draft */                   \
    XX(IDX_CATEGORY, "idx_category")   /* category + ticket id */                                  \
    XX(IDX_GROUP, "idx_group")         /* group id + ticket id (tickets with a group) */           \
    XX(IDX_ORG, "idx_org")             /* organization id + ticket id (customer's at create) */    \
    XX(SLA_CONFIG, "sla_config")       /* "sla.cal"/"sla.pol" + id -> SLA calendar/policy */       \
    XX(SLA_CLOCKS, "sla_clocks")       /* ticket id -> SLA clock record */                         \
    XX(IDX_SLARUN, "idx_slarun")       /* earliest running due time + ticket id */                 \
    XX(IDX_SLABREACHED, "idx_slabreached") /* ticket id: a running clock is breached */

typedef enum hd_table {
#define HD__STORE_TABLE_ENUM(id, name) HD_STORE_##id,
    HD_STORE_TABLES(HD__STORE_TABLE_ENUM)
#undef HD__STORE_TABLE_ENUM
        HD_STORE_TABLE_COUNT
} hd_table;

/* Schema version this binary writes; older stores are migrated at open. */
#define HD_STORE_SCHEMA_VERSION 2u

typedef struct hd_store hd_store;
typedef struct hd_txn hd_txn;

/* Open options. Zero means default for every field but path. */
typedef struct hd_store_opts {
    const char *path;     /* data dir; created if missing (its parent must exist) */
    uint64_t map_start;   /* initial map size in bytes (default 8 MiB) */
    uint64_t map_max;     /* growth cap in bytes (default 64 GiB on 64-bit, 1 GiB on 32) */
    int unsafe_nosync;    /* MDB_NOSYNC: an OS crash may lose commits. Tests only. */
    unsigned max_readers; /* concurrent read transactions (default 256) */
    unsigned max_batch;   /* mutations per commit (default 1024; 1 = commit each alone) */
} hd_store_opts;

/* Opens (or initialises, for an empty dir) the store at opts->path, runs pending schema
 * migrations in one write transaction, checks stale readers and starts the writer thread.
 * Returns 0 with *out owned (free with hd_store_close), or: HD_EVERSION (store written by a
 * newer binary), HD_ECORRUPT (not LMDB, or LMDB without our meta record), HD_EIO, HD_EINVAL,
 * HD_ENOMEM; the detail names the path and the problem. */
int hd_store_open(hd_store **out, const hd_store_opts *opts, hd_err *err);

/* Stops accepting mutations, lets the writer commit and acknowledge everything already
 * submitted, joins it and closes the environment. No read transaction may be open. NULL is
 * allowed. */
void hd_store_close(hd_store *s);

/* Returns the static on-disk name of table t ("tickets"), or "?" when out of range. */
const char *hd_store_table_name(hd_table t);

/* ---- Read transactions ------------------------------------------------------------------
 * Any thread, any number at once (up to max_readers), never waiting for the writer. A read
 * transaction sees one consistent snapshot. It may block only while the map is being grown
 * (a rare, short remap). End it promptly: it pins old pages, and a map grow waits for every
 * open read transaction. Hence two rules: a thread holds at most one read transaction at a
 * time, and never waits for a write (hd_store_write, or a done callback) while holding one
 * (the writer may need to grow the map first: deadlock). */

/* Begins a snapshot read. Returns 0 with *out owned (end with hd_store_read_end), or
 * HD_EFULL (all reader slots used), HD_EIO. */
int hd_store_read_begin(hd_store *s, hd_txn **out, hd_err *err);

/* Ends a read transaction; every value it returned becomes invalid. NULL is allowed. */
void hd_store_read_end(hd_txn *txn);

/* ---- Writes: group commit ---------------------------------------------------------------
 * One writer thread owns all write transactions. It drains the pending mutations into one
 * transaction (each in its own nested transaction, so a failing one is undone alone),
 * commits once (fsync) and then acknowledges each. */

/* A mutation. Runs on the writer thread inside a nested write transaction. Returns 0 to
 * keep its changes, or an hd_ error code (detail in err) to undo only them. Must be
 * replayable: the store may run it again (after growing the map, or when another mutation of
 * the batch is dropped), so no side effects outside txn except writing results into arg.
 * Must not block, begin read transactions or call hd_store_write: use txn for reads too. */
typedef int (*hd_store_apply_fn)(hd_txn *txn, void *arg, hd_err *err);

/* Acknowledgement. Called once on the writer thread after the batch holding the mutation is
 * durable (err->code == 0) or after the mutation failed (err->code < 0, with detail, e.g.
 * HD_EFULL "store full: ..."). Must be quick and must not call hd_store_write. err is
 * borrowed for the call. */
typedef void (*hd_store_done_fn)(void *arg, const hd_err *err);

/* Queues a mutation. Returns 0 (done will be called exactly once), HD_EUNAVAIL (store is
 * closing; done is not called) or HD_ENOMEM. arg is borrowed until done returns. */
int hd_store_submit(hd_store *s, hd_store_apply_fn apply, hd_store_done_fn done, void *arg,
                    hd_err *err);

/* Submits and waits for the acknowledgement: returns 0 once the change is durable, or the
 * mutation's error. Must not be called from the writer thread (HD_ESTATE). */
int hd_store_write(hd_store *s, hd_store_apply_fn apply, void *arg, hd_err *err);

/* ---- Operations on a transaction (read or write) -------------------------------------- */

/* Flags for hd_store_put. */
#define HD_STORE_NOOVERWRITE 0x1u /* fail with HD_EEXIST if the key exists */

/* Looks up key. Returns 0 with *val and *len borrowed until the txn ends or its next write;
 * HD_ENOTFOUND; HD_ETOOBIG (key overflowed); HD_EIO. */
int hd_store_get(hd_txn *txn, hd_table t, const hd_key *key, const void **val, size_t *len,
                 hd_err *err);

/* Stores len bytes (copied) under key. Write txn only (HD_EPERM otherwise). Returns 0,
 * HD_EEXIST (with HD_STORE_NOOVERWRITE), HD_EFULL (map full: the writer grows and replays),
 * HD_ETOOBIG, HD_EIO. */
int hd_store_put(hd_txn *txn, hd_table t, const hd_key *key, const void *val, size_t len,
                 unsigned flags, hd_err *err);

/* Deletes key. Write txn only. Returns 0 or HD_ENOTFOUND, HD_EFULL, HD_EIO. */
int hd_store_del(hd_txn *txn, hd_table t, const hd_key *key, hd_err *err);

/* Packs msg and stores it like hd_store_put. msg stays the caller's. */
int hd_store_put_msg(hd_txn *txn, hd_table t, const hd_key *key, const ProtobufCMessage *msg,
                     unsigned flags, hd_err *err);

/* Looks up key and unpacks the value as a message of type desc into arena memory: *out is
 * borrowed until the arena resets (no protobuf_c_message_free_unpacked needed). Returns 0,
 * HD_ENOTFOUND, HD_ECORRUPT (does not unpack), HD_ENOMEM. */
int hd_store_get_msg(hd_txn *txn, hd_table t, const hd_key *key,
                     const ProtobufCMessageDescriptor *desc, hd_arena *a, ProtobufCMessage **out,
                     hd_err *err);

/* Scan callback: one entry, key and value borrowed until the callback returns (decode the
 * key with hd_key_reader). Return 0 to continue, 1 to stop, or a negative hd_ code to stop
 * and make hd_store_scan return it. Must not write to the scanned table. */
typedef int (*hd_store_scan_fn)(void *arg, const void *key, size_t klen, const void *val,
                                size_t vlen);

/* Which entries hd_store_scan visits. Zero-initialised = whole table, forward, no limit. */
typedef struct hd_store_range {
    const hd_key *prefix; /* only keys starting with these bytes (NULL: all) */
    const hd_key *start;  /* forward: first key >= start; reverse: last key <= start (NULL:
                             the first/last key within prefix); must begin with prefix */
    int exclusive;        /* skip a key equal to start (resume after a page's last key) */
    int reverse;          /* descending key order */
    uint64_t limit;       /* at most this many callbacks (0: no limit) */
} hd_store_range;

/* Visits the entries of t in range, in key order. Returns the number of entries visited
 * (>= 0), or a negative code: the callback's, HD_EINVAL (start outside prefix), HD_ETOOBIG,
 * HD_EIO. */
int64_t hd_store_scan(hd_txn *txn, hd_table t, const hd_store_range *range, hd_store_scan_fn fn,
                      void *arg, hd_err *err);

/* Increments the named sequence in the seq table and returns its new value in *out (the
 * first call returns 1). Write txn only. Returns 0, HD_EPERM, HD_EFULL, HD_ECORRUPT, HD_EIO. */
int hd_store_seq_next(hd_txn *txn, const char *name, uint64_t *out, hd_err *err);

/* Sets *out to the number of entries in t as seen by txn. Returns 0 or HD_EIO. */
int hd_store_count(hd_txn *txn, hd_table t, uint64_t *out, hd_err *err);

/* "Done once" markers: a one-time domain step (a data move, an index build) records in
 * SETTINGS, under its name, the version it brought the data to (4 bytes, big-endian).
 * hd_store_marker_get sets *version to the marker's version, 0 when it is absent or not 4
 * bytes long (the step then runs again); returns 0 or the store's read errors. */
int hd_store_marker_get(hd_txn *txn, const char *name, uint32_t *version, hd_err *err);

/* Sets marker name to version. Write txn only. Returns 0 or hd_store_put's errors. */
int hd_store_marker_set(hd_txn *txn, const char *name, uint32_t version, hd_err *err);

/* ---- Operations and statistics --------------------------------------------------------- */

typedef struct hd_store_stats {
    uint64_t map_size;   /* current map size, bytes */
    uint64_t map_max;    /* growth cap, bytes */
    uint64_t page_size;  /* bytes */
    uint64_t used_pages; /* last used page number + 1 */
    uint64_t entries[HD_STORE_TABLE_COUNT];
    unsigned readers_used; /* reader slots in use */
    unsigned readers_max;
    uint64_t last_batch; /* mutations in the last committed batch */
    uint64_t commits;    /* write transactions committed since open */
    uint64_t mutations;  /* mutations committed since open */
    uint64_t map_grows;  /* times the map was grown since open */
    uint32_t schema_version;
} hd_store_stats;

/* Fills *out. Returns 0 or HD_EIO/HD_EFULL (no reader slot). */
int hd_store_stats_get(hd_store *s, hd_store_stats *out, hd_err *err);

typedef struct hd_store_backup_info {
    uint64_t bytes;       /* size of the copied data.mdb */
    uint64_t duration_ms; /* wall time of the copy */
} hd_store_backup_info;

/* Writes a compacted, consistent snapshot of the store to dest_dir while serving continues:
 * copies into <dest_dir>.tmp-XXXXXX, fsyncs and renames it to dest_dir. dest_dir must not
 * exist; its parent must. The map is first grown (within map_max) to at most half used,
 * because a grow needed during the copy waits for it to finish, and new readers wait behind
 * that grow. The calling thread must not hold a read transaction. info may be NULL. Returns 0,
 * HD_EEXIST, HD_ENOTFOUND (no parent), HD_EIO. */
int hd_store_backup(hd_store *s, const char *dest_dir, hd_store_backup_info *info, hd_err *err);

/* For `helpdeskd --restore`, with the server stopped: checks that backup_dir opens as a
 * store with our meta record and a supported version, moves data_dir (if present) aside to
 * <data_dir>.pre-restore-<unix time> and copies the backup into data_dir. moved_to (may be
 * NULL, size n) gets the aside path or "" if there was no data dir. Returns 0, HD_ECORRUPT,
 * HD_EVERSION, HD_ENOTFOUND, HD_EIO. */
int hd_store_restore(const char *backup_dir, const char *data_dir, char *moved_to, size_t n,
                     hd_err *err);

#endif
