/* CSV: RFC 4180 quoting, CRLF, BOM, invalid UTF-8 replaced, formula injection neutralised,
 * and the reader's round trip and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reporter/csv.h"

static char *write_cells(const char *const *cells, size_t n, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    hd_csv *w = hd_csv_open(f);
    for (size_t i = 0; i < n; i++)
        hd_csv_text(w, cells[i]);
    hd_csv_end_row(w);
    assert_int_equal(hd_csv_close(w), 0);
    fclose(f);
    return buf;
}

static void quotes_commas_quotes_and_newlines_only_when_needed(void **state)
{
    (void)state;
    const char *cells[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "caf\xC3\xA9"};
    size_t len;
    char *out = write_cells(cells, 5, &len);
    assert_string_equal(
        out, "\xEF\xBB\xBFplain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",caf\xC3\xA9\r\n");
    free(out);
}

static void cells_starting_with_formula_characters_get_an_apostrophe(void **state)
{
    (void)state;
    const char *cells[] = {"=1+2", "+49 30", "-5", "@SUM(A1)", "\tx", "\rx", "a=b", ""};
    size_t len;
    char *out = write_cells(cells, 8, &len);
    assert_string_equal(out, "\xEF\xBB\xBF'=1+2,'+49 30,'-5,'@SUM(A1),'\tx,\"'\rx\",a=b,\r\n");
    free(out);
    char buf[16];
    assert_int_equal(hd_csv_neutralise(buf, sizeof buf, "=x"), 3);
    assert_string_equal(buf, "'=x");
}

static void invalid_utf8_is_replaced_not_copied(void **state)
{
    (void)state;
    const char *cells[] = {"a\xFF"
                           "b",
                           "\xC3"};
    size_t len;
    char *out = write_cells(cells, 2, &len);
    assert_string_equal(out, "\xEF\xBB\xBF"
                             "a\xEF\xBF\xBD"
                             "b,\xEF\xBF\xBD\r\n");
    free(out);
}

static void quotes_and_invalid_bytes_next_to_each_other_keep_the_text_between(void **state)
{
    (void)state;
    const char *cells[] = {"\"\xFF"
                           "x\"caf\xC3\xA9\"\"",
                           "ab\xFF\xFE"
                           "cd"};
    size_t len;
    char *out = write_cells(cells, 2, &len);
    assert_string_equal(out, "\xEF\xBB\xBF\"\"\"\xEF\xBF\xBD"
                             "x\"\"caf\xC3\xA9\"\"\"\"\","
                             "ab\xEF\xBF\xBD\xEF\xBF\xBD"
                             "cd\r\n");
    free(out);
}

typedef struct collected {
    char fields[16][64];
    int eor[16];
    int n;
} collected;

static int collect(void *ud, const char *field, size_t len, int eor)
{
    collected *c = ud;
    assert_true(c->n < 16 && len < 64);
    memcpy(c->fields[c->n], field, len + 1);
    c->eor[c->n++] = eor;
    return 0;
}

static void reader_round_trips_what_the_writer_wrote(void **state)
{
    (void)state;
    const char *cells[] = {"x", "a,b", "q\"q", "l1\r\nl2", ""};
    size_t len;
    char *out = write_cells(cells, 5, &len);
    collected c = {0};
    hd_err err;
    assert_int_equal(hd_csv_parse(out, len, collect, &c, &err), 0);
    assert_int_equal(c.n, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(c.fields[i], cells[i]);
    assert_int_equal(c.eor[4], 1);
    assert_int_equal(c.eor[3], 0);
    free(out);
}

static void reader_rejects_stray_and_unterminated_quotes_with_line(void **state)
{
    (void)state;
    collected c = {0};
    hd_err err = {0};
    const char *a = "ok\r\nab\"c\r\n";
    assert_int_equal(hd_csv_parse(a, strlen(a), collect, &c, &err), HD_EINVAL);
    assert_non_null(strstr(err.detail, "line 2"));
    memset(&c, 0, sizeof c);
    const char *b = "\"open";
    assert_int_equal(hd_csv_parse(b, strlen(b), collect, &c, &err), HD_EINVAL);
    memset(&c, 0, sizeof c);
    const char *d = "\"x\"y";
    assert_int_equal(hd_csv_parse(d, strlen(d), collect, &c, &err), HD_EINVAL);
}

static void numbers_are_written_as_numbers(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    hd_csv *w = hd_csv_open(f);
    hd_csv_number(w, -5);
    hd_csv_number(w, 0.25);
    hd_csv_number(w, 1234567);
    hd_csv_end_row(w);
    assert_int_equal(hd_csv_close(w), 0);
    fclose(f);
    assert_string_equal(buf, "\xEF\xBB\xBF-5,0.25,1234567\r\n");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quotes_commas_quotes_and_newlines_only_when_needed),
        cmocka_unit_test(cells_starting_with_formula_characters_get_an_apostrophe),
        cmocka_unit_test(invalid_utf8_is_replaced_not_copied),
        cmocka_unit_test(quotes_and_invalid_bytes_next_to_each_other_keep_the_text_between),
        cmocka_unit_test(reader_round_trips_what_the_writer_wrote),
        cmocka_unit_test(reader_rejects_stray_and_unterminated_quotes_with_line),
        cmocka_unit_test(numbers_are_written_as_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
