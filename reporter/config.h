/* The reporter's configuration file: an INI file of report definitions, schedules,
 * recipients, SMTP settings, output formats and retention, parsed and validated with
 * line-numbered errors ("reporter.ini:12: schedule weekly: cron: ..."). */
#ifndef HD_REPORTER_CONFIG_H
#define HD_REPORTER_CONFIG_H

#include <stddef.h>

#include "server/common/err.h"

/* Sections a report can contain, in workbook order. */
enum {
    HD_SECTION_SUMMARY = 1u << 0,
    HD_SECTION_VOLUME = 1u << 1,
    HD_SECTION_SLA = 1u << 2,
    HD_SECTION_TIMES = 1u << 3,
    HD_SECTION_AGENTS = 1u << 4,
    HD_SECTION_MIX = 1u << 5,
    HD_SECTION_HEATMAP = 1u << 6,
    HD_SECTION_CSAT = 1u << 7,
    HD_SECTION_BREACHES = 1u << 8,
};
#define HD_SECTION_ALL   0x1FFu
#define HD_SECTION_COUNT 9

enum { HD_FORMAT_XLSX = 1, HD_FORMAT_CSV = 2 };
typedef enum { HD_GROUP_DAY = 1, HD_GROUP_WEEK = 2 } hd_grouping;
typedef enum {
    HD_PERIOD_LAST_7_DAYS = 1,
    HD_PERIOD_LAST_WEEK,
    HD_PERIOD_LAST_30_DAYS,
    HD_PERIOD_LAST_MONTH,
} hd_period;

#define HD_CONFIG_NAME_MAX       64
#define HD_CONFIG_VALUE_MAX      512
#define HD_CONFIG_RECIPIENTS_MAX 32
#define HD_CONFIG_EMAIL_MAX      256

typedef struct hd_config_report {
    char name[HD_CONFIG_NAME_MAX];
    char title[HD_CONFIG_VALUE_MAX];
    unsigned sections; /* HD_SECTION_* bits; default all */
    hd_period period;  /* default last_week */
    hd_grouping grouping;
    char tz[HD_CONFIG_NAME_MAX];       /* IANA zone of the readers; default UTC */
    int priority;                      /* filter: 0 = all, 1-4 = helpdesk.v1.Priority */
    char category[HD_CONFIG_NAME_MAX]; /* filter: "" = all */
    char group[HD_CONFIG_NAME_MAX];    /* filter: "" = all */
    int line;                          /* where the section starts */
} hd_config_report;

typedef struct hd_config_schedule {
    char name[HD_CONFIG_NAME_MAX];
    char report[HD_CONFIG_NAME_MAX]; /* names a [report ...] */
    char cron[HD_CONFIG_VALUE_MAX];  /* 5-field cron expression, checked by hd_cron_parse */
    char tz[HD_CONFIG_NAME_MAX];     /* zone the cron expression is read in; default UTC */
    unsigned formats;                /* HD_FORMAT_* bits; default xlsx */
    char recipients[HD_CONFIG_RECIPIENTS_MAX][HD_CONFIG_EMAIL_MAX];
    size_t n_recipients;
    int line;
} hd_config_schedule;

typedef struct hd_config {
    /* [server] */
    char target[HD_CONFIG_VALUE_MAX];     /* host:port; default 127.0.0.1:7070 */
    char token_file[HD_CONFIG_VALUE_MAX]; /* file holding the bearer token */
    /* [smtp] */
    char smtp_url[HD_CONFIG_VALUE_MAX]; /* smtp://host:port or smtps:// */
    char smtp_from[HD_CONFIG_VALUE_MAX];
    char smtp_user[HD_CONFIG_VALUE_MAX];
    char smtp_password_file[HD_CONFIG_VALUE_MAX];
    int smtp_retries; /* default 3 */
    /* [output] */
    char out_dir[HD_CONFIG_VALUE_MAX];    /* where generated files go; default "reports" */
    char state_file[HD_CONFIG_VALUE_MAX]; /* last run per schedule; default out_dir/state */
    int retention_days; /* generated files older than this are removed; 0 = keep */
    hd_config_report *reports;
    size_t n_reports;
    hd_config_schedule *schedules;
    size_t n_schedules;
} hd_config;

/* Parses the NUL-terminated INI text (name is used in error messages, e.g. the path).
 * Checks every key, value, cross reference (a schedule's report exists), cron expression
 * and recipient address. On success *out is owned (free with hd_config_free). Returns
 * HD_OK, HD_EINVAL with "NAME:LINE: message" in err, or HD_ENOMEM. */
int hd_config_parse(hd_config **out, const char *name, const char *text, size_t len, hd_err *err);

/* Reads and parses the file at path, as hd_config_parse. HD_EIO when unreadable. */
int hd_config_load(hd_config **out, const char *path, hd_err *err);

/* Returns the report named name, borrowed until hd_config_free; NULL when none. */
const hd_config_report *hd_config_find_report(const hd_config *cfg, const char *name);

/* Returns the bits of a comma-separated section list ("summary,sla"), 0 when a name is
 * unknown. "all" means every section. */
unsigned hd_config_sections(const char *list);

/* Returns the name of one section bit ("summary"), static; NULL for other values. */
const char *hd_config_section_name(unsigned bit);

/* Frees cfg. NULL is allowed. */
void hd_config_free(hd_config *cfg);

#endif
