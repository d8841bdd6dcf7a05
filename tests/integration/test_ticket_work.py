"""Working a ticket through a real helpdeskd with grpcio: the story of a ticket from the
customer's first message to their rating, with an agent's reply, an internal note with a
mention, drafts, a status change by field mask, and a live WatchTickets stream seeing each
committed change. GetTicket shows the whole timeline; the customer's view never shows
notes or drafts."""

import queue
import threading

import grpc
from google.protobuf import field_mask_pb2

from harness import (CREATE, GET, ServerTestCase, _PB, common_pb2, create_ticket_request,
                     tickets_pb2, unary)

auth_pb2 = _PB["auth"]
staff_pb2 = _PB["staff"]

SVC = "/helpdesk.v1.TicketService/"
EV = tickets_pb2


class TicketWork(ServerTestCase):
    def setUp(self):
        self.s = self.start_server()
        self.ch = self.s.channel()

    def tearDown(self):
        self.s.stop()

    def call(self, method, req, resp_cls, token=None):
        return unary(self.ch, SVC + method, req, resp_cls, token=token or self.s.token)

    def customer_token(self, customer_id):
        """A portal token for customer_id, or None when AuthService is not served yet."""
        try:
            r = unary(self.ch, "/helpdesk.v1.AuthService/CreateCustomerToken",
                      auth_pb2.CreateCustomerTokenRequest(customer_id=customer_id),
                      auth_pb2.LoginResponse, token=self.s.token)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                return None
            raise
        return r.token

    def watch(self, **filters):
        """Starts WatchTickets; returns (queue of responses, call)."""
        fn = self.ch.unary_stream(SVC + "WatchTickets",
                                  request_serializer=lambda m: m.SerializeToString(),
                                  response_deserializer=tickets_pb2.WatchTicketsResponse.FromString)
        call = fn(tickets_pb2.WatchTicketsRequest(**filters),
                  metadata=[("authorization", "Bearer " + self.s.token)], timeout=60)
        call.initial_metadata()  # sent once the watcher is subscribed: no later event missed
        q = queue.Queue()

        def pump():
            try:
                for r in call:
                    q.put(r)
            except grpc.RpcError as e:
                q.put(e)

        threading.Thread(target=pump, daemon=True).start()
        return q, call

    def next_event(self, q):
        r = q.get(timeout=20)
        if isinstance(r, Exception):
            raise r
        return r

    def test_story_customer_writes_agent_replies_notes_solves_customer_rates(self):
        q, wcall = self.watch()
        t = unary(self.ch, CREATE, create_ticket_request(subject="VPN drops every hour",
                                                         body="Since Monday."),
                  tickets_pb2.Ticket, token=self.s.token)
        self.assertEqual(self.next_event(q).event.kind, EV.TICKET_EVENT_KIND_CREATED)

        # The agent drafts, edits and sends a reply.
        d = self.call("ReplyToTicket", tickets_pb2.ReplyToTicketRequest(
            ticket_id=t.id, body="Draft: have you tried", mode=EV.REPLY_MODE_DRAFT),
            tickets_pb2.ReplyToTicketResponse)
        self.assertEqual(self.next_event(q).event.kind, EV.TICKET_EVENT_KIND_DRAFT_SAVED)
        self.call("UpdateDraft", tickets_pb2.UpdateDraftRequest(
            ticket_id=t.id, draft_id=d.draft.id, body="Please update the VPN client to 5.2."),
            tickets_pb2.ReplyToTicketResponse)
        self.next_event(q)
        sent = self.call("SendDraft", tickets_pb2.SendDraftRequest(ticket_id=t.id,
                                                                   draft_id=d.draft.id),
                         tickets_pb2.ReplyToTicketResponse)
        self.assertEqual(sent.ticket.status, common_pb2.TICKET_STATUS_PENDING)
        self.assertEqual(sent.message.body, "Please update the VPN client to 5.2.")
        self.assertTrue(sent.ticket.HasField("first_response_time"))
        ev = self.next_event(q)
        self.assertEqual(ev.event.kind, EV.TICKET_EVENT_KIND_MESSAGE_ADDED)
        self.assertEqual(ev.ticket.status, common_pb2.TICKET_STATUS_PENDING)

        # An internal note with a mention of a staff member, then tags and status by mask.
        try:
            netops = unary(self.ch, "/helpdesk.v1.StaffService/CreateStaff",
                           staff_pb2.CreateStaffRequest(email="netops@example.com", name="Net Ops",
                                                        role=auth_pb2.ROLE_AGENT,
                                                        password="correct horse battery"),
                           staff_pb2.Staff, token=self.s.token)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
            netops = None
        note = self.call("AddNote", tickets_pb2.AddNoteRequest(
            ticket_id=t.id, body="@netops is this the 5.1 bug?"), tickets_pb2.Note)
        self.assertEqual(note.visibility, EV.NOTE_VISIBILITY_TEAM)
        if netops:
            self.assertEqual(list(note.mention_ids), [netops.id])
            self.assertEqual(list(note.mentions), ["netops"])
        self.assertEqual(self.next_event(q).event.kind, EV.TICKET_EVENT_KIND_NOTE_ADDED)
        u = self.call("UpdateTicket", tickets_pb2.UpdateTicketRequest(
            ticket=tickets_pb2.Ticket(id=t.id, tags=["vpn"], status=common_pb2.TICKET_STATUS_SOLVED,
                                      subject="not in the mask"),
            update_mask=field_mask_pb2.FieldMask(paths=["tags", "status"])), tickets_pb2.Ticket)
        self.assertEqual(u.status, common_pb2.TICKET_STATUS_SOLVED)
        self.assertEqual(list(u.tags), ["vpn"])
        self.assertEqual(u.subject, "VPN drops every hour")
        self.assertEqual(self.next_event(q).event.kind, EV.TICKET_EVENT_KIND_STATUS_CHANGED)

        # Illegal transitions name both states; bad input names the field.
        with self.assertRaises(grpc.RpcError) as cm:
            self.call("UpdateTicket", tickets_pb2.UpdateTicketRequest(
                ticket=tickets_pb2.Ticket(id=t.id, status=common_pb2.TICKET_STATUS_NEW)),
                tickets_pb2.Ticket)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("SOLVED", cm.exception.details())
        self.assertIn("NEW", cm.exception.details())
        with self.assertRaises(grpc.RpcError) as cm:
            self.call("ReplyToTicket", tickets_pb2.ReplyToTicketRequest(ticket_id=t.id, body=""),
                      tickets_pb2.ReplyToTicketResponse)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("body", cm.exception.details())
        with self.assertRaises(grpc.RpcError) as cm:
            self.call("AddNote", tickets_pb2.AddNoteRequest(ticket_id=999999, body="x"),
                      tickets_pb2.Note)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

        # The customer rates (through a portal token, once AuthService is served).
        ctok = self.customer_token(t.customer_id)
        if ctok:
            r = self.call("RateTicket", tickets_pb2.RateTicketRequest(
                ticket_id=t.id, score=5, comment="Fixed, thanks"), tickets_pb2.Ticket, token=ctok)
            self.assertEqual(r.rating.score, 5)
            self.assertEqual(self.next_event(q).event.kind, EV.TICKET_EVENT_KIND_RATED)
            mine = self.call("GetTicket", tickets_pb2.GetTicketRequest(id=t.id),
                             tickets_pb2.GetTicketResponse, token=ctok)
            self.assertEqual(len(mine.notes), 0)
            self.assertEqual(len(mine.drafts), 0)
            self.assertNotIn(EV.TICKET_EVENT_KIND_NOTE_ADDED, [e.kind for e in mine.events])
            with self.assertRaises(grpc.RpcError) as cm:
                self.call("AddNote", tickets_pb2.AddNoteRequest(ticket_id=t.id, body="x"),
                          tickets_pb2.Note, token=ctok)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.PERMISSION_DENIED)

        # The whole timeline, oldest first, for staff.
        full = unary(self.ch, GET, tickets_pb2.GetTicketRequest(id=t.id),
                     tickets_pb2.GetTicketResponse, token=self.s.token)
        kinds = [e.kind for e in full.events]
        want = [EV.TICKET_EVENT_KIND_CREATED, EV.TICKET_EVENT_KIND_DRAFT_SAVED,
                EV.TICKET_EVENT_KIND_DRAFT_SAVED, EV.TICKET_EVENT_KIND_MESSAGE_ADDED,
                EV.TICKET_EVENT_KIND_NOTE_ADDED, EV.TICKET_EVENT_KIND_STATUS_CHANGED]
        if ctok:
            want.append(EV.TICKET_EVENT_KIND_RATED)
        self.assertEqual(kinds, want)
        self.assertEqual([m.body for m in full.messages],
                         ["Since Monday.", "Please update the VPN client to 5.2."])
        self.assertEqual([n.body for n in full.notes], ["@netops is this the 5.1 bug?"])
        self.assertEqual(len(full.drafts), 0)
        ids = [e.id for e in full.events]
        self.assertEqual(ids, sorted(ids))
        wcall.cancel()

    def test_customer_reply_reopens_and_closed_ticket_gets_a_follow_up(self):
        t = unary(self.ch, CREATE, create_ticket_request(), tickets_pb2.Ticket,
                  token=self.s.token)
        ctok = self.customer_token(t.customer_id)
        if not ctok:
            self.skipTest("AuthService.CreateCustomerToken not served yet")
        self.call("UpdateTicket", tickets_pb2.UpdateTicketRequest(
            ticket=tickets_pb2.Ticket(id=t.id, status=common_pb2.TICKET_STATUS_SOLVED)),
            tickets_pb2.Ticket)
        r = self.call("ReplyToTicket", tickets_pb2.ReplyToTicketRequest(
            ticket_id=t.id, body="Not fixed"), tickets_pb2.ReplyToTicketResponse, token=ctok)
        self.assertEqual(r.ticket.status, common_pb2.TICKET_STATUS_OPEN)
        self.call("UpdateTicket", tickets_pb2.UpdateTicketRequest(
            ticket=tickets_pb2.Ticket(id=t.id, status=common_pb2.TICKET_STATUS_CLOSED)),
            tickets_pb2.Ticket)
        r = self.call("ReplyToTicket", tickets_pb2.ReplyToTicketRequest(
            ticket_id=t.id, body="Again!"), tickets_pb2.ReplyToTicketResponse, token=ctok)
        self.assertEqual(r.ticket.status, common_pb2.TICKET_STATUS_CLOSED)
        self.assertEqual(r.follow_up.follow_up_of, t.id)
        self.assertEqual(r.follow_up.status, common_pb2.TICKET_STATUS_NEW)

    def test_watch_filters_by_assignee_and_ends_on_cancel(self):
        q_all, c_all = self.watch()
        q_ada, c_ada = self.watch(assignee_id=4242)
        t = unary(self.ch, CREATE, create_ticket_request(), tickets_pb2.Ticket,
                  token=self.s.token)
        self.assertEqual(self.next_event(q_all).ticket.id, t.id)
        self.assertTrue(q_ada.empty())
        c_ada.cancel()
        c_all.cancel()
        r = q_all.get(timeout=20)
        self.assertIsInstance(r, grpc.RpcError)
        self.assertEqual(r.code(), grpc.StatusCode.CANCELLED)

    def test_list_filters_sorts_and_pages_through_a_real_client(self):
        ids = {}
        for name, prio, tags in (("a", common_pb2.PRIORITY_LOW, ["vpn"]),
                                 ("b", common_pb2.PRIORITY_URGENT, ["vpn", "mail"]),
                                 ("c", common_pb2.PRIORITY_HIGH, ["mail"]),
                                 ("d", common_pb2.PRIORITY_URGENT, [])):
            req = create_ticket_request(subject="ticket " + name)
            req.priority = prio
            req.tags.extend(tags)
            ids[name] = unary(self.ch, CREATE, req, tickets_pb2.Ticket, token=self.s.token).id
        self.call("UpdateTicket", tickets_pb2.UpdateTicketRequest(
            ticket=tickets_pb2.Ticket(id=ids["a"], status=common_pb2.TICKET_STATUS_OPEN)),
            tickets_pb2.Ticket)

        def names(**kw):
            out, token = [], ""
            for _ in range(10):
                r = self.call("ListTickets", tickets_pb2.ListTicketsRequest(
                    page_size=1, page_token=token, **kw), tickets_pb2.ListTicketsResponse)
                out += [t.subject[-1] for t in r.tickets]
                token = r.next_page_token
                if not token:
                    return out
            self.fail("paging did not end")

        self.assertEqual(names(tag="vpn"), ["b", "a"])
        self.assertEqual(names(sort=EV.TICKET_SORT_PRIORITY), ["d", "b", "c", "a"])
        self.assertEqual(names(sort=EV.TICKET_SORT_UPDATE_TIME_DESC)[0], "a")
        self.assertEqual(names(status=common_pb2.TICKET_STATUS_NEW,
                               priority=common_pb2.PRIORITY_URGENT), ["d", "b"])
        self.assertEqual(names(unassigned=True, tag="mail"), ["c", "b"])
        with self.assertRaises(grpc.RpcError) as cm:
            self.call("ListTickets", tickets_pb2.ListTicketsRequest(unassigned=True, assignee_id=3),
                      tickets_pb2.ListTicketsResponse)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("assignee_id", cm.exception.details())


if __name__ == "__main__":
    import unittest
    unittest.main()
