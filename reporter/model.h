/* The report's data model: everything the sections show, already aggregated per local
 * day of the report period (and totals of the previous period), so building a workbook
 * costs the same for 100k or 1M tickets. Filled by a source (the ReportingService's
 * rollups, or the seeded generator for tests and benchmarks) through hd_model_add_ticket
 * or by setting the aggregates directly. The breached-ticket detail rows are not held
 * here: a source streams them (hd_model_breach_fn). */
#ifndef HD_REPORTER_MODEL_H
#define HD_REPORTER_MODEL_H

#include <stdint.h>

#include "reporter/config.h"
#include "server/common/err.h"

/* Duration histograms in whole business minutes: 1-minute buckets below 2 h, 5-minute
 * below 24 h, 1-hour below 30 days, then one overflow bucket. Percentiles report a
 * bucket's lower bound (nearest rank), so they are exact to the minute below 2 h. */
#define HD_HIST_BUCKETS 1081

typedef struct hd_hist {
    uint32_t n[HD_HIST_BUCKETS];
    uint64_t count;
} hd_hist;

/* Bucket of a duration in minutes, and the lower bound of a bucket in minutes. */
int hd_hist_bucket(int64_t minutes);
int64_t hd_hist_floor(int bucket);
void hd_hist_add(hd_hist *h, int64_t minutes);
void hd_hist_merge(hd_hist *into, const hd_hist *from);
/* Nearest-rank percentile (p in (0,1]) in minutes; -1 when h is empty. */
int64_t hd_hist_percentile(const hd_hist *h, double p);

enum { HD_TARGET_FIRST = 0, HD_TARGET_NEXT = 1, HD_TARGET_RESOLUTION = 2, HD_TARGETS = 3 };
#define HD_MODEL_PRIORITIES 4
#define HD_MODEL_NAMES_MAX  64
#define HD_MODEL_NAME_LEN   96

typedef struct hd_sla_count {
    uint32_t met[HD_TARGETS], breached[HD_TARGETS];
} hd_sla_count;

/* Figures of one whole period (for the summary's change vs the previous period). */
typedef struct hd_model_totals {
    uint32_t created, solved, backlog_end;
    hd_hist frt, res;
    hd_sla_count sla;
    uint32_t csat_n, csat_sum;
} hd_model_totals;

typedef struct hd_model_day {
    int64_t day; /* local days since 1970-01-01 */
    uint32_t created, solved, backlog;
    hd_hist frt, res; /* of tickets first answered / solved that day */
    uint32_t csat[5]; /* scores 1-5 given that day */
} hd_model_day;

typedef struct hd_model_agent {
    char name[HD_MODEL_NAME_LEN];
    uint32_t solved;
    hd_hist frt;
    uint32_t sla_met, sla_total;
    uint32_t csat_n, csat_sum;
} hd_model_agent;

/* One ticket as a source reports it (seeded generator, or the server's rows). */
typedef struct hd_model_ticket {
    uint64_t number;
    const char *subject, *category, *group, *agent; /* borrowed for the call */
    int priority;                                   /* 1-4 */
    int64_t created_s;
    int64_t first_response_s; /* 0 = not yet */
    int64_t frt_min;          /* business minutes to first response */
    int64_t solved_s;         /* 0 = open */
    int64_t res_min;          /* business minutes to resolution */
    int csat;                 /* 0 = none, else 1-5, given at solved_s */
    /* per target: 0 = not applicable, 1 = met, 2 = breached */
    int sla[HD_TARGETS];
    int64_t due_s[HD_TARGETS];
    int64_t breached_by_min[HD_TARGETS];
} hd_model_ticket;

/* A breached target of one ticket: a row of the Breached tickets section. */
typedef struct hd_model_breach {
    uint64_t number;
    const char *subject, *agent; /* borrowed for the call */
    int target;                  /* HD_TARGET_* */
    int priority;
    int64_t due_s;
    int64_t breached_by_min;
} hd_model_breach;

typedef int (*hd_model_breach_fn)(void *ud, const hd_model_breach *row);

typedef struct hd_model {
    char title[HD_CONFIG_VALUE_MAX];
    char tz[HD_CONFIG_NAME_MAX];
    hd_grouping grouping;
    int64_t from_s, to_s; /* [from, to): local midnights */
    int64_t first_day;    /* local day of from_s */
    int n_days;
    hd_model_day *days;
    hd_model_totals cur, prev;
    hd_sla_count sla_prio[HD_MODEL_PRIORITIES];
    char categories[HD_MODEL_NAMES_MAX][HD_MODEL_NAME_LEN];
    uint32_t cat_created[HD_MODEL_NAMES_MAX];
    hd_sla_count sla_cat[HD_MODEL_NAMES_MAX];
    int n_categories;
    char groups[HD_MODEL_NAMES_MAX][HD_MODEL_NAME_LEN];
    hd_sla_count sla_group[HD_MODEL_NAMES_MAX];
    int n_groups;
    uint32_t prio_created[HD_MODEL_PRIORITIES];
    hd_model_agent agents[HD_MODEL_NAMES_MAX];
    int n_agents;
    uint32_t heat[7][24]; /* created, [weekday Mon=0][local hour] */
    int64_t generated_s;  /* fixed creation time written into the workbook */
    unsigned sections;    /* HD_SECTION_* bits the run renders (set before fill) */
    /* offset cache for local-day computation */
    int64_t *backlog_diff; /* n_days + 1 entries, summed by hd_model_finish */
    int64_t backlog_before, prev_backlog_end;
    int64_t off_base_hour; /* offset cache: one entry per UTC hour of [prev from, to) */
    int32_t *off;
    int64_t off_hours;
} hd_model;

/* Creates an empty model for [from_s, to_s) (local midnights in tz; at most 400 days).
 * Returns an owned model (free with hd_model_free) in *out; HD_EINVAL or HD_ENOMEM. */
int hd_model_create(hd_model **out, const char *title, const char *tz, hd_grouping g,
                    int64_t from_s, int64_t to_s, hd_err *err);

/* Adds one ticket's contribution to every aggregate (period and previous period). */
void hd_model_add_ticket(hd_model *m, const hd_model_ticket *t);

/* Index of a category / group / agent name in the model's tables, added when new (""
 * counts as "(none)", an agent "" as "(unassigned)"; past HD_MODEL_NAMES_MAX - 1 names the
 * last slot collects "Other"). */
int hd_model_category(hd_model *m, const char *name);
int hd_model_group(hd_model *m, const char *name);
int hd_model_agent_index(hd_model *m, const char *name);

/* Sorts the category and group tables by name (with their counts), so the sheets list them
 * in the same order whatever order a source met them in. hd_model_finish does it too. */
void hd_model_sort_names(hd_model *m);

/* Local day of unix_s in the model's zone (cached per hour). */
int64_t hd_model_local_day(hd_model *m, int64_t unix_s);

/* Local seconds (unix_s + offset) in the model's zone. */
int64_t hd_model_local_s(hd_model *m, int64_t unix_s);

/* Calls fn for the breached targets of t that fall in the period (due in [from, to)).
 * Returns fn's first nonzero result, or 0. */
int hd_model_ticket_breaches(const hd_model *m, const hd_model_ticket *t, hd_model_breach_fn fn,
                             void *ud);

/* Resolves the report period for run time now_s: [from, to) local midnights in tz.
 * Returns 0 or HD_EINVAL. */
int hd_model_period(int64_t *from_s, int64_t *to_s, hd_period p, const char *tz, int64_t now_s);

/* Completes derived figures (backlog per day, period backlogs) once every ticket is
 * added. Call once, before rendering. */
void hd_model_finish(hd_model *m);

/* One row of a trend section: a day, or a week (Monday-based) clipped to the period. */
typedef struct hd_model_row {
    int64_t day;                       /* first local day of the row */
    uint32_t created, solved, backlog; /* backlog at the end of the row's last day */
    hd_hist frt, res;
    uint32_t csat[5];
} hd_model_row;

/* Fills rows (up to max) with the model's grouped trend rows; returns how many. */
int hd_model_rows(const hd_model *m, hd_model_row *rows, int max);

/* "Urgent".."Low" for 1-4 ("Normal" otherwise); static. */
const char *hd_model_priority_name(int priority);

/* "First response", "Next response", "Resolution"; static. */
const char *hd_model_target_name(int target);

/* met / (met + breached) as a fraction, NAN when both are 0. */
double hd_model_pct(uint32_t met, uint32_t breached);

/* Percentile of h in minutes as a double, NAN when h is empty. */
double hd_model_pctl(const hd_hist *h, double p);

void hd_model_free(hd_model *m);

#endif
