/* The CLI's INI settings file: parsing, errors with line numbers, saving with mode 0600,
 * and where the file is looked for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "clients/cli/config.h"

static int parse(hd_cli_config *cfg, const char *text, hd_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    hd_err_clear(err);
    return hd_cli_config_parse(cfg, text, strlen(text), err);
}

static void keys_of_the_default_section_are_read_and_others_ignored(void **state)
{
    (void)state;
    hd_cli_config c;
    hd_err err;
    assert_int_equal(parse(&c,
                           "# comment\n; also\nserver = top:1\n[other]\ntoken = no\n"
                           "[ default ]\r\ntoken = \"hd_x\"\r\ntls = yes\nstaff_id = 42\n"
                           "token_id=7\nunknown = fine\nuser='a@b.c'\n",
                           &err),
                     HD_OK);
    assert_string_equal(c.server, "top:1");
    assert_string_equal(c.token, "hd_x");
    assert_string_equal(c.user, "a@b.c");
    assert_int_equal(c.tls, 1);
    assert_int_equal(c.staff_id, 42);
    assert_int_equal(c.token_id, 7);
    assert_null(c.ca);
    hd_cli_config_clear(&c);
}

static void malformed_lines_are_reported_with_their_number(void **state)
{
    (void)state;
    hd_cli_config c;
    hd_err err;
    assert_int_equal(parse(&c, "server = a\n\njust words\n", &err), HD_EINVAL);
    assert_string_equal(err.detail, "line 3: want key = value");
    hd_cli_config_clear(&c);
    assert_int_equal(parse(&c, "[default\n", &err), HD_EINVAL);
    assert_string_equal(err.detail, "line 1: want [section]");
    hd_cli_config_clear(&c);
    assert_int_equal(parse(&c, "tls = maybe\n", &err), HD_EINVAL);
    assert_string_equal(err.detail, "line 1: tls: want true or false");
    hd_cli_config_clear(&c);
    assert_int_equal(parse(&c, "staff_id = 12x\n", &err), HD_EINVAL);
    hd_cli_config_clear(&c);
}

static void saved_file_is_private_and_loads_back_the_same(void **state)
{
    (void)state;
    char dir[] = "/tmp/hd-cli-config-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/nested/helpdesk/config", dir);
    hd_cli_config c = {0}, back = {0};
    hd_err err;
    assert_int_equal(hd_cli_config_set(&c.server, "127.0.0.1:7070"), HD_OK);
    assert_int_equal(hd_cli_config_set(&c.token, " spaced token "), HD_OK);
    assert_int_equal(hd_cli_config_set(&c.user, "\"quoted\""), HD_OK);
    c.staff_id = 3;
    c.token_id = 9;
    c.tls = 1;
    assert_int_equal(hd_cli_config_save(&c, path, &err), HD_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char parent[256];
    snprintf(parent, sizeof(parent), "%s/nested/helpdesk", dir);
    assert_int_equal(stat(parent, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(hd_cli_config_load(&back, path, &err), HD_OK);
    assert_string_equal(back.server, c.server);
    assert_string_equal(back.token, c.token);
    assert_string_equal(back.user, c.user);
    assert_int_equal(back.staff_id, 3);
    assert_int_equal(back.token_id, 9);
    assert_int_equal(back.tls, 1);
    hd_cli_config_clear(&back);

    assert_int_equal(hd_cli_config_set(&c.token, "two\nlines"), HD_OK);
    assert_int_equal(hd_cli_config_save(&c, path, &err), HD_EINVAL);
    hd_cli_config_clear(&c);
    unlink(path);
    rmdir(parent);
    snprintf(parent, sizeof(parent), "%s/nested", dir);
    rmdir(parent);
    rmdir(dir);
}

static void a_missing_file_is_an_empty_config(void **state)
{
    (void)state;
    hd_cli_config c = {0};
    hd_err err;
    assert_int_equal(hd_cli_config_load(&c, "/nonexistent/helpdesk/config", &err), HD_OK);
    assert_null(c.server);
    assert_null(c.token);
}

static void path_prefers_helpdesk_config_then_xdg_then_home(void **state)
{
    (void)state;
    char buf[256];
    hd_err err;
    setenv("HOME", "/home/ada", 1);
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("HELPDESK_CONFIG");
    assert_int_equal(hd_cli_config_path(buf, sizeof(buf), &err), HD_OK);
    assert_string_equal(buf, "/home/ada/.config/helpdesk/config");
    setenv("XDG_CONFIG_HOME", "/xdg", 1);
    assert_int_equal(hd_cli_config_path(buf, sizeof(buf), &err), HD_OK);
    assert_string_equal(buf, "/xdg/helpdesk/config");
    setenv("HELPDESK_CONFIG", "/etc/hd.ini", 1);
    assert_int_equal(hd_cli_config_path(buf, sizeof(buf), &err), HD_OK);
    assert_string_equal(buf, "/etc/hd.ini");
    unsetenv("HELPDESK_CONFIG");
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("HOME");
    assert_int_equal(hd_cli_config_path(buf, sizeof(buf), &err), HD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_of_the_default_section_are_read_and_others_ignored),
        cmocka_unit_test(malformed_lines_are_reported_with_their_number),
        cmocka_unit_test(saved_file_is_private_and_loads_back_the_same),
        cmocka_unit_test(a_missing_file_is_an_empty_config),
        cmocka_unit_test(path_prefers_helpdesk_config_then_xdg_then_home),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
