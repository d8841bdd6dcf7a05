/* The helpdesk CLI's command table: how a command group plugs in, and what its commands
 * may use (parsed arguments, one RPC call helper, output in table / JSON / quiet form).
 *
 * ADDING A COMMAND GROUP IS ONE FILE. Write clients/cli/<group>.c; the binary's BUILD
 * globs every .c file here, so nothing else changes. The file defines its commands and
 * registers its group with HD_CLI_GROUP (a constructor runs before main):
 *
 *     #include "clients/cli/cli.h"
 *     #include "helpdesk/v1/sla.pb-c.h"
 *
 *     static const hd_cli_opt list_opts[] = {
 *         {"limit", "N", "at most N policies (default 50)"},
 *         {"all", NULL, "follow page tokens to the end"},   // NULL arg = boolean flag
 *         {0},
 *     };
 *
 *     static int policy_list(hd_cli *cli, const hd_cli_args *a)
 *     {
 *         Helpdesk__V1__ListPoliciesRequest req = HELPDESK__V1__LIST_POLICIES_REQUEST__INIT;
 *         ProtobufCMessage *resp;
 *         int rc = hd_cli_call(cli, "/helpdesk.v1.SlaService/ListPolicies", &req.base,
 *                              &helpdesk__v1__list_policies_response__descriptor, &resp);
 *         if (rc != HD_CLI_EXIT_OK)
 *             return rc;                        // the error line is already printed
 *         if (hd_cli_print_json(cli, resp))     // --json: exact proto3 JSON, done
 *             return HD_CLI_EXIT_OK;
 *         ...hd_cli_quiet(cli) ? print ids : build an hd_cli_table...
 *     }
 *
 *     static const hd_cli_cmd sla_cmds[] = {
 *         {"list", "List SLA policies", "[--limit N] [--all]", list_opts,
 *          "helpdesk sla list --limit 10", policy_list, 0, 0},
 *         {0},
 *     };
 *     HD_CLI_GROUP(sla, "SLA policies and calendars", sla_cmds)
 *
 * Shortcuts: hd_cli_call_print (call + print one object in all three forms) and
 * hd_cli_print_list (a table whose columns are field names of the listed messages).
 * Tests: tests/integration/test_cli.py (golden outputs, exit codes, tmux).
 *
 * main.c does the rest for every command: global flags anywhere on the line (--server,
 * --token, --tls, --ca, --timeout, --json, --quiet, --no-color), flag parsing against the
 * command's hd_cli_opt table (unknown flag = usage error, exit 1), `--help` with the
 * usage and example, `helpdesk help`, and `helpdesk completion bash`. Server and token come
 * from flags, then HELPDESK_SERVER / HELPDESK_TOKEN, then ~/.config/helpdesk/config.
 *
 * Exit codes are HD_CLIENT_EXIT_* from clients/lib/client.h (0 ok, 1 usage, 2 not found,
 * 3 permission, 4 invalid input, 5 unavailable, 6 deadline, 7 conflict, 8 exhausted,
 * 10 internal); a run function returns one of them (or 128 + signal: an interrupted
 * stream, see hd_cli_stream). */
#ifndef HD_CLIENTS_CLI_CLI_H
#define HD_CLIENTS_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#include "clients/cli/config.h"
#include "clients/cli/output.h"
#include "clients/lib/client.h"
#include "server/common/arena.h"

/* The CLI's exit codes (the client library's table, under CLI names). */
enum {
    HD_CLI_EXIT_OK = HD_CLIENT_EXIT_OK,
    HD_CLI_EXIT_USAGE = HD_CLIENT_EXIT_USAGE,
    HD_CLI_EXIT_NOT_FOUND = HD_CLIENT_EXIT_NOT_FOUND,
    HD_CLI_EXIT_DENIED = HD_CLIENT_EXIT_DENIED,
    HD_CLI_EXIT_INVALID = HD_CLIENT_EXIT_INVALID,
    HD_CLI_EXIT_UNAVAILABLE = HD_CLIENT_EXIT_UNAVAILABLE,
    HD_CLI_EXIT_DEADLINE = HD_CLIENT_EXIT_DEADLINE,
    HD_CLI_EXIT_CONFLICT = HD_CLIENT_EXIT_CONFLICT,
    HD_CLI_EXIT_EXHAUSTED = HD_CLIENT_EXIT_EXHAUSTED,
    HD_CLI_EXIT_INTERNAL = HD_CLIENT_EXIT_INTERNAL,
    HD_CLI_EXIT_SIGNAL = 128, /* + the signal that ended a stream: 130 SIGINT, 143 SIGTERM */
};

/* The running invocation: resolved settings, the lazily opened client, the output mode
 * and a per-run arena. Opaque; one per process. */
typedef struct hd_cli hd_cli;

/* Parsed flags and positional arguments of one command. Opaque. */
typedef struct hd_cli_args hd_cli_args;

/* One flag of a command: `--name ARG` (arg names the value) or `--name` (arg NULL: a
 * boolean). A flag given several times keeps every value (hd_cli_arg_list). */
typedef struct hd_cli_opt {
    const char *name; /* without the leading "--" */
    const char *arg;  /* value placeholder, e.g. "STATUS"; NULL = boolean */
    const char *help; /* one line */
} hd_cli_opt;

/* Runs a command; returns an HD_CLI_EXIT_* code. */
typedef int (*hd_cli_run_fn)(hd_cli *cli, const hd_cli_args *a);

/* One subcommand: `helpdesk <group> <name> ...`. Tables end with a zeroed entry. */
typedef struct hd_cli_cmd {
    const char *name;       /* "list" */
    const char *summary;    /* one line for the group's help */
    const char *usage;      /* what follows "helpdesk <group> <name> ", e.g. "ID [--body TEXT]" */
    const hd_cli_opt *opts; /* flag table ending with {0}; NULL = no flags */
    const char *example;    /* a full command line shown by --help (required) */
    hd_cli_run_fn run;      /* the command */
    int min_pos;            /* fewest positional arguments */
    int max_pos;            /* most positional arguments; -1 = any */
} hd_cli_cmd;

/* A command group: `helpdesk <name> <cmd> ...`. A group with one command named "" runs
 * it directly (`helpdesk dashboard`, `helpdesk login`). */
typedef struct hd_cli_group {
    const char *name;          /* "ticket" */
    const char *summary;       /* one line for `helpdesk --help` */
    const hd_cli_cmd *cmds;    /* ends with a zeroed entry */
    struct hd_cli_group *next; /* registry link, set by hd_cli_register */
} hd_cli_group;

/* The registered groups, a list linked by next, sorted by name once main starts.
 * Borrowed for the life of the process. */
const hd_cli_group *hd_cli_groups(void);

/* Adds a group to the command table. Called by HD_CLI_GROUP before main; g is borrowed
 * for the life of the process. Not thread-safe (constructors run single-threaded). */
void hd_cli_register(hd_cli_group *g);

/* Defines and registers group `var` with its name, summary and command table. */
#define HD_CLI_GROUP(var, summary_text, cmd_table)                                                 \
    static hd_cli_group hd_cli__group_##var = {#var, summary_text, cmd_table, NULL};               \
    static void hd_cli__register_##var(void) __attribute__((constructor));                         \
    static void hd_cli__register_##var(void)                                                       \
    {                                                                                              \
        hd_cli_register(&hd_cli__group_##var);                                                     \
    }

/* --- arguments ---------------------------------------------------------------------- */

/* Number of positional arguments. */
int hd_cli_npos(const hd_cli_args *a);

/* Positional argument i (0-based), borrowed for the run; NULL past the end. */
const char *hd_cli_pos(const hd_cli_args *a, int i);

/* The last value of flag `name`, borrowed for the run; NULL when not given. */
const char *hd_cli_arg(const hd_cli_args *a, const char *name);

/* Nonzero when boolean flag `name` was given. */
int hd_cli_flag(const hd_cli_args *a, const char *name);

/* Every value of flag `name`, in order, in a fresh array; *n gets the count. Borrowed
 * for the run (the run's arena). NULL with *n = 0 when out of memory. */
const char *const *hd_cli_arg_list(const hd_cli_args *a, const char *name, size_t *n);

/* Parses flag `name` as an unsigned integer into *out (def when absent). Returns
 * HD_CLI_EXIT_OK, or HD_CLI_EXIT_USAGE after printing a one-line error. */
int hd_cli_arg_u64(hd_cli *cli, const hd_cli_args *a, const char *name, uint64_t def,
                   uint64_t *out);

/* Parses flag `name` as an enum value of desc: the value name without the enum's prefix,
 * any case ("open" for TICKET_STATUS_OPEN) or the full name. *out keeps def when the flag
 * is absent. Returns HD_CLI_EXIT_OK or HD_CLI_EXIT_USAGE (error printed, listing the
 * accepted words). */
int hd_cli_arg_enum(hd_cli *cli, const hd_cli_args *a, const char *name,
                    const ProtobufCEnumDescriptor *desc, int def, int *out);

/* --- calls -------------------------------------------------------------------------- */

/* Calls a unary method with the invocation's server, token, TLS settings and --timeout.
 * On success *out is the response, borrowed until the process ends (the run's arena).
 * On failure prints one line `error: ...` (the status in words plus the server's detail)
 * and returns the exit code for the status; *out is NULL. */
int hd_cli_call(hd_cli *cli, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **out);

/* Calls a server-streaming method without a deadline, running fn for each message until
 * the stream ends or fn returns nonzero. SIGINT (Ctrl-C) or SIGTERM meanwhile cancels the
 * call and returns HD_CLI_EXIT_SIGNAL + the signal (130, 143) without an error line.
 * Returns the exit code (error line printed on other failures). */
int hd_cli_stream(hd_cli *cli, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *resp_desc, hd_client_stream_fn fn, void *ud);

#define HD_CLI_QUIET_ALL (-2)

/* hd_cli_call, then hd_cli_print_message of the response: the whole body of most
 * single-object commands. Returns the exit code. */
int hd_cli_call_print(hd_cli *cli, const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *resp_desc, const char *id_field);

/* Parses a numeric id (1 or more) named what ("STAFF_ID", "--group") into *out. Returns
 * HD_CLI_EXIT_OK, or HD_CLI_EXIT_USAGE after printing a one-line error. */
int hd_cli_parse_id(hd_cli *cli, const char *v, const char *what, uint64_t *out);

/* Opens another client to the same server with the same TLS settings but another token
 * (NULL = none), for commands that act as several principals (demo seed). Returns an
 * owned client (hd_client_close), or NULL after printing an error (*exit_code set). */
hd_client *hd_cli_client_as(hd_cli *cli, const char *token, int *exit_code);

/* Like hd_cli_call on client cl (from hd_cli_client_as or hd_cli_client), unpacking into
 * arena: *out is borrowed until the arena is reset. Thread-safe when each thread passes
 * its own arena. quiet_code: a gRPC status code that is expected and returned without an
 * error line (-1 = none, HD_CLI_QUIET_ALL = every status); the exit code is returned
 * either way. */
int hd_cli_call_on(hd_cli *cli, hd_client *cl, hd_arena *arena, const char *method,
                   const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                   ProtobufCMessage **out, int quiet_code);

/* The client (opened on first use). Returns NULL after printing an error when it cannot
 * be opened; *exit_code gets the exit code then. Borrowed until the process ends. */
hd_client *hd_cli_client(hd_cli *cli, int *exit_code);

/* The run's arena (freed at exit): borrowed until the process ends. */
hd_arena *hd_cli_arena(hd_cli *cli);

/* Prints `error: <fmt>` on stderr, one line, and returns code (for `return hd_cli_fail(...)`). */
int hd_cli_fail(hd_cli *cli, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* --- output ------------------------------------------------------------------------- */

/* Nonzero under --quiet: print only ids, one per line. */
int hd_cli_quiet(const hd_cli *cli);

/* Nonzero under --json. */
int hd_cli_json(const hd_cli *cli);

/* Nonzero when output is styled (stdout a tty, NO_COLOR unset, no --no-color). */
int hd_cli_color(const hd_cli *cli);

/* Under --json prints msg as proto3 JSON (one document, newline) and returns 1;
 * otherwise prints nothing and returns 0. */
int hd_cli_print_json(hd_cli *cli, const ProtobufCMessage *msg);

/* Prints a single-object response: --json the proto3 JSON, --quiet the value of
 * id_field, else every present field as a `label  value` block. Returns HD_CLI_EXIT_OK. */
int hd_cli_print_message(hd_cli *cli, const ProtobufCMessage *msg, const char *id_field);

/* Prints a list response: --json all of resp as proto3 JSON, --quiet id_field of each item,
 * else a table with one column per name in cols (header = the name upper-cased, cells by
 * hd_cli_field_text). items are n messages of one type. Returns an exit code. */
int hd_cli_print_list(hd_cli *cli, const ProtobufCMessage *resp,
                      const ProtobufCMessage *const *items, size_t n, const char *const *cols,
                      size_t ncols, const char *id_field);

/* Settings of the invocation, all borrowed until the process ends: the resolved server
 * address and where it came from ("--server", "HELPDESK_SERVER", "config", "default"),
 * the token (NULL = none), the config file path and its parsed contents (auth commands
 * change them and save with hd_cli_config_save), and the per-call deadline. */
const char *hd_cli_server(const hd_cli *cli);
const char *hd_cli_server_source(const hd_cli *cli);
const char *hd_cli_token(const hd_cli *cli);
const char *hd_cli_token_source(const hd_cli *cli); /* "--token", "HELPDESK_TOKEN", "config" */

/* Replaces the token the client will send (NULL = none); token is borrowed until the
 * process ends. Only before the first call (the client is opened then). */
void hd_cli_set_token(hd_cli *cli, const char *token);
const char *hd_cli_config_file(const hd_cli *cli);
hd_cli_config *hd_cli_settings(hd_cli *cli);
int hd_cli_timeout_ms(const hd_cli *cli);

/* The current time in Unix milliseconds (HELPDESK_NOW_MS overrides it, for golden tests
 * of relative times). */
int64_t hd_cli_now_ms(const hd_cli *cli);

#endif
