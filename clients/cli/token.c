/* `helpdesk token ...`: service and portal tokens, revocation, and the audit trail of
 * staff and auth changes (AuthService; admin). A new token's secret is printed once. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clients/cli/cli.h"
#include "helpdesk/v1/auth.pb-c.h"

#define SVC "/helpdesk.v1.AuthService/"

/* "30d", "12h", "90m", "3600s" or plain seconds -> seconds; -1 when malformed. */
static int64_t parse_ttl(const char *s)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || v <= 0)
        return -1;
    int64_t mul = 1;
    if (strcmp(end, "d") == 0)
        mul = 86400;
    else if (strcmp(end, "h") == 0)
        mul = 3600;
    else if (strcmp(end, "m") == 0)
        mul = 60;
    else if (*end && strcmp(end, "s") != 0)
        return -1;
    if (v > INT64_MAX / mul)
        return -1;
    return (int64_t)v * mul;
}

/* Prints a token-creating response: the secret on its own line (quiet) or with a note. */
static int print_secret(hd_cli *cli, const ProtobufCMessage *m)
{
    const Helpdesk__V1__LoginResponse *r = (const Helpdesk__V1__LoginResponse *)m;
    if (hd_cli_print_json(cli, m))
        return HD_CLI_EXIT_OK;
    if (hd_cli_quiet(cli)) {
        printf("%s\n", r->token);
        return HD_CLI_EXIT_OK;
    }
    printf("token %" PRIu64 " created; the secret is shown only now:\n%s\n",
           r->info ? r->info->id : 0, r->token);
    return HD_CLI_EXIT_OK;
}

static const hd_cli_opt list_opts[] = {
    {"all", NULL, "include revoked and expired tokens"},
    {0},
};

static int token_list(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__ListApiTokensRequest req = HELPDESK__V1__LIST_API_TOKENS_REQUEST__INIT;
    req.include_inactive = hd_cli_flag(a, "all");
    ProtobufCMessage *m;
    int rc = hd_cli_call(cli, SVC "ListApiTokens", &req.base,
                         &helpdesk__v1__list_api_tokens_response__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    static const char *const cols[] = {"id",           "name",        "principal_kind",
                                       "principal_id", "role",        "scopes",
                                       "create_time",  "expire_time", "revoke_time"};
    const Helpdesk__V1__ListApiTokensResponse *r = (const Helpdesk__V1__ListApiTokensResponse *)m;
    return hd_cli_print_list(cli, m, (const ProtobufCMessage *const *)r->tokens, r->n_tokens, cols,
                             9, "id");
}

static const hd_cli_opt create_opts[] = {
    {"name", "NAME", "what the token is for, e.g. \"billing service\" (required)"},
    {"scope", "SCOPE", "a granted scope, e.g. tickets.read (repeatable, at least one)"},
    {"ttl", "DURATION", "lifetime, e.g. 90d or 12h (default: never expires)"},
    {0},
};

static int token_create(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__CreateApiTokenRequest req = HELPDESK__V1__CREATE_API_TOKEN_REQUEST__INIT;
    Google__Protobuf__Timestamp exp = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    if (!hd_cli_arg(a, "name"))
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--name is required");
    req.name = (char *)hd_cli_arg(a, "name");
    req.scopes = (char **)hd_cli_arg_list(a, "scope", &req.n_scopes);
    if (req.n_scopes == 0)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "give at least one --scope");
    if (hd_cli_arg(a, "ttl")) {
        int64_t ttl = parse_ttl(hd_cli_arg(a, "ttl"));
        if (ttl < 0)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--ttl: want a duration like 90d or 12h");
        exp.seconds = hd_cli_now_ms(cli) / 1000 + ttl;
        req.expire_time = &exp;
    }
    ProtobufCMessage *m;
    int rc = hd_cli_call(cli, SVC "CreateApiToken", &req.base,
                         &helpdesk__v1__login_response__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return print_secret(cli, m);
}

static const hd_cli_opt customer_opts[] = {
    {"ttl", "DURATION", "lifetime, e.g. 30d (default 30 days, at most a year)"},
    {0},
};

static int token_customer(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__CreateCustomerTokenRequest req =
        HELPDESK__V1__CREATE_CUSTOMER_TOKEN_REQUEST__INIT;
    int rc = hd_cli_parse_id(cli, hd_cli_pos(a, 0), "CUSTOMER_ID", &req.customer_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (hd_cli_arg(a, "ttl")) {
        req.ttl_seconds = parse_ttl(hd_cli_arg(a, "ttl"));
        if (req.ttl_seconds < 0)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--ttl: want a duration like 30d");
    }
    ProtobufCMessage *m;
    rc = hd_cli_call(cli, SVC "CreateCustomerToken", &req.base,
                     &helpdesk__v1__login_response__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return print_secret(cli, m);
}

static int token_revoke(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__RevokeApiTokenRequest req = HELPDESK__V1__REVOKE_API_TOKEN_REQUEST__INIT;
    int rc = hd_cli_parse_id(cli, hd_cli_pos(a, 0), "TOKEN_ID", &req.id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return hd_cli_call_print(cli, SVC "RevokeApiToken", &req.base,
                             &helpdesk__v1__api_token__descriptor, "id");
}

static const hd_cli_opt audit_opts[] = {
    {"limit", "N", "at most N events, newest first (default 100)"},
    {0},
};

static int token_audit(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__ListAuditEventsRequest req = HELPDESK__V1__LIST_AUDIT_EVENTS_REQUEST__INIT;
    uint64_t limit;
    int rc = hd_cli_arg_u64(cli, a, "limit", 100, &limit);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.page_size = (int32_t)(limit > 1000 ? 1000 : limit);
    ProtobufCMessage *m;
    rc = hd_cli_call(cli, SVC "ListAuditEvents", &req.base,
                     &helpdesk__v1__list_audit_events_response__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    static const char *const cols[] = {"id",          "time",      "action",
                                       "object_kind", "object_id", "detail"};
    const Helpdesk__V1__ListAuditEventsResponse *r =
        (const Helpdesk__V1__ListAuditEventsResponse *)m;
    return hd_cli_print_list(cli, m, (const ProtobufCMessage *const *)r->events, r->n_events, cols,
                             6, "id");
}

static const hd_cli_cmd token_cmds[] = {
    {"list", "List tokens (never their secrets)", "[--all]", list_opts, "helpdesk token list --all",
     token_list, 0, 0},
    {"create", "Create a scoped service token", "--name NAME --scope SCOPE... [--ttl DURATION]",
     create_opts,
     "helpdesk token create --name 'billing service' --scope tickets.read --scope tickets.write",
     token_create, 0, 0},
    {"customer", "Create a portal token for a customer", "CUSTOMER_ID [--ttl DURATION]",
     customer_opts, "helpdesk token customer 42 --ttl 7d", token_customer, 1, 1},
    {"revoke", "Revoke a token by id", "TOKEN_ID", NULL, "helpdesk token revoke 5", token_revoke, 1,
     1},
    {"audit", "List audit events of staff and auth changes", "[--limit N]", audit_opts,
     "helpdesk token audit --limit 20", token_audit, 0, 0},
    {0},
};

HD_CLI_GROUP(token, "API and portal tokens, and the audit trail", token_cmds)
