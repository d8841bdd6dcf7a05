/* SLA webhook delivery: pick due queue entries, POST outside any transaction, record the
 * outcome and the next attempt in one mutation. */
#include "server/sla/webhook.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "helpdesk/v1/sla.pb-c.h"
#include "server/clock/clock.h"
#include "server/common/arena.h"
#include "server/common/log.h"
#include "server/common/worker.h"
#include "server/sla/actions.h"
#include "server/sla/record.h"

#define BACKOFF_FIRST_S 30
#define BACKOFF_MAX_S   3600
#define STEP_MAX        64 /* deliveries per step */

typedef struct job {
    hd_key queue_key;    /* SETTINGS key of the queue entry */
    hd_key delivery_key; /* SETTINGS key of the delivery record */
    char url[2100];
    char body[512];
    int ok;
    char error[256];
} job;

typedef struct pick {
    int64_t now_s;
    size_t n;
    job *jobs;
} pick;

static int pick_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    pick *p = arg;
    hd_key_reader r;
    hd_err e;
    char *prefix;
    int64_t at;
    hd_arena *a = hd_arena_create(0);
    if (!a)
        return HD_ENOMEM;
    hd_key_reader_init(&r, key, klen);
    int rc = hd_key_read_str(&r, a, &prefix, NULL, &e);
    if (rc == 0)
        rc = hd_key_read_i64(&r, &at, &e);
    hd_arena_destroy(a);
    if (rc < 0)
        return 0;
    if (at > p->now_s)
        return 1;
    job *j = &p->jobs[p->n++];
    memset(j, 0, sizeof(*j));
    hd_key_init(&j->queue_key);
    hd_key_bytes(&j->queue_key, key, klen);
    hd_key_init(&j->delivery_key);
    hd_key_bytes(&j->delivery_key, (const unsigned char *)key + r.pos, klen - r.pos);
    return p->n == STEP_MAX ? 1 : 0;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

static void post(job *j)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    if (!c) {
        snprintf(j->error, sizeof(j->error), "curl_easy_init failed");
        return;
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, j->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)HD_SLA_WEBHOOK_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK)
        snprintf(j->error, sizeof(j->error), "curl: %s", curl_easy_strerror(rc));
    else if (status < 200 || status > 299)
        snprintf(j->error, sizeof(j->error), "HTTP %ld", status);
    else
        j->ok = 1;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

typedef struct record_arg {
    job *j;
    int64_t now_s;
    hd_arena *a;
} record_arg;

/* Records one attempt's outcome and reschedules or drops the queue entry. */
static int record_apply(hd_txn *txn, void *arg, hd_err *err)
{
    record_arg *ra = arg;
    job *j = ra->j;
    Helpdesk__V1__SlaDelivery *d = NULL;
    hd_arena_reset(ra->a);
    int rc = hd_store_get_msg(txn, HD_STORE_SETTINGS, &j->delivery_key,
                              &helpdesk__v1__sla_delivery__descriptor, ra->a,
                              (ProtobufCMessage **)&d, err);
    if (rc == 0)
        rc = hd_store_del(txn, HD_STORE_SETTINGS, &j->queue_key, err);
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(err);
        return 0; /* recorded by an earlier run */
    }
    if (rc < 0)
        return rc;
    d->attempts++;
    d->delivered = j->ok;
    d->last_error = j->ok ? (char *)"" : j->error;
    d->next_attempt_time = NULL;
    if (!j->ok && d->attempts < HD_SLA_WEBHOOK_ATTEMPTS) {
        int64_t wait = BACKOFF_FIRST_S << (d->attempts - 1 < 20 ? d->attempts - 1 : 20);
        if (wait > BACKOFF_MAX_S)
            wait = BACKOFF_MAX_S;
        d->next_attempt_time = hd_sla_record_ts(ra->a, ra->now_s + wait);
        hd_key q;
        hd_key_init(&q);
        hd_key_str(&q, HD_SLA_KEY_WEBHOOKQ);
        hd_key_i64(&q, ra->now_s + wait);
        hd_key_bytes(&q, j->delivery_key.buf, j->delivery_key.len);
        rc = hd_store_put(txn, HD_STORE_SETTINGS, &q, "", 0, 0, err);
        if (rc < 0)
            return rc;
    }
    return hd_store_put_msg(txn, HD_STORE_SETTINGS, &j->delivery_key, &d->base, 0, err);
}

/* Fills the URL and JSON body of j from its delivery record. Returns 0, or -1 when gone. */
static int prepare(hd_txn *rt, hd_arena *a, job *j)
{
    Helpdesk__V1__SlaDelivery *d = NULL;
    hd_err e;
    if (hd_store_get_msg(rt, HD_STORE_SETTINGS, &j->delivery_key,
                         &helpdesk__v1__sla_delivery__descriptor, a, (ProtobufCMessage **)&d,
                         &e) < 0 ||
        !d->destination)
        return -1;
    static const char *const targets[] = {"", "first response", "next response", "resolution"};
    int t = d->target >= 1 && d->target <= 3 ? d->target : 0;
    snprintf(j->url, sizeof(j->url), "%s", d->destination);
    snprintf(j->body, sizeof(j->body), "{\"text\": \"SLA %s: ticket %llu, %s target\"}",
             d->event == HELPDESK__V1__SLA_EVENT_KIND__SLA_EVENT_KIND_BREACH ? "breach" : "warning",
             (unsigned long long)d->ticket_id, targets[t]);
    return 0;
}

int hd_sla_webhook_step(hd_store *s, int64_t now_ms, int *sent, int *failed, hd_err *err)
{
    pick p = {now_ms / 1000, 0, calloc(STEP_MAX, sizeof(job))};
    hd_arena *a = hd_arena_create(0);
    hd_txn *rt = NULL;
    int rc = 0, ok = 0, bad = 0;
    if (!p.jobs || !a) {
        rc = hd_err_set(err, HD_ENOMEM, "sla webhook: out of memory");
        goto fail;
    }
    rc = hd_store_read_begin(s, &rt, err);
    if (rc < 0)
        goto fail;
    hd_key prefix;
    hd_key_init(&prefix);
    hd_key_str(&prefix, HD_SLA_KEY_WEBHOOKQ);
    hd_store_range r = {.prefix = &prefix};
    int64_t n = hd_store_scan(rt, HD_STORE_SETTINGS, &r, pick_cb, &p, err);
    for (size_t i = 0; n >= 0 && i < p.n; i++)
        if (prepare(rt, a, &p.jobs[i]) < 0)
            snprintf(p.jobs[i].error, sizeof(p.jobs[i].error), "delivery record missing");
    hd_store_read_end(rt);
    if (n < 0) {
        rc = (int)n;
        goto fail;
    }
    for (size_t i = 0; i < p.n; i++) {
        job *j = &p.jobs[i];
        if (j->url[0])
            post(j);
        record_arg ra = {j, now_ms / 1000, a};
        rc = hd_store_write(s, record_apply, &ra, err);
        if (rc < 0)
            goto fail;
        if (j->ok)
            ok++;
        else
            bad++;
        if (!j->ok)
            hd_log(HD_LOG_WARN, "sla_webhook_failed", "url=%s error=\"%s\"", j->url, j->error);
    }
fail:
    if (sent)
        *sent = ok;
    if (failed)
        *failed = bad;
    hd_arena_destroy(a);
    free(p.jobs);
    return rc;
}

struct hd_sla_webhook {
    hd_store *store;
    hd_worker w;
};

static void *webhook_main(void *arg)
{
    hd_sla_webhook *w = arg;
    pthread_mutex_lock(&w->w.mu);
    while (!w->w.stop) {
        pthread_mutex_unlock(&w->w.mu);
        hd_err err;
        hd_err_clear(&err);
        if (hd_sla_webhook_step(w->store, hd_clock_now_ms(), NULL, NULL, &err) < 0)
            hd_log(HD_LOG_WARN, "sla_webhook_step_failed", "detail=\"%s\"", err.detail);
        pthread_mutex_lock(&w->w.mu);
        struct timespec ts;
        hd_worker_deadline(&ts, 1000);
        while (!w->w.stop)
            if (pthread_cond_timedwait(&w->w.cv, &w->w.mu, &ts) == ETIMEDOUT)
                break;
    }
    pthread_mutex_unlock(&w->w.mu);
    return NULL;
}

int hd_sla_webhook_start(hd_sla_webhook **out, hd_store *s, hd_err *err)
{
    hd_sla_webhook *w = calloc(1, sizeof(*w));
    *out = NULL;
    if (!w)
        return hd_err_set(err, HD_ENOMEM, "sla webhook: out of memory");
    w->store = s;
    int rc = hd_worker_start(&w->w, webhook_main, w, "sla webhook", err);
    if (rc < 0) {
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void hd_sla_webhook_stop(hd_sla_webhook *w)
{
    if (!w)
        return;
    hd_worker_stop(&w->w);
    free(w);
}
