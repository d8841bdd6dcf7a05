/* Corpus reader for the mail tests (see corpus.h). */
#include "tests/unit/server/mail/corpus.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

char *tc_read(const char *file, const tc_subst *subst, size_t n, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "tests/data/mail/%s", file);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    buf[sz] = '\0';
    size_t cur = (size_t)sz;
    for (size_t i = 0; i < n; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, "{{%s}}", subst[i].name);
        size_t pl = strlen(pat), vl = strlen(subst[i].value);
        char *p;
        while ((p = strstr(buf, pat)) != NULL) {
            char *nb = malloc(cur - pl + vl + 1);
            assert_non_null(nb);
            size_t off = (size_t)(p - buf);
            memcpy(nb, buf, off);
            memcpy(nb + off, subst[i].value, vl);
            memcpy(nb + off + vl, p + pl, cur - off - pl + 1);
            free(buf);
            buf = nb;
            cur = cur - pl + vl;
        }
    }
    *len = cur;
    return buf;
}
