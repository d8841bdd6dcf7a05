/* Permissions named in method tables (hd_rpc_method.permission) and the access policy:
 * which role, service scope or customer holds which permission. Deny by default. Object-level
 * checks (a customer's own tickets, an agent's groups) stay in the handlers. */
#ifndef HD_API_PERM_H
#define HD_API_PERM_H

#include <stddef.h>
#include <stdint.h>

/* XX(enum suffix, scope name used on service tokens). HD_PERM_* values start at 1 so that
 * 0 stays HD_RPC_OPEN (no token needed). At most 63 permissions (one bit each). */
#define HD_PERM_MAP(XX)                                                                            \
    XX(TICKET_READ, "tickets.read")                                                                \
    XX(TICKET_WRITE, "tickets.write")                                                              \
    XX(STAFF_READ, "staff.read")                                                                   \
    XX(STAFF_WRITE, "staff.write")                                                                 \
    XX(CUSTOMER_READ, "customers.read")                                                            \
    XX(CUSTOMER_WRITE, "customers.write")                                                          \
    XX(REPORT_READ, "reports.read")                                                                \
    XX(ADMIN, "admin")                                                                             \
    XX(SELF, "self") /* any valid token: calls about the caller itself (Logout) */                 \
    XX(TICKET_IMPORT, "tickets.import") /* historical times on ticket writes (imports) */

enum {
    HD_PERM__NONE = 0,
#define HD__PERM_ENUM(id, name) HD_PERM_##id,
    HD_PERM_MAP(HD__PERM_ENUM)
#undef HD__PERM_ENUM
        HD_PERM__COUNT
};

/* Returns the scope name of perm ("tickets.read"), "open" for 0, "?" if unknown. Static. */
const char *hd_perm_name(uint32_t perm);

/* Returns the bit of perm in hd_identity.scopes (0 for unknown values). */
uint64_t hd_perm_bit(uint32_t perm);

/* Returns the scope bits named by the n strings in names; unknown names are ignored
 * (a token minted by a newer server keeps working for the scopes this one knows). */
uint64_t hd_perm_scopes_from_names(const char *const *names, size_t n);

/* Whether a staff member with role (helpdesk.v1.Role value) holds perm. */
int hd_perm_role_allows(int role, uint32_t perm);

/* Whether a customer (portal token) may call a method needing perm at all; which objects
 * they may touch is checked by the handler. */
int hd_perm_customer_allows(uint32_t perm);

#endif
