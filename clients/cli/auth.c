/* `helpdesk login`, `logout`, `whoami`: a staff password login whose session token goes
 * to the config file (mode 0600), its revocation, and who the current token speaks for. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "clients/cli/cli.h"
#include "helpdesk/v1/auth.pb-c.h"
#include "helpdesk/v1/staff.pb-c.h"

#define LINE_MAX_LEN 1024

/* Reads one line from stdin without its newline into buf; echo off when hide and stdin is
 * a terminal. Returns 0, or -1 at end of input. */
static int read_line(const char *prompt, int hide, char *buf, size_t n)
{
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    int restore = 0;
    if (tty && prompt) {
        fprintf(stderr, "%s", prompt);
        fflush(stderr);
    }
    if (tty && hide && tcgetattr(STDIN_FILENO, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
    char *got = fgets(buf, (int)n, stdin);
    if (restore) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (!got)
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static const hd_cli_opt login_opts[] = {
    {"email", "EMAIL", "staff login email (asked for on a terminal when missing)"},
    {"password-stdin", NULL, "read the password from the first line of stdin"},
    {0},
};

static int login_run(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__LoginRequest req = HELPDESK__V1__LOGIN_REQUEST__INIT;
    char email[LINE_MAX_LEN], password[LINE_MAX_LEN];
    int rc;
    hd_err err;
    const char *e = hd_cli_arg(a, "email");
    if (e) {
        snprintf(email, sizeof(email), "%s", e);
    } else if (!isatty(STDIN_FILENO) || read_line("Email: ", 0, email, sizeof(email)) != 0) {
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--email is required when stdin is no terminal");
    }
    if (!hd_cli_flag(a, "password-stdin") && !isatty(STDIN_FILENO))
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                           "stdin is no terminal: pass the password with --password-stdin");
    if (read_line("Password: ", 1, password, sizeof(password)) != 0 || !password[0])
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "no password given");
    req.email = email;
    req.password = password;
    hd_cli_set_token(cli, NULL); /* a stale token must not stand in the way of a login */
    ProtobufCMessage *m;
    rc = hd_cli_call(cli, "/helpdesk.v1.AuthService/Login", &req.base,
                     &helpdesk__v1__login_response__descriptor, &m);
    explicit_bzero(password, sizeof(password));
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    const Helpdesk__V1__LoginResponse *r = (const Helpdesk__V1__LoginResponse *)m;
    hd_cli_config *cfg = hd_cli_settings(cli);
    if (hd_cli_config_set(&cfg->server, hd_cli_server(cli)) != HD_OK ||
        hd_cli_config_set(&cfg->token, r->token) != HD_OK ||
        hd_cli_config_set(&cfg->user, email) != HD_OK)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    cfg->staff_id = r->info ? r->info->principal_id : 0;
    cfg->token_id = r->info ? r->info->id : 0;
    hd_err_clear(&err);
    if (hd_cli_config_save(cfg, hd_cli_config_file(cli), &err) != HD_OK)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "saving %s: %s", hd_cli_config_file(cli),
                           err.detail);
    if (hd_cli_json(cli)) {
        /* The token went to the config file; JSON shows the record without the secret. */
        if (r->info)
            hd_cli_print_json(cli, &r->info->base);
        return HD_CLI_EXIT_OK;
    }
    if (hd_cli_quiet(cli)) {
        printf("%" PRIu64 "\n", cfg->staff_id);
        return HD_CLI_EXIT_OK;
    }
    printf("logged in as %s (staff %" PRIu64 ") on %s; token saved to %s\n", email, cfg->staff_id,
           hd_cli_server(cli), hd_cli_config_file(cli));
    return HD_CLI_EXIT_OK;
}

static int logout_run(hd_cli *cli, const hd_cli_args *a)
{
    (void)a;
    hd_cli_config *cfg = hd_cli_settings(cli);
    hd_err err;
    if (!cfg->token) {
        if (!hd_cli_quiet(cli) && !hd_cli_json(cli))
            printf("not logged in (no token in %s)\n", hd_cli_config_file(cli));
        return HD_CLI_EXIT_OK;
    }
    hd_cli_set_token(cli, cfg->token);
    Helpdesk__V1__LogoutRequest req = HELPDESK__V1__LOGOUT_REQUEST__INIT;
    req.token_id = cfg->token_id;
    ProtobufCMessage *m;
    int rc = hd_cli_call(cli, "/helpdesk.v1.AuthService/Logout", &req.base,
                         &helpdesk__v1__logout_response__descriptor, &m);
    /* A token the server no longer accepts is as good as revoked: forget it anyway. */
    if (rc != HD_CLI_EXIT_OK && rc != HD_CLI_EXIT_DENIED)
        return rc;
    hd_cli_config_set(&cfg->token, NULL);
    hd_cli_config_set(&cfg->user, NULL);
    cfg->staff_id = 0;
    cfg->token_id = 0;
    hd_err_clear(&err);
    if (hd_cli_config_save(cfg, hd_cli_config_file(cli), &err) != HD_OK)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "saving %s: %s", hd_cli_config_file(cli),
                           err.detail);
    if (!hd_cli_quiet(cli) && !hd_cli_json(cli))
        printf("logged out; token removed from %s\n", hd_cli_config_file(cli));
    return HD_CLI_EXIT_OK;
}

static int whoami_run(hd_cli *cli, const hd_cli_args *a)
{
    (void)a;
    if (!hd_cli_token(cli))
        return hd_cli_fail(cli, HD_CLI_EXIT_DENIED,
                           "not logged in: run `helpdesk login`, or set HELPDESK_TOKEN or --token");
    Helpdesk__V1__WhoAmIRequest req = HELPDESK__V1__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *m;
    int rc = hd_cli_call(cli, "/helpdesk.v1.AuthService/WhoAmI", &req.base,
                         &helpdesk__v1__who_am_iresponse__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    const Helpdesk__V1__WhoAmIResponse *w = (const Helpdesk__V1__WhoAmIResponse *)m;
    if (hd_cli_print_json(cli, m))
        return HD_CLI_EXIT_OK;
    if (hd_cli_quiet(cli)) {
        printf("%" PRIu64 "\n", w->principal_id);
        return HD_CLI_EXIT_OK;
    }
    char kind[32], role[32];
    hd_cli_enum_word(kind, sizeof(kind), &helpdesk__v1__principal_kind__descriptor,
                     w->principal_kind);
    if (w->principal_kind == HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_STAFF &&
        w->principal_id) {
        /* Staff: the member's name and email too (GetStaff on oneself needs only staff.read,
         * which every role holds). The bootstrap admin (staff id 0) has no record. */
        Helpdesk__V1__GetStaffRequest sreq = HELPDESK__V1__GET_STAFF_REQUEST__INIT;
        sreq.id = w->principal_id;
        ProtobufCMessage *sm;
        rc = hd_cli_call(cli, "/helpdesk.v1.StaffService/GetStaff", &sreq.base,
                         &helpdesk__v1__staff__descriptor, &sm);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        const Helpdesk__V1__Staff *st = (const Helpdesk__V1__Staff *)sm;
        printf("%s <%s>, staff %" PRIu64 ", %s, on %s (token from %s)\n", st->name, st->email,
               w->principal_id,
               hd_cli_enum_word(role, sizeof(role), &helpdesk__v1__role__descriptor, w->role),
               hd_cli_server(cli), hd_cli_token_source(cli));
    } else {
        printf("%s, %s %" PRIu64 ", %s, on %s (token from %s)\n", w->name, kind, w->principal_id,
               hd_cli_enum_word(role, sizeof(role), &helpdesk__v1__role__descriptor, w->role),
               hd_cli_server(cli), hd_cli_token_source(cli));
    }
    printf("scopes:");
    for (size_t i = 0; i < w->n_scopes; i++)
        printf(" %s", w->scopes[i]);
    printf("\n");
    return HD_CLI_EXIT_OK;
}

static const hd_cli_cmd login_cmds[] = {
    {"", "Log in with a staff password; saves a session token to the config file",
     "[--email EMAIL] [--password-stdin]", login_opts,
     "printf '%s\\n' \"$PW\" | helpdesk login --email ada@example.com --password-stdin", login_run,
     0, 0},
    {0},
};

static const hd_cli_cmd logout_cmds[] = {
    {"", "Revoke the saved session token and remove it from the config file", "", NULL,
     "helpdesk logout", logout_run, 0, 0},
    {0},
};

static const hd_cli_cmd whoami_cmds[] = {
    {"", "Show who the current token speaks for", "", NULL, "helpdesk whoami", whoami_run, 0, 0},
    {0},
};

HD_CLI_GROUP(login, "Log in with a staff password (token saved, mode 0600)", login_cmds)
HD_CLI_GROUP(logout, "Revoke and forget the saved session token", logout_cmds)
HD_CLI_GROUP(whoami, "Show who the current token speaks for", whoami_cmds)
