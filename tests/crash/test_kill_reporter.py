"""Crash safety of helpdesk-reporter: the reporter SIGKILLed at random moments of a
scheduled run (generated 300k-ticket data; the kill moments are spread over the span a
one-shot run of the same report takes on this machine) leaves no half file under a
report's name and mails nothing half-made; the next run makes the report complete, with
the mailed attachments equal to the files on disk, and removes the killed runs'
temporaries (<name>.tmp-PID of dead PIDs)."""

import email
import email.policy
import os
import random
import shutil
import subprocess
import tempfile
import time
import unittest
import zipfile

from harness import ROOT, slow
from mailpeers import SmtpSink

REPORTER = os.path.abspath(os.path.join(
    ROOT, os.environ.get("REPORTER", "bazel-bin/reporter/helpdesk-reporter")))
KILLS = int(os.environ.get("HD_CRASH_REPORTER_KILLS", "6"))
SEED = "3:300000:60:1795413600"
FIRST_START = 1792152000  # Saturday 2026-10-17: the schedule's first start, nothing owed
RUN_AT = 1792389600  # Monday 2026-10-19 08:00 Berlin: the weekly run is due


class KillReporter(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hd-crash-rep-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.out = os.path.join(self.tmp, "out")
        self.smtp = SmtpSink().start()
        self.addCleanup(self.smtp.stop)
        self.cfg = os.path.join(self.tmp, "reporter.ini")
        with open(self.cfg, "w") as f:
            f.write("[smtp]\nurl = %s\nfrom = reports@example.com\n"
                    "[output]\ndir = %s\nretention_days = 3650\n"
                    "[report weekly]\ntitle = Weekly operations\nperiod = last_week\n"
                    "tz = Europe/Berlin\nsections = summary,volume,breaches\n"
                    "[schedule monday]\nreport = weekly\ncron = 0 8 * * mon\n"
                    "tz = Europe/Berlin\nformats = xlsx, csv\nrecipients = ann@example.com\n" %
                    (self.smtp.url(), self.out))

    def command(self, now):
        return [REPORTER, "serve", "--config", self.cfg, "--once", "--now", str(now),
                "--seed", SEED, "--smtp-insecure"]

    def reports(self):
        """Files under a report's name (not state, not temporaries)."""
        if not os.path.isdir(self.out):
            return {}
        out = {}
        for f in sorted(os.listdir(self.out)):
            if f == "state" or ".tmp-" in f:
                continue
            with open(os.path.join(self.out, f), "rb") as fh:
                out[f] = fh.read()
        return out

    def assert_complete(self, files):
        for name, data in files.items():
            if name.endswith(".xlsx"):
                with zipfile.ZipFile(os.path.join(self.out, name)) as z:
                    self.assertIsNone(z.testzip(), name)
            else:
                self.assertTrue(data.endswith(b"\n"), name)

    def mailed(self):
        got = []
        for _, _, raw in self.smtp.messages:
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            got.append({p.get_filename(): p.get_payload(decode=True)
                        for p in msg.iter_attachments()})
        return got

    @slow
    def test_kill9_of_a_reporter_run_leaves_no_half_file_and_the_next_run_completes(self):
        rng = random.Random(int(os.environ.get("HD_CRASH_SEED", "10")))
        p = subprocess.run(self.command(FIRST_START), capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        # How long the run takes on this machine: a one-shot `run` of the same report (its
        # workbook only; the scheduled run also writes CSVs and mails, so it takes longer).
        # The kills land within that span, whatever the machine's speed.
        t0 = time.monotonic()
        cal = subprocess.run([REPORTER, "run", "--report", "weekly", "--config", self.cfg,
                              "--now", str(RUN_AT), "--seed", SEED,
                              "--out", os.path.join(self.tmp, "calibrate.xlsx")],
                             capture_output=True, text=True, timeout=120)
        full_s = time.monotonic() - t0
        self.assertEqual(cal.returncode, 0, cal.stderr)
        killed = 0
        for _ in range(KILLS):
            proc = subprocess.Popen(self.command(RUN_AT), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            # The fault: a random moment of the run (timing is the injected fault here,
            # not a synchronisation).
            try:
                proc.wait(timeout=rng.uniform(0.05, 0.8) * full_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                killed += 1
            proc.communicate(timeout=60)
            files = self.reports()
            self.assert_complete(files)
            for attachments in self.mailed():
                self.assertTrue(attachments)
                for name, data in attachments.items():
                    self.assertEqual(files.get(name), data, "mailed %s differs" % name)
            if not proc.returncode == -9:
                break  # the run finished before the kill: nothing more to interrupt
        # The next run (or the one that finished) leaves a complete report, mailed whole.
        killed_temps = len([f for f in os.listdir(self.out) if ".tmp-" in f]) \
            if os.path.isdir(self.out) else 0
        p = subprocess.run(self.command(RUN_AT), capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        files = self.reports()
        self.assertEqual(len(files), 4, sorted(files))  # xlsx + 3 section CSVs
        self.assert_complete(files)
        mailed = self.mailed()
        self.assertGreaterEqual(len(mailed), 1)
        for attachments in mailed:
            self.assertEqual(attachments, files)
        temps = [f for f in os.listdir(self.out) if ".tmp-" in f]
        print("reporter: %d kills within the first %.1f s of runs; report complete, %d mail(s) "
              "each whole; %d temporaries of killed runs before the next run, %d after" %
              (killed, full_s, len(mailed), killed_temps, len(temps)), flush=True)
        self.assertGreaterEqual(killed, 3)
        # The next run swept the temporaries the killed runs left (their PIDs are gone).
        self.assertEqual(temps, [], "temporaries of killed runs left after the next run")


if __name__ == "__main__":
    unittest.main()
