/* The CLI's output forms: proto3 JSON from descriptors, enum words, times and tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clients/cli/output.h"
#include "helpdesk/v1/staff.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"

/* The compact JSON of msg, owned (free()). */
static char *json_of(const ProtobufCMessage *msg)
{
    json_t *j = hd_cli_json_message(msg);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    assert_non_null(s);
    return s;
}

static void json_uses_lower_camel_names_strings_for_64_bit_and_enum_names(void **state)
{
    (void)state;
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    Google__Protobuf__Timestamp ct = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    char *tags[] = {(char *)"vip", (char *)"printer"};
    t.id = 18446744073709551615ull;
    t.number = (char *)"TKT-000042";
    t.status = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_OPEN;
    t.customer_id = 7;
    t.tags = tags;
    t.n_tags = 2;
    ct.seconds = 1764040000;
    t.create_time = &ct;
    t.message_count = 3;
    char *s = json_of(&t.base);
    assert_string_equal(s, "{\"id\":\"18446744073709551615\",\"number\":\"TKT-000042\","
                           "\"status\":\"TICKET_STATUS_OPEN\",\"tags\":[\"vip\",\"printer\"],"
                           "\"customerId\":\"7\",\"createTime\":\"2025-11-25T03:06:40Z\","
                           "\"messageCount\":3}");
    free(s);
}

static void json_leaves_out_defaults_and_keeps_nested_messages(void **state)
{
    (void)state;
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    Helpdesk__V1__Rating r = HELPDESK__V1__RATING__INIT;
    r.score = 5;
    t.rating = &r;
    char *s = json_of(&t.base);
    assert_string_equal(s, "{\"rating\":{\"score\":5}}");
    free(s);
    Helpdesk__V1__Ticket empty = HELPDESK__V1__TICKET__INIT;
    s = json_of(&empty.base);
    assert_string_equal(s, "{}");
    free(s);
}

static void json_timestamps_carry_3_6_or_9_fraction_digits(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(hd_cli_rfc3339(buf, sizeof(buf), 0, 0), "1970-01-01T00:00:00Z");
    assert_string_equal(hd_cli_rfc3339(buf, sizeof(buf), 0, 5000000), "1970-01-01T00:00:00.005Z");
    assert_string_equal(hd_cli_rfc3339(buf, sizeof(buf), 0, 5000), "1970-01-01T00:00:00.000005Z");
    assert_string_equal(hd_cli_rfc3339(buf, sizeof(buf), 0, 5), "1970-01-01T00:00:00.000000005Z");
}

static void json_field_mask_is_one_string_of_camel_paths(void **state)
{
    (void)state;
    Helpdesk__V1__UpdateTicketRequest req = HELPDESK__V1__UPDATE_TICKET_REQUEST__INIT;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *paths[] = {(char *)"custom_fields", (char *)"status"};
    mask.paths = paths;
    mask.n_paths = 2;
    req.update_mask = &mask;
    char *s = json_of(&req.base);
    assert_string_equal(s, "{\"updateMask\":\"customFields,status\"}");
    free(s);
}

static void json_replaces_invalid_utf8_so_output_stays_valid(void **state)
{
    (void)state;
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    t.subject = (char *)"caf\xe9 \xc3\xa9";
    char *s = json_of(&t.base);
    assert_string_equal(s, "{\"subject\":\"caf\xef\xbf\xbd \xc3\xa9\"}");
    free(s);
}

static void enum_words_drop_the_prefix_and_parse_back_in_any_case(void **state)
{
    (void)state;
    char buf[64];
    int v = 0;
    const ProtobufCEnumDescriptor *st = &helpdesk__v1__ticket_status__descriptor;
    assert_string_equal(hd_cli_enum_word(buf, sizeof(buf), st, 3), "pending");
    assert_string_equal(
        hd_cli_enum_word(buf, sizeof(buf), &helpdesk__v1__escalation_reason__descriptor, 2),
        "sla-risk");
    assert_string_equal(hd_cli_enum_word(buf, sizeof(buf), st, 99), "99");
    assert_int_equal(hd_cli_enum_parse(st, "Open", &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(hd_cli_enum_parse(st, "TICKET_STATUS_SOLVED", &v), 0);
    assert_int_equal(v, 4);
    assert_int_equal(
        hd_cli_enum_parse(&helpdesk__v1__escalation_reason__descriptor, "sla_risk", &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(hd_cli_enum_parse(st, "opened", &v), -1);
    assert_string_equal(
        hd_cli_enum_words(buf, sizeof(buf), &helpdesk__v1__priority__descriptor, ", "),
        "urgent, high, normal, low");
}

static void relative_times_round_down_and_fall_back_to_dates(void **state)
{
    (void)state;
    char buf[40];
    int64_t now = 1764040000000;
    assert_string_equal(hd_cli_reltime(buf, sizeof(buf), 0, now), "-");
    assert_string_equal(hd_cli_reltime(buf, sizeof(buf), now - 9000, now), "just now");
    assert_string_equal(hd_cli_reltime(buf, sizeof(buf), now - 42000, now), "42s ago");
    assert_string_equal(hd_cli_reltime(buf, sizeof(buf), now - 5 * 60000 - 59000, now), "5m ago");
    assert_string_equal(hd_cli_reltime(buf, sizeof(buf), now - 3 * 3600000, now), "3h ago");
    assert_string_equal(hd_cli_reltime(buf, sizeof(buf), now - 2 * 86400000, now), "2d ago");
    assert_string_equal(hd_cli_reltime(buf, sizeof(buf), now + 5 * 60000, now), "in 5m");
    assert_string_equal(hd_cli_reltime(buf, sizeof(buf), now - 40LL * 86400000, now), "2025-10-16");
}

/* The printed table as a string, owned. */
static char *printed(const hd_cli_table *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    hd_cli_table_print(t, f);
    fclose(f);
    return buf;
}

static void tables_align_utf8_columns_without_trailing_blanks(void **state)
{
    (void)state;
    static const char *const heads[] = {"NAME", "CITY"};
    hd_cli_table *t = hd_cli_table_new(heads, 2, 0);
    assert_non_null(t);
    assert_int_equal(hd_cli_table_cell(t, "Zoë", HD_CLI_STYLE_RED), 0);
    assert_int_equal(hd_cli_table_cell(t, "Köln", 0), 0);
    assert_int_equal(hd_cli_table_cell(t, "Bartholomew", 0), 0);
    assert_int_equal(hd_cli_table_cell(t, "multi\nline", 0), 0);
    char *s = printed(t);
    assert_string_equal(s, "NAME         CITY\n"
                           "Zoë          Köln\n"
                           "Bartholomew  multi line\n");
    free(s);
    hd_cli_table_free(t);
}

static void colour_tables_wrap_styled_cells_in_escapes(void **state)
{
    (void)state;
    static const char *const heads[] = {"A", "B"};
    hd_cli_table *t = hd_cli_table_new(heads, 2, 1);
    assert_non_null(t);
    hd_cli_table_cell(t, "x", HD_CLI_STYLE_GREEN);
    hd_cli_table_cell(t, "y", 0);
    char *s = printed(t);
    assert_string_equal(s, "\033[1mA\033[0m  \033[1mB\033[0m\n\033[32mx\033[0m  y\n");
    free(s);
    hd_cli_table_free(t);
}

static void field_text_shows_words_lists_and_relative_times(void **state)
{
    (void)state;
    Helpdesk__V1__Staff s = HELPDESK__V1__STAFF__INIT;
    Google__Protobuf__Timestamp ct = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    uint64_t groups[] = {1, 3};
    char buf[64];
    s.role = HELPDESK__V1__ROLE__ROLE_MANAGER;
    s.active = 1;
    s.group_ids = groups;
    s.n_group_ids = 2;
    ct.seconds = 1000;
    s.create_time = &ct;
    assert_string_equal(hd_cli_field_text(buf, sizeof(buf), &s.base, "role", 0), "manager");
    assert_string_equal(hd_cli_field_text(buf, sizeof(buf), &s.base, "active", 0), "yes");
    assert_string_equal(hd_cli_field_text(buf, sizeof(buf), &s.base, "group_ids", 0), "1,3");
    assert_string_equal(
        hd_cli_field_text(buf, sizeof(buf), &s.base, "create_time", 1000 * 1000 + 3600000),
        "1h ago");
    assert_string_equal(hd_cli_field_text(buf, sizeof(buf), &s.base, "capacity", 0), "");
    assert_null(hd_cli_field_text(buf, sizeof(buf), &s.base, "no_such_field", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_uses_lower_camel_names_strings_for_64_bit_and_enum_names),
        cmocka_unit_test(json_leaves_out_defaults_and_keeps_nested_messages),
        cmocka_unit_test(json_timestamps_carry_3_6_or_9_fraction_digits),
        cmocka_unit_test(json_field_mask_is_one_string_of_camel_paths),
        cmocka_unit_test(json_replaces_invalid_utf8_so_output_stays_valid),
        cmocka_unit_test(enum_words_drop_the_prefix_and_parse_back_in_any_case),
        cmocka_unit_test(relative_times_round_down_and_fall_back_to_dates),
        cmocka_unit_test(tables_align_utf8_columns_without_trailing_blanks),
        cmocka_unit_test(colour_tables_wrap_styled_cells_in_escapes),
        cmocka_unit_test(field_text_shows_words_lists_and_relative_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
