/* One report run, shared by helpdesk-reporter and `helpdesk report run`: resolves the
 * period (the report's default, or explicit dates), fills the model from a source and
 * writes the workbook or CSV files. */
#ifndef HD_REPORTER_REPORT_H
#define HD_REPORTER_REPORT_H

#include <stdint.h>

#include "reporter/config.h"
#include "reporter/model.h"
#include "reporter/source.h"
#include "server/common/err.h"

/* Sets [*from, *to) for the run: from_date/to_date ("YYYY-MM-DD", to inclusive) when
 * given (both or neither), else the report's period relative to now_s, in zone tz.
 * Returns HD_OK or HD_EINVAL with detail. */
int hd_report_period(int64_t *from, int64_t *to, const hd_config_report *r, const char *tz,
                     const char *from_date, const char *to_date, int64_t now_s, hd_err *err);

/* Builds report r for [from, to) in tz with grouping g from src into out (.xlsx path or
 * CSV prefix); generated_s is the workbook's fixed creation time. On success *m is the
 * filled model (owned, hd_model_free; NULL allowed to discard) and *files the written
 * paths (owned NULL-terminated list, hd_report_files_free; NULL allowed). */
int hd_report_build(hd_model **m, char ***files, const hd_config_report *r, const char *title,
                    const char *tz, hd_grouping g, int64_t from, int64_t to, int64_t generated_s,
                    const hd_source *src, const char *out, hd_err *err);

/* Frees a list from hd_report_build. NULL allowed. */
void hd_report_files_free(char **files);

#endif
