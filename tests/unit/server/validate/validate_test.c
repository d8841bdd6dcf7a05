/* Input checks: UTF-8 edge cases (overlong, surrogates, truncation, > U+10FFFF), character
 * counts, single-line text and email syntax including header-injection attempts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/validate/validate.h"

#define UTF8(s) hd_validate_utf8(s, sizeof(s) - 1)

static void utf8_accepts_well_formed_and_rejects_malformed_sequences(void **state)
{
    (void)state;
    assert_true(UTF8(""));
    assert_true(UTF8("plain ascii"));
    assert_true(UTF8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
    assert_true(UTF8("\xF4\x8F\xBF\xBF")); /* U+10FFFF */
    assert_true(UTF8("nul\0inside"));
    assert_false(UTF8("\xC0\xAF"));         /* overlong '/' */
    assert_false(UTF8("\xE0\x80\xAF"));     /* overlong 3-byte */
    assert_false(UTF8("\xF0\x80\x80\xAF")); /* overlong 4-byte */
    assert_false(UTF8("\xED\xA0\x80"));     /* surrogate U+D800 */
    assert_false(UTF8("\xF4\x90\x80\x80")); /* U+110000 */
    assert_false(UTF8("\xC3"));             /* truncated */
    assert_false(UTF8("\xE2\x82"));         /* truncated */
    assert_false(UTF8("\x80"));             /* lone continuation */
    assert_false(UTF8("\xFF"));
    assert_false(UTF8("ok\xC3\x28"));
}

static void utf8_chars_counts_code_points_not_bytes(void **state)
{
    (void)state;
    assert_int_equal(hd_validate_utf8_chars("caf\xC3\xA9", 5), 4);
    assert_int_equal(hd_validate_utf8_chars("\xF0\x9F\x98\x80", 4), 1);
    assert_int_equal(hd_validate_utf8_chars("", 0), 0);
}

static void single_line_printable_and_charset_checks(void **state)
{
    (void)state;
    assert_true(hd_validate_single_line("a b\tc", 5));
    assert_false(hd_validate_single_line("a\rb", 3));
    assert_false(hd_validate_single_line("a\nb", 3));
    assert_true(hd_validate_printable_ascii("req-1 ~!", 8));
    assert_false(hd_validate_printable_ascii("a\x7F", 2));
    assert_false(hd_validate_printable_ascii("\xC3\xA9", 2));
    assert_true(hd_validate_charset("a_b-9", 5, "abcdefghijklmnopqrstuvwxyz0123456789_-"));
    assert_false(hd_validate_charset("aB", 2, "abcdefghijklmnopqrstuvwxyz"));
    assert_false(hd_validate_charset("a\0", 2, "a"));
}

static void email_accepts_ordinary_addresses(void **state)
{
    (void)state;
    const char *good[] = {"a@b.c",
                          "ada.lovelace+tag@example.co.uk",
                          "x_y-z@sub-domain.example",
                          "Upper@Example.COM",
                          "j\xC3\xB6rg@example.de",
                          "1@2.3"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!hd_validate_email(good[i], strlen(good[i])))
            fail_msg("rejected good address \"%s\"", good[i]);
    }
}

static void email_rejects_malformed_and_injection_attempts(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "plain",
                         "@example.com",
                         "a@",
                         "a@@b.c",
                         "a@b@c.d",
                         "a b@c.d",
                         "a@b.c\r\nRCPT TO:<x@y.z>",
                         "a@b.c\n",
                         "a\t@b.c",
                         "<a@b.c>",
                         "a@b.c,d@e.f",
                         "a@b..c",
                         "a@.b.c",
                         "a@b.c.",
                         "a@-b.c",
                         "a@b-.c",
                         ".a@b.c",
                         "a.@b.c",
                         "a..b@c.d",
                         "\"q\"@b.c",
                         "a@b_c.d",
                         "a@[127.0.0.1]",
                         "a@b.c\x7F",
                         "a@exampl\xC3\xA9.com"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (hd_validate_email(bad[i], strlen(bad[i])))
            fail_msg("accepted bad address \"%s\"", bad[i]);
    }
}

static void email_length_limits_are_254_total_and_64_local(void **state)
{
    (void)state;
    char buf[300];
    /* 64-byte local part is fine, 65 is not. */
    memset(buf, 'l', 64);
    memcpy(buf + 64, "@example.com", 13);
    assert_true(hd_validate_email(buf, strlen(buf)));
    memset(buf, 'l', 65);
    memcpy(buf + 65, "@example.com", 13);
    assert_false(hd_validate_email(buf, strlen(buf)));
    /* 254 bytes total with 63-byte labels is fine; 255 is not. */
    size_t n = 0;
    memcpy(buf, "a@", 2);
    n = 2;
    for (int l = 0; l < 3; l++) {
        memset(buf + n, 'd', 63);
        n += 63;
        buf[n++] = '.';
    }
    memset(buf + n, 'e', 254 - n);
    n = 254;
    buf[n] = 0;
    assert_true(hd_validate_email(buf, n));
    buf[n] = 'e';
    buf[n + 1] = 0;
    assert_false(hd_validate_email(buf, n + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_accepts_well_formed_and_rejects_malformed_sequences),
        cmocka_unit_test(utf8_chars_counts_code_points_not_bytes),
        cmocka_unit_test(single_line_printable_and_charset_checks),
        cmocka_unit_test(email_accepts_ordinary_addresses),
        cmocka_unit_test(email_rejects_malformed_and_injection_attempts),
        cmocka_unit_test(email_length_limits_are_254_total_and_64_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
