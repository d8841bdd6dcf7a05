/* CSV output (RFC 4180): comma separated, CRLF line ends, fields quoted when they hold a
 * comma, quote, CR or LF, quotes doubled, UTF-8 with a byte-order mark so Excel reads the
 * encoding. Text cells starting with = + - @ tab or CR are neutralised (OWASP CSV
 * injection) by a leading apostrophe; numbers are written as numbers. Also a strict
 * reader, used by the tests and the fuzz target. */
#ifndef HD_REPORTER_CSV_H
#define HD_REPORTER_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "server/common/err.h"

typedef struct hd_csv hd_csv;

/* Starts a CSV on f (borrowed until hd_csv_close; not closed by it) and writes the BOM.
 * Returns an owned writer or NULL when out of memory. */
hd_csv *hd_csv_open(FILE *f);

/* Appends a text field; s is UTF-8 (invalid bytes are replaced by U+FFFD). */
void hd_csv_text(hd_csv *w, const char *s);

/* Appends a number field in shortest round-trip form ("%.15g"). */
void hd_csv_number(hd_csv *w, double v);

/* Ends the current record with CRLF. */
void hd_csv_end_row(hd_csv *w);

/* Flushes and frees the writer; returns HD_OK or HD_EIO when any write failed. NULL ok. */
int hd_csv_close(hd_csv *w);

/* Writes into out (size n) the text as it will appear in a cell after neutralising:
 * a leading apostrophe when s starts with = + - @ \t or \r. Returns the length needed
 * (as snprintf). */
size_t hd_csv_neutralise(char *out, size_t n, const char *s);

/* Called for each field of each record by hd_csv_parse; field is NUL-terminated and
 * borrowed until the callback returns. end_of_record is nonzero on the record's last
 * field. Return nonzero to stop. */
typedef int (*hd_csv_field_fn)(void *ud, const char *field, size_t len, int end_of_record);

/* Parses RFC 4180 text (optional BOM, CRLF or LF line ends). Returns HD_OK, HD_EINVAL with
 * the line number in err (quote inside an unquoted field, unterminated quote, text after a
 * closing quote), HD_ETOOBIG (a field over 1 MiB), HD_ENOMEM, or HD_ECANCELED when fn
 * stopped. */
int hd_csv_parse(const char *text, size_t len, hd_csv_field_fn fn, void *ud, hd_err *err);

#endif
