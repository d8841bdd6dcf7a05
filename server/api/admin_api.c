/* AdminService: GetStats maps the store's statistics; Backup runs the compacted copy on a
 * thread of its own, so a long copy never holds a serving worker. */
#include "server/api/admin_api.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpdesk/v1/admin.pb-c.h"
#include "server/api/perm.h"
#include "server/app.h"
#include "server/common/log.h"
#include "server/store/store.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int get_stats(hd_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage *respm,
                     hd_err *err)
{
    (void)req;
    hd_app *app = hd_rpc_call_app(call);
    hd_arena *a = hd_rpc_call_arena(call);
    Helpdesk__V1__Stats *resp = (Helpdesk__V1__Stats *)respm;
    hd_store_stats st;
    int rc = hd_store_stats_get(app->store, &st, err);
    if (rc != HD_OK)
        return rc;
    resp->version = (char *)HD_VERSION;
    int64_t up = now_ms() - app->start_ms;
    resp->uptime_seconds = up > 0 ? (uint64_t)up / 1000 : 0;
    resp->map_size_bytes = st.map_size;
    resp->map_max_bytes = st.map_max;
    resp->used_pages = st.used_pages;
    resp->page_size = (uint32_t)st.page_size;
    resp->readers = st.readers_used;
    resp->max_readers = st.readers_max;
    resp->last_batch_size = (uint32_t)st.last_batch;
    resp->commits = st.commits;
    resp->mutations = st.mutations;
    resp->schema_version = st.schema_version;
    resp->n_tables = HD_STORE_TABLE_COUNT;
    resp->tables = hd_arena_calloc(a, HD_STORE_TABLE_COUNT, sizeof(*resp->tables));
    Helpdesk__V1__TableStats *rows = hd_arena_calloc(a, HD_STORE_TABLE_COUNT, sizeof(*rows));
    if (!resp->tables || !rows)
        return hd_err_set(err, HD_ENOMEM, "stats: out of memory");
    for (int t = 0; t < HD_STORE_TABLE_COUNT; t++) {
        helpdesk__v1__table_stats__init(&rows[t]);
        rows[t].name = (char *)hd_store_table_name((hd_table)t);
        rows[t].entries = st.entries[t];
        resp->tables[t] = &rows[t];
    }
    return HD_OK;
}

typedef struct backup_job {
    hd_rpc_call *call;
    hd_store *store;
    Helpdesk__V1__BackupResponse *resp;
    char path[PATH_MAX];
} backup_job;

static void *backup_thread(void *argp)
{
    backup_job *job = argp;
    hd_err err;
    hd_err_clear(&err);
    hd_store_backup_info info = {0};
    int rc = hd_store_backup(job->store, job->path, &info, &err);
    if (rc == HD_OK) {
        job->resp->path = job->path;
        job->resp->size_bytes = info.bytes;
        job->resp->duration_ms = info.duration_ms;
        hd_log(HD_LOG_INFO, "backup", "path=%s bytes=%llu ms=%llu", job->path,
               (unsigned long long)info.bytes, (unsigned long long)info.duration_ms);
    } else {
        hd_log(HD_LOG_WARN, "backup_failed", "path=%s code=%s", job->path, hd_errname(rc));
    }
    hd_rpc_finish(job->call, &err);
    return NULL;
}

static int backup(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                  hd_err *err)
{
    const Helpdesk__V1__BackupRequest *req = (const Helpdesk__V1__BackupRequest *)reqm;
    hd_app *app = hd_rpc_call_app(call);
    if (!req->path || !*req->path)
        return hd_err_set(err, HD_EINVAL, "path: required");
    backup_job *job = hd_arena_calloc(hd_rpc_call_arena(call), 1, sizeof(*job));
    if (!job)
        return hd_err_set(err, HD_ENOMEM, "backup: out of memory");
    int n = req->path[0] == '/'
                ? snprintf(job->path, sizeof(job->path), "%s", req->path)
                : snprintf(job->path, sizeof(job->path), "%s/%s", app->data_dir, req->path);
    if (n < 0 || (size_t)n >= sizeof(job->path))
        return hd_err_set(err, HD_EINVAL, "path: longer than %d bytes", PATH_MAX - 1);
    job->call = call;
    job->store = app->store;
    job->resp = (Helpdesk__V1__BackupResponse *)respm;
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int prc = pthread_create(&th, &attr, backup_thread, job);
    pthread_attr_destroy(&attr);
    if (prc != 0)
        return hd_err_set(err, HD_EUNAVAIL, "backup: cannot start a thread");
    return HD_RPC_ASYNC;
}

static const hd_rpc_method methods[] = {
    {
        .path = "/helpdesk.v1.AdminService/GetStats",
        .kind = HD_RPC_UNARY,
        .request = &helpdesk__v1__get_stats_request__descriptor,
        .response = &helpdesk__v1__stats__descriptor,
        .unary = get_stats,
        .permission = HD_PERM_ADMIN,
    },
    {
        .path = "/helpdesk.v1.AdminService/Backup",
        .kind = HD_RPC_UNARY,
        .request = &helpdesk__v1__backup_request__descriptor,
        .response = &helpdesk__v1__backup_response__descriptor,
        .unary = backup,
        .permission = HD_PERM_ADMIN,
    },
};

const hd_rpc_method *hd_admin_api_methods(size_t *n)
{
    *n = sizeof(methods) / sizeof(methods[0]);
    return methods;
}
