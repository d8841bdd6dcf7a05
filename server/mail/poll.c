/* Concurrent mailbox polling (see poll.h): a scheduler thread re-reads the mailbox list and
 * starts each due mailbox's session on a thread of its own, spoken over libcurl's connection
 * (imap_conn.h). Per round: SELECT (UIDVALIDITY, UIDNEXT), one UID FETCH of RFC822.SIZE for
 * the window, then pipelined batches of BODY.PEEK[]: each message goes to the store's group
 * commit as it arrives, and a batch's \Seen or MOVE is sent behind the next batch's FETCH
 * once all of the batch is durable. Between rounds the session waits in IDLE where the
 * server offers it. */
#include "server/mail/poll.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/clock/clock.h"
#include "server/common/log.h"
#include "server/mail/imap_conn.h"
#include "server/mail/mailbox.h"

#include <curl/curl.h>

typedef struct mbox mbox;

/* One message being committed by the store's writer thread. args is the first member: the
 * store hands the same pointer to hd_ingest_apply (which reads the args) and to job_done_cb
 * (which reads the job). */
typedef struct job {
    hd_ingest_args args;
    mbox *m;
    uint32_t uid;
    int slot; /* the batch's slot (mbox.pending) */
    hd_arena *a;
    char *raw;
    int code;
    char error[HD_ERR_DETAIL_MAX];
    struct job *next;
} job;

struct mbox {
    hd_poll *p;
    uint64_t id;
    hd_arena *conf_arena; /* mb and ic live here; not changed while running */
    Helpdesk__V1__Mailbox *mb;
    hd_imap_conf ic;
    bool removed;
    bool stale;     /* stored settings differ from the running thread's (scheduler only) */
    bool running;   /* a round thread owns the fields below (guarded by p->mu) */
    bool finished;  /* the round thread ended and awaits its join */
    bool interrupt; /* the thread should end its IDLE and exit (p->mu) */
    pthread_t th;
    int64_t next_poll_ms;
    /* The current round (round thread only, but jobs_done and pending under mu). */
    hd_arena *ra;
    uint32_t uidv, last_uid;
    bool more; /* UIDs beyond the window exist: poll again at once */
    bool failed;
    char error[HD_ERR_DETAIL_MAX + 32];
    unsigned ingested;
    int slot;            /* slot of the batch being submitted: batches alternate 0 and 1 */
    unsigned pending[2]; /* per slot: submitted, not yet acknowledged */
    job *jobs_done;
    pthread_cond_t cv; /* signalled when a job of this mailbox is acknowledged */
};

struct hd_poll {
    hd_poll_opts o;
    pthread_t thread;
    pthread_mutex_t mu; /* guards stop, kick, every mbox's running/finished/pending/jobs_done */
    pthread_cond_t cv;  /* wakes the scheduler: kick, stop, a round finished */
    bool stop, kick;
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

static bool stopping(hd_poll *p)
{
    if (!p)
        return false;
    pthread_mutex_lock(&p->mu);
    bool s = p->stop;
    pthread_mutex_unlock(&p->mu);
    return s;
}

static bool cancel_round(void *ud)
{
    return stopping(ud);
}

static void job_free(job *j)
{
    if (!j)
        return;
    hd_arena_destroy(j->a);
    free(j->raw);
    free(j);
}

static job *new_job(mbox *m, uint32_t uid)
{
    job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->m = m;
    j->uid = uid;
    j->slot = m->slot;
    j->a = hd_arena_create(0);
    if (!j->a) {
        free(j);
        return NULL;
    }
    return j;
}

static void job_done_cb(void *arg, const hd_err *err)
{
    job *j = arg;
    mbox *m = j->m;
    hd_poll *p = m->p;
    j->code = err->code;
    if (err->code)
        snprintf(j->error, sizeof j->error, "%s", err->detail);
    else if (!j->args.replayed)
        hd_tickets_bus_publish(p->o.bus, &j->args.committed); /* WatchTickets sees mail too */
    pthread_mutex_lock(&p->mu);
    j->next = m->jobs_done;
    m->jobs_done = j;
    m->pending[j->slot]--;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Submits j (taken) to group commit. */
static void submit(mbox *m, job *j)
{
    hd_err err;
    pthread_mutex_lock(&m->p->mu);
    m->pending[j->slot]++;
    pthread_mutex_unlock(&m->p->mu);
    if (hd_store_submit(m->p->o.store, hd_ingest_apply, job_done_cb, j, &err) < 0) {
        pthread_mutex_lock(&m->p->mu);
        m->pending[j->slot]--;
        pthread_mutex_unlock(&m->p->mu);
        round_fail(m, "store", &err);
        job_free(j);
    }
}

/* Waits until every submitted job of slot is acknowledged; their committed UIDs are
 * appended to done[*n_done]. */
static void wait_jobs(mbox *m, int slot, uint32_t *done, size_t *n_done)
{
    hd_poll *p = m->p;
    job *j = NULL;
    pthread_mutex_lock(&p->mu);
    while (m->pending[slot])
        pthread_cond_wait(&m->cv, &p->mu);
    for (job **pp = &m->jobs_done; *pp;) {
        job *x = *pp;
        if (x->slot == slot) {
            *pp = x->next;
            x->next = j;
            j = x;
        } else
            pp = &x->next;
    }
    pthread_mutex_unlock(&p->mu);
    while (j) {
        job *next = j->next;
        if (j->code == 0) {
            done[(*n_done)++] = j->uid;
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
        job_free(j);
        j = next;
    }
}

static void reject(mbox *m, uint32_t uid, const char *why)
{
    job *j = new_job(m, uid);
    if (!j) {
        round_fail(m, "memory", NULL);
        return;
    }
    hd_ingest_prepare_rejected(&j->args, j->a, m->p->o.ingest, m->mb, m->uidv, uid, why,
                               hd_clock_now_ms());
    hd_log(HD_LOG_WARN, "mail.rejected", "mailbox=%" PRIu64 " uid=%" PRIu32 " reason=\"%s\"", m->id,
           uid, why);
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

/* ---- The round's IMAP responses ----------------------------------------------------- */

typedef struct sizes {
    hd_arena *a;
    uint32_t from, to;
    uint32_t *uids;
    uint64_t *size;
    size_t n, cap;
} sizes;

static int on_size(void *ud, const hd_imap_resp *r, hd_err *err)
{
    sizes *s = ud;
    if (r->data != HD_IMAP_DATA_FETCH || !r->has_uid || !r->has_size || r->uid < s->from ||
        r->uid > s->to)
        return 0; /* e.g. an unsolicited FLAGS update */
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        uint32_t *u = hd_arena_calloc(s->a, cap, sizeof *u);
        uint64_t *z = hd_arena_calloc(s->a, cap, sizeof *z);
        if (!u || !z)
            return hd_err_set(err, HD_ENOMEM, "poll: out of memory");
        if (s->n) {
            memcpy(u, s->uids, s->n * sizeof *u);
            memcpy(z, s->size, s->n * sizeof *z);
        }
        s->uids = u;
        s->size = z;
        s->cap = cap;
    }
    s->uids[s->n] = r->uid;
    s->size[s->n++] = r->size;
    return 0;
}

typedef struct bodies {
    mbox *m;
    uint32_t from, to; /* the batch asked for */
} bodies;

static int on_body(void *ud, const hd_imap_resp *r, hd_err *err)
{
    bodies *b = ud;
    mbox *m = b->m;
    if (r->data != HD_IMAP_DATA_FETCH || !r->has_uid || !r->has_body || r->uid < b->from ||
        r->uid > b->to)
        return 0;
    if (r->body_len > m->mb->max_message_bytes) {
        reject(m, r->uid, "too large: body over the mailbox limit");
        return 0;
    }
    job *j = new_job(m, r->uid);
    if (!j)
        return hd_err_set(err, HD_ENOMEM, "poll: out of memory");
    /* The job takes a copy: the parser's buffer is reused by the next response. */
    j->raw = malloc(r->body_len + 1);
    if (!j->raw) {
        job_free(j);
        return hd_err_set(err, HD_ENOMEM, "poll: out of memory");
    }
    if (r->body_len)
        memcpy(j->raw, r->body, r->body_len);
    j->raw[r->body_len] = '\0';
    int rc = hd_ingest_prepare(&j->args, j->a, m->p->o.ingest, m->mb, m->uidv, r->uid, j->raw,
                               r->body_len, hd_clock_now_ms(), err);
    if (rc < 0) {
        job_free(j);
        return rc;
    }
    submit(m, j);
    return 0;
}

/* Writes uids[0..n) (ascending) as an IMAP set "1:3,7" into the round arena. */
static char *uid_set(hd_arena *a, const uint32_t *uids, size_t n)
{
    size_t cap = n * 22 + 1, len = 0;
    char *s = hd_arena_alloc(a, cap);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < n;) {
        size_t k = i;
        while (k + 1 < n && uids[k + 1] == uids[k] + 1)
            k++;
        int w = k > i ? snprintf(s + len, cap - len, "%s%" PRIu32 ":%" PRIu32, len ? "," : "",
                                 uids[i], uids[k])
                      : snprintf(s + len, cap - len, "%s%" PRIu32, len ? "," : "", uids[i]);
        len += (size_t)w;
        i = k + 1;
    }
    return s;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sends \Seen or MOVE for the committed done[0..n) (sorted here), without waiting for the
 * answer: tag gets the command's tag, or "" when there was nothing to flag. */
static int flag_send(mbox *m, hd_imap_conn *c, uint32_t *done, size_t n, char tag[16], hd_err *err)
{
    tag[0] = '\0';
    if (!n)
        return 0;
    if (getenv(HD_POLL_KILL_BEFORE_FLAG_ENV))
        raise(SIGKILL); /* test hook: committed, flags not yet changed */
    qsort(done, n, sizeof *done, cmp_u32);
    char *set = uid_set(m->ra, done, n);
    if (!set)
        return hd_err_set(err, HD_ENOMEM, "poll: out of memory");
    bool move = m->mb->after_fetch == HELPDESK__V1__AFTER_FETCH__AFTER_FETCH_MOVE;
    char *line = move ? hd_arena_printf(m->ra, "UID MOVE %s \"%s\"", set, m->mb->processed_folder)
                      : hd_arena_printf(m->ra, "UID STORE %s +FLAGS.SILENT (\\Seen)", set);
    if (!line)
        return hd_err_set(err, HD_ENOMEM, "poll: out of memory");
    return hd_imap_conn_cmd(c, line, tag, err);
}

/* ---- One round ----------------------------------------------------------------------- */

static bool name_ok(const char *s)
{
    return s && *s && !strpbrk(s, "\r\n\"\\");
}

/* For a round that failed before SELECT: sets the stored UIDVALIDITY and last UID (0 and 0
 * when never polled), so recording the error changes nothing else. Returns false when the
 * state could not be read (then nothing is recorded). */
static bool keep_state(mbox *m, uint32_t *last)
{
    Helpdesk__V1__MailboxState *st = NULL;
    hd_txn *txn = NULL;
    hd_err err;
    if (hd_store_read_begin(m->p->o.store, &txn, &err) < 0)
        return false;
    int rc = hd_mailbox_state_get(txn, m->ra, m->id, &st, &err);
    hd_store_read_end(txn);
    if (rc < 0)
        return false;
    if (st) {
        m->uidv = st->uid_validity;
        *last = st->last_uid;
    }
    return true;
}

/* Downloads the window's new messages in batches, commits each batch through group commit
 * and flags it; records the round in the mailbox state and schedules the next poll one
 * interval after started. Runs on the round thread over *cp, connecting when it is NULL;
 * a failed round closes it (NULL again). */
static void run_round(mbox *m, hd_imap_conn **cp, int64_t started)
{
    hd_poll *p = m->p;
    hd_imap_conn *c = *cp;
    hd_err err;
    char tag[16];
    hd_imap_select s;
    sizes z = {0};
    uint32_t to = 0;
    const char *folder = m->mb->folder && *m->mb->folder ? m->mb->folder : "INBOX";
    bool move = m->mb->after_fetch == HELPDESK__V1__AFTER_FETCH__AFTER_FETCH_MOVE;

    if (!name_ok(folder) || (move && !name_ok(m->mb->processed_folder))) {
        hd_err_set(&err, HD_EINVAL, "folder name with CR, LF, quote or backslash");
        round_fail(m, "imap", &err);
        goto out;
    }
    /* One response holds at most one message: bound it by the mailbox's limit. */
    if (!c && hd_imap_conn_open(&c, &m->ic, (size_t)m->mb->max_message_bytes + (64u << 10),
                                cancel_round, p, &err) < 0) {
        round_fail(m, "imap", &err);
        goto out;
    }
    if (hd_imap_conn_select(c, folder, &s, &err) < 0) {
        round_fail(m, "select", &err);
        goto out;
    }
    m->uidv = s.uidvalidity;
    {
        Helpdesk__V1__MailboxState *st = NULL;
        hd_txn *txn = NULL;
        if (hd_store_read_begin(p->o.store, &txn, &err) == 0) {
            if (hd_mailbox_state_get(txn, m->ra, m->id, &st, &err) == 0 && st &&
                st->uid_validity == m->uidv)
                m->last_uid = st->last_uid;
            hd_store_read_end(txn);
        }
    }
    if (!s.exists || (s.uidnext && s.uidnext - 1 <= m->last_uid))
        goto out; /* nothing new; UIDNEXT lets an idle mailbox cost one SELECT */
    to = s.uidnext ? s.uidnext - 1 : UINT32_MAX;
    if (to - m->last_uid > HD_POLL_UID_WINDOW) {
        to = m->last_uid + HD_POLL_UID_WINDOW;
        m->more = true;
    }
    /* RFC822.SIZE of every message of the window before any download. */
    z.a = m->ra;
    z.from = m->last_uid + 1;
    z.to = to;
    char *cmd =
        hd_arena_printf(m->ra, "UID FETCH %" PRIu32 ":%" PRIu32 " (UID RFC822.SIZE)", z.from, to);
    if (!cmd || hd_imap_conn_cmd(c, cmd, tag, &err) < 0 ||
        hd_imap_conn_wait(c, tag, on_size, &z, &err) < 0) {
        round_fail(m, "sizes", &err);
        goto out;
    }
    /* Batches are pipelined: batch b's FETCH is sent, then batch b-1 (committed meanwhile)
     * is flagged behind it, so the IMAP server, this thread and the store's writer work at
     * once. A batch is flagged only once all of it is durable. */
    uint32_t *done[2], *batch = hd_arena_calloc(m->ra, HD_POLL_FETCH_BATCH + 1, sizeof *batch);
    size_t n_done[2] = {0, 0};
    done[0] = hd_arena_calloc(m->ra, HD_POLL_FETCH_BATCH + 1, sizeof *done[0]);
    done[1] = hd_arena_calloc(m->ra, HD_POLL_FETCH_BATCH + 1, sizeof *done[1]);
    if (!done[0] || !done[1] || !batch) {
        round_fail(m, "memory", NULL);
        goto out;
    }
    int prev = -1; /* slot of the batch fetched but not yet flagged */
    for (size_t i = 0; i < z.n && !m->failed && !stopping(p);) {
        size_t nb = 0, looked = 0;
        char ftag[16] = "", stag[16] = "";
        int slot = prev == 0 ? 1 : 0;
        m->slot = slot;
        for (; i < z.n && looked < HD_POLL_FETCH_BATCH; i++, looked++) {
            int seen = seen_before(m, z.uids[i], &err);
            if (seen < 0) {
                round_fail(m, "store", &err);
                break;
            }
            if (seen) /* committed before a crash lost its flag change: flag only */
                done[slot][n_done[slot]++] = z.uids[i];
            else if (z.size[i] > m->mb->max_message_bytes) {
                char *why = hd_arena_printf(
                    m->ra, "too large: RFC822.SIZE %" PRIu64 " over %" PRIu64 " bytes", z.size[i],
                    m->mb->max_message_bytes);
                reject(m, z.uids[i], why ? why : "too large");
            } else
                batch[nb++] = z.uids[i];
        }
        bodies b = {m, nb ? batch[0] : 0, nb ? batch[nb - 1] : 0};
        if (nb && !m->failed) {
            char *set = uid_set(m->ra, batch, nb);
            cmd = set ? hd_arena_printf(m->ra, "UID FETCH %s (UID BODY.PEEK[])", set) : NULL;
            if (!cmd || hd_imap_conn_cmd(c, cmd, ftag, &err) < 0)
                round_fail(m, "fetch", &err);
        }
        if (prev >= 0 && !m->failed) {
            wait_jobs(m, prev, done[prev], &n_done[prev]);
            if (!m->failed && flag_send(m, c, done[prev], n_done[prev], stag, &err) < 0)
                round_fail(m, move ? "move" : "seen", &err);
            n_done[prev] = 0;
        }
        if (*ftag && !m->failed && hd_imap_conn_wait(c, ftag, on_body, &b, &err) < 0)
            round_fail(m, "fetch", &err);
        if (*stag && !m->failed && hd_imap_conn_wait(c, stag, NULL, NULL, &err) < 0)
            round_fail(m, move ? "move" : "seen", &err);
        prev = slot;
    }
    /* The last batch; after a failure only the wait (jobs point at m), no flags. */
    for (int slot = 0; slot < 2; slot++) {
        wait_jobs(m, slot, done[slot], &n_done[slot]);
        char stag[16] = "";
        if (slot == prev && !m->failed &&
            (flag_send(m, c, done[slot], n_done[slot], stag, &err) < 0 ||
             (*stag && hd_imap_conn_wait(c, stag, NULL, NULL, &err) < 0)))
            round_fail(m, move ? "move" : "seen", &err);
    }
out:
    if (m->failed) {
        hd_imap_conn_close(c);
        c = NULL;
    }
    *cp = c;
    {
        int64_t now = hd_clock_now_ms();
        uint32_t last = m->failed || !to ? m->last_uid : to; /* the whole window, gaps too */
        /* A round that failed before SELECT (connect, TLS, login) records why, too. */
        bool record = m->uidv || (m->failed && keep_state(m, &last));
        if (record && hd_ingest_state_commit(p->o.store, m->id, m->uidv, last,
                                             m->failed ? m->error : "", now, &err) < 0)
            hd_log(HD_LOG_ERROR, "mail.state_commit_failed", "mailbox=%" PRIu64 " error=\"%s\"",
                   m->id, hd_errname(err.code));
        if (m->failed) {
            char q[300];
            hd_log(HD_LOG_WARN, "mail.poll_failed", "mailbox=%" PRIu64 " error=%s", m->id,
                   hd_log_quote(q, sizeof q, m->error));
        } else if (m->ingested) {
            hd_log(HD_LOG_INFO, "mail.polled",
                   "mailbox=%" PRIu64 " uidvalidity=%" PRIu32 " last_uid=%" PRIu32 " ingested=%u",
                   m->id, m->uidv, last, m->ingested);
        }
        /* One interval from the round's start, not its end: mail that arrived during a long
         * round waits at most one interval plus the round. */
        int64_t interval = (int64_t)m->mb->poll_interval_seconds * 1000;
        if (m->more && !m->failed)
            m->next_poll_ms = now;
        else if (m->failed || started + interval < now)
            m->next_poll_ms = now + (m->failed ? interval : 0);
        else
            m->next_poll_ms = started + interval;
    }
}

static void free_box(mbox *m)
{
    hd_arena_destroy(m->conf_arena);
    pthread_cond_destroy(&m->cv);
    free(m);
}

/* Returns true when a and b (full settings, passwords included) are the same. */
static bool same_settings(const Helpdesk__V1__Mailbox *a, const Helpdesk__V1__Mailbox *b)
{
    size_t na = protobuf_c_message_get_packed_size(&a->base);
    size_t nb = protobuf_c_message_get_packed_size(&b->base);
    if (na != nb)
        return false;
    uint8_t *x = malloc(na + 1), *y = malloc(nb + 1);
    bool same = x && y && protobuf_c_message_pack(&a->base, x) == na &&
                protobuf_c_message_pack(&b->base, y) == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* Re-reads mailbox settings; idle mailboxes take new settings, removed idle ones go; a
 * running one whose settings changed is marked stale (its thread is interrupted). */
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
            pthread_cond_init(&m->cv, NULL);
        }
        m->removed = false;
        if (m->running) {
            m->stale = m->stale || !same_settings(m->mb, confs[i].mb);
            continue;
        }
        m->stale = false;
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
                               .tls = mc.mb->tls,
                               .ca_file = mc.mb->ca_file};
        if (poll_now)
            m->next_poll_ms = 0;
    }
    size_t w = 0;
    for (size_t i = 0; i < p->n_boxes; i++) {
        if (p->boxes[i]->removed && !p->boxes[i]->running)
            free_box(p->boxes[i]);
        else
            p->boxes[w++] = p->boxes[i];
    }
    p->n_boxes = w;
    hd_arena_destroy(a);
}

/* ---- Scheduling ---------------------------------------------------------------------- */

static bool idle_stop(void *ud)
{
    mbox *m = ud;
    pthread_mutex_lock(&m->p->mu);
    bool s = m->p->stop || m->interrupt;
    pthread_mutex_unlock(&m->p->mu);
    return s;
}

/* RFC 2177 asks clients to re-issue IDLE within 29 minutes. */
#define POLL_IDLE_MAX_MS (25 * 60 * 1000L)

/* A mailbox's session: rounds on one connection. Between rounds, a server that offers IDLE
 * is asked to report new mail, so a message is fetched as soon as it arrives instead of at
 * the next poll; each IDLE still ends after the poll interval for a round of its own (a
 * notification the server did not send is caught then). Without IDLE, or after a failure,
 * one round per thread, and the scheduler starts the next at the mailbox's next_poll_ms.
 * The thread ends when the poller stops or the mailbox's settings change (interrupt). */
static void *round_thread(void *arg)
{
    mbox *m = arg;
    hd_poll *p = m->p;
    hd_imap_conn *c = NULL;
    hd_err err;
    m->ra = hd_arena_create(0);
    if (!m->ra)
        m->next_poll_ms = hd_clock_now_ms() + (int64_t)m->mb->poll_interval_seconds * 1000;
    while (m->ra) {
        m->uidv = m->last_uid = 0;
        m->more = m->failed = false;
        m->ingested = 0;
        m->error[0] = '\0';
        run_round(m, &c, hd_clock_now_ms());
        hd_arena_reset(m->ra);
        if (!c || idle_stop(m))
            break;
        if (m->more)
            continue;
        if (!hd_imap_conn_has_idle(c))
            break;
        long max_ms = (long)m->mb->poll_interval_seconds * 1000L;
        int rc = hd_imap_conn_idle(c, max_ms < POLL_IDLE_MAX_MS ? max_ms : POLL_IDLE_MAX_MS,
                                   idle_stop, m, &err);
        if (rc < 0) {
            if (rc != HD_ECANCELED) {
                char q[300];
                hd_log(HD_LOG_WARN, "mail.idle_failed", "mailbox=%" PRIu64 " error=%s", m->id,
                       hd_log_quote(q, sizeof q, err.detail));
            }
            break;
        }
        if (idle_stop(m)) /* new mail, but the settings changed: a new thread fetches it */
            break;
    }
    hd_imap_conn_close(c);
    hd_arena_destroy(m->ra);
    m->ra = NULL;
    pthread_mutex_lock(&p->mu);
    m->finished = true;
    if (m->interrupt) { /* settings changed: re-read them and poll at once */
        m->interrupt = false;
        p->kick = true;
    }
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Joins the round threads that ended. Called with p->mu held. */
static void reap(hd_poll *p)
{
    for (size_t i = 0; i < p->n_boxes; i++) {
        mbox *m = p->boxes[i];
        if (m->running && m->finished) {
            pthread_join(m->th, NULL);
            m->running = m->finished = false;
        }
    }
}

static bool busy(hd_poll *p)
{
    for (size_t i = 0; i < p->n_boxes; i++)
        if (p->boxes[i]->running)
            return true;
    return false;
}

static void *poll_thread(void *arg)
{
    hd_poll *p = arg;
    int64_t reload_ms = p->o.reload_ms ? p->o.reload_ms : HD_POLL_RELOAD_MS;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        reap(p);
        bool stop = p->stop, kick = p->kick;
        p->kick = false;
        if (stop && !busy(p))
            break;
        int64_t now = hd_clock_now_ms();
        if (!stop && (kick || now >= p->next_reload_ms)) {
            pthread_mutex_unlock(&p->mu);
            reload(p, kick);
            pthread_mutex_lock(&p->mu);
            p->next_reload_ms = now + reload_ms;
            for (size_t i = 0; i < p->n_boxes; i++) {
                mbox *m = p->boxes[i];
                if (m->running && !m->finished && (m->removed || m->stale)) {
                    m->interrupt = true;
                    m->stale = false;
                }
            }
        }
        for (size_t i = 0; !stop && i < p->n_boxes; i++) {
            mbox *m = p->boxes[i];
            if (m->running || m->removed || !m->mb || !m->mb->enabled || now < m->next_poll_ms)
                continue;
            m->running = true;
            if (pthread_create(&m->th, NULL, round_thread, m) != 0) {
                m->running = false;
                m->next_poll_ms = now + 1000;
            }
        }
        /* Real time bounds the wait: the test clock may stand still. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!p->kick) /* also when stopping: the rounds need mu to finish */
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int hd_poll_start(hd_poll **out, const hd_poll_opts *opts, hd_err *err)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    hd_poll *p = calloc(1, sizeof *p);
    if (!p)
        return hd_err_set(err, HD_ENOMEM, "poll: out of memory");
    p->o = *opts;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, poll_thread, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
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
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void hd_poll_stop(hd_poll *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    for (size_t i = 0; i < p->n_boxes; i++)
        free_box(p->boxes[i]);
    free(p->boxes);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
