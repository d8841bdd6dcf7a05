/* Category and priority distribution of the tickets created in the period: counts and
 * shares, with a pie chart for priority and a bar chart for category. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reporter/sections.h"

typedef struct cat_count {
    const char *name;
    uint32_t n;
} cat_count;

static int by_count(const void *a, const void *b)
{
    const cat_count *x = a, *y = b;
    return x->n != y->n ? (x->n < y->n ? 1 : -1) : strcmp(x->name, y->name);
}

int hd_mix_write(hd_book *b, hd_model *m, hd_err *err)
{
    static const hd_col cols[] = {{"Dimension", HD_COL_TEXT},
                                  {"Value", HD_COL_TEXT},
                                  {"Tickets", HD_COL_INT},
                                  {"Share", HD_COL_PCT}};
    hd_sheet *sh =
        hd_sheet_begin(b, "Mix", "mix", "Category and priority distribution", cols, 4, err);
    if (!sh)
        return err->code;
    double total = m->cur.created;
    for (int p = 0; p < HD_MODEL_PRIORITIES; p++) {
        hd_sheet_text(sh, "Priority");
        hd_sheet_text(sh, hd_model_priority_name(p + 1));
        hd_sheet_num(sh, m->prio_created[p]);
        hd_sheet_num(sh, total ? m->prio_created[p] / total : NAN);
        hd_sheet_row_end(sh);
    }
    cat_count cats[HD_MODEL_NAMES_MAX];
    int n = 0;
    for (int i = 0; i < m->n_categories; i++)
        if (m->cat_created[i])
            cats[n++] = (cat_count){m->categories[i], m->cat_created[i]};
    qsort(cats, (size_t)n, sizeof *cats, by_count);
    for (int i = 0; i < n; i++) {
        hd_sheet_text(sh, "Category");
        hd_sheet_text(sh, cats[i].name);
        hd_sheet_num(sh, cats[i].n);
        hd_sheet_num(sh, total ? cats[i].n / total : NAN);
        hd_sheet_row_end(sh);
    }
    static const int series[] = {2};
    hd_sheet_chart(sh, LXW_CHART_PIE, "Tickets by priority", 1, series, 1, 0,
                   HD_MODEL_PRIORITIES - 1, 1, 5);
    hd_sheet_chart(sh, LXW_CHART_BAR, "Tickets by category", 1, series, 1, HD_MODEL_PRIORITIES,
                   HD_MODEL_PRIORITIES + n - 1, 20, 5);
    return hd_sheet_end(sh, err);
}
