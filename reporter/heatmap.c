/* Peak hours: tickets created per local hour of day x weekday, colour-scaled. */
#include <stdio.h>

#include "reporter/sections.h"

int hd_heatmap_write(hd_book *b, hd_model *m, hd_err *err)
{
    static const char *const days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday"};
    static char names[24][16];
    hd_col cols[26];
    cols[0] = (hd_col){"Weekday", HD_COL_TEXT};
    for (int h = 0; h < 24; h++) {
        snprintf(names[h], sizeof names[h], "%02d:00", h);
        cols[1 + h] = (hd_col){names[h], HD_COL_INT};
    }
    cols[25] = (hd_col){"Total", HD_COL_INT};
    hd_sheet *sh = hd_sheet_begin(b, "Peak hours", "heatmap", "Tickets created by hour and weekday",
                                  cols, 26, err);
    if (!sh)
        return err->code;
    for (int d = 0; d < 7; d++) {
        hd_sheet_text(sh, days[d]);
        uint32_t total = 0;
        for (int h = 0; h < 24; h++) {
            hd_sheet_num(sh, m->heat[d][h]);
            total += m->heat[d][h];
        }
        hd_sheet_num(sh, total);
        hd_sheet_row_end(sh);
    }
    lxw_worksheet *ws = hd_sheet_ws(sh);
    if (ws) {
        lxw_conditional_format cf = {.type = LXW_CONDITIONAL_3_COLOR_SCALE,
                                     .min_color = 0xFFFFFF,
                                     .mid_color = 0xFFEB84,
                                     .max_color = 0xF8696B};
        worksheet_conditional_format_range(ws, HD_SHEET_HEADER_ROW + 1, 1, HD_SHEET_HEADER_ROW + 7,
                                           24, &cf);
    }
    return hd_sheet_end(sh, err);
}
