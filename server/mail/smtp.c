/* SMTP submission through libcurl (see smtp.h). */
#include "server/mail/smtp.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "server/validate/validate.h"

static pthread_once_t smtp_once = PTHREAD_ONCE_INIT;

static void smtp_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct upload {
    const char *p;
    size_t left;
} upload;

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    upload *u = ud;
    size_t n = size * nitems;
    if (n > u->left)
        n = u->left;
    memcpy(buf, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

/* Copies data with every bare LF turned into CRLF (libcurl sends the body as is). */
static char *crlf_copy(const char *data, size_t len, size_t *out_len)
{
    size_t extra = 0;
    for (size_t i = 0; i < len; i++)
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
            extra++;
    char *d = malloc(len + extra + 1);
    if (!d)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
            d[j++] = '\r';
        d[j++] = data[i];
    }
    d[j] = '\0';
    *out_len = j;
    return d;
}

static bool addr_ok(const char *a)
{
    return a && hd_validate_email(a, strlen(a));
}

/* Maps a finished transfer to an hd_ code with the server's reply in the detail. */
static int map_result(CURL *c, CURLcode cc, const char *ebuf, hd_smtp_result *res, hd_err *err)
{
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (res) {
        res->response_code = code;
        res->permanent = code >= 500 && code < 600;
    }
    if (cc == CURLE_OK)
        return HD_OK;
    const char *what = *ebuf ? ebuf : curl_easy_strerror(cc);
    if (cc == CURLE_LOGIN_DENIED)
        return hd_err_set(err, HD_EPERM, "smtp: authentication refused (%ld): %s", code, what);
    if (code >= 500 && code < 600)
        return hd_err_set(err, HD_EIO, "smtp: rejected (%ld): %s", code, what);
    return hd_err_set(err, HD_EUNAVAIL, "smtp: %s (reply %ld)", what, code);
}

static CURL *smtp_easy(const hd_smtp_conf *conf, char *ebuf)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_URL, conf->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, conf->timeout_ms > 0 ? conf->timeout_ms : 30000L);
    curl_easy_setopt(c, CURLOPT_USE_SSL, conf->tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
    if (conf->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, conf->ca_file);
    if (conf->username && *conf->username) {
        curl_easy_setopt(c, CURLOPT_USERNAME, conf->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, conf->password ? conf->password : "");
    }
    return c;
}

int hd_smtp_send(const hd_smtp_conf *conf, const char *from, const char *const *rcpt, size_t n_rcpt,
                 const char *data, size_t len, hd_smtp_result *res, hd_err *err)
{
    int rc = HD_OK;
    CURL *c = NULL;
    struct curl_slist *rl = NULL;
    char *body = NULL;
    char ebuf[CURL_ERROR_SIZE] = "";
    char tmp[HD_VALIDATE_EMAIL_MAX + 3];
    if (res)
        *res = (hd_smtp_result){0};
    pthread_once(&smtp_once, smtp_init);
    if (!conf || !conf->url || !*conf->url) {
        rc = hd_err_set(err, HD_EINVAL, "smtp: no server url");
        goto fail;
    }
    if (!addr_ok(from)) {
        rc = hd_err_set(err, HD_EINVAL, "smtp: from: not a valid address");
        goto fail;
    }
    if (n_rcpt == 0) {
        rc = hd_err_set(err, HD_EINVAL, "smtp: no recipients");
        goto fail;
    }
    for (size_t i = 0; i < n_rcpt; i++) {
        if (!addr_ok(rcpt[i])) {
            rc = hd_err_set(err, HD_EINVAL, "smtp: recipient %zu: not a valid address", i);
            goto fail;
        }
        snprintf(tmp, sizeof tmp, "<%s>", rcpt[i]);
        struct curl_slist *nl = curl_slist_append(rl, tmp);
        if (!nl) {
            rc = hd_err_set(err, HD_ENOMEM, "smtp: out of memory");
            goto fail;
        }
        rl = nl;
    }
    size_t blen = 0;
    body = crlf_copy(data, len, &blen);
    c = smtp_easy(conf, ebuf);
    if (!body || !c) {
        rc = hd_err_set(err, HD_ENOMEM, "smtp: out of memory");
        goto fail;
    }
    snprintf(tmp, sizeof tmp, "<%s>", from);
    upload up = {body, blen};
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, tmp);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rl);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)blen);
    rc = map_result(c, curl_easy_perform(c), ebuf, res, err);
fail:
    curl_easy_cleanup(c);
    curl_slist_free_all(rl);
    free(body);
    return rc;
}

int hd_smtp_probe(const hd_smtp_conf *conf, hd_err *err)
{
    char ebuf[CURL_ERROR_SIZE] = "";
    pthread_once(&smtp_once, smtp_init);
    if (!conf || !conf->url || !*conf->url)
        return hd_err_set(err, HD_EINVAL, "smtp: no server url");
    CURL *c = smtp_easy(conf, ebuf);
    if (!c)
        return hd_err_set(err, HD_ENOMEM, "smtp: out of memory");
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "NOOP");
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    int rc = map_result(c, curl_easy_perform(c), ebuf, NULL, err);
    curl_easy_cleanup(c);
    return rc;
}
