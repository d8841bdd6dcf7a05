/* The access policy as one table. */
#include "server/api/perm.h"

#include <string.h>

#include "helpdesk/v1/auth.pb-c.h"

static const char *const names[HD_PERM__COUNT] = {[HD_PERM__NONE] = "open",
#define HD__PERM_NAME(id, name) [HD_PERM_##id] = name,
                                                  HD_PERM_MAP(HD__PERM_NAME)
#undef HD__PERM_NAME
};

const char *hd_perm_name(uint32_t perm)
{
    return perm < HD_PERM__COUNT ? names[perm] : "?";
}

uint64_t hd_perm_bit(uint32_t perm)
{
    return perm > 0 && perm < HD_PERM__COUNT ? (uint64_t)1 << perm : 0;
}

uint64_t hd_perm_scopes_from_names(const char *const *list, size_t n)
{
    uint64_t bits = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t p = 1; p < HD_PERM__COUNT; p++)
            if (list[i] && strcmp(list[i], names[p]) == 0)
                bits |= hd_perm_bit(p);
    return bits;
}

int hd_perm_role_allows(int role, uint32_t perm)
{
    if (perm == 0)
        return 1;
    if (perm >= HD_PERM__COUNT)
        return 0;
    switch (role) {
    case HELPDESK__V1__ROLE__ROLE_ADMIN:
        return 1;
    case HELPDESK__V1__ROLE__ROLE_MANAGER:
        return perm != HD_PERM_ADMIN && perm != HD_PERM_TICKET_IMPORT;
    case HELPDESK__V1__ROLE__ROLE_AGENT:
        return perm == HD_PERM_TICKET_READ || perm == HD_PERM_TICKET_WRITE ||
               perm == HD_PERM_CUSTOMER_READ || perm == HD_PERM_CUSTOMER_WRITE ||
               perm == HD_PERM_STAFF_READ;
    default:
        return 0;
    }
}

int hd_perm_customer_allows(uint32_t perm)
{
    /* customers.read only reaches their own record and organization (customers_api.c) */
    return perm == HD_PERM_TICKET_READ || perm == HD_PERM_TICKET_WRITE ||
           perm == HD_PERM_CUSTOMER_READ;
}
