/* Fuzz target for the CSV reader and writer: whatever the reader accepts, written back
 * cell by cell, must read back to the same cells, with every risky first character
 * neutralised. libFuzzer with clang, or with HD_FUZZ_DRIVER a bounded regression test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporter/csv.h"
#include "server/validate/validate.h"
#include "tests/fuzz/reporter/fuzz_driver.h"

typedef struct cells {
    char *text[256];
    int n;
    hd_csv *w;
} cells;

static int keep(void *ud, const char *field, size_t len, int eor)
{
    cells *c = ud;
    if (c->n == 256)
        return 1;
    c->text[c->n++] = strndup(field, len);
    (void)eor;
    return 0;
}

static int compare(void *ud, const char *field, size_t len, int eor)
{
    cells *c = ud;
    (void)eor;
    CHECK(c->n < 256 && c->text[c->n]);
    char want[8192];
    hd_csv_neutralise(want, sizeof want, c->text[c->n]);
    CHECK(strlen(want) == len && !memcmp(want, field, len));
    CHECK(!(field[0] == '=' || field[0] == '+' || field[0] == '-' || field[0] == '@' ||
            field[0] == '\t' || field[0] == '\r'));
    c->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cells c = {0};
    hd_err err;
    int rc = hd_csv_parse((const char *)data, size, keep, &c, &err);
    if (rc == 0 && c.n > 0) {
        int valid = 1;
        for (int i = 0; i < c.n; i++)
            valid &= hd_validate_utf8(c.text[i], strlen(c.text[i])) && strlen(c.text[i]) < 4000;
        if (valid) {
            char *buf = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&buf, &len);
            hd_csv *w = hd_csv_open(f);
            for (int i = 0; i < c.n; i++)
                hd_csv_text(w, c.text[i]);
            hd_csv_end_row(w);
            CHECK(hd_csv_close(w) == 0);
            fclose(f);
            int n = c.n;
            c.n = 0;
            CHECK(hd_csv_parse(buf, len, compare, &c, &err) == 0);
            CHECK(c.n == n);
            free(buf);
        }
    }
    for (int i = 0; i < 256 && c.text[i]; i++)
        free(c.text[i]);
    return 0;
}

#ifdef HD_FUZZ_DRIVER
int main(void)
{
    static const char *const seeds[] = {"a,b,c\r\n1,2,3\r\n", "\"q\"\"x\",\"l1\nl2\",=1+2\r\n",
                                        "\xEF\xBB\xBF@x,-1,+2,\t3\n", "\"\",,\r\n,\r\n"};
    size_t runs = hd_fuzz_drive(seeds, 4, 20000);
    printf("%zu inputs, every accepted CSV round-tripped\n", runs);
    return 0;
}
#endif
