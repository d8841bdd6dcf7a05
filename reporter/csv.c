/* RFC 4180 writing and reading. */
#include "reporter/csv.h"

#include <stdlib.h>
#include <string.h>

#include "server/validate/validate.h"

#define CSV_FIELD_MAX (1u << 20)

struct hd_csv {
    FILE *f;
    int fields_in_row;
    int failed;
};

hd_csv *hd_csv_open(FILE *f)
{
    hd_csv *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->f = f;
    if (fputs("\xEF\xBB\xBF", f) < 0)
        w->failed = 1;
    return w;
}

size_t hd_csv_neutralise(char *out, size_t n, const char *s)
{
    int risky =
        s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    int len = snprintf(out, n, "%s%s", risky ? "'" : "", s);
    return len < 0 ? 0 : (size_t)len;
}

static void put(hd_csv *w, const char *s, size_t n)
{
    if (n && fwrite(s, 1, n, w->f) != n)
        w->failed = 1;
}

static void sep(hd_csv *w)
{
    if (w->fields_in_row++)
        put(w, ",", 1);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const char *s, size_t n)
{
    unsigned char c = (unsigned char)s[0];
    size_t k = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (!k || k > n)
        return 0;
    return hd_validate_utf8(s, k) ? k : 0;
}

void hd_csv_text(hd_csv *w, const char *s)
{
    sep(w);
    int risky =
        s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        put(w, "\"", 1);
    if (risky)
        put(w, "'", 1);
    /* Valid UTF-8 other than '"' goes out in runs: one fwrite per run, not per character
     * (a long breach list is mostly such text). */
    size_t n = strlen(s), run = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(s + i, n - i);
        if (k && s[i] != '"') {
            i += k;
            continue;
        }
        put(w, s + run, i - run);
        if (!k) {
            put(w, "\xEF\xBF\xBD", 3);
            i++;
        } else {
            put(w, "\"\"", 2);
            i += k;
        }
        run = i;
    }
    put(w, s + run, n - run);
    if (quote)
        put(w, "\"", 1);
}

void hd_csv_number(hd_csv *w, double v)
{
    sep(w);
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%.15g", v);
    put(w, buf, (size_t)n);
}

void hd_csv_end_row(hd_csv *w)
{
    put(w, "\r\n", 2);
    w->fields_in_row = 0;
}

int hd_csv_close(hd_csv *w)
{
    if (!w)
        return 0;
    int rc = w->failed || fflush(w->f) ? HD_EIO : 0;
    free(w);
    return rc;
}

int hd_csv_parse(const char *text, size_t len, hd_csv_field_fn fn, void *ud, hd_err *err)
{
    size_t cap = 256, n = 0, i = 0;
    int line = 1, rc = 0;
    char *buf = malloc(cap);
    if (!buf)
        return hd_err_set(err, HD_ENOMEM, "csv: out of memory");
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        i = 3;
    while (i < len) {
        int quoted = 0, closed = 0;
        n = 0;
        if (text[i] == '"') {
            quoted = 1;
            i++;
        }
        for (;;) {
            if (i == len) {
                if (quoted && !closed) {
                    rc = hd_err_set(err, HD_EINVAL, "csv line %d: unterminated quote", line);
                    goto out;
                }
                break;
            }
            char c = text[i];
            if (quoted && !closed) {
                if (c == '"' && i + 1 < len && text[i + 1] == '"') {
                    i += 2;
                } else if (c == '"') {
                    closed = 1;
                    i++;
                    continue;
                } else {
                    if (c == '\n')
                        line++;
                    i++;
                }
            } else {
                if (c == ',' || c == '\n' || (c == '\r' && i + 1 < len && text[i + 1] == '\n'))
                    break;
                if (closed || c == '"') {
                    rc = hd_err_set(err, HD_EINVAL, "csv line %d: stray quote or text after quote",
                                    line);
                    goto out;
                }
                i++;
            }
            if (n + 2 > cap) {
                if (cap >= CSV_FIELD_MAX) {
                    rc = hd_err_set(err, HD_ETOOBIG, "csv line %d: field over 1 MiB", line);
                    goto out;
                }
                char *nb = realloc(buf, cap * 2);
                if (!nb) {
                    rc = hd_err_set(err, HD_ENOMEM, "csv: out of memory");
                    goto out;
                }
                buf = nb;
                cap *= 2;
            }
            buf[n++] = text[i - 1];
        }
        buf[n] = 0;
        int eor = i == len || text[i] != ',';
        if (fn(ud, buf, n, eor)) {
            rc = HD_ECANCELED;
            goto out;
        }
        if (i < len && text[i] == ',') {
            i++;
            if (i == len && fn(ud, "", 0, 1)) {
                rc = HD_ECANCELED;
                goto out;
            }
        } else if (i < len) {
            i += text[i] == '\r' ? 2 : 1;
            line++;
        }
    }
out:
    free(buf);
    return rc;
}
