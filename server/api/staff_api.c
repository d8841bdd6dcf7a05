/* StaffService: validate, enforce who may touch whom (only admins grant or change the admin
 * role), call server/staff, map results. */
#include "server/api/staff_api.h"

#include <inttypes.h>

#include "helpdesk/v1/staff.pb-c.h"
#include "server/api/access.h"
#include "server/api/offload.h"
#include "server/api/perm.h"
#include "server/app.h"
#include "server/clock/clock.h"
#include "server/staff/metrics.h"
#include "server/staff/staff.h"

#define REQ(T, m) ((const T *)(m))

static hd_staff_actor actor_of(hd_rpc_call *call)
{
    hd_staff_actor a;
    hd_access_actor(hd_rpc_call_identity(call), &a.kind, &a.id);
    return a;
}

static hd_store *store_of(hd_rpc_call *call)
{
    return ((hd_app *)hd_rpc_call_app(call))->store;
}

static bool caller_is_admin(hd_rpc_call *call)
{
    const hd_identity *who = hd_rpc_call_identity(call);
    return (who->kind == HD_PRINCIPAL_STAFF && who->role == HELPDESK__V1__ROLE__ROLE_ADMIN) ||
           (who->kind == HD_PRINCIPAL_SERVICE && (who->scopes & hd_perm_bit(HD_PERM_ADMIN)));
}

/* Non-admins may not create, promote to or change an admin. */
static int admin_guard(hd_rpc_call *call, uint64_t target, int new_role, hd_err *err)
{
    if (caller_is_admin(call))
        return HD_OK;
    if (new_role == HELPDESK__V1__ROLE__ROLE_ADMIN)
        return hd_err_set(err, HD_EPERM, "role: only admins grant the admin role");
    if (!target)
        return HD_OK;
    hd_arena *a = hd_rpc_call_arena(call);
    hd_txn *txn;
    int rc = hd_store_read_begin(store_of(call), &txn, err);
    if (rc != HD_OK)
        return rc;
    Helpdesk__V1__Staff *s = NULL;
    rc = hd_staff_get(txn, a, target, &s, err);
    hd_store_read_end(txn);
    if (rc == HD_OK && s->role == HELPDESK__V1__ROLE__ROLE_ADMIN)
        rc = hd_err_set(err, HD_EPERM, "staff %" PRIu64 ": only admins change an admin", target);
    return rc;
}

static void copy_out(ProtobufCMessage *respm, const Helpdesk__V1__Staff *s)
{
    *(Helpdesk__V1__Staff *)respm = *s;
}

static int create_staff(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                        hd_err *err)
{
    const Helpdesk__V1__CreateStaffRequest *req = REQ(Helpdesk__V1__CreateStaffRequest, reqm);
    hd_staff_actor actor = actor_of(call);
    Helpdesk__V1__Staff *out = NULL;
    int rc = admin_guard(call, 0, req->role, err);
    if (rc == HD_OK)
        rc = hd_staff_create(store_of(call), hd_rpc_call_arena(call), req, &actor, &out, err);
    if (rc == HD_OK)
        copy_out(respm, out);
    return rc;
}

static int get_staff(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                     hd_err *err)
{
    const Helpdesk__V1__GetStaffRequest *req = REQ(Helpdesk__V1__GetStaffRequest, reqm);
    if (req->id == 0)
        return hd_err_set(err, HD_EINVAL, "id: required");
    hd_txn *txn;
    int rc = hd_store_read_begin(store_of(call), &txn, err);
    if (rc != HD_OK)
        return rc;
    Helpdesk__V1__Staff *s = NULL;
    rc = hd_staff_get(txn, hd_rpc_call_arena(call), req->id, &s, err);
    hd_store_read_end(txn);
    if (rc == HD_OK)
        copy_out(respm, s);
    return rc;
}

static int update_staff(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                        hd_err *err)
{
    const Helpdesk__V1__UpdateStaffRequest *req = REQ(Helpdesk__V1__UpdateStaffRequest, reqm);
    if (!req->staff)
        return hd_err_set(err, HD_EINVAL, "staff: required");
    hd_staff_actor actor = actor_of(call);
    Helpdesk__V1__Staff *out = NULL;
    size_t n_mask = req->update_mask ? req->update_mask->n_paths : 0;
    const char *const *mask = n_mask ? (const char *const *)req->update_mask->paths : NULL;
    int rc = admin_guard(call, req->staff->id, req->staff->role, err);
    if (rc == HD_OK)
        rc = hd_staff_update(store_of(call), hd_rpc_call_arena(call), req->staff, mask, n_mask,
                             req->password, &actor, &out, err);
    if (rc == HD_OK)
        copy_out(respm, out);
    return rc;
}

static int deactivate_staff(hd_rpc_call *call, const ProtobufCMessage *reqm,
                            ProtobufCMessage *respm, hd_err *err)
{
    const Helpdesk__V1__DeactivateStaffRequest *req =
        REQ(Helpdesk__V1__DeactivateStaffRequest, reqm);
    if (req->id == 0)
        return hd_err_set(err, HD_EINVAL, "id: required");
    hd_staff_actor actor = actor_of(call);
    Helpdesk__V1__Staff *out = NULL;
    int rc = admin_guard(call, req->id, 0, err);
    if (rc == HD_OK)
        rc = hd_staff_deactivate(store_of(call), hd_rpc_call_arena(call), req->id, &actor, &out,
                                 err);
    if (rc == HD_OK)
        copy_out(respm, out);
    return rc;
}

static int list_staff(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                      hd_err *err)
{
    return hd_staff_list(store_of(call), hd_rpc_call_arena(call),
                         REQ(Helpdesk__V1__ListStaffRequest, reqm),
                         (Helpdesk__V1__ListStaffResponse *)respm, err);
}

static int create_group(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                        hd_err *err)
{
    const Helpdesk__V1__CreateGroupRequest *req = REQ(Helpdesk__V1__CreateGroupRequest, reqm);
    hd_staff_actor actor = actor_of(call);
    Helpdesk__V1__Group *g = NULL;
    int rc = hd_staff_group_create(store_of(call), hd_rpc_call_arena(call), req->name,
                                   req->description, req->auto_assign, &actor, &g, err);
    if (rc == HD_OK)
        *(Helpdesk__V1__Group *)respm = *g;
    return rc;
}

static int list_groups(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                       hd_err *err)
{
    (void)reqm;
    return hd_staff_group_list(store_of(call), hd_rpc_call_arena(call),
                               (Helpdesk__V1__ListGroupsResponse *)respm, err);
}

static int membership(hd_rpc_call *call, uint64_t group_id, uint64_t staff_id, bool add,
                      ProtobufCMessage *respm, hd_err *err)
{
    hd_staff_actor actor = actor_of(call);
    Helpdesk__V1__Staff *out = NULL;
    int rc = hd_staff_membership(store_of(call), hd_rpc_call_arena(call), group_id, staff_id, add,
                                 &actor, &out, err);
    if (rc == HD_OK)
        copy_out(respm, out);
    return rc;
}

static int add_member(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                      hd_err *err)
{
    const Helpdesk__V1__AddGroupMemberRequest *req = REQ(Helpdesk__V1__AddGroupMemberRequest, reqm);
    return membership(call, req->group_id, req->staff_id, true, respm, err);
}

static int remove_member(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                         hd_err *err)
{
    const Helpdesk__V1__RemoveGroupMemberRequest *req =
        REQ(Helpdesk__V1__RemoveGroupMemberRequest, reqm);
    return membership(call, req->group_id, req->staff_id, false, respm, err);
}

/* Agents see their own metrics; managers, admins and services with staff.read anyone's. */
static int agent_metrics(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                         hd_err *err)
{
    const Helpdesk__V1__GetAgentMetricsRequest *req =
        REQ(Helpdesk__V1__GetAgentMetricsRequest, reqm);
    const hd_identity *who = hd_rpc_call_identity(call);
    uint64_t id = req->staff_id ? req->staff_id : who->id;
    if (id == 0)
        return hd_err_set(err, HD_EINVAL, "staff_id: required");
    if (who->kind == HD_PRINCIPAL_STAFF && who->role == HELPDESK__V1__ROLE__ROLE_AGENT &&
        id != who->id)
        return hd_err_set(err, HD_EPERM, "staff_id: agents see only their own metrics");
    return hd_staff_metrics_get(store_of(call), id, hd_clock_now_ms(),
                                (Helpdesk__V1__AgentMetrics *)respm, err);
}

/* Handlers that block (argon2id, synchronous store writes) run on the app's offload pool. */
#define SLOW_POOL(call) (((hd_app *)hd_rpc_call_app(call))->slow)
HD_OFFLOADED(create_staff, SLOW_POOL)
HD_OFFLOADED(update_staff, SLOW_POOL)
HD_OFFLOADED(deactivate_staff, SLOW_POOL)
HD_OFFLOADED(create_group, SLOW_POOL)
HD_OFFLOADED(add_member, SLOW_POOL)
HD_OFFLOADED(remove_member, SLOW_POOL)

#define ROW(name, fn, req, resp, perm)                                                             \
    {                                                                                              \
        .path = "/helpdesk.v1.StaffService/" name, .kind = HD_RPC_UNARY,                           \
        .request = &helpdesk__v1__##req##__descriptor,                                             \
        .response = &helpdesk__v1__##resp##__descriptor, .unary = fn, .permission = perm,          \
    }

static const hd_rpc_method methods[] = {
    ROW("CreateStaff", create_staff_offloaded, create_staff_request, staff, HD_PERM_STAFF_WRITE),
    ROW("GetStaff", get_staff, get_staff_request, staff, HD_PERM_STAFF_READ),
    ROW("UpdateStaff", update_staff_offloaded, update_staff_request, staff, HD_PERM_STAFF_WRITE),
    ROW("DeactivateStaff", deactivate_staff_offloaded, deactivate_staff_request, staff,
        HD_PERM_STAFF_WRITE),
    ROW("ListStaff", list_staff, list_staff_request, list_staff_response, HD_PERM_STAFF_READ),
    ROW("CreateGroup", create_group_offloaded, create_group_request, group, HD_PERM_STAFF_WRITE),
    ROW("ListGroups", list_groups, list_groups_request, list_groups_response, HD_PERM_STAFF_READ),
    ROW("AddGroupMember", add_member_offloaded, add_group_member_request, staff,
        HD_PERM_STAFF_WRITE),
    ROW("RemoveGroupMember", remove_member_offloaded, remove_group_member_request, staff,
        HD_PERM_STAFF_WRITE),
    ROW("GetAgentMetrics", agent_metrics, get_agent_metrics_request, agent_metrics,
        HD_PERM_STAFF_READ),
};

const hd_rpc_method *hd_staff_api_methods(size_t *n)
{
    *n = sizeof(methods) / sizeof(methods[0]);
    return methods;
}
