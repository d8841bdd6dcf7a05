/* Values of the `helpdesk mailbox` flags: durations and sizes with units and their bounds,
 * on/off words, passwords read from a file's first line (line endings stripped, control
 * characters and empty or overlong secrets refused), and the flag -> Mailbox field table
 * that builds UpdateMailbox's field mask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clients/cli/mailbox_flags.h"
#include "helpdesk/v1/mail.pb-c.h"

static void durations_take_seconds_or_a_unit(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(hd_cli_parse_seconds("0", 100, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(hd_cli_parse_seconds("90", 1000, &v), 0);
    assert_int_equal(v, 90);
    assert_int_equal(hd_cli_parse_seconds("90s", 1000, &v), 0);
    assert_int_equal(v, 90);
    assert_int_equal(hd_cli_parse_seconds("15m", 100000, &v), 0);
    assert_int_equal(v, 900);
    assert_int_equal(hd_cli_parse_seconds("2h", 100000, &v), 0);
    assert_int_equal(v, 7200);
    assert_int_equal(hd_cli_parse_seconds("7d", UINT32_MAX, &v), 0);
    assert_int_equal(v, 604800);
}

static void malformed_or_too_long_durations_are_refused_and_leave_the_value(void **state)
{
    (void)state;
    uint64_t v = 42;
    const char *bad[] = {"",  "-5",   "+5",  "5x",   "5 m",
                         "m", "1.5h", "5mm", "0x10", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (hd_cli_parse_seconds(bad[i], UINT32_MAX, &v) != -1)
            fail_msg("\"%s\" was accepted as %llu", bad[i], (unsigned long long)v);
    }
    assert_int_equal(hd_cli_parse_seconds(NULL, 10, &v), -1);
    /* The bound is inclusive and applies after the unit. */
    assert_int_equal(hd_cli_parse_seconds("24h", 86400, &v), 0);
    assert_int_equal(v, 86400);
    assert_int_equal(hd_cli_parse_seconds("86401", 86400, &v), -1);
    assert_int_equal(hd_cli_parse_seconds("2d", 86400, &v), -1);
    assert_int_equal(hd_cli_parse_seconds("4294967295", UINT32_MAX, &v), 0);
    assert_int_equal(hd_cli_parse_seconds("4294967296", UINT32_MAX, &v), -1);
    assert_int_equal(hd_cli_parse_seconds("49711d", UINT32_MAX, &v), -1);
    assert_int_equal(v, 4294967295u);
}

static void sizes_take_bytes_or_binary_units(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(hd_cli_parse_bytes("1048576", &v), 0);
    assert_int_equal(v, 1048576);
    assert_int_equal(hd_cli_parse_bytes("512K", &v), 0);
    assert_int_equal(v, 512 * 1024);
    assert_int_equal(hd_cli_parse_bytes("25M", &v), 0);
    assert_int_equal(v, 25 * 1024 * 1024);
    assert_int_equal(hd_cli_parse_bytes("25MiB", &v), 0);
    assert_int_equal(v, 25 * 1024 * 1024);
    assert_int_equal(hd_cli_parse_bytes("1gb", &v), 0);
    assert_int_equal(v, UINT64_C(1) << 30);
    assert_int_equal(hd_cli_parse_bytes("0", &v), 0);
    assert_int_equal(v, 0);
    v = 7;
    const char *bad[] = {
        "", "-1", "1T", "1KX", "1Kib2", "K", "1.5M", " 1", "9007199254740993", "8388609G"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (hd_cli_parse_bytes(bad[i], &v) != -1)
            fail_msg("\"%s\" was accepted as %llu", bad[i], (unsigned long long)v);
    }
    assert_int_equal(v, 7);
    assert_int_equal(hd_cli_parse_bytes("8388608G", &v), 0); /* 2^53 exactly */
    assert_int_equal(v, UINT64_C(1) << 53);
}

static void on_off_words_in_any_case(void **state)
{
    (void)state;
    const char *on[] = {"on", "ON", "yes", "True", "1"};
    const char *off[] = {"off", "No", "false", "0"};
    int b;
    for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
        b = -1;
        assert_int_equal(hd_cli_parse_onoff(on[i], &b), 0);
        assert_int_equal(b, 1);
    }
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
        b = -1;
        assert_int_equal(hd_cli_parse_onoff(off[i], &b), 0);
        assert_int_equal(b, 0);
    }
    b = 5;
    assert_int_equal(hd_cli_parse_onoff("enable", &b), -1);
    assert_int_equal(hd_cli_parse_onoff("", &b), -1);
    assert_int_equal(hd_cli_parse_onoff(NULL, &b), -1);
    assert_int_equal(b, 5);
}

/* Reads a secret from text written to a temporary file. */
static int secret_of(const char *text, size_t len, char *buf, size_t n, const char **why)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    rewind(f);
    int rc = hd_cli_read_secret(f, buf, n, why);
    fclose(f);
    return rc;
}

static void password_is_the_first_line_without_its_ending(void **state)
{
    (void)state;
    char buf[HD_CLI_SECRET_MAX + 2];
    const char *why = NULL;
    assert_int_equal(secret_of("s3cret\n", 7, buf, sizeof(buf), &why), 0);
    assert_string_equal(buf, "s3cret");
    assert_int_equal(secret_of("s3cret\r\nsecond line\n", 20, buf, sizeof(buf), &why), 0);
    assert_string_equal(buf, "s3cret");
    assert_int_equal(secret_of("no newline", 10, buf, sizeof(buf), &why), 0);
    assert_string_equal(buf, "no newline");
    /* Spaces are part of a password. */
    assert_int_equal(secret_of(" a b \n", 6, buf, sizeof(buf), &why), 0);
    assert_string_equal(buf, " a b ");
}

static void empty_overlong_or_control_character_passwords_are_refused(void **state)
{
    (void)state;
    char buf[HD_CLI_SECRET_MAX + 2];
    char big[HD_CLI_SECRET_MAX + 2];
    const char *why = NULL;
    assert_int_equal(secret_of("\n", 1, buf, sizeof(buf), &why), -1);
    assert_string_equal(why, "is empty");
    assert_int_equal(secret_of("", 0, buf, sizeof(buf), &why), -1);
    assert_string_equal(why, "is empty");
    assert_int_equal(secret_of("a\tb\n", 4, buf, sizeof(buf), &why), -1);
    assert_string_equal(why, "contains a control character");
    assert_int_equal(secret_of("a\rb\n", 4, buf, sizeof(buf), &why), -1);
    assert_string_equal(why, "contains a control character");
    assert_int_equal(secret_of("a\0b\n", 4, buf, sizeof(buf), &why), -1);
    assert_string_equal(why, "contains a control character");
    memset(big, 'x', sizeof(big));
    assert_int_equal(secret_of(big, HD_CLI_SECRET_MAX, buf, sizeof(buf), &why), 0);
    assert_int_equal(strlen(buf), HD_CLI_SECRET_MAX);
    assert_int_equal(secret_of(big, HD_CLI_SECRET_MAX + 1, buf, sizeof(buf), &why), -1);
    assert_string_equal(why, "is longer than 1024 bytes");
    /* A small buffer is never overrun. */
    assert_int_equal(secret_of("abcdef\n", 7, buf, 4, &why), -1);
}

static void every_field_flag_names_a_settable_mailbox_field(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *d = &helpdesk__v1__mailbox__descriptor;
    size_t n = 0;
    for (size_t i = 0; hd_cli_mailbox_flag_at(i); i++, n++) {
        const char *flag = hd_cli_mailbox_flag_at(i);
        const char *field = hd_cli_mailbox_field_of(flag);
        assert_non_null(field);
        if (!protobuf_c_message_descriptor_get_field_by_name(d, field))
            fail_msg("--%s maps to %s, which Mailbox does not have", flag, field);
    }
    /* Every writable field has a flag: all but id and the two has_* read-only ones. */
    for (unsigned f = 0; f < d->n_fields; f++) {
        const char *name = d->fields[f].name;
        int found = 0;
        if (strcmp(name, "id") == 0 || strncmp(name, "has_", 4) == 0)
            continue;
        for (size_t i = 0; hd_cli_mailbox_flag_at(i); i++)
            found |= strcmp(hd_cli_mailbox_field_of(hd_cli_mailbox_flag_at(i)), name) == 0;
        if (!found)
            fail_msg("Mailbox.%s has no flag", name);
    }
    assert_null(hd_cli_mailbox_field_of("dead"));
    assert_null(hd_cli_mailbox_flag_at(n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations_take_seconds_or_a_unit),
        cmocka_unit_test(malformed_or_too_long_durations_are_refused_and_leave_the_value),
        cmocka_unit_test(sizes_take_bytes_or_binary_units),
        cmocka_unit_test(on_off_words_in_any_case),
        cmocka_unit_test(password_is_the_first_line_without_its_ending),
        cmocka_unit_test(empty_overlong_or_control_character_passwords_are_refused),
        cmocka_unit_test(every_field_flag_names_a_settable_mailbox_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
