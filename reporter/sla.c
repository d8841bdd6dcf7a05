/* SLA: met vs breached per target (first response, next response, resolution) by
 * priority, category and group, with the met share colour-scaled and a clustered column
 * chart by priority. */
#include "reporter/sections.h"

static void row(hd_sheet *sh, const char *dim, const char *value, const hd_sla_count *c)
{
    hd_sheet_text(sh, dim);
    hd_sheet_text(sh, value);
    for (int k = 0; k < HD_TARGETS; k++) {
        hd_sheet_num(sh, c->met[k]);
        hd_sheet_num(sh, c->breached[k]);
        hd_sheet_num(sh, hd_model_pct(c->met[k], c->breached[k]));
    }
    hd_sheet_row_end(sh);
}

int hd_sla_write(hd_book *b, hd_model *m, hd_err *err)
{
    static const hd_col cols[] = {{"Dimension", HD_COL_TEXT},
                                  {"Value", HD_COL_TEXT},
                                  {"First response met", HD_COL_INT},
                                  {"First response breached", HD_COL_INT},
                                  {"First response met %", HD_COL_PCT},
                                  {"Next response met", HD_COL_INT},
                                  {"Next response breached", HD_COL_INT},
                                  {"Next response met %", HD_COL_PCT},
                                  {"Resolution met", HD_COL_INT},
                                  {"Resolution breached", HD_COL_INT},
                                  {"Resolution met %", HD_COL_PCT}};
    hd_sheet *sh = hd_sheet_begin(b, "SLA", "sla", "SLA targets met vs breached", cols, 11, err);
    if (!sh)
        return err->code;
    for (int p = 0; p < HD_MODEL_PRIORITIES; p++)
        row(sh, "Priority", hd_model_priority_name(p + 1), &m->sla_prio[p]);
    for (int i = 0; i < m->n_categories; i++)
        row(sh, "Category", m->categories[i], &m->sla_cat[i]);
    for (int i = 0; i < m->n_groups; i++)
        row(sh, "Group", m->groups[i], &m->sla_group[i]);
    int n = hd_sheet_rows(sh);
    lxw_worksheet *ws = hd_sheet_ws(sh);
    if (ws) {
        lxw_conditional_format cf = {.type = LXW_CONDITIONAL_3_COLOR_SCALE,
                                     .min_color = 0xF8696B,
                                     .mid_color = 0xFFEB84,
                                     .max_color = 0x63BE7B,
                                     .min_rule_type = LXW_CONDITIONAL_RULE_TYPE_NUMBER,
                                     .min_value = 0.5,
                                     .mid_rule_type = LXW_CONDITIONAL_RULE_TYPE_NUMBER,
                                     .mid_value = 0.8,
                                     .max_rule_type = LXW_CONDITIONAL_RULE_TYPE_NUMBER,
                                     .max_value = 1.0};
        for (int k = 0; k < HD_TARGETS; k++) {
            lxw_col_t c = (lxw_col_t)(4 + 3 * k);
            worksheet_conditional_format_range(ws, HD_SHEET_HEADER_ROW + 1, c,
                                               (lxw_row_t)(HD_SHEET_HEADER_ROW + n), c, &cf);
        }
    }
    static const int series[] = {4, 7, 10};
    hd_sheet_chart(sh, LXW_CHART_COLUMN, "Met % by priority", 1, series, 3, 0,
                   HD_MODEL_PRIORITIES - 1, n + HD_SHEET_HEADER_ROW + 3, 0);
    return hd_sheet_end(sh, err);
}
