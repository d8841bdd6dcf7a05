/* Period resolution and the build of one report. */
#include "reporter/report.h"

#include <stdio.h>
#include <stdlib.h>

#include "reporter/localtz.h"
#include "reporter/xlsx.h"

static int parse_date(int64_t *out, const char *s, const char *tz)
{
    int y, m, d;
    char extra;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    bool exists;
    return hd_localtz_to_unix(out, &exists, tz, y, m, d, 0, 0);
}

int hd_report_period(int64_t *from, int64_t *to, const hd_config_report *r, const char *tz,
                     const char *from_date, const char *to_date, int64_t now_s, hd_err *err)
{
    if (!hd_localtz_valid(tz))
        return hd_err_set(err, HD_EINVAL, "unknown time zone %s", tz);
    if (!from_date && !to_date) {
        if (hd_model_period(from, to, r->period, tz, now_s))
            return hd_err_set(err, HD_EINVAL, "cannot resolve the period in %s", tz);
        return 0;
    }
    if (!from_date || !to_date || parse_date(from, from_date, tz) || parse_date(to, to_date, tz))
        return hd_err_set(err, HD_EINVAL, "--from and --to need YYYY-MM-DD dates");
    /* The end date is inclusive: the period ends at the next local midnight. */
    hd_localtm lt;
    hd_localtz_from_unix(&lt, tz, *to + 36 * 3600);
    bool exists;
    hd_localtz_to_unix(to, &exists, tz, lt.year, lt.mon, lt.mday, 0, 0);
    if (*to <= *from)
        return hd_err_set(err, HD_EINVAL, "--to is before --from");
    return 0;
}

int hd_report_build(hd_model **m, char ***files, const hd_config_report *r, const char *title,
                    const char *tz, hd_grouping g, int64_t from, int64_t to, int64_t generated_s,
                    const hd_source *src, const char *out, hd_err *err)
{
    hd_model *model = NULL;
    if (m)
        *m = NULL;
    int rc = hd_model_create(&model, title, tz, g, from, to, err);
    if (rc)
        return rc;
    model->generated_s = generated_s;
    rc = hd_xlsx_write(out, model, src, r->sections, files, err);
    if (rc || !m)
        hd_model_free(model);
    else
        *m = model;
    return rc;
}

void hd_report_files_free(char **files)
{
    if (!files)
        return;
    for (char **p = files; *p; p++)
        free(*p);
    free(files);
}
