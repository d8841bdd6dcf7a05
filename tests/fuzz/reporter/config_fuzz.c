/* Fuzz target for the reporter's INI parser: any bytes either parse into a configuration
 * that satisfies every rule (checked here independently) or fail with a "NAME:LINE:"
 * error. libFuzzer with clang, or with HD_FUZZ_DRIVER a bounded regression test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporter/config.h"
#include "reporter/cron.h"
#include "tests/fuzz/reporter/fuzz_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hd_config *c = NULL;
    hd_err err = {0};
    int rc = hd_config_parse(&c, "f", (const char *)data, size, &err);
    if (rc) {
        CHECK(c == NULL);
        CHECK(!strncmp(err.detail, "f:", 2));
        return 0;
    }
    for (size_t i = 0; i < c->n_schedules; i++) {
        hd_cron cr;
        CHECK(hd_config_find_report(c, c->schedules[i].report) != NULL);
        CHECK(hd_cron_parse(&cr, c->schedules[i].cron, &err) == 0);
        for (size_t k = 0; k < c->schedules[i].n_recipients; k++)
            CHECK(!strpbrk(c->schedules[i].recipients[k], "\r\n, "));
    }
    for (size_t i = 0; i < c->n_reports; i++)
        CHECK(c->reports[i].sections && !(c->reports[i].sections & ~HD_SECTION_ALL));
    hd_config_free(c);
    return 0;
}

#ifdef HD_FUZZ_DRIVER
int main(void)
{
    static const char *const seeds[] = {
        "[server]\ntarget = h:1\n[smtp]\nurl = smtp://h:25\nfrom = a@b.c\n[report w]\n"
        "sections = summary,sla\nperiod = last_month\ntz = Europe/Berlin\n[schedule s]\n"
        "report = w\ncron = */5 8-18 * jan-jun mon-fri\nrecipients = a@b.c, d@e.f\n",
        "[report r]\ngrouping = week\nfilter.priority = low\n; comment\n# comment\n",
        "[output]\ndir = /tmp\nretention_days = 7\n"};
    size_t runs = hd_fuzz_drive(seeds, 3, 20000);
    printf("%zu inputs, every accepted configuration kept the rules\n", runs);
    return 0;
}
#endif
