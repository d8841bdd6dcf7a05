/* helpdesk: the command-line client. This file holds the command table (groups register
 * themselves, see cli.h), global flags, settings resolution (flags, then environment, then
 * the config file), per-command flag parsing, help, and the call helpers every command
 * uses. Commands live one group per file next to it. */
#include "clients/cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clients/cli/config.h"

#define HD_CLI_DEFAULT_SERVER "127.0.0.1:7070"
#define HD_CLI_MAX_ARGS       256
#define HD_CLI_VERSION        "0.2.0"

struct hd_cli {
    const char *server;
    const char *server_from; /* "--server", "HELPDESK_SERVER", "config", "default" */
    const char *token;
    const char *token_from; /* "--token", "HELPDESK_TOKEN", "config", NULL */
    const char *ca;
    int tls;
    int timeout_ms;
    int json;
    int quiet;
    int color;
    char config_path[1024];
    hd_cli_config config;
    hd_client *client;
    hd_arena *arena;
};

typedef struct arg_val {
    const hd_cli_opt *opt;
    const char *value; /* "" for booleans */
} arg_val;

struct hd_cli_args {
    const hd_cli_opt *opts;
    arg_val vals[HD_CLI_MAX_ARGS];
    size_t nvals;
    const char *pos[HD_CLI_MAX_ARGS];
    int npos;
    hd_arena *arena; /* where hd_cli_arg_list builds its arrays */
};

static hd_cli_group *groups;

void hd_cli_register(hd_cli_group *g)
{
    g->next = groups;
    groups = g;
}

const hd_cli_group *hd_cli_groups(void)
{
    return groups;
}

/* Sorts the registry by name (insertion sort: a handful of groups). */
static void sort_groups(void)
{
    hd_cli_group *sorted = NULL;
    while (groups) {
        hd_cli_group *g = groups;
        groups = g->next;
        hd_cli_group **pp = &sorted;
        while (*pp && strcmp((*pp)->name, g->name) < 0)
            pp = &(*pp)->next;
        g->next = *pp;
        *pp = g;
    }
    groups = sorted;
}

static const hd_cli_group *find_group(const char *name)
{
    for (const hd_cli_group *g = groups; g; g = g->next) {
        if (strcmp(g->name, name) == 0)
            return g;
    }
    return NULL;
}

static const hd_cli_cmd *find_cmd(const hd_cli_group *g, const char *name)
{
    for (const hd_cli_cmd *c = g->cmds; c->name; c++) {
        if (strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

/* A group whose single command is named "" runs it directly. */
static int is_single(const hd_cli_group *g)
{
    return g->cmds[0].name && g->cmds[0].name[0] == '\0';
}

/* --- errors and help ---------------------------------------------------------------- */

int hd_cli_fail(hd_cli *cli, int code, const char *fmt, ...)
{
    (void)cli;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    fflush(stdout);
    fprintf(stderr, "error: %s\n", buf);
    return code;
}

static const char global_help[] =
    "Global flags (anywhere on the line):\n"
    "  --server HOST:PORT  server address (env HELPDESK_SERVER, config `server`;\n"
    "                      default " HD_CLI_DEFAULT_SERVER ")\n"
    "  --token TOKEN       bearer token (env HELPDESK_TOKEN, config `token`)\n"
    "  --tls               use TLS (config `tls = true`)\n"
    "  --ca FILE           PEM file of CAs to trust for TLS (config `ca`)\n"
    "  --timeout DURATION  deadline per call, e.g. 10s, 500ms (default 10s)\n"
    "  --json              print exact JSON (the proto3 JSON mapping)\n"
    "  -q, --quiet         print only ids, one per line\n"
    "  --no-color          never colour output (NO_COLOR is respected too)\n"
    "  -h, --help          help for any command\n";

static const char exit_help[] = "Exit codes: 0 ok, 1 usage, 2 not found, 3 permission denied or "
                                "not authenticated,\n  4 invalid input, 5 server unavailable, 6 "
                                "deadline exceeded, 7 conflict or wrong state,\n  8 limit "
                                "reached, 10 internal error.\n";

static void print_main_help(FILE *f)
{
    fprintf(f, "helpdesk: the Helpdesk command-line client\n\n"
               "Usage: helpdesk <command> [subcommand] [flags]\n\nCommands:\n");
    for (const hd_cli_group *g = groups; g; g = g->next)
        fprintf(f, "  %-12s %s\n", g->name, g->summary);
    fprintf(f,
            "\n%s\n%s\nExample:\n  helpdesk ticket list --status open --limit 20\n\n"
            "Run `helpdesk <command> --help` for a command's subcommands and flags.\n",
            global_help, exit_help);
}

static void print_group_help(FILE *f, const hd_cli_group *g)
{
    fprintf(f, "helpdesk %s: %s\n\nUsage: helpdesk %s <subcommand> [flags]\n\nSubcommands:\n",
            g->name, g->summary, g->name);
    int w = 12; /* the name column: as wide as the longest name */
    for (const hd_cli_cmd *c = g->cmds; c->name; c++)
        w = strlen(c->name) > (size_t)w ? (int)strlen(c->name) : w;
    for (const hd_cli_cmd *c = g->cmds; c->name; c++)
        fprintf(f, "  %-*s %s\n", w, c->name, c->summary);
    fprintf(f, "\nExample:\n  %s\n\nRun `helpdesk %s <subcommand> --help` for details.\n",
            g->cmds[0].example, g->name);
}

static void print_cmd_help(FILE *f, const hd_cli_group *g, const hd_cli_cmd *c)
{
    const char *sp = c->name[0] ? " " : "";
    fprintf(f, "helpdesk %s%s%s: %s\n\nUsage: helpdesk %s%s%s%s%s\n", g->name, sp, c->name,
            c->summary, g->name, sp, c->name, c->usage && c->usage[0] ? " " : "",
            c->usage ? c->usage : "");
    if (c->opts && c->opts[0].name) {
        fprintf(f, "\nFlags:\n");
        for (const hd_cli_opt *o = c->opts; o->name; o++) {
            char lhs[64];
            snprintf(lhs, sizeof(lhs), "--%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
            fprintf(f, "  %-22s %s\n", lhs, o->help);
        }
    }
    fprintf(f, "\nExample:\n  %s\n\n%s", c->example, global_help);
}

/* --- arguments ---------------------------------------------------------------------- */

int hd_cli_npos(const hd_cli_args *a)
{
    return a->npos;
}

const char *hd_cli_pos(const hd_cli_args *a, int i)
{
    return i >= 0 && i < a->npos ? a->pos[i] : NULL;
}

const char *hd_cli_arg(const hd_cli_args *a, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < a->nvals; i++) {
        if (strcmp(a->vals[i].opt->name, name) == 0)
            v = a->vals[i].value;
    }
    return v;
}

int hd_cli_flag(const hd_cli_args *a, const char *name)
{
    return hd_cli_arg(a, name) != NULL;
}

const char *const *hd_cli_arg_list(const hd_cli_args *a, const char *name, size_t *n)
{
    size_t k = 0;
    const char **list = hd_arena_calloc(a->arena, a->nvals + 1, sizeof(*list));
    if (!list) {
        *n = 0;
        return NULL;
    }
    for (size_t i = 0; i < a->nvals; i++) {
        if (strcmp(a->vals[i].opt->name, name) == 0)
            list[k++] = a->vals[i].value;
    }
    *n = k;
    return list;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int hd_cli_arg_u64(hd_cli *cli, const hd_cli_args *a, const char *name, uint64_t def, uint64_t *out)
{
    const char *v = hd_cli_arg(a, name);
    *out = def;
    if (!v)
        return HD_CLI_EXIT_OK;
    if (parse_u64(v, out) != 0)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--%s: want a whole number, got \"%s\"", name,
                           v);
    return HD_CLI_EXIT_OK;
}

int hd_cli_arg_enum(hd_cli *cli, const hd_cli_args *a, const char *name,
                    const ProtobufCEnumDescriptor *desc, int def, int *out)
{
    const char *v = hd_cli_arg(a, name);
    *out = def;
    if (!v)
        return HD_CLI_EXIT_OK;
    if (hd_cli_enum_parse(desc, v, out) != 0) {
        char words[512];
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--%s: \"%s\" is not one of %s", name, v,
                           hd_cli_enum_words(words, sizeof(words), desc, ", "));
    }
    return HD_CLI_EXIT_OK;
}

static const hd_cli_opt *find_opt(const hd_cli_opt *opts, const char *name, size_t len)
{
    for (const hd_cli_opt *o = opts; o && o->name; o++) {
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    }
    return NULL;
}

/* Parses a command's flags and positionals from argv (after the command words). */
static int parse_cmd_args(hd_cli *cli, const hd_cli_cmd *c, int argc, char **argv, hd_cli_args *a,
                          const char *cmdline)
{
    int only_pos = 0;
    a->opts = c->opts;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (only_pos || s[0] != '-' || s[1] == '\0') {
            if (a->npos >= HD_CLI_MAX_ARGS)
                return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "too many arguments");
            a->pos[a->npos++] = s;
            continue;
        }
        if (strcmp(s, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (s[1] != '-')
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "unknown flag %s (see `%s --help`)", s,
                               cmdline);
        const char *name = s + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const hd_cli_opt *o = find_opt(c->opts, name, len);
        if (!o)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "unknown flag --%.*s (see `%s --help`)",
                               (int)len, name, cmdline);
        const char *value = "";
        if (o->arg) {
            if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--%s needs a value %s", o->name,
                                   o->arg);
            }
        } else if (eq) {
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--%s takes no value", o->name);
        }
        if (a->nvals >= HD_CLI_MAX_ARGS)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "too many flags");
        a->vals[a->nvals].opt = o;
        a->vals[a->nvals].value = value;
        a->nvals++;
    }
    if (a->npos < c->min_pos || (c->max_pos >= 0 && a->npos > c->max_pos))
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "usage: %s %s (see `%s --help`)", cmdline,
                           c->usage ? c->usage : "", cmdline);
    return HD_CLI_EXIT_OK;
}

/* --- settings ----------------------------------------------------------------------- */

/* "10s", "500ms", "2m", "1.5" (seconds) -> milliseconds; -1 when malformed. */
static int parse_duration_ms(const char *s)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v <= 0)
        return -1;
    double mul = 1000;
    if (strcmp(end, "ms") == 0)
        mul = 1;
    else if (strcmp(end, "m") == 0)
        mul = 60000;
    else if (*end && strcmp(end, "s") != 0)
        return -1;
    double ms = v * mul;
    if (ms < 1 || ms > 86400000.0)
        return -1;
    return (int)ms;
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Takes the global flags out of argv (anywhere on the line) into cli; the rest stays in
 * rest[] in order. Returns an exit code; *help is set by -h/--help. */
static int parse_globals(hd_cli *cli, int argc, char **argv, char **rest, int *nrest, int *help,
                         int *version)
{
    const char *server = NULL, *token = NULL, *ca = NULL, *timeout = NULL;
    int tls = 0, no_color = 0, only_pos = 0;
    *nrest = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char **slot = NULL;
        const char *name = s;
        if (!only_pos && strncmp(s, "--", 2) == 0) {
            const char *eq = strchr(s, '=');
            size_t len = eq ? (size_t)(eq - s) : strlen(s);
#define IS(lit) (len == sizeof(lit) - 1 && strncmp(s, lit, len) == 0)
            if (IS("--server"))
                slot = &server;
            else if (IS("--token"))
                slot = &token;
            else if (IS("--ca"))
                slot = &ca;
            else if (IS("--timeout"))
                slot = &timeout;
            if (slot) {
                if (eq) {
                    *slot = eq + 1;
                } else if (i + 1 < argc) {
                    *slot = argv[++i];
                } else {
                    return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "%s needs a value", name);
                }
                continue;
            }
            if (!eq && IS("--tls")) {
                tls = 1;
                continue;
            }
            if (!eq && IS("--json")) {
                cli->json = 1;
                continue;
            }
            if (!eq && IS("--quiet")) {
                cli->quiet = 1;
                continue;
            }
            if (!eq && IS("--no-color")) {
                no_color = 1;
                continue;
            }
            if (!eq && IS("--help")) {
                *help = 1;
                continue;
            }
            if (!eq && IS("--version")) {
                *version = 1;
                continue;
            }
            if (IS("--")) {
                only_pos = 1;
            }
#undef IS
        } else if (!only_pos && (strcmp(s, "-q") == 0)) {
            cli->quiet = 1;
            continue;
        } else if (!only_pos && (strcmp(s, "-h") == 0)) {
            *help = 1;
            continue;
        }
        rest[(*nrest)++] = argv[i];
    }
    if (cli->json && cli->quiet)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--json and --quiet exclude each other");

    hd_err err;
    hd_err_clear(&err);
    if (hd_cli_config_path(cli->config_path, sizeof(cli->config_path), &err) == HD_OK) {
        if (hd_cli_config_load(&cli->config, cli->config_path, &err) != HD_OK)
            return hd_cli_fail(cli, HD_CLI_EXIT_INVALID, "config %s: %s", cli->config_path,
                               err.detail);
    }
    if (server) {
        cli->server = server;
        cli->server_from = "--server";
    } else if (env_nonempty("HELPDESK_SERVER")) {
        cli->server = env_nonempty("HELPDESK_SERVER");
        cli->server_from = "HELPDESK_SERVER";
    } else if (cli->config.server) {
        cli->server = cli->config.server;
        cli->server_from = "config";
    } else {
        cli->server = HD_CLI_DEFAULT_SERVER;
        cli->server_from = "default";
    }
    if (token) {
        cli->token = token;
        cli->token_from = "--token";
    } else if (env_nonempty("HELPDESK_TOKEN")) {
        cli->token = env_nonempty("HELPDESK_TOKEN");
        cli->token_from = "HELPDESK_TOKEN";
    } else if (cli->config.token) {
        cli->token = cli->config.token;
        cli->token_from = "config";
    }
    cli->ca = ca ? ca : cli->config.ca;
    cli->tls = tls || cli->config.tls || ca;
    cli->timeout_ms = HD_CLIENT_DEFAULT_TIMEOUT_MS;
    if (timeout) {
        cli->timeout_ms = parse_duration_ms(timeout);
        if (cli->timeout_ms < 0)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                               "--timeout: want a duration like 10s or 500ms, got \"%s\"", timeout);
    }
    cli->color = !no_color && !env_nonempty("NO_COLOR") && isatty(STDOUT_FILENO) &&
                 !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0);
    return HD_CLI_EXIT_OK;
}

const char *hd_cli_server(const hd_cli *cli)
{
    return cli->server;
}

const char *hd_cli_server_source(const hd_cli *cli)
{
    return cli->server_from;
}

const char *hd_cli_token(const hd_cli *cli)
{
    return cli->token;
}

const char *hd_cli_token_source(const hd_cli *cli)
{
    return cli->token_from;
}

void hd_cli_set_token(hd_cli *cli, const char *token)
{
    cli->token = token;
    cli->token_from = token ? "set" : NULL;
}

const char *hd_cli_config_file(const hd_cli *cli)
{
    return cli->config_path;
}

hd_cli_config *hd_cli_settings(hd_cli *cli)
{
    return &cli->config;
}

int hd_cli_quiet(const hd_cli *cli)
{
    return cli->quiet;
}

int hd_cli_json(const hd_cli *cli)
{
    return cli->json;
}

int hd_cli_color(const hd_cli *cli)
{
    return cli->color;
}

int hd_cli_timeout_ms(const hd_cli *cli)
{
    return cli->timeout_ms;
}

hd_arena *hd_cli_arena(hd_cli *cli)
{
    return cli->arena;
}

int64_t hd_cli_now_ms(const hd_cli *cli)
{
    (void)cli;
    const char *fixed = getenv("HELPDESK_NOW_MS");
    uint64_t v;
    if (fixed && parse_u64(fixed, &v) == 0)
        return (int64_t)v;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int hd_cli_print_json(hd_cli *cli, const ProtobufCMessage *msg)
{
    if (!cli->json)
        return 0;
    if (hd_cli_json_print(stdout, msg) != 0)
        hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory printing JSON");
    return 1;
}

int hd_cli_print_message(hd_cli *cli, const ProtobufCMessage *msg, const char *id_field)
{
    char buf[256];
    if (hd_cli_print_json(cli, msg))
        return HD_CLI_EXIT_OK;
    if (cli->quiet) {
        const char *id = hd_cli_field_text(buf, sizeof(buf), msg, id_field, 0);
        printf("%s\n", id ? id : "");
        return HD_CLI_EXIT_OK;
    }
    hd_cli_fields_print(stdout, msg, hd_cli_now_ms(cli), cli->color);
    return HD_CLI_EXIT_OK;
}

int hd_cli_print_list(hd_cli *cli, const ProtobufCMessage *resp,
                      const ProtobufCMessage *const *items, size_t n, const char *const *cols,
                      size_t ncols, const char *id_field)
{
    char buf[1024];
    if (hd_cli_print_json(cli, resp))
        return HD_CLI_EXIT_OK;
    if (cli->quiet) {
        for (size_t i = 0; i < n; i++) {
            const char *id = hd_cli_field_text(buf, sizeof(buf), items[i], id_field, 0);
            printf("%s\n", id ? id : "");
        }
        return HD_CLI_EXIT_OK;
    }
    const char *heads[32];
    char headbuf[32][64];
    if (ncols > 32)
        ncols = 32;
    for (size_t c = 0; c < ncols; c++) {
        size_t k = 0;
        for (; cols[c][k] && k + 1 < sizeof(headbuf[c]); k++)
            headbuf[c][k] = cols[c][k] == '_' ? ' ' : (char)toupper((unsigned char)cols[c][k]);
        headbuf[c][k] = '\0';
        heads[c] = headbuf[c];
    }
    hd_cli_table *t = hd_cli_table_new(heads, ncols, cli->color);
    if (!t)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    int64_t now = hd_cli_now_ms(cli);
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *v = hd_cli_field_text(buf, sizeof(buf), items[i], cols[c], now);
            if (hd_cli_table_cell(t, v && *v ? v : "-", c == 0 ? HD_CLI_STYLE_BOLD : 0) != 0) {
                hd_cli_table_free(t);
                return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
            }
        }
    }
    hd_cli_table_print(t, stdout);
    hd_cli_table_free(t);
    return HD_CLI_EXIT_OK;
}

/* --- calls -------------------------------------------------------------------------- */

hd_client *hd_cli_client(hd_cli *cli, int *exit_code)
{
    *exit_code = HD_CLI_EXIT_OK;
    if (cli->client)
        return cli->client;
    hd_client_opts o = {
        .target = cli->server,
        .tls = cli->tls,
        .ca_file = cli->ca,
        .token = cli->token,
    };
    hd_err err;
    hd_err_clear(&err);
    if (hd_client_open(&cli->client, &o, &err) != HD_OK) {
        *exit_code = hd_cli_fail(cli, err.code == HD_EIO ? HD_CLI_EXIT_INVALID : HD_CLI_EXIT_USAGE,
                                 "%s", err.detail);
        return NULL;
    }
    return cli->client;
}

hd_client *hd_cli_client_as(hd_cli *cli, const char *token, int *exit_code)
{
    hd_client *cl = NULL;
    hd_client_opts o = {
        .target = cli->server,
        .tls = cli->tls,
        .ca_file = cli->ca,
        .token = token,
    };
    hd_err err;
    hd_err_clear(&err);
    *exit_code = HD_CLI_EXIT_OK;
    if (hd_client_open(&cl, &o, &err) != HD_OK) {
        *exit_code = hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "%s", err.detail);
        return NULL;
    }
    return cl;
}

static int status_fail(hd_cli *cli, const hd_client_status *st)
{
    char msg[HD_CLIENT_DETAIL_MAX + 256];
    hd_client_status_message(msg, sizeof(msg), st, cli->server);
    return hd_cli_fail(cli, hd_client_exit_code(st->code), "%s", msg);
}

int hd_cli_call(hd_cli *cli, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **out)
{
    int code;
    *out = NULL;
    hd_client *cl = hd_cli_client(cli, &code);
    if (!cl)
        return code;
    hd_client_status st;
    if (hd_client_unary(cl, method, req, resp_desc, cli->arena, cli->timeout_ms, out, &st) != HD_OK)
        return status_fail(cli, &st);
    return HD_CLI_EXIT_OK;
}

int hd_cli_call_print(hd_cli *cli, const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *resp_desc, const char *id_field)
{
    ProtobufCMessage *m;
    int rc = hd_cli_call(cli, method, req, resp_desc, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return hd_cli_print_message(cli, m, id_field);
}

int hd_cli_parse_id(hd_cli *cli, const char *v, const char *what, uint64_t *out)
{
    uint64_t x = 0;
    if (!v || parse_u64(v, &x) != 0 || x == 0)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "%s: want a numeric id, got \"%s\"", what,
                           v ? v : "");
    *out = x;
    return HD_CLI_EXIT_OK;
}

int hd_cli_call_on(hd_cli *cli, hd_client *cl, hd_arena *arena, const char *method,
                   const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                   ProtobufCMessage **out, int quiet_code)
{
    hd_client_status st;
    *out = NULL;
    if (hd_client_unary(cl, method, req, resp_desc, arena, cli->timeout_ms, out, &st) == HD_OK)
        return HD_CLI_EXIT_OK;
    if (st.code == quiet_code || quiet_code == HD_CLI_QUIET_ALL)
        return hd_client_exit_code(st.code);
    return status_fail(cli, &st);
}

/* The SIGINT or SIGTERM that ended a stream (0 = none). */
static volatile sig_atomic_t stream_signal;

static void on_stream_signal(int signo)
{
    stream_signal = signo;
}

int hd_cli_stream(hd_cli *cli, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *resp_desc, hd_client_stream_fn fn, void *ud)
{
    struct sigaction sa, old_int, old_term;
    hd_client_status st;
    int code = HD_CLI_EXIT_OK, rc = HD_OK;

    /* Ctrl-C or SIGTERM cancels the call and ends the run (exit 128 + signal) instead of
     * killing the process mid-call; the handlers go before the client connects. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stream_signal;
    sigemptyset(&sa.sa_mask);
    stream_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    hd_client *cl = hd_cli_client(cli, &code);
    if (cl)
        rc = hd_client_server_stream_until(cl, method, req, resp_desc, 0, fn, ud, &stream_signal,
                                           &st);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (stream_signal)
        return HD_CLI_EXIT_SIGNAL + stream_signal;
    if (!cl)
        return code;
    if (rc != HD_OK)
        return status_fail(cli, &st);
    return HD_CLI_EXIT_OK;
}

/* --- main --------------------------------------------------------------------------- */

static int dispatch(hd_cli *cli, int n, char **rest, int help)
{
    if (n == 0) {
        print_main_help(help ? stdout : stderr);
        return help ? HD_CLI_EXIT_OK : HD_CLI_EXIT_USAGE;
    }
    if (strcmp(rest[0], "help") == 0) {
        if (n == 1) {
            print_main_help(stdout);
            return HD_CLI_EXIT_OK;
        }
        return dispatch(cli, n - 1, rest + 1, 1);
    }
    const hd_cli_group *g = find_group(rest[0]);
    if (!g)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "unknown command \"%s\" (see `helpdesk --help`)",
                           rest[0]);
    const hd_cli_cmd *c = NULL;
    int used = 1;
    if (is_single(g)) {
        c = &g->cmds[0];
    } else if (n < 2 || rest[1][0] == '-') {
        if (help) {
            print_group_help(stdout, g);
            return HD_CLI_EXIT_OK;
        }
        print_group_help(stderr, g);
        return HD_CLI_EXIT_USAGE;
    } else {
        c = find_cmd(g, rest[1]);
        if (!c)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                               "unknown subcommand \"%s %s\" (see `helpdesk %s --help`)", g->name,
                               rest[1], g->name);
        used = 2;
    }
    if (help) {
        print_cmd_help(stdout, g, c);
        return HD_CLI_EXIT_OK;
    }
    char cmdline[128];
    snprintf(cmdline, sizeof(cmdline), "helpdesk %s%s%s", g->name, c->name[0] ? " " : "", c->name);
    hd_cli_args *a = calloc(1, sizeof(*a));
    if (!a)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    a->arena = cli->arena;
    int rc = parse_cmd_args(cli, c, n - used, rest + used, a, cmdline);
    if (rc == HD_CLI_EXIT_OK)
        rc = c->run(cli, a);
    free(a);
    return rc;
}

int main(int argc, char **argv)
{
    hd_cli cli;
    int help = 0, version = 0, nrest = 0;
    int rc;
    char **rest = NULL;

    memset(&cli, 0, sizeof(cli));
    sort_groups();
    cli.arena = hd_arena_create(64 * 1024);
    rest = calloc((size_t)argc + 1, sizeof(*rest));
    if (!cli.arena || !rest) {
        rc = hd_cli_fail(&cli, HD_CLI_EXIT_INTERNAL, "out of memory");
        goto done;
    }
    rc = parse_globals(&cli, argc, argv, rest, &nrest, &help, &version);
    if (rc != HD_CLI_EXIT_OK)
        goto done;
    if (version) {
        printf("helpdesk %s\n", HD_CLI_VERSION);
        goto done;
    }
    rc = dispatch(&cli, nrest, rest, help);
done:
    fflush(stdout);
    hd_client_close(cli.client);
    hd_arena_destroy(cli.arena);
    hd_cli_config_clear(&cli.config);
    free(rest);
    return rc;
}
