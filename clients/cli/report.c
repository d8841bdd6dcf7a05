/* `helpdesk report ...`: the manager's way to the scheduled reports without leaving the
 * CLI. `run` builds a report now from the server's ReportingService (the same code as
 * helpdesk-reporter, over this CLI's server and token) into an XLSX or CSV file; `list`
 * and `schedules` show what a reporter configuration defines and when each schedule runs
 * next and ran last. Schedules themselves are run by `helpdesk-reporter serve`. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clients/cli/cli.h"
#include "reporter/config.h"
#include "reporter/remote.h"
#include "reporter/report.h"
#include "reporter/schedule.h"

/* Loads --config when given; *cfg stays NULL otherwise. */
static int load_config(hd_cli *cli, const hd_cli_args *a, hd_config **cfg, int required)
{
    *cfg = NULL;
    const char *path = hd_cli_arg(a, "config");
    if (!path)
        return required ? hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--config FILE is required")
                        : HD_CLI_EXIT_OK;
    hd_err err = {0};
    if (hd_config_load(cfg, path, &err))
        return hd_cli_fail(cli, HD_CLI_EXIT_INVALID, "%s", err.detail);
    return HD_CLI_EXIT_OK;
}

/* The CLI exit code for an hd_ error of the report build. */
static int exit_code(int code)
{
    switch (code) {
    case HD_EUNAVAIL:
        return HD_CLI_EXIT_UNAVAILABLE;
    case HD_EPERM:
    case HD_EUNAUTH:
        return HD_CLI_EXIT_DENIED;
    case HD_EINVAL:
        return HD_CLI_EXIT_INVALID;
    case HD_ETIMEDOUT:
        return HD_CLI_EXIT_DEADLINE;
    default:
        return HD_CLI_EXIT_INTERNAL;
    }
}

static int report_run(hd_cli *cli, const hd_cli_args *a)
{
    if (!hd_cli_arg(a, "out"))
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--out FILE.xlsx|FILE.csv is required");
    hd_config *cfg;
    int rc = load_config(cli, a, &cfg, 0);
    if (rc)
        return rc;
    hd_config_report def = {
        .sections = HD_SECTION_ALL, .period = HD_PERIOD_LAST_WEEK, .grouping = HD_GROUP_DAY};
    snprintf(def.tz, sizeof def.tz, "UTC");
    const char *name = hd_cli_arg(a, "report");
    const hd_config_report *r = &def;
    if (cfg && name && !(r = hd_config_find_report(cfg, name))) {
        rc = hd_cli_fail(cli, HD_CLI_EXIT_NOT_FOUND, "no [report %s] in the configuration", name);
        goto out;
    }
    if (!cfg && hd_cli_arg(a, "sections") &&
        !(def.sections = hd_config_sections(hd_cli_arg(a, "sections")))) {
        rc = hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--sections: unknown section name");
        goto out;
    }
    const char *tz = hd_cli_arg(a, "tz") ? hd_cli_arg(a, "tz") : r->tz;
    const char *group = hd_cli_arg(a, "group");
    hd_grouping g = group ? (!strcmp(group, "week") ? HD_GROUP_WEEK : HD_GROUP_DAY) : r->grouping;
    int64_t now = (int64_t)time(NULL), from, to;
    hd_err err = {0};
    if (hd_report_period(&from, &to, r, tz, hd_cli_arg(a, "from"), hd_cli_arg(a, "to"), now,
                         &err)) {
        rc = hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "%s", err.detail);
        goto out;
    }
    hd_client *cl = hd_cli_client(cli, &rc);
    if (!cl)
        goto out;
    hd_remote remote = {.client = cl};
    hd_source src = hd_remote_source(&remote);
    char **files = NULL;
    const char *title = r != &def ? r->title : name ? name : "Helpdesk report";
    if (hd_report_build(NULL, &files, r, title, tz, g, from, to, now, &src, hd_cli_arg(a, "out"),
                        &err)) {
        rc = hd_cli_fail(cli, exit_code(err.code), "%s", err.detail);
        goto out;
    }
    for (char **p = files; *p; p++)
        printf("%s\n", *p);
    hd_report_files_free(files);
    rc = HD_CLI_EXIT_OK;
out:
    hd_config_free(cfg);
    return rc;
}

static int report_list(hd_cli *cli, const hd_cli_args *a)
{
    hd_config *cfg;
    int rc = load_config(cli, a, &cfg, 1);
    if (rc)
        return rc;
    static const char *const heads[] = {"report", "title", "period", "grouping", "tz", "sections"};
    static const char *const periods[] = {"", "last_7_days", "last_week", "last_30_days",
                                          "last_month"};
    hd_cli_table *t = hd_cli_table_new(heads, 6, 0);
    for (size_t i = 0; t && i < cfg->n_reports; i++) {
        const hd_config_report *r = &cfg->reports[i];
        char secs[256] = "";
        for (unsigned bit = 1; bit <= HD_SECTION_BREACHES; bit <<= 1)
            if (r->sections & bit) {
                size_t n = strlen(secs);
                snprintf(secs + n, sizeof secs - n, "%s%s", n ? "," : "",
                         hd_config_section_name(bit));
            }
        hd_cli_table_cell(t, r->name, 0);
        hd_cli_table_cell(t, r->title, 0);
        hd_cli_table_cell(t, periods[r->period], 0);
        hd_cli_table_cell(t, r->grouping == HD_GROUP_WEEK ? "week" : "day", 0);
        hd_cli_table_cell(t, r->tz, 0);
        hd_cli_table_cell(t, secs, 0);
    }
    if (t)
        hd_cli_table_print(t, stdout);
    hd_cli_table_free(t);
    hd_config_free(cfg);
    return t ? HD_CLI_EXIT_OK : hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
}

static int report_schedules(hd_cli *cli, const hd_cli_args *a)
{
    hd_config *cfg;
    int rc = load_config(cli, a, &cfg, 1);
    if (rc)
        return rc;
    hd_err err = {0};
    if (hd_schedule_print(stdout, cfg, (int64_t)time(NULL), &err))
        rc = hd_cli_fail(cli, HD_CLI_EXIT_INVALID, "%s", err.detail);
    hd_config_free(cfg);
    return rc;
}

static const hd_cli_opt run_opts[] = {
    {"config", "FILE", "reporter configuration (reports, defaults); optional"},
    {"report", "NAME", "a [report NAME] of --config (default: every section, last week)"},
    {"sections", "LIST",
     "without --config: summary,volume,sla,times,agents,mix,heatmap,csat,breaches"},
    {"from", "YYYY-MM-DD", "first day (with --to; default: the report's period)"},
    {"to", "YYYY-MM-DD", "last day, inclusive"},
    {"tz", "ZONE", "time zone of days and times, e.g. Europe/Berlin"},
    {"group", "day|week", "trend rows per day or per week"},
    {"out", "FILE", "FILE.xlsx for a workbook, FILE.csv for one CSV per section"},
    {0},
};

static const hd_cli_opt config_opts[] = {
    {"config", "FILE", "reporter configuration"},
    {0},
};

static const hd_cli_cmd report_cmds[] = {
    {"run", "Build a report now into an XLSX or CSV file",
     "--out FILE [--config FILE --report NAME] [--from DATE --to DATE] [--tz ZONE]", run_opts,
     "helpdesk report run --config reporter.ini --report weekly --out weekly.xlsx", report_run, 0,
     0},
    {"list", "List the reports a reporter configuration defines", "--config FILE", config_opts,
     "helpdesk report list --config reporter.ini", report_list, 0, 0},
    {"schedules", "Show each schedule's next and last run", "--config FILE", config_opts,
     "helpdesk report schedules --config reporter.ini", report_schedules, 0, 0},
    {0},
};

HD_CLI_GROUP(report, "Trend and SLA reports (XLSX/CSV) and their schedules", report_cmds);
