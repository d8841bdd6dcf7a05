"""Who sees what in ListTickets, auto-assign on create, drafts on merge and the
"uncategorised" filter, through a real helpdeskd with grpcio.

An agent's list pages are full although most tickets belong to another group (the list is
served from the group and assignee indexes, not filtered after the page was read); a
customer of an organization that shares tickets lists the colleagues' tickets too, one of
an organization that does not share lists only their own; a ticket created under a group
with auto_assign comes back assigned (least open load); a reply draft on a merged ticket
moves to the target; uncategorised lists only tickets without a category."""

import grpc

from harness import CREATE, ServerTestCase, _PB, tickets_pb2, unary

staff_pb2 = _PB["staff"]
auth_pb2 = _PB["auth"]
customers_pb2 = _PB["customers"]
T = "/helpdesk.v1.TicketService/"
S = "/helpdesk.v1.StaffService/"
AU = "/helpdesk.v1.AuthService/"
CU = "/helpdesk.v1.CustomerService/"
PASSWORD = "correct horse 42"
ADMIN = object()  # call() default: the server's admin token


class ListScope(ServerTestCase):
    def setUp(self):
        self.s = self.start_server()
        self.ch = self.s.channel()
        self.admin = self.s.token

    def tearDown(self):
        self.s.stop()

    def call(self, path, req, resp_cls, token=ADMIN):
        return unary(self.ch, path, req, resp_cls, token=self.admin if token is ADMIN else token)

    def group(self, name, auto=False):
        return self.call(S + "CreateGroup",
                         staff_pb2.CreateGroupRequest(name=name, auto_assign=auto),
                         staff_pb2.Group).id

    def agent(self, name, groups):
        sid = self.call(S + "CreateStaff", staff_pb2.CreateStaffRequest(
            email=name + "@example.com", name=name, role=auth_pb2.ROLE_AGENT,
            password=PASSWORD, group_ids=list(groups)), staff_pb2.Staff).id
        tok = self.call(AU + "Login", auth_pb2.LoginRequest(email=name + "@example.com",
                                                            password=PASSWORD),
                        auth_pb2.LoginResponse, token=None).token
        return sid, tok

    def customer(self, email, org=0):
        cid = self.call(CU + "CreateCustomer",
                        customers_pb2.CreateCustomerRequest(email=email, name=email,
                                                            organization_id=org),
                        customers_pb2.Customer).id
        tok = self.call(AU + "CreateCustomerToken",
                        auth_pb2.CreateCustomerTokenRequest(customer_id=cid),
                        auth_pb2.LoginResponse).token
        return cid, tok

    def create(self, customer_id, group_id=0, category="", token=ADMIN):
        return self.call(CREATE, tickets_pb2.CreateTicketRequest(
            customer_id=customer_id, subject="Help", body="Please.", group_id=group_id,
            category=category), tickets_pb2.Ticket, token)

    def pages(self, token, page_size, **filters):
        """Every page of a ListTickets walk: a list of lists of ticket ids."""
        out, tok = [], ""
        for _ in range(100):
            r = self.call(T + "ListTickets",
                          tickets_pb2.ListTicketsRequest(page_size=page_size, page_token=tok,
                                                         **filters),
                          tickets_pb2.ListTicketsResponse, token)
            out.append([t.id for t in r.tickets])
            tok = r.next_page_token
            if not tok:
                return out
        self.fail("no end after 100 pages")

    def test_agent_pages_are_full_and_hold_exactly_their_groups_and_own_tickets(self):
        mine, other = self.group("mine"), self.group("other")
        me, tok = self.agent("ann", [mine])
        cust, _ = self.customer("c@example.com")
        want = []
        for i in range(60):
            t = self.create(cust, group_id=mine if i % 10 == 0 else other)
            if i % 10 == 0:
                want.append(t.id)
            if i % 15 == 7:  # assigned to ann personally, in the other group
                self.call(T + "AssignTicket", tickets_pb2.AssignTicketRequest(
                    ticket_id=t.id, assignee_id=me), tickets_pb2.Ticket)
                want.append(t.id)
        want.sort(reverse=True)
        pages = self.pages(tok, 3)
        for p in pages[:-1]:
            self.assertEqual(len(p), 3, "short page before the end: %s" % pages)
        self.assertEqual([i for p in pages for i in p], want)
        # The admin sees all 60; a filter on the agent's own assignee id still works.
        self.assertEqual(sum(len(p) for p in self.pages(self.admin, 50)), 60)
        own = [i for p in self.pages(tok, 5, assignee_id=me) for i in p]
        self.assertEqual(len(own), 4)
        # CustomerService.ListCustomerTickets is scoped the same way.
        got, pt = [], ""
        for _ in range(100):
            r = self.call(CU + "ListCustomerTickets", customers_pb2.ListCustomerTicketsRequest(
                customer_id=cust, page_size=4, page_token=pt), tickets_pb2.ListTicketsResponse,
                tok)
            got.append([t.id for t in r.tickets])
            pt = r.next_page_token
            if not pt:
                break
        for p in got[:-1]:
            self.assertEqual(len(p), 4, "short page before the end: %s" % got)
        self.assertEqual([i for p in got for i in p], want)

    def test_customers_list_their_sharing_organizations_tickets(self):
        shared = self.call(CU + "CreateOrganization",
                           customers_pb2.CreateOrganizationRequest(name="Acme",
                                                                   shared_tickets=True),
                           customers_pb2.Organization).id
        private = self.call(CU + "CreateOrganization",
                            customers_pb2.CreateOrganizationRequest(name="Solo"),
                            customers_pb2.Organization).id
        a, ta = self.customer("a@acme.example", shared)
        b, tb = self.customer("b@acme.example", shared)
        c, tc = self.customer("c@solo.example", private)
        d, _ = self.customer("d@solo.example", private)
        ids = {x: [self.create(x).id for _ in range(3)] for x in (a, b, c, d)}
        # A customer's own create carries the organization too.
        ids[a].append(self.create(0, token=ta).id)
        got_a = [i for p in self.pages(ta, 2) for i in p]
        self.assertEqual(got_a, sorted(ids[a] + ids[b], reverse=True))
        got_b = [i for p in self.pages(tb, 50) for i in p]
        self.assertEqual(got_b, got_a)
        got_c = [i for p in self.pages(tc, 2) for i in p]
        self.assertEqual(got_c, sorted(ids[c], reverse=True))
        # Asking for a colleague's tickets by customer_id still finds none.
        self.assertEqual([i for p in self.pages(ta, 50, customer_id=b) for i in p], [])
        # Sharing switched off: the colleague's tickets leave the list at once.
        self.call(CU + "UpdateOrganization",
                  customers_pb2.UpdateOrganizationRequest(id=shared, shared_tickets=False),
                  customers_pb2.Organization)
        got_a = [i for p in self.pages(ta, 2) for i in p]
        self.assertEqual(got_a, sorted(ids[a], reverse=True))

    def test_create_under_an_auto_assign_group_assigns_the_least_loaded_agent(self):
        g = self.group("triage", auto=True)
        plain = self.group("queue")
        ann, _ = self.agent("ann", [g])
        bob, _ = self.agent("bob", [g])
        cust, _ = self.customer("c@example.com")
        t1 = self.create(cust, group_id=g)
        t2 = self.create(cust, group_id=g)
        self.assertEqual(t1.group_id, g)
        self.assertEqual({t1.assignee_id, t2.assignee_id}, {ann, bob})
        got = self.call(T + "GetTicket", tickets_pb2.GetTicketRequest(id=t1.id),
                        tickets_pb2.GetTicketResponse)
        self.assertEqual(got.ticket.assignee_id, t1.assignee_id)
        kinds = [e.kind for e in got.events]
        self.assertEqual(kinds, [tickets_pb2.TICKET_EVENT_KIND_CREATED,
                                 tickets_pb2.TICKET_EVENT_KIND_ASSIGNED])
        q = self.create(cust, group_id=plain)
        self.assertEqual((q.group_id, q.assignee_id), (plain, 0))
        with self.assertRaises(grpc.RpcError) as cm:
            self.create(cust, group_id=9999)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertIn("group_id", cm.exception.details())
        groups = self.call(S + "ListGroups", staff_pb2.ListGroupsRequest(),
                           staff_pb2.ListGroupsResponse).groups
        self.assertEqual({x.name: x.auto_assign for x in groups},
                         {"triage": True, "queue": False})

    def test_drafts_move_to_the_merge_target(self):
        cust, _ = self.customer("c@example.com")
        target, source = self.create(cust), self.create(cust)
        r = self.call(T + "ReplyToTicket", tickets_pb2.ReplyToTicketRequest(
            ticket_id=source.id, body="Draft on the source", mode=tickets_pb2.REPLY_MODE_DRAFT),
            tickets_pb2.ReplyToTicketResponse)
        m = self.call(T + "MergeTickets", tickets_pb2.MergeTicketsRequest(
            source_id=source.id, target_id=target.id), tickets_pb2.MergeTicketsResponse)
        self.assertEqual(m.moved_drafts, 1)
        got = self.call(T + "GetTicket", tickets_pb2.GetTicketRequest(id=target.id),
                        tickets_pb2.GetTicketResponse)
        self.assertEqual([(d.id, d.merged_from, d.body) for d in got.drafts],
                         [(r.draft.id, source.id, "Draft on the source")])
        src = self.call(T + "GetTicket", tickets_pb2.GetTicketRequest(id=source.id),
                        tickets_pb2.GetTicketResponse)
        self.assertEqual(len(src.drafts), 0)

    def test_uncategorised_lists_only_tickets_without_a_category(self):
        cust, _ = self.customer("c@example.com")
        plain = [self.create(cust).id for _ in range(3)]
        self.create(cust, category="billing")
        got = [i for p in self.pages(self.admin, 2, uncategorised=True) for i in p]
        self.assertEqual(got, sorted(plain, reverse=True))
        with self.assertRaises(grpc.RpcError) as cm:
            self.pages(self.admin, 2, uncategorised=True, category="billing")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("uncategorised", cm.exception.details())


if __name__ == "__main__":
    import unittest
    unittest.main()
