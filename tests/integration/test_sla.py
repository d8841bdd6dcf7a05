"""SLA through a real helpdeskd with grpcio: calendars and policies are validated
(INVALID_ARGUMENT for overlapping intervals, unknown zones, negative targets), PreviewDue
counts business time, a created ticket gets running clocks that a staff reply meets and
pending pauses, and a zero-minute target breaches: the monitor logs it once, escalates the
ticket through the change engine and POSTs a Slack-style webhook to a loopback peer.
(Restart safety of firings is covered by tests/unit/server/sla/engine_test.c.)"""

import http.server
import json
import threading

import grpc
from google.protobuf import timestamp_pb2

from harness import (CREATE, GET, LIST, ServerTestCase, _PB, common_pb2, create_ticket_request,
                     tickets_pb2, unary, wait_for)

sla_pb2 = _PB["sla"]
SVC = "/helpdesk.v1.SlaService/"


class Hook(http.server.BaseHTTPRequestHandler):
    bodies = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        Hook.bodies.append(json.loads(self.rfile.read(n)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def all_week():
    return [sla_pb2.WorkingInterval(weekday=d, start_minute=0, end_minute=1440)
            for d in range(7)]


class Sla(ServerTestCase):
    def setUp(self):
        self.s = self.start_server()
        self.ch = self.s.channel()

    def tearDown(self):
        self.s.stop()

    def call(self, method, req, resp_cls):
        return unary(self.ch, SVC + method, req, resp_cls, token=self.s.token)

    def put_calendar(self, **kw):
        return self.call("PutCalendar", sla_pb2.PutCalendarRequest(
            calendar=sla_pb2.Calendar(**kw)), sla_pb2.Calendar)

    def put_policy(self, **kw):
        return self.call("PutPolicy", sla_pb2.PutPolicyRequest(policy=sla_pb2.SlaPolicy(**kw)),
                         sla_pb2.SlaPolicy)

    def assert_invalid(self, fn, what):
        with self.assertRaises(grpc.RpcError) as cm:
            fn()
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn(what, cm.exception.details())

    def test_invalid_calendars_and_policies_are_refused(self):
        self.assert_invalid(lambda: self.put_calendar(
            name="x", time_zone="Europe/London",
            intervals=[sla_pb2.WorkingInterval(weekday=1, start_minute=540, end_minute=720),
                       sla_pb2.WorkingInterval(weekday=1, start_minute=700, end_minute=800)]),
            "overlapping")
        self.assert_invalid(lambda: self.put_calendar(
            name="x", time_zone="Mars/Olympus", intervals=all_week()), "time zone")
        cal = self.put_calendar(name="24/7", time_zone="UTC", intervals=all_week())
        self.assertGreater(cal.id, 0)
        self.assert_invalid(lambda: self.put_policy(
            name="p", calendar_id=cal.id,
            targets=[sla_pb2.SlaTargetTime(target=sla_pb2.SLA_TARGET_RESOLUTION, minutes=-5)]),
            "minutes")
        self.assert_invalid(lambda: self.put_policy(
            name="p", calendar_id=cal.id + 99,
            targets=[sla_pb2.SlaTargetTime(target=sla_pb2.SLA_TARGET_RESOLUTION, minutes=5)]),
            "calendar_id")

    def test_preview_due_counts_business_minutes_across_a_weekend_in_london(self):
        weekdays = [sla_pb2.WorkingInterval(weekday=d, start_minute=540, end_minute=1020)
                    for d in range(1, 6)]
        cal = self.put_calendar(name="London office", time_zone="Europe/London",
                                intervals=weekdays)
        # Friday 2026-07-03 16:00 BST (15:00Z) + 120 min -> Monday 10:00 BST (09:00Z).
        start = timestamp_pb2.Timestamp(seconds=1783090800)
        r = self.call("PreviewDue", sla_pb2.PreviewDueRequest(
            start_time=start, minutes=120, calendar_id=cal.id), sla_pb2.PreviewDueResponse)
        self.assertEqual(r.due_time.seconds, 1783328400)

    def test_reply_meets_first_response_and_pending_pauses_resolution(self):
        cal = self.put_calendar(name="24/7", time_zone="UTC", intervals=all_week())
        self.put_policy(name="Default", calendar_id=cal.id, targets=[
            sla_pb2.SlaTargetTime(target=sla_pb2.SLA_TARGET_FIRST_RESPONSE, minutes=60),
            sla_pb2.SlaTargetTime(target=sla_pb2.SLA_TARGET_RESOLUTION, minutes=480)])
        t = unary(self.ch, CREATE, create_ticket_request(), tickets_pb2.Ticket,
                  token=self.s.token)
        sla = self.call("GetTicketSla", sla_pb2.GetTicketSlaRequest(ticket_id=t.id),
                        sla_pb2.TicketSla)
        fr = {c.target: c for c in sla.clocks}
        due = unary(self.ch, LIST, tickets_pb2.ListTicketsRequest(sla_due_within_minutes=61),
                    tickets_pb2.ListTicketsResponse, token=self.s.token).tickets
        self.assertEqual([x.id for x in due], [t.id])
        self.assertEqual(len(due[0].sla), 2)
        soon = unary(self.ch, LIST, tickets_pb2.ListTicketsRequest(sla_due_within_minutes=30),
                     tickets_pb2.ListTicketsResponse, token=self.s.token).tickets
        self.assertEqual(len(soon), 0)
        self.assertEqual(fr[sla_pb2.SLA_TARGET_FIRST_RESPONSE].state, sla_pb2.SLA_STATE_RUNNING)
        self.assertEqual(fr[sla_pb2.SLA_TARGET_FIRST_RESPONSE].due_time.seconds,
                         t.create_time.seconds + 3600)
        unary(self.ch, "/helpdesk.v1.TicketService/ReplyToTicket",
              tickets_pb2.ReplyToTicketRequest(ticket_id=t.id, body="Looking into it",
                                               mode=tickets_pb2.REPLY_MODE_SEND,
                                               status_after=common_pb2.TICKET_STATUS_PENDING),
              tickets_pb2.ReplyToTicketResponse, token=self.s.token)
        sla = self.call("GetTicketSla", sla_pb2.GetTicketSlaRequest(ticket_id=t.id),
                        sla_pb2.TicketSla)
        c = {c.target: c for c in sla.clocks}
        self.assertEqual(c[sla_pb2.SLA_TARGET_FIRST_RESPONSE].state, sla_pb2.SLA_STATE_MET)
        self.assertLess(c[sla_pb2.SLA_TARGET_FIRST_RESPONSE].taken_seconds, 60)
        self.assertEqual(c[sla_pb2.SLA_TARGET_RESOLUTION].state, sla_pb2.SLA_STATE_PAUSED)
        self.assertTrue(sla.paused)
        due = unary(self.ch, LIST, tickets_pb2.ListTicketsRequest(sla_due_within_minutes=600),
                    tickets_pb2.ListTicketsResponse, token=self.s.token).tickets
        self.assertEqual(len(due), 0)  # first response met, resolution paused: nothing running

    def test_zero_minute_breach_is_logged_once_escalates_and_posts_a_webhook(self):
        Hook.bodies = []
        httpd = http.server.HTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self.addCleanup(httpd.shutdown)
        url = "http://127.0.0.1:%d/hook" % httpd.server_address[1]
        cal = self.put_calendar(name="24/7", time_zone="UTC", intervals=all_week())
        self.put_policy(name="Urgent", rank=0, calendar_id=cal.id,
                        priorities=[common_pb2.PRIORITY_URGENT],
                        targets=[sla_pb2.SlaTargetTime(
                            target=sla_pb2.SLA_TARGET_FIRST_RESPONSE, minutes=0)],
                        actions=[sla_pb2.SlaAction(kind=sla_pb2.SLA_ACTION_KIND_ESCALATE,
                                                   on_breach=True, escalate_group_id=42),
                                 sla_pb2.SlaAction(kind=sla_pb2.SLA_ACTION_KIND_WEBHOOK,
                                                   on_breach=True, webhook_url=url)])
        req = create_ticket_request(subject="Site down")
        req.priority = common_pb2.PRIORITY_URGENT
        t = unary(self.ch, CREATE, req, tickets_pb2.Ticket, token=self.s.token)

        def breaches():
            return self.call("ListBreaches", sla_pb2.ListBreachesRequest(),
                             sla_pb2.ListBreachesResponse).breaches
        wait_for(lambda: len(breaches()) == 1, 20, "the breach to be logged")
        b = breaches()[0]
        self.assertEqual((b.ticket_id, b.target, b.kind),
                         (t.id, sla_pb2.SLA_TARGET_FIRST_RESPONSE, sla_pb2.SLA_EVENT_KIND_BREACH))
        wait_for(lambda: unary(self.ch, GET, tickets_pb2.GetTicketRequest(id=t.id),
                               tickets_pb2.GetTicketResponse,
                               token=self.s.token).ticket.group_id == 42,
                 20, "the escalation to group 42")
        wait_for(lambda: len(Hook.bodies) == 1, 20, "the webhook POST")
        self.assertIn("breach", Hook.bodies[0]["text"])

        def deliveries():
            d = self.call("ListDeliveries", sla_pb2.ListDeliveriesRequest(),
                          sla_pb2.ListDeliveriesResponse).deliveries
            return {x.kind: x for x in d}
        # The POST's outcome is recorded right after the peer answered.
        wait_for(lambda: deliveries()[sla_pb2.SLA_ACTION_KIND_WEBHOOK].delivered, 20,
                 "the webhook delivery to be recorded")
        kinds = deliveries()
        self.assertEqual(kinds[sla_pb2.SLA_ACTION_KIND_WEBHOOK].attempts, 1)
        self.assertTrue(kinds[sla_pb2.SLA_ACTION_KIND_ESCALATE].delivered)
        self.assertEqual(len(breaches()), 1)
        self.assertEqual(len(Hook.bodies), 1)
        # Ticket.sla and the ListTickets filters see the breach.
        g = unary(self.ch, GET, tickets_pb2.GetTicketRequest(id=t.id),
                  tickets_pb2.GetTicketResponse, token=self.s.token).ticket
        self.assertEqual(g.sla[0].state, sla_pb2.SLA_STATE_BREACHED)
        other = unary(self.ch, CREATE, create_ticket_request(subject="No policy"),
                      tickets_pb2.Ticket, token=self.s.token)
        listed = unary(self.ch, LIST, tickets_pb2.ListTicketsRequest(sla_breached=True),
                       tickets_pb2.ListTicketsResponse, token=self.s.token).tickets
        self.assertEqual([x.id for x in listed], [t.id])
        everything = unary(self.ch, LIST, tickets_pb2.ListTicketsRequest(),
                           tickets_pb2.ListTicketsResponse, token=self.s.token).tickets
        self.assertEqual(sorted(x.id for x in everything), sorted([t.id, other.id]))

    def test_sla_filters_list_full_pages_among_tickets_without_sla(self):
        cal = self.put_calendar(name="24/7", time_zone="UTC", intervals=all_week())
        self.put_policy(name="Urgent", rank=0, calendar_id=cal.id,
                        priorities=[common_pb2.PRIORITY_URGENT],
                        targets=[sla_pb2.SlaTargetTime(
                            target=sla_pb2.SLA_TARGET_FIRST_RESPONSE, minutes=0)])
        urgent = []
        for i in range(25):
            # Interleave tickets without a policy, which page-filtering left as holes.
            for _ in range(3):
                unary(self.ch, CREATE, create_ticket_request(subject="Plain %d" % i),
                      tickets_pb2.Ticket, token=self.s.token)
            req = create_ticket_request(subject="Down %d" % i)
            req.priority = common_pb2.PRIORITY_URGENT
            urgent.append(unary(self.ch, CREATE, req, tickets_pb2.Ticket,
                                token=self.s.token).id)

        def pages(**kw):
            got, sizes, token = [], [], ""
            for _ in range(10):
                r = unary(self.ch, LIST, tickets_pb2.ListTicketsRequest(
                    page_size=10, page_token=token, **kw),
                    tickets_pb2.ListTicketsResponse, token=self.s.token)
                got += [t.id for t in r.tickets]
                sizes.append(len(r.tickets))
                token = r.next_page_token
                if not token:
                    break
            return got, sizes
        wait_for(lambda: len(pages(sla_breached=True)[0]) == 25, 20, "25 breaches")
        got, sizes = pages(sla_breached=True)
        self.assertEqual(got, sorted(urgent, reverse=True))  # newest first
        self.assertEqual(sizes, [10, 10, 5])
        got, sizes = pages(sla_due_within_minutes=1)
        self.assertEqual(sorted(got), sorted(urgent))  # due order: by due time, then id
        self.assertEqual(sizes, [10, 10, 5])


if __name__ == "__main__":
    import unittest
    unittest.main()
