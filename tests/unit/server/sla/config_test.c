/* SLA configuration: policy matching order and conditions, and the validation messages
 * handlers turn into INVALID_ARGUMENT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/sla/config.h"

static void first_matching_policy_wins_and_empty_conditions_match_anything(void **s)
{
    (void)s;
    Helpdesk__V1__Priority urgent[] = {HELPDESK__V1__PRIORITY__PRIORITY_URGENT};
    char *billing[] = {(char *)"billing"};
    uint64_t acme[] = {77};
    Helpdesk__V1__SlaPolicy p_urgent = HELPDESK__V1__SLA_POLICY__INIT;
    Helpdesk__V1__SlaPolicy p_acme_billing = HELPDESK__V1__SLA_POLICY__INIT;
    Helpdesk__V1__SlaPolicy p_default = HELPDESK__V1__SLA_POLICY__INIT;
    p_urgent.id = 1;
    p_urgent.n_priorities = 1;
    p_urgent.priorities = urgent;
    p_acme_billing.id = 2;
    p_acme_billing.n_categories = 1;
    p_acme_billing.categories = billing;
    p_acme_billing.n_organization_ids = 1;
    p_acme_billing.organization_ids = acme;
    p_default.id = 3;
    Helpdesk__V1__SlaPolicy *ps[] = {&p_urgent, &p_acme_billing, &p_default};
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    t.priority = HELPDESK__V1__PRIORITY__PRIORITY_NORMAL;
    t.category = (char *)"billing";
    assert_ptr_equal(hd_sla_config_match(ps, 3, &t, 77), &p_acme_billing);
    assert_ptr_equal(hd_sla_config_match(ps, 3, &t, 78), &p_default);
    t.priority = HELPDESK__V1__PRIORITY__PRIORITY_URGENT;
    assert_ptr_equal(hd_sla_config_match(ps, 3, &t, 77), &p_urgent);
    assert_null(hd_sla_config_match(ps, 2, &(Helpdesk__V1__Ticket)HELPDESK__V1__TICKET__INIT, 0));
}

static void rules_default_to_pending_pause_and_80_percent_warning(void **s)
{
    (void)s;
    Helpdesk__V1__SlaTargetTime ft = HELPDESK__V1__SLA_TARGET_TIME__INIT;
    Helpdesk__V1__SlaTargetTime *fts[] = {&ft};
    ft.target = HELPDESK__V1__SLA_TARGET__SLA_TARGET_RESOLUTION;
    ft.minutes = 0;
    Helpdesk__V1__SlaPolicy p = HELPDESK__V1__SLA_POLICY__INIT;
    p.id = 9;
    p.n_targets = 1;
    p.targets = fts;
    hd_sla_rules r;
    hd_sla_config_rules(&r, &p, NULL);
    assert_int_equal(r.warning_pct, 80);
    assert_int_equal(r.pause_mask, 1u << HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING);
    assert_int_equal(r.target_min[0], -1);
    assert_int_equal(r.target_min[2], 0); /* 0 minutes is a real target */
}

static void calendar_validation_names_the_problem(void **s)
{
    (void)s;
    Helpdesk__V1__WorkingInterval iv = HELPDESK__V1__WORKING_INTERVAL__INIT;
    Helpdesk__V1__WorkingInterval *ivs[] = {&iv};
    iv.weekday = 1;
    iv.start_minute = 600;
    iv.end_minute = 540;
    Helpdesk__V1__Calendar c = HELPDESK__V1__CALENDAR__INIT;
    c.name = (char *)"Office";
    c.time_zone = (char *)"Europe/London";
    c.n_intervals = 1;
    c.intervals = ivs;
    hd_err err;
    assert_int_equal(hd_sla_config_check_calendar(&c, &err), HD_EINVAL);
    assert_non_null(strstr(err.detail, "start < end"));
    iv.end_minute = 660;
    assert_int_equal(hd_sla_config_check_calendar(&c, &err), 0);
    c.name = (char *)"";
    assert_int_equal(hd_sla_config_check_calendar(&c, &err), HD_EINVAL);
    assert_non_null(strstr(err.detail, "calendar.name"));
    hd_tz_cache_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_matching_policy_wins_and_empty_conditions_match_anything),
        cmocka_unit_test(rules_default_to_pending_pause_and_80_percent_warning),
        cmocka_unit_test(calendar_validation_names_the_problem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
