/* The report's sections, one file each. Each writes one sheet (one CSV file) from the
 * model; breaches also pulls its rows from the source. All return HD_OK or an error with
 * detail in err. */
#ifndef HD_REPORTER_SECTIONS_H
#define HD_REPORTER_SECTIONS_H

#include "reporter/model.h"
#include "reporter/sheet.h"
#include "reporter/source.h"

int hd_summary_write(hd_book *b, hd_model *m, hd_err *err);
int hd_volume_write(hd_book *b, hd_model *m, hd_err *err);
int hd_sla_write(hd_book *b, hd_model *m, hd_err *err);
int hd_times_write(hd_book *b, hd_model *m, hd_err *err);
int hd_agents_write(hd_book *b, hd_model *m, hd_err *err);
int hd_mix_write(hd_book *b, hd_model *m, hd_err *err);
int hd_heatmap_write(hd_book *b, hd_model *m, hd_err *err);
int hd_csat_write(hd_book *b, hd_model *m, hd_err *err);
int hd_breaches_write(hd_book *b, hd_model *m, const hd_source *src, hd_err *err);

/* Most trend rows a report can have (days of the longest period). */
#define HD_SECTIONS_ROWS_MAX 400

#endif
