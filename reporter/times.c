/* Response times: first-response and resolution median and 90th percentile in business
 * hours per day or week, with a line chart. */
#include <stdlib.h>

#include "reporter/sections.h"

int hd_times_write(hd_book *b, hd_model *m, hd_err *err)
{
    static const hd_col cols[] = {{"Date", HD_COL_DATE},
                                  {"First response median", HD_COL_DURATION},
                                  {"First response p90", HD_COL_DURATION},
                                  {"Resolution median", HD_COL_DURATION},
                                  {"Resolution p90", HD_COL_DURATION},
                                  {"Answered", HD_COL_INT},
                                  {"Solved", HD_COL_INT}};
    hd_model_row *rows = malloc(HD_SECTIONS_ROWS_MAX * sizeof *rows);
    if (!rows)
        return hd_err_set(err, HD_ENOMEM, "times: out of memory");
    int n = hd_model_rows(m, rows, HD_SECTIONS_ROWS_MAX);
    hd_sheet *sh = hd_sheet_begin(b, "Response times", "times", "Response times (business hours)",
                                  cols, 7, err);
    if (!sh) {
        free(rows);
        return err->code;
    }
    for (int i = 0; i < n; i++) {
        hd_sheet_num(sh, (double)rows[i].day);
        hd_sheet_num(sh, hd_model_pctl(&rows[i].frt, 0.5));
        hd_sheet_num(sh, hd_model_pctl(&rows[i].frt, 0.9));
        hd_sheet_num(sh, hd_model_pctl(&rows[i].res, 0.5));
        hd_sheet_num(sh, hd_model_pctl(&rows[i].res, 0.9));
        hd_sheet_num(sh, (double)rows[i].frt.count);
        hd_sheet_num(sh, (double)rows[i].res.count);
        hd_sheet_row_end(sh);
    }
    free(rows);
    static const int series[] = {1, 2, 3, 4};
    hd_sheet_chart(sh, LXW_CHART_LINE, "Median and p90 (h:mm)", 0, series, 4, 0, n - 1, 1, 8);
    return hd_sheet_end(sh, err);
}
