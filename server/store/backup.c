/* Online backup (a compacted snapshot written next to its destination, then renamed into
 * place) and the offline restore used by `helpdeskd --restore`. */
#include "server/store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/common/log.h"

/* fsyncs a file or directory by path. Returns 0 or -1 (errno set). */
static int fsync_path(const char *path, int dir)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* Writes the parent directory of path into buf (size n). */
static void parent_of(const char *path, char *buf, size_t n)
{
    snprintf(buf, n, "%s", path);
    char *slash = strrchr(buf, '/');
    if (!slash)
        snprintf(buf, n, ".");
    else if (slash == buf)
        buf[1] = '\0';
    else
        *slash = '\0';
}

/* A map grow must wait for the copy (it remaps what the copy reads), and while it waits new
 * readers wait too. So before copying, grow the map until at most half of it is used (within
 * the cap): writes during the copy then almost never need a grow. */
static void pregrow(hd_store *s)
{
    MDB_envinfo info;
    MDB_stat st;
    pthread_rwlock_wrlock(&s->map_lock);
    mdb_env_info(s->env, &info);
    mdb_env_stat(s->env, &st);
    uint64_t used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    uint64_t next = s->map_size;
    int grew = 0;
    while (used * 2 > next && next < s->map_max)
        next = next * 2 > s->map_max ? s->map_max : next * 2;
    if (next != s->map_size && mdb_env_set_mapsize(s->env, (size_t)next) == 0) {
        mdb_env_info(s->env, &info);
        s->map_size = info.me_mapsize;
        grew = 1;
        hd_log(HD_LOG_INFO, "store_map_grown", "path=%s map_size=%llu reason=backup", s->path,
               (unsigned long long)s->map_size);
    }
    pthread_rwlock_unlock(&s->map_lock);
    if (grew) {
        pthread_mutex_lock(&s->mu);
        s->grows++;
        pthread_mutex_unlock(&s->mu);
    }
}

int hd_store_backup(hd_store *s, const char *dest_dir, hd_store_backup_info *info, hd_err *err)
{
    char tmp[PATH_MAX], parent[PATH_MAX], file[PATH_MAX + 16];
    struct stat st;
    int made_tmp = 0, rc;
    uint64_t t0 = hd_store__now_ms();
    if (!dest_dir || !dest_dir[0])
        return hd_err_set(err, HD_EINVAL, "backup: no destination");
    if (strlen(dest_dir) + 32 >= sizeof(tmp))
        return hd_err_set(err, HD_EINVAL, "backup: destination path too long");
    if (lstat(dest_dir, &st) == 0)
        return hd_err_set(err, HD_EEXIST, "backup: %s already exists", dest_dir);
    parent_of(dest_dir, parent, sizeof(parent));
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
        return hd_err_set(err, HD_ENOTFOUND, "backup: parent directory %s does not exist", parent);
    snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", dest_dir);
    if (!mkdtemp(tmp)) {
        hd_err_set(err, HD_EIO, "backup: creating %s: %s", tmp, strerror(errno));
        goto fail;
    }
    made_tmp = 1;
    pregrow(s);
    /* The copy reads the map, so it must not race a remap: hold the map lock shared. */
    pthread_rwlock_rdlock(&s->map_lock);
    rc = mdb_env_copy2(s->env, tmp, MDB_CP_COMPACT);
    pthread_rwlock_unlock(&s->map_lock);
    if (rc) {
        hd_err_set(err, HD_EIO, "backup: copying to %s: %s", tmp, mdb_strerror(rc));
        goto fail;
    }
    snprintf(file, sizeof(file), "%s/data.mdb", tmp);
    if (fsync_path(file, 0) != 0 || fsync_path(tmp, 1) != 0) {
        hd_err_set(err, HD_EIO, "backup: syncing %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (stat(file, &st) != 0) {
        hd_err_set(err, HD_EIO, "backup: %s: %s", file, strerror(errno));
        goto fail;
    }
    if (rename(tmp, dest_dir) != 0) {
        hd_err_set(err, errno == EEXIST || errno == ENOTEMPTY ? HD_EEXIST : HD_EIO,
                   "backup: renaming %s to %s: %s", tmp, dest_dir, strerror(errno));
        goto fail;
    }
    made_tmp = 0;
    fsync_path(parent, 1);
    if (info) {
        info->bytes = (uint64_t)st.st_size;
        info->duration_ms = hd_store__now_ms() - t0;
    }
    hd_log(HD_LOG_INFO, "store_backup", "path=%s dest=%s bytes=%llu duration_ms=%llu", s->path,
           dest_dir, (unsigned long long)st.st_size, (unsigned long long)(hd_store__now_ms() - t0));
    return 0;
fail:
    if (made_tmp) {
        snprintf(file, sizeof(file), "%s/data.mdb", tmp);
        unlink(file);
        rmdir(tmp);
    }
    return err && err->code ? err->code : HD_EIO;
}

/* Opens backup_dir read-only without a lock file and checks our meta record. */
static int verify_backup(const char *dir, hd_err *err)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    uint32_t version = 0;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, HD_STORE_TABLE_COUNT + 4);
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0600);
    if (rc == MDB_INVALID) {
        hd_err_set(err, HD_ECORRUPT, "restore: %s/data.mdb is not an LMDB file", dir);
        goto fail;
    }
    if (rc == ENOENT) {
        hd_err_set(err, HD_ENOTFOUND, "restore: %s has no data.mdb", dir);
        goto fail;
    }
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        hd_err_set(err, HD_EIO, "restore: opening %s: %s", dir, mdb_strerror(rc));
        goto fail;
    }
    rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (rc) {
        hd_err_set(err, HD_ECORRUPT, "restore: %s is not a Helpdesk store (no meta table: %s)", dir,
                   mdb_strerror(rc));
        goto fail;
    }
    rc = hd_store__read_version(txn, meta, dir, &version, err);
    if (rc)
        goto fail;
    if (version == 0 || version > HD_STORE_SCHEMA_VERSION) {
        hd_err_set(err, HD_EVERSION,
                   "restore: %s has schema version %u; this binary supports 1..%u", dir, version,
                   HD_STORE_SCHEMA_VERSION);
        goto fail;
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return 0;
fail:
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return err && err->code ? err->code : HD_EIO;
}

static int copy_file(const char *from, const char *to, hd_err *err)
{
    char buf[1 << 16];
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = -1;
    if (in < 0) {
        hd_err_set(err, HD_EIO, "restore: opening %s: %s", from, strerror(errno));
        goto fail;
    }
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        hd_err_set(err, HD_EIO, "restore: creating %s: %s", to, strerror(errno));
        goto fail;
    }
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            hd_err_set(err, HD_EIO, "restore: reading %s: %s", from, strerror(errno));
            goto fail;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                hd_err_set(err, HD_EIO, "restore: writing %s: %s", to, strerror(errno));
                goto fail;
            }
            off += w;
        }
    }
    if (fsync(out) != 0) {
        hd_err_set(err, HD_EIO, "restore: syncing %s: %s", to, strerror(errno));
        goto fail;
    }
    close(in);
    close(out);
    return 0;
fail:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return err && err->code ? err->code : HD_EIO;
}

int hd_store_restore(const char *backup_dir, const char *data_dir, char *moved_to, size_t n,
                     hd_err *err)
{
    char aside[PATH_MAX], from[PATH_MAX + 16], to[PATH_MAX + 16], parent[PATH_MAX];
    struct stat st;
    if (moved_to && n)
        moved_to[0] = '\0';
    if (!backup_dir || !data_dir || strlen(data_dir) + 48 >= sizeof(aside) ||
        strlen(backup_dir) + 16 >= PATH_MAX)
        return hd_err_set(err, HD_EINVAL, "restore: bad paths");
    int rc = verify_backup(backup_dir, err);
    if (rc)
        return rc;
    if (lstat(data_dir, &st) == 0) {
        long long now = (long long)time(NULL);
        snprintf(aside, sizeof(aside), "%s.pre-restore-%lld", data_dir, now);
        for (int i = 1; i < 100 && lstat(aside, &st) == 0; i++)
            snprintf(aside, sizeof(aside), "%s.pre-restore-%lld-%d", data_dir, now, i);
        if (rename(data_dir, aside) != 0)
            return hd_err_set(err, HD_EIO, "restore: moving %s aside to %s: %s", data_dir, aside,
                              strerror(errno));
        if (moved_to && n)
            snprintf(moved_to, n, "%s", aside);
    }
    if (mkdir(data_dir, 0700) != 0)
        return hd_err_set(err, HD_EIO, "restore: creating %s: %s", data_dir, strerror(errno));
    snprintf(from, sizeof(from), "%s/data.mdb", backup_dir);
    snprintf(to, sizeof(to), "%s/data.mdb", data_dir);
    rc = copy_file(from, to, err);
    if (rc)
        return rc;
    fsync_path(data_dir, 1);
    parent_of(data_dir, parent, sizeof(parent));
    fsync_path(parent, 1);
    hd_log(HD_LOG_INFO, "store_restored", "backup=%s data=%s moved_aside=%s", backup_dir, data_dir,
           moved_to && n && moved_to[0] ? moved_to : "-");
    return 0;
}
