"""helpdesk-reporter's trend sections (volume, peak hours, CSAT) read from the server's rollups
(GetReportRollups), not the ticket stream: a real helpdeskd seeded through the API
(`helpdesk demo seed`), the reporter run against it, and every figure of those sheets checked
against an independent recount of the server's tickets (ListTickets) in the report's zone.

The reporter comes from env REPORTER (default bazel-bin/reporter/helpdesk-reporter)."""

import collections
import datetime as dt
import os
import subprocess
import unittest
from zoneinfo import ZoneInfo

import openpyxl

import harness
from harness import GET, Server, tickets_pb2, unary
from test_cli import cli_binary
from test_reporter import REPORTER, data_rows
from test_reporting_rollups import all_tickets

TZ = "Europe/Berlin"
OPEN_STATUSES = {1, 2, 3}  # NEW, OPEN, PENDING
OPEN_NAMES = {"NEW", "OPEN", "PENDING"}


def status_trail(ch, token, ticket_id):
    """[(unix_s, STATUS NAME)] of one ticket from its audit trail (GetTicket events)."""
    r = unary(ch, GET, tickets_pb2.GetTicketRequest(id=ticket_id),
              tickets_pb2.GetTicketResponse, token=token)
    trail = [(r.ticket.create_time.seconds, "NEW")]
    for e in r.events:
        for c in e.changes:
            if c.field == "status" and c.after:
                trail.append((e.time.seconds, c.after.upper().replace("TICKET_STATUS_", "")))
    return sorted(trail, key=lambda x: x[0])


def local_day(unix_s):
    return dt.datetime.fromtimestamp(unix_s, ZoneInfo(TZ)).date()


def as_date(cell):
    return cell.date() if isinstance(cell, dt.datetime) else cell


class TrendSectionsFromRollups(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(args=["--unsafe-nosync"]).start()
        env = dict(os.environ, HELPDESK_SERVER=cls.server.address,
                   HELPDESK_TOKEN=cls.server.token, HOME=cls.server.tmp)
        p = subprocess.run([cli_binary(), "demo", "seed", "--tickets", "400", "--days", "30",
                            "--seed", "11"], env=env, capture_output=True, text=True,
                           timeout=600)
        assert p.returncode == 0, p.stderr
        ch = cls.server.channel()
        cls.tickets = all_tickets(ch, cls.server.token)
        cls.trails = [status_trail(ch, cls.server.token, t.id) for t in cls.tickets]
        today = local_day(int(dt.datetime.now(dt.timezone.utc).timestamp()))
        cls.days = [today - dt.timedelta(days=30 - i) for i in range(31)]
        cfg = os.path.join(cls.server.tmp, "reporter.ini")
        with open(cfg, "w") as f:
            f.write("[server]\ntarget = %s\ntoken_file = %s\n"
                    "[report trend]\ntitle = Trend\nperiod = last_30_days\ntz = %s\n"
                    "sections = volume,heatmap,csat\n" %
                    (cls.server.address, os.path.join(cls.server.data_path(), "admin.token"),
                     TZ))
        cls.xlsx = os.path.join(cls.server.tmp, "trend.xlsx")
        p = subprocess.run([REPORTER, "run", "--config", cfg, "--report", "trend", "--tz", TZ,
                            "--from", cls.days[0].isoformat(), "--to",
                            cls.days[-1].isoformat(), "--out", cls.xlsx],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        cls.wb = openpyxl.load_workbook(cls.xlsx)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()  # exit 0, no sanitizer report
        finally:
            cls.server.cleanup()

    def test_only_the_trend_sheets_are_written(self):
        self.assertEqual(self.wb.sheetnames, ["Volume", "Peak hours", "CSAT"])

    def test_created_solved_and_backlog_per_local_day_match_the_tickets(self):
        # Independent recount: creations from the tickets, solves and the backlog from each
        # ticket's audit trail (a ticket solved, reopened and solved again counts twice).
        created = collections.Counter(local_day(t.create_time.seconds) for t in self.tickets)
        solved = collections.Counter()
        for trail in self.trails:
            for (_, before), (at, after) in zip(trail, trail[1:]):
                if after == "SOLVED" and before != "SOLVED":
                    solved[local_day(at)] += 1
        rows = data_rows(self.wb["Volume"])
        self.assertEqual([as_date(r[0]) for r in rows], self.days)
        self.assertEqual(sum(r[1] for r in rows), len(self.tickets))
        self.assertGreater(sum(r[2] for r in rows), 50)
        for r in rows:
            day = as_date(r[0])
            self.assertEqual((r[1], r[2]), (created[day], solved[day]), day)
        open_now = sum(1 for t in self.tickets if t.status in OPEN_STATUSES)
        self.assertEqual(rows[-1][3], open_now)  # the last day end is after now
        for r in rows:
            end = dt.datetime.combine(as_date(r[0]) + dt.timedelta(days=1), dt.time(),
                                      ZoneInfo(TZ)).timestamp()
            want = 0
            for trail in self.trails:
                states = [st for at, st in trail if at < end]
                want += bool(states) and states[-1] in OPEN_NAMES
            self.assertEqual(r[3], want, r[0])

    def test_peak_hours_count_creations_by_local_weekday_and_hour(self):
        want = collections.Counter()
        for t in self.tickets:
            d = dt.datetime.fromtimestamp(t.create_time.seconds, ZoneInfo(TZ))
            if d.date() in self.days:
                want[(d.weekday(), d.hour)] += 1
        heat = data_rows(self.wb["Peak hours"])
        for wd, r in enumerate(heat[:7]):
            self.assertEqual(list(r[1:25]), [want[(wd, h)] for h in range(24)], r[0])

    def test_csat_scores_per_day_match_the_ratings(self):
        # The server keeps CSAT per UTC day of the rating; the sheet shows that date.
        want = collections.defaultdict(lambda: [0] * 5)
        for t in self.tickets:
            if t.HasField("rating"):
                day = dt.datetime.fromtimestamp(t.rating.time.seconds, dt.timezone.utc).date()
                want[day][t.rating.score - 1] += 1
        rows = data_rows(self.wb["CSAT"])
        self.assertEqual(rows[-1][0], "Total")
        self.assertGreater(sum(sum(v) for v in want.values()), 10)
        for r in rows[:-1]:
            self.assertEqual(list(r[4:9]), want[as_date(r[0])], r[0])


if __name__ == "__main__":
    unittest.main()
