/* Summary: the period's headline figures next to the previous period's, with the change
 * in units and in percent. */
#include <math.h>

#include "reporter/sections.h"

static void line(hd_sheet *sh, const char *label, double cur, double prev, hd_coltype type)
{
    hd_sheet_text(sh, label);
    hd_sheet_num_as(sh, cur, type);
    hd_sheet_num_as(sh, prev, type);
    double change = isnan(cur) || isnan(prev) ? NAN : cur - prev;
    hd_sheet_num_as(sh, change, type == HD_COL_DURATION ? HD_COL_DELTA_MIN : type);
    hd_sheet_num_as(sh, isnan(change) || prev == 0 || type == HD_COL_PCT ? NAN : change / prev,
                    HD_COL_PCT);
    hd_sheet_row_end(sh);
}

static double sla_pct(const hd_sla_count *c)
{
    uint32_t met = 0, breached = 0;
    for (int k = 0; k < HD_TARGETS; k++) {
        met += c->met[k];
        breached += c->breached[k];
    }
    return hd_model_pct(met, breached);
}

static double csat_avg(const hd_model_totals *t)
{
    return t->csat_n ? (double)t->csat_sum / t->csat_n : NAN;
}

int hd_summary_write(hd_book *b, hd_model *m, hd_err *err)
{
    static const hd_col cols[] = {{"Measure", HD_COL_TEXT},
                                  {"This period", HD_COL_DEC},
                                  {"Previous period", HD_COL_DEC},
                                  {"Change", HD_COL_DEC},
                                  {"Change %", HD_COL_PCT}};
    hd_sheet *sh = hd_sheet_begin(b, "Summary", "summary", m->title, cols, 5, err);
    if (!sh)
        return err->code;
    const hd_model_totals *c = &m->cur, *p = &m->prev;
    line(sh, "Tickets created", c->created, p->created, HD_COL_INT);
    line(sh, "Tickets solved", c->solved, p->solved, HD_COL_INT);
    line(sh, "Backlog at period end", c->backlog_end, p->backlog_end, HD_COL_INT);
    line(sh, "First response, median", hd_model_pctl(&c->frt, 0.5), hd_model_pctl(&p->frt, 0.5),
         HD_COL_DURATION);
    line(sh, "First response, 90th percentile", hd_model_pctl(&c->frt, 0.9),
         hd_model_pctl(&p->frt, 0.9), HD_COL_DURATION);
    line(sh, "Resolution, median", hd_model_pctl(&c->res, 0.5), hd_model_pctl(&p->res, 0.5),
         HD_COL_DURATION);
    line(sh, "Resolution, 90th percentile", hd_model_pctl(&c->res, 0.9),
         hd_model_pctl(&p->res, 0.9), HD_COL_DURATION);
    line(sh, "SLA targets met", sla_pct(&c->sla), sla_pct(&p->sla), HD_COL_PCT);
    line(sh, "CSAT average (1-5)", csat_avg(c), csat_avg(p), HD_COL_DEC);
    line(sh, "CSAT responses", c->csat_n, p->csat_n, HD_COL_INT);
    return hd_sheet_end(sh, err);
}
