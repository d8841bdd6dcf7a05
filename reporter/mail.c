/* Report mail: summary text, attachments read whole (a report is at most tens of MiB),
 * per-recipient send with retries. */
#include "reporter/mail.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/mail/compose.h"
#include "server/mail/smtp.h"

#define MAIL_FILE_MAX (64u << 20)

static void fmt_min(char *buf, size_t n, int64_t m)
{
    if (m < 0)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%lld:%02lld", (long long)(m / 60), (long long)(m % 60));
}

int hd_mail_summary(char **text, char **html, const hd_model *m)
{
    *text = *html = NULL;
    const hd_model_totals *c = &m->cur, *p = &m->prev;
    uint32_t met = 0, br = 0;
    for (int k = 0; k < HD_TARGETS; k++) {
        met += c->sla.met[k];
        br += c->sla.breached[k];
    }
    char frt[32], res[32], pct[32];
    fmt_min(frt, sizeof frt, hd_hist_percentile(&c->frt, 0.5));
    fmt_min(res, sizeof res, hd_hist_percentile(&c->res, 0.5));
    if (met + br)
        snprintf(pct, sizeof pct, "%.1f%%", 100.0 * met / (met + br));
    else
        snprintf(pct, sizeof pct, "-");
    char *t = NULL, *h = NULL;
    size_t tn, hn;
    FILE *ft = open_memstream(&t, &tn), *fh = open_memstream(&h, &hn);
    if (!ft || !fh) {
        if (ft)
            fclose(ft);
        if (fh)
            fclose(fh);
        free(t);
        free(h);
        return HD_ENOMEM;
    }
    fprintf(ft,
            "Tickets created: %u (previous period %u)\n"
            "Tickets solved: %u (previous period %u)\n"
            "Backlog at period end: %u\n"
            "First response median: %s\n"
            "Resolution median: %s\n"
            "SLA targets met: %s (%u breached)\n\n"
            "The full report is attached.\n",
            c->created, p->created, c->solved, p->solved, c->backlog_end, frt, res, pct, br);
    fprintf(fh,
            "<html><body><p>Headline figures:</p><table>"
            "<tr><td>Tickets created</td><td>%u</td><td>(previous %u)</td></tr>"
            "<tr><td>Tickets solved</td><td>%u</td><td>(previous %u)</td></tr>"
            "<tr><td>Backlog at period end</td><td>%u</td><td></td></tr>"
            "<tr><td>First response median</td><td>%s</td><td></td></tr>"
            "<tr><td>Resolution median</td><td>%s</td><td></td></tr>"
            "<tr><td>SLA targets met</td><td>%s</td><td>(%u breached)</td></tr>"
            "</table><p>The full report is attached.</p></body></html>\n",
            c->created, p->created, c->solved, p->solved, c->backlog_end, frt, res, pct, br);
    int bad = fclose(ft) | fclose(fh);
    if (bad || !t || !h) {
        free(t);
        free(h);
        return HD_ENOMEM;
    }
    *text = t;
    *html = h;
    return 0;
}

static int read_file(void **out, size_t *len, const char *path, hd_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return hd_err_set(err, HD_EIO, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= MAIL_FILE_MAX) {
                free(buf);
                fclose(f);
                return hd_err_set(err, HD_ETOOBIG, "%s: larger than 64 MiB", path);
            }
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return hd_err_set(err, HD_ENOMEM, "out of memory");
            }
            buf = nb;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return hd_err_set(err, HD_EIO, "%s: read error", path);
    }
    *out = buf;
    *len = n;
    return 0;
}

static const char *content_type(const char *path)
{
    size_t n = strlen(path);
    if (n > 5 && !strcmp(path + n - 5, ".xlsx"))
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    if (n > 4 && !strcmp(path + n - 4, ".csv"))
        return "text/csv; charset=utf-8";
    return "application/octet-stream";
}

static void backoff(int ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int hd_mail_send(const hd_mail_opts *o, const hd_model *m, const char *const *recipients,
                 size_t n_recipients, const char *const *files, size_t n_files, size_t *sent,
                 hd_err *err)
{
    *sent = 0;
    int rc = 0;
    char *text = NULL, *html = NULL;
    hd_compose_attachment *att = calloc(n_files ? n_files : 1, sizeof *att);
    if (!att || hd_mail_summary(&text, &html, m)) {
        rc = hd_err_set(err, HD_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_files; i++) {
        void *data = NULL;
        size_t len = 0;
        rc = read_file(&data, &len, files[i], err);
        if (rc)
            goto out;
        const char *slash = strrchr(files[i], '/');
        att[i] = (hd_compose_attachment){.filename = slash ? slash + 1 : files[i],
                                         .content_type = content_type(files[i]),
                                         .data = data,
                                         .size = len};
    }
    hd_smtp_conf conf = {
        .url = o->smtp_url, .username = o->username, .password = o->password, .tls = o->tls != 0};
    char subject[HD_CONFIG_VALUE_MAX + 64];
    char from_d[16], to_d[16];
    time_t t0 = (time_t)(m->first_day * 86400),
           t1 = (time_t)((m->first_day + m->n_days - 1) * 86400);
    struct tm tm0, tm1;
    gmtime_r(&t0, &tm0);
    gmtime_r(&t1, &tm1);
    strftime(from_d, sizeof from_d, "%Y-%m-%d", &tm0);
    strftime(to_d, sizeof to_d, "%Y-%m-%d", &tm1);
    snprintf(subject, sizeof subject, "%s: %s to %s", m->title, from_d, to_d);
    for (size_t r = 0; r < n_recipients; r++) {
        char msgid[256];
        snprintf(msgid, sizeof msgid, "report-%s-%zu@helpdesk-reporter", o->run_id, r);
        hd_compose_msg msg = {.from_addr = o->from,
                              .from_name = "Helpdesk reports",
                              .to = &recipients[r],
                              .n_to = 1,
                              .subject = subject,
                              .message_id = msgid,
                              .auto_submitted = "auto-generated",
                              .loop_marker = "reporter",
                              .text = text,
                              .html = html,
                              .attachments = att,
                              .n_attachments = n_files,
                              .date_unix = (long long)m->generated_s};
        char *data = NULL;
        size_t len;
        hd_err e = {0};
        int one = hd_compose(&data, &len, &msg, &e);
        /* Retry only temporary failures (connection, TLS, 4xx), with doubling delays. */
        for (int attempt = 0; one == 0; attempt++) {
            hd_smtp_result res = {0};
            one = hd_smtp_send(&conf, o->from, &recipients[r], 1, data, len, &res, &e);
            if (one != HD_EUNAVAIL || attempt >= o->retries)
                break;
            backoff(o->backoff_ms << (attempt < 10 ? attempt : 10));
            one = 0;
        }
        free(data);
        if (one) {
            rc = hd_err_set(err, one, "mail to %s: %s", recipients[r], e.detail);
            continue;
        }
        (*sent)++;
    }
out:
    if (att)
        for (size_t i = 0; i < n_files; i++)
            free((void *)att[i].data);
    free(att);
    free(text);
    free(html);
    return rc;
}
