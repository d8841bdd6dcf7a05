/* Agent leaderboard: solved tickets, median first response, SLA met share and CSAT per
 * agent with any of these in the period, most solved first, with data bars. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reporter/sections.h"

static int by_solved(const void *a, const void *b)
{
    const hd_model_agent *x = a, *y = b;
    if (x->solved != y->solved)
        return x->solved < y->solved ? 1 : -1;
    return strcmp(x->name, y->name);
}

int hd_agents_write(hd_book *b, hd_model *m, hd_err *err)
{
    static const hd_col cols[] = {{"Agent", HD_COL_TEXT},
                                  {"Solved", HD_COL_INT},
                                  {"First response median", HD_COL_DURATION},
                                  {"SLA met %", HD_COL_PCT},
                                  {"CSAT average", HD_COL_DEC},
                                  {"CSAT responses", HD_COL_INT}};
    hd_model_agent *ag = malloc((size_t)(m->n_agents ? m->n_agents : 1) * sizeof *ag);
    if (!ag)
        return hd_err_set(err, HD_ENOMEM, "agents: out of memory");
    memcpy(ag, m->agents, (size_t)m->n_agents * sizeof *ag);
    qsort(ag, (size_t)m->n_agents, sizeof *ag, by_solved);
    hd_sheet *sh = hd_sheet_begin(b, "Agents", "agents", "Agent leaderboard", cols, 6, err);
    if (!sh) {
        free(ag);
        return err->code;
    }
    for (int i = 0; i < m->n_agents; i++) {
        if (!ag[i].solved && !ag[i].frt.count && !ag[i].sla_total && !ag[i].csat_n)
            continue; /* nothing of theirs in the period */
        hd_sheet_text(sh, ag[i].name);
        hd_sheet_num(sh, ag[i].solved);
        hd_sheet_num(sh, hd_model_pctl(&ag[i].frt, 0.5));
        hd_sheet_num(sh, hd_model_pct(ag[i].sla_met, ag[i].sla_total - ag[i].sla_met));
        hd_sheet_num(sh, ag[i].csat_n ? (double)ag[i].csat_sum / ag[i].csat_n : NAN);
        hd_sheet_num(sh, ag[i].csat_n);
        hd_sheet_row_end(sh);
    }
    free(ag);
    lxw_worksheet *ws = hd_sheet_ws(sh);
    int n = hd_sheet_rows(sh);
    if (ws && n) {
        lxw_conditional_format bar = {.type = LXW_CONDITIONAL_DATA_BAR, .bar_color = 0x638EC6};
        lxw_row_t r2 = (lxw_row_t)(HD_SHEET_HEADER_ROW + n);
        worksheet_conditional_format_range(ws, HD_SHEET_HEADER_ROW + 1, 1, r2, 1, &bar);
        bar.bar_color = 0x63BE7B;
        worksheet_conditional_format_range(ws, HD_SHEET_HEADER_ROW + 1, 3, r2, 3, &bar);
    }
    return hd_sheet_end(sh, err);
}
