"""`helpdesk demo seed` gives history: tickets opened over the last --days days with a weekly
and daily rhythm (CreateTicketRequest.create_time, tickets.import), and the reporting rollups
count them on those days. Also: create_time needs tickets.import and must not be in the
future."""

import collections
import datetime as dt
import os
import subprocess
import unittest

import grpc

import harness
from harness import CREATE, Server, tickets_pb2, unary
from test_cli import cli_binary
from test_reporting_rollups import all_tickets

auth_pb2 = harness._PB["auth"]
customers_pb2 = harness._PB["customers"]
reporting_pb2 = harness._PB["reporting"]
DAYS = 28


class DemoSeedHistory(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(args=["--unsafe-nosync"]).start()
        env = dict(os.environ, HELPDESK_SERVER=cls.server.address,
                   HELPDESK_TOKEN=cls.server.token, HOME=cls.server.tmp)
        # The seed spreads tickets over the DAYS UTC days ending on the day of its own
        # clock reading, taken after this one (a reading in the test may be a day later).
        cls.before_seed = dt.datetime.now(dt.timezone.utc).timestamp()
        p = subprocess.run([cli_binary(), "demo", "seed", "--tickets", "600", "--days",
                            str(DAYS), "--seed", "5"], env=env, capture_output=True, text=True,
                           timeout=600)
        assert p.returncode == 0, p.stderr
        cls.ch = cls.server.channel()
        cls.tickets = all_tickets(cls.ch, cls.server.token)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.server.cleanup()

    def test_tickets_spread_over_the_days_with_weekly_and_daily_rhythm(self):
        now = dt.datetime.now(dt.timezone.utc).timestamp()
        days = collections.Counter(t.create_time.seconds // 86400 for t in self.tickets)
        self.assertEqual(len(self.tickets), 600)
        self.assertGreaterEqual(len(days), DAYS - 3, days)
        self.assertGreaterEqual(min(days), self.before_seed // 86400 - DAYS + 1)
        self.assertLessEqual(max(t.create_time.seconds for t in self.tickets), now)
        wk = collections.Counter()
        for d, n in days.items():
            wk[(d + 3) % 7 >= 5] += n  # 1970-01-01 was a Thursday: Mon = 0
        self.assertGreater(wk[False] / 5, 2 * wk[True] / 2, wk)  # weekday vs weekend per day
        office = sum(1 for t in self.tickets if 8 <= t.create_time.seconds // 3600 % 24 < 18)
        self.assertGreater(office, len(self.tickets) * 0.6)

    def test_staff_work_follows_each_ticket_on_historical_days(self):
        solved = [t for t in self.tickets if t.HasField("solve_time")]
        self.assertGreater(len(solved), 300)
        for t in solved:
            self.assertGreaterEqual(t.solve_time.seconds, t.create_time.seconds, t.number)
        days = {t.solve_time.seconds // 86400 for t in solved}
        self.assertGreaterEqual(len(days), DAYS - 5, sorted(days))

    def test_reporting_rollups_count_created_tickets_on_many_days(self):
        now = int(dt.datetime.now(dt.timezone.utc).timestamp())
        rng = reporting_pb2.ReportRange()
        rng.start_time.seconds = (now // 86400 - DAYS) * 86400
        rng.end_time.seconds = (now // 86400 + 1) * 86400
        r = unary(self.ch, "/helpdesk.v1.ReportingService/GetReportRollups",
                  reporting_pb2.GetReportRollupsRequest(range=rng, metrics=["tickets.created"]),
                  reporting_pb2.GetReportRollupsResponse, token=self.server.token)
        per_day = collections.Counter()
        for s in r.series:
            for p in s.points:
                per_day[p.bucket_start.seconds // 86400] += p.value
        want = collections.Counter(t.create_time.seconds // 86400 for t in self.tickets)
        self.assertEqual(+per_day, want)
        self.assertGreaterEqual(len(+per_day), DAYS - 3)


class CreateTimeImport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(args=["--unsafe-nosync"]).start()
        cls.ch = cls.server.channel()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.server.cleanup()

    def create(self, token, seconds):
        req = tickets_pb2.CreateTicketRequest(customer_email="imp@example.com", subject="s",
                                              body="b")
        req.create_time.seconds = seconds
        return unary(self.ch, CREATE, req, tickets_pb2.Ticket, token=token)

    def test_create_time_needs_tickets_import_and_must_not_be_in_the_future(self):
        now = int(dt.datetime.now(dt.timezone.utc).timestamp())
        t = self.create(self.server.token, now - 86400 * 3)
        self.assertEqual(t.create_time.seconds, now - 86400 * 3)
        with self.assertRaises(grpc.RpcError) as e:
            self.create(self.server.token, now + 3600)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("create_time", e.exception.details())
        svc = unary(self.ch, "/helpdesk.v1.AuthService/CreateApiToken",
                    auth_pb2.CreateApiTokenRequest(name="rw",
                                                   scopes=["tickets.read", "tickets.write"]),
                    auth_pb2.LoginResponse, token=self.server.token).token
        with self.assertRaises(grpc.RpcError) as e:
            self.create(svc, now - 60)
        self.assertEqual(e.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        self.assertIn("tickets.import", e.exception.details())
        imp = unary(self.ch, "/helpdesk.v1.AuthService/CreateApiToken",
                    auth_pb2.CreateApiTokenRequest(
                        name="imp", scopes=["tickets.read", "tickets.write", "tickets.import"]),
                    auth_pb2.LoginResponse, token=self.server.token).token
        t = self.create(imp, now - 7200)
        self.assertEqual(t.create_time.seconds, now - 7200)

        def reply(token, seconds):
            req = tickets_pb2.ReplyToTicketRequest(ticket_id=t.id, body="hi")
            req.time.seconds = seconds
            return unary(self.ch, "/helpdesk.v1.TicketService/ReplyToTicket", req,
                         tickets_pb2.ReplyToTicketResponse, token=token)

        with self.assertRaises(grpc.RpcError) as e:
            reply(imp, now - 7300)  # before the ticket was opened
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("time: earlier than the ticket's last change", e.exception.details())
        with self.assertRaises(grpc.RpcError) as e:
            reply(svc, now - 3600)
        self.assertEqual(e.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        r = reply(imp, now - 3600)
        self.assertEqual(r.message.create_time.seconds, now - 3600)
        self.assertEqual(r.ticket.update_time.seconds, now - 3600)

    def test_an_imported_reply_or_note_retried_after_later_changes_replays(self):
        # An importer whose call timed out retries it; meanwhile the ticket moved on (its
        # own change, or another's): the retry must return the recorded message, not be
        # refused as "earlier than the ticket's last change".
        now = int(dt.datetime.now(dt.timezone.utc).timestamp())
        t = self.create(self.server.token, now - 7200)
        tk = tickets_pb2

        def imported(method, req, resp, seconds):
            req.time.seconds = seconds
            return unary(self.ch, "/helpdesk.v1.TicketService/" + method, req, resp,
                         token=self.server.token)

        def reply():
            return imported("ReplyToTicket", tk.ReplyToTicketRequest(
                ticket_id=t.id, body="imported reply", request_id="imp-reply-1"),
                tk.ReplyToTicketResponse, now - 3600)

        def note():
            return imported("AddNote", tk.AddNoteRequest(
                ticket_id=t.id, body="imported note", request_id="imp-note-1"),
                tk.Note, now - 3000)

        first_reply, first_note = reply(), note()
        unary(self.ch, "/helpdesk.v1.TicketService/AddNote",
              tk.AddNoteRequest(ticket_id=t.id, body="a live note after the import"),
              tk.Note, token=self.server.token)
        again_reply, again_note = reply(), note()
        self.assertEqual(again_reply.message.id, first_reply.message.id)
        self.assertEqual(again_reply.message.create_time.seconds, now - 3600)
        self.assertEqual(again_note.id, first_note.id)
        msgs = unary(self.ch, "/helpdesk.v1.TicketService/GetTicket",
                     tk.GetTicketRequest(id=t.id), tk.GetTicketResponse,
                     token=self.server.token)
        self.assertEqual([m.body for m in msgs.messages].count("imported reply"), 1)
        # A new import at that old time (a new request id) is still refused.
        with self.assertRaises(grpc.RpcError) as e:
            imported("AddNote", tk.AddNoteRequest(ticket_id=t.id, body="late",
                                                  request_id="imp-note-2"),
                     tk.Note, now - 3000)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("time: earlier than the ticket's last change", e.exception.details())


if __name__ == "__main__":
    unittest.main()
