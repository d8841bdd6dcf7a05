/* Concurrent mailbox polling on a curl multi handle (see poll.h). */
#include "server/mail/poll.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "server/clock/clock.h"
#include "server/common/log.h"
#include "server/mail/imap.h"
#include "server/mail/mailbox.h"

typedef enum mstate { M_IDLE, M_SELECT, M_SEARCH, M_LARGER, M_FETCHING, M_FLAG } mstate;

typedef struct mbox mbox;

/* One transfer in the multi: a command of the mailbox's round, or a message download. */
typedef struct xfer {
    mbox *m;
    bool is_fetch;
    uint32_t uid;
    CURL *h;
    hd_imap_buf buf;
} xfer;

/* One message being committed by the store's writer thread. */
/* args is the first member: the store hands the same pointer to hd_ingest_apply (which
 * reads the args) and to job_done_cb (which reads the job). */
typedef struct job {
    hd_ingest_args args;
    mbox *m;
    uint32_t uid;
    hd_arena *a;
    char *raw;
    int code;
    char error[HD_ERR_DETAIL_MAX];
    struct job *next;
} job;

struct mbox {
    hd_poll *p;
    uint64_t id;
    hd_arena *conf_arena; /* mb and ic live here */
    Helpdesk__V1__Mailbox *mb;
    hd_imap_conf ic;
    bool removed;
    mstate st;
    int64_t next_poll_ms;
    /* The current round. */
    hd_arena *ra;
    uint32_t uidv, last_uid, max_uid;
    uint32_t window_to; /* last UID this round looks at (0 = no limit); more rounds follow */
    bool more;          /* UIDs beyond window_to exist: poll again at once */
    uint32_t *todo;
    uint64_t *sizes;
    size_t n_todo, next_todo;
    uint32_t *done;
    size_t n_done;
    unsigned fetching, committing;
    bool failed;
    char error[HD_ERR_DETAIL_MAX + 32];
    unsigned ingested;
};

struct hd_poll {
    hd_poll_opts o;
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t mu; /* guards stop, kick, jobs_done */
    bool stop, kick;
    job *jobs_done;
    mbox **boxes;
    size_t n_boxes;
    int64_t next_reload_ms;
};

static void round_fail(mbox *m, const char *what, const hd_err *err)
{
    if (!m->failed)
        snprintf(m->error, sizeof m->error, "%s: %s", what, err ? err->detail : "failed");
    m->failed = true;
}

static xfer *start(mbox *m, hd_imap_cmd cmd, const hd_imap_args *args, size_t max)
{
    hd_err err;
    xfer *x = calloc(1, sizeof *x);
    if (!x) {
        round_fail(m, "start", NULL);
        return NULL;
    }
    x->m = m;
    x->is_fetch = cmd == HD_IMAP_FETCH;
    x->uid = args ? args->uid : 0;
    x->buf.max = max;
    x->h = hd_imap_easy(&m->ic, cmd, args ? args : &(hd_imap_args){0}, &x->buf, &err);
    if (!x->h) {
        round_fail(m, "imap", &err);
        free(x);
        return NULL;
    }
    curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
    curl_multi_add_handle(m->p->multi, x->h);
    return x;
}

static void finish_round(mbox *m)
{
    hd_err err;
    int64_t now = hd_clock_now_ms();
    uint32_t last = m->failed ? m->last_uid : (m->max_uid > m->last_uid ? m->max_uid : m->last_uid);
    if (!m->failed && m->window_to > last)
        last = m->window_to; /* the whole window is done, gaps included */
    if (m->uidv && hd_ingest_state_commit(m->p->o.store, m->id, m->uidv, last,
                                          m->failed ? m->error : "", now, &err) < 0)
        hd_log(HD_LOG_ERROR, "mail.state_commit_failed", "mailbox=%" PRIu64 " error=\"%s\"", m->id,
               hd_errname(err.code));
    if (m->failed) {
        char q[300];
        hd_log(HD_LOG_WARN, "mail.poll_failed", "mailbox=%" PRIu64 " error=%s", m->id,
               hd_log_quote(q, sizeof q, m->error));
    } else if (m->ingested) {
        hd_log(HD_LOG_INFO, "mail.polled",
               "mailbox=%" PRIu64 " uidvalidity=%" PRIu32 " last_uid=%" PRIu32 " ingested=%u",
               m->id, m->uidv, last, m->ingested);
    }
    hd_arena_destroy(m->ra);
    m->ra = NULL;
    m->st = M_IDLE;
    m->next_poll_ms =
        m->more && !m->failed ? now : now + (int64_t)m->mb->poll_interval_seconds * 1000;
}

static void start_round(mbox *m)
{
    m->ra = hd_arena_create(0);
    m->uidv = m->last_uid = m->max_uid = m->window_to = 0;
    m->more = false;
    m->todo = m->done = NULL;
    m->sizes = NULL;
    m->n_todo = m->next_todo = m->n_done = 0;
    m->fetching = m->committing = m->ingested = 0;
    m->failed = false;
    m->error[0] = '\0';
    m->st = M_SELECT;
    if (!m->ra || !start(m, HD_IMAP_SELECT, NULL, 1 << 20))
        finish_round(m);
}

static void flag_step(mbox *m)
{
    if (m->n_done == 0 || m->failed) {
        finish_round(m);
        return;
    }
    if (getenv(HD_POLL_KILL_BEFORE_FLAG_ENV))
        raise(SIGKILL); /* test hook: committed, flags not yet changed */
    /* Sort so the set compresses into ranges. */
    for (size_t i = 1; i < m->n_done; i++)
        for (size_t j = i; j > 0 && m->done[j - 1] > m->done[j]; j--) {
            uint32_t t = m->done[j];
            m->done[j] = m->done[j - 1];
            m->done[j - 1] = t;
        }
    hd_imap_args a = {.set = hd_imap_uid_set(m->ra, m->done, m->n_done),
                      .target = m->mb->processed_folder};
    m->st = M_FLAG;
    bool move = m->mb->after_fetch == HELPDESK__V1__AFTER_FETCH__AFTER_FETCH_MOVE;
    if (!a.set || !start(m, move ? HD_IMAP_MOVE : HD_IMAP_SEEN, &a, 1 << 20))
        finish_round(m);
}

static void job_done_cb(void *arg, const hd_err *err)
{
    job *j = arg;
    hd_poll *p = j->m->p;
    j->code = err->code;
    if (err->code)
        snprintf(j->error, sizeof j->error, "%s", err->detail);
    pthread_mutex_lock(&p->mu);
    j->next = p->jobs_done;
    p->jobs_done = j;
    pthread_mutex_unlock(&p->mu);
    curl_multi_wakeup(p->multi);
}

static void submit(mbox *m, job *j)
{
    hd_err err;
    m->committing++;
    if (hd_store_submit(m->p->o.store, hd_ingest_apply, job_done_cb, j, &err) < 0) {
        m->committing--;
        round_fail(m, "store", &err);
        hd_arena_destroy(j->a);
        free(j->raw);
        free(j);
    }
}

static job *new_job(mbox *m, uint32_t uid)
{
    job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->m = m;
    j->uid = uid;
    j->a = hd_arena_create(0);
    if (!j->a) {
        free(j);
        return NULL;
    }
    return j;
}

static void pump(mbox *m)
{
    hd_poll *p = m->p;
    unsigned par = p->o.fetch_parallel ? p->o.fetch_parallel : HD_POLL_FETCH_PARALLEL;
    while (!m->failed && m->fetching < par && m->next_todo < m->n_todo) {
        size_t i = m->next_todo++;
        uint32_t uid = m->todo[i];
        if (m->sizes[i] > m->mb->max_message_bytes) {
            job *j = new_job(m, uid);
            if (!j) {
                round_fail(m, "memory", NULL);
                break;
            }
            char *why = hd_arena_printf(j->a, "too large: RFC822.SIZE over %" PRIu64 " bytes",
                                        m->mb->max_message_bytes);
            hd_ingest_prepare_rejected(&j->args, j->a, p->o.ingest, m->mb, m->uidv, uid,
                                       why ? why : "too large", hd_clock_now_ms());
            hd_log(HD_LOG_WARN, "mail.rejected",
                   "mailbox=%" PRIu64 " uid=%" PRIu32 " reason=\"%s\"", m->id, uid,
                   why ? why : "too large");
            submit(m, j);
            continue;
        }
        hd_imap_args a = {.uid_validity = m->uidv, .uid = uid};
        /* Literal plus headers may exceed RFC822.SIZE slightly; the cap is the mailbox limit. */
        if (start(m, HD_IMAP_FETCH, &a, (size_t)m->mb->max_message_bytes + 4096))
            m->fetching++;
    }
    if (m->st == M_FETCHING && m->fetching == 0 && m->committing == 0 &&
        (m->next_todo == m->n_todo || m->failed))
        flag_step(m);
}

static void on_fetch(mbox *m, xfer *x, CURLcode cc)
{
    hd_err err;
    m->fetching--;
    int rc = hd_imap_result(x->h, cc, &x->buf, &err);
    if (rc == HD_ETOOBIG) {
        job *j = new_job(m, x->uid);
        if (j) {
            hd_ingest_prepare_rejected(&j->args, j->a, m->p->o.ingest, m->mb, m->uidv, x->uid,
                                       err.detail, hd_clock_now_ms());
            submit(m, j);
        }
        return;
    }
    if (rc < 0) {
        round_fail(m, "fetch", &err);
        return;
    }
    job *j = new_job(m, x->uid);
    if (!j) {
        round_fail(m, "memory", NULL);
        return;
    }
    j->raw = x->buf.data; /* the job takes the message bytes */
    size_t len = x->buf.len;
    x->buf.data = NULL;
    rc = hd_ingest_prepare(&j->args, j->a, m->p->o.ingest, m->mb, m->uidv, x->uid,
                           j->raw ? j->raw : "", len, hd_clock_now_ms(), &err);
    if (rc < 0) {
        round_fail(m, "ingest", &err);
        hd_arena_destroy(j->a);
        free(j->raw);
        free(j);
        return;
    }
    submit(m, j);
}

static int seen_before(mbox *m, uint32_t uid, hd_err *err)
{
    hd_txn *txn = NULL;
    int rc = hd_store_read_begin(m->p->o.store, &txn, err);
    if (rc < 0)
        return rc;
    rc = hd_ingest_seen(txn, m->id, m->uidv, uid, err);
    hd_store_read_end(txn);
    return rc;
}

static void on_cmd(mbox *m, xfer *x, CURLcode cc)
{
    hd_err err;
    int rc = hd_imap_result(x->h, cc, &x->buf, &err);
    hd_log(HD_LOG_DEBUG, "mail.imap_done", "mailbox=%" PRIu64 " state=%d rc=%d bytes=%zu", m->id,
           (int)m->st, rc, x->buf.len);
    if (rc < 0) {
        round_fail(m, "imap", &err);
        if (m->st == M_FETCHING)
            return;
        finish_round(m);
        return;
    }
    const char *b = x->buf.data ? x->buf.data : "";
    switch (m->st) {
    case M_SELECT: {
        uint32_t exists;
        Helpdesk__V1__MailboxState *st = NULL;
        hd_txn *txn = NULL;
        if (hd_imap_parse_select(b, x->buf.len, &m->uidv, &exists, &err) < 0) {
            round_fail(m, "select", &err);
            finish_round(m);
            return;
        }
        if (hd_store_read_begin(m->p->o.store, &txn, &err) == 0) {
            if (hd_mailbox_state_get(txn, m->ra, m->id, &st, &err) == 0 && st &&
                st->uid_validity == m->uidv)
                m->last_uid = st->last_uid;
            hd_store_read_end(txn);
        }
        /* One window of UIDs per round: libcurl 7.88 fails on long SEARCH replies. */
        uint32_t uidnext = hd_imap_parse_uidnext(b, x->buf.len);
        m->window_to = 0;
        m->more = false;
        if (uidnext && uidnext - 1 > m->last_uid + HD_POLL_UID_WINDOW) {
            m->window_to = m->last_uid + HD_POLL_UID_WINDOW;
            m->more = true;
        }
        m->st = M_SEARCH;
        hd_imap_args a = {.uid = m->last_uid + 1, .uid_to = m->window_to};
        if (!start(m, HD_IMAP_SEARCH, &a, 64u << 20))
            finish_round(m);
        return;
    }
    case M_SEARCH: {
        uint32_t *uids;
        size_t n;
        if (hd_imap_parse_search(b, x->buf.len, m->last_uid + 1, m->ra, &uids, &n, &err) < 0) {
            round_fail(m, "search", &err);
            finish_round(m);
            return;
        }
        if (n == 0) {
            finish_round(m);
            return;
        }
        m->todo = uids;
        m->n_todo = n;
        m->max_uid = uids[n - 1];
        /* RFC822.SIZE checked before any download, by the server: UIDs over the limit. */
        m->st = M_LARGER;
        hd_imap_args la = {
            .uid = m->last_uid + 1, .uid_to = m->window_to, .size = m->mb->max_message_bytes};
        if (!start(m, HD_IMAP_LARGER, &la, 64u << 20))
            finish_round(m);
        return;
    }
    case M_LARGER: {
        uint32_t *big;
        size_t nbig;
        if (hd_imap_parse_search(b, x->buf.len, m->last_uid + 1, m->ra, &big, &nbig, &err) < 0) {
            round_fail(m, "search larger", &err);
            finish_round(m);
            return;
        }
        /* Keep only UIDs not committed before (a crash may have lost their flag change: those
         * only need the flag). */
        uint32_t *todo = hd_arena_calloc(m->ra, m->n_todo, sizeof *todo);
        uint64_t *sizes = hd_arena_calloc(m->ra, m->n_todo, sizeof *sizes);
        m->done = hd_arena_calloc(m->ra, m->n_todo, sizeof *m->done);
        if (!todo || !sizes || !m->done) {
            round_fail(m, "memory", NULL);
            finish_round(m);
            return;
        }
        size_t w = 0, k = 0;
        for (size_t i = 0; i < m->n_todo; i++) {
            /* Both lists ascend: a merge walk marks the oversized ones. */
            while (k < nbig && big[k] < m->todo[i])
                k++;
            uint64_t size = k < nbig && big[k] == m->todo[i] ? m->mb->max_message_bytes + 1 : 0;
            int seen = seen_before(m, m->todo[i], &err);
            if (seen < 0) {
                round_fail(m, "store", &err);
                finish_round(m);
                return;
            }
            if (seen) {
                m->done[m->n_done++] = m->todo[i];
                continue;
            }
            todo[w] = m->todo[i];
            sizes[w++] = size;
        }
        m->todo = todo;
        m->sizes = sizes;
        m->n_todo = w;
        m->next_todo = 0;
        m->st = M_FETCHING;
        pump(m);
        return;
    }
    case M_FLAG:
        finish_round(m);
        return;
    default:
        return;
    }
}

static void drain_jobs(hd_poll *p)
{
    pthread_mutex_lock(&p->mu);
    job *j = p->jobs_done;
    p->jobs_done = NULL;
    pthread_mutex_unlock(&p->mu);
    while (j) {
        job *next = j->next;
        mbox *m = j->m;
        m->committing--;
        if (j->code == 0) {
            m->done[m->n_done++] = j->uid;
            m->ingested++;
            if (j->args.acked)
                hd_outbox_kick(p->o.outbox);
            hd_log(HD_LOG_DEBUG, "mail.ingested",
                   "mailbox=%" PRIu64 " uid=%" PRIu32 " outcome=%s ticket=%" PRIu64, m->id, j->uid,
                   hd_ingest_outcome_name(j->args.outcome), j->args.ticket_id);
        } else {
            hd_err e = {j->code, ""};
            memcpy(e.detail, j->error, sizeof e.detail);
            round_fail(m, "ingest", &e);
        }
        hd_arena_destroy(j->a);
        free(j->raw);
        free(j);
        if (m->st == M_FETCHING)
            pump(m);
        j = next;
    }
}

static void free_box(mbox *m)
{
    hd_arena_destroy(m->ra);
    hd_arena_destroy(m->conf_arena);
    free(m);
}

/* Re-reads mailbox settings; idle mailboxes take new settings, removed idle ones go. */
static void reload(hd_poll *p, bool poll_now)
{
    hd_err err;
    hd_arena *a = hd_arena_create(0);
    hd_mailbox_conf *confs = NULL;
    size_t n = 0;
    if (!a)
        return;
    if (hd_mailbox_all_conf(p->o.store, p->o.mail_key, a, &confs, &n, &err) < 0) {
        hd_log(HD_LOG_ERROR, "mail.reload_failed", "error=\"%s\"", hd_errname(err.code));
        hd_arena_destroy(a);
        return;
    }
    for (size_t i = 0; i < p->n_boxes; i++)
        p->boxes[i]->removed = true;
    for (size_t i = 0; i < n; i++) {
        mbox *m = NULL;
        for (size_t k = 0; k < p->n_boxes; k++)
            if (p->boxes[k]->id == confs[i].mb->id)
                m = p->boxes[k];
        if (!m) {
            mbox **nb = realloc(p->boxes, (p->n_boxes + 1) * sizeof *nb);
            m = calloc(1, sizeof *m);
            if (!nb || !m) {
                free(m);
                if (nb)
                    p->boxes = nb;
                continue;
            }
            p->boxes = nb;
            p->boxes[p->n_boxes++] = m;
            m->p = p;
            m->id = confs[i].mb->id;
        }
        m->removed = false;
        if (m->st != M_IDLE)
            continue;
        /* Each mailbox keeps its own copy of its settings. */
        hd_arena *ca = hd_arena_create(0);
        hd_mailbox_conf mc;
        hd_txn *txn = NULL;
        if (!ca || hd_store_read_begin(p->o.store, &txn, &err) < 0) {
            hd_arena_destroy(ca);
            continue;
        }
        int rc = hd_mailbox_get_conf(txn, p->o.mail_key, ca, m->id, &mc, &err);
        hd_store_read_end(txn);
        if (rc < 0) {
            hd_arena_destroy(ca);
            continue;
        }
        hd_arena_destroy(m->conf_arena);
        m->conf_arena = ca;
        m->mb = mc.mb;
        m->ic = (hd_imap_conf){.url = mc.mb->imap_url,
                               .username = mc.mb->imap_username,
                               .password = mc.mb->imap_password,
                               .folder = mc.mb->folder,
                               .tls = mc.mb->tls};
        if (poll_now)
            m->next_poll_ms = 0;
    }
    size_t w = 0;
    for (size_t i = 0; i < p->n_boxes; i++) {
        if (p->boxes[i]->removed && p->boxes[i]->st == M_IDLE)
            free_box(p->boxes[i]);
        else
            p->boxes[w++] = p->boxes[i];
    }
    p->n_boxes = w;
    hd_arena_destroy(a);
}

static bool busy(hd_poll *p)
{
    for (size_t i = 0; i < p->n_boxes; i++)
        if (p->boxes[i]->st != M_IDLE)
            return true;
    return false;
}

static void *poll_thread(void *arg)
{
    hd_poll *p = arg;
    int64_t reload_ms = p->o.reload_ms ? p->o.reload_ms : HD_POLL_RELOAD_MS;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        bool stop = p->stop, kick = p->kick;
        p->kick = false;
        pthread_mutex_unlock(&p->mu);
        if (stop && !busy(p))
            break;
        int64_t now = hd_clock_now_ms();
        if (!stop && (kick || now >= p->next_reload_ms)) {
            reload(p, kick);
            p->next_reload_ms = now + reload_ms;
        }
        for (size_t i = 0; !stop && i < p->n_boxes; i++) {
            mbox *m = p->boxes[i];
            if (m->st == M_IDLE && !m->removed && m->mb && m->mb->enabled && now >= m->next_poll_ms)
                start_round(m);
        }
        int running = 0;
        curl_multi_perform(p->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(p->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *h = msg->easy_handle;
            CURLcode cc = msg->data.result;
            xfer *x = NULL;
            curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&x);
            curl_multi_remove_handle(p->multi, h);
            if (x->is_fetch)
                on_fetch(x->m, x, cc);
            else
                on_cmd(x->m, x, cc);
            mbox *m = x->m;
            curl_easy_cleanup(h);
            hd_imap_buf_free(&x->buf);
            free(x);
            if (m->st == M_FETCHING)
                pump(m);
        }
        drain_jobs(p);
        curl_multi_poll(p->multi, NULL, 0, 200, NULL);
    }
    return NULL;
}

int hd_poll_start(hd_poll **out, const hd_poll_opts *opts, hd_err *err)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    hd_poll *p = calloc(1, sizeof *p);
    if (!p)
        return hd_err_set(err, HD_ENOMEM, "poll: out of memory");
    p->o = *opts;
    p->multi = curl_multi_init();
    if (!p->multi) {
        free(p);
        return hd_err_set(err, HD_ENOMEM, "poll: curl_multi_init failed");
    }
    /* Several downloads per mailbox run on separate connections to the same server. */
    curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    /* Keep idle connections (logged in, folder selected) for the next download: the default
     * cache is sized by the handles currently added, which is small between transfers. */
    curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, 256L);
    pthread_mutex_init(&p->mu, NULL);
    if (pthread_create(&p->thread, NULL, poll_thread, p) != 0) {
        pthread_mutex_destroy(&p->mu);
        curl_multi_cleanup(p->multi);
        free(p);
        return hd_err_set(err, HD_ENOMEM, "poll: cannot start thread");
    }
    *out = p;
    return HD_OK;
}

void hd_poll_kick(hd_poll *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->kick = true;
    pthread_mutex_unlock(&p->mu);
    curl_multi_wakeup(p->multi);
}

void hd_poll_stop(hd_poll *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_mutex_unlock(&p->mu);
    curl_multi_wakeup(p->multi);
    pthread_join(p->thread, NULL);
    for (size_t i = 0; i < p->n_boxes; i++)
        free_box(p->boxes[i]);
    free(p->boxes);
    curl_multi_cleanup(p->multi);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
