/* Health status table and its two handlers. One mutex guards the services and the list of
 * open Watch calls. A watcher is finished by whoever unlinks it from the list (its cancel
 * callback, a failed send, or hd_health_shutdown), so each call is finished exactly once.
 * The cancel callback gets the watcher's id, not its address: the watcher may already be
 * freed when a late callback runs, and an id is never reused. */
#include "server/rpc/builtin/health.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"

typedef Grpc__Health__V1__HealthCheckResponse__ServingStatus serving_status;

#define ST_SERVING         GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define ST_NOT_SERVING     GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define ST_SERVICE_UNKNOWN GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN

typedef struct health_entry {
    struct health_entry *next;
    serving_status status;
    char name[]; /* NUL-terminated */
} health_entry;

typedef struct watcher {
    struct watcher *next;
    uint64_t id;
    hd_rpc_call *call;
    serving_status last; /* last status sent */
    int end_code;        /* set when unlinked to finish with an error */
    char service[];
} watcher;

struct hd_health {
    pthread_mutex_t mu;
    health_entry *entries;
    watcher *watchers;
    size_t n_watchers;
    uint64_t next_id;
    int shut;
};

/* The table the handlers serve (see hd_health_methods). */
static _Atomic(hd_health *) g_health;

static health_entry *find_locked(hd_health *h, const char *service)
{
    for (health_entry *e = h->entries; e; e = e->next) {
        if (strcmp(e->name, service) == 0)
            return e;
    }
    return NULL;
}

static int add_locked(hd_health *h, const char *service, serving_status st)
{
    size_t len = strlen(service);
    health_entry *e = malloc(sizeof(*e) + len + 1);
    if (!e)
        return HD_ENOMEM;
    memcpy(e->name, service, len + 1);
    e->status = st;
    e->next = h->entries;
    h->entries = e;
    return HD_OK;
}

int hd_health_create(hd_health **out, hd_err *err)
{
    *out = NULL;
    hd_health *h = calloc(1, sizeof(*h));
    if (!h)
        return hd_err_set(err, HD_ENOMEM, "health: out of memory");
    pthread_mutex_init(&h->mu, NULL);
    if (add_locked(h, "", ST_SERVING) != HD_OK)
        goto fail;
    *out = h;
    return HD_OK;
fail:
    hd_health_destroy(h);
    return hd_err_set(err, HD_ENOMEM, "health: out of memory");
}

void hd_health_destroy(hd_health *h)
{
    if (!h)
        return;
    hd_health *expected = h;
    atomic_compare_exchange_strong(&g_health, &expected, NULL);
    for (health_entry *e = h->entries; e;) {
        health_entry *next = e->next;
        free(e);
        e = next;
    }
    /* Only left when the server went away without cancelling: nothing to finish. */
    for (watcher *w = h->watchers; w;) {
        watcher *next = w->next;
        free(w);
        w = next;
    }
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static int send_status(hd_rpc_call *call, serving_status st)
{
    Grpc__Health__V1__HealthCheckResponse msg = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    msg.status = st;
    return hd_rpc_stream_send(call, &msg.base);
}

/* Ends each unlinked watcher's call (outside the lock) and frees it. */
static void finish_all(watcher *list)
{
    while (list) {
        watcher *next = list->next;
        hd_err err;
        hd_err_clear(&err);
        if (list->end_code == HD_EFULL)
            hd_err_set(&err, HD_EFULL, "health: watcher too slow, status updates dropped");
        else if (list->end_code != HD_OK)
            hd_err_set(&err, list->end_code, "health: watch ended");
        hd_rpc_finish(list->call, &err);
        free(list);
        list = next;
    }
}

int hd_health_set(hd_health *h, const char *service, bool serving)
{
    if (strlen(service) > HD_HEALTH_NAME_MAX)
        return HD_EINVAL;
    serving_status st = serving ? ST_SERVING : ST_NOT_SERVING;
    watcher *done = NULL;
    int rc = HD_OK;
    pthread_mutex_lock(&h->mu);
    if (h->shut) {
        rc = HD_ESTATE;
        goto out;
    }
    health_entry *e = find_locked(h, service);
    if (e)
        e->status = st;
    else
        rc = add_locked(h, service, st);
    if (rc != HD_OK)
        goto out;
    for (watcher **pp = &h->watchers; *pp;) {
        watcher *w = *pp;
        if (w->last == st || strcmp(w->service, service) != 0) {
            pp = &w->next;
            continue;
        }
        int src = send_status(w->call, st);
        if (src == HD_OK || src == HD_ECANCELED) {
            /* A cancelled call is unlinked by its cancel callback. */
            w->last = st;
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        h->n_watchers--;
        w->end_code = src;
        w->next = done;
        done = w;
    }
out:
    pthread_mutex_unlock(&h->mu);
    finish_all(done);
    return rc;
}

int hd_health_get(hd_health *h, const char *service, bool *serving)
{
    int rc = HD_ENOTFOUND;
    pthread_mutex_lock(&h->mu);
    const health_entry *e = find_locked(h, service);
    if (e) {
        *serving = e->status == ST_SERVING;
        rc = HD_OK;
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

void hd_health_shutdown(hd_health *h)
{
    pthread_mutex_lock(&h->mu);
    h->shut = 1;
    for (health_entry *e = h->entries; e; e = e->next)
        e->status = ST_NOT_SERVING;
    watcher *done = h->watchers;
    h->watchers = NULL;
    h->n_watchers = 0;
    for (watcher *w = done; w; w = w->next) {
        if (w->last != ST_NOT_SERVING)
            send_status(w->call, ST_NOT_SERVING);
    }
    pthread_mutex_unlock(&h->mu);
    finish_all(done);
}

size_t hd_health_watch_count(hd_health *h)
{
    pthread_mutex_lock(&h->mu);
    size_t n = h->n_watchers;
    pthread_mutex_unlock(&h->mu);
    return n;
}

static int health_check(hd_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp,
                        hd_err *err)
{
    (void)call;
    const Grpc__Health__V1__HealthCheckRequest *rq = (const void *)req;
    Grpc__Health__V1__HealthCheckResponse *rs = (void *)resp;
    hd_health *h = atomic_load(&g_health);
    if (!h)
        return hd_err_set(err, HD_EUNAVAIL, "health: not initialised");
    bool serving;
    if (hd_health_get(h, rq->service, &serving) != HD_OK)
        return hd_err_set(err, HD_ENOTFOUND, "health: unknown service %.200s", rq->service);
    rs->status = serving ? ST_SERVING : ST_NOT_SERVING;
    return HD_OK;
}

static void watch_cancelled(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    hd_health *h = atomic_load(&g_health);
    if (!h)
        return;
    watcher *found = NULL;
    pthread_mutex_lock(&h->mu);
    for (watcher **pp = &h->watchers; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            found = *pp;
            *pp = found->next;
            h->n_watchers--;
            found->next = NULL;
            found->end_code = HD_ECANCELED;
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    finish_all(found);
}

static int health_watch(hd_rpc_call *call, const ProtobufCMessage *req, hd_err *err)
{
    const Grpc__Health__V1__HealthCheckRequest *rq = (const void *)req;
    hd_health *h = atomic_load(&g_health);
    if (!h)
        return hd_err_set(err, HD_EUNAVAIL, "health: not initialised");
    size_t len = strlen(rq->service);
    watcher *w = malloc(sizeof(*w) + len + 1);
    if (!w)
        return hd_err_set(err, HD_ENOMEM, "health: out of memory");
    memcpy(w->service, rq->service, len + 1);
    w->call = call;
    w->end_code = HD_OK;
    w->next = NULL;

    int rc = HD_OK;
    pthread_mutex_lock(&h->mu);
    const health_entry *e = find_locked(h, w->service);
    w->last = e ? e->status : ST_SERVICE_UNKNOWN;
    if (h->shut) {
        /* Stopping: say so and end the stream, as hd_health_shutdown did for the others. */
        rc = send_status(call, ST_NOT_SERVING);
        goto fail_locked;
    }
    if (h->n_watchers >= HD_HEALTH_MAX_WATCHERS) {
        rc = hd_err_set(err, HD_EFULL, "health: %d watchers already", HD_HEALTH_MAX_WATCHERS);
        goto fail_locked;
    }
    /* Sent under the lock so no change can overtake the first message. */
    rc = send_status(call, w->last);
    if (rc != HD_OK) {
        hd_err_set(err, rc, "health: cannot send status");
        goto fail_locked;
    }
    w->id = ++h->next_id;
    w->next = h->watchers;
    h->watchers = w;
    h->n_watchers++;
    uint64_t id = w->id;
    pthread_mutex_unlock(&h->mu);
    /* Registered after linking: a cancel that already happened runs the callback now,
     * which finds and finishes this watcher. From here on w may be gone. */
    hd_rpc_call_on_cancel(call, watch_cancelled, (void *)(uintptr_t)id);
    return HD_RPC_ASYNC;

fail_locked:
    pthread_mutex_unlock(&h->mu);
    free(w);
    return rc;
}

static const hd_rpc_method methods[] = {
    {
        .path = "/grpc.health.v1.Health/Check",
        .kind = HD_RPC_UNARY,
        .request = &grpc__health__v1__health_check_request__descriptor,
        .response = &grpc__health__v1__health_check_response__descriptor,
        .unary = health_check,
        .permission = HD_RPC_OPEN,
    },
    {
        .path = "/grpc.health.v1.Health/Watch",
        .kind = HD_RPC_SERVER_STREAM,
        .request = &grpc__health__v1__health_check_request__descriptor,
        .response = &grpc__health__v1__health_check_response__descriptor,
        .stream = health_watch,
        .permission = HD_RPC_OPEN,
    },
};

const hd_rpc_method *hd_health_methods(hd_health *h, size_t *n)
{
    atomic_store(&g_health, h);
    *n = sizeof(methods) / sizeof(methods[0]);
    return methods;
}
