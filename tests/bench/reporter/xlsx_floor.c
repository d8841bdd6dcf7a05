/* libxlsxwriter 1.1.4 floor for the breach list: N rows written in constant-memory mode with
 * nothing else (no model, no styling beyond one date format), to tell the library's cost
 * from the reporter's. Not part of the build:
 *   gcc -O2 -o /tmp/xlsx_floor tests/bench/reporter/xlsx_floor.c -lxlsxwriter
 *   /tmp/xlsx_floor N TMPDIR|- COLS(3|5) ZIP64(0|1) FORMAT_BY_COLUMN(0|1)
 * Writes /tmp/xlsx_floor.xlsx; prints rows_s (worksheet_write_*) and close_s (zip). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xlsxwriter.h>
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}
int main(int argc, char **argv)
{
    if (argc != 6)
        return 2;
    int n = atoi(argv[1]);
    const char *tmp = argv[2];
    int cols = atoi(argv[3]);
    int zip64 = atoi(argv[4]);
    int fmt_by_col = atoi(argv[5]);
    lxw_workbook_options o = {.constant_memory = 1,
                              .tmpdir = strcmp(tmp, "-") ? (char *)tmp : NULL,
                              .use_zip64 = (uint8_t)zip64};
    lxw_workbook *wb = workbook_new_opt("/tmp/xlsx_floor.xlsx", &o);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Breached");
    lxw_format *d = workbook_add_format(wb);
    format_set_num_format(d, "yyyy-mm-dd hh:mm");
    if (fmt_by_col)
        worksheet_set_column(ws, 3, 3, 16, d);
    char subj[64];
    double t0 = now();
    for (int r = 0; r < n; r++) {
        snprintf(subj, sizeof subj, "Printer on fire in room %d again", r % 977);
        char num[16];
        snprintf(num, sizeof num, "TKT-%07d", r);
        worksheet_write_string(ws, r, 0, num, NULL);
        worksheet_write_string(ws, r, 1, subj, NULL);
        if (cols > 3) {
            worksheet_write_string(ws, r, 2, "first response", NULL);
            worksheet_write_number(ws, r, 3, 46000.5 + r / 1000.0, fmt_by_col ? NULL : d);
        }
        worksheet_write_number(ws, r, cols > 3 ? 4 : 2, (double)(r % 500), NULL);
    }
    double t1 = now();
    workbook_close(wb);
    double t2 = now();
    printf("n=%d tmp=%s cols=%d zip64=%d fmt_by_col=%d rows_s=%.2f close_s=%.2f total_s=%.2f\n", n,
           tmp, cols, zip64, fmt_by_col, t1 - t0, t2 - t1, t2 - t0);
    return 0;
}
