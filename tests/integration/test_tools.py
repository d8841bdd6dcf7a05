"""The developer commands: tools/up starts the server the way README's quickstart says,
and the shared package installer touches apt only when something is missing."""

import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import grpc

from harness import (HEALTH, HELPDESKD, ROOT, STATS, admin_pb2, health_pb2,
                     listening_address, sanitizer_env, sanitizer_report, slow, unary)

UP = os.path.join(ROOT, "tools", "up")
DEPS = os.path.join(ROOT, "tools", "lib", "deps.sh")


class ToolsUp(unittest.TestCase):
    def start_up(self, data_env):
        """Runs tools/up as the quickstart does, minus the build (tools/test built the
        binary already), in a temp dir with HELPDESK_DATA=data_env. Returns (process,
        address, token, temp dir); the process is killed at cleanup if still running."""
        tmp = tempfile.TemporaryDirectory(prefix="hd-up-")
        self.addCleanup(tmp.cleanup)
        env = sanitizer_env(dict(os.environ, HELPDESK_DATA=data_env, HELPDESK_LISTEN="127.0.0.1:0",
                                 HELPDESK_UP_NO_BUILD="1", HELPDESKD=HELPDESKD))
        p = subprocess.Popen([UP], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=env, cwd=tmp.name, text=True)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in p.stdout], daemon=True).start()
        address = token = None
        deadline = time.monotonic() + 60
        while (address is None or token is None) and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if p.poll() is not None:
                    self.fail("tools/up exited early (%s): %s" % (p.returncode, p.stderr.read()))
                continue
            if line.startswith("helpdeskd listening on "):
                address = listening_address(line)
            elif line.startswith("admin token: "):
                token = line.split()[-1]
        self.assertIsNotNone(address, "no 'helpdeskd listening on' line within 60s")
        self.assertIsNotNone(token, "no 'admin token:' line within 60s")
        return p, address, token, tmp.name

    def test_up_prints_address_and_token_serves_and_stops_on_sigint(self):
        # A relative HELPDESK_DATA means the caller's directory, as for helpdeskd itself.
        p, address, token, tmp = self.start_up("data")
        data = os.path.join(tmp, "data")
        with open(os.path.join(data, "admin.token")) as f:
            self.assertEqual(f.read().strip(), token)
        # tools/up exec'd the server: the process we hold is helpdeskd itself, so a
        # terminal's Ctrl-C reaches it directly.
        self.assertEqual(os.path.realpath("/proc/%d/exe" % p.pid), os.path.realpath(HELPDESKD))
        with grpc.insecure_channel(address) as ch:
            r = unary(ch, HEALTH, health_pb2.HealthCheckRequest(),
                      health_pb2.HealthCheckResponse)
            self.assertEqual(r.status, health_pb2.HealthCheckResponse.SERVING)
            st = unary(ch, STATS, admin_pb2.GetStatsRequest(), admin_pb2.Stats, token=token)
            self.assertTrue(st.version)
        p.send_signal(signal.SIGINT)
        try:
            code = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("helpdeskd did not stop within 30s of SIGINT")
        err = p.stderr.read()
        self.assertIsNone(sanitizer_report(err), err[-4000:])
        self.assertEqual(code, 0, err[-4000:])

    @slow
    def test_readme_cli_quickstart_runs_as_written(self):
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        m = re.search(r"<!-- cli-quickstart[^>]*-->\n```sh\n(.*?)```", readme, re.S)
        self.assertIsNotNone(m, "README has no cli-quickstart block")
        data = tempfile.mkdtemp(prefix="hd-up-var-")
        self.addCleanup(shutil.rmtree, data, True)
        p, address, _, _ = self.start_up(data)
        # From the repository root, as the README says; only the server address differs
        # from a developer's machine (tools/up listened on a free port here).
        env = dict(os.environ, HELPDESK_SERVER=address, HELPDESK_DATA=data)
        env.pop("HELPDESK_TOKEN", None)
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", m.group(1)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=900,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, "README CLI quickstart failed:\n%s\n%s" %
                         (r.stdout[-3000:], r.stderr[-3000:]))
        self.assertIn("TKT-000001", r.stdout)
        self.assertIn("tickets        300", r.stdout)
        self.assertIn("Helpdesk dashboard", r.stdout)
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(timeout=30), 0)

    def test_up_passes_flags_through_to_helpdeskd(self):
        p = subprocess.run([UP, "--version"], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, HELPDESK_UP_NO_BUILD="1", HELPDESKD=HELPDESKD))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.strip())


class Deps(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="hd-deps-")
        self.addCleanup(self.tmp.cleanup)
        self.log = os.path.join(self.tmp.name, "apt.log")
        fake = os.path.join(self.tmp.name, "bin")
        os.mkdir(fake)
        for name in ("apt-get", "sudo"):
            with open(os.path.join(fake, name), "w") as f:
                if name == "sudo":
                    f.write('#!/bin/sh\nexec "$@"\n')
                else:
                    f.write('#!/bin/sh\necho "$*" >> "%s"\n' % self.log)
            os.chmod(os.path.join(fake, name), 0o755)
        self.env = dict(os.environ, PATH=fake + ":" + os.environ["PATH"])

    def sh(self, script):
        return subprocess.run(["bash", "-c", '. "%s"; %s' % (DEPS, script)], env=self.env,
                              capture_output=True, text=True, timeout=60)

    def apt_calls(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return f.read().splitlines()

    def test_every_listed_package_is_installed(self):
        p = self.sh('hd_deps_missing "${HD_PKGS_BUILD[@]}" "${HD_PKGS_RUN[@]}" '
                    '"${HD_PKGS_TEST[@]}"')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), [])

    def test_install_with_nothing_missing_never_calls_apt(self):
        p = self.sh("hd_deps_install bash coreutils")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.apt_calls(), [])

    def test_install_updates_then_installs_only_the_missing_package(self):
        p = self.sh("hd_deps_install bash hd-no-such-package")
        # The fake apt-get installs nothing, so the re-check reports it and fails.
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("still missing after apt-get: hd-no-such-package", p.stderr)
        calls = self.apt_calls()
        self.assertEqual(len(calls), 2, calls)
        self.assertEqual(calls[0].split()[-2:], ["update", "-q"], calls)
        self.assertIn("install -y", calls[1], calls)
        self.assertTrue(calls[1].endswith(" hd-no-such-package"), calls)
        self.assertNotIn("bash", calls[1].split())
