/* helpdesk-reporter: scheduled CSV and XLSX trend and SLA reports, emailed to managers.
 *
 *   helpdesk-reporter run --report NAME [--config FILE] [--from DATE --to DATE] [--tz ZONE]
 *                         [--group day|week] [--now UNIX_S] --out FILE.xlsx|FILE.csv
 *   helpdesk-reporter serve --config FILE [--once] [--now UNIX_S] [--holder NAME]
 *   helpdesk-reporter schedules --config FILE [--now UNIX_S]
 *
 * Data comes from helpdeskd's ReportingService ([server] in the config, or --server and
 * --token-file, or the HELPDESK_TOKEN environment variable); --seed SEED:COUNT:SPAN_DAYS:END_UNIX_S
 * uses the deterministic generator instead (tests, benchmarks; --dump-tickets FILE writes its
 * tickets as CSV). --stream fills the sections from a stream of every ticket of the period
 * instead of the server's rollups (the same figures; for cross-checks). --now sets the clock
 * (tests); serve --once makes the runs due at that instant and exits. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clients/lib/client.h"
#include "reporter/config.h"
#include "reporter/cron.h"
#include "reporter/localtz.h"
#include "reporter/mail.h"
#include "reporter/model.h"
#include "reporter/remote.h"
#include "reporter/report.h"
#include "reporter/schedule.h"
#include "reporter/seed.h"
#include "reporter/temps.h"
#include "reporter/xlsx.h"

#define LEASE_TTL_S 900

typedef struct args {
    const char *config, *report, *from, *to, *tz, *group, *out, *seed, *dump;
    const char *server, *token_file, *holder;
    int64_t now_s;
    int once, smtp_insecure, stream;
} args;

/* Everything a run needs besides the report: where data comes from. */
typedef struct env {
    hd_source src;
    hd_seed gen;
    hd_client *client;
    hd_remote remote;
} env;

static int usage(void)
{
    fputs("usage: helpdesk-reporter run --report NAME [--config FILE] [--from YYYY-MM-DD "
          "--to YYYY-MM-DD]\n"
          "           [--tz ZONE] [--group day|week] [--now UNIX_S] --out FILE.xlsx|FILE.csv\n"
          "       helpdesk-reporter serve --config FILE [--once] [--now UNIX_S] [--holder NAME]\n"
          "       helpdesk-reporter schedules --config FILE [--now UNIX_S]\n"
          "data: [server] in the config, or --server HOST:PORT --token-file FILE ([--stream]:\n"
          "      from every ticket row instead of the rollups), or\n"
          "      --seed SEED:COUNT:SPAN_DAYS:END_UNIX_S [--dump-tickets FILE] (generated)\n",
          stderr);
    return 1;
}

static int read_token(char *buf, size_t n, const char *path, hd_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return hd_err_set(err, HD_EIO, "%s: %s", path, strerror(errno));
    if (!fgets(buf, (int)n, f))
        buf[0] = 0;
    fclose(f);
    buf[strcspn(buf, "\r\n")] = 0;
    return buf[0] ? 0 : hd_err_set(err, HD_EINVAL, "%s: empty token file", path);
}

static int env_open(env *e, const args *a, const hd_config *cfg, hd_err *err)
{
    memset(e, 0, sizeof *e);
    if (a->seed) {
        if (sscanf(a->seed, "%" SCNu64 ":%" SCNu64 ":%d:%" SCNd64, &e->gen.seed, &e->gen.count,
                   &e->gen.span_days, &e->gen.end_s) != 4 ||
            e->gen.span_days < 1)
            return hd_err_set(err, HD_EINVAL, "--seed wants SEED:COUNT:SPAN_DAYS:END_UNIX_S");
        e->src = hd_seed_source(&e->gen);
        if (a->dump) {
            FILE *f = fopen(a->dump, "wb");
            int rc = f ? hd_seed_dump(&e->gen, f) : HD_EIO;
            if (f && fclose(f))
                rc = HD_EIO;
            if (rc)
                return hd_err_set(err, rc, "%s: cannot write", a->dump);
        }
        return 0;
    }
    const char *target = a->server ? a->server : cfg ? cfg->target : "127.0.0.1:7070";
    const char *token_file = a->token_file ? a->token_file : cfg ? cfg->token_file : "";
    char token[512] = "";
    const char *env_token = getenv("HELPDESK_TOKEN");
    if (env_token && !(token_file && *token_file))
        snprintf(token, sizeof token, "%s", env_token);
    if (token_file && *token_file) {
        int rc = read_token(token, sizeof token, token_file, err);
        if (rc)
            return rc;
    }
    hd_client_opts o = {.target = target, .token = token[0] ? token : NULL};
    int rc = hd_client_open(&e->client, &o, err);
    if (rc)
        return rc;
    e->remote.client = e->client;
    e->remote.tickets = a->stream;
    e->src = hd_remote_source(&e->remote);
    return 0;
}

static void env_close(env *e)
{
    hd_client_close(e->client);
}

/* Removes the temporaries that killed runs left in dir (see temps.h). A failure is
 * reported but does not stop the run: the leftovers only take space. */
static void sweep_temps(const char *dir)
{
    hd_err e = {0};
    int removed = 0;
    if (hd_temps_sweep(dir, &removed, &e))
        fprintf(stderr, "helpdesk-reporter: %s\n", e.detail);
    if (removed)
        printf("removed %d temporary file(s) of killed runs in %s\n", removed, dir);
}

static int cmd_run(const args *a, const hd_config *cfg, hd_err *err)
{
    hd_config_report def = {
        .sections = HD_SECTION_ALL, .period = HD_PERIOD_LAST_WEEK, .grouping = HD_GROUP_DAY};
    snprintf(def.tz, sizeof def.tz, "UTC");
    const hd_config_report *r = &def;
    if (cfg) {
        r = hd_config_find_report(cfg, a->report);
        if (!r)
            return hd_err_set(err, HD_ENOTFOUND, "%s: no [report %s]", a->config, a->report);
    }
    const char *tz = a->tz ? a->tz : r->tz;
    hd_grouping g = r->grouping;
    if (a->group)
        g = !strcmp(a->group, "week") ? HD_GROUP_WEEK : HD_GROUP_DAY;
    int64_t now = a->now_s ? a->now_s : (int64_t)time(NULL);
    int64_t from, to;
    int rc0 = hd_report_period(&from, &to, r, tz, a->from, a->to, now, err);
    if (rc0)
        return rc0;
    char dir[2 * HD_CONFIG_VALUE_MAX];
    const char *slash = strrchr(a->out, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == a->out ? 1 : (int)(slash - a->out), a->out);
    sweep_temps(dir);
    env e;
    int rc = env_open(&e, a, cfg, err);
    if (rc) {
        env_close(&e);
        return rc;
    }
    char **files = NULL;
    rc = hd_report_build(NULL, &files, r, cfg ? r->title : a->report, tz, g, from, to, now, &e.src,
                         a->out, err);
    if (!rc)
        for (char **p = files; *p; p++)
            printf("%s\n", *p);
    hd_report_files_free(files);
    env_close(&e);
    return rc;
}

/* Removes generated files of schedule name older than days in dir. */
static void retention(const char *dir, const char *name, int days, int64_t now)
{
    if (days <= 0)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t n = strlen(name);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, name, n) || de->d_name[n] != '-')
            continue;
        char path[2 * HD_CONFIG_VALUE_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (!stat(path, &st) && (int64_t)st.st_mtime < now - (int64_t)days * 86400)
            unlink(path);
    }
    closedir(d);
}

/* One scheduled run at due: lease, build every format, mail, complete, record. */
static int run_schedule(const args *a, const hd_config *cfg, const hd_config_schedule *s,
                        int64_t due, int64_t now, env *e, const char *holder,
                        hd_schedule_state *state, hd_err *err)
{
    char run_key[HD_CONFIG_NAME_MAX + 32];
    snprintf(run_key, sizeof run_key, "%s@%" PRId64, s->name, due);
    if (e->client) {
        int granted = 0, done = 0;
        int rc =
            hd_remote_lease_acquire(&e->remote, run_key, holder, LEASE_TTL_S, &granted, &done, err);
        if (rc)
            return rc;
        if (!granted) {
            printf("schedule %s: run %s %s elsewhere, skipped\n", s->name, run_key,
                   done ? "done" : "in progress");
            return done ? hd_schedule_record(state, s->name, due, err) : 0;
        }
    }
    const hd_config_report *r = hd_config_find_report(cfg, s->report);
    int64_t from, to;
    if (hd_model_period(&from, &to, r->period, r->tz, due))
        return hd_err_set(err, HD_EINVAL, "schedule %s: bad period", s->name);
    if (mkdir(cfg->out_dir, 0750) && errno != EEXIST)
        return hd_err_set(err, HD_EIO, "%s: %s", cfg->out_dir, strerror(errno));
    hd_localtm lt;
    hd_localtz_from_unix(&lt, s->tz, due);
    char *all[32];
    size_t n_all = 0;
    hd_model *keep = NULL;
    int rc = 0;
    for (unsigned fmt = HD_FORMAT_XLSX; fmt <= HD_FORMAT_CSV && !rc; fmt <<= 1) {
        if (!(s->formats & fmt))
            continue;
        char out[2 * HD_CONFIG_VALUE_MAX];
        snprintf(out, sizeof out, "%s/%s-%04d-%02d-%02d-%02d%02d.%s", cfg->out_dir, s->name,
                 lt.year, lt.mon, lt.mday, lt.hour, lt.min, fmt == HD_FORMAT_XLSX ? "xlsx" : "csv");
        hd_model *m = NULL;
        char **files = NULL;
        rc = hd_report_build(&m, &files, r, r->title, r->tz, r->grouping, from, to, now, &e->src,
                             out, err);
        for (char **p = files; p && *p && n_all < 32; p++)
            all[n_all++] = strdup(*p);
        hd_report_files_free(files);
        if (!keep)
            keep = m;
        else
            hd_model_free(m);
    }
    if (!rc && s->n_recipients) {
        char pw[512] = "";
        if (*cfg->smtp_password_file)
            rc = read_token(pw, sizeof pw, cfg->smtp_password_file, err);
        hd_mail_opts mo = {.smtp_url = cfg->smtp_url,
                           .username = cfg->smtp_user,
                           .password = pw,
                           .tls = !a->smtp_insecure,
                           .from = cfg->smtp_from,
                           .retries = cfg->smtp_retries,
                           .backoff_ms = a->now_s ? 0 : 2000,
                           .run_id = run_key};
        const char *rcpt[HD_CONFIG_RECIPIENTS_MAX];
        for (size_t i = 0; i < s->n_recipients; i++)
            rcpt[i] = s->recipients[i];
        size_t sent = 0;
        if (!rc)
            rc = hd_mail_send(&mo, keep, rcpt, s->n_recipients, (const char *const *)all, n_all,
                              &sent, err);
        printf("schedule %s: mailed %zu of %zu recipients\n", s->name, sent, s->n_recipients);
    }
    hd_model_free(keep);
    for (size_t i = 0; i < n_all; i++) {
        if (!rc)
            printf("schedule %s: wrote %s\n", s->name, all[i]);
        free(all[i]);
    }
    if (rc)
        return rc;
    if (e->client && (rc = hd_remote_lease_complete(&e->remote, run_key, holder, err)))
        return rc;
    retention(cfg->out_dir, s->name, cfg->retention_days, now);
    return hd_schedule_record(state, s->name, due, err);
}

/* Makes every run due at now; returns the first error (other schedules still run). */
static int tick(const args *a, const hd_config *cfg, env *e, const char *holder, int64_t now,
                int64_t *next_wake, hd_err *err)
{
    hd_schedule_state *st;
    int rc = hd_schedule_state_load(&st, cfg->state_file, err);
    if (rc)
        return rc;
    int64_t first = hd_schedule_last_run(st, "@first_seen");
    if (!first) {
        first = now;
        rc = hd_schedule_record(st, "@first_seen", now, err);
    }
    *next_wake = now + 60;
    for (size_t i = 0; i < cfg->n_schedules && !rc; i++) {
        const hd_config_schedule *s = &cfg->schedules[i];
        hd_cron c;
        int64_t due, next;
        hd_err e1 = {0};
        if (hd_cron_parse(&c, s->cron, &e1))
            continue; /* checked at load */
        int is_due =
            hd_schedule_due(&due, &c, s->tz, hd_schedule_last_run(st, s->name), first, now, &e1);
        int one = is_due > 0 ? run_schedule(a, cfg, s, due, now, e, holder, st, &e1) : is_due;
        if (one) {
            fprintf(stderr, "helpdesk-reporter: schedule %s: %s\n", s->name, e1.detail);
            if (!rc)
                rc = hd_err_set(err, one, "schedule %s: %s", s->name, e1.detail);
        }
        if (!hd_cron_next(&next, &c, s->tz, now, &e1) && next < *next_wake)
            *next_wake = next;
    }
    hd_schedule_state_free(st);
    return rc;
}

static int cmd_serve(const args *a, const hd_config *cfg, hd_err *err)
{
    if (mkdir(cfg->out_dir, 0750) && errno != EEXIST)
        return hd_err_set(err, HD_EIO, "%s: %s", cfg->out_dir, strerror(errno));
    sweep_temps(cfg->out_dir);
    env e;
    int rc = env_open(&e, a, cfg, err);
    if (rc) {
        env_close(&e);
        return rc;
    }
    char holder[160];
    if (a->holder) {
        snprintf(holder, sizeof holder, "%s", a->holder);
    } else {
        char host[64] = "host";
        gethostname(host, sizeof host - 1);
        snprintf(holder, sizeof holder, "%s:%ld", host, (long)getpid());
    }
    for (;;) {
        int64_t now = a->now_s ? a->now_s : (int64_t)time(NULL), wake = now + 60;
        rc = tick(a, cfg, &e, holder, now, &wake, err);
        if (a->once)
            break;
        /* Wake at the next run time (at most a minute away, to notice clock changes). */
        int64_t left = wake - (int64_t)time(NULL);
        struct timespec ts = {left < 1 ? 1 : left > 60 ? 60 : left, 0};
        nanosleep(&ts, NULL);
    }
    env_close(&e);
    return rc;
}

static int cmd_schedules(const args *a, const hd_config *cfg, hd_err *err)
{
    return hd_schedule_print(stdout, cfg, a->now_s ? a->now_s : (int64_t)time(NULL), err);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    args a = {.report = "report"};
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--once")) {
            a.once = 1;
            continue;
        }
        if (!strcmp(k, "--smtp-insecure")) {
            a.smtp_insecure = 1;
            continue;
        }
        if (!strcmp(k, "--stream")) {
            a.stream = 1;
            continue;
        }
        if (i + 1 >= argc)
            return usage();
        const char *v = argv[++i];
        const char **slot = !strcmp(k, "--config")         ? &a.config
                            : !strcmp(k, "--report")       ? &a.report
                            : !strcmp(k, "--from")         ? &a.from
                            : !strcmp(k, "--to")           ? &a.to
                            : !strcmp(k, "--tz")           ? &a.tz
                            : !strcmp(k, "--group")        ? &a.group
                            : !strcmp(k, "--out")          ? &a.out
                            : !strcmp(k, "--seed")         ? &a.seed
                            : !strcmp(k, "--dump-tickets") ? &a.dump
                            : !strcmp(k, "--server")       ? &a.server
                            : !strcmp(k, "--token-file")   ? &a.token_file
                            : !strcmp(k, "--holder")       ? &a.holder
                                                           : NULL;
        if (slot)
            *slot = v;
        else if (!strcmp(k, "--now"))
            a.now_s = strtoll(v, NULL, 10);
        else
            return usage();
    }
    hd_err err = {0};
    hd_config *cfg = NULL;
    int rc;
    if (a.config && (rc = hd_config_load(&cfg, a.config, &err)))
        goto out;
    if (!strcmp(argv[1], "run") && a.out) {
        rc = cmd_run(&a, cfg, &err);
    } else if (!strcmp(argv[1], "serve") && cfg) {
        rc = cmd_serve(&a, cfg, &err);
    } else if (!strcmp(argv[1], "schedules") && cfg) {
        rc = cmd_schedules(&a, cfg, &err);
    } else {
        hd_config_free(cfg);
        return usage();
    }
out:
    if (rc)
        fprintf(stderr, "helpdesk-reporter: %s\n", err.detail[0] ? err.detail : hd_strerror(rc));
    hd_config_free(cfg);
    return rc == 0 ? 0 : rc == HD_EINVAL ? 1 : 2;
}
