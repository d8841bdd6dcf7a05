/* An IMAP session over libcurl's CONNECT_ONLY connection (see imap_conn.h). Waiting uses
 * poll() on libcurl's socket only after curl_easy_recv/send says CURLE_AGAIN, so bytes TLS
 * already decrypted are never waited for. */
#include "server/mail/imap_conn.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct hd_imap_conn {
    CURL *h;
    curl_socket_t fd;
    hd_imap_proto *proto;
    uint32_t next_tag;
    long timeout_ms;
    hd_imap_conn_cancel_fn cancel;
    void *cancel_ud;
    bool has_idle;                  /* the server listed IDLE (RFC 2177) after login */
    char curl_err[CURL_ERROR_SIZE]; /* libcurl's detail while connecting */
};

static pthread_once_t conn_once = PTHREAD_ONCE_INIT;

static void conn_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or deadline (monotonic ms), asking cancel (with ud; may
 * be NULL) about once a second. Returns 0, HD_ETIMEDOUT or HD_ECANCELED. */
static int wait_fd(hd_imap_conn *c, short events, int64_t deadline, hd_imap_conn_cancel_fn cancel,
                   void *ud, hd_err *err)
{
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return hd_err_set(err, HD_ETIMEDOUT, "imap: no answer within %ld ms", c->timeout_ms);
        if (cancel && cancel(ud))
            return hd_err_set(err, HD_ECANCELED, "imap: cancelled");
        struct pollfd pfd = {.fd = (int)c->fd, .events = events};
        int n = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
        if (n > 0)
            return 0;
    }
}

/* libcurl's progress callback during the connect phase: non-zero aborts it. */
static int connect_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    hd_imap_conn *c = ud;
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return c->cancel && c->cancel(c->cancel_ud);
}

/* Maps a failed connect phase to HD_EUNAVAIL with a detail an admin can act on. */
static int connect_error(hd_err *err, const hd_imap_conf *conf, CURLcode cc, const char *detail)
{
    const char *d = *detail ? detail : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_USE_SSL_FAILED:
        return hd_err_set(err, HD_EUNAVAIL,
                          "imap: TLS is required but the server offers no STARTTLS (%s); "
                          "not connecting in plaintext",
                          d);
    case CURLE_PEER_FAILED_VERIFICATION:
        return hd_err_set(
            err, HD_EUNAVAIL, "imap: the server's TLS certificate did not verify against %s: %s",
            conf->ca_file && *conf->ca_file ? conf->ca_file : "the system CA store", d);
    case CURLE_SSL_CACERT_BADFILE:
        return hd_err_set(err, HD_EUNAVAIL, "imap: ca_file %s cannot be used: %s",
                          conf->ca_file && *conf->ca_file ? conf->ca_file : "(system)", d);
    case CURLE_SSL_CONNECT_ERROR:
        return hd_err_set(err, HD_EUNAVAIL, "imap: TLS handshake failed: %s", d);
    default:
        return hd_err_set(err, HD_EUNAVAIL, "imap: %s: %s", curl_easy_strerror(cc), d);
    }
}

static int on_capability(void *ud, const hd_imap_resp *r, hd_err *err)
{
    (void)err;
    hd_imap_conn *c = ud;
    if (r->data != HD_IMAP_DATA_OTHER)
        return 0;
    for (size_t i = 0; i + 4 <= r->text_len; i++)
        if ((i == 0 || r->text[i - 1] == ' ') && strncasecmp(r->text + i, "IDLE", 4) == 0 &&
            (i + 4 == r->text_len || r->text[i + 4] == ' '))
            c->has_idle = true;
    return 0;
}

/* libcurl read the capabilities before login but keeps them: ask again (after STARTTLS and
 * login they may differ). */
static int read_capabilities(hd_imap_conn *c, hd_err *err)
{
    char tag[16];
    int rc = hd_imap_conn_cmd(c, "CAPABILITY", tag, err);
    if (rc == 0)
        rc = hd_imap_conn_wait(c, tag, on_capability, c, err);
    return rc;
}

int hd_imap_conn_open(hd_imap_conn **out, const hd_imap_conf *conf, size_t max_resp,
                      hd_imap_conn_cancel_fn cancel, void *ud, hd_err *err)
{
    hd_imap_conn *c = NULL;
    char url[1024];
    CURLcode cc;
    int rc;
    *out = NULL;
    pthread_once(&conn_once, conn_init);
    if (!conf->url || !*conf->url)
        return hd_err_set(err, HD_EINVAL, "imap: no url");
    c = calloc(1, sizeof *c);
    if (!c)
        return hd_err_set(err, HD_ENOMEM, "imap: out of memory");
    c->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : 60000L;
    c->cancel = cancel;
    c->cancel_ud = ud;
    c->proto = hd_imap_proto_new(max_resp);
    c->h = curl_easy_init();
    if (!c->proto || !c->h) {
        rc = hd_err_set(err, HD_ENOMEM, "imap: out of memory");
        goto fail;
    }
    snprintf(url, sizeof url, "%s/", conf->url);
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    curl_easy_setopt(c->h, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->h, CURLOPT_USERNAME, conf->username ? conf->username : "");
    curl_easy_setopt(c->h, CURLOPT_PASSWORD, conf->password ? conf->password : "");
    curl_easy_setopt(c->h, CURLOPT_USE_SSL,
                     conf->tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
    /* libcurl's defaults, stated: a certificate that does not verify is never accepted. */
    curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (conf->ca_file && *conf->ca_file)
        curl_easy_setopt(c->h, CURLOPT_CAINFO, conf->ca_file);
    curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(c->h, CURLOPT_XFERINFOFUNCTION, connect_progress);
    curl_easy_setopt(c->h, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(c->h, CURLOPT_NOPROGRESS, cancel ? 0L : 1L);
    cc = curl_easy_perform(c->h);
    if (cc == CURLE_LOGIN_DENIED) {
        rc = hd_err_set(err, HD_EPERM, "imap: login refused");
        goto fail;
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        rc = hd_err_set(err, HD_ECANCELED, "imap: cancelled");
        goto fail;
    }
    if (cc != CURLE_OK) {
        rc = connect_error(err, conf, cc, c->curl_err);
        goto fail;
    }
    curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, NULL);
    /* The transfer timeout must not cut the session we now drive ourselves. */
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, 0L);
    curl_easy_setopt(c->h, CURLOPT_NOPROGRESS, 1L);
    cc = curl_easy_getinfo(c->h, CURLINFO_ACTIVESOCKET, &c->fd);
    if (cc != CURLE_OK || c->fd == CURL_SOCKET_BAD) {
        rc = hd_err_set(err, HD_EUNAVAIL, "imap: no socket after connect");
        goto fail;
    }
    rc = read_capabilities(c, err);
    if (rc < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    hd_imap_proto_free(c->proto);
    curl_easy_cleanup(c->h);
    free(c);
    return rc;
}

static int send_all(hd_imap_conn *c, const char *buf, size_t n, hd_err *err)
{
    int64_t deadline = mono_ms() + c->timeout_ms;
    while (n) {
        size_t sent = 0;
        CURLcode cc = curl_easy_send(c->h, buf, n, &sent);
        if (cc == CURLE_AGAIN) {
            int rc = wait_fd(c, POLLOUT, deadline, c->cancel, c->cancel_ud, err);
            if (rc < 0)
                return rc;
            continue;
        }
        if (cc != CURLE_OK)
            return hd_err_set(err, HD_EUNAVAIL, "imap: send: %s", curl_easy_strerror(cc));
        buf += sent;
        n -= sent;
    }
    return 0;
}

int hd_imap_conn_cmd(hd_imap_conn *c, const char *cmd, char tag[16], hd_err *err)
{
    if (strpbrk(cmd, "\r\n"))
        return hd_err_set(err, HD_EINVAL, "imap: command holds CR or LF");
    snprintf(tag, 16, "H%" PRIu32, ++c->next_tag);
    size_t n = strlen(tag) + 1 + strlen(cmd) + 2;
    char *line = malloc(n + 1);
    if (!line)
        return hd_err_set(err, HD_ENOMEM, "imap: out of memory");
    snprintf(line, n + 1, "%s %s\r\n", tag, cmd);
    int rc = send_all(c, line, n, err);
    free(line);
    return rc;
}

/* The next response; without progress for the conf's timeout (fixed = false: each received
 * chunk restarts it) or by the deadline (fixed = true), HD_ETIMEDOUT. */
static int next_resp(hd_imap_conn *c, hd_imap_resp *r, int64_t deadline, bool fixed,
                     hd_imap_conn_cancel_fn cancel, void *ud, hd_err *err)
{
    for (;;) {
        int rc = hd_imap_proto_next(c->proto, r, err);
        if (rc < 0)
            return rc;
        if (rc == 1)
            return 0;
        char buf[65536];
        size_t got = 0;
        CURLcode cc = curl_easy_recv(c->h, buf, sizeof buf, &got);
        if (cc == CURLE_AGAIN) {
            rc = wait_fd(c, POLLIN, deadline, cancel, ud, err);
            if (rc < 0)
                return rc;
            continue;
        }
        if (cc != CURLE_OK)
            return hd_err_set(err, HD_EUNAVAIL, "imap: recv: %s", curl_easy_strerror(cc));
        if (!got)
            return hd_err_set(err, HD_EUNAVAIL, "imap: server closed the connection");
        rc = hd_imap_proto_feed(c->proto, buf, got, err);
        if (rc < 0)
            return rc;
        if (!fixed)
            deadline = mono_ms() + c->timeout_ms;
    }
}

int hd_imap_conn_next(hd_imap_conn *c, hd_imap_resp *r, hd_err *err)
{
    return next_resp(c, r, mono_ms() + c->timeout_ms, false, c->cancel, c->cancel_ud, err);
}

int hd_imap_conn_wait(hd_imap_conn *c, const char *tag,
                      int (*fn)(void *ud, const hd_imap_resp *r, hd_err *err), void *ud,
                      hd_err *err)
{
    size_t tl = strlen(tag);
    for (;;) {
        hd_imap_resp r;
        int rc = hd_imap_conn_next(c, &r, err);
        if (rc < 0)
            return rc;
        if (r.kind == HD_IMAP_TAGGED && r.tag_len == tl && memcmp(r.tag, tag, tl) == 0) {
            if (r.status == HD_IMAP_OK)
                return 0;
            return hd_err_set(err, HD_EPERM, "imap: %s %s: %.*s", tag,
                              r.status == HD_IMAP_NO ? "NO" : "BAD", (int)r.text_len, r.text);
        }
        if (r.kind == HD_IMAP_UNTAGGED && r.status == HD_IMAP_BYE)
            return hd_err_set(err, HD_EUNAVAIL, "imap: server said BYE: %.*s", (int)r.text_len,
                              r.text);
        if (fn && r.kind == HD_IMAP_UNTAGGED) {
            rc = fn(ud, &r, err);
            if (rc < 0)
                return rc;
        }
    }
}

static int on_select(void *ud, const hd_imap_resp *r, hd_err *err)
{
    (void)err;
    hd_imap_select *s = ud;
    if (r->has_uidvalidity)
        s->uidvalidity = r->uidvalidity;
    if (r->has_uidnext)
        s->uidnext = r->uidnext;
    if (r->data == HD_IMAP_DATA_EXISTS)
        s->exists = r->number;
    return 0;
}

int hd_imap_conn_select(hd_imap_conn *c, const char *folder, hd_imap_select *out, hd_err *err)
{
    char tag[16], cmd[600];
    *out = (hd_imap_select){0};
    if (!folder || !*folder || strpbrk(folder, "\r\n\"\\") || strlen(folder) > 500)
        return hd_err_set(err, HD_EINVAL, "folder: 1-500 bytes without CR, LF, quote or backslash");
    snprintf(cmd, sizeof cmd, "SELECT \"%s\"", folder);
    int rc = hd_imap_conn_cmd(c, cmd, tag, err);
    if (rc < 0)
        return rc;
    rc = hd_imap_conn_wait(c, tag, on_select, out, err);
    if (rc < 0)
        return rc;
    if (!out->uidvalidity)
        return hd_err_set(err, HD_ECORRUPT, "imap: no UIDVALIDITY in the SELECT reply");
    return 0;
}

bool hd_imap_conn_has_idle(const hd_imap_conn *c)
{
    return c->has_idle;
}

static bool is_news(const hd_imap_resp *r)
{
    return r->kind == HD_IMAP_UNTAGGED &&
           (r->data == HD_IMAP_DATA_EXISTS || r->data == HD_IMAP_DATA_RECENT);
}

static int on_idle_end(void *ud, const hd_imap_resp *r, hd_err *err)
{
    (void)err;
    if (is_news(r))
        *(bool *)ud = true;
    return 0;
}

int hd_imap_conn_idle(hd_imap_conn *c, long max_ms, hd_imap_conn_cancel_fn stop, void *ud,
                      hd_err *err)
{
    char tag[16];
    hd_imap_resp r;
    bool news = false, stopped = false;
    if (!c->has_idle)
        return hd_err_set(err, HD_EINVAL, "imap: the server does not offer IDLE");
    int rc = hd_imap_conn_cmd(c, "IDLE", tag, err);
    if (rc < 0)
        return rc;
    /* Until the continuation request; a completion instead means the server refused. */
    for (;;) {
        rc = hd_imap_conn_next(c, &r, err);
        if (rc < 0)
            return rc;
        if (r.kind == HD_IMAP_CONTINUE)
            break;
        if (r.kind == HD_IMAP_TAGGED && r.tag_len == strlen(tag) &&
            memcmp(r.tag, tag, r.tag_len) == 0)
            return hd_err_set(err, HD_EPERM, "imap: IDLE refused: %.*s", (int)r.text_len, r.text);
        if (r.kind == HD_IMAP_UNTAGGED && r.status == HD_IMAP_BYE)
            return hd_err_set(err, HD_EUNAVAIL, "imap: server said BYE: %.*s", (int)r.text_len,
                              r.text);
        if (is_news(&r))
            news = true;
    }
    int64_t deadline = mono_ms() + (max_ms > 0 ? max_ms : 1);
    while (!news) {
        rc = next_resp(c, &r, deadline, true, stop, ud, err);
        if (rc == HD_ETIMEDOUT)
            break;
        if (rc == HD_ECANCELED) {
            stopped = true;
            break;
        }
        if (rc < 0)
            return rc;
        if (r.kind == HD_IMAP_UNTAGGED && r.status == HD_IMAP_BYE)
            return hd_err_set(err, HD_EUNAVAIL, "imap: server said BYE: %.*s", (int)r.text_len,
                              r.text);
        if (is_news(&r))
            news = true;
    }
    rc = send_all(c, "DONE\r\n", 6, err);
    if (rc == 0)
        rc = hd_imap_conn_wait(c, tag, on_idle_end, &news, err);
    if (rc < 0)
        return rc;
    if (stopped)
        return hd_err_set(err, HD_ECANCELED, "imap: idle ended by the caller");
    return news ? 1 : 0;
}

void hd_imap_conn_close(hd_imap_conn *c)
{
    if (!c)
        return;
    char tag[16];
    hd_err err;
    long t = c->timeout_ms;
    c->timeout_ms = 2000;
    c->cancel = NULL;
    if (hd_imap_conn_cmd(c, "LOGOUT", tag, &err) == 0)
        (void)hd_imap_conn_wait(c, tag, NULL, NULL, &err);
    c->timeout_ms = t;
    hd_imap_proto_free(c->proto);
    curl_easy_cleanup(c->h);
    free(c);
}
