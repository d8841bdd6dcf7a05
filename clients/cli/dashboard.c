/* `helpdesk dashboard`: the live figures of GetDashboard (from the server's rollups). With
 * --watch on a terminal it redraws in place every --interval, like top; piped, it prints
 * one plain snapshot. */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clients/cli/cli.h"
#include "helpdesk/v1/tickets.pb-c.h"

#define WATCH_MAX_INTERVAL_S 3600

/* Minutes as "45m", "3h 20m", "2d 4h"; "-" for no data (-1). */
static const char *minutes_text(char *buf, size_t n, int64_t m)
{
    if (m < 0)
        snprintf(buf, n, "-");
    else if (m < 60)
        snprintf(buf, n, "%" PRId64 "m", m);
    else if (m < 1440)
        snprintf(buf, n, "%" PRId64 "h %" PRId64 "m", m / 60, m % 60);
    else
        snprintf(buf, n, "%" PRId64 "d %" PRId64 "h", m / 1440, (m % 1440) / 60);
    return buf;
}

static void counts_line(FILE *f, int color, const char *label,
                        Helpdesk__V1__DashboardCount *const *c, size_t n)
{
    fprintf(f, "%s%-12s%s", color ? "\033[1m" : "", label, color ? "\033[0m" : "");
    if (n == 0)
        fprintf(f, " -");
    for (size_t i = 0; i < n; i++) {
        char key[96];
        size_t k = 0;
        /* Keys are status/priority value names ("TICKET_STATUS_OPEN" or "OPEN"): show the
         * last word(s) in lower case, as everywhere else in the CLI. */
        const char *s = c[i]->key;
        const char *cut = strstr(s, "STATUS_");
        if (cut)
            s = cut + 7;
        else if (strncmp(s, "PRIORITY_", 9) == 0)
            s += 9;
        for (; s[k] && k + 1 < sizeof(key); k++)
            key[k] = s[k] == '_' ? '-' : (char)tolower((unsigned char)s[k]);
        key[k] = '\0';
        fprintf(f, "  %s %" PRIu64, key[0] ? key : "(none)", c[i]->count);
    }
    fputc('\n', f);
}

static void medians_line(FILE *f, const char *label, const Helpdesk__V1__DashboardMedians *t,
                         const Helpdesk__V1__DashboardMedians *w, int first)
{
    char a[32], b[32];
    int64_t tm = t ? (first ? t->first_response_minutes : t->resolution_minutes) : -1;
    int64_t wm = w ? (first ? w->first_response_minutes : w->resolution_minutes) : -1;
    uint64_t tn = t ? (first ? t->first_responses : t->resolutions) : 0;
    uint64_t wn = w ? (first ? w->first_responses : w->resolutions) : 0;
    fprintf(f, "%-24s today %s (%" PRIu64 ")   last 7 days %s (%" PRIu64 ")\n", label,
            minutes_text(a, sizeof(a), tm), tn, minutes_text(b, sizeof(b), wm), wn);
}

static void render(hd_cli *cli, FILE *f, const Helpdesk__V1__Dashboard *d)
{
    int color = hd_cli_color(cli);
    int64_t now = hd_cli_now_ms(cli);
    char when[48];
    hd_cli_rfc3339(when, sizeof(when), d->time ? d->time->seconds : now / 1000, 0);
    fprintf(f, "%sHelpdesk dashboard%s  %s  %s\n\n", color ? "\033[1m" : "", color ? "\033[0m" : "",
            hd_cli_server(cli), when);
    fprintf(f,
            "open %" PRIu64 "   unassigned %" PRIu64 "   created today %" PRIu64
            "   solved today %" PRIu64 "\n",
            d->open, d->unassigned, d->created_today, d->solved_today);
    medians_line(f, "first response (median)", d->today, d->last_7_days, 1);
    medians_line(f, "resolution (median)", d->today, d->last_7_days, 0);
    fputc('\n', f);
    counts_line(f, color, "by status", d->by_status, d->n_by_status);
    counts_line(f, color, "by priority", d->by_priority, d->n_by_priority);
    counts_line(f, color, "by category", d->by_category, d->n_by_category);
    fprintf(f, "%s%-12s%s", color ? "\033[1m" : "", "agent load", color ? "\033[0m" : "");
    if (d->n_agent_load == 0)
        fprintf(f, " -");
    for (size_t i = 0; i < d->n_agent_load; i++)
        fprintf(f, "  staff %" PRIu64 ": %" PRIu64, d->agent_load[i]->staff_id,
                d->agent_load[i]->open);
    fprintf(f, "\n\n%srecent activity%s\n", color ? "\033[1m" : "", color ? "\033[0m" : "");
    if (d->n_recent_activity == 0)
        fprintf(f, "  -\n");
    for (size_t i = 0; i < d->n_recent_activity; i++) {
        const Helpdesk__V1__TicketEvent *e = d->recent_activity[i];
        char kind[48], rel[40], actor[32] = "system";
        hd_cli_enum_word(kind, sizeof(kind), &helpdesk__v1__ticket_event_kind__descriptor, e->kind);
        if (e->actor)
            hd_cli_enum_word(actor, sizeof(actor), &helpdesk__v1__actor_kind__descriptor,
                             e->actor->kind);
        int64_t ms = e->time ? e->time->seconds * 1000 + e->time->nanos / 1000000 : 0;
        fprintf(f, "  %-10s ticket %-6" PRIu64 " %-16s by %s %" PRIu64 "\n",
                hd_cli_reltime(rel, sizeof(rel), ms, now), e->ticket_id, kind, actor,
                e->actor ? e->actor->id : 0);
    }
}

static int fetch(hd_cli *cli, Helpdesk__V1__Dashboard **out)
{
    Helpdesk__V1__GetDashboardRequest req = HELPDESK__V1__GET_DASHBOARD_REQUEST__INIT;
    ProtobufCMessage *m;
    int rc = hd_cli_call(cli, "/helpdesk.v1.TicketService/GetDashboard", &req.base,
                         &helpdesk__v1__dashboard__descriptor, &m);
    *out = (Helpdesk__V1__Dashboard *)m;
    return rc;
}

static const hd_cli_opt dash_opts[] = {
    {"watch", NULL, "redraw in place on a terminal until Ctrl-C (piped: one snapshot)"},
    {"interval", "SECONDS", "seconds between redraws with --watch (default 2)"},
    {0},
};

static int dashboard_run(hd_cli *cli, const hd_cli_args *a)
{
    uint64_t interval;
    Helpdesk__V1__Dashboard *d;
    int rc = hd_cli_arg_u64(cli, a, "interval", 2, &interval);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (interval < 1 || interval > WATCH_MAX_INTERVAL_S)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--interval: want 1 to %d seconds",
                           WATCH_MAX_INTERVAL_S);
    int watch = hd_cli_flag(a, "watch") && isatty(STDOUT_FILENO) && !hd_cli_json(cli);
    for (uint64_t frame = 1;; frame++) {
        rc = fetch(cli, &d);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        if (hd_cli_print_json(cli, &d->base))
            return HD_CLI_EXIT_OK;
        if (hd_cli_quiet(cli)) {
            printf("%" PRIu64 "\n", d->open);
            return HD_CLI_EXIT_OK;
        }
        if (!watch) {
            render(cli, stdout, d);
            return HD_CLI_EXIT_OK;
        }
        /* Build the frame first, then home the cursor, draw and clear what is left below,
         * so the screen never flashes blank. */
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);
        if (!mem)
            return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
        render(cli, mem, d);
        fprintf(mem, "\nrefresh %" PRIu64 ", every %" PRIu64 "s; Ctrl-C to quit\n", frame,
                interval);
        fclose(mem);
        fputs("\033[H", stdout);
        for (char *line = buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
            nl = strchr(line, '\n');
            fwrite(line, 1, nl ? (size_t)(nl - line) : strlen(line), stdout);
            fputs("\033[K\n", stdout);
        }
        fputs("\033[J", stdout);
        fflush(stdout);
        free(buf);
        hd_arena_reset(hd_cli_arena(cli));
        struct timespec ts = {(time_t)interval, 0};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
}

static const hd_cli_cmd dashboard_cmds[] = {
    {"", "Live figures: open, unassigned, medians, counts, agent load, recent activity",
     "[--watch] [--interval SECONDS]", dash_opts, "helpdesk dashboard --watch --interval 5",
     dashboard_run, 0, 0},
    {0},
};

HD_CLI_GROUP(dashboard, "Live figures of the helpdesk (--watch refreshes in place)", dashboard_cmds)
