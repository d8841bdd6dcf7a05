/* Volume trend: tickets created and solved per day or week, and the backlog (open
 * tickets) at the end of each, with a line chart. */
#include <stdlib.h>

#include "reporter/sections.h"

int hd_volume_write(hd_book *b, hd_model *m, hd_err *err)
{
    static const hd_col cols[] = {{"Date", HD_COL_DATE},
                                  {"Created", HD_COL_INT},
                                  {"Solved", HD_COL_INT},
                                  {"Backlog", HD_COL_INT}};
    hd_model_row *rows = malloc(HD_SECTIONS_ROWS_MAX * sizeof *rows);
    if (!rows)
        return hd_err_set(err, HD_ENOMEM, "volume: out of memory");
    int n = hd_model_rows(m, rows, HD_SECTIONS_ROWS_MAX);
    hd_sheet *sh =
        hd_sheet_begin(b, "Volume", "volume", "Created vs solved, backlog", cols, 4, err);
    if (!sh) {
        free(rows);
        return err->code;
    }
    for (int i = 0; i < n; i++) {
        hd_sheet_num(sh, (double)rows[i].day);
        hd_sheet_num(sh, rows[i].created);
        hd_sheet_num(sh, rows[i].solved);
        hd_sheet_num(sh, rows[i].backlog);
        hd_sheet_row_end(sh);
    }
    free(rows);
    static const int series[] = {1, 2, 3};
    hd_sheet_chart(sh, LXW_CHART_LINE, "Created, solved and backlog", 0, series, 3, 0, n - 1, 1, 5);
    return hd_sheet_end(sh, err);
}
