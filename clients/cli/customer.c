/* `helpdesk customer ...`: customers (requesters) and their organizations
 * (CustomerService). A customer is named by id or by email address. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clients/cli/cli.h"
#include "helpdesk/v1/customers.pb-c.h"

#define SVC "/helpdesk.v1.CustomerService/"

/* Fetches a customer by id, or by email when the argument holds an '@'. */
static int get_customer(hd_cli *cli, const char *arg, ProtobufCMessage **out)
{
    if (strchr(arg, '@')) {
        Helpdesk__V1__LookupCustomerRequest req = HELPDESK__V1__LOOKUP_CUSTOMER_REQUEST__INIT;
        req.email = (char *)arg;
        return hd_cli_call(cli, SVC "LookupCustomer", &req.base,
                           &helpdesk__v1__customer__descriptor, out);
    }
    Helpdesk__V1__GetCustomerRequest req = HELPDESK__V1__GET_CUSTOMER_REQUEST__INIT;
    int rc = hd_cli_parse_id(cli, arg, "CUSTOMER", &req.id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return hd_cli_call(cli, SVC "GetCustomer", &req.base, &helpdesk__v1__customer__descriptor, out);
}

static int customer_id(hd_cli *cli, const char *arg, uint64_t *id)
{
    ProtobufCMessage *m;
    if (!strchr(arg, '@'))
        return hd_cli_parse_id(cli, arg, "CUSTOMER", id);
    int rc = get_customer(cli, arg, &m);
    if (rc == HD_CLI_EXIT_OK)
        *id = ((const Helpdesk__V1__Customer *)m)->id;
    return rc;
}

static const hd_cli_opt create_opts[] = {
    {"name", "NAME", "display name"},
    {"org", "ID", "organization id"},
    {0},
};

static int customer_create(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__CreateCustomerRequest req = HELPDESK__V1__CREATE_CUSTOMER_REQUEST__INIT;
    req.email = (char *)hd_cli_pos(a, 0);
    if (hd_cli_arg(a, "name"))
        req.name = (char *)hd_cli_arg(a, "name");
    int rc = hd_cli_arg_u64(cli, a, "org", 0, &req.organization_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return hd_cli_call_print(cli, SVC "CreateCustomer", &req.base,
                             &helpdesk__v1__customer__descriptor, "id");
}

static int customer_show(hd_cli *cli, const hd_cli_args *a)
{
    ProtobufCMessage *m;
    int rc = get_customer(cli, hd_cli_pos(a, 0), &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return hd_cli_print_message(cli, m, "id");
}

static const hd_cli_opt update_opts[] = {
    {"name", "NAME", "new display name"},
    {"org", "ID", "move to this organization"},
    {"no-org", NULL, "remove from their organization"},
    {0},
};

static int customer_update(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__UpdateCustomerRequest req = HELPDESK__V1__UPDATE_CUSTOMER_REQUEST__INIT;
    int rc = customer_id(cli, hd_cli_pos(a, 0), &req.id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (hd_cli_arg(a, "name"))
        req.name = (char *)hd_cli_arg(a, "name");
    rc = hd_cli_arg_u64(cli, a, "org", 0, &req.organization_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.clear_organization = hd_cli_flag(a, "no-org");
    if (!req.name[0] && !req.organization_id && !req.clear_organization)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "give --name, --org or --no-org");
    return hd_cli_call_print(cli, SVC "UpdateCustomer", &req.base,
                             &helpdesk__v1__customer__descriptor, "id");
}

static const hd_cli_opt tickets_opts[] = {
    {"limit", "N", "at most N tickets (default 50)"},
    {0},
};

static int customer_tickets(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__ListCustomerTicketsRequest req =
        HELPDESK__V1__LIST_CUSTOMER_TICKETS_REQUEST__INIT;
    uint64_t limit;
    int rc = customer_id(cli, hd_cli_pos(a, 0), &req.customer_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    rc = hd_cli_arg_u64(cli, a, "limit", 50, &limit);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.page_size = (int32_t)(limit > 1000 ? 1000 : limit);
    ProtobufCMessage *m;
    rc = hd_cli_call(cli, SVC "ListCustomerTickets", &req.base,
                     &helpdesk__v1__list_tickets_response__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    static const char *const cols[] = {"number", "status", "priority", "update_time", "subject"};
    const Helpdesk__V1__ListTicketsResponse *r = (const Helpdesk__V1__ListTicketsResponse *)m;
    return hd_cli_print_list(cli, m, (const ProtobufCMessage *const *)r->tickets, r->n_tickets,
                             cols, 5, "number");
}

/* --- organizations ------------------------------------------------------------------ */

static const hd_cli_opt org_opts[] = {
    {"shared", NULL, "members may read every ticket of the organization"},
    {0},
};

static int org_create(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__CreateOrganizationRequest req = HELPDESK__V1__CREATE_ORGANIZATION_REQUEST__INIT;
    req.name = (char *)hd_cli_pos(a, 0);
    req.shared_tickets = hd_cli_flag(a, "shared");
    return hd_cli_call_print(cli, SVC "CreateOrganization", &req.base,
                             &helpdesk__v1__organization__descriptor, "id");
}

static int org_show(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__GetOrganizationRequest req = HELPDESK__V1__GET_ORGANIZATION_REQUEST__INIT;
    int rc = hd_cli_parse_id(cli, hd_cli_pos(a, 0), "ORG", &req.id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return hd_cli_call_print(cli, SVC "GetOrganization", &req.base,
                             &helpdesk__v1__organization__descriptor, "id");
}

static const hd_cli_opt org_update_opts[] = {
    {"name", "NAME", "new name"},
    {"shared", NULL, "members may read every ticket of the organization"},
    {"private", NULL, "members see only their own tickets"},
    {0},
};

static int org_update(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__UpdateOrganizationRequest req = HELPDESK__V1__UPDATE_ORGANIZATION_REQUEST__INIT;
    int rc = hd_cli_parse_id(cli, hd_cli_pos(a, 0), "ORG", &req.id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    int shared = hd_cli_flag(a, "shared"), priv = hd_cli_flag(a, "private");
    if (shared == priv)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                           "give exactly one of --shared or --private (the call sets both)");
    req.shared_tickets = shared;
    if (hd_cli_arg(a, "name"))
        req.name = (char *)hd_cli_arg(a, "name");
    return hd_cli_call_print(cli, SVC "UpdateOrganization", &req.base,
                             &helpdesk__v1__organization__descriptor, "id");
}

static const hd_cli_cmd customer_cmds[] = {
    {"show", "Show a customer by id or email", "CUSTOMER", NULL,
     "helpdesk customer show ada@example.com", customer_show, 1, 1},
    {"create", "Add a customer", "EMAIL [--name NAME] [--org ID]", create_opts,
     "helpdesk customer create ada@example.com --name 'Ada Lovelace' --org 1", customer_create, 1,
     1},
    {"update", "Rename a customer or change their organization", "CUSTOMER [flags]", update_opts,
     "helpdesk customer update ada@example.com --org 2", customer_update, 1, 1},
    {"tickets", "List a customer's tickets, newest first", "CUSTOMER [--limit N]", tickets_opts,
     "helpdesk customer tickets ada@example.com --limit 10", customer_tickets, 1, 1},
    {"org-create", "Create an organization", "NAME [--shared]", org_opts,
     "helpdesk customer org-create 'Acme Corp' --shared", org_create, 1, 1},
    {"org-show", "Show an organization", "ORG_ID", NULL, "helpdesk customer org-show 1", org_show,
     1, 1},
    {"org-update", "Rename an organization or change its ticket sharing",
     "ORG_ID (--shared|--private) [--name NAME]", org_update_opts,
     "helpdesk customer org-update 1 --private --name 'Acme Inc'", org_update, 1, 1},
    {0},
};

HD_CLI_GROUP(customer, "Customers and organizations", customer_cmds)
