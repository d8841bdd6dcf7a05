"""helpdesk-reporter end to end: a seeded dataset (fixed seed, fixed "now") whose tickets
the reporter also dumps as CSV; this test recomputes every figure of every section from
those raw tickets independently (Python, zoneinfo) and reads the XLSX back with openpyxl
and the CSV files with the csv module. LibreOffice converts the workbook to PDF and a PNG
of page 1 is kept under tests/out/ for a person to look at.

The binary comes from env REPORTER (default bazel-bin/reporter/helpdesk-reporter)."""

import csv
import datetime as dt
import math
import os
import shutil
import subprocess
import tempfile
import unittest
import zipfile
from collections import defaultdict
from zoneinfo import ZoneInfo

import openpyxl

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPORTER = os.path.abspath(os.path.join(
    ROOT, os.environ.get("REPORTER", "bazel-bin/reporter/helpdesk-reporter")))
OUT_DIR = os.path.join(ROOT, "tests", "out")

TZ = "Europe/Berlin"
END = 1795413600  # 2026-11-23 06:00 UTC: the dataset's "now"
SEED = "7:20000:60:%d" % END
FROM, TO = "2026-10-19", "2026-11-01"  # 14 days across the end of DST (2026-10-25)
TARGETS = ["First response", "Next response", "Resolution"]
PRIORITIES = ["Urgent", "High", "Normal", "Low"]
EPOCH = dt.datetime(1970, 1, 1)


def run_reporter(*args, check=True):
    p = subprocess.run([REPORTER, *args], capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("reporter failed (%d): %s" % (p.returncode, p.stderr))
    return p


def unneutralise(s):
    if len(s) > 1 and s[0] == "'" and s[1] in "=+-@\t\r":
        return s[1:]
    return s


def bucket(m):
    m = max(m, 0)
    if m < 120:
        return m
    if m < 1440:
        return 120 + (m - 120) // 5
    if m < 43200:
        return 384 + (m - 1440) // 60
    return 1080


def floor_of(b):
    if b < 120:
        return b
    if b < 384:
        return 120 + (b - 120) * 5
    return 1440 + (b - 384) * 60


def pctl(values, p):
    """Nearest-rank percentile over minute buckets, reported as the bucket's floor."""
    if not values:
        return None
    bs = sorted(bucket(v) for v in values)
    rank = max(1, math.ceil(p * len(bs)))
    return floor_of(bs[rank - 1])


class Expected:
    """Every figure of the report, computed from the raw tickets."""

    def __init__(self, tickets, tz, from_s, to_s):
        self.zone = ZoneInfo(tz)
        z = self.zone
        self.from_s, self.to_s = from_s, to_s
        plen = to_s - from_s
        pfrom = from_s - plen

        def lday(ts):
            return (dt.datetime.fromtimestamp(ts, z).replace(tzinfo=None) - EPOCH).days

        def cur(ts):
            return from_s <= ts < to_s

        def prev(ts):
            return pfrom <= ts < from_s

        self.lday = lday
        first, last = lday(from_s), lday(to_s - 1)
        self.days = list(range(first, last + 1))
        d = {k: defaultdict(int) for k in ("created", "solved")}
        frt_day, res_day, csat_day = defaultdict(list), defaultdict(list), defaultdict(list)
        tot = {w: dict(created=0, solved=0, frt=[], res=[], met=0, breached=0, csat=[])
               for w in ("cur", "prev")}
        sla = defaultdict(lambda: [[0, 0] for _ in range(3)])
        prio_created, cat_created = defaultdict(int), defaultdict(int)
        agents = defaultdict(lambda: dict(solved=0, frt=[], met=0, total=0, csat=[]))
        heat = defaultdict(int)
        breaches = []
        prev_backlog = 0
        for t in tickets:
            agents[t["agent"]]  # every agent of the dataset has a row
            c = t["created_s"]
            if cur(c):
                d["created"][lday(c)] += 1
                tot["cur"]["created"] += 1
                prio_created[t["priority"]] += 1
                cat_created[t["category"]] += 1
                lt = dt.datetime.fromtimestamp(c, z)
                heat[(lt.weekday(), lt.hour)] += 1
            elif prev(c):
                tot["prev"]["created"] += 1
            if c < from_s and (t["solved_s"] == 0 or t["solved_s"] >= from_s):
                prev_backlog += 1
            fr = t["first_response_s"]
            if fr and cur(fr):
                frt_day[lday(fr)].append(t["frt_min"])
                tot["cur"]["frt"].append(t["frt_min"])
                agents[t["agent"]]["frt"].append(t["frt_min"])
            elif fr and prev(fr):
                tot["prev"]["frt"].append(t["frt_min"])
            s = t["solved_s"]
            if s and cur(s):
                d["solved"][lday(s)] += 1
                res_day[lday(s)].append(t["res_min"])
                tot["cur"]["solved"] += 1
                tot["cur"]["res"].append(t["res_min"])
                agents[t["agent"]]["solved"] += 1
                if t["csat"]:
                    csat_day[lday(s)].append(t["csat"])
                    tot["cur"]["csat"].append(t["csat"])
                    agents[t["agent"]]["csat"].append(t["csat"])
            elif s and prev(s):
                tot["prev"]["solved"] += 1
                tot["prev"]["res"].append(t["res_min"])
                if t["csat"]:
                    tot["prev"]["csat"].append(t["csat"])
            for k in range(3):
                state, due = t["sla"][k], t["due"][k]
                if not state:
                    continue
                w = "cur" if cur(due) else "prev" if prev(due) else None
                if not w:
                    continue
                tot[w]["met" if state == 1 else "breached"] += 1
                if w != "cur":
                    continue
                for key in (("Priority", PRIORITIES[t["priority"] - 1]),
                            ("Category", t["category"]), ("Group", t["group"])):
                    sla[key][k][0 if state == 1 else 1] += 1
                agents[t["agent"]]["total"] += 1
                agents[t["agent"]]["met"] += state == 1
                if state == 2:
                    due_local = dt.datetime.fromtimestamp(due, z).replace(tzinfo=None)
                    breaches.append((t["number"], t["subject"], TARGETS[k],
                                     PRIORITIES[t["priority"] - 1], t["agent"], due_local,
                                     t["by"][k]))
        self.backlog = {}
        for day in self.days:
            end = dt.datetime.combine(EPOCH.date() + dt.timedelta(days=day + 1), dt.time(0),
                                      tzinfo=z).timestamp()
            self.backlog[day] = sum(1 for t in tickets if t["created_s"] < end and
                                    (t["solved_s"] == 0 or t["solved_s"] >= end))
        tot["cur"]["backlog"] = self.backlog[self.days[-1]]
        tot["prev"]["backlog"] = prev_backlog
        self.d, self.frt_day, self.res_day, self.csat_day = d, frt_day, res_day, csat_day
        self.tot, self.sla, self.agents, self.heat = tot, sla, agents, heat
        self.prio_created, self.cat_created, self.breaches = prio_created, cat_created, breaches


def load_tickets(path):
    out = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            t = {k: int(float(r[k])) for k in r if k not in ("subject", "category", "group",
                                                               "agent")}
            for k in ("subject", "category", "group", "agent"):
                t[k] = unneutralise(r[k])
            t["sla"] = [t["sla_first"], t["sla_next"], t["sla_res"]]
            t["due"] = [t["due_first"], t["due_next"], t["due_res"]]
            t["by"] = [t["by_first"], t["by_next"], t["by_res"]]
            out.append(t)
    return out


def local_midnight(date_s, tz):
    y, m, d = map(int, date_s.split("-"))
    return int(dt.datetime(y, m, d, tzinfo=ZoneInfo(tz)).timestamp())


def as_day(v):
    return (v - EPOCH).days


def as_min(v):
    return None if v is None else round(v.total_seconds() / 60)


def data_rows(ws):
    return [r for r in ws.iter_rows(min_row=5, values_only=True)]


class ReporterFigures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hd-reporter-")
        cls.xlsx = os.path.join(cls.tmp, "r.xlsx")
        dump = os.path.join(cls.tmp, "tickets.csv")
        run_reporter("run", "--report", "Weekly operations", "--tz", TZ, "--from", FROM,
                     "--to", TO, "--now", str(END), "--seed", SEED, "--dump-tickets", dump,
                     "--out", cls.xlsx)
        run_reporter("run", "--report", "Weekly operations", "--tz", TZ, "--from", FROM,
                     "--to", TO, "--now", str(END), "--seed", SEED,
                     "--out", os.path.join(cls.tmp, "r.csv"))
        cls.tickets = load_tickets(dump)
        cls.exp = Expected(cls.tickets, TZ, local_midnight(FROM, TZ),
                           local_midnight("2026-11-02", TZ))
        cls.wb = openpyxl.load_workbook(cls.xlsx)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def csv_rows(self, key):
        with open(os.path.join(self.tmp, "r-%s.csv" % key), newline="", encoding="utf-8") as f:
            text = f.read()
        self.assertTrue(text.startswith("\ufeff"), "CSV starts with a BOM")
        self.assertIn("\r\n", text)
        return list(csv.reader(text[1:].splitlines(True)))

    def test_workbook_has_every_section_with_frozen_header_table_and_title(self):
        self.assertEqual(self.wb.sheetnames, ["Summary", "Volume", "SLA", "Response times",
                                              "Agents", "Mix", "Peak hours", "CSAT",
                                              "Breached tickets"])
        for ws in self.wb:
            self.assertEqual(ws.freeze_panes, "A5", ws.title)
            self.assertEqual(len(ws.tables), 1, ws.title)
            self.assertTrue(ws["A1"].value and ws["A1"].font.b, ws.title)
            self.assertIn("2026-10-19 to 2026-11-01, Europe/Berlin", ws["A2"].value)
            self.assertGreater(ws.column_dimensions["A"].width, 8, ws.title)
        charts = {ws.title: len(ws._charts) for ws in self.wb}
        self.assertEqual(charts, {"Summary": 0, "Volume": 1, "SLA": 1, "Response times": 1,
                                  "Agents": 0, "Mix": 2, "Peak hours": 0, "CSAT": 2,
                                  "Breached tickets": 0})
        self.assertEqual(self.wb.properties.created, dt.datetime(2026, 11, 23, 6, 0))
        self.assertEqual(self.wb["Volume"]["A5"].number_format, "yyyy-mm-dd ddd")
        self.assertEqual(self.wb["Response times"]["B5"].number_format, "[h]:mm")

    def test_volume_created_solved_and_backlog_per_day_across_dst(self):
        e = self.exp
        rows = data_rows(self.wb["Volume"])
        self.assertEqual(len(rows), 14)
        for r in rows:
            day = as_day(r[0])
            self.assertEqual(r[1:], (e.d["created"][day], e.d["solved"][day], e.backlog[day]),
                             r[0])
        crow = self.csv_rows("volume")
        self.assertEqual(crow[0], ["Date", "Created", "Solved", "Backlog"])
        self.assertEqual(crow[7][0], "2026-10-25")
        for r in crow[1:]:
            day = as_day(dt.datetime.strptime(r[0], "%Y-%m-%d"))
            self.assertEqual([int(x) for x in r[1:]],
                             [e.d["created"][day], e.d["solved"][day], e.backlog[day]])

    def test_response_time_percentiles_per_day(self):
        e = self.exp
        for r in data_rows(self.wb["Response times"]):
            day = as_day(r[0])
            f, s = e.frt_day[day], e.res_day[day]
            self.assertEqual([as_min(x) for x in r[1:5]],
                             [pctl(f, .5), pctl(f, .9), pctl(s, .5), pctl(s, .9)], r[0])
            self.assertEqual(r[5:], (len(f), len(s)))

    def test_sla_met_and_breached_by_priority_category_group(self):
        got = {}
        for r in data_rows(self.wb["SLA"]):
            got[(r[0], r[1])] = r[2:]
        self.assertEqual(set(got), set(self.exp.sla) | {("Priority", p) for p in PRIORITIES})
        for key, per in self.exp.sla.items():
            for k in range(3):
                met, br = per[k]
                self.assertEqual(got[key][3 * k:3 * k + 2], (met, br), key)
                if met + br:
                    self.assertAlmostEqual(got[key][3 * k + 2], met / (met + br), places=9)
        ws = self.wb["SLA"]
        self.assertGreaterEqual(len(ws.conditional_formatting), 3)

    def test_agent_leaderboard(self):
        rows = data_rows(self.wb["Agents"])
        self.assertEqual({r[0] for r in rows}, set(self.exp.agents))
        solved = [r[1] for r in rows]
        self.assertEqual(solved, sorted(solved, reverse=True))
        for r in rows:
            a = self.exp.agents[r[0]]
            self.assertEqual(r[1], a["solved"], r[0])
            self.assertEqual(as_min(r[2]), pctl(a["frt"], .5), r[0])
            if a["total"]:
                self.assertAlmostEqual(r[3], a["met"] / a["total"], places=9)
            if a["csat"]:
                self.assertAlmostEqual(r[4], sum(a["csat"]) / len(a["csat"]), places=9)
            self.assertEqual(r[5], len(a["csat"]))
        kinds = [cf.rules[0].type for cf in self.wb["Agents"].conditional_formatting]
        self.assertEqual(kinds, ["dataBar", "dataBar"])

    def test_mix_heatmap_and_csat(self):
        e = self.exp
        total = sum(e.prio_created.values())
        mix = data_rows(self.wb["Mix"])
        for i, p in enumerate(PRIORITIES):
            self.assertEqual(mix[i][:3], ("Priority", p, e.prio_created[i + 1]))
            self.assertAlmostEqual(mix[i][3], e.prio_created[i + 1] / total, places=9)
        cats = [(r[1], r[2]) for r in mix[4:]]
        self.assertEqual(dict(cats), dict(e.cat_created))
        self.assertEqual([c for _, c in cats], sorted((c for _, c in cats), reverse=True))
        heat = data_rows(self.wb["Peak hours"])
        self.assertEqual([r[0] for r in heat], ["Monday", "Tuesday", "Wednesday", "Thursday",
                                                "Friday", "Saturday", "Sunday"])
        for wd, r in enumerate(heat):
            self.assertEqual(list(r[1:25]), [e.heat[(wd, h)] for h in range(24)])
            self.assertEqual(r[25], sum(r[1:25]))
        self.assertEqual(sum(r[25] for r in heat), total)
        csat = data_rows(self.wb["CSAT"])
        self.assertEqual(csat[-1][0], "Total")
        for r in csat[:-1]:
            scores = e.csat_day[as_day(r[0])]
            self.assertEqual(r[1], len(scores))
            self.assertEqual(list(r[4:9]), [scores.count(k) for k in range(1, 6)])
            if scores:
                self.assertAlmostEqual(r[2], sum(scores) / len(scores), places=9)
                self.assertAlmostEqual(r[3], sum(s >= 4 for s in scores) / len(scores),
                                       places=9)
        allc = e.tot["cur"]["csat"]
        self.assertEqual(list(csat[-1][4:9]), [allc.count(k) for k in range(1, 6)])

    def test_summary_with_change_vs_previous_period(self):
        t = self.exp.tot

        def figures(w):
            x = t[w]
            met, br = x["met"], x["breached"]
            return [x["created"], x["solved"], x["backlog"], pctl(x["frt"], .5),
                    pctl(x["frt"], .9), pctl(x["res"], .5), pctl(x["res"], .9),
                    met / (met + br), sum(x["csat"]) / len(x["csat"]), len(x["csat"])]

        rows = data_rows(self.wb["Summary"])
        self.assertEqual(len(rows), 10)
        cur, prev = figures("cur"), figures("prev")
        for i, r in enumerate(rows):
            got = [as_min(v) if isinstance(v, dt.timedelta) else v for v in r[1:3]]
            for g, want in zip(got, (cur[i], prev[i])):
                self.assertAlmostEqual(g, want, places=9, msg=r[0])
            # duration changes are signed minutes (Excel cannot show negative times)
            self.assertAlmostEqual(r[3], cur[i] - prev[i], places=6, msg=r[0])
        self.assertAlmostEqual(rows[0][4], (cur[0] - prev[0]) / prev[0], places=9)

    def test_breached_tickets_list_every_breach_with_due_in_readers_zone(self):
        rows = data_rows(self.wb["Breached tickets"])
        # openpyxl 3.0.9 leaves OOXML's escape of control characters (_x000D_ for CR)
        # undecoded in inline strings; Excel and LibreOffice decode it.
        got = [(r[0], r[1].replace("_x000D_", "\r"), r[2], r[3], r[4], r[5], as_min(r[6]))
               for r in rows]
        self.assertEqual(len(got), len(self.exp.breaches))
        for g, w in zip(got, self.exp.breaches):
            self.assertEqual(g[:5], w[:5])
            self.assertLess(abs((g[5] - w[5]).total_seconds()), 1)
            self.assertEqual(g[6], w[6])
        self.assertEqual(self.wb["Breached tickets"]["F5"].number_format, "yyyy-mm-dd hh:mm")

    def test_formula_injection_neutralised_in_csv_and_kept_as_text_in_xlsx(self):
        rows = self.csv_rows("breaches")
        subjects = {r[1] for r in rows[1:]}
        self.assertIn("'=HYPERLINK(\"http://evil.example\",\"click\")", subjects)
        self.assertIn("'+1 555 0100 please call back", subjects)
        self.assertIn("'-5 degrees in the office", subjects)
        self.assertIn("'@here printer on fire", subjects)
        self.assertIn("'\tTabbed subject", subjects)
        self.assertIn("'\rCR first", subjects)
        self.assertIn("Comma, \"quoted\" and\nnew line", subjects)
        for s in subjects:
            self.assertNotIn(s[:1], ("=", "+", "-", "@", "\t", "\r"), s)
        agents = {r[0] for r in self.csv_rows("agents")[1:]}
        self.assertIn("'=cmd|' /C calc'!A0", agents)
        self.assertIn("'@mention Bob", agents)
        # XLSX: text cells, never formulas (no <f> elements anywhere in the sheets).
        with zipfile.ZipFile(self.xlsx) as z:
            for n in z.namelist():
                if n.startswith("xl/worksheets/sheet"):
                    self.assertNotIn(b"<f>", z.read(n), n)
        names = {r[0] for r in data_rows(self.wb["Agents"])}
        self.assertIn("=cmd|' /C calc'!A0", names)

    def test_same_input_gives_byte_identical_workbook(self):
        again = os.path.join(self.tmp, "again.xlsx")
        run_reporter("run", "--report", "Weekly operations", "--tz", TZ, "--from", FROM,
                     "--to", TO, "--now", str(END), "--seed", SEED, "--out", again)
        with open(self.xlsx, "rb") as a, open(again, "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_weekly_grouping_sums_days_into_monday_weeks(self):
        out = os.path.join(self.tmp, "week.xlsx")
        run_reporter("run", "--report", "w", "--tz", TZ, "--from", FROM, "--to", TO,
                     "--group", "week", "--now", str(END), "--seed", SEED, "--out", out)
        rows = data_rows(openpyxl.load_workbook(out)["Volume"])
        self.assertEqual([r[0].date().isoformat() for r in rows], ["2026-10-19", "2026-10-26"])
        e = self.exp
        for r in rows:
            start = as_day(r[0])
            days = range(start, start + 7)
            self.assertEqual(r[1], sum(e.d["created"][d] for d in days))
            self.assertEqual(r[3], e.backlog[start + 6])

    @unittest.skipIf(os.environ.get("HD_SKIP_SLOW") == "1", "slow (HD_SKIP_SLOW=1)")
    def test_long_breach_list_switches_to_constant_memory_with_autofilters(self):
        out = os.path.join(self.tmp, "year.xlsx")
        dump = os.path.join(self.tmp, "year.csv")
        run_reporter("run", "--report", "Year", "--tz", "UTC", "--from", "2025-11-23", "--to",
                     "2026-11-22", "--group", "week", "--now", str(END),
                     "--seed", "5:100000:365:%d" % END, "--dump-tickets", dump, "--out", out)
        from_s, to_s = local_midnight("2025-11-23", "UTC"), local_midnight("2026-11-23", "UTC")
        want = sum(1 for t in load_tickets(dump) for k in range(3)
                   if t["sla"][k] == 2 and from_s <= t["due"][k] < to_s)
        self.assertGreater(want, 50000)
        wb = openpyxl.load_workbook(out, read_only=False)
        ws = wb["Breached tickets"]
        self.assertEqual(ws.max_row - 4, want)
        for sheet in wb:
            self.assertEqual(len(sheet.tables), 0, sheet.title)
            self.assertTrue(sheet.auto_filter.ref.startswith("A4:"), sheet.title)
            self.assertEqual(sheet.freeze_panes, "A5")

    def test_libreoffice_converts_to_pdf_and_keeps_png_of_page_one(self):
        soffice = shutil.which("soffice") or shutil.which("libreoffice")
        if not soffice or not shutil.which("pdftoppm"):
            self.skipTest("libreoffice-calc-nogui / poppler-utils not installed")
        profile = tempfile.mkdtemp(prefix="hd-lo-")
        self.addCleanup(shutil.rmtree, profile, True)
        p = subprocess.run([soffice, "-env:UserInstallation=file://" + profile, "--headless",
                            "--convert-to", "pdf", "--outdir", self.tmp, self.xlsx],
                           capture_output=True, text=True, timeout=180)
        pdf = os.path.join(self.tmp, "r.pdf")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("Error", p.stderr)
        self.assertTrue(os.path.getsize(pdf) > 10000)
        os.makedirs(OUT_DIR, exist_ok=True)
        # tests/out outlives runs: an earlier run's page must not stand in for this one's.
        for f in os.listdir(OUT_DIR):
            if f.startswith("reporter-page1"):
                os.remove(os.path.join(OUT_DIR, f))
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", pdf,
                        os.path.join(OUT_DIR, "reporter-page1")], check=True, timeout=60)
        pngs = [f for f in os.listdir(OUT_DIR) if f.startswith("reporter-page1")]
        self.assertTrue(pngs)


if __name__ == "__main__":
    unittest.main()
