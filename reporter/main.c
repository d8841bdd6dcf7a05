/* helpdesk-reporter: builds the trend and SLA reports as XLSX or CSV.
 *
 *   helpdesk-reporter run --report NAME [--config FILE] [--from DATE --to DATE] [--tz ZONE]
 *                         [--group day|week] [--now UNIX_S] --out FILE.xlsx|FILE.csv
 *                         [--seed SEED:COUNT:SPAN_DAYS:END_UNIX_S [--dump-tickets FILE]]
 *   helpdesk-reporter serve --config FILE   (schedules; see schedule.h)
 *
 * --seed replaces the server with the deterministic generator (tests, benchmarks). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reporter/config.h"
#include "reporter/localtz.h"
#include "reporter/model.h"
#include "reporter/seed.h"
#include "reporter/xlsx.h"

typedef struct run_args {
    const char *config, *report, *from, *to, *tz, *group, *out, *seed, *dump;
    int64_t now_s;
} run_args;

static int usage(void)
{
    fputs("usage: helpdesk-reporter run --report NAME [--config FILE] [--from YYYY-MM-DD "
          "--to YYYY-MM-DD]\n"
          "         [--tz ZONE] [--group day|week] [--now UNIX_S] --out FILE.xlsx|FILE.csv\n"
          "         [--seed SEED:COUNT:SPAN_DAYS:END_UNIX_S [--dump-tickets FILE]]\n"
          "       helpdesk-reporter serve --config FILE\n",
          stderr);
    return 1;
}

static int parse_date(int64_t *out, const char *s, const char *tz)
{
    int y, m, d;
    char extra;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    bool exists;
    return hd_localtz_to_unix(out, &exists, tz, y, m, d, 0, 0);
}

static int cmd_run(const run_args *a)
{
    hd_err err = {0};
    hd_config *cfg = NULL;
    hd_model *m = NULL;
    int rc = HD_EINVAL;
    hd_config_report def = {
        .sections = HD_SECTION_ALL, .period = HD_PERIOD_LAST_WEEK, .grouping = HD_GROUP_DAY};
    snprintf(def.tz, sizeof def.tz, "UTC");
    const hd_config_report *r = &def;
    if (a->config) {
        rc = hd_config_load(&cfg, a->config, &err);
        if (rc)
            goto fail;
        r = hd_config_find_report(cfg, a->report);
        if (!r) {
            rc = hd_err_set(&err, HD_ENOTFOUND, "%s: no [report %s]", a->config, a->report);
            goto fail;
        }
    }
    const char *tz = a->tz ? a->tz : r->tz;
    hd_grouping g = r->grouping;
    if (a->group)
        g = !strcmp(a->group, "week") ? HD_GROUP_WEEK : HD_GROUP_DAY;
    int64_t now = a->now_s ? a->now_s : (int64_t)time(NULL);
    int64_t from, to;
    if (a->from || a->to) {
        if (!a->from || !a->to || parse_date(&from, a->from, tz) || parse_date(&to, a->to, tz)) {
            rc = hd_err_set(&err, HD_EINVAL, "--from and --to need YYYY-MM-DD dates");
            goto fail;
        }
        /* --to is inclusive: the period ends at the next local midnight. */
        hd_localtm lt;
        hd_localtz_from_unix(&lt, tz, to + 36 * 3600);
        bool exists;
        hd_localtz_to_unix(&to, &exists, tz, lt.year, lt.mon, lt.mday, 0, 0);
    } else if (hd_model_period(&from, &to, r->period, tz, now)) {
        rc = hd_err_set(&err, HD_EINVAL, "unknown time zone %s", tz);
        goto fail;
    }
    const char *title = r->title[0] ? r->title : a->report;
    rc = hd_model_create(&m, title, tz, g, from, to, &err);
    if (rc)
        goto fail;
    m->generated_s = now;
    hd_source src;
    hd_seed gen = {0};
    if (a->seed) {
        if (sscanf(a->seed, "%" SCNu64 ":%" SCNu64 ":%d:%" SCNd64, &gen.seed, &gen.count,
                   &gen.span_days, &gen.end_s) != 4 ||
            gen.span_days < 1) {
            rc = hd_err_set(&err, HD_EINVAL, "--seed wants SEED:COUNT:SPAN_DAYS:END_UNIX_S");
            goto fail;
        }
        src = hd_seed_source(&gen);
        if (a->dump) {
            FILE *f = fopen(a->dump, "wb");
            rc = f ? hd_seed_dump(&gen, f) : HD_EIO;
            if (f && fclose(f))
                rc = HD_EIO;
            if (rc) {
                hd_err_set(&err, rc, "%s: cannot write", a->dump);
                goto fail;
            }
        }
    } else {
        rc = hd_err_set(&err, HD_EUNIMPL,
                        "server source: use --seed (ReportingService client "
                        "not wired yet)");
        goto fail;
    }
    rc = hd_xlsx_write(a->out, m, &src, r->sections, NULL, &err);
    if (rc)
        goto fail;
    hd_model_free(m);
    hd_config_free(cfg);
    return 0;
fail:
    fprintf(stderr, "helpdesk-reporter: %s\n", err.detail[0] ? err.detail : hd_strerror(rc));
    hd_model_free(m);
    hd_config_free(cfg);
    return rc == HD_EINVAL ? 1 : 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    run_args a = {.report = "report"};
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        if (i + 1 >= argc)
            return usage();
        const char *v = argv[++i];
        if (!strcmp(k, "--config"))
            a.config = v;
        else if (!strcmp(k, "--report"))
            a.report = v;
        else if (!strcmp(k, "--from"))
            a.from = v;
        else if (!strcmp(k, "--to"))
            a.to = v;
        else if (!strcmp(k, "--tz"))
            a.tz = v;
        else if (!strcmp(k, "--group"))
            a.group = v;
        else if (!strcmp(k, "--out"))
            a.out = v;
        else if (!strcmp(k, "--seed"))
            a.seed = v;
        else if (!strcmp(k, "--dump-tickets"))
            a.dump = v;
        else if (!strcmp(k, "--now"))
            a.now_s = strtoll(v, NULL, 10);
        else
            return usage();
    }
    if (!strcmp(argv[1], "run")) {
        if (!a.out)
            return usage();
        if (a.tz && !hd_localtz_valid(a.tz)) {
            fprintf(stderr, "helpdesk-reporter: unknown time zone %s\n", a.tz);
            return 1;
        }
        return cmd_run(&a);
    }
    return usage();
}
