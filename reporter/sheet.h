/* One section's table, written the same way to an XLSX worksheet or a CSV file: the
 * sections say what the columns are and push rows in order; this module gives XLSX its
 * craft (title rows, frozen header, an Excel table with autofilter, number/date/duration
 * formats, column widths that fit) and CSV its plain values. */
#ifndef HD_REPORTER_SHEET_H
#define HD_REPORTER_SHEET_H

#include <stdint.h>

#include <xlsxwriter.h>

#include "server/common/err.h"

typedef enum {
    HD_COL_TEXT,
    HD_COL_INT,       /* whole number */
    HD_COL_DEC,       /* two decimals */
    HD_COL_PCT,       /* a fraction 0-1 shown as 0.0% */
    HD_COL_DATE,      /* value: local days since 1970-01-01 */
    HD_COL_DATETIME,  /* value: local seconds since 1970-01-01 */
    HD_COL_DURATION,  /* value: minutes; XLSX shows [h]:mm, CSV writes minutes */
    HD_COL_DELTA_MIN, /* value: signed minutes ("+5 min"): Excel cannot show negative times */
} hd_coltype;

typedef struct hd_col {
    const char *name;
    hd_coltype type;
} hd_col;

#define HD_SHEET_COLS_MAX 32
/* Row of the header in XLSX (0-based); data starts on the next row. */
#define HD_SHEET_HEADER_ROW 3

typedef struct hd_book hd_book;
typedef struct hd_sheet hd_sheet;

/* Opens an output: XLSX when path ends in .xlsx (one workbook, document properties with
 * created = created_s), else CSV (path is a prefix: each section writes
 * PATH-<section>.csv). subtitle goes under every XLSX sheet title. constant_memory selects
 * libxlsxwriter's streaming mode for very long sheets: memory stays flat, but the library
 * then refuses Excel tables, so sheets get an autofilter over the same range instead.
 * Returns an owned book (hd_book_close) in *out; HD_EINVAL, HD_EIO or HD_ENOMEM. */
int hd_book_open(hd_book **out, const char *path, const char *title, const char *subtitle,
                 int64_t created_s, int constant_memory, hd_err *err);

/* Finishes the file(s). Returns HD_OK or HD_EIO (err says which file). Frees book. */
int hd_book_close(hd_book *book, hd_err *err);

/* Frees an unfinished book without writing it (failure path). NULL allowed. */
void hd_book_abort(hd_book *book);

/* Returns nonzero for an XLSX book. */
int hd_book_is_xlsx(const hd_book *book);

/* Paths of the files written so far (CSV: one per section; XLSX: the workbook), borrowed
 * until hd_book_close/abort. */
int hd_book_files(const hd_book *book, const char *const **paths);

/* Starts a sheet named name ("Summary") with a title; cols is copied. Returns a sheet
 * borrowed until hd_sheet_end, or NULL with err set. Only one sheet is open at a time. */
hd_sheet *hd_sheet_begin(hd_book *book, const char *name, const char *file_key, const char *title,
                         const hd_col *cols, int ncols, hd_err *err);

/* Appends the next cell of the current row. */
void hd_sheet_text(hd_sheet *sh, const char *s);
void hd_sheet_num(hd_sheet *sh, double v); /* NAN = empty cell */
/* Like hd_sheet_num with the cell's format given instead of the column's (for tables
 * whose rows have different units, like the summary). */
void hd_sheet_num_as(hd_sheet *sh, double v, hd_coltype type);
void hd_sheet_row_end(hd_sheet *sh);

/* Data rows written so far. */
int hd_sheet_rows(const hd_sheet *sh);

/* The worksheet and workbook (XLSX only; NULL for CSV), for charts and conditional
 * formats. Borrowed until hd_book_close. */
lxw_worksheet *hd_sheet_ws(hd_sheet *sh);
lxw_workbook *hd_sheet_wb(hd_sheet *sh);
const char *hd_sheet_name(const hd_sheet *sh);

/* Ends the sheet: table with autofilter over header and rows, widths, frozen header.
 * Returns HD_OK or HD_EIO. */
int hd_sheet_end(hd_sheet *sh, hd_err *err);

/* Adds a native chart of type (LXW_CHART_*) to the XLSX sheet, placed right of the table
 * at column anchor_col: categories from column cat_col, one series per entry of
 * series_cols, over data rows [first, last] (0-based data row indexes). No-op for CSV.
 * Call before hd_sheet_end. */
void hd_sheet_chart(hd_sheet *sh, uint8_t type, const char *title, int cat_col,
                    const int *series_cols, int n_series, int first, int last, int anchor_row,
                    int anchor_col);

#endif
