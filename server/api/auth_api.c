/* AuthService: validate, call server/auth, map results. A token's secret appears only in the
 * response that creates it (copied once into the call's arena); stack copies are wiped. */
#include "server/api/auth_api.h"

#include <inttypes.h>
#include <string.h>

#include "helpdesk/v1/auth.pb-c.h"
#include "server/api/access.h"
#include "server/api/offload.h"
#include "server/api/perm.h"
#include "server/app.h"
#include "server/audit/audit.h"
#include "server/auth/auth.h"
#include "server/clock/clock.h"
#include "server/customers/customers.h"
#include "server/validate/validate.h"

#define REQ(T, m) ((const T *)(m))

#define CUSTOMER_TTL_DEFAULT_S (30 * 86400LL)
#define CUSTOMER_TTL_MAX_S     (366 * 86400LL)
#define TOKEN_NAME_MAX         64
#define SCOPES_MAX             32

static hd_app *app_of(hd_rpc_call *call)
{
    return hd_rpc_call_app(call);
}

/* Puts text and the record of token id into resp. */
static int token_response(hd_rpc_call *call, const char *text, uint64_t id,
                          Helpdesk__V1__LoginResponse *resp, hd_err *err)
{
    hd_arena *a = hd_rpc_call_arena(call);
    resp->token = hd_arena_strdup(a, text);
    if (!resp->token)
        return hd_err_set(err, HD_ENOMEM, "auth: out of memory");
    return hd_auth_token_get(app_of(call)->auth, a, id, &resp->info, err);
}

static int login(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                 hd_err *err)
{
    const Helpdesk__V1__LoginRequest *req = REQ(Helpdesk__V1__LoginRequest, reqm);
    Helpdesk__V1__LoginResponse *resp = (Helpdesk__V1__LoginResponse *)respm;
    char text[HD_AUTH_TOKEN_TEXT_MAX];
    char peer[128];
    hd_rpc_call_peer(call, peer, sizeof(peer));
    int rc = hd_auth_login_from(app_of(call)->auth, hd_rpc_call_arena(call), req->email,
                                req->password, peer, 0, text, sizeof(text), &resp->info, err);
    if (rc == HD_OK) {
        resp->token = hd_arena_strdup(hd_rpc_call_arena(call), text);
        if (!resp->token)
            rc = hd_err_set(err, HD_ENOMEM, "auth: out of memory");
    }
    memset(text, 0, sizeof(text));
    return rc;
}

static int logout(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                  hd_err *err)
{
    (void)respm;
    const Helpdesk__V1__LogoutRequest *req = REQ(Helpdesk__V1__LogoutRequest, reqm);
    const hd_identity *who = hd_rpc_call_identity(call);
    hd_arena *a = hd_rpc_call_arena(call);
    Helpdesk__V1__ApiToken *t = NULL;
    if (req->token_id == 0)
        return hd_err_set(err, HD_EINVAL, "token_id: required");
    int rc = hd_auth_token_get(app_of(call)->auth, a, req->token_id, &t, err);
    int kind = 0;
    uint64_t id = 0;
    hd_access_actor(who, &kind, &id);
    /* Someone else's token looks exactly like a missing one. */
    if (rc == HD_OK && (t->principal_kind != (Helpdesk__V1__PrincipalKind)who->kind ||
                        t->principal_id != who->id || who->kind == HD_PRINCIPAL_SERVICE))
        rc = hd_err_set(err, HD_ENOTFOUND, "token %" PRIu64 ": no such token", req->token_id);
    if (rc == HD_OK)
        rc = hd_auth_revoke_by(app_of(call)->auth, req->token_id, kind, id, NULL, NULL, err);
    return rc;
}

static int create_api_token(hd_rpc_call *call, const ProtobufCMessage *reqm,
                            ProtobufCMessage *respm, hd_err *err)
{
    const Helpdesk__V1__CreateApiTokenRequest *req = REQ(Helpdesk__V1__CreateApiTokenRequest, reqm);
    size_t nn = req->name ? strlen(req->name) : 0;
    if (nn == 0 || nn > TOKEN_NAME_MAX || !hd_validate_printable_ascii(req->name, nn))
        return hd_err_set(err, HD_EINVAL, "name: 1-%d printable ASCII characters", TOKEN_NAME_MAX);
    if (req->n_scopes == 0 || req->n_scopes > SCOPES_MAX)
        return hd_err_set(err, HD_EINVAL, "scopes: 1-%d scopes", SCOPES_MAX);
    for (size_t i = 0; i < req->n_scopes; i++) {
        const char *one[1] = {req->scopes[i]};
        if (!hd_perm_scopes_from_names(one, 1) || strcmp(req->scopes[i], "self") == 0)
            return hd_err_set(err, HD_EINVAL, "scopes[%zu]: unknown scope '%.64s'", i,
                              req->scopes[i]);
    }
    if (req->expire_time && req->expire_time->seconds * 1000 <= hd_clock_now_ms())
        return hd_err_set(err, HD_EINVAL, "expire_time: in the past");
    Helpdesk__V1__ApiToken tmpl = HELPDESK__V1__API_TOKEN__INIT;
    tmpl.name = req->name;
    tmpl.principal_kind = HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_SERVICE;
    tmpl.scopes = req->scopes;
    tmpl.n_scopes = req->n_scopes;
    tmpl.expire_time = req->expire_time;
    int kind;
    uint64_t actor, id = 0;
    hd_access_actor(hd_rpc_call_identity(call), &kind, &actor);
    char text[HD_AUTH_TOKEN_TEXT_MAX];
    int rc = hd_auth_issue_by(app_of(call)->auth, &tmpl, kind, actor, text, sizeof(text), &id, err);
    if (rc == HD_OK)
        rc = token_response(call, text, id, (Helpdesk__V1__LoginResponse *)respm, err);
    memset(text, 0, sizeof(text));
    return rc;
}

static int create_customer_token(hd_rpc_call *call, const ProtobufCMessage *reqm,
                                 ProtobufCMessage *respm, hd_err *err)
{
    const Helpdesk__V1__CreateCustomerTokenRequest *req =
        REQ(Helpdesk__V1__CreateCustomerTokenRequest, reqm);
    const hd_identity *who = hd_rpc_call_identity(call);
    if (who->kind == HD_PRINCIPAL_STAFF && who->role == HELPDESK__V1__ROLE__ROLE_AGENT)
        return hd_err_set(err, HD_EPERM, "agents may not mint customer tokens");
    if (req->ttl_seconds < 0 || req->ttl_seconds > CUSTOMER_TTL_MAX_S)
        return hd_err_set(err, HD_EINVAL, "ttl_seconds: must be 0..%lld", CUSTOMER_TTL_MAX_S);
    hd_arena *a = hd_rpc_call_arena(call);
    Helpdesk__V1__Customer *c = NULL;
    int rc = hd_customers_read(app_of(call)->store, a, req->customer_id, &c, err);
    if (rc != HD_OK)
        return rc;
    int64_t until =
        hd_clock_now_ms() + (req->ttl_seconds ? req->ttl_seconds : CUSTOMER_TTL_DEFAULT_S) * 1000;
    Google__Protobuf__Timestamp exp = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    exp.seconds = until / 1000;
    exp.nanos = (int32_t)(until % 1000) * 1000000;
    Helpdesk__V1__ApiToken tmpl = HELPDESK__V1__API_TOKEN__INIT;
    tmpl.name = hd_arena_printf(a, "portal %.200s", c->email);
    tmpl.principal_kind = HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_CUSTOMER;
    tmpl.principal_id = c->id;
    tmpl.expire_time = &exp;
    if (!tmpl.name)
        return hd_err_set(err, HD_ENOMEM, "auth: out of memory");
    int kind;
    uint64_t actor, id = 0;
    hd_access_actor(who, &kind, &actor);
    char text[HD_AUTH_TOKEN_TEXT_MAX];
    rc = hd_auth_issue_by(app_of(call)->auth, &tmpl, kind, actor, text, sizeof(text), &id, err);
    if (rc == HD_OK)
        rc = token_response(call, text, id, (Helpdesk__V1__LoginResponse *)respm, err);
    memset(text, 0, sizeof(text));
    return rc;
}

static int list_tokens(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                       hd_err *err)
{
    const Helpdesk__V1__ListApiTokensRequest *req = REQ(Helpdesk__V1__ListApiTokensRequest, reqm);
    Helpdesk__V1__ListApiTokensResponse *resp = (Helpdesk__V1__ListApiTokensResponse *)respm;
    return hd_auth_list(app_of(call)->auth, hd_rpc_call_arena(call), req->include_inactive,
                        &resp->tokens, &resp->n_tokens, err);
}

static int revoke_token(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                        hd_err *err)
{
    const Helpdesk__V1__RevokeApiTokenRequest *req = REQ(Helpdesk__V1__RevokeApiTokenRequest, reqm);
    if (req->id == 0)
        return hd_err_set(err, HD_EINVAL, "id: required");
    int kind;
    uint64_t actor;
    hd_access_actor(hd_rpc_call_identity(call), &kind, &actor);
    Helpdesk__V1__ApiToken *t = NULL;
    int rc = hd_auth_revoke_by(app_of(call)->auth, req->id, kind, actor, hd_rpc_call_arena(call),
                               &t, err);
    if (rc == HD_OK)
        *(Helpdesk__V1__ApiToken *)respm = *t;
    return rc;
}

static int list_audit(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                      hd_err *err)
{
    const Helpdesk__V1__ListAuditEventsRequest *req =
        REQ(Helpdesk__V1__ListAuditEventsRequest, reqm);
    return hd_audit_list(app_of(call)->store, hd_rpc_call_arena(call), req->page_size,
                         req->page_token, (Helpdesk__V1__ListAuditEventsResponse *)respm, err);
}

/* Handlers that block (argon2id, synchronous store writes) run on the app's offload pool. */
#define SLOW_POOL(call) (((hd_app *)hd_rpc_call_app(call))->slow)
HD_OFFLOADED(login, SLOW_POOL)
HD_OFFLOADED(logout, SLOW_POOL)
HD_OFFLOADED(create_api_token, SLOW_POOL)
HD_OFFLOADED(create_customer_token, SLOW_POOL)
HD_OFFLOADED(revoke_token, SLOW_POOL)

/* WhoAmI: the identity the auth hook resolved, with every permission it holds. */
static int who_am_i(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                    hd_err *err)
{
    (void)reqm;
    Helpdesk__V1__WhoAmIResponse *resp = (Helpdesk__V1__WhoAmIResponse *)respm;
    const hd_identity *who = hd_rpc_call_identity(call);
    resp->principal_kind =
        who->kind == HD_PRINCIPAL_STAFF     ? HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_STAFF
        : who->kind == HD_PRINCIPAL_SERVICE ? HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_SERVICE
        : who->kind == HD_PRINCIPAL_CUSTOMER
            ? HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_CUSTOMER
            : HELPDESK__V1__PRINCIPAL_KIND__PRINCIPAL_KIND_UNSPECIFIED;
    resp->principal_id = who->id;
    resp->role = who->kind == HD_PRINCIPAL_STAFF ? (Helpdesk__V1__Role)who->role
                                                 : HELPDESK__V1__ROLE__ROLE_UNSPECIFIED;
    resp->name = (char *)who->name;
    resp->scopes = hd_arena_alloc(hd_rpc_call_arena(call), HD_PERM__COUNT * sizeof(char *));
    if (!resp->scopes)
        return hd_err_set(err, HD_ENOMEM, "whoami: out of memory");
    for (uint32_t p = 1; p < HD_PERM__COUNT; p++)
        if (p != HD_PERM_SELF && hd_auth_allows(who, p))
            resp->scopes[resp->n_scopes++] = (char *)hd_perm_name(p);
    return HD_OK;
}

#define ROW(name, fn, req, resp, perm)                                                             \
    {                                                                                              \
        .path = "/helpdesk.v1.AuthService/" name, .kind = HD_RPC_UNARY,                            \
        .request = &helpdesk__v1__##req##__descriptor,                                             \
        .response = &helpdesk__v1__##resp##__descriptor, .unary = fn, .permission = perm,          \
    }

static const hd_rpc_method methods[] = {
    ROW("Login", login_offloaded, login_request, login_response, HD_RPC_OPEN),
    ROW("Logout", logout_offloaded, logout_request, logout_response, HD_PERM_SELF),
    ROW("WhoAmI", who_am_i, who_am_irequest, who_am_iresponse, HD_PERM_SELF),
    ROW("CreateApiToken", create_api_token_offloaded, create_api_token_request, login_response,
        HD_PERM_ADMIN),
    ROW("CreateCustomerToken", create_customer_token_offloaded, create_customer_token_request,
        login_response, HD_PERM_CUSTOMER_WRITE),
    ROW("ListApiTokens", list_tokens, list_api_tokens_request, list_api_tokens_response,
        HD_PERM_ADMIN),
    ROW("RevokeApiToken", revoke_token_offloaded, revoke_api_token_request, api_token,
        HD_PERM_ADMIN),
    ROW("ListAuditEvents", list_audit, list_audit_events_request, list_audit_events_response,
        HD_PERM_ADMIN),
};

const hd_rpc_method *hd_auth_api_methods(size_t *n)
{
    *n = sizeof(methods) / sizeof(methods[0]);
    return methods;
}
