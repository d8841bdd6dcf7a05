/* Report assembly: subtitle (period, zone, grouping), section order, file list. */
#include "reporter/xlsx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reporter/sections.h"

static void date_str(char *buf, size_t n, int64_t local_day)
{
    time_t t = (time_t)(local_day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d", &tm);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Per-step timings on stderr when HD_REPORTER_TIMINGS is set (benchmarks). */
static void timing(const char *what, double s)
{
    if (getenv("HD_REPORTER_TIMINGS"))
        fprintf(stderr, "timing %s_s=%.4f\n", what, s);
}

static char **copy_files(const hd_book *b)
{
    const char *const *paths;
    int n = hd_book_files(b, &paths);
    char **out = calloc((size_t)n + 1, sizeof *out);
    if (!out)
        return NULL;
    for (int i = 0; i < n; i++) {
        out[i] = strdup(paths[i]);
        if (!out[i]) {
            for (int j = 0; j < i; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
    }
    return out;
}

int hd_xlsx_write(const char *path, hd_model *m, const hd_source *src, unsigned sections,
                  char ***files, hd_err *err)
{
    if (files)
        *files = NULL;
    double t0 = now_s();
    m->sections = sections;
    int rc = src->fill(src->ud, m, err);
    if (rc)
        return rc;
    timing("fill", now_s() - t0);
    char from[16], to[16], sub[256];
    date_str(from, sizeof from, m->first_day);
    date_str(to, sizeof to, m->first_day + m->n_days - 1);
    snprintf(sub, sizeof sub, "%s to %s, %s, by %s", from, to, m->tz,
             m->grouping == HD_GROUP_WEEK ? "week" : "day");
    /* The breach rows the source will stream are the period's breached targets. */
    uint64_t breach_rows = 0;
    for (int k = 0; k < HD_TARGETS; k++)
        breach_rows += m->cur.sla.breached[k];
    int streaming = (sections & HD_SECTION_BREACHES) && breach_rows > HD_XLSX_TABLE_ROWS_MAX;
    hd_book *b;
    rc = hd_book_open(&b, path, m->title, sub, m->generated_s, streaming, err);
    if (rc)
        return rc;
    typedef int (*simple_fn)(hd_book *, hd_model *, hd_err *);
    static const simple_fn fns[HD_SECTION_COUNT - 1] = {
        hd_summary_write, hd_volume_write, hd_sla_write,     hd_times_write,
        hd_agents_write,  hd_mix_write,    hd_heatmap_write, hd_csat_write};
    for (int i = 0; i < HD_SECTION_COUNT - 1 && !rc; i++)
        if (sections & (1u << i)) {
            t0 = now_s();
            rc = fns[i](b, m, err);
            timing(hd_config_section_name(1u << i), now_s() - t0);
        }
    if (!rc && (sections & HD_SECTION_BREACHES)) {
        t0 = now_s();
        rc = hd_breaches_write(b, m, src, err);
        timing("breaches", now_s() - t0);
    }
    if (rc) {
        hd_book_abort(b);
        return rc;
    }
    char **list = files ? copy_files(b) : NULL;
    t0 = now_s();
    rc = hd_book_close(b, err);
    timing("close", now_s() - t0);
    if (rc || (files && !list)) {
        if (list)
            for (char **p = list; *p; p++)
                free(*p);
        free(list);
        return rc ? rc : hd_err_set(err, HD_ENOMEM, "out of memory");
    }
    if (files)
        *files = list;
    return 0;
}
