/* Test helper: reads files of the mail corpus (tests/data/mail) from the test's runfiles,
 * with {{PLACEHOLDER}} substitution. */
#ifndef HD_TESTS_MAIL_CORPUS_H
#define HD_TESTS_MAIL_CORPUS_H

#include <stddef.h>

/* One substitution: every "{{name}}" becomes value. */
typedef struct tc_subst {
    const char *name;
    const char *value;
} tc_subst;

/* Reads tests/data/mail/<file> and applies the n substitutions. Returns an owned buffer
 * (free()) and its length in *len; fails the test when the file cannot be read. */
char *tc_read(const char *file, const tc_subst *subst, size_t n, size_t *len);

#endif
