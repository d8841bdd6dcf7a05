/* CSAT: responses per score (1-5) per day or week with the average and the share of
 * satisfied (4-5) answers, a period total row, a trend line and a distribution chart. */
#include <math.h>
#include <stdlib.h>

#include "reporter/sections.h"

static void counts(hd_sheet *sh, const uint32_t c[5])
{
    uint32_t n = 0, sum = 0;
    for (int k = 0; k < 5; k++) {
        n += c[k];
        sum += c[k] * (uint32_t)(k + 1);
    }
    hd_sheet_num(sh, n);
    hd_sheet_num(sh, n ? (double)sum / n : NAN);
    hd_sheet_num(sh, n ? (double)(c[3] + c[4]) / n : NAN);
    for (int k = 0; k < 5; k++)
        hd_sheet_num(sh, c[k]);
    hd_sheet_row_end(sh);
}

int hd_csat_write(hd_book *b, hd_model *m, hd_err *err)
{
    static const hd_col cols[] = {
        {"Date", HD_COL_DATE},       {"Responses", HD_COL_INT}, {"Average", HD_COL_DEC},
        {"Satisfied %", HD_COL_PCT}, {"Score 1", HD_COL_INT},   {"Score 2", HD_COL_INT},
        {"Score 3", HD_COL_INT},     {"Score 4", HD_COL_INT},   {"Score 5", HD_COL_INT}};
    hd_model_row *rows = malloc(HD_SECTIONS_ROWS_MAX * sizeof *rows);
    if (!rows)
        return hd_err_set(err, HD_ENOMEM, "csat: out of memory");
    int n = hd_model_rows(m, rows, HD_SECTIONS_ROWS_MAX);
    hd_sheet *sh = hd_sheet_begin(b, "CSAT", "csat", "Customer satisfaction", cols, 9, err);
    if (!sh) {
        free(rows);
        return err->code;
    }
    uint32_t total[5] = {0};
    for (int i = 0; i < n; i++) {
        hd_sheet_num(sh, (double)rows[i].day);
        counts(sh, rows[i].csat);
        for (int k = 0; k < 5; k++)
            total[k] += rows[i].csat[k];
    }
    free(rows);
    hd_sheet_text(sh, "Total");
    counts(sh, total);
    static const int avg[] = {2};
    hd_sheet_chart(sh, LXW_CHART_LINE, "Average score", 0, avg, 1, 0, n - 1, 1, 10);
    lxw_worksheet *ws = hd_sheet_ws(sh);
    if (ws) {
        /* Distribution: the total row across the score columns. */
        lxw_chart *ch = workbook_add_chart(hd_sheet_wb(sh), LXW_CHART_COLUMN);
        lxw_row_t tr = (lxw_row_t)(HD_SHEET_HEADER_ROW + 1 + n);
        lxw_chart_series *s = chart_add_series(ch, NULL, NULL);
        chart_series_set_categories(s, hd_sheet_name(sh), HD_SHEET_HEADER_ROW, 4,
                                    HD_SHEET_HEADER_ROW, 8);
        chart_series_set_values(s, hd_sheet_name(sh), tr, 4, tr, 8);
        chart_series_set_name(s, "Responses");
        chart_title_set_name(ch, "Score distribution");
        chart_legend_set_position(ch, LXW_CHART_LEGEND_NONE);
        lxw_chart_options co = {.x_scale = 1.6, .y_scale = 1.3};
        worksheet_insert_chart_opt(ws, 22, 10, ch, &co);
    }
    return hd_sheet_end(sh, err);
}
