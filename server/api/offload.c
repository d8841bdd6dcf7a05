/* One mutex-guarded FIFO of jobs (allocated in each call's arena, so nothing to free) and a
 * few threads waiting on a condition variable. */
#include "server/api/offload.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct job {
    struct job *next;
    hd_rpc_call *call;
    hd_rpc_unary_fn fn;
    const ProtobufCMessage *req;
    ProtobufCMessage *resp;
} job;

struct hd_offload {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *head, *tail;
    int queued;
    int queue_max;
    int stopping;
    int nthreads;
    pthread_t *threads;
};

static void run(job *j)
{
    hd_err err;
    hd_err_clear(&err);
    if (hd_rpc_call_cancelled(j->call)) {
        hd_err_set(&err, HD_ECANCELED, "call cancelled while queued");
        hd_rpc_finish(j->call, &err);
        return;
    }
    int rc = j->fn(j->call, j->req, j->resp, &err);
    if (rc == HD_RPC_ASYNC)
        return;
    if (rc < 0 && err.code == HD_OK)
        hd_err_set(&err, rc, "%s", hd_strerror(rc));
    hd_rpc_finish(j->call, rc == HD_OK ? NULL : &err);
}

static void *thread_main(void *arg)
{
    hd_offload *o = arg;
    pthread_mutex_lock(&o->mu);
    for (;;) {
        while (!o->head && !o->stopping)
            pthread_cond_wait(&o->cv, &o->mu);
        job *j = o->head;
        if (!j)
            break; /* stopping and drained */
        o->head = j->next;
        if (!o->head)
            o->tail = NULL;
        o->queued--;
        pthread_mutex_unlock(&o->mu);
        run(j);
        pthread_mutex_lock(&o->mu);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

int hd_offload_create(hd_offload **out, int threads, int queue_max, hd_err *err)
{
    *out = NULL;
    if (threads < 1 || queue_max < 1)
        return hd_err_set(err, HD_EINVAL, "offload: threads %d and queue %d must be >= 1", threads,
                          queue_max);
    hd_offload *o = calloc(1, sizeof(*o));
    if (!o)
        return hd_err_set(err, HD_ENOMEM, "offload: out of memory");
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    o->queue_max = queue_max;
    o->threads = calloc((size_t)threads, sizeof(*o->threads));
    if (!o->threads) {
        hd_err_set(err, HD_ENOMEM, "offload: out of memory");
        goto fail;
    }
    for (; o->nthreads < threads; o->nthreads++) {
        if (pthread_create(&o->threads[o->nthreads], NULL, thread_main, o) != 0) {
            hd_err_set(err, HD_EIO, "offload: cannot start thread %d", o->nthreads);
            goto fail;
        }
    }
    *out = o;
    return HD_OK;
fail:
    hd_offload_destroy(o);
    return err->code;
}

void hd_offload_destroy(hd_offload *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->mu);
    o->stopping = 1;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    for (int i = 0; i < o->nthreads; i++)
        pthread_join(o->threads[i], NULL);
    free(o->threads);
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

int hd_offload_call(hd_offload *o, hd_rpc_call *call, hd_rpc_unary_fn fn,
                    const ProtobufCMessage *req, ProtobufCMessage *resp, hd_err *err)
{
    job *j = hd_arena_alloc(hd_rpc_call_arena(call), sizeof(*j));
    if (!j)
        return hd_err_set(err, HD_ENOMEM, "offload: out of memory");
    *j = (job){.call = call, .fn = fn, .req = req, .resp = resp};
    pthread_mutex_lock(&o->mu);
    int full = o->queued >= o->queue_max || o->stopping;
    if (!full) {
        if (o->tail)
            o->tail->next = j;
        else
            o->head = j;
        o->tail = j;
        o->queued++;
        pthread_cond_signal(&o->cv);
    }
    pthread_mutex_unlock(&o->mu);
    if (full)
        return hd_err_set(err, HD_EFULL,
                          "server busy: %d slow calls (logins, staff writes) queued; "
                          "retry later",
                          o->queue_max);
    return HD_RPC_ASYNC;
}

int hd_offload_queued(hd_offload *o)
{
    pthread_mutex_lock(&o->mu);
    int n = o->queued;
    pthread_mutex_unlock(&o->mu);
    return n;
}
