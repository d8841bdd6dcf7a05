/* CustomerService: validate, call server/customers, map results. A customer's ticket list
 * goes through the ticket list API with the customer filter and the caller's access scope. */
#include "server/api/customers_api.h"

#include <inttypes.h>

#include "helpdesk/v1/customers.pb-c.h"
#include "server/api/access.h"
#include "server/api/offload.h"
#include "server/api/perm.h"
#include "server/app.h"
#include "server/customers/customers.h"
#include "server/tickets/tickets.h"

#define REQ(T, m) ((const T *)(m))

static hd_customers_actor actor_of(hd_rpc_call *call)
{
    hd_customers_actor a;
    hd_access_actor(hd_rpc_call_identity(call), &a.kind, &a.id);
    return a;
}

static hd_store *store_of(hd_rpc_call *call)
{
    return ((hd_app *)hd_rpc_call_app(call))->store;
}

static int create_customer(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                           hd_err *err)
{
    hd_customers_actor actor = actor_of(call);
    Helpdesk__V1__Customer *c = NULL;
    int rc = hd_customers_create(store_of(call), hd_rpc_call_arena(call),
                                 REQ(Helpdesk__V1__CreateCustomerRequest, reqm), &actor, &c, err);
    if (rc == HD_OK)
        *(Helpdesk__V1__Customer *)respm = *c;
    return rc;
}

static int get_customer(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                        hd_err *err)
{
    const Helpdesk__V1__GetCustomerRequest *req = REQ(Helpdesk__V1__GetCustomerRequest, reqm);
    const hd_identity *who = hd_rpc_call_identity(call);
    uint64_t id = req->id;
    if (who->kind == HD_PRINCIPAL_CUSTOMER) { /* the portal: own record only */
        if (id && id != who->id)
            return hd_err_set(err, HD_ENOTFOUND, "customer %" PRIu64 ": not found", id);
        id = who->id;
    }
    if (id == 0)
        return hd_err_set(err, HD_EINVAL, "id: required");
    Helpdesk__V1__Customer *c = NULL;
    int rc = hd_customers_read(store_of(call), hd_rpc_call_arena(call), id, &c, err);
    if (rc == HD_OK)
        *(Helpdesk__V1__Customer *)respm = *c;
    return rc;
}

static int lookup_customer(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                           hd_err *err)
{
    const Helpdesk__V1__LookupCustomerRequest *req = REQ(Helpdesk__V1__LookupCustomerRequest, reqm);
    if (hd_rpc_call_identity(call)->kind == HD_PRINCIPAL_CUSTOMER)
        return hd_err_set(err, HD_EPERM, "lookup: staff and services only");
    Helpdesk__V1__Customer *c = NULL;
    int rc = hd_customers_lookup(store_of(call), hd_rpc_call_arena(call), req->email, &c, err);
    if (rc == HD_OK)
        *(Helpdesk__V1__Customer *)respm = *c;
    return rc;
}

static int update_customer(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                           hd_err *err)
{
    hd_customers_actor actor = actor_of(call);
    Helpdesk__V1__Customer *c = NULL;
    int rc = hd_customers_update(store_of(call), hd_rpc_call_arena(call),
                                 REQ(Helpdesk__V1__UpdateCustomerRequest, reqm), &actor, &c, err);
    if (rc == HD_OK)
        *(Helpdesk__V1__Customer *)respm = *c;
    return rc;
}

/* Customers: their own list only (another customer id is NOT_FOUND, as if it did not exist).
 * Staff and services: the list filtered by the caller's access scope. */
static int list_customer_tickets(hd_rpc_call *call, const ProtobufCMessage *reqm,
                                 ProtobufCMessage *respm, hd_err *err)
{
    const Helpdesk__V1__ListCustomerTicketsRequest *req =
        REQ(Helpdesk__V1__ListCustomerTicketsRequest, reqm);
    Helpdesk__V1__ListTicketsResponse *resp = (Helpdesk__V1__ListTicketsResponse *)respm;
    const hd_identity *who = hd_rpc_call_identity(call);
    hd_arena *a = hd_rpc_call_arena(call);
    uint64_t cid = req->customer_id;
    if (who->kind == HD_PRINCIPAL_CUSTOMER) {
        if (cid && cid != who->id)
            return hd_err_set(err, HD_ENOTFOUND, "customer %" PRIu64 ": not found", cid);
        cid = who->id;
    }
    if (cid == 0)
        return hd_err_set(err, HD_EINVAL, "customer_id: required");
    Helpdesk__V1__Customer *c = NULL;
    int rc = hd_customers_read(store_of(call), a, cid, &c, err);
    if (rc != HD_OK)
        return rc;
    hd_tickets_query q = {
        .customer_id = cid, .page_size = req->page_size, .page_token = req->page_token};
    hd_tickets_page page;
    hd_access_scope scope;
    rc = hd_access_list_scope(&scope, store_of(call), who, &q, err);
    if (rc == HD_OK)
        rc = hd_tickets_list(store_of(call), a, &q, &page, err);
    if (rc != HD_OK)
        return rc;
    rc = hd_access_filter(store_of(call), who, page.tickets, &page.n_tickets, err);
    if (rc != HD_OK)
        return rc;
    resp->tickets = page.tickets;
    resp->n_tickets = page.n_tickets;
    resp->next_page_token = (char *)page.next_page_token;
    return HD_OK;
}

static int create_org(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                      hd_err *err)
{
    const Helpdesk__V1__CreateOrganizationRequest *req =
        REQ(Helpdesk__V1__CreateOrganizationRequest, reqm);
    hd_customers_actor actor = actor_of(call);
    Helpdesk__V1__Organization *o = NULL;
    int rc = hd_customers_org_create(store_of(call), hd_rpc_call_arena(call), req->name,
                                     req->shared_tickets, &actor, &o, err);
    if (rc == HD_OK)
        *(Helpdesk__V1__Organization *)respm = *o;
    return rc;
}

static int get_org(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                   hd_err *err)
{
    const Helpdesk__V1__GetOrganizationRequest *req =
        REQ(Helpdesk__V1__GetOrganizationRequest, reqm);
    if (req->id == 0)
        return hd_err_set(err, HD_EINVAL, "id: required");
    Helpdesk__V1__Organization *o = NULL;
    const hd_identity *who = hd_rpc_call_identity(call);
    if (who->kind == HD_PRINCIPAL_CUSTOMER) { /* the portal: own organization only */
        Helpdesk__V1__Customer *c = NULL;
        int rc = hd_customers_read(store_of(call), hd_rpc_call_arena(call), who->id, &c, err);
        if (rc != HD_OK)
            return rc;
        if (c->organization_id != req->id)
            return hd_err_set(err, HD_ENOTFOUND, "organization %" PRIu64 ": not found", req->id);
    }
    int rc = hd_customers_org_read(store_of(call), hd_rpc_call_arena(call), req->id, &o, err);
    if (rc == HD_OK)
        *(Helpdesk__V1__Organization *)respm = *o;
    return rc;
}

static int update_org(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                      hd_err *err)
{
    const Helpdesk__V1__UpdateOrganizationRequest *req =
        REQ(Helpdesk__V1__UpdateOrganizationRequest, reqm);
    hd_customers_actor actor = actor_of(call);
    Helpdesk__V1__Organization *o = NULL;
    int rc = hd_customers_org_update(store_of(call), hd_rpc_call_arena(call), req->id, req->name,
                                     req->shared_tickets, &actor, &o, err);
    if (rc == HD_OK)
        *(Helpdesk__V1__Organization *)respm = *o;
    return rc;
}

/* Handlers that block (argon2id, synchronous store writes) run on the app's offload pool. */
#define SLOW_POOL(call) (((hd_app *)hd_rpc_call_app(call))->slow)
HD_OFFLOADED(create_customer, SLOW_POOL)
HD_OFFLOADED(update_customer, SLOW_POOL)
HD_OFFLOADED(create_org, SLOW_POOL)
HD_OFFLOADED(update_org, SLOW_POOL)

#define ROW(name, fn, req, resp, perm)                                                             \
    {                                                                                              \
        .path = "/helpdesk.v1.CustomerService/" name, .kind = HD_RPC_UNARY,                        \
        .request = &helpdesk__v1__##req##__descriptor,                                             \
        .response = &helpdesk__v1__##resp##__descriptor, .unary = fn, .permission = perm,          \
    }

static const hd_rpc_method methods[] = {
    ROW("CreateCustomer", create_customer_offloaded, create_customer_request, customer,
        HD_PERM_CUSTOMER_WRITE),
    ROW("GetCustomer", get_customer, get_customer_request, customer, HD_PERM_CUSTOMER_READ),
    ROW("LookupCustomer", lookup_customer, lookup_customer_request, customer,
        HD_PERM_CUSTOMER_READ),
    ROW("UpdateCustomer", update_customer_offloaded, update_customer_request, customer,
        HD_PERM_CUSTOMER_WRITE),
    ROW("ListCustomerTickets", list_customer_tickets, list_customer_tickets_request,
        list_tickets_response, HD_PERM_TICKET_READ),
    ROW("CreateOrganization", create_org_offloaded, create_organization_request, organization,
        HD_PERM_CUSTOMER_WRITE),
    ROW("GetOrganization", get_org, get_organization_request, organization, HD_PERM_CUSTOMER_READ),
    ROW("UpdateOrganization", update_org_offloaded, update_organization_request, organization,
        HD_PERM_CUSTOMER_WRITE),
};

const hd_rpc_method *hd_customers_api_methods(size_t *n)
{
    *n = sizeof(methods) / sizeof(methods[0]);
    return methods;
}
