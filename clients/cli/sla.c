/* `helpdesk sla ...`: business-hours calendars, SLA policies, breaches, a ticket's clocks
 * and due-time previews (SlaService). Calendars and policies are written from flags:
 *
 *     helpdesk sla calendar put --name Office --tz Europe/London \
 *         --hours "mon-fri 09:00-12:00,13:00-17:30" --holiday 2026-12-25 --holiday 01-01
 *     helpdesk sla policy put --name Urgent --rank 0 --calendar 1 --priority urgent \
 *         --first-response 30 --resolution 480 --escalate-group 7 --webhook https://...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/cli/cli.h"
#include "helpdesk/v1/sla.pb-c.h"

#define SVC "/helpdesk.v1.SlaService/"

static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static int day_of(const char *s, size_t n)
{
    for (int d = 0; d < 7; d++)
        if (n == 3 && strncmp(s, days[d], 3) == 0)
            return d;
    return -1;
}

/* Parses "mon-fri 09:00-12:00,13:00-17:30" (or "sat 10:00-14:00") and appends intervals
 * to c in arena memory. Returns 0, or -1 on a syntax error. */
static int parse_hours(hd_arena *a, const char *spec, Helpdesk__V1__Calendar *c)
{
    const char *sp = strchr(spec, ' ');
    if (!sp)
        return -1;
    const char *dash = memchr(spec, '-', (size_t)(sp - spec));
    int d0 = day_of(spec, dash ? (size_t)(dash - spec) : (size_t)(sp - spec));
    int d1 = dash ? day_of(dash + 1, (size_t)(sp - dash - 1)) : d0;
    if (d0 < 0 || d1 < 0)
        return -1;
    for (const char *p = sp + 1; *p;) {
        int h0, m0, h1, m1, used = 0;
        if (sscanf(p, "%2d:%2d-%2d:%2d%n", &h0, &m0, &h1, &m1, &used) != 4 || used == 0)
            return -1;
        p += used;
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
        for (int d = d0;; d = (d + 1) % 7) {
            Helpdesk__V1__WorkingInterval *iv = hd_arena_alloc(a, sizeof(*iv));
            Helpdesk__V1__WorkingInterval **v = hd_arena_calloc(a, c->n_intervals + 1, sizeof(*v));
            if (!iv || !v)
                return -1;
            helpdesk__v1__working_interval__init(iv);
            iv->weekday = d;
            iv->start_minute = h0 * 60 + m0;
            iv->end_minute = h1 * 60 + m1;
            if (c->n_intervals)
                memcpy(v, c->intervals, c->n_intervals * sizeof(*v));
            v[c->n_intervals++] = iv;
            c->intervals = v;
            if (d == d1)
                break;
        }
    }
    return 0;
}

/* Parses YYYY-MM-DD or MM-DD (every year) into a Holiday in arena memory (NULL on error). */
static Helpdesk__V1__Holiday *parse_holiday(hd_arena *a, const char *s)
{
    Helpdesk__V1__Holiday *h = hd_arena_alloc(a, sizeof(*h));
    int y = 0, m = 0, d = 0, used = 0;
    if (!h)
        return NULL;
    helpdesk__v1__holiday__init(h);
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) == 3 && s[used] == '\0') {
        h->year = y;
    } else if (sscanf(s, "%2d-%2d%n", &m, &d, &used) == 2 && s[used] == '\0') {
        h->year = 0;
    } else {
        return NULL;
    }
    h->month = m;
    h->day = d;
    return h;
}

/* --- calendar ------------------------------------------------------------------------ */

static int calendar_put(hd_cli *cli, const hd_cli_args *a)
{
    hd_arena *ar = hd_cli_arena(cli);
    Helpdesk__V1__Calendar c = HELPDESK__V1__CALENDAR__INIT;
    Helpdesk__V1__PutCalendarRequest req = HELPDESK__V1__PUT_CALENDAR_REQUEST__INIT;
    ProtobufCMessage *resp;
    size_t n;
    uint64_t id = 0;
    int rc = hd_cli_arg_u64(cli, a, "id", 0, &id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    c.id = id;
    c.name = (char *)hd_cli_arg(a, "name");
    c.time_zone = (char *)hd_cli_arg(a, "tz");
    if (!c.name || !c.time_zone)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "calendar put: --name and --tz are required");
    const char *const *hours = hd_cli_arg_list(a, "hours", &n);
    for (size_t i = 0; i < n; i++)
        if (parse_hours(ar, hours[i], &c) < 0)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                               "--hours \"%s\": want e.g. \"mon-fri 09:00-12:00,13:00-17:00\"",
                               hours[i]);
    const char *const *hol = hd_cli_arg_list(a, "holiday", &n);
    c.holidays = hd_arena_calloc(ar, n ? n : 1, sizeof(*c.holidays));
    for (size_t i = 0; c.holidays && i < n; i++) {
        c.holidays[i] = parse_holiday(ar, hol[i]);
        if (!c.holidays[i])
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                               "--holiday \"%s\": want YYYY-MM-DD or MM-DD (every year)", hol[i]);
        c.n_holidays++;
    }
    req.calendar = &c;
    rc = hd_cli_call(cli, SVC "PutCalendar", &req.base, &helpdesk__v1__calendar__descriptor, &resp);
    return rc != HD_CLI_EXIT_OK ? rc : hd_cli_print_message(cli, resp, "id");
}

static int calendar_cmd(hd_cli *cli, const hd_cli_args *a)
{
    const char *verb = hd_cli_pos(a, 0);
    ProtobufCMessage *resp;
    int rc;
    if (strcmp(verb, "put") == 0)
        return calendar_put(cli, a);
    if (strcmp(verb, "list") == 0) {
        Helpdesk__V1__ListCalendarsRequest req = HELPDESK__V1__LIST_CALENDARS_REQUEST__INIT;
        rc = hd_cli_call(cli, SVC "ListCalendars", &req.base,
                         &helpdesk__v1__list_calendars_response__descriptor, &resp);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        Helpdesk__V1__ListCalendarsResponse *r = (Helpdesk__V1__ListCalendarsResponse *)resp;
        static const char *const cols[] = {"id", "name", "time_zone"};
        return hd_cli_print_list(cli, resp, (const ProtobufCMessage *const *)r->calendars,
                                 r->n_calendars, cols, 3, "id");
    }
    if ((strcmp(verb, "get") == 0 || strcmp(verb, "delete") == 0) && hd_cli_npos(a) == 2) {
        uint64_t id = strtoull(hd_cli_pos(a, 1), NULL, 10);
        if (verb[0] == 'g') {
            Helpdesk__V1__GetCalendarRequest req = HELPDESK__V1__GET_CALENDAR_REQUEST__INIT;
            req.id = id;
            rc = hd_cli_call(cli, SVC "GetCalendar", &req.base, &helpdesk__v1__calendar__descriptor,
                             &resp);
            if (rc == HD_CLI_EXIT_OK && !hd_cli_print_json(cli, resp))
                hd_cli_json_print(stdout, resp); /* intervals and holidays read best as JSON */
            return rc;
        }
        Helpdesk__V1__DeleteCalendarRequest req = HELPDESK__V1__DELETE_CALENDAR_REQUEST__INIT;
        req.id = id;
        return hd_cli_call(cli, SVC "DeleteCalendar", &req.base,
                           &helpdesk__v1__delete_calendar_response__descriptor, &resp);
    }
    return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "sla calendar: list | get ID | put ... | delete ID");
}

/* --- policy -------------------------------------------------------------------------- */

/* Appends a target if flag `name` is given. Returns an exit code. */
static int add_target(hd_cli *cli, const hd_cli_args *a, const char *name, int target,
                      Helpdesk__V1__SlaPolicy *p)
{
    const char *v = hd_cli_arg(a, name);
    if (!v)
        return HD_CLI_EXIT_OK;
    char *end = NULL;
    long m = strtol(v, &end, 10);
    if (!end || *end)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--%s: minutes as a number", name);
    Helpdesk__V1__SlaTargetTime *t = hd_arena_alloc(hd_cli_arena(cli), sizeof(*t));
    if (!t)
        return HD_CLI_EXIT_INTERNAL;
    helpdesk__v1__sla_target_time__init(t);
    t->target = (Helpdesk__V1__SlaTarget)target;
    t->minutes = (int32_t)m; /* the server refuses negative ones */
    p->targets[p->n_targets++] = t;
    return HD_CLI_EXIT_OK;
}

static Helpdesk__V1__SlaAction *new_action(hd_cli *cli, Helpdesk__V1__SlaPolicy *p, int kind,
                                           int on_warning)
{
    Helpdesk__V1__SlaAction *x = hd_arena_alloc(hd_cli_arena(cli), sizeof(*x));
    if (!x)
        return NULL;
    helpdesk__v1__sla_action__init(x);
    x->kind = (Helpdesk__V1__SlaActionKind)kind;
    x->on_breach = 1;
    x->on_warning = on_warning;
    p->actions[p->n_actions++] = x;
    return x;
}

static int policy_put(hd_cli *cli, const hd_cli_args *a)
{
    hd_arena *ar = hd_cli_arena(cli);
    Helpdesk__V1__SlaPolicy p = HELPDESK__V1__SLA_POLICY__INIT;
    Helpdesk__V1__PutPolicyRequest req = HELPDESK__V1__PUT_POLICY_REQUEST__INIT;
    ProtobufCMessage *resp;
    uint64_t v = 0;
    size_t n;
    int rc = hd_cli_arg_u64(cli, a, "id", 0, &v);
    p.id = v;
    if (rc == HD_CLI_EXIT_OK)
        rc = hd_cli_arg_u64(cli, a, "calendar", 0, &p.calendar_id);
    if (rc == HD_CLI_EXIT_OK)
        rc = hd_cli_arg_u64(cli, a, "rank", 0, &v);
    p.rank = (int32_t)v;
    if (rc == HD_CLI_EXIT_OK)
        rc = hd_cli_arg_u64(cli, a, "warning", 0, &v);
    p.warning_percent = (int32_t)v;
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    p.name = (char *)hd_cli_arg(a, "name");
    if (!p.name || !p.calendar_id)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "policy put: --name and --calendar required");
    p.targets = hd_arena_calloc(ar, 3, sizeof(*p.targets));
    p.actions = hd_arena_calloc(ar, 4, sizeof(*p.actions));
    if (!p.targets || !p.actions)
        return HD_CLI_EXIT_INTERNAL;
    if ((rc = add_target(cli, a, "first-response", 1, &p)) != HD_CLI_EXIT_OK ||
        (rc = add_target(cli, a, "next-response", 2, &p)) != HD_CLI_EXIT_OK ||
        (rc = add_target(cli, a, "resolution", 3, &p)) != HD_CLI_EXIT_OK)
        return rc;
    /* Conditions: enum words for priorities, channels and pause statuses. */
    const char *const *w = hd_cli_arg_list(a, "priority", &n);
    p.priorities = hd_arena_calloc(ar, n ? n : 1, sizeof(*p.priorities));
    for (size_t i = 0; p.priorities && i < n; i++) {
        int e;
        if (hd_cli_enum_parse(&helpdesk__v1__priority__descriptor, w[i], &e) < 0)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--priority %s: unknown", w[i]);
        p.priorities[p.n_priorities++] = (Helpdesk__V1__Priority)e;
    }
    w = hd_cli_arg_list(a, "channel", &n);
    p.channels = hd_arena_calloc(ar, n ? n : 1, sizeof(*p.channels));
    for (size_t i = 0; p.channels && i < n; i++) {
        int e;
        if (hd_cli_enum_parse(&helpdesk__v1__channel__descriptor, w[i], &e) < 0)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--channel %s: unknown", w[i]);
        p.channels[p.n_channels++] = (Helpdesk__V1__Channel)e;
    }
    w = hd_cli_arg_list(a, "pause", &n);
    p.pause_statuses = hd_arena_calloc(ar, n ? n : 1, sizeof(*p.pause_statuses));
    for (size_t i = 0; p.pause_statuses && i < n; i++) {
        int e;
        if (hd_cli_enum_parse(&helpdesk__v1__ticket_status__descriptor, w[i], &e) < 0)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--pause %s: unknown status", w[i]);
        p.pause_statuses[p.n_pause_statuses++] = (Helpdesk__V1__TicketStatus)e;
    }
    w = hd_cli_arg_list(a, "category", &n);
    p.categories = (char **)w;
    p.n_categories = n;
    w = hd_cli_arg_list(a, "org", &n);
    p.organization_ids = hd_arena_calloc(ar, n ? n : 1, sizeof(uint64_t));
    for (size_t i = 0; p.organization_ids && i < n; i++)
        p.organization_ids[p.n_organization_ids++] = strtoull(w[i], NULL, 10);
    /* Actions, on breach (and on warning with --on-warning). */
    int warn = hd_cli_flag(a, "on-warning");
    uint64_t group = 0;
    rc = hd_cli_arg_u64(cli, a, "escalate-group", 0, &group);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    Helpdesk__V1__SlaAction *x;
    if (group && (x = new_action(cli, &p, 1, warn)) != NULL)
        x->escalate_group_id = group;
    if (hd_cli_flag(a, "raise-priority"))
        new_action(cli, &p, 2, warn);
    if (hd_cli_arg(a, "email") && (x = new_action(cli, &p, 3, warn)) != NULL)
        x->email_to = (char *)hd_cli_arg(a, "email");
    if (hd_cli_arg(a, "webhook") && (x = new_action(cli, &p, 4, warn)) != NULL)
        x->webhook_url = (char *)hd_cli_arg(a, "webhook");
    req.policy = &p;
    rc = hd_cli_call(cli, SVC "PutPolicy", &req.base, &helpdesk__v1__sla_policy__descriptor, &resp);
    return rc != HD_CLI_EXIT_OK ? rc : hd_cli_print_message(cli, resp, "id");
}

static int policy_cmd(hd_cli *cli, const hd_cli_args *a)
{
    const char *verb = hd_cli_pos(a, 0);
    ProtobufCMessage *resp;
    int rc;
    if (strcmp(verb, "put") == 0)
        return policy_put(cli, a);
    if (strcmp(verb, "list") == 0) {
        Helpdesk__V1__ListPoliciesRequest req = HELPDESK__V1__LIST_POLICIES_REQUEST__INIT;
        rc = hd_cli_call(cli, SVC "ListPolicies", &req.base,
                         &helpdesk__v1__list_policies_response__descriptor, &resp);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        Helpdesk__V1__ListPoliciesResponse *r = (Helpdesk__V1__ListPoliciesResponse *)resp;
        static const char *const cols[] = {"id", "rank", "name", "calendar_id"};
        return hd_cli_print_list(cli, resp, (const ProtobufCMessage *const *)r->policies,
                                 r->n_policies, cols, 4, "id");
    }
    if ((strcmp(verb, "get") == 0 || strcmp(verb, "delete") == 0) && hd_cli_npos(a) == 2) {
        uint64_t id = strtoull(hd_cli_pos(a, 1), NULL, 10);
        if (verb[0] == 'g') {
            Helpdesk__V1__GetPolicyRequest req = HELPDESK__V1__GET_POLICY_REQUEST__INIT;
            req.id = id;
            rc = hd_cli_call(cli, SVC "GetPolicy", &req.base, &helpdesk__v1__sla_policy__descriptor,
                             &resp);
            if (rc == HD_CLI_EXIT_OK && !hd_cli_print_json(cli, resp))
                hd_cli_json_print(stdout, resp);
            return rc;
        }
        Helpdesk__V1__DeletePolicyRequest req = HELPDESK__V1__DELETE_POLICY_REQUEST__INIT;
        req.id = id;
        return hd_cli_call(cli, SVC "DeletePolicy", &req.base,
                           &helpdesk__v1__delete_policy_response__descriptor, &resp);
    }
    return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "sla policy: list | get ID | put ... | delete ID");
}

/* --- breaches, ticket, preview ------------------------------------------------------- */

static int breaches_cmd(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__ListBreachesRequest req = HELPDESK__V1__LIST_BREACHES_REQUEST__INIT;
    Google__Protobuf__Timestamp from = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Timestamp to = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ProtobufCMessage *resp;
    uint64_t v = 0;
    int rc = hd_cli_arg_u64(cli, a, "group", 0, &req.group_id);
    if (rc == HD_CLI_EXIT_OK && hd_cli_arg(a, "since-hours")) {
        rc = hd_cli_arg_u64(cli, a, "since-hours", 0, &v);
        from.seconds = hd_cli_now_ms(cli) / 1000 - (int64_t)v * 3600;
        req.start_time = &from;
    }
    if (rc == HD_CLI_EXIT_OK && hd_cli_arg(a, "until")) {
        rc = hd_cli_arg_u64(cli, a, "until", 0, &v);
        to.seconds = (int64_t)v;
        req.end_time = &to;
    }
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.include_warnings = hd_cli_flag(a, "warnings");
    rc = hd_cli_call(cli, SVC "ListBreaches", &req.base,
                     &helpdesk__v1__list_breaches_response__descriptor, &resp);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    Helpdesk__V1__ListBreachesResponse *r = (Helpdesk__V1__ListBreachesResponse *)resp;
    static const char *const cols[] = {"time", "ticket_id", "target", "kind", "group_id"};
    return hd_cli_print_list(cli, resp, (const ProtobufCMessage *const *)r->breaches, r->n_breaches,
                             cols, 5, "ticket_id");
}

static int ticket_cmd(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__GetTicketSlaRequest req = HELPDESK__V1__GET_TICKET_SLA_REQUEST__INIT;
    ProtobufCMessage *resp;
    req.ticket_id = strtoull(hd_cli_pos(a, 0), NULL, 10);
    int rc = hd_cli_call(cli, SVC "GetTicketSla", &req.base, &helpdesk__v1__ticket_sla__descriptor,
                         &resp);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    Helpdesk__V1__TicketSla *t = (Helpdesk__V1__TicketSla *)resp;
    static const char *const cols[] = {"target",   "state",           "target_minutes",
                                       "due_time", "elapsed_seconds", "taken_seconds"};
    return hd_cli_print_list(cli, resp, (const ProtobufCMessage *const *)t->clocks, t->n_clocks,
                             cols, 6, "target");
}

static int preview_cmd(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__PreviewDueRequest req = HELPDESK__V1__PREVIEW_DUE_REQUEST__INIT;
    Google__Protobuf__Timestamp start = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ProtobufCMessage *resp;
    uint64_t v = 0;
    int rc = hd_cli_arg_u64(cli, a, "calendar", 0, &req.calendar_id);
    if (rc == HD_CLI_EXIT_OK)
        rc = hd_cli_arg_u64(cli, a, "minutes", 0, &v);
    req.minutes = (int32_t)v;
    if (rc == HD_CLI_EXIT_OK)
        rc = hd_cli_arg_u64(cli, a, "start", (uint64_t)(hd_cli_now_ms(cli) / 1000), &v);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    start.seconds = (int64_t)v;
    req.start_time = &start;
    rc = hd_cli_call(cli, SVC "PreviewDue", &req.base,
                     &helpdesk__v1__preview_due_response__descriptor, &resp);
    return rc != HD_CLI_EXIT_OK ? rc : hd_cli_print_message(cli, resp, "due_time");
}

static const hd_cli_opt calendar_opts[] = {
    {"id", "ID", "replace calendar ID (put)"},
    {"name", "NAME", "display name (put)"},
    {"tz", "ZONE", "IANA time zone, e.g. Europe/London (put)"},
    {"hours", "SPEC", "\"mon-fri 09:00-12:00,13:00-17:00\"; repeatable (put)"},
    {"holiday", "DATE", "YYYY-MM-DD, or MM-DD every year; repeatable (put)"},
    {0},
};

static const hd_cli_opt policy_opts[] = {
    {"id", "ID", "replace policy ID (put)"},
    {"name", "NAME", "display name"},
    {"rank", "N", "matching order, lower first"},
    {"calendar", "ID", "calendar the targets count in"},
    {"first-response", "MIN", "first response target, business minutes"},
    {"next-response", "MIN", "next response target"},
    {"resolution", "MIN", "resolution target"},
    {"warning", "PCT", "warn at this % elapsed (default 80)"},
    {"priority", "P", "match priority; repeatable"},
    {"category", "C", "match category; repeatable"},
    {"channel", "CH", "match channel; repeatable"},
    {"org", "ID", "match organization; repeatable"},
    {"pause", "STATUS", "status that pauses the clocks; repeatable (default pending)"},
    {"escalate-group", "ID", "on breach assign to group ID"},
    {"raise-priority", NULL, "on breach raise the priority one step"},
    {"email", "ADDR", "on breach email ADDR"},
    {"webhook", "URL", "on breach POST Slack-style JSON to URL"},
    {"on-warning", NULL, "run the actions on the warning too"},
    {0},
};

static const hd_cli_opt breaches_opts[] = {
    {"since-hours", "H", "only the last H hours"},
    {"until", "UNIX", "only before this Unix time"},
    {"group", "ID", "only group ID"},
    {"warnings", NULL, "include warnings"},
    {0},
};

static const hd_cli_opt preview_opts[] = {
    {"calendar", "ID", "calendar to count in"},
    {"minutes", "MIN", "business minutes"},
    {"start", "UNIX", "start instant (default now)"},
    {0},
};

static const hd_cli_cmd sla_cmds[] = {
    {"calendar", "Business-hours calendars", "list | get ID | put --name N --tz Z ... | delete ID",
     calendar_opts,
     "helpdesk sla calendar put --name Office --tz Europe/London --hours \"mon-fri "
     "09:00-17:00\" --holiday 12-25",
     calendar_cmd, 1, 2},
    {"policy", "SLA policies", "list | get ID | put --name N --calendar ID ... | delete ID",
     policy_opts,
     "helpdesk sla policy put --name Urgent --calendar 1 --priority urgent --first-response 30 "
     "--escalate-group 7",
     policy_cmd, 1, 2},
    {"breaches", "Recorded SLA breaches", "[--since-hours H] [--group ID] [--warnings]",
     breaches_opts, "helpdesk sla breaches --since-hours 24 --group 3", breaches_cmd, 0, 0},
    {"ticket", "A ticket's SLA clocks", "TICKET_ID", NULL, "helpdesk sla ticket 42", ticket_cmd, 1,
     1},
    {"preview", "When a target would be due", "--calendar ID --minutes MIN [--start UNIX]",
     preview_opts, "helpdesk sla preview --calendar 1 --minutes 240", preview_cmd, 0, 0},
    {0},
};

HD_CLI_GROUP(sla, "SLA calendars, policies, breaches and ticket clocks", sla_cmds);
