/* Reporter configuration: a full valid file, defaults, and line-numbered errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "reporter/config.h"

static const char good[] = "# weekly reports for the managers\n"
                           "[server]\n"
                           "target = 127.0.0.1:7443\n"
                           "token_file = /etc/helpdesk/reporter.token\n"
                           "\n"
                           "[smtp]\n"
                           "url = smtp://127.0.0.1:2525\n"
                           "from = reports@example.com\n"
                           "retries = 5\n"
                           "[output]\n"
                           "dir = /var/lib/helpdesk-reporter\n"
                           "retention_days = 90\n"
                           "[report weekly]\n"
                           "title = Weekly operations\n"
                           "sections = summary, volume, sla, breaches\n"
                           "period = last_week\n"
                           "grouping = day\n"
                           "tz = Europe/Berlin\n"
                           "filter.priority = urgent\n"
                           "[schedule monday]\n"
                           "report = weekly\n"
                           "cron = 0 8 * * mon\n"
                           "tz = Europe/Berlin\n"
                           "formats = xlsx, csv\n"
                           "recipients = ann@example.com, bob@example.com\n";

static hd_config *parse(const char *text, int want, hd_err *err)
{
    hd_config *c = NULL;
    int rc = hd_config_parse(&c, "r.ini", text, strlen(text), err);
    if (rc != want)
        fail_msg("rc %d (want %d): %s", rc, want, err->detail);
    return c;
}

static void full_file_parses_into_reports_schedules_and_settings(void **state)
{
    (void)state;
    hd_err err;
    hd_config *c = parse(good, 0, &err);
    assert_string_equal(c->target, "127.0.0.1:7443");
    assert_int_equal(c->smtp_retries, 5);
    assert_int_equal(c->retention_days, 90);
    assert_string_equal(c->state_file, "/var/lib/helpdesk-reporter/state");
    assert_int_equal(c->n_reports, 1);
    const hd_config_report *r = hd_config_find_report(c, "weekly");
    assert_non_null(r);
    assert_string_equal(r->title, "Weekly operations");
    assert_int_equal(r->sections,
                     HD_SECTION_SUMMARY | HD_SECTION_VOLUME | HD_SECTION_SLA | HD_SECTION_BREACHES);
    assert_int_equal(r->priority, 1);
    assert_string_equal(r->tz, "Europe/Berlin");
    assert_int_equal(c->n_schedules, 1);
    assert_int_equal(c->schedules[0].formats, HD_FORMAT_XLSX | HD_FORMAT_CSV);
    assert_int_equal(c->schedules[0].n_recipients, 2);
    assert_string_equal(c->schedules[0].recipients[1], "bob@example.com");
    assert_int_equal(c->schedules[0].line, 20);
    hd_config_free(c);
}

static void defaults_apply_when_keys_are_missing(void **state)
{
    (void)state;
    hd_err err;
    hd_config *c = parse("[report r]\n", 0, &err);
    assert_string_equal(c->target, "127.0.0.1:7070");
    assert_int_equal(c->reports[0].sections, HD_SECTION_ALL);
    assert_int_equal(c->reports[0].period, HD_PERIOD_LAST_WEEK);
    assert_string_equal(c->reports[0].tz, "UTC");
    hd_config_free(c);
}

static void each_mistake_names_its_line(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"[report r]\nsections = summary,charts\n", "r.ini:2: unknown section"},
        {"[report r]\n\nperiod = fortnight\n", "r.ini:3: period must be"},
        {"[report r]\ntz = Mars/Base\n", "r.ini:2: unknown time zone"},
        {"[report r]\ncolour = red\n", "r.ini:2: unknown key in [report]"},
        {"key = value\n", "r.ini:1: key outside a section"},
        {"[report r]\n[schedule s]\nreport = r\ncron = 61 * * * *\n", "r.ini:4: cron minute"},
        {"[schedule s]\ncron = 0 8 * * 1\nreport = nope\n", "r.ini:1: schedule names an unknown"},
        {"[report r]\n[schedule s]\nreport = r\ncron = 0 8 * * 1\nrecipients = a@b.c\n",
         "r.ini:2: schedule has recipients but [smtp]"},
        {"[report r]\n[schedule s]\nrecipients = a@b.c, not an address\n",
         "r.ini:3: recipients must be"},
        {"[report r]\n[schedule s]\nrecipients = a@b.c\r\nX: y@z.c\n", "r.ini:4: expected key"},
        {"[smtp]\nurl = http://x\n", "r.ini:2: url must start"},
        {"[smtp]\nretries = 99\n", "r.ini:2: bad number"},
        {"[report r]\n[report r]\n", "r.ini:2: duplicate report"},
        {"[reports r]\n", "r.ini:1: unknown section"},
        {"[report]\n", "r.ini:1: section needs a name"},
        {"[report a b]\n", "r.ini:1: expected a name"},
        {"[report r\n", "r.ini:1: expected [section]"},
        {"[report r]\ntitle = bad \xFF\n", "r.ini:2: not UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hd_err err = {0};
        hd_config *c = parse(cases[i].text, HD_EINVAL, &err);
        assert_null(c);
        if (strncmp(err.detail, cases[i].want, strlen(cases[i].want)))
            fail_msg("case %zu: got \"%s\", want prefix \"%s\"", i, err.detail, cases[i].want);
    }
}

static void section_names_round_trip(void **state)
{
    (void)state;
    assert_int_equal(hd_config_sections("all"), HD_SECTION_ALL);
    assert_int_equal(hd_config_sections("heatmap, csat"), HD_SECTION_HEATMAP | HD_SECTION_CSAT);
    assert_int_equal(hd_config_sections("nope"), 0);
    assert_string_equal(hd_config_section_name(HD_SECTION_BREACHES), "breaches");
    assert_null(hd_config_section_name(3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_file_parses_into_reports_schedules_and_settings),
        cmocka_unit_test(defaults_apply_when_keys_are_missing),
        cmocka_unit_test(each_mistake_names_its_line),
        cmocka_unit_test(section_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
