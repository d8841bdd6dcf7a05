/* Aggregation of tickets into the report model. The rules here are the report's
 * definitions: a ticket counts as created on its creation day, solved on its solve day,
 * answered on its first-response day; an SLA target counts in the period its due time
 * falls in; backlog is the count of tickets created and not yet solved at a day's end. */
#include "reporter/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporter/localtz.h"

#define MODEL_DAYS_MAX 400
#define OFF_UNKNOWN    INT32_MIN

int hd_hist_bucket(int64_t minutes)
{
    if (minutes < 0)
        minutes = 0;
    if (minutes < 120)
        return (int)minutes;
    if (minutes < 1440)
        return 120 + (int)((minutes - 120) / 5);
    if (minutes < 43200)
        return 384 + (int)((minutes - 1440) / 60);
    return HD_HIST_BUCKETS - 1;
}

int64_t hd_hist_floor(int b)
{
    if (b < 120)
        return b;
    if (b < 384)
        return 120 + (int64_t)(b - 120) * 5;
    return 1440 + (int64_t)(b - 384) * 60;
}

void hd_hist_add(hd_hist *h, int64_t minutes)
{
    h->n[hd_hist_bucket(minutes)]++;
    h->count++;
}

void hd_hist_merge(hd_hist *into, const hd_hist *from)
{
    if (!from->count)
        return;
    for (int i = 0; i < HD_HIST_BUCKETS; i++)
        into->n[i] += from->n[i];
    into->count += from->count;
}

int64_t hd_hist_percentile(const hd_hist *h, double p)
{
    if (!h->count)
        return -1;
    uint64_t rank = (uint64_t)ceil(p * (double)h->count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < HD_HIST_BUCKETS; i++) {
        seen += h->n[i];
        if (seen >= rank)
            return hd_hist_floor(i);
    }
    return hd_hist_floor(HD_HIST_BUCKETS - 1);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static int offset_at(hd_model *m, int64_t unix_s)
{
    int64_t h = floor_div(unix_s, 3600) - m->off_base_hour;
    if (h >= 0 && h < m->off_hours && m->off[h] != OFF_UNKNOWN)
        return m->off[h];
    hd_localtm lt;
    int off = hd_localtz_from_unix(&lt, m->tz, unix_s) ? 0 : lt.utc_offset_s;
    /* Offsets change on whole-hour UTC boundaries in every zone the reporter serves;
     * zones with a :30/:45 change would make the cache coarse by that much. */
    if (h >= 0 && h < m->off_hours)
        m->off[h] = off;
    return off;
}

int64_t hd_model_local_s(hd_model *m, int64_t unix_s)
{
    return unix_s + offset_at(m, unix_s);
}

int64_t hd_model_local_day(hd_model *m, int64_t unix_s)
{
    return floor_div(hd_model_local_s(m, unix_s), 86400);
}

int hd_model_create(hd_model **out, const char *title, const char *tz, hd_grouping g,
                    int64_t from_s, int64_t to_s, hd_err *err)
{
    *out = NULL;
    if (!hd_localtz_valid(tz))
        return hd_err_set(err, HD_EINVAL, "unknown time zone \"%s\"", tz);
    if (to_s <= from_s || to_s - from_s > (int64_t)MODEL_DAYS_MAX * 86400)
        return hd_err_set(err, HD_EINVAL, "period must be 1-%d days", MODEL_DAYS_MAX);
    hd_model *m = calloc(1, sizeof *m);
    if (!m)
        goto nomem;
    snprintf(m->title, sizeof m->title, "%s", title);
    snprintf(m->tz, sizeof m->tz, "%s", tz);
    m->grouping = g;
    m->from_s = from_s;
    m->to_s = to_s;
    int64_t len = to_s - from_s;
    m->off_base_hour = floor_div(from_s - len, 3600) - 1;
    m->off_hours = floor_div(to_s, 3600) + 2 - m->off_base_hour;
    m->off = malloc((size_t)m->off_hours * sizeof *m->off);
    if (!m->off)
        goto nomem;
    for (int64_t i = 0; i < m->off_hours; i++)
        m->off[i] = OFF_UNKNOWN;
    m->first_day = hd_model_local_day(m, from_s);
    m->n_days = (int)(hd_model_local_day(m, to_s - 1) - m->first_day + 1);
    m->days = calloc((size_t)m->n_days, sizeof *m->days);
    m->backlog_diff = calloc((size_t)m->n_days + 1, sizeof *m->backlog_diff);
    if (!m->days || !m->backlog_diff)
        goto nomem;
    for (int i = 0; i < m->n_days; i++)
        m->days[i].day = m->first_day + i;
    *out = m;
    return 0;
nomem:
    hd_model_free(m);
    return hd_err_set(err, HD_ENOMEM, "report model: out of memory");
}

void hd_model_free(hd_model *m)
{
    if (!m)
        return;
    free(m->days);
    free(m->backlog_diff);
    free(m->off);
    free(m);
}

/* Index of name in a fixed name table, adding it when new; the last slot collects
 * "Other" once the table is full. */
static int name_index(char (*names)[HD_MODEL_NAME_LEN], int *n, const char *name)
{
    if (!name || !*name)
        name = "(none)";
    for (int i = 0; i < *n; i++)
        if (!strcmp(names[i], name))
            return i;
    if (*n == HD_MODEL_NAMES_MAX - 1) {
        snprintf(names[*n], HD_MODEL_NAME_LEN, "Other");
        (*n)++;
    }
    if (*n == HD_MODEL_NAMES_MAX)
        return HD_MODEL_NAMES_MAX - 1;
    snprintf(names[*n], HD_MODEL_NAME_LEN, "%s", name);
    return (*n)++;
}

static int agent_index(hd_model *m, const char *name)
{
    if (!name || !*name)
        name = "(unassigned)";
    for (int i = 0; i < m->n_agents; i++)
        if (!strcmp(m->agents[i].name, name))
            return i;
    if (m->n_agents == HD_MODEL_NAMES_MAX)
        return HD_MODEL_NAMES_MAX - 1;
    snprintf(m->agents[m->n_agents].name, HD_MODEL_NAME_LEN, "%s", name);
    return m->n_agents++;
}

int hd_model_category(hd_model *m, const char *name)
{
    return name_index(m->categories, &m->n_categories, name);
}

int hd_model_group(hd_model *m, const char *name)
{
    return name_index(m->groups, &m->n_groups, name);
}

int hd_model_agent_index(hd_model *m, const char *name)
{
    return agent_index(m, name);
}

/* Sorts names[0..n) and moves the rows of the count tables (each of n entries of size
 * sizes[i]) with them; "Other" (the overflow slot) stays last. */
static void sort_table(char (*names)[HD_MODEL_NAME_LEN], int n, void **tables, const size_t *sizes,
                       int n_tables)
{
    int sortable = n && !strcmp(names[n - 1], "Other") && n == HD_MODEL_NAMES_MAX ? n - 1 : n;
    for (int i = 1; i < sortable; i++) /* insertion sort: at most 63 names */
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char tmp[HD_MODEL_NAME_LEN];
            memcpy(tmp, names[j], sizeof tmp);
            memcpy(names[j], names[j - 1], sizeof tmp);
            memcpy(names[j - 1], tmp, sizeof tmp);
            for (int t = 0; t < n_tables; t++) {
                unsigned char buf[sizeof(hd_sla_count)];
                unsigned char *a = (unsigned char *)tables[t] + (size_t)j * sizes[t];
                unsigned char *b = a - sizes[t];
                memcpy(buf, a, sizes[t]);
                memcpy(a, b, sizes[t]);
                memcpy(b, buf, sizes[t]);
            }
        }
}

void hd_model_sort_names(hd_model *m)
{
    void *cats[] = {m->cat_created, m->sla_cat};
    const size_t cat_sizes[] = {sizeof m->cat_created[0], sizeof m->sla_cat[0]};
    sort_table(m->categories, m->n_categories, cats, cat_sizes, 2);
    void *groups[] = {m->sla_group};
    const size_t group_sizes[] = {sizeof m->sla_group[0]};
    sort_table(m->groups, m->n_groups, groups, group_sizes, 1);
}

/* 1 = in the period, 2 = in the previous period, 0 = neither. */
static int which(const hd_model *m, int64_t t)
{
    if (t >= m->from_s && t < m->to_s)
        return 1;
    if (t >= m->from_s - (m->to_s - m->from_s) && t < m->from_s)
        return 2;
    return 0;
}

void hd_model_add_ticket(hd_model *m, const hd_model_ticket *t)
{
    int pi = t->priority >= 1 && t->priority <= 4 ? t->priority - 1 : 2;
    int w = which(m, t->created_s);
    int64_t created_day = 0;
    if (w)
        created_day = hd_model_local_day(m, t->created_s) - m->first_day;
    if (w == 1) {
        m->days[created_day].created++;
        m->cur.created++;
        m->prio_created[pi]++;
        int ci = name_index(m->categories, &m->n_categories, t->category);
        m->cat_created[ci]++;
        int64_t ls = hd_model_local_s(m, t->created_s);
        int64_t d = floor_div(ls, 86400);
        int wd = (int)(((d % 7) + 10) % 7); /* 1970-01-01 was a Thursday; Monday = 0 */
        m->heat[wd][(ls - d * 86400) / 3600]++;
    } else if (w == 2) {
        m->prev.created++;
    }
    /* Backlog: +1 from the creation day, -1 from the solve day. */
    if (t->created_s < m->to_s) {
        int64_t in_at = t->created_s < m->from_s ? -1 : created_day;
        int64_t out_at = -2; /* not solved within the period's end */
        if (t->solved_s && t->solved_s < m->to_s)
            out_at =
                t->solved_s < m->from_s ? -1 : hd_model_local_day(m, t->solved_s) - m->first_day;
        if (!(in_at == -1 && out_at == -1)) {
            if (in_at == -1)
                m->backlog_before++;
            else
                m->backlog_diff[in_at]++;
            if (out_at >= 0)
                m->backlog_diff[out_at]--;
        }
        if (t->created_s < m->from_s && (!t->solved_s || t->solved_s >= m->from_s))
            m->prev_backlog_end++;
    }
    int ai = agent_index(m, t->agent);
    hd_model_agent *ag = &m->agents[ai];
    if (t->first_response_s) {
        w = which(m, t->first_response_s);
        if (w == 1) {
            hd_hist_add(&m->days[hd_model_local_day(m, t->first_response_s) - m->first_day].frt,
                        t->frt_min);
            hd_hist_add(&m->cur.frt, t->frt_min);
            hd_hist_add(&ag->frt, t->frt_min);
        } else if (w == 2) {
            hd_hist_add(&m->prev.frt, t->frt_min);
        }
    }
    if (t->solved_s) {
        w = which(m, t->solved_s);
        if (w == 1) {
            hd_model_day *day = &m->days[hd_model_local_day(m, t->solved_s) - m->first_day];
            day->solved++;
            hd_hist_add(&day->res, t->res_min);
            m->cur.solved++;
            hd_hist_add(&m->cur.res, t->res_min);
            ag->solved++;
            if (t->csat >= 1 && t->csat <= 5) {
                day->csat[t->csat - 1]++;
                m->cur.csat_n++;
                m->cur.csat_sum += (uint32_t)t->csat;
                ag->csat_n++;
                ag->csat_sum += (uint32_t)t->csat;
            }
        } else if (w == 2) {
            m->prev.solved++;
            hd_hist_add(&m->prev.res, t->res_min);
            if (t->csat >= 1 && t->csat <= 5) {
                m->prev.csat_n++;
                m->prev.csat_sum += (uint32_t)t->csat;
            }
        }
    }
    int ci = -1, gi = -1;
    for (int k = 0; k < HD_TARGETS; k++) {
        if (!t->sla[k])
            continue;
        w = which(m, t->due_s[k]);
        int met = t->sla[k] == 1;
        if (w == 2) {
            if (met)
                m->prev.sla.met[k]++;
            else
                m->prev.sla.breached[k]++;
            continue;
        }
        if (w != 1)
            continue;
        if (ci < 0) {
            ci = name_index(m->categories, &m->n_categories, t->category);
            gi = name_index(m->groups, &m->n_groups, t->group);
        }
        hd_sla_count *cs[4] = {&m->cur.sla, &m->sla_prio[pi], &m->sla_cat[ci], &m->sla_group[gi]};
        for (int j = 0; j < 4; j++) {
            if (met)
                cs[j]->met[k]++;
            else
                cs[j]->breached[k]++;
        }
        ag->sla_total++;
        ag->sla_met += (uint32_t)met;
    }
}

void hd_model_finish(hd_model *m)
{
    int64_t run = m->backlog_before;
    for (int i = 0; i < m->n_days; i++) {
        run += m->backlog_diff[i];
        m->days[i].backlog = (uint32_t)run;
    }
    m->cur.backlog_end = m->n_days ? m->days[m->n_days - 1].backlog : 0;
    m->prev.backlog_end = (uint32_t)m->prev_backlog_end;
    hd_model_sort_names(m);
}

int hd_model_ticket_breaches(const hd_model *m, const hd_model_ticket *t, hd_model_breach_fn fn,
                             void *ud)
{
    for (int k = 0; k < HD_TARGETS; k++) {
        if (t->sla[k] != 2 || which(m, t->due_s[k]) != 1)
            continue;
        hd_model_breach b = {.number = t->number,
                             .subject = t->subject,
                             .agent = t->agent,
                             .target = k,
                             .priority = t->priority,
                             .due_s = t->due_s[k],
                             .breached_by_min = t->breached_by_min[k]};
        int rc = fn(ud, &b);
        if (rc)
            return rc;
    }
    return 0;
}

int hd_model_rows(const hd_model *m, hd_model_row *rows, int max)
{
    int n = 0;
    for (int i = 0; i < m->n_days; i++) {
        const hd_model_day *d = &m->days[i];
        int wd = (int)(((d->day % 7) + 10) % 7);
        int start = n == 0 || m->grouping == HD_GROUP_DAY || wd == 0;
        if (start) {
            if (n == max)
                break;
            memset(&rows[n], 0, sizeof rows[n]);
            rows[n].day = d->day;
            n++;
        }
        hd_model_row *r = &rows[n - 1];
        r->created += d->created;
        r->solved += d->solved;
        r->backlog = d->backlog;
        hd_hist_merge(&r->frt, &d->frt);
        hd_hist_merge(&r->res, &d->res);
        for (int k = 0; k < 5; k++)
            r->csat[k] += d->csat[k];
    }
    return n;
}

int hd_model_period(int64_t *from_s, int64_t *to_s, hd_period p, const char *tz, int64_t now_s)
{
    hd_localtm lt;
    if (hd_localtz_from_unix(&lt, tz, now_s))
        return HD_EINVAL;
    int y = lt.year, mo = lt.mon, d = lt.mday;
    int64_t back_from, back_to; /* in days relative to today, for the day-based periods */
    int mon_wd = (lt.wday + 6) % 7;
    bool exists;
    switch (p) {
    case HD_PERIOD_LAST_7_DAYS:
        back_from = 7, back_to = 0;
        break;
    case HD_PERIOD_LAST_30_DAYS:
        back_from = 30, back_to = 0;
        break;
    case HD_PERIOD_LAST_WEEK:
        back_from = mon_wd + 7, back_to = mon_wd;
        break;
    case HD_PERIOD_LAST_MONTH: {
        int py = mo == 1 ? y - 1 : y, pm = mo == 1 ? 12 : mo - 1;
        if (hd_localtz_to_unix(from_s, &exists, tz, py, pm, 1, 0, 0) ||
            hd_localtz_to_unix(to_s, &exists, tz, y, mo, 1, 0, 0))
            return HD_EINVAL;
        return 0;
    }
    default:
        return HD_EINVAL;
    }
    /* Walk civil dates with mktime-free arithmetic via noon-anchored Unix times. */
    int64_t noon;
    if (hd_localtz_to_unix(&noon, &exists, tz, y, mo, d, 12, 0))
        return HD_EINVAL;
    hd_localtm a, b;
    hd_localtz_from_unix(&a, tz, noon - back_from * 86400);
    hd_localtz_from_unix(&b, tz, noon - back_to * 86400);
    if (hd_localtz_to_unix(from_s, &exists, tz, a.year, a.mon, a.mday, 0, 0) ||
        hd_localtz_to_unix(to_s, &exists, tz, b.year, b.mon, b.mday, 0, 0))
        return HD_EINVAL;
    return 0;
}

const char *hd_model_priority_name(int priority)
{
    static const char *const names[] = {"Urgent", "High", "Normal", "Low"};
    return priority >= 1 && priority <= 4 ? names[priority - 1] : "Normal";
}

const char *hd_model_target_name(int target)
{
    static const char *const names[] = {"First response", "Next response", "Resolution"};
    return target >= 0 && target < HD_TARGETS ? names[target] : "?";
}

double hd_model_pct(uint32_t met, uint32_t breached)
{
    return met + breached ? (double)met / (double)(met + breached) : NAN;
}

double hd_model_pctl(const hd_hist *h, double p)
{
    int64_t v = hd_hist_percentile(h, p);
    return v < 0 ? NAN : (double)v;
}
