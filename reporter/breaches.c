/* Breached tickets: one row per breached target due in the period (ticket, subject,
 * target, priority, agent, due time in the reader's zone, breached by), streamed from the
 * source into a constant-memory sheet, so the row count is bounded only by Excel's
 * 1,048,576-row sheet limit (a final note says how many rows did not fit). */
#include <stdio.h>

#include "reporter/sections.h"

#define BREACHES_ROWS_MAX (1048576 - HD_SHEET_HEADER_ROW - 3)

typedef struct ctx {
    hd_sheet *sh;
    hd_model *m;
    uint64_t skipped;
    int xlsx;
} ctx;

static int one(void *ud, const hd_model_breach *r)
{
    ctx *c = ud;
    if (c->xlsx && hd_sheet_rows(c->sh) >= BREACHES_ROWS_MAX) {
        c->skipped++;
        return 0;
    }
    hd_sheet_num(c->sh, (double)r->number);
    hd_sheet_text(c->sh, r->subject ? r->subject : "");
    hd_sheet_text(c->sh, hd_model_target_name(r->target));
    hd_sheet_text(c->sh, hd_model_priority_name(r->priority));
    hd_sheet_text(c->sh, r->agent ? r->agent : "");
    hd_sheet_num(c->sh, (double)hd_model_local_s(c->m, r->due_s));
    hd_sheet_num(c->sh, (double)r->breached_by_min);
    hd_sheet_row_end(c->sh);
    return 0;
}

int hd_breaches_write(hd_book *b, hd_model *m, const hd_source *src, hd_err *err)
{
    static const hd_col cols[] = {{"Ticket", HD_COL_INT},          {"Subject", HD_COL_TEXT},
                                  {"Target", HD_COL_TEXT},         {"Priority", HD_COL_TEXT},
                                  {"Agent", HD_COL_TEXT},          {"Due", HD_COL_DATETIME},
                                  {"Breached by", HD_COL_DURATION}};
    hd_sheet *sh =
        hd_sheet_begin(b, "Breached tickets", "breaches", "Breached tickets", cols, 7, err);
    if (!sh)
        return err->code;
    ctx c = {.sh = sh, .m = m, .xlsx = hd_book_is_xlsx(b)};
    int rc = src->breaches(src->ud, m, one, &c, err);
    if (rc) {
        hd_sheet_end(sh, NULL);
        return rc;
    }
    if (c.skipped) {
        char note[96];
        snprintf(note, sizeof note, "%llu more rows do not fit in one sheet",
                 (unsigned long long)c.skipped);
        hd_sheet_num(sh, 0);
        hd_sheet_text(sh, note);
        hd_sheet_row_end(sh);
    }
    return hd_sheet_end(sh, err);
}
