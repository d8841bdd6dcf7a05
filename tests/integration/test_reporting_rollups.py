"""GetReportRollups and StreamReportTickets against a real helpdeskd seeded through the API
(`helpdesk demo seed`): every rollup the report sections read is checked against a recount
of the server's own tickets (ListTickets), and breached_only streams from the breach log."""

import collections
import datetime as dt
import os
import subprocess
import unittest

import grpc

import harness
from harness import LIST, Server, tickets_pb2, unary
from test_cli import cli_binary

reporting_pb2 = harness._PB["reporting"]
SVC = "/helpdesk.v1.ReportingService/"
OPEN_STATUSES = {1, 2, 3}  # NEW, OPEN, PENDING
SOLVED = 4


def all_tickets(ch, token):
    out, page = [], ""
    for _ in range(1000):
        r = unary(ch, LIST, tickets_pb2.ListTicketsRequest(page_size=1000, page_token=page),
                  tickets_pb2.ListTicketsResponse, token=token)
        out += list(r.tickets)
        page = r.next_page_token
        if not page:
            return out
    raise AssertionError("ListTickets did not end")


def by_dim(series):
    """{(bucket day, dim): value} of one series."""
    return {(p.bucket_start.seconds // 86400, int(p.dimension or 0)): p.value
            for p in series.points}


def batched_rows(ch, md, req, batches=None):
    """The rows of StreamReportTicketBatches for req (a StreamReportTicketsRequest, sent as
    the batches' request with the same fields), in order; appends each batch's size to
    batches when given."""
    req = reporting_pb2.StreamReportTicketBatchesRequest.FromString(req.SerializeToString())
    stream = ch.unary_stream(SVC + "StreamReportTicketBatches",
                             request_serializer=lambda m: m.SerializeToString(),
                             response_deserializer=reporting_pb2.ReportTicketBatch.FromString)
    rows = []
    for b in stream(req, metadata=md, timeout=30):
        if batches is not None:
            batches.append(len(b.tickets))
        rows.extend(b.tickets)
    return rows


class RollupsAgainstRecount(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(args=["--unsafe-nosync"]).start()
        env = dict(os.environ, HELPDESK_SERVER=cls.server.address,
                   HELPDESK_TOKEN=cls.server.token, HOME=cls.server.tmp)
        p = subprocess.run([cli_binary(), "demo", "seed", "--tickets", "400", "--days", "30",
                            "--seed", "11"], env=env, capture_output=True, text=True,
                           timeout=600)
        assert p.returncode == 0, p.stderr
        cls.ch = cls.server.channel()
        cls.tickets = all_tickets(cls.ch, cls.server.token)
        now = int(dt.datetime.now(dt.timezone.utc).timestamp())
        cls.range = reporting_pb2.ReportRange()
        # demo seed opens tickets over the last --days days (create_time): cover them all.
        cls.range.start_time.seconds = (now // 86400 - 31) * 86400
        cls.range.end_time.seconds = (now // 86400 + 1) * 86400

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()  # exit 0, no sanitizer report
        finally:
            cls.server.cleanup()

    def rollups(self, *metrics, grouping=0):
        r = unary(self.ch, SVC + "GetReportRollups",
                  reporting_pb2.GetReportRollupsRequest(range=self.range, metrics=metrics,
                                                        grouping=grouping),
                  reporting_pb2.GetReportRollupsResponse, token=self.server.token)
        return {s.metric: s for s in r.series}

    def test_created_per_day_hour_and_priority_match_the_tickets(self):
        s = self.rollups("tickets.created", "tickets.created.priority", "reports.created.hour")
        want_day = collections.Counter(t.create_time.seconds // 86400 for t in self.tickets)
        want_hour = collections.Counter((t.create_time.seconds // 86400,
                                         t.create_time.seconds // 3600 % 24)
                                        for t in self.tickets)
        self.assertEqual(len(self.tickets), 400)
        self.assertEqual(by_dim(s["tickets.created"]), {(d, 0): n for d, n in want_day.items()})
        self.assertEqual(by_dim(s["reports.created.hour"]), dict(want_hour))
        # Counted at creation: escalations since move a ticket's priority, not this.
        self.assertEqual(sum(p.value for p in s["tickets.created.priority"].points),
                         len(self.tickets))
        per_day = collections.Counter()
        for (d, _), n in by_dim(s["tickets.created.priority"]).items():
            per_day[d] += n
        self.assertEqual(per_day, want_day)

    def test_backlog_flows_and_gauge_match_the_open_tickets(self):
        s = self.rollups("reports.opened.hour", "reports.closed.hour", "reports.open@now",
                         "reports.solved.hour")
        open_now = sum(1 for t in self.tickets if t.status in OPEN_STATUSES)
        self.assertEqual(sum(p.value for p in s["reports.open@now"].points), open_now)
        flow = (sum(p.value for p in s["reports.opened.hour"].points) -
                sum(p.value for p in s["reports.closed.hour"].points))
        self.assertEqual(flow, open_now)  # a fresh server: every flow is in the range
        solved = sum(p.value for p in s["reports.solved.hour"].points)
        self.assertGreaterEqual(solved, sum(1 for t in self.tickets if t.status == SOLVED))
        self.assertGreater(open_now, 0)

    def test_csat_distribution_matches_the_ratings(self):
        s = self.rollups("reports.csat")
        want = collections.Counter((t.rating.time.seconds // 86400, t.rating.score)
                                   for t in self.tickets if t.HasField("rating"))
        self.assertGreater(sum(want.values()), 10)
        self.assertEqual(by_dim(s["reports.csat"]), dict(want))

    def test_prefix_patterns_give_one_series_per_metric_found(self):
        # (The demo configures no SLA policy, so "sla.*" slices stay empty here; the unit
        # test reads them.)
        s = self.rollups("tickets.created*")
        self.assertEqual(sorted(s), ["tickets.created", "tickets.created.channel",
                                     "tickets.created.priority"])
        for metric, series in s.items():
            self.assertEqual(sum(p.value for p in series.points), len(self.tickets), metric)

    def test_weeks_sum_the_days_per_dimension(self):
        days = by_dim(self.rollups("reports.created.hour")["reports.created.hour"])
        weeks = by_dim(self.rollups("reports.created.hour",
                                    grouping=reporting_pb2.REPORT_GROUPING_WEEK)
                       ["reports.created.hour"])
        want = collections.Counter()
        for (d, h), n in days.items():
            want[(d - (d + 3) % 7, h)] += n
        self.assertEqual(weeks, dict(want))

    def test_breached_only_streams_the_breach_log_range_and_bad_requests_fail(self):
        stream = self.ch.unary_stream(SVC + "StreamReportTickets",
                                      request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=reporting_pb2.ReportTicket.FromString)
        md = [("authorization", "Bearer " + self.server.token)]
        rows = list(stream(reporting_pb2.StreamReportTicketsRequest(range=self.range,
                                                                    breached_only=True),
                           metadata=md, timeout=30))
        # Demo tickets are minutes old: no target can have breached yet (met late or not).
        self.assertEqual(rows, [])
        every = list(stream(reporting_pb2.StreamReportTicketsRequest(range=self.range),
                            metadata=md, timeout=30))
        self.assertEqual(sorted(r.id for r in every), sorted(t.id for t in self.tickets))
        self.assertEqual(batched_rows(self.ch, md, reporting_pb2.StreamReportTicketsRequest(
            range=self.range, include_open=True)), list(stream(
                reporting_pb2.StreamReportTicketsRequest(range=self.range, include_open=True),
                metadata=md, timeout=30)))
        with self.assertRaises(grpc.RpcError) as e:
            list(stream(reporting_pb2.StreamReportTicketsRequest(
                range=self.range, breached_only=True, include_open=True), metadata=md,
                timeout=30))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(grpc.RpcError) as e:
            self.rollups(*["m%d" % i for i in range(33)])
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)


class BreachedOnly(unittest.TestCase):
    """A zero-minute first-response policy on urgent tickets: the monitor logs a breach for
    each at once; breached_only streams exactly those tickets, and the SLA slices' breach
    rollups count them."""

    def test_breached_only_streams_the_logged_breaches_of_the_range(self):
        sla_pb2 = harness._PB["sla"]
        server = Server(args=["--unsafe-nosync"]).start()
        self.addCleanup(server.cleanup)
        ch = server.channel()

        def sla(method, req, resp):
            return unary(ch, "/helpdesk.v1.SlaService/" + method, req, resp, token=server.token)

        cal = sla("PutCalendar", sla_pb2.PutCalendarRequest(calendar=sla_pb2.Calendar(
            name="24/7", time_zone="UTC",
            intervals=[sla_pb2.WorkingInterval(weekday=d, start_minute=0, end_minute=1440)
                       for d in range(7)])), sla_pb2.Calendar)
        sla("PutPolicy", sla_pb2.PutPolicyRequest(policy=sla_pb2.SlaPolicy(
            name="Urgent", rank=0, calendar_id=cal.id,
            priorities=[harness.common_pb2.PRIORITY_URGENT],
            targets=[sla_pb2.SlaTargetTime(target=sla_pb2.SLA_TARGET_FIRST_RESPONSE,
                                           minutes=0)])), sla_pb2.SlaPolicy)
        urgent = []
        for i in range(6):
            req = harness.create_ticket_request(subject="T%d" % i, request_id="b%d" % i)
            if i % 2 == 0:
                req.priority = harness.common_pb2.PRIORITY_URGENT
            t = unary(ch, harness.CREATE, req, tickets_pb2.Ticket, token=server.token)
            if i % 2 == 0:
                urgent.append(t.id)
        harness.wait_for(lambda: len(sla("ListBreaches", sla_pb2.ListBreachesRequest(),
                                         sla_pb2.ListBreachesResponse).breaches) == 3,
                         20, "three breaches logged")
        now = int(dt.datetime.now(dt.timezone.utc).timestamp())
        rng = reporting_pb2.ReportRange()
        rng.start_time.seconds = now - 3600
        rng.end_time.seconds = now + 3600
        stream = ch.unary_stream(SVC + "StreamReportTickets",
                                 request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=reporting_pb2.ReportTicket.FromString)
        md = [("authorization", "Bearer " + server.token)]
        rows = list(stream(reporting_pb2.StreamReportTicketsRequest(range=rng, breached_only=True),
                           metadata=md, timeout=30))
        self.assertEqual([r.id for r in rows], sorted(urgent))
        self.assertEqual(batched_rows(ch, md, reporting_pb2.StreamReportTicketsRequest(
            range=rng, breached_only=True)), rows)
        for r in rows:
            fr = [x for x in r.targets
                  if x.target == reporting_pb2.REPORT_SLA_TARGET_FIRST_RESPONSE]
            self.assertEqual(len(fr), 1)
            self.assertTrue(fr[0].breached)
        before = reporting_pb2.ReportRange()
        before.start_time.seconds = now - 7200
        before.end_time.seconds = now - 3600
        self.assertEqual(list(stream(reporting_pb2.StreamReportTicketsRequest(
            range=before, breached_only=True), metadata=md, timeout=30)), [])
        roll = unary(ch, SVC + "GetReportRollups",
                     reporting_pb2.GetReportRollupsRequest(range=rng, metrics=["sla.breached|*"]),
                     reporting_pb2.GetReportRollupsResponse, token=server.token)
        self.assertEqual(sum(p.value for s in roll.series for p in s.points
                             if p.dimension == "1"), 3)
        server.stop()



class Batches(unittest.TestCase):
    """StreamReportTicketBatches sends StreamReportTickets' rows in the same order, at most
    512 per message, none empty."""

    def test_batches_carry_the_single_row_stream_in_order_512_at_most(self):
        server = Server(args=["--unsafe-nosync"]).start()
        self.addCleanup(server.cleanup)
        ch = server.channel()
        for i in range(1100):
            unary(ch, harness.CREATE, harness.create_ticket_request(
                subject="Batch %d" % i, request_id="batch%d" % i), tickets_pb2.Ticket,
                token=server.token)
        now = int(dt.datetime.now(dt.timezone.utc).timestamp())
        rng = reporting_pb2.ReportRange()
        rng.start_time.seconds = now - 3600
        rng.end_time.seconds = now + 3600
        req = reporting_pb2.StreamReportTicketsRequest(range=rng, include_open=True)
        md = [("authorization", "Bearer " + server.token)]
        single = list(ch.unary_stream(
            SVC + "StreamReportTickets", request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=reporting_pb2.ReportTicket.FromString)(
                req, metadata=md, timeout=30))
        self.assertEqual(len(single), 1100)
        sizes = []
        self.assertEqual(batched_rows(ch, md, req, sizes), single)
        self.assertEqual(sizes, [512, 512, 76])
        before = reporting_pb2.ReportRange()
        before.start_time.seconds = now - 7200
        before.end_time.seconds = now - 3600
        sizes = []
        self.assertEqual(batched_rows(ch, md, reporting_pb2.StreamReportTicketsRequest(
            range=before), sizes), [])
        self.assertEqual(sizes, [])
        server.stop()


if __name__ == "__main__":
    unittest.main()
