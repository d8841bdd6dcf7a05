/* `helpdesk staff ...` and `helpdesk group ...`: staff members, groups (teams) and
 * per-agent metrics (StaffService). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clients/cli/cli.h"
#include "helpdesk/v1/staff.pb-c.h"

#define SVC "/helpdesk.v1.StaffService/"

static const char *const staff_cols[] = {"id",     "name",      "email",   "role",
                                         "active", "group_ids", "capacity"};

/* Parses positional argument i as an id. */
static int pos_id(hd_cli *cli, const hd_cli_args *a, int i, const char *what, uint64_t *out)
{
    return hd_cli_parse_id(cli, hd_cli_pos(a, i), what, out);
}

/* Repeated --group ID values into an arena array. */
static int group_ids(hd_cli *cli, const hd_cli_args *a, uint64_t **out, size_t *n)
{
    const char *const *v = hd_cli_arg_list(a, "group", n);
    *out = hd_arena_calloc(hd_cli_arena(cli), *n + 1, sizeof(**out));
    if (!*out || !v)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    for (size_t i = 0; i < *n; i++) {
        char *end = NULL;
        (*out)[i] = strtoull(v[i], &end, 10);
        if (!*v[i] || *end || v[i][0] == '-')
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--group: want a group id, got \"%s\"",
                               v[i]);
    }
    return HD_CLI_EXIT_OK;
}

/* A password from the first line of stdin (--password-stdin), in the arena. */
static int password_stdin(hd_cli *cli, char **out)
{
    char buf[1100];
    if (!fgets(buf, sizeof(buf), stdin))
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--password-stdin: no line on stdin");
    buf[strcspn(buf, "\r\n")] = '\0';
    *out = hd_arena_strdup(hd_cli_arena(cli), buf);
    explicit_bzero(buf, sizeof(buf));
    return *out ? HD_CLI_EXIT_OK : hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
}

static const hd_cli_opt list_opts[] = {
    {"group", "ID", "only members of this group"},
    {"inactive", NULL, "include deactivated members"},
    {0},
};

static int staff_list(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__ListStaffRequest req = HELPDESK__V1__LIST_STAFF_REQUEST__INIT;
    int rc = hd_cli_arg_u64(cli, a, "group", 0, &req.group_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.include_inactive = hd_cli_flag(a, "inactive");
    req.page_size = 1000;
    ProtobufCMessage *m;
    rc = hd_cli_call(cli, SVC "ListStaff", &req.base,
                     &helpdesk__v1__list_staff_response__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    const Helpdesk__V1__ListStaffResponse *r = (const Helpdesk__V1__ListStaffResponse *)m;
    return hd_cli_print_list(cli, m, (const ProtobufCMessage *const *)r->staff, r->n_staff,
                             staff_cols, 7, "id");
}

static const hd_cli_opt create_opts[] = {
    {"email", "EMAIL", "login email (required)"},
    {"name", "NAME", "display name (required)"},
    {"role", "ROLE", "admin, manager or agent (required)"},
    {"password-stdin", NULL, "initial password from the first line of stdin"},
    {"group", "ID", "a group to join (repeatable)"},
    {"capacity", "N", "most open tickets auto-assign gives them (0 = no limit)"},
    {0},
};

static int staff_create(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__CreateStaffRequest req = HELPDESK__V1__CREATE_STAFF_REQUEST__INIT;
    uint64_t cap;
    int v, rc;
    if (!hd_cli_arg(a, "email") || !hd_cli_arg(a, "name") || !hd_cli_arg(a, "role"))
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--email, --name and --role are required");
    req.email = (char *)hd_cli_arg(a, "email");
    req.name = (char *)hd_cli_arg(a, "name");
    rc = hd_cli_arg_enum(cli, a, "role", &helpdesk__v1__role__descriptor, 0, &v);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.role = (Helpdesk__V1__Role)v;
    rc = hd_cli_arg_u64(cli, a, "capacity", 0, &cap);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.capacity = (uint32_t)cap;
    rc = group_ids(cli, a, &req.group_ids, &req.n_group_ids);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (hd_cli_flag(a, "password-stdin")) {
        rc = password_stdin(cli, &req.password);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
    }
    return hd_cli_call_print(cli, SVC "CreateStaff", &req.base, &helpdesk__v1__staff__descriptor,
                             "id");
}

static int staff_show(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__GetStaffRequest req = HELPDESK__V1__GET_STAFF_REQUEST__INIT;
    int rc = pos_id(cli, a, 0, "STAFF", &req.id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return hd_cli_call_print(cli, SVC "GetStaff", &req.base, &helpdesk__v1__staff__descriptor,
                             "id");
}

static const hd_cli_opt update_opts[] = {
    {"name", "NAME", "new display name"},
    {"role", "ROLE", "admin, manager or agent"},
    {"capacity", "N", "auto-assign capacity (0 = no limit)"},
    {"group", "ID", "the new group set (repeatable; replaces all)"},
    {"activate", NULL, "reactivate a deactivated member"},
    {"password-stdin", NULL, "new password from the first line of stdin"},
    {0},
};

static int staff_update(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__UpdateStaffRequest req = HELPDESK__V1__UPDATE_STAFF_REQUEST__INIT;
    Helpdesk__V1__Staff s = HELPDESK__V1__STAFF__INIT;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *paths[5];
    size_t np = 0;
    int rc = pos_id(cli, a, 0, "STAFF", &s.id), v;
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (hd_cli_arg(a, "name")) {
        s.name = (char *)hd_cli_arg(a, "name");
        paths[np++] = (char *)"name";
    }
    if (hd_cli_arg(a, "role")) {
        rc = hd_cli_arg_enum(cli, a, "role", &helpdesk__v1__role__descriptor, 0, &v);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        s.role = (Helpdesk__V1__Role)v;
        paths[np++] = (char *)"role";
    }
    if (hd_cli_arg(a, "capacity")) {
        uint64_t cap;
        rc = hd_cli_arg_u64(cli, a, "capacity", 0, &cap);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        s.capacity = (uint32_t)cap;
        paths[np++] = (char *)"capacity";
    }
    if (hd_cli_arg(a, "group")) {
        rc = group_ids(cli, a, &s.group_ids, &s.n_group_ids);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        paths[np++] = (char *)"group_ids";
    }
    if (hd_cli_flag(a, "activate")) {
        s.active = 1;
        paths[np++] = (char *)"active";
    }
    if (hd_cli_flag(a, "password-stdin")) {
        rc = password_stdin(cli, &req.password);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
    }
    if (np == 0 && !req.password[0])
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                           "nothing to change (see `helpdesk staff update --help`)");
    if (np == 0) {
        /* Password only: an empty mask would mean "all fields". Keep the name as it is. */
        Helpdesk__V1__GetStaffRequest g = HELPDESK__V1__GET_STAFF_REQUEST__INIT;
        ProtobufCMessage *cur;
        g.id = s.id;
        rc = hd_cli_call(cli, SVC "GetStaff", &g.base, &helpdesk__v1__staff__descriptor, &cur);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        s.name = ((Helpdesk__V1__Staff *)cur)->name;
        paths[np++] = (char *)"name";
    }
    mask.paths = paths;
    mask.n_paths = np;
    req.staff = &s;
    req.update_mask = &mask;
    return hd_cli_call_print(cli, SVC "UpdateStaff", &req.base, &helpdesk__v1__staff__descriptor,
                             "id");
}

static int staff_deactivate(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__DeactivateStaffRequest req = HELPDESK__V1__DEACTIVATE_STAFF_REQUEST__INIT;
    int rc = pos_id(cli, a, 0, "STAFF", &req.id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return hd_cli_call_print(cli, SVC "DeactivateStaff", &req.base,
                             &helpdesk__v1__staff__descriptor, "id");
}

static int staff_metrics(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__GetAgentMetricsRequest req = HELPDESK__V1__GET_AGENT_METRICS_REQUEST__INIT;
    int rc = hd_cli_npos(a) ? pos_id(cli, a, 0, "STAFF", &req.staff_id) : HD_CLI_EXIT_OK;
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return hd_cli_call_print(cli, SVC "GetAgentMetrics", &req.base,
                             &helpdesk__v1__agent_metrics__descriptor, "staff_id");
}

static const hd_cli_cmd staff_cmds[] = {
    {"list", "List staff members", "[--group ID] [--inactive]", list_opts,
     "helpdesk staff list --group 2", staff_list, 0, 0},
    {"create", "Add a staff member", "--email EMAIL --name NAME --role ROLE [flags]", create_opts,
     "helpdesk staff create --email bob@example.com --name Bob --role agent --group 1",
     staff_create, 0, 0},
    {"show", "Show one staff member", "STAFF_ID", NULL, "helpdesk staff show 3", staff_show, 1, 1},
    {"update", "Change a member's name, role, capacity, groups or password", "STAFF_ID [flags]",
     update_opts, "helpdesk staff update 3 --role manager --capacity 20", staff_update, 1, 1},
    {"deactivate", "Deactivate a member: no login, no auto-assign, tokens refused", "STAFF_ID",
     NULL, "helpdesk staff deactivate 3", staff_deactivate, 1, 1},
    {"metrics", "Per-agent figures (open, solved today and this week, first response)",
     "[STAFF_ID]", NULL, "helpdesk staff metrics 3", staff_metrics, 0, 1},
    {0},
};

HD_CLI_GROUP(staff, "Staff members and their metrics", staff_cmds)

/* --- groups ------------------------------------------------------------------------- */

static int group_list(hd_cli *cli, const hd_cli_args *a)
{
    (void)a;
    Helpdesk__V1__ListGroupsRequest req = HELPDESK__V1__LIST_GROUPS_REQUEST__INIT;
    ProtobufCMessage *m;
    int rc = hd_cli_call(cli, SVC "ListGroups", &req.base,
                         &helpdesk__v1__list_groups_response__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    static const char *const cols[] = {"id", "name", "description", "create_time"};
    const Helpdesk__V1__ListGroupsResponse *r = (const Helpdesk__V1__ListGroupsResponse *)m;
    return hd_cli_print_list(cli, m, (const ProtobufCMessage *const *)r->groups, r->n_groups, cols,
                             4, "id");
}

static const hd_cli_opt group_create_opts[] = {
    {"description", "TEXT", "what the group does"},
    {0},
};

static int group_create(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__CreateGroupRequest req = HELPDESK__V1__CREATE_GROUP_REQUEST__INIT;
    req.name = (char *)hd_cli_pos(a, 0);
    if (hd_cli_arg(a, "description"))
        req.description = (char *)hd_cli_arg(a, "description");
    return hd_cli_call_print(cli, SVC "CreateGroup", &req.base, &helpdesk__v1__group__descriptor,
                             "id");
}

static int change_member(hd_cli *cli, const hd_cli_args *a, int add)
{
    uint64_t g, s;
    int rc = pos_id(cli, a, 0, "GROUP", &g);
    if (rc == HD_CLI_EXIT_OK)
        rc = pos_id(cli, a, 1, "STAFF", &s);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    ProtobufCMessage *m;
    if (add) {
        Helpdesk__V1__AddGroupMemberRequest req = HELPDESK__V1__ADD_GROUP_MEMBER_REQUEST__INIT;
        req.group_id = g;
        req.staff_id = s;
        rc =
            hd_cli_call(cli, SVC "AddGroupMember", &req.base, &helpdesk__v1__staff__descriptor, &m);
    } else {
        Helpdesk__V1__RemoveGroupMemberRequest req =
            HELPDESK__V1__REMOVE_GROUP_MEMBER_REQUEST__INIT;
        req.group_id = g;
        req.staff_id = s;
        rc = hd_cli_call(cli, SVC "RemoveGroupMember", &req.base, &helpdesk__v1__staff__descriptor,
                         &m);
    }
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return hd_cli_print_message(cli, m, "id");
}

static int group_add(hd_cli *cli, const hd_cli_args *a)
{
    return change_member(cli, a, 1);
}

static int group_remove(hd_cli *cli, const hd_cli_args *a)
{
    return change_member(cli, a, 0);
}

static const hd_cli_cmd group_cmds[] = {
    {"list", "List groups", "", NULL, "helpdesk group list", group_list, 0, 0},
    {"create", "Create a group", "NAME [--description TEXT]", group_create_opts,
     "helpdesk group create billing --description 'Invoices and refunds'", group_create, 1, 1},
    {"add-member", "Add a staff member to a group", "GROUP_ID STAFF_ID", NULL,
     "helpdesk group add-member 2 7", group_add, 2, 2},
    {"remove-member", "Remove a staff member from a group", "GROUP_ID STAFF_ID", NULL,
     "helpdesk group remove-member 2 7", group_remove, 2, 2},
    {0},
};

HD_CLI_GROUP(group, "Groups (teams) of staff", group_cmds)
