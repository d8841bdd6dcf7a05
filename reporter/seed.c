/* The seeded generator. Volumes follow office hours (weekdays 08-18 local-ish UTC hours
 * busier), priorities and categories have fixed weights, durations are log-uniform, and
 * some subjects and agent names are crafted to test formula-injection handling. */
#include "reporter/seed.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reporter/csv.h"

static const char *const categories[] = {"Billing", "Login",           "Shipping", "Returns",
                                         "Bug",     "Feature request", "Account"};
static const char *const groups[] = {"Tier 1", "Tier 2", "Billing team"};
static const char *const agents[] = {
    "Ada Lovelace",  "Grace Hopper",   "Zo\xC3\xAB \xC3\x85ngstr\xC3\xB6m",
    "Linus Pauling", "Barbara Liskov", "=cmd|' /C calc'!A0",
    "@mention Bob",  "Ken Thompson",   "Margaret Hamilton",
    "Dennis Ritchie"};
static const char *const subjects[] = {"Cannot log in",
                                       "Invoice is wrong",
                                       "Parcel did not arrive",
                                       "Refund for order",
                                       "App crashes on start",
                                       "Please add dark mode",
                                       "Change my email address",
                                       "=HYPERLINK(\"http://evil.example\",\"click\")",
                                       "+1 555 0100 please call back",
                                       "-5 degrees in the office",
                                       "@here printer on fire",
                                       "\tTabbed subject",
                                       "Comma, \"quoted\" and\nnew line",
                                       "\rCR first"};
/* Targets in business minutes per priority (urgent, high, normal, low). */
static const int frt_target[4] = {30, 60, 240, 480};
static const int next_target[4] = {60, 120, 480, 960};
static const int res_target[4] = {240, 1440, 2880, 5760};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r)
{
    r->s += 0x9E3779B97F4A7C15ull;
    return mix64(r->s);
}

static double unit(rng *r)
{
    return (double)(next(r) >> 11) / 9007199254740992.0;
}

static int64_t log_uniform(rng *r, double lo, double hi)
{
    return (int64_t)exp(log(lo) + unit(r) * (log(hi) - log(lo)));
}

/* Sets one SLA target: met/breached from actual duration when it happened before the end,
 * breached as of end when it did not happen and the due time passed. */
static void target(hd_model_ticket *t, int k, int64_t start_s, int64_t happened_s, int64_t actual,
                   int limit, int64_t end_s)
{
    t->due_s[k] = start_s + (int64_t)limit * 60;
    if (happened_s) {
        t->sla[k] = actual <= limit ? 1 : 2;
        t->breached_by_min[k] = actual > limit ? actual - limit : 0;
    } else if (t->due_s[k] < end_s) {
        t->sla[k] = 2;
        t->breached_by_min[k] = (end_s - t->due_s[k]) / 60;
    }
}

void hd_seed_ticket(const hd_seed *g, uint64_t i, hd_model_ticket *t, char *buf)
{
    rng r = {mix64(g->seed * 0x100000001B3ull ^ i)};
    memset(t, 0, sizeof *t);
    t->number = 1000 + i;
    /* Days start at UTC midnight so "office hours" are hours of the day; a ticket that
     * would fall at or after end_s moves back a day. */
    int64_t start = (g->end_s / 86400 - g->span_days + 1) * 86400;
    /* Pick a day uniformly, then an hour weighted to 08-18, then a second. */
    int64_t day = (int64_t)(unit(&r) * g->span_days);
    int hour = unit(&r) < 0.7 ? 8 + (int)(unit(&r) * 10) : (int)(unit(&r) * 24);
    t->created_s = start + day * 86400 + hour * 3600 + (int64_t)(unit(&r) * 3600);
    if (t->created_s >= g->end_s)
        t->created_s -= 86400;
    double pr = unit(&r);
    t->priority = pr < 0.05 ? 1 : pr < 0.25 ? 2 : pr < 0.85 ? 3 : 4;
    t->category = categories[next(&r) % N(categories)];
    t->group = groups[next(&r) % N(groups)];
    t->agent = agents[next(&r) % N(agents)];
    const char *subj = subjects[next(&r) % N(subjects)];
    snprintf(buf, 512, "%s", subj);
    t->subject = buf;
    int p = t->priority - 1;
    int64_t frt = log_uniform(&r, 1, 2000);
    int64_t res = frt + log_uniform(&r, 5, 20000);
    int answered = unit(&r) < 0.95, solved = unit(&r) < 0.85;
    int64_t next_min = log_uniform(&r, 1, 3000);
    int score = 0;
    double c = unit(&r);
    if (unit(&r) < 0.4)
        score = c < 0.05 ? 1 : c < 0.12 ? 2 : c < 0.30 ? 3 : c < 0.65 ? 4 : 5;
    if (answered && t->created_s + frt * 60 < g->end_s) {
        t->first_response_s = t->created_s + frt * 60;
        t->frt_min = frt;
    }
    if (t->first_response_s && solved && t->created_s + res * 60 < g->end_s) {
        t->solved_s = t->created_s + res * 60;
        t->res_min = res;
        t->csat = score;
    }
    target(t, HD_TARGET_FIRST, t->created_s, t->first_response_s, frt, frt_target[p], g->end_s);
    /* A next response is owed when the customer wrote again before the resolution. */
    if (t->first_response_s && res - frt > 60) {
        int64_t cust_s = t->first_response_s + 30 * 60;
        int64_t reply_s = cust_s + next_min * 60;
        int64_t happened = reply_s < g->end_s ? reply_s : 0;
        if (cust_s < g->end_s)
            target(t, HD_TARGET_NEXT, cust_s, happened, next_min, next_target[p], g->end_s);
    }
    target(t, HD_TARGET_RESOLUTION, t->created_s, t->solved_s, res, res_target[p], g->end_s);
}

static int seed_fill(void *ud, hd_model *m, hd_err *err)
{
    (void)err;
    const hd_seed *g = ud;
    char buf[512];
    hd_model_ticket t;
    for (uint64_t i = 0; i < g->count; i++) {
        hd_seed_ticket(g, i, &t, buf);
        hd_model_add_ticket(m, &t);
    }
    hd_model_finish(m);
    return 0;
}

static int seed_breaches(void *ud, const hd_model *m, hd_model_breach_fn fn, void *fn_ud,
                         hd_err *err)
{
    const hd_seed *g = ud;
    char buf[512];
    hd_model_ticket t;
    for (uint64_t i = 0; i < g->count; i++) {
        hd_seed_ticket(g, i, &t, buf);
        int rc = hd_model_ticket_breaches(m, &t, fn, fn_ud);
        if (rc)
            return hd_err_set(err, rc, "breach rows: writing failed");
    }
    return 0;
}

hd_source hd_seed_source(hd_seed *g)
{
    return (hd_source){.ud = g, .fill = seed_fill, .breaches = seed_breaches};
}

int hd_seed_dump(const hd_seed *g, FILE *f)
{
    hd_csv *w = hd_csv_open(f);
    if (!w)
        return HD_ENOMEM;
    static const char *const head[] = {
        "number",           "subject",  "category", "group",   "agent",   "priority",  "created_s",
        "first_response_s", "frt_min",  "solved_s", "res_min", "csat",    "sla_first", "due_first",
        "by_first",         "sla_next", "due_next", "by_next", "sla_res", "due_res",   "by_res"};
    for (size_t i = 0; i < N(head); i++)
        hd_csv_text(w, head[i]);
    hd_csv_end_row(w);
    char buf[512];
    hd_model_ticket t;
    for (uint64_t i = 0; i < g->count; i++) {
        hd_seed_ticket(g, i, &t, buf);
        hd_csv_number(w, (double)t.number);
        hd_csv_text(w, t.subject);
        hd_csv_text(w, t.category);
        hd_csv_text(w, t.group);
        hd_csv_text(w, t.agent);
        double nums[] = {t.priority,
                         (double)t.created_s,
                         (double)t.first_response_s,
                         (double)t.frt_min,
                         (double)t.solved_s,
                         (double)t.res_min,
                         t.csat};
        for (size_t k = 0; k < N(nums); k++)
            hd_csv_number(w, nums[k]);
        for (int k = 0; k < HD_TARGETS; k++) {
            hd_csv_number(w, t.sla[k]);
            hd_csv_number(w, (double)t.due_s[k]);
            hd_csv_number(w, (double)t.breached_by_min[k]);
        }
        hd_csv_end_row(w);
    }
    return hd_csv_close(w);
}
