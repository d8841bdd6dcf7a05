"""Access control against a live helpdeskd: the RBAC matrix (every served RPC x every kind of
caller x own/other object, generated from one table and one policy model), plus staff
login, tokens, audit trail and CreateTicket idempotency under concurrency.

The policy model below is written from the issue's matrix, not from the C code: admin all;
manager all but server administration; agent tickets of own groups; services per scope;
customers own tickets (organization's read-only when shared), never notes; wrong object ->
NOT_FOUND for customers, PERMISSION_DENIED for staff; bad/missing token -> UNAUTHENTICATED.
"""

import concurrent.futures
import itertools
import os
import re

import grpc
from google.protobuf import timestamp_pb2

from harness import (CREATE, GET, ServerTestCase, _PB, common_pb2, tickets_pb2, unary)

staff_pb2 = _PB["staff"]
customers_pb2 = _PB["customers"]
auth_pb2 = _PB["auth"]
admin_pb2 = _PB["admin"]

C = grpc.StatusCode
OK, DENIED, HIDDEN, UNAUTH = C.OK, C.PERMISSION_DENIED, C.NOT_FOUND, C.UNAUTHENTICATED

PASSWORD = "correct horse battery staple"

# Permissions (server/api/perm.h scope names).
TR, TW, SR, SW, CR, CW, RR, AD, SELF = ("tickets.read", "tickets.write", "staff.read",
                                        "staff.write", "customers.read", "customers.write",
                                        "reports.read", "admin", "self")
TI = "tickets.import"  # historical times on ticket writes (CreateTicket.create_time)
ALL = {TR, TW, SR, SW, CR, CW, RR, AD, TI}
ROLE_PERMS = {
    "admin": ALL,
    "manager": ALL - {AD, TI},
    "agent": {TR, TW, CR, CW, SR},
}
CUSTOMER_PERMS = {TR, TW, CR}  # customers.read: own record and organization only

# Callers: (name, kind, role or scopes, relation to the object ticket).
#   own: in the ticket's group / the ticket's customer; org: same shared organization.
CALLERS = [
    ("admin", "staff", "admin", None),
    ("manager", "staff", "manager", None),
    ("agent_in_group", "staff", "agent", "own"),
    ("agent_other_group", "staff", "agent", "other"),
    ("service_rw", "service", {TR, TW}, None),
    ("service_read", "service", {TR}, None),
    ("service_no_scope", "service", {RR}, None),
    ("service_import", "service", {TR, TW, TI}, None),
    ("customer_own", "customer", None, "own"),
    ("customer_org", "customer", None, "org"),
    ("customer_other", "customer", None, "other"),
    ("no_token", "none", None, None),
    ("bad_token", "bogus", None, None),
]


def holds(caller, perm):
    name, kind, role, rel = caller
    if kind in ("none", "bogus"):
        return False
    if perm is None or perm == SELF:
        return True
    if kind == "staff":
        return perm in ROLE_PERMS[role]
    if kind == "service":
        return perm in role
    return perm in CUSTOMER_PERMS


def ticket_access(caller, op):
    """Object-level decision for a ticket (op: read, reply, manage, notes) owned by
    customer_own, in agent_in_group's group. Returns OK, DENIED or HIDDEN."""
    name, kind, role, rel = caller
    if kind == "staff":
        if role in ("admin", "manager") or rel == "own":
            return OK
        return DENIED
    if kind == "service":
        need = TR if op in ("read", "notes") else TW
        return OK if need in role else DENIED
    # customers: never manage or notes; someone else's ticket stays invisible
    if op in ("manage", "notes"):
        return DENIED if rel == "own" else HIDDEN
    if rel == "own" or (rel == "org" and op == "read"):
        return OK
    return HIDDEN


class Row:
    """One RPC of the matrix. perm: method permission. op: ticket operation for an
    object-level check (None: method-level only). build(ctx, t): request for ticket/object
    t. ok: codes meaning "access granted" (the call may still fail later for a domain
    reason, e.g. a missing draft). rule(caller): overrides the model (returns a code)."""

    def __init__(self, path, req_cls, resp_cls, perm, op=None, build=None, ok=(OK,),
                 rule=None, stream=False):
        self.path, self.req_cls, self.resp_cls = path, req_cls, resp_cls
        self.perm, self.op, self.build, self.ok = perm, op, build, set(ok)
        self.rule, self.stream = rule, stream

    def expected(self, caller):
        if self.perm is None:  # open method: no token looked at
            return (self.rule and self.rule(caller)) or OK
        if caller[1] in ("none", "bogus"):
            return UNAUTH
        if not holds(caller, self.perm):
            return DENIED
        if self.rule:
            r = self.rule(caller)
            if r is not None:
                return r
        if self.op:
            return ticket_access(caller, self.op)
        return OK


def customers_only_own(deny_code):
    def rule(caller):
        if caller[1] == "customer":
            return OK if caller[3] == "own" else deny_code
        return None
    return rule


def customers_denied(caller):
    return DENIED if caller[1] == "customer" else None


def staff_only_customers(caller):
    """RateTicket: only the ticket's customer rates."""
    if caller[1] != "customer":
        return DENIED
    return OK if caller[3] == "own" else HIDDEN


def agents_denied(caller):
    return DENIED if caller[1] == "staff" and caller[2] == "agent" else None


def agents_own_metrics(caller):
    if caller[1] == "staff" and caller[2] == "agent":
        return OK if caller[3] == "own" else DENIED
    return None


T = "/helpdesk.v1.TicketService/"
S = "/helpdesk.v1.StaffService/"
CU = "/helpdesk.v1.CustomerService/"
AU = "/helpdesk.v1.AuthService/"
AM = "/helpdesk.v1.AdminService/"
RP = "/helpdesk.v1.ReportingService/"
NO_DRAFT = 999999


def rows(work_served):
    tp = tickets_pb2
    u = itertools.count(1)
    r = [
        Row(T + "CreateTicket", tp.CreateTicketRequest, tp.Ticket, TW,
            build=lambda c, t: tp.CreateTicketRequest(customer_id=c.cust["own"],
                                                      subject="From the matrix",
                                                      body="Hello."),
            rule=customers_only_own(DENIED)),
        # A historical create_time also needs tickets.import (TW is the method's permission).
        Row(T + "CreateTicket", tp.CreateTicketRequest, tp.Ticket, TW,
            build=lambda c, t: tp.CreateTicketRequest(
                customer_id=c.cust["own"], subject="Imported", body="Hello.",
                create_time=timestamp_pb2.Timestamp(seconds=1700000000)),
            rule=lambda caller: None if holds(caller, TI) else DENIED),
        Row(T + "GetTicket", tp.GetTicketRequest, tp.GetTicketResponse, TR, "read",
            build=lambda c, t: tp.GetTicketRequest(id=t.id)),
        Row(T + "UpdateTicket", tp.UpdateTicketRequest, tp.Ticket, TW, "manage",
            build=lambda c, t: c.update_req(t), rule=customers_denied),
        Row(T + "ReplyToTicket", tp.ReplyToTicketRequest, tp.ReplyToTicketResponse, TW, "reply",
            build=lambda c, t: tp.ReplyToTicketRequest(ticket_id=t.id, body="On it.")),
        Row(T + "UpdateDraft", tp.UpdateDraftRequest, tp.ReplyToTicketResponse, TW, "reply",
            build=lambda c, t: tp.UpdateDraftRequest(ticket_id=t.id, draft_id=NO_DRAFT,
                                                     body="x"),
            ok=(HIDDEN,), rule=customers_denied),
        Row(T + "SendDraft", tp.SendDraftRequest, tp.ReplyToTicketResponse, TW, "reply",
            build=lambda c, t: tp.SendDraftRequest(ticket_id=t.id, draft_id=NO_DRAFT),
            ok=(HIDDEN,), rule=customers_denied),
        Row(T + "DiscardDraft", tp.DiscardDraftRequest, tp.DiscardDraftResponse, TW, "reply",
            build=lambda c, t: tp.DiscardDraftRequest(ticket_id=t.id, draft_id=NO_DRAFT),
            ok=(HIDDEN,), rule=customers_denied),
        Row(T + "AddNote", tp.AddNoteRequest, _PB["tickets"].Note, TW, "notes",
            build=lambda c, t: tp.AddNoteRequest(ticket_id=t.id, body="internal"),
            rule=customers_denied),
        Row(T + "RateTicket", tp.RateTicketRequest, tp.Ticket, TW, "reply",
            build=lambda c, t: tp.RateTicketRequest(ticket_id=t.id, score=5),
            ok=(C.FAILED_PRECONDITION,), rule=staff_only_customers),
        Row(T + "WatchTickets", tp.WatchTicketsRequest, tp.WatchTicketsResponse, TR,
            build=lambda c, t: tp.WatchTicketsRequest(), ok=(C.DEADLINE_EXCEEDED,),
            rule=customers_denied, stream=True),
        # Staff
        Row(S + "CreateStaff", staff_pb2.CreateStaffRequest, staff_pb2.Staff, SW,
            build=lambda c, t: staff_pb2.CreateStaffRequest(
                email="new%d@example.com" % next(u), name="New", role=3)),
        Row(S + "GetStaff", staff_pb2.GetStaffRequest, staff_pb2.Staff, SR,
            build=lambda c, t: staff_pb2.GetStaffRequest(id=c.staff["agent_in_group"])),
        Row(S + "UpdateStaff", staff_pb2.UpdateStaffRequest, staff_pb2.Staff, SW,
            build=lambda c, t: c.rename_req()),
        Row(S + "DeactivateStaff", staff_pb2.DeactivateStaffRequest, staff_pb2.Staff, SW,
            build=lambda c, t: staff_pb2.DeactivateStaffRequest(id=c.spare_staff())),
        Row(S + "ListStaff", staff_pb2.ListStaffRequest, staff_pb2.ListStaffResponse, SR,
            build=lambda c, t: staff_pb2.ListStaffRequest()),
        Row(S + "CreateGroup", staff_pb2.CreateGroupRequest, staff_pb2.Group, SW,
            build=lambda c, t: staff_pb2.CreateGroupRequest(name="g%d" % next(u))),
        Row(S + "ListGroups", staff_pb2.ListGroupsRequest, staff_pb2.ListGroupsResponse, SR,
            build=lambda c, t: staff_pb2.ListGroupsRequest()),
        Row(S + "AddGroupMember", staff_pb2.AddGroupMemberRequest, staff_pb2.Staff, SW,
            build=lambda c, t: staff_pb2.AddGroupMemberRequest(
                group_id=c.groups["spare"], staff_id=c.staff["agent_in_group"])),
        Row(S + "RemoveGroupMember", staff_pb2.RemoveGroupMemberRequest, staff_pb2.Staff, SW,
            build=lambda c, t: staff_pb2.RemoveGroupMemberRequest(
                group_id=c.groups["spare"], staff_id=c.staff["agent_in_group"])),
        Row(S + "GetAgentMetrics", staff_pb2.GetAgentMetricsRequest, staff_pb2.AgentMetrics, SR,
            build=lambda c, t: staff_pb2.GetAgentMetricsRequest(
                staff_id=c.staff["agent_in_group"]),
            rule=agents_own_metrics),
        # Customers
        Row(CU + "CreateCustomer", customers_pb2.CreateCustomerRequest, customers_pb2.Customer,
            CW, build=lambda c, t: customers_pb2.CreateCustomerRequest(
                email="cust%d@example.com" % next(u), name="C")),
        Row(CU + "GetCustomer", customers_pb2.GetCustomerRequest, customers_pb2.Customer, CR,
            build=lambda c, t: customers_pb2.GetCustomerRequest(id=c.cust["own"]),
            rule=customers_only_own(HIDDEN)),
        Row(CU + "LookupCustomer", customers_pb2.LookupCustomerRequest, customers_pb2.Customer,
            CR, build=lambda c, t: customers_pb2.LookupCustomerRequest(email="own@example.com"),
            rule=customers_denied),
        Row(CU + "UpdateCustomer", customers_pb2.UpdateCustomerRequest, customers_pb2.Customer,
            CW, build=lambda c, t: customers_pb2.UpdateCustomerRequest(id=c.cust["own"],
                                                                        name="Own")),
        Row(CU + "ListCustomerTickets", customers_pb2.ListCustomerTicketsRequest,
            tickets_pb2.ListTicketsResponse, TR,
            build=lambda c, t: customers_pb2.ListCustomerTicketsRequest(
                customer_id=c.cust["own"]),
            rule=customers_only_own(HIDDEN)),
        Row(CU + "CreateOrganization", customers_pb2.CreateOrganizationRequest,
            customers_pb2.Organization, CW,
            build=lambda c, t: customers_pb2.CreateOrganizationRequest(name="o%d" % next(u))),
        Row(CU + "GetOrganization", customers_pb2.GetOrganizationRequest,
            customers_pb2.Organization, CR,
            build=lambda c, t: customers_pb2.GetOrganizationRequest(id=c.org),
            rule=lambda caller: (OK if caller[3] in ("own", "org") else HIDDEN)
            if caller[1] == "customer" else None),
        Row(CU + "UpdateOrganization", customers_pb2.UpdateOrganizationRequest,
            customers_pb2.Organization, CW,
            build=lambda c, t: customers_pb2.UpdateOrganizationRequest(id=c.org, name="Org",
                                                                        shared_tickets=True)),
        # Auth
        Row(AU + "Login", auth_pb2.LoginRequest, auth_pb2.LoginResponse, None,
            build=lambda c, t: auth_pb2.LoginRequest(email="spare@example.com",
                                                     password=PASSWORD),
            rule=lambda caller: OK),
        Row(AU + "Logout", auth_pb2.LogoutRequest, auth_pb2.LogoutResponse, SELF,
            build=lambda c, t: auth_pb2.LogoutRequest(token_id=NO_DRAFT), ok=(HIDDEN,)),
        Row(AU + "WhoAmI", auth_pb2.WhoAmIRequest, auth_pb2.WhoAmIResponse, SELF,
            build=lambda c, t: auth_pb2.WhoAmIRequest()),
        Row(AU + "CreateApiToken", auth_pb2.CreateApiTokenRequest, auth_pb2.LoginResponse, AD,
            build=lambda c, t: auth_pb2.CreateApiTokenRequest(name="svc", scopes=[TR])),
        Row(AU + "CreateCustomerToken", auth_pb2.CreateCustomerTokenRequest,
            auth_pb2.LoginResponse, CW,
            build=lambda c, t: auth_pb2.CreateCustomerTokenRequest(customer_id=c.cust["own"]),
            rule=agents_denied),
        Row(AU + "ListApiTokens", auth_pb2.ListApiTokensRequest, auth_pb2.ListApiTokensResponse,
            AD, build=lambda c, t: auth_pb2.ListApiTokensRequest()),
        Row(AU + "RevokeApiToken", auth_pb2.RevokeApiTokenRequest, auth_pb2.ApiToken, AD,
            build=lambda c, t: auth_pb2.RevokeApiTokenRequest(id=NO_DRAFT), ok=(HIDDEN,)),
        Row(AU + "ListAuditEvents", auth_pb2.ListAuditEventsRequest,
            auth_pb2.ListAuditEventsResponse, AD,
            build=lambda c, t: auth_pb2.ListAuditEventsRequest()),
        # Admin
        Row(AM + "GetStats", admin_pb2.GetStatsRequest, admin_pb2.Stats, AD,
            build=lambda c, t: admin_pb2.GetStatsRequest()),
        Row(AM + "Backup", admin_pb2.BackupRequest, admin_pb2.BackupResponse, AD,
            build=lambda c, t: admin_pb2.BackupRequest(path="backup-%d" % next(u))),
    ]
    # Part B's ticket-working RPCs, when this tree has them.
    if work_served:
        r += [
            Row(T + "AutoAssign", tp.AutoAssignRequest, tp.Ticket, TW, "manage",
                build=lambda c, t: tp.AutoAssignRequest(ticket_id=t.id),
                ok=(OK, C.FAILED_PRECONDITION)),
            Row(T + "GetDashboard", tp.GetDashboardRequest, tp.Dashboard, RR,
                build=lambda c, t: tp.GetDashboardRequest()),
            Row("/helpdesk.v1.SlaService/GetTicketSla", _PB["sla"].GetTicketSlaRequest,
                _PB["sla"].TicketSla, TR, "read",
                build=lambda c, t: _PB["sla"].GetTicketSlaRequest(ticket_id=t.id),
                ok=(OK, HIDDEN), rule=customers_denied),
            Row(T + "AssignTicket", tp.AssignTicketRequest, tp.Ticket, TW, "manage",
                build=lambda c, t: tp.AssignTicketRequest(ticket_id=t.id,
                                                          group_id=c.groups["in"])),
            Row(T + "EscalateTicket", tp.EscalateTicketRequest, tp.Ticket, TW, "manage",
                build=lambda c, t: tp.EscalateTicketRequest(ticket_id=t.id,
                                                            group_id=c.groups["in"],
                                                            reason=1, reason_text="x")),
            Row(T + "MergeTickets", tp.MergeTicketsRequest, tp.MergeTicketsResponse, TW,
                "manage", build=lambda c, t: tp.MergeTicketsRequest(
                    source_id=t.id, target_id=c.fresh_ticket().id)),
            Row(T + "LinkTickets", tp.LinkTicketsRequest, tp.LinkTicketsResponse, TW, "manage",
                build=lambda c, t: tp.LinkTicketsRequest(ticket_id=t.id,
                                                         other_id=c.fresh_ticket().id, kind=1)),
        ]
    return r


def proto_rpcs():
    """{path: (request class, response class, server-streaming)} for every RPC declared in
    proto/helpdesk/v1/*.proto."""
    root = os.path.join(os.path.dirname(__file__), "..", "..", "proto", "helpdesk", "v1")
    out = {}
    for fn in sorted(os.listdir(root)):
        if not fn.endswith(".proto"):
            continue
        mod = _PB[fn[:-len(".proto")]]
        svc = None
        with open(os.path.join(root, fn)) as f:
            for line in f:
                m = re.match(r"^service (\w+)", line)
                if m:
                    svc = m.group(1)
                m = re.match(r"^\s+rpc (\w+)\((\w+)\) returns \((stream )?(\w+)\)", line)
                if m and svc:
                    def cls(name):
                        for md in [mod] + list(_PB.values()):
                            if hasattr(md, name):
                                return getattr(md, name)
                        raise AssertionError("no message " + name)
                    out["/helpdesk.v1.%s/%s" % (svc, m.group(1))] = (
                        cls(m.group(2)), cls(m.group(4)), bool(m.group(3)))
    return out


# Method-level rows of the other teams' services: permission as each service documents it.
# Requests are empty, so "granted" is any code but PERMISSION_DENIED/UNAUTHENTICATED.
ANY = set(C) - {DENIED, UNAUTH}
ML = "/helpdesk.v1.MailService/"
SL = "/helpdesk.v1.SlaService/"
METHOD_LEVEL = dict(
    [(ML + m, AD) for m in ("AddMailbox", "ListMailboxes", "UpdateMailbox", "RemoveMailbox",
                            "TestMailbox", "ListOutbox", "RetryOutbox", "ListUndeliverable",
                            "ClearUndeliverable")] +
    [(ML + "UploadAttachment", TW), (ML + "GetAttachment", TR)] +
    [(SL + m, AD) for m in ("PutCalendar", "DeleteCalendar", "PutPolicy", "DeletePolicy")] +
    [(SL + m, RR) for m in ("GetCalendar", "ListCalendars", "GetPolicy", "ListPolicies",
                            "ListBreaches", "PreviewDue", "ListDeliveries")] +
    [(RP + m, RR) for m in ("GetReportRollups", "StreamReportTickets",
                            "StreamReportTicketBatches", "AcquireReportLease",
                            "CompleteReportLease")] +
    [(T + "ListTickets", TR)])


# Method-level rows with a rule beyond the permission.
# Staff attach and open files, not customers.
METHOD_RULES = {ML + "UploadAttachment": customers_denied, ML + "GetAttachment": customers_denied}


def method_level_rows(rpcs):
    out = []
    for path, perm in sorted(METHOD_LEVEL.items()):
        if path not in rpcs:
            continue
        req, resp, stream = rpcs[path]
        out.append(Row(path, req, resp, perm, build=lambda c, t, req=req: req(), ok=ANY,
                       rule=METHOD_RULES.get(path), stream=stream))
    return out


class Rbac(ServerTestCase):
    def setUp(self):
        self.s = self.start_server()
        self.ch = self.s.channel()
        self.admin = self.s.token
        self._setup_world()

    def tearDown(self):
        self.s.stop()

    def call(self, path, req, resp_cls, token, timeout=20):
        return unary(self.ch, path, req, resp_cls, token=token, timeout=timeout)

    def code_of(self, row, req, token, open_ok=False):
        """The status of one call. A stream runs to its end within 20 s, like a unary call;
        open_ok: DEADLINE_EXCEEDED counts as access granted (a watch that stays open), so
        the stream gets 0.5 s. Only then may a deadline decide the cell: a refusal that a
        slow server sends after 0.5 s must not read as DEADLINE_EXCEEDED."""
        try:
            if row.stream:
                fn = self.ch.unary_stream(row.path,
                                          request_serializer=lambda m: m.SerializeToString(),
                                          response_deserializer=row.resp_cls.FromString)
                md = [("authorization", "Bearer " + token)] if token else None
                for _ in fn(req, metadata=md, timeout=0.5 if open_ok else 20):
                    pass
                return OK, ""
            else:
                self.call(row.path, req, row.resp_cls, token)
            return OK, ""
        except grpc.RpcError as e:
            return e.code(), e.details()

    # -- the world every cell runs in ------------------------------------------------------
    def _setup_world(self):
        a = self.admin
        self.groups = {}
        for g in ("in", "other", "spare"):
            self.groups[g] = self.call(S + "CreateGroup", staff_pb2.CreateGroupRequest(name=g),
                                       staff_pb2.Group, a).id
        self.staff, self.tokens = {}, {"no_token": None, "bad_token": "hd_" + "A" * 43}
        people = [("admin", 1, None), ("manager", 2, None),
                  ("agent_in_group", 3, "in"), ("agent_other_group", 3, "other"),
                  ("spare", 3, None)]
        for name, role, group in people:
            req = staff_pb2.CreateStaffRequest(email="%s@example.com" % name, name=name,
                                               role=role, password=PASSWORD)
            if group:
                req.group_ids.append(self.groups[group])
            self.staff[name] = self.call(S + "CreateStaff", req, staff_pb2.Staff, a).id
            if name != "spare":
                self.tokens[name] = self.login(name + "@example.com", PASSWORD).token
        for name, scopes in (("service_rw", [TR, TW]), ("service_read", [TR]),
                             ("service_no_scope", [RR]), ("service_import", [TR, TW, TI])):
            self.tokens[name] = self.call(AU + "CreateApiToken",
                                          auth_pb2.CreateApiTokenRequest(name=name,
                                                                         scopes=scopes),
                                          auth_pb2.LoginResponse, a).token
        self.org = self.call(CU + "CreateOrganization",
                             customers_pb2.CreateOrganizationRequest(name="Acme",
                                                                     shared_tickets=True),
                             customers_pb2.Organization, a).id
        self.cust = {}
        for rel, org in (("own", self.org), ("org", self.org), ("other", 0)):
            self.cust[rel] = self.call(CU + "CreateCustomer",
                                       customers_pb2.CreateCustomerRequest(
                                           email="%s@example.com" % rel, name=rel,
                                           organization_id=org),
                                       customers_pb2.Customer, a).id
            self.tokens["customer_" + rel] = self.call(
                AU + "CreateCustomerToken",
                auth_pb2.CreateCustomerTokenRequest(customer_id=self.cust[rel]),
                auth_pb2.LoginResponse, a).token
        self.spares = []
        self.work_served = False
        t = self.fresh_ticket()
        try:
            self.call(T + "AssignTicket",
                      tickets_pb2.AssignTicketRequest(ticket_id=t.id, group_id=self.groups["in"]),
                      tickets_pb2.Ticket, self.admin)
            self.work_served = True
        except grpc.RpcError as e:
            if e.code() != C.UNIMPLEMENTED:
                raise

    def login(self, email, password):
        return self.call(AU + "Login", auth_pb2.LoginRequest(email=email, password=password),
                         auth_pb2.LoginResponse, None)

    def fresh_ticket(self):
        """A ticket of customer_own in group 'in' (group set through AssignTicket when
        served; without it agents own nothing and their 'own' cells are skipped)."""
        t = self.call(CREATE, tickets_pb2.CreateTicketRequest(customer_id=self.cust["own"],
                                                              subject="Matrix", body="Hi."),
                      tickets_pb2.Ticket, self.admin)
        if self.work_served:
            t = self.call(T + "AssignTicket",
                          tickets_pb2.AssignTicketRequest(ticket_id=t.id,
                                                          group_id=self.groups["in"]),
                          tickets_pb2.Ticket, self.admin)
        return t

    def update_req(self, t):
        req = tickets_pb2.UpdateTicketRequest()
        req.ticket.id = t.id
        req.ticket.priority = common_pb2.PRIORITY_HIGH
        req.update_mask.paths.append("priority")
        return req

    def rename_req(self):
        req = staff_pb2.UpdateStaffRequest()
        req.staff.id = self.staff["agent_in_group"]
        req.staff.name = "Agent In Group"
        req.update_mask.paths.append("name")
        return req

    def spare_staff(self):
        n = len(self.spares) + 1
        sid = self.call(S + "CreateStaff",
                        staff_pb2.CreateStaffRequest(email="spare%d@example.com" % n, name="s",
                                                     role=3),
                        staff_pb2.Staff, self.admin).id
        self.spares.append(sid)
        return sid

    # -- the matrix ------------------------------------------------------------------------
    def test_rbac_matrix_every_rpc_every_caller(self):
        rpcs = proto_rpcs()
        table = rows(self.work_served) + method_level_rows(rpcs)
        served_paths = {r.path for r in table}
        failures, cells = [], 0
        assign = self.work_served
        for row in table:
            for caller in CALLERS:
                if not assign and row.op and caller[2] == "agent":
                    continue  # no way to put a ticket into a group yet
                t = self.fresh_ticket() if row.op else None
                want = row.expected(caller)
                code, detail = self.code_of(row, row.build(self, t), self.tokens[caller[0]],
                                            open_ok=want == OK and C.DEADLINE_EXCEEDED in row.ok)
                cells += 1
                good = code in row.ok if want == OK else code == want
                if not good:
                    failures.append("%s as %s: got %s (%s), want %s" %
                                    (row.path, caller[0], code.name, detail,
                                     "one of " + ",".join(c.name for c in row.ok)
                                     if want == OK else want.name))
        print("rbac matrix: %d cells, %d rows x %d callers" % (cells, len(table), len(CALLERS)))
        # Every RPC the server serves must be in the table (a new RPC needs its rows).
        for path, (req, resp, stream) in sorted(rpcs.items()):
            if path in served_paths:
                continue
            code, _ = self.code_of(Row(path, req, resp, None, stream=stream), req(),
                                   self.admin)
            if code != C.UNIMPLEMENTED:
                failures.append("%s is served but has no row in the RBAC table" % path)
        self.assertEqual(failures, [], "\n" + "\n".join(failures))

    def test_list_shows_each_caller_only_what_they_may_read(self):
        t = self.fresh_ticket()
        for caller in CALLERS:
            if caller[1] in ("none", "bogus") or not holds(caller, TR):
                continue
            if caller[2] == "agent" and not self.work_served:
                continue
            resp = self.call(T + "ListTickets", tickets_pb2.ListTicketsRequest(page_size=50),
                             tickets_pb2.ListTicketsResponse, self.tokens[caller[0]])
            seen = t.id in [x.id for x in resp.tickets]
            # Lists show exactly what GetTicket allows: an agent their group's tickets, a
            # customer their sharing organization's too.
            want = ticket_access(caller, "read") == OK
            self.assertEqual(seen, want, "%s sees ticket: %s" % (caller[0], seen))

    def test_customer_never_sees_notes_and_wrong_ticket_is_not_found(self):
        t = self.fresh_ticket()
        self.call(T + "AddNote", tickets_pb2.AddNoteRequest(ticket_id=t.id, body="secret"),
                  _PB["tickets"].Note, self.admin)
        g = self.call(GET, tickets_pb2.GetTicketRequest(id=t.id), tickets_pb2.GetTicketResponse,
                      self.tokens["customer_own"])
        self.assertEqual(len(g.notes), 0)
        missing = self.code_of(Row(GET, None, tickets_pb2.GetTicketResponse, TR),
                               tickets_pb2.GetTicketRequest(id=t.id + 1000),
                               self.tokens["customer_other"])
        other = self.code_of(Row(GET, None, tickets_pb2.GetTicketResponse, TR),
                             tickets_pb2.GetTicketRequest(id=t.id), self.tokens["customer_other"])
        self.assertEqual(missing[0], HIDDEN)
        self.assertEqual(other[0], HIDDEN)
        # Same text shape: "ticket <id>: not found" for both.
        self.assertRegex(missing[1], r"^ticket \d+: not found$")
        self.assertRegex(other[1], r"^ticket \d+: not found$")

    def test_unshared_organization_hides_colleagues_tickets(self):
        t = self.fresh_ticket()
        tok = self.tokens["customer_org"]
        get = Row(GET, None, tickets_pb2.GetTicketResponse, TR)

        def listed():
            r = self.call(T + "ListTickets", tickets_pb2.ListTicketsRequest(page_size=50),
                          tickets_pb2.ListTicketsResponse, tok)
            return t.id in [x.id for x in r.tickets]

        self.assertEqual(self.code_of(get, tickets_pb2.GetTicketRequest(id=t.id), tok)[0], OK)
        self.assertTrue(listed())
        self.call(CU + "UpdateOrganization",
                  customers_pb2.UpdateOrganizationRequest(id=self.org, shared_tickets=False),
                  customers_pb2.Organization, self.admin)
        self.assertEqual(self.code_of(get, tickets_pb2.GetTicketRequest(id=t.id), tok)[0],
                         HIDDEN)
        self.assertFalse(listed())

    def test_deactivated_staff_token_stops_working_and_role_change_applies_at_once(self):
        tok = self.tokens["agent_other_group"]
        sid = self.staff["agent_other_group"]
        self.assertEqual(self.code_of(Row(S + "CreateGroup", None, staff_pb2.Group, SW),
                                      staff_pb2.CreateGroupRequest(name="x"), tok)[0], DENIED)
        req = staff_pb2.UpdateStaffRequest()
        req.staff.id = sid
        req.staff.role = 2
        req.update_mask.paths.append("role")
        self.call(S + "UpdateStaff", req, staff_pb2.Staff, self.admin)
        self.call(S + "CreateGroup", staff_pb2.CreateGroupRequest(name="x"), staff_pb2.Group, tok)
        self.call(S + "DeactivateStaff", staff_pb2.DeactivateStaffRequest(id=sid),
                  staff_pb2.Staff, self.admin)
        code, _ = self.code_of(Row(S + "ListGroups", None, staff_pb2.ListGroupsResponse, SR),
                               staff_pb2.ListGroupsRequest(), tok)
        self.assertEqual(code, UNAUTH)
        with self.assertRaises(grpc.RpcError) as e:
            self.login("agent_other_group@example.com", PASSWORD)
        self.assertEqual(e.exception.code(), UNAUTH)

    def test_managers_cannot_create_or_change_admins(self):
        tok = self.tokens["manager"]
        row = Row(S + "CreateStaff", None, staff_pb2.Staff, SW)
        code, _ = self.code_of(row, staff_pb2.CreateStaffRequest(email="boss@example.com",
                                                                 name="b", role=1), tok)
        self.assertEqual(code, DENIED)
        code, _ = self.code_of(Row(S + "DeactivateStaff", None, staff_pb2.Staff, SW),
                               staff_pb2.DeactivateStaffRequest(id=self.staff["admin"]), tok)
        self.assertEqual(code, DENIED)

    # -- login, tokens, audit --------------------------------------------------------------
    def test_unknown_user_and_wrong_password_give_the_same_error(self):
        errs = []
        for email, pw in (("agent_in_group@example.com", "wrong password here"),
                          ("nobody@example.com", "wrong password here"),
                          ("spare@example.com", "")):
            with self.assertRaises(grpc.RpcError) as e:
                self.login(email, pw)
            errs.append((e.exception.code(), e.exception.details()))
        self.assertEqual(errs[0], errs[1])
        self.assertEqual(errs[0], errs[2])
        self.assertEqual(errs[0][0], UNAUTH)

    def test_session_logout_and_token_revocation_take_effect_and_are_audited(self):
        r = self.login("manager@example.com", PASSWORD)
        self.assertTrue(r.token.startswith("hd_"))
        self.assertGreater(r.info.expire_time.seconds, r.info.create_time.seconds)
        self.call(S + "ListGroups", staff_pb2.ListGroupsRequest(), staff_pb2.ListGroupsResponse,
                  r.token)
        self.call(AU + "Logout", auth_pb2.LogoutRequest(token_id=r.info.id),
                  auth_pb2.LogoutResponse, r.token)
        with self.assertRaises(grpc.RpcError) as e:
            self.call(S + "ListGroups", staff_pb2.ListGroupsRequest(),
                      staff_pb2.ListGroupsResponse, r.token)
        self.assertEqual(e.exception.code(), UNAUTH)
        # Another caller's token id looks like a missing one.
        other = self.login("admin@example.com", PASSWORD)
        with self.assertRaises(grpc.RpcError) as e:
            self.call(AU + "Logout", auth_pb2.LogoutRequest(token_id=other.info.id),
                      auth_pb2.LogoutResponse, self.tokens["manager"])
        self.assertEqual(e.exception.code(), HIDDEN)

        svc = self.call(AU + "CreateApiToken",
                        auth_pb2.CreateApiTokenRequest(name="billing", scopes=[TR]),
                        auth_pb2.LoginResponse, self.admin)
        listed = self.call(AU + "ListApiTokens", auth_pb2.ListApiTokensRequest(),
                           auth_pb2.ListApiTokensResponse, self.admin)
        self.assertIn(svc.info.id, [t.id for t in listed.tokens])
        self.assertNotIn(svc.token.encode(), listed.SerializeToString())
        self.call(AU + "RevokeApiToken", auth_pb2.RevokeApiTokenRequest(id=svc.info.id),
                  auth_pb2.ApiToken, self.admin)
        with self.assertRaises(grpc.RpcError) as e:
            self.call(GET, tickets_pb2.GetTicketRequest(id=1), tickets_pb2.GetTicketResponse,
                      svc.token)
        self.assertEqual(e.exception.code(), UNAUTH)
        with self.assertRaises(grpc.RpcError):
            self.login("manager@example.com", "not the password")
        ev = self.call(AU + "ListAuditEvents", auth_pb2.ListAuditEventsRequest(page_size=1000),
                       auth_pb2.ListAuditEventsResponse, self.admin)
        actions = [e.action for e in ev.events]
        for a in ("auth.login", "auth.login_failed", "token.issue", "token.revoke",
                  "staff.create", "group.create", "customer.create", "organization.create"):
            self.assertIn(a, actions)
        self.assertEqual(ev.events[0].action, "auth.login_failed")  # newest first

    def test_same_request_id_from_8_concurrent_callers_creates_one_ticket(self):
        req = tickets_pb2.CreateTicketRequest(request_id="rbac-idem-1",
                                              customer_id=self.cust["own"], subject="Once",
                                              body="Only once.")
        chans = [self.s.channel() for _ in range(8)]
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            got = list(ex.map(lambda ch: unary(ch, CREATE, req, tickets_pb2.Ticket,
                                               token=self.admin), chans))
        self.assertEqual(len({t.id for t in got}), 1, [t.id for t in got])
        listed = self.call(CU + "ListCustomerTickets",
                           customers_pb2.ListCustomerTicketsRequest(customer_id=self.cust["own"],
                                                                    page_size=1000),
                           tickets_pb2.ListTicketsResponse, self.admin)
        self.assertEqual(sum(1 for t in listed.tickets if t.subject == "Once"), 1)

    def test_customer_lookup_by_email_and_agent_metrics(self):
        c = self.call(CU + "LookupCustomer", customers_pb2.LookupCustomerRequest(
            email="OWN@example.com"), customers_pb2.Customer, self.admin)
        self.assertEqual(c.id, self.cust["own"])
        self.assertEqual(c.organization_id, self.org)
        m = self.call(S + "GetAgentMetrics", staff_pb2.GetAgentMetricsRequest(),
                      staff_pb2.AgentMetrics, self.tokens["agent_in_group"])
        self.assertEqual(m.staff_id, self.staff["agent_in_group"])

    def test_agent_metrics_follow_assignment_first_reply_and_solve(self):
        if not self.work_served:
            self.skipTest("AssignTicket is not served by this build")
        me = self.staff["agent_in_group"]
        tok = self.tokens["agent_in_group"]
        t = self.fresh_ticket()
        self.call(T + "AssignTicket", tickets_pb2.AssignTicketRequest(ticket_id=t.id,
                                                                      assignee_id=me),
                  tickets_pb2.Ticket, self.admin)
        m = self.call(S + "GetAgentMetrics", staff_pb2.GetAgentMetricsRequest(),
                      staff_pb2.AgentMetrics, tok)
        self.assertEqual((m.staff_id, m.open, m.first_responses_7d), (me, 1, 0))
        self.call(T + "ReplyToTicket", tickets_pb2.ReplyToTicketRequest(ticket_id=t.id,
                                                                        body="Looking."),
                  tickets_pb2.ReplyToTicketResponse, tok)
        req = tickets_pb2.UpdateTicketRequest()
        req.ticket.id = t.id
        req.ticket.status = common_pb2.TICKET_STATUS_SOLVED
        req.update_mask.paths.append("status")
        self.call(T + "UpdateTicket", req, tickets_pb2.Ticket, tok)
        m = self.call(S + "GetAgentMetrics", staff_pb2.GetAgentMetricsRequest(staff_id=me),
                      staff_pb2.AgentMetrics, self.tokens["manager"])
        self.assertEqual(m.open, 0)
        self.assertEqual(m.solved_today, 1)
        self.assertEqual(m.first_responses_7d, 1)
        self.assertEqual(m.median_first_response_seconds, 60)  # replied within the minute
