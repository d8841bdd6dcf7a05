/* XLSX and CSV backends of hd_sheet. Files are written under a temporary name and renamed
 * into place by hd_book_close, so a crash never leaves (or mails) a half-written file. */
#include "reporter/sheet.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reporter/csv.h"

#define BOOK_FILES_MAX 16
#define PATH_MAX_LEN   1024

struct hd_sheet {
    hd_book *book;
    char name[32];
    hd_col cols[HD_SHEET_COLS_MAX];
    int ncols, col, rows;
    double width[HD_SHEET_COLS_MAX];
    lxw_worksheet *ws;
    hd_csv *csv;
    FILE *csv_f;
    int file_index;
};

struct hd_book {
    int xlsx;
    char path[PATH_MAX_LEN];
    char subtitle[512];
    lxw_workbook *wb;
    lxw_format *f_title, *f_sub, *f_head, *f_type[HD_COL_DELTA_MIN + 1];
    char *files[BOOK_FILES_MAX], *tmp[BOOK_FILES_MAX];
    int n_files;
    hd_sheet sheet;
    int open_sheet;
    int constant_memory;
    lxw_doc_properties props;
    char title[256];
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Registers final path and its temporary name; returns the index or -1. */
static int add_file(hd_book *b, const char *path)
{
    if (b->n_files == BOOK_FILES_MAX)
        return -1;
    char tmp[PATH_MAX_LEN + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    b->files[b->n_files] = strdup(path);
    b->tmp[b->n_files] = strdup(tmp);
    if (!b->files[b->n_files] || !b->tmp[b->n_files]) {
        free(b->files[b->n_files]);
        free(b->tmp[b->n_files]);
        return -1;
    }
    return b->n_files++;
}

int hd_book_open(hd_book **out, const char *path, const char *title, const char *subtitle,
                 int64_t created_s, int constant_memory, hd_err *err)
{
    *out = NULL;
    if (strlen(path) >= PATH_MAX_LEN - 64)
        return hd_err_set(err, HD_EINVAL, "%s: path too long", path);
    hd_book *b = calloc(1, sizeof *b);
    if (!b)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    snprintf(b->path, sizeof b->path, "%s", path);
    snprintf(b->subtitle, sizeof b->subtitle, "%s", subtitle);
    snprintf(b->title, sizeof b->title, "%s", title);
    b->xlsx = ends_with(path, ".xlsx");
    if (!b->xlsx) {
        if (ends_with(path, ".csv"))
            b->path[strlen(b->path) - 4] = 0;
        *out = b;
        return 0;
    }
    int rc = HD_ENOMEM;
    if (add_file(b, path) < 0)
        goto fail;
    b->constant_memory = constant_memory;
    lxw_workbook_options opt = {.constant_memory = constant_memory ? LXW_TRUE : LXW_FALSE};
    b->wb = workbook_new_opt(b->tmp[0], &opt);
    rc = HD_EIO;
    if (!b->wb) {
        hd_err_set(err, HD_EIO, "%s: cannot create workbook", b->tmp[0]);
        goto fail;
    }
    b->props.title = b->title;
    b->props.author = (char *)(uintptr_t) "Helpdesk reporter";
    b->props.company = (char *)(uintptr_t) "Helpdesk";
    b->props.created = (time_t)created_s;
    workbook_set_properties(b->wb, &b->props);
    b->f_title = workbook_add_format(b->wb);
    format_set_bold(b->f_title);
    format_set_font_size(b->f_title, 16);
    format_set_font_color(b->f_title, 0x1F3864);
    b->f_sub = workbook_add_format(b->wb);
    format_set_italic(b->f_sub);
    format_set_font_color(b->f_sub, 0x595959);
    b->f_head = workbook_add_format(b->wb);
    format_set_bold(b->f_head);
    format_set_text_wrap(b->f_head);
    format_set_font_color(b->f_head, LXW_COLOR_WHITE);
    format_set_bg_color(b->f_head, 0x1F3864);
    format_set_align(b->f_head, LXW_ALIGN_VERTICAL_CENTER);
    static const char *const nums[] = {NULL,
                                       "#,##0",
                                       "0.00",
                                       "0.0%",
                                       "yyyy-mm-dd ddd",
                                       "yyyy-mm-dd hh:mm",
                                       "[h]:mm",
                                       "+#,##0\" min\";-#,##0\" min\";0\" min\""};
    for (int i = 1; i <= HD_COL_DELTA_MIN; i++) {
        b->f_type[i] = workbook_add_format(b->wb);
        format_set_num_format(b->f_type[i], nums[i]);
    }
    *out = b;
    return 0;
fail:
    if (rc == HD_ENOMEM)
        hd_err_set(err, rc, "out of memory");
    hd_book_abort(b);
    return rc;
}

static void free_files(hd_book *b)
{
    for (int i = 0; i < b->n_files; i++) {
        free(b->files[i]);
        free(b->tmp[i]);
    }
    free(b);
}

void hd_book_abort(hd_book *b)
{
    if (!b)
        return;
    if (b->open_sheet && b->sheet.csv) {
        hd_csv_close(b->sheet.csv);
        fclose(b->sheet.csv_f);
    }
    if (b->wb) {
        /* libxlsxwriter has no discard: write the temp file, then remove it. */
        workbook_close(b->wb);
    }
    for (int i = 0; i < b->n_files; i++)
        unlink(b->tmp[i]);
    free_files(b);
}

int hd_book_close(hd_book *b, hd_err *err)
{
    int rc = 0;
    if (b->wb) {
        lxw_error e = workbook_close(b->wb);
        b->wb = NULL;
        if (e) {
            rc = hd_err_set(err, HD_EIO, "%s: %s", b->files[0], lxw_strerror(e));
            goto fail;
        }
    }
    for (int i = 0; i < b->n_files; i++)
        if (rename(b->tmp[i], b->files[i])) {
            rc = hd_err_set(err, HD_EIO, "%s: %s", b->files[i], strerror(errno));
            goto fail;
        }
    free_files(b);
    return 0;
fail:
    hd_book_abort(b);
    return rc;
}

int hd_book_is_xlsx(const hd_book *b)
{
    return b->xlsx;
}

int hd_book_files(const hd_book *b, const char *const **paths)
{
    *paths = (const char *const *)b->files;
    return b->n_files;
}

/* Display width of UTF-8 text: code points, capped per line. */
static double text_width(const char *s)
{
    double w = 0, best = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n') {
            best = w > best ? w : best;
            w = 0;
        } else if ((*p & 0xC0) != 0x80) {
            w += 1;
        }
    }
    return w > best ? w : best;
}

hd_sheet *hd_sheet_begin(hd_book *b, const char *name, const char *file_key, const char *title,
                         const hd_col *cols, int ncols, hd_err *err)
{
    if (b->open_sheet || ncols < 1 || ncols > HD_SHEET_COLS_MAX) {
        hd_err_set(err, HD_EINVAL, "sheet %s: bad columns or a sheet still open", name);
        return NULL;
    }
    hd_sheet *sh = &b->sheet;
    memset(sh, 0, sizeof *sh);
    sh->book = b;
    snprintf(sh->name, sizeof sh->name, "%s", name);
    memcpy(sh->cols, cols, (size_t)ncols * sizeof *cols);
    sh->ncols = ncols;
    for (int i = 0; i < ncols; i++) {
        static const double min_w[] = {8, 8, 8, 8, 15, 17, 8, 10};
        double hw = text_width(cols[i].name) + 2;
        sh->width[i] = hw > min_w[cols[i].type] ? hw : min_w[cols[i].type];
    }
    if (b->xlsx) {
        sh->ws = workbook_add_worksheet(b->wb, name);
        if (!sh->ws) {
            hd_err_set(err, HD_EIO, "sheet %s: cannot add", name);
            return NULL;
        }
        worksheet_write_string(sh->ws, 0, 0, title, b->f_title);
        worksheet_set_row(sh->ws, 0, 24, NULL);
        worksheet_write_string(sh->ws, 1, 0, b->subtitle, b->f_sub);
        for (int i = 0; i < ncols; i++)
            worksheet_write_string(sh->ws, HD_SHEET_HEADER_ROW, (lxw_col_t)i, cols[i].name,
                                   b->f_head);
        worksheet_freeze_panes(sh->ws, HD_SHEET_HEADER_ROW + 1, 0);
        /* Printing and PDF: landscape A4, one page wide, header repeated on each page. */
        worksheet_set_landscape(sh->ws);
        worksheet_set_paper(sh->ws, 9);
        worksheet_fit_to_pages(sh->ws, 1, 0);
        worksheet_repeat_rows(sh->ws, HD_SHEET_HEADER_ROW, HD_SHEET_HEADER_ROW);
    } else {
        char path[PATH_MAX_LEN + 64];
        snprintf(path, sizeof path, "%s-%s.csv", b->path, file_key);
        sh->file_index = add_file(b, path);
        if (sh->file_index < 0) {
            hd_err_set(err, HD_ENOMEM, "out of memory");
            return NULL;
        }
        sh->csv_f = fopen(b->tmp[sh->file_index], "wb");
        sh->csv = sh->csv_f ? hd_csv_open(sh->csv_f) : NULL;
        if (!sh->csv) {
            hd_err_set(err, HD_EIO, "%s: %s", b->tmp[sh->file_index], strerror(errno));
            if (sh->csv_f)
                fclose(sh->csv_f);
            return NULL;
        }
        for (int i = 0; i < ncols; i++)
            hd_csv_text(sh->csv, cols[i].name);
        hd_csv_end_row(sh->csv);
    }
    b->open_sheet = 1;
    return sh;
}

static void csv_date(char *buf, size_t n, int64_t local_s, int with_time)
{
    time_t t = (time_t)local_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, with_time ? "%Y-%m-%d %H:%M" : "%Y-%m-%d", &tm);
}

void hd_sheet_text(hd_sheet *sh, const char *s)
{
    if (sh->col >= sh->ncols)
        return;
    int c = sh->col++;
    double w = text_width(s) + 2;
    if (w > sh->width[c])
        sh->width[c] = w;
    if (sh->ws)
        worksheet_write_string(sh->ws, (lxw_row_t)(HD_SHEET_HEADER_ROW + 1 + sh->rows),
                               (lxw_col_t)c, s, NULL);
    else
        hd_csv_text(sh->csv, s);
}

void hd_sheet_num(hd_sheet *sh, double v)
{
    if (sh->col < sh->ncols)
        hd_sheet_num_as(sh, v, sh->cols[sh->col].type);
}

void hd_sheet_num_as(hd_sheet *sh, double v, hd_coltype type)
{
    if (sh->col >= sh->ncols)
        return;
    int c = sh->col++;
    lxw_row_t row = (lxw_row_t)(HD_SHEET_HEADER_ROW + 1 + sh->rows);
    if (isnan(v)) {
        if (!sh->ws)
            hd_csv_text(sh->csv, "");
        return;
    }
    if (sh->ws) {
        double x = v;
        if (type == HD_COL_DATE)
            x = v + 25569.0;
        else if (type == HD_COL_DATETIME)
            x = v / 86400.0 + 25569.0;
        else if (type == HD_COL_DURATION)
            x = v / 1440.0;
        double w = type == HD_COL_INT || type == HD_COL_DEC ? 3 + log10(fabs(v) + 1) * 1.4 : 0;
        if (w > sh->width[c])
            sh->width[c] = w;
        worksheet_write_number(sh->ws, row, (lxw_col_t)c, x, sh->book->f_type[type]);
        return;
    }
    if (type == HD_COL_DATE || type == HD_COL_DATETIME) {
        char buf[32];
        csv_date(buf, sizeof buf, type == HD_COL_DATE ? (int64_t)v * 86400 : (int64_t)v,
                 type == HD_COL_DATETIME);
        hd_csv_text(sh->csv, buf);
    } else if (type == HD_COL_PCT) {
        hd_csv_number(sh->csv, round(v * 10000.0) / 10000.0);
    } else if (type == HD_COL_DEC) {
        hd_csv_number(sh->csv, round(v * 100.0) / 100.0);
    } else {
        hd_csv_number(sh->csv, v);
    }
}

void hd_sheet_row_end(hd_sheet *sh)
{
    while (sh->col < sh->ncols)
        hd_sheet_num(sh, NAN);
    if (sh->csv)
        hd_csv_end_row(sh->csv);
    sh->col = 0;
    sh->rows++;
}

int hd_sheet_rows(const hd_sheet *sh)
{
    return sh->rows;
}

lxw_worksheet *hd_sheet_ws(hd_sheet *sh)
{
    return sh->ws;
}

lxw_workbook *hd_sheet_wb(hd_sheet *sh)
{
    return sh->book->wb;
}

const char *hd_sheet_name(const hd_sheet *sh)
{
    return sh->name;
}

int hd_sheet_end(hd_sheet *sh, hd_err *err)
{
    hd_book *b = sh->book;
    b->open_sheet = 0;
    if (!sh->ws) {
        FILE *f = sh->csv_f;
        int rc = hd_csv_close(sh->csv);
        if (fclose(f) || rc)
            return hd_err_set(err, HD_EIO, "%s: write failed", b->tmp[sh->file_index]);
        return 0;
    }
    for (int i = 0; i < sh->ncols; i++)
        worksheet_set_column(sh->ws, (lxw_col_t)i, (lxw_col_t)i,
                             sh->width[i] > 60 ? 60 : sh->width[i], NULL);
    int last = HD_SHEET_HEADER_ROW + (sh->rows ? sh->rows : 1);
    if (b->constant_memory) {
        lxw_error e = worksheet_autofilter(sh->ws, HD_SHEET_HEADER_ROW, 0, (lxw_row_t)last,
                                           (lxw_col_t)(sh->ncols - 1));
        if (e)
            return hd_err_set(err, HD_EIO, "sheet %s: autofilter: %s", sh->name, lxw_strerror(e));
        return 0;
    }
    lxw_table_column tc[HD_SHEET_COLS_MAX];
    lxw_table_column *tcp[HD_SHEET_COLS_MAX + 1];
    for (int i = 0; i < sh->ncols; i++) {
        memset(&tc[i], 0, sizeof tc[i]);
        tc[i].header = (char *)(uintptr_t)sh->cols[i].name;
        tc[i].header_format = b->f_head;
        tcp[i] = &tc[i];
    }
    tcp[sh->ncols] = NULL;
    char tname[48];
    snprintf(tname, sizeof tname, "T_%s", sh->name);
    for (char *p = tname; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            *p = '_';
    lxw_table_options to = {.name = tname,
                            .style_type = LXW_TABLE_STYLE_TYPE_MEDIUM,
                            .style_type_number = 2,
                            .columns = tcp};
    lxw_error e = worksheet_add_table(sh->ws, HD_SHEET_HEADER_ROW, 0, (lxw_row_t)last,
                                      (lxw_col_t)(sh->ncols - 1), &to);
    if (e)
        return hd_err_set(err, HD_EIO, "sheet %s: table: %s", sh->name, lxw_strerror(e));
    return 0;
}

void hd_sheet_chart(hd_sheet *sh, uint8_t type, const char *title, int cat_col,
                    const int *series_cols, int n_series, int first, int last, int anchor_row,
                    int anchor_col)
{
    if (!sh->ws || last < first)
        return;
    lxw_chart *ch = workbook_add_chart(sh->book->wb, type);
    if (!ch)
        return;
    chart_title_set_name(ch, title);
    lxw_row_t r1 = (lxw_row_t)(HD_SHEET_HEADER_ROW + 1 + first);
    lxw_row_t r2 = (lxw_row_t)(HD_SHEET_HEADER_ROW + 1 + last);
    for (int i = 0; i < n_series; i++) {
        lxw_chart_series *s = chart_add_series(ch, NULL, NULL);
        chart_series_set_categories(s, sh->name, r1, (lxw_col_t)cat_col, r2, (lxw_col_t)cat_col);
        chart_series_set_values(s, sh->name, r1, (lxw_col_t)series_cols[i], r2,
                                (lxw_col_t)series_cols[i]);
        chart_series_set_name_range(s, sh->name, HD_SHEET_HEADER_ROW, (lxw_col_t)series_cols[i]);
    }
    if (type != LXW_CHART_PIE && type != LXW_CHART_DOUGHNUT)
        chart_legend_set_position(ch, LXW_CHART_LEGEND_BOTTOM);
    lxw_chart_options co = {.x_scale = 1.6, .y_scale = 1.3};
    worksheet_insert_chart_opt(sh->ws, (lxw_row_t)anchor_row, (lxw_col_t)anchor_col, ch, &co);
}
