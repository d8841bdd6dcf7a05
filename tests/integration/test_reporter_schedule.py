"""helpdesk-reporter schedules with a settable clock (--now, serve --once): a weekly run at
08:00 Europe/Berlin fires once and stays at 08:00 local across the end of DST; after
downtime the missed run fires once; the aiosmtpd sink receives one message per recipient
with every attachment intact; and two reporters sharing one configuration against a real
helpdeskd never make the same run twice (the lease)."""

import collections
import datetime as dt
import email
import email.policy
import os
import shutil
import socket
import subprocess
import tempfile
import unittest
from zoneinfo import ZoneInfo

import openpyxl
from aiosmtpd.controller import Controller

import grpc

import harness
from harness import CREATE, Server, create_ticket_request, unary, tickets_pb2

reporting_pb2 = harness._PB["reporting"]
SVC = "/helpdesk.v1.ReportingService/"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPORTER = os.path.abspath(os.path.join(
    ROOT, os.environ.get("REPORTER", "bazel-bin/reporter/helpdesk-reporter")))
CLI = os.path.abspath(os.path.join(ROOT, os.environ.get("HELPDESK_CLI",
                                                        "bazel-bin/clients/cli/helpdesk")))
SEED = "3:3000:60:1795413600"


def utc(*a):
    return int(dt.datetime(*a, tzinfo=dt.timezone.utc).timestamp())


def weekly_run_reporting(unix_s):
    """The due time of the first "0 8 * * mon" Europe/Berlin run whose last_week period (the
    Monday-to-Sunday week before that Monday) holds unix_s: the Monday after unix_s's week."""
    z = ZoneInfo("Europe/Berlin")
    local = dt.datetime.fromtimestamp(unix_s, z)
    monday = local.date() + dt.timedelta(days=7 - local.weekday())
    return int(dt.datetime.combine(monday, dt.time(8), z).timestamp())


def utc_date(unix_s):
    return dt.datetime.fromtimestamp(unix_s, dt.timezone.utc).date()


def reporter(*args):
    return subprocess.run([REPORTER, *args], capture_output=True, text=True, timeout=120)


class Sink:
    """An SMTP sink keeping every envelope."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


class Schedules(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hd-rep-sched-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.out = os.path.join(self.tmp, "out")

    def config(self, extra_schedule="", smtp="", server=""):
        path = os.path.join(self.tmp, "reporter.ini")
        with open(path, "w") as f:
            f.write(server + smtp +
                    "[output]\ndir = %s\nretention_days = 3650\n"
                    "[report weekly]\ntitle = Weekly operations\nperiod = last_week\n"
                    "tz = Europe/Berlin\nsections = summary,volume,breaches\n"
                    "[schedule monday]\nreport = weekly\ncron = 0 8 * * mon\n"
                    "tz = Europe/Berlin\n%s" % (self.out, extra_schedule))
        return path

    def serve(self, cfg, now, *extra):
        p = reporter("serve", "--config", cfg, "--once", "--now", str(now), *extra)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def files(self):
        if not os.path.isdir(self.out):
            return []
        return sorted(f for f in os.listdir(self.out) if f != "state")

    def test_weekly_0800_berlin_fires_once_and_follows_the_end_of_dst(self):
        cfg = self.config()
        seed = ("--seed", SEED)
        self.serve(cfg, utc(2026, 10, 17, 12, 0), *seed)  # first start: nothing retroactive
        self.assertEqual(self.files(), [])
        self.serve(cfg, utc(2026, 10, 19, 5, 59), *seed)  # 07:59 CEST
        self.assertEqual(self.files(), [])
        self.serve(cfg, utc(2026, 10, 19, 6, 0), *seed)  # 08:00 CEST
        self.assertEqual(self.files(), ["monday-2026-10-19-0800.xlsx"])
        self.serve(cfg, utc(2026, 10, 19, 6, 30), *seed)  # same run: not again
        self.serve(cfg, utc(2026, 10, 26, 6, 30), *seed)  # 07:30 CET: not yet
        self.assertEqual(len(self.files()), 1)
        self.serve(cfg, utc(2026, 10, 26, 7, 0), *seed)  # 08:00 CET
        self.assertEqual(self.files(), ["monday-2026-10-19-0800.xlsx",
                                        "monday-2026-10-26-0800.xlsx"])
        listing = reporter("schedules", "--config", cfg, "--now", str(utc(2026, 10, 26, 8, 0)))
        self.assertIn("2026-11-02 08:00", listing.stdout)
        self.assertIn("2026-10-26 08:00", listing.stdout)

    def test_missed_runs_after_downtime_fire_once(self):
        cfg = self.config()
        seed = ("--seed", SEED)
        self.serve(cfg, utc(2026, 10, 17, 12, 0), *seed)
        self.serve(cfg, utc(2026, 10, 19, 6, 0), *seed)
        # Down from 2026-10-19 until Wednesday 2026-11-11: three Mondays missed.
        out = self.serve(cfg, utc(2026, 11, 11, 10, 0), *seed)
        self.assertEqual(out.count("wrote"), 1, out)
        self.assertEqual(self.files(), ["monday-2026-10-19-0800.xlsx",
                                        "monday-2026-11-09-0800.xlsx"])
        self.assertEqual(self.serve(cfg, utc(2026, 11, 11, 11, 0), *seed).count("wrote"), 0)

    def test_sink_gets_one_message_per_recipient_with_intact_attachments(self):
        sink = Sink()
        # aiosmtpd's start() probes the port it was given, so it cannot take port 0.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        ctl = Controller(sink, hostname="127.0.0.1", port=port)
        ctl.start()
        self.addCleanup(ctl.stop)
        cfg = self.config(
            "formats = xlsx, csv\nrecipients = ann@example.com, bob@example.com\n",
            smtp="[smtp]\nurl = smtp://127.0.0.1:%d\nfrom = reports@example.com\n" % port)
        self.serve(cfg, utc(2026, 10, 17, 12, 0), "--seed", SEED, "--smtp-insecure")
        out = self.serve(cfg, utc(2026, 10, 19, 6, 0), "--seed", SEED, "--smtp-insecure")
        self.assertIn("mailed 2 of 2", out)
        self.assertEqual(sorted(m[0] for m in sink.messages),
                         [["ann@example.com"], ["bob@example.com"]])
        on_disk = {}
        for f in self.files():
            with open(os.path.join(self.out, f), "rb") as fh:
                on_disk[f] = fh.read()
        self.assertEqual(len(on_disk), 4)  # xlsx + 3 section CSVs
        for rcpt, raw in sink.messages:
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            self.assertEqual(msg["To"], rcpt[0])
            self.assertIn("Weekly operations", msg["Subject"])
            self.assertEqual(msg["Auto-Submitted"], "auto-generated")
            body = msg.get_body(("plain",)).get_content()
            self.assertIn("Tickets created:", body)
            self.assertIsNotNone(msg.get_body(("html",)))
            got = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
            self.assertEqual(got, on_disk)

    def test_two_reporters_on_one_config_never_make_a_run_twice(self):
        server = Server().start()
        self.addCleanup(server.cleanup)
        ch = server.channel()
        created = [unary(ch, CREATE, create_ticket_request(request_id="r%d" % i,
                                                           subject="=1+%d" % i),
                         tickets_pb2.Ticket, token=server.token).create_time.seconds
                   for i in range(5)]
        token_file = os.path.join(server.data_path(), "admin.token")
        cfg = self.config(server="[server]\ntarget = %s\ntoken_file = %s\n" %
                          (server.address, token_file))
        now0 = int(dt.datetime.now(dt.timezone.utc).timestamp())
        # Both start now. The run they compete for is the one whose last week holds the
        # tickets (the server's create times): the Monday after their week, not "now + 8
        # days", whose latest missed run reports the week after a Sunday's tickets.
        due = weekly_run_reporting(max(created))
        in_week = sum(1 for c in created if weekly_run_reporting(c) == due)
        self.serve(cfg, now0, "--holder", "a")
        os.unlink(os.path.join(self.out, "state"))
        self.serve(cfg, now0, "--holder", "b")
        later = due + 3600
        out_a = self.serve(cfg, later, "--holder", "a")
        self.assertIn("wrote", out_a)
        # Reporter b has its own state file (fresh checkout of the same config): the
        # server's lease still says the run is done.
        os.rename(os.path.join(self.out, "state"), os.path.join(self.tmp, "state-a"))
        self.serve(cfg, now0, "--holder", "b")
        out_b = self.serve(cfg, later, "--holder", "b")
        self.assertIn("done elsewhere, skipped", out_b)
        self.assertNotIn("wrote", out_b)
        xlsx = [f for f in self.files() if f.endswith(".xlsx")]
        self.assertEqual(len(xlsx), 1)
        # The report came from the server's ticket rows (the week holding them; all 5 unless
        # they straddle Sunday midnight in Berlin).
        self.assertEqual(xlsx, ["monday-%s-0800.xlsx" %
                                dt.datetime.fromtimestamp(due, ZoneInfo("Europe/Berlin"))
                                .date().isoformat()])
        wb = openpyxl.load_workbook(os.path.join(self.out, xlsx[0]))
        self.assertEqual(wb["Summary"]["A5"].value, "Tickets created")
        self.assertEqual(wb["Summary"]["B5"].value, in_week)
        self.assertGreaterEqual(in_week, 1)

        # `helpdesk report run|list|schedules` over the same server and configuration.
        base = [CLI, "--server", server.address, "--token", server.token]
        out = os.path.join(self.tmp, "cli.xlsx")
        # The UTC days of the tickets (the server's clock), not the test machine's local
        # today, which differs from UTC in other zones and may have moved on since.
        p = subprocess.run(base + ["report", "run", "--config", cfg, "--report", "weekly",
                                   "--from", utc_date(min(created)).isoformat(),
                                   "--to", utc_date(max(created)).isoformat(), "--tz", "UTC",
                                   "--out", out], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), out)
        summary = openpyxl.load_workbook(out)["Summary"]
        self.assertEqual(summary["B5"].value, 5)
        p = subprocess.run(base + ["report", "list", "--config", cfg], capture_output=True,
                           text=True, timeout=60)
        self.assertIn("weekly  Weekly operations  last_week", p.stdout)
        p = subprocess.run(base + ["report", "schedules", "--config", cfg], capture_output=True,
                           text=True, timeout=60)
        self.assertRegex(p.stdout, r"monday +weekly +0 8 \* \* mon +Europe/Berlin")
        p = subprocess.run([CLI, "--server", server.address, "--token", "x" * 43, "report",
                            "run", "--out", out], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 3, p.stderr)  # denied: bad token


class ReportingService(unittest.TestCase):
    """The server side over a real helpdeskd and an independent client (Python grpcio)."""

    def test_rollups_ticket_stream_leases_and_errors(self):
        server = Server().start()
        self.addCleanup(server.cleanup)
        ch = server.channel()
        # The UTC day buckets of the server's create times (the test's clock may have
        # passed midnight since, or the three may straddle it).
        days = collections.Counter(
            unary(ch, CREATE, create_ticket_request(request_id="q%d" % i), tickets_pb2.Ticket,
                  token=server.token).create_time.seconds // 86400 * 86400 for i in range(3))
        day0 = min(days)
        rng = reporting_pb2.ReportRange()
        rng.start_time.seconds = day0 - 86400
        rng.end_time.seconds = max(days) + 86400
        roll = unary(ch, SVC + "GetReportRollups",
                     reporting_pb2.GetReportRollupsRequest(range=rng),
                     reporting_pb2.GetReportRollupsResponse, token=server.token)
        created = [s for s in roll.series if s.metric == "tickets.created"][0]
        self.assertEqual([(p.bucket_start.seconds, p.value) for p in created.points if p.value],
                         sorted(days.items()))
        stream = ch.unary_stream(SVC + "StreamReportTickets",
                                 request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=reporting_pb2.ReportTicket.FromString)
        rows = list(stream(reporting_pb2.StreamReportTicketsRequest(range=rng),
                           metadata=[("authorization", "Bearer " + server.token)], timeout=20))
        self.assertEqual(len(rows), 3)
        self.assertTrue(all(r.create_time.seconds >= day0 for r in rows))

        def lease(holder, key="weekly@1", ttl=60):
            return unary(ch, SVC + "AcquireReportLease",
                         reporting_pb2.AcquireReportLeaseRequest(run_key=key, holder=holder,
                                                                 ttl_seconds=ttl),
                         reporting_pb2.AcquireReportLeaseResponse, token=server.token)

        self.assertTrue(lease("a").granted)
        b = lease("b")
        self.assertFalse(b.granted)
        self.assertEqual(b.holder, "a")
        with self.assertRaises(grpc.RpcError) as e:
            unary(ch, SVC + "CompleteReportLease",
                  reporting_pb2.CompleteReportLeaseRequest(run_key="weekly@1", holder="b"),
                  reporting_pb2.CompleteReportLeaseResponse, token=server.token)
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        with self.assertRaises(grpc.RpcError) as e:
            lease("a", ttl=0)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(grpc.RpcError) as e:
            unary(ch, SVC + "GetReportRollups", reporting_pb2.GetReportRollupsRequest(),
                  reporting_pb2.GetReportRollupsResponse, token=server.token)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(grpc.RpcError) as e:
            unary(ch, SVC + "GetReportRollups",
                  reporting_pb2.GetReportRollupsRequest(range=rng), reporting_pb2.GetReportRollupsResponse)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAUTHENTICATED)


if __name__ == "__main__":
    unittest.main()
