/* Writes a whole report: the chosen sections, in order, into one XLSX workbook or one CSV
 * file per section, from a model filled by a source. */
#ifndef HD_REPORTER_XLSX_H
#define HD_REPORTER_XLSX_H

#include "reporter/model.h"
#include "reporter/sheet.h"
#include "reporter/source.h"

/* Longest breach list written with Excel tables on every sheet; longer lists switch the
 * workbook to libxlsxwriter's constant-memory mode (autofilters instead of tables), which
 * keeps memory flat for any row count. */
#define HD_XLSX_TABLE_ROWS_MAX 50000

/* Fills m from src, then writes the sections (HD_SECTION_* bits) to path (.xlsx: a
 * workbook; otherwise CSV files PATH-<section>.csv). Files appear only complete (temp
 * name + rename). If files is not NULL, *files gets an owned NULL-terminated list of the
 * paths written (free each and the list with free). Returns HD_OK or an error with
 * detail in err. */
int hd_xlsx_write(const char *path, hd_model *m, const hd_source *src, unsigned sections,
                  char ***files, hd_err *err);

#endif
