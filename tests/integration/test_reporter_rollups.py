"""helpdesk-reporter's sections from the server's rollups (GetReportRollups over the report
facts of server/reports/facts.h) against the same report folded from a stream of every
ticket (`--stream`, StreamReportTickets): a real helpdeskd seeded through the API
(`helpdesk demo seed`: replies, escalations, reassignments, reopenings, ratings, SLA clocks
met, breached and running), the whole workbook made both ways must be identical, sheet by
sheet and cell by cell. The trend sheets are also recounted independently from the server's
tickets (ListTickets) in the report's zone.

The reporter comes from env REPORTER (default bazel-bin/reporter/helpdesk-reporter)."""

import collections
import datetime as dt
import os
import time
import subprocess
import unittest
from zoneinfo import ZoneInfo

import openpyxl

import harness
from harness import Server, unary
from test_cli import cli_binary
from test_reporter import REPORTER, data_rows
from test_reporting_rollups import all_tickets

TZ = "Europe/Berlin"
NOW = 1795413600  # the workbooks' fixed creation time (both runs alike)


def local_day(unix_s):
    return dt.datetime.fromtimestamp(unix_s, ZoneInfo(TZ)).date()


def as_date(cell):
    return cell.date() if isinstance(cell, dt.datetime) else cell


def sheets(path):
    wb = openpyxl.load_workbook(path)
    return {name: [list(r) for r in wb[name].iter_rows(values_only=True)]
            for name in wb.sheetnames}


def state(tickets):
    return sorted((t.id, t.update_time.seconds, t.update_time.nanos) for t in tickets)


def assert_same_workbooks(test, a_path, b_path, elapsed_s):
    """Workbook a (made first) and b (made elapsed_s later, both runs included) hold the
    same cells, except that a still-open breached target's "Breached by" (the last column
    of Breached tickets) counts up with the server's clock from its own due second: b's may
    exceed a's by at most the whole minutes that can have passed. When every cell agrees the
    files must be byte-identical too."""
    a, b = sheets(a_path), sheets(b_path)
    test.assertEqual(list(a), list(b))
    slack = dt.timedelta(minutes=int(elapsed_s // 60) + 1)
    exact = True
    for name in a:
        test.assertEqual(len(a[name]), len(b[name]), name)
        for i, (ra, rb) in enumerate(zip(a[name], b[name])):
            where = "%s row %d" % (name, i + 1)
            if (name == "Breached tickets" and ra != rb and len(ra) == len(rb) and
                    isinstance(ra[-1], dt.timedelta) and isinstance(rb[-1], dt.timedelta)):
                test.assertEqual(ra[:-1], rb[:-1], where)
                test.assertLessEqual(ra[-1], rb[-1], where)
                test.assertLessEqual(rb[-1] - ra[-1], slack, where)
                exact = False
                continue
            test.assertEqual(ra, rb, where)
    if exact:
        with open(a_path, "rb") as fa, open(b_path, "rb") as fb:
            test.assertEqual(fa.read(), fb.read())


class SectionsFromRollups(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(args=["--unsafe-nosync"]).start()
        cls.policies(cls.server)
        env = dict(os.environ, HELPDESK_SERVER=cls.server.address,
                   HELPDESK_TOKEN=cls.server.token, HOME=cls.server.tmp)
        p = subprocess.run([cli_binary(), "demo", "seed", "--tickets", "400", "--days", "30",
                            "--seed", "11"], env=env, capture_output=True, text=True,
                           timeout=600)
        assert p.returncode == 0, p.stderr
        cls.ch = cls.server.channel()
        today = local_day(int(dt.datetime.now(dt.timezone.utc).timestamp()))
        # 14 days ending yesterday (and the 14 before, for the summary's comparison); the
        # day the test runs is outside, so SLA targets falling due now cannot move figures.
        cls.days = [today - dt.timedelta(days=14 - i) for i in range(14)]
        cls.cfg = os.path.join(cls.server.tmp, "reporter.ini")
        with open(cls.cfg, "w") as f:
            f.write("[server]\ntarget = %s\ntoken_file = %s\n"
                    "[report all]\ntitle = All sections\nperiod = last_30_days\ntz = %s\n"
                    "sections = all\n" %
                    (cls.server.address, os.path.join(cls.server.data_path(), "admin.token"),
                     TZ))
        # The server's SLA monitor may change a ticket between the two runs (a breach that
        # escalates); then both are made again, at most 3 times.
        for _ in range(3):
            before = state(all_tickets(cls.ch, cls.server.token))
            t0 = time.monotonic()
            cls.rollups = cls.run_report("rollups.xlsx")
            cls.stream = cls.run_report("stream.xlsx", "--stream")
            cls.elapsed = time.monotonic() - t0
            cls.tickets = all_tickets(cls.ch, cls.server.token)
            if state(cls.tickets) == before:
                break
        cls.wb = openpyxl.load_workbook(cls.rollups)

    @staticmethod
    def policies(server):
        """Business hours in Berlin and two policies tight enough that the seeded history has
        targets met, breached (and met late) and still running."""
        sla_pb2, common = harness._PB["sla"], harness.common_pb2
        ch = server.channel()

        def sla(method, req, resp):
            return unary(ch, "/helpdesk.v1.SlaService/" + method, req, resp, token=server.token)

        cal = sla("PutCalendar", sla_pb2.PutCalendarRequest(calendar=sla_pb2.Calendar(
            name="Office", time_zone=TZ,
            intervals=[sla_pb2.WorkingInterval(weekday=d, start_minute=8 * 60,
                                               end_minute=18 * 60) for d in range(1, 6)])),
            sla_pb2.Calendar)
        for rank, prios, minutes in ((0, [common.PRIORITY_URGENT, common.PRIORITY_HIGH],
                                      (30, 120, 600)),
                                     (1, [common.PRIORITY_NORMAL, common.PRIORITY_LOW],
                                      (600, 1200, 6000))):
            sla("PutPolicy", sla_pb2.PutPolicyRequest(policy=sla_pb2.SlaPolicy(
                name="P%d" % rank, rank=rank, calendar_id=cal.id, priorities=prios,
                targets=[sla_pb2.SlaTargetTime(target=k, minutes=m) for k, m in zip(
                    (sla_pb2.SLA_TARGET_FIRST_RESPONSE, sla_pb2.SLA_TARGET_NEXT_RESPONSE,
                     sla_pb2.SLA_TARGET_RESOLUTION), minutes)])), sla_pb2.SlaPolicy)

    @classmethod
    def run_report(cls, name, *extra, tz=TZ, days_back=0):
        out = os.path.join(cls.server.tmp, name)
        back = dt.timedelta(days=days_back)
        p = subprocess.run([REPORTER, "run", "--config", cls.cfg, "--report", "all",
                            "--tz", tz, "--from", (cls.days[0] - back).isoformat(), "--to",
                            (cls.days[-1] - back).isoformat(), "--now", str(NOW), "--out",
                            out, *extra],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        return out

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()  # exit 0, no sanitizer report
        finally:
            cls.server.cleanup()

    def test_rollups_and_ticket_stream_give_the_same_workbook(self):
        self.assertEqual(openpyxl.load_workbook(self.rollups).sheetnames,
                         ["Summary", "Volume", "SLA", "Response times", "Agents", "Mix",
                          "Peak hours", "CSAT", "Breached tickets"])
        assert_same_workbooks(self, self.rollups, self.stream, self.elapsed)

    def test_weeks_in_a_zone_west_of_utc_are_the_same_both_ways(self):
        # Local days there start at 04:00 or 05:00 UTC; weeks sum the days. A day earlier
        # than the Berlin period, so that it ends before now in New York too.
        for _ in range(3):
            before = state(all_tickets(self.ch, self.server.token))
            t0 = time.monotonic()
            a = self.run_report("ny-rollups.xlsx", "--group", "week", tz="America/New_York",
                                days_back=1)
            b = self.run_report("ny-stream.xlsx", "--group", "week", "--stream",
                                tz="America/New_York", days_back=1)
            elapsed = time.monotonic() - t0
            if state(all_tickets(self.ch, self.server.token)) == before:
                break
        self.assertGreater(len(data_rows(openpyxl.load_workbook(a)["Volume"])), 1)
        assert_same_workbooks(self, a, b, elapsed)

    def test_the_data_exercises_every_section(self):
        rows = {name: data_rows(self.wb[name]) for name in self.wb.sheetnames}
        self.assertGreater(sum(r[1] for r in rows["Volume"]), 100)
        self.assertGreater(sum(r[2] for r in rows["Volume"]), 50)
        sla = [r for r in rows["SLA"] if r[0] == "Priority"]
        for k in (0, 2):  # met and breached (the demo seed has no next-response clocks)
            self.assertGreater(sum(r[2 + 3 * k] for r in sla), 0, k)
            self.assertGreater(sum(r[3 + 3 * k] for r in sla), 0, k)
        self.assertGreater(len(rows["Breached tickets"]), 5)
        self.assertGreater(sum(r[5] for r in rows["Response times"]), 20)
        self.assertGreater(len(rows["Agents"]), 1)
        self.assertGreater(rows["CSAT"][-1][1], 5)

    def test_created_solved_and_backlog_per_local_day_match_the_tickets(self):
        # Per ticket as it is now: created on its creation day, solved on its solve day,
        # in the backlog from creation until its solve time.
        created = collections.Counter(local_day(t.create_time.seconds) for t in self.tickets)
        solved = collections.Counter(local_day(t.solve_time.seconds) for t in self.tickets
                                     if t.HasField("solve_time"))
        rows = data_rows(self.wb["Volume"])
        self.assertEqual([as_date(r[0]) for r in rows], self.days)
        for r in rows:
            day = as_date(r[0])
            self.assertEqual((r[1], r[2]), (created[day], solved[day]), day)
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(),
                                      ZoneInfo(TZ)).timestamp()
            want = sum(1 for t in self.tickets if t.create_time.seconds < end and
                       not (t.HasField("solve_time") and t.solve_time.seconds < end))
            self.assertEqual(r[3], want, day)

    def test_peak_hours_count_creations_by_local_weekday_and_hour(self):
        want = collections.Counter()
        for t in self.tickets:
            d = dt.datetime.fromtimestamp(t.create_time.seconds, ZoneInfo(TZ))
            if d.date() in self.days:
                want[(d.weekday(), d.hour)] += 1
        heat = data_rows(self.wb["Peak hours"])
        for wd, r in enumerate(heat[:7]):
            self.assertEqual(list(r[1:25]), [want[(wd, h)] for h in range(24)], r[0])

    def test_csat_scores_count_on_the_local_solve_day(self):
        want = collections.defaultdict(lambda: [0] * 5)
        for t in self.tickets:
            if t.HasField("rating") and t.HasField("solve_time") and 1 <= t.rating.score <= 5:
                want[local_day(t.solve_time.seconds)][t.rating.score - 1] += 1
        rows = data_rows(self.wb["CSAT"])
        self.assertEqual(rows[-1][0], "Total")
        for r in rows[:-1]:
            self.assertEqual(list(r[4:9]), want[as_date(r[0])], r[0])

    def test_mix_counts_created_tickets_by_current_priority_and_category(self):
        names = {1: "Urgent", 2: "High", 3: "Normal", 4: "Low"}
        prio, cat = collections.Counter(), collections.Counter()
        for t in self.tickets:
            if local_day(t.create_time.seconds) in self.days:
                prio[names.get(t.priority, "Normal")] += 1
                cat[t.category or "(none)"] += 1
        mix = data_rows(self.wb["Mix"])
        self.assertEqual({r[1]: r[2] for r in mix if r[0] == "Priority"},
                         {p: prio[p] for p in names.values()})
        self.assertEqual({r[1]: r[2] for r in mix if r[0] == "Category"}, dict(cat))


if __name__ == "__main__":
    unittest.main()
