"""Assignment, escalation, merge, links and the dashboard through a real helpdeskd with
grpcio: two agents of a group get tickets by AutoAssign (least load), one ticket is
escalated to a manager with a raised priority (seen live on WatchTickets), a second ticket
of the same customer is merged into it (messages and notes move with provenance, the
source becomes MERGED, a repeat is a no-op), a third is linked, and GetDashboard's figures
agree with what happened."""

import time

import grpc
from google.protobuf import field_mask_pb2

import test_ticket_work
from harness import (CREATE, GET, ServerTestCase, _PB, common_pb2, create_ticket_request,
                     tickets_pb2, unary)

staff_pb2 = _PB["staff"]
auth_pb2 = _PB["auth"]
T = tickets_pb2
SVC = "/helpdesk.v1.TicketService/"
STAFF = "/helpdesk.v1.StaffService/"


class EscalateMerge(ServerTestCase):
    def setUp(self):
        self.s = self.start_server()
        self.ch = self.s.channel()

    def tearDown(self):
        self.s.stop()

    def call(self, method, req, resp_cls, svc=SVC):
        return unary(self.ch, svc + method, req, resp_cls, token=self.s.token)

    def refused(self, method, req, resp_cls, code, part):
        with self.assertRaises(grpc.RpcError) as cm:
            self.call(method, req, resp_cls)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        self.assertIn(part, cm.exception.details())

    def staff(self, name, role, groups=(), capacity=0):
        return self.call("CreateStaff", staff_pb2.CreateStaffRequest(
            email=name + "@example.com", name=name, role=role, password="correct horse 42",
            group_ids=list(groups), capacity=capacity), staff_pb2.Staff, svc=STAFF)

    # WatchTickets as the ticket-work story starts it: (queue of responses, call).
    watch = test_ticket_work.TicketWork.watch

    def wait_kind(self, q, kind):
        for _ in range(50):
            r = q.get(timeout=20)
            if isinstance(r, Exception):
                raise r
            if r.event.kind == kind:
                return r
        self.fail("no event of kind %d" % kind)

    def test_assign_escalate_merge_link_and_dashboard(self):
        # The dashboard's today figures are the server's UTC day: a story straddling UTC
        # midnight is told again on a fresh server (it cannot straddle twice).
        for _ in range(2):
            day = int(time.time()) // 86400
            d, t1 = self.story()
            if int(time.time()) // 86400 == day:
                break
            self.s.stop()
            self.s = self.start_server()
            self.ch = self.s.channel()
        self.assertEqual(d.created_today, 3)
        self.assertEqual(d.solved_today, 1)
        self.assertEqual(d.today.first_responses, 1)
        self.assertEqual(d.today.resolutions, 1)
        self.assertEqual(d.last_7_days.resolution_minutes, 0)
        self.assertGreater(len(d.recent_activity), 0)
        self.assertEqual(d.recent_activity[0].ticket_id, t1.id)

    def story(self):
        """Everything but the dashboard's day figures; returns (the dashboard, t1)."""
        support = self.call("CreateGroup", staff_pb2.CreateGroupRequest(name="support"),
                            staff_pb2.Group, svc=STAFF)
        a1 = self.staff("ann", auth_pb2.ROLE_AGENT, [support.id], capacity=5)
        a2 = self.staff("bob", auth_pb2.ROLE_AGENT, [support.id], capacity=5)
        boss = self.staff("meg", auth_pb2.ROLE_MANAGER)
        q, wcall = self.watch()

        t1 = unary(self.ch, CREATE, create_ticket_request(subject="VPN drops", body="Hourly."),
                   T.Ticket, token=self.s.token)
        t2 = unary(self.ch, CREATE, create_ticket_request(subject="VPN again", body="Still."),
                   T.Ticket, token=self.s.token)
        t3 = unary(self.ch, CREATE, create_ticket_request(subject="Wi-Fi", body="Slow."),
                   T.Ticket, token=self.s.token)

        # AutoAssign spreads by load: both idle -> lowest id, then the other one.
        g1 = self.call("AutoAssign", T.AutoAssignRequest(ticket_id=t1.id, group_id=support.id),
                       T.Ticket)
        g2 = self.call("AutoAssign", T.AutoAssignRequest(ticket_id=t2.id, group_id=support.id),
                       T.Ticket)
        self.assertEqual((g1.assignee_id, g2.assignee_id), (a1.id, a2.id))
        self.assertEqual(g1.group_id, support.id)
        self.refused("AssignTicket", T.AssignTicketRequest(ticket_id=t3.id, assignee_id=boss.id,
                                                           group_id=support.id),
                     T.Ticket, grpc.StatusCode.INVALID_ARGUMENT, "not in group")
        self.call("AssignTicket", T.AssignTicketRequest(ticket_id=t3.id, assignee_id=a1.id,
                                                        group_id=support.id), T.Ticket)

        # A staff reply on t1 (first response), a note on t2.
        self.call("ReplyToTicket", T.ReplyToTicketRequest(ticket_id=t1.id, body="Looking."),
                  T.ReplyToTicketResponse)
        note = self.call("AddNote", T.AddNoteRequest(ticket_id=t2.id, body="same as the other"),
                         T.Note)

        # Escalate t1 to the manager, raising the priority; the watcher is told.
        e = self.call("EscalateTicket", T.EscalateTicketRequest(
            ticket_id=t1.id, manager_id=boss.id,
            reason=T.ESCALATION_REASON_CUSTOMER_REQUEST, reason_text="asked for a manager",
            raise_priority=common_pb2.PRIORITY_URGENT), T.Ticket)
        self.assertEqual(e.assignee_id, boss.id)
        self.assertEqual(e.priority, common_pb2.PRIORITY_URGENT)
        self.assertEqual(e.escalation_count, 1)
        w = self.wait_kind(q, T.TICKET_EVENT_KIND_ESCALATED)
        self.assertEqual(w.ticket.id, t1.id)
        facts = {c.field: c.after for c in w.event.changes}
        self.assertEqual(facts["escalated_to"], "manager %d" % boss.id)
        self.assertEqual(facts["reason"], "ESCALATION_REASON_CUSTOMER_REQUEST")
        self.refused("EscalateTicket", T.EscalateTicketRequest(
            ticket_id=t1.id, manager_id=a2.id, reason=T.ESCALATION_REASON_OTHER),
            T.Ticket, grpc.StatusCode.INVALID_ARGUMENT, "not a manager")

        # Merge t2 into t1: its message and note move, marked with where they came from.
        m = self.call("MergeTickets", T.MergeTicketsRequest(source_id=t2.id, target_id=t1.id),
                      T.MergeTicketsResponse)
        self.assertEqual((m.moved_messages, m.moved_notes), (1, 1))
        self.assertEqual(m.source.status, common_pb2.TICKET_STATUS_MERGED)
        self.assertEqual(m.source.merged_into, t1.id)
        again = self.call("MergeTickets", T.MergeTicketsRequest(source_id=t2.id,
                                                                target_id=t1.id),
                          T.MergeTicketsResponse)
        self.assertEqual((again.moved_messages, again.source.merged_into), (0, t1.id))
        self.refused("MergeTickets", T.MergeTicketsRequest(source_id=t1.id, target_id=t1.id),
                     T.MergeTicketsResponse, grpc.StatusCode.INVALID_ARGUMENT, "itself")
        self.refused("MergeTickets", T.MergeTicketsRequest(source_id=t2.id, target_id=t3.id),
                     T.MergeTicketsResponse, grpc.StatusCode.FAILED_PRECONDITION,
                     "already merged")

        got = unary(self.ch, GET, T.GetTicketRequest(id=t1.id), T.GetTicketResponse,
                    token=self.s.token)
        self.assertEqual([x.body for x in got.messages], ["Hourly.", "Still.", "Looking."])
        self.assertEqual([x.merged_from for x in got.messages], [0, t2.id, 0])
        self.assertEqual([(n.id, n.merged_from) for n in got.notes], [(note.id, t2.id)])
        kinds = [ev.kind for ev in got.events]
        self.assertIn(T.TICKET_EVENT_KIND_ESCALATED, kinds)
        self.assertEqual(kinds[-1], T.TICKET_EVENT_KIND_MERGED)
        self.assertEqual([(l.ticket_id, l.kind) for l in got.ticket.links],
                         [(t2.id, T.LINK_KIND_MERGED_FROM)])
        src = unary(self.ch, GET, T.GetTicketRequest(id=t2.id), T.GetTicketResponse,
                    token=self.s.token)
        self.assertEqual(src.ticket.status, common_pb2.TICKET_STATUS_MERGED)
        self.assertEqual(len(src.messages), 0)
        self.assertEqual(src.events[-1].kind, T.TICKET_EVENT_KIND_MERGED)

        # Link t3 to t1: visible from both.
        ln = self.call("LinkTickets", T.LinkTicketsRequest(ticket_id=t3.id, other_id=t1.id,
                                                           kind=T.LINK_KIND_RELATED),
                       T.LinkTicketsResponse)
        self.assertEqual([l.ticket_id for l in ln.ticket.links], [t1.id])
        got = unary(self.ch, GET, T.GetTicketRequest(id=t1.id), T.GetTicketResponse,
                    token=self.s.token)
        self.assertIn((t3.id, T.LINK_KIND_RELATED),
                      [(l.ticket_id, l.kind) for l in got.ticket.links])

        # Solve t1; the dashboard agrees with all of the above.
        self.call("UpdateTicket", T.UpdateTicketRequest(
            ticket=T.Ticket(id=t1.id, status=common_pb2.TICKET_STATUS_SOLVED),
            update_mask=field_mask_pb2.FieldMask(paths=["status"])), T.Ticket)
        d = self.call("GetDashboard", T.GetDashboardRequest(), T.Dashboard)
        by_status = {c.key: c.count for c in d.by_status}
        self.assertEqual(d.open, 1)  # t3
        self.assertEqual(by_status["TICKET_STATUS_MERGED"], 1)
        self.assertEqual(by_status["TICKET_STATUS_SOLVED"], 1)
        self.assertEqual(d.unassigned, 0)
        self.assertEqual({(x.staff_id, x.open) for x in d.agent_load}, {(a1.id, 1)})
        wcall.cancel()
        return d, t1


if __name__ == "__main__":
    import unittest
    unittest.main()
