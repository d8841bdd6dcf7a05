"""The helpdesk CLI against a real helpdeskd: golden table and JSON output of a helpdesk the
test seeds, every documented exit code, the config file and login, an interactive tmux
session (dashboard --watch redraws; reply without a body opens $EDITOR), and demo seed.

The CLI binary comes from env HELPDESK_CLI; without it the test builds
//clients/cli:helpdesk and copies it out of bazel-out (a later build cannot swap it).
HD_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import unittest
from concurrent import futures

import grpc

from harness import ROOT, ServerTestCase, sanitizer_report, slow, wait_for

GOLDEN = os.path.join(ROOT, "tests", "integration", "golden", "cli")
_CLI = None


def cli_binary():
    """Path of the helpdesk binary under test (built and copied once per run)."""
    global _CLI
    if _CLI:
        return _CLI
    if os.environ.get("HELPDESK_CLI"):
        _CLI = os.path.abspath(os.environ["HELPDESK_CLI"])
        return _CLI
    subprocess.run(["bazel", "build", "//clients/cli:helpdesk"], cwd=ROOT, check=True,
                   stdin=subprocess.DEVNULL, capture_output=True)
    out = subprocess.run(["bazel", "info", "bazel-bin"], cwd=ROOT, check=True, text=True,
                         capture_output=True, stdin=subprocess.DEVNULL).stdout.strip()
    dest = os.path.join(tempfile.mkdtemp(prefix="hd-cli-bin-"), "helpdesk")
    shutil.copy(os.path.join(out, "clients/cli/helpdesk"), dest)
    _CLI = dest
    return _CLI


def normalise(text, address=None):
    """Replaces what changes from run to run: times, relative times, the address."""
    if address:
        text = text.replace(address, "HOST:PORT")
    # Page tokens are opaque and the server may change their form: only presence counts.
    text = re.sub(r'("nextPageToken": )"[^"]*"', r'\1"<token>"', text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "<time>", text)
    text = re.sub(r"\b(just now|\d+[smhd] ago|in \d+[smhd])\b", "<when>", text)
    # Table columns widen or shrink with a relative time's length: squeeze runs of blanks.
    return re.sub(r"(?<=\S)  +", "  ", text)


class CliCase(ServerTestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="hd-cli-home-")
        self.addCleanup(shutil.rmtree, self.home, True)

    def env(self, server=None, token=None, **extra):
        env = dict(os.environ)
        for k in ("HELPDESK_SERVER", "HELPDESK_TOKEN", "HELPDESK_CONFIG", "XDG_CONFIG_HOME",
                  "NO_COLOR", "VISUAL", "EDITOR"):
            env.pop(k, None)
        env["HOME"] = self.home
        env["ASAN_OPTIONS"] = "detect_leaks=1:halt_on_error=1"
        if server:
            env["HELPDESK_SERVER"] = server.address
        if token:
            env["HELPDESK_TOKEN"] = token
        env.update(extra)
        return env

    def run_cli(self, args, server=None, token=None, stdin=None, want=0, env=None, timeout=60):
        """Runs the CLI; asserts the exit code, a clean stderr (no sanitizer report) and
        that an error is one line. Returns (stdout, stderr)."""
        if env is None:
            env = self.env(server, token if token is not None else
                           (server.token if server else None))
        p = subprocess.run([cli_binary()] + list(args), input=stdin, capture_output=True,
                           text=True, env=env, timeout=timeout)
        self.assertIsNone(sanitizer_report(p.stderr), p.stderr)
        self.assertEqual(p.returncode, want, "helpdesk %s: exit %d, want %d\nstdout:\n%s\n"
                         "stderr:\n%s" % (" ".join(args), p.returncode, want, p.stdout,
                                          p.stderr))
        if want != 0 and p.stderr.startswith("error:"):
            self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        return p.stdout, p.stderr

    def check_golden(self, name, text):
        path = os.path.join(GOLDEN, name)
        if os.environ.get("HD_UPDATE_GOLDEN") == "1":
            os.makedirs(GOLDEN, exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            return
        with open(path) as f:
            self.assertEqual(text, f.read(), "golden %s differs (HD_UPDATE_GOLDEN=1 "
                             "rewrites it)" % name)

    def seed(self, s):
        """Three tickets with a reply, a note, an update and a status change."""
        self.run_cli(["ticket", "create", "--customer", "ada@example.com", "--name", "Ada",
                      "--subject", "Printer on fire", "--body", "It is on fire.",
                      "--priority", "urgent", "--tag", "vip", "--category", "hardware",
                      "--field", "floor=3"], s)
        self.run_cli(["ticket", "create", "--customer", "bob@example.com", "--subject",
                      "Refund for order 77", "--channel", "email"], s,
                     stdin="Please refund order 77.\n")
        self.run_cli(["ticket", "create", "--customer", "ada@example.com", "--subject",
                      "Invoice question", "--body", "Which VAT rate?", "--priority", "low"], s)
        self.run_cli(["ticket", "reply", "TKT-000001", "--body", "A technician is on the way.",
                      "--status", "open"], s)
        self.run_cli(["ticket", "note", "1", "--body", "Floor 3, room 12."], s)
        self.run_cli(["ticket", "update", "tkt-000002", "--priority", "high", "--tag",
                      "refund"], s)
        self.run_cli(["ticket", "solve", "3"], s)


class Golden(CliCase):
    def test_table_and_json_output_match_the_golden_files(self):
        outputs = {
            "ticket_list.txt": ["ticket", "list"],
            "ticket_list_open_urgent.txt": ["ticket", "list", "--status", "open", "--priority",
                                            "urgent"],
            "ticket_list_quiet.txt": ["ticket", "list", "-q", "--sort", "priority"],
            "ticket_show.txt": ["ticket", "show", "TKT-000001"],
            "ticket_show.json": ["ticket", "show", "TKT-000001", "--json"],
            "ticket_list.json": ["ticket", "list", "--json", "--limit", "2"],
            "customer_show.txt": ["customer", "show", "ada@example.com"],
            "dashboard.txt": ["dashboard"],
        }
        # The dashboard's "today" is the server's UTC day: a run whose seed and dashboard
        # straddle UTC midnight is made again on a fresh server (it cannot straddle twice).
        for _ in range(2):
            day = int(time.time()) // 86400
            s = self.start_server(args=["--unsafe-nosync"])
            self.seed(s)
            got = {name: self.run_cli(args, s)[0] for name, args in outputs.items()}
            address = s.address
            s.stop()
            if int(time.time()) // 86400 == day:
                break
        for name, out in got.items():
            if name.endswith(".json"):
                json.loads(out)  # exact JSON: it parses
            self.check_golden(name, normalise(out, address))

    def test_json_matches_the_proto3_mapping_of_the_same_call_over_grpcio(self):
        from harness import GET, tickets_pb2, unary
        from google.protobuf import json_format
        s = self.start_server(args=["--unsafe-nosync"])
        self.seed(s)
        out, _ = self.run_cli(["ticket", "show", "1", "--json"], s)
        ref = unary(s.channel(), GET, tickets_pb2.GetTicketRequest(id=1),
                    tickets_pb2.GetTicketResponse, token=s.token)
        self.assertEqual(json.loads(out), json.loads(json_format.MessageToJson(ref)))

    def test_limit_stops_early_the_page_token_continues_and_all_gets_everything(self):
        s = self.start_server(args=["--unsafe-nosync"])
        for i in range(7):
            self.run_cli(["ticket", "create", "--customer", "c%d@example.com" % i, "--subject",
                          "t%d" % i, "--body", "b"], s)
        out, _ = self.run_cli(["ticket", "list", "-q", "--limit", "3"], s)
        self.assertEqual(out.split(), ["TKT-000007", "TKT-000006", "TKT-000005"])
        _, err = self.run_cli(["ticket", "list", "--limit", "3"], s)
        token = re.search(r"more: --page-token (\S+)", err).group(1)
        out, _ = self.run_cli(["ticket", "list", "-q", "--limit", "3", "--page-token", token], s)
        self.assertEqual(out.split(), ["TKT-000004", "TKT-000003", "TKT-000002"])
        out, _ = self.run_cli(["ticket", "list", "--all", "--json"], s)
        self.assertEqual(len(json.loads(out)["tickets"]), 7)

    def test_colour_only_on_a_terminal_and_never_with_no_color(self):
        s = self.start_server(args=["--unsafe-nosync"])
        self.seed(s)
        out, _ = self.run_cli(["ticket", "list"], s)
        self.assertNotIn("\033[", out)  # piped: plain
        if not shutil.which("script"):
            self.skipTest("script(1) not installed")
        env = self.env(s, s.token, TERM="xterm")
        cmd = "%s ticket list" % cli_binary()
        tty = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                             text=True, env=env, timeout=60)
        self.assertIn("\033[1mTKT-000001", tty.stdout)
        env["NO_COLOR"] = "1"
        tty = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                             text=True, env=env, timeout=60)
        self.assertNotIn("\033[", tty.stdout)


class _Fail(grpc.GenericRpcHandler):
    """A grpcio server answering every method with one status."""

    def __init__(self, code):
        self.code = code

    def service(self, details):
        code = self.code

        def fail(req, ctx):
            ctx.abort(code, "forced by the test")
        return grpc.unary_unary_rpc_method_handler(fail)


class ExitCodes(CliCase):
    def test_every_documented_exit_code(self):
        s = self.start_server(args=["--unsafe-nosync"])
        self.seed(s)
        self.run_cli(["ticket", "show", "1"], s, want=0)
        _, err = self.run_cli(["ticket", "list", "--bogus"], s, want=1)
        self.assertIn("unknown flag --bogus", err)
        self.run_cli(["nosuchgroup"], s, want=1)
        self.run_cli(["ticket", "list", "--status", "sleeping"], s, want=1)
        _, err = self.run_cli(["ticket", "show", "TKT-999999"], s, want=2)
        self.assertRegex(err, r"^error: not found: .*TKT-999999.*\(NOT_FOUND\)\n$")
        _, err = self.run_cli(["ticket", "list"], s, token="hd_wrong", want=3)
        self.assertIn("UNAUTHENTICATED", err)
        _, err = self.run_cli(["ticket", "create", "--customer", "x@example.com", "--subject",
                               "s", "--body", "b", "--tag", "NOT VALID"], s, want=4)
        self.assertIn("INVALID_ARGUMENT", err)
        # 5: nothing listens on a just-closed port.
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            dead = "127.0.0.1:%d" % sock.getsockname()[1]
        _, err = self.run_cli(["--server", dead, "ticket", "list"], env=self.env(), want=5)
        self.assertIn("tools/up", err)
        # 6: a listener that accepts but never speaks HTTP/2.
        with socket.socket() as mute:
            mute.bind(("127.0.0.1", 0))
            mute.listen(8)
            addr = "127.0.0.1:%d" % mute.getsockname()[1]
            _, err = self.run_cli(["--server", addr, "--timeout", "300ms", "ticket", "list"],
                                  env=self.env(), want=6)
            self.assertIn("DEADLINE_EXCEEDED", err)
        # 7: a closed ticket cannot be reopened.
        self.run_cli(["ticket", "close", "2"], s)
        _, err = self.run_cli(["ticket", "reopen", "2"], s, want=7)
        self.assertIn("FAILED_PRECONDITION", err)
        # 8 and 10: statuses helpdeskd does not produce on demand, from a stand-in server.
        for code, want in ((grpc.StatusCode.RESOURCE_EXHAUSTED, 8),
                           (grpc.StatusCode.INTERNAL, 10), (grpc.StatusCode.UNIMPLEMENTED, 10)):
            srv = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
            srv.add_generic_rpc_handlers((_Fail(code),))
            port = srv.add_insecure_port("127.0.0.1:0")
            srv.start()
            try:
                _, err = self.run_cli(["--server", "127.0.0.1:%d" % port, "ticket", "list"],
                                      env=self.env(), want=want)
                self.assertIn("forced by the test", err)
            finally:
                srv.stop(0)

    def test_help_with_an_example_on_every_command_and_subcommand(self):
        out, _ = self.run_cli(["--help"], env=self.env())
        groups = re.findall(r"(?m)^  ([a-z-]+)  ", out.split("Commands:")[1].split("\n\n")[0])
        self.assertIn("ticket", groups)
        for g in groups:
            gout, _ = self.run_cli([g, "--help"], env=self.env())
            self.assertIn("Example:\n  ", gout, g)
            if "Subcommands:" not in gout:
                continue
            block = gout.split("Subcommands:")[1].split("\n\n")[0].strip("\n")
            subs = re.findall(r"(?m)^  ([a-z-]+) +\S", block)
            self.assertEqual(len(subs), len(block.splitlines()), block)  # every line named
            for sub in subs:
                sout, _ = self.run_cli([g, sub, "--help"], env=self.env())
                self.assertRegex(sout, r"Example:\n  (helpdesk|source|echo|printf) ",
                                 "%s %s" % (g, sub))

    def test_completion_bash_script_completes_groups_and_flags(self):
        out, _ = self.run_cli(["completion", "bash"], env=self.env())
        script = os.path.join(self.home, "comp.sh")
        with open(script, "w") as f:
            f.write(out)

        def complete(line):
            words = line.split(" ")
            prog = ('source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _helpdesk; '
                    'echo "${COMPREPLY[@]}"' % (script, " ".join(repr(w) for w in words),
                                                len(words) - 1))
            return subprocess.run(["bash", "-c", prog], capture_output=True, text=True,
                                  timeout=30).stdout.split()
        self.assertIn("ticket", complete("helpdesk t"))
        self.assertEqual(sorted(complete("helpdesk ticket re")), ["reopen", "reply"])
        self.assertIn("--status", complete("helpdesk ticket list --st"))


    def test_note_rerun_with_its_request_id_adds_it_once(self):
        s = self.start_server(args=["--unsafe-nosync"])
        self.seed(s)  # ticket 1 has one note
        args = ["ticket", "note", "1", "-q", "--body", "Called back", "--request-id", "n-1"]
        first, _ = self.run_cli(args, s)
        again, _ = self.run_cli(args, s)
        self.assertRegex(first, r"^\d+\n$")
        self.assertEqual(again, first)
        other, _ = self.run_cli(["ticket", "note", "1", "-q", "--body", "Called back"], s)
        self.assertNotEqual(other, first)  # without a key: a new key per run, a new note
        _, err = self.run_cli(["ticket", "note", "1", "--body", "Not the same",
                               "--request-id", "n-1"], s, want=4)
        self.assertIn('request_id "n-1": already used for another note', err)
        out, _ = self.run_cli(["ticket", "show", "1", "--json"], s)
        self.assertEqual(len(json.loads(out)["notes"]), 3)


    def test_create_rerun_with_its_request_id_opens_one_ticket_and_refuses_other_content(self):
        s = self.start_server(args=["--unsafe-nosync"])
        args = ["ticket", "create", "-q", "--customer", "ada@example.com", "--subject",
                "Printer on fire", "--body", "It is on fire.", "--request-id", "c-1"]
        first, _ = self.run_cli(args, s)
        again, _ = self.run_cli(args, s)
        self.assertNotEqual(first.strip(), "")
        self.assertEqual(again, first)
        _, err = self.run_cli(["ticket", "create", "--customer", "ada@example.com", "--subject",
                               "Printer still on fire", "--body", "It is on fire.",
                               "--request-id", "c-1"], s, want=4)
        self.assertIn('request_id "c-1": already used for another ticket; a new ticket needs '
                      'a new id', err)
        out, _ = self.run_cli(["ticket", "list", "--json"], s)
        self.assertEqual(len(json.loads(out)["tickets"]), 1)


    def test_escalate_and_rate_print_the_ticket_or_one_error_line(self):
        s = self.start_server(args=["--unsafe-nosync"])
        self.seed(s)
        group, _ = self.run_cli(["group", "create", "Tier 2", "-q"], s)
        out, _ = self.run_cli(["ticket", "escalate", "TKT-000002", "--reason", "sla-risk",
                               "--group", group.strip(), "--priority", "urgent", "--text",
                               "VIP waiting"], s)
        self.assertEqual(out, "TKT-000002  Refund for order 77\n  status new, priority urgent\n")
        out, _ = self.run_cli(["ticket", "escalate", "2", "--reason", "impact", "--group",
                               group.strip(), "-q"], s)
        self.assertEqual(out, "TKT-000002\n")
        _, err = self.run_cli(["ticket", "rate", "3", "--score", "5"], s, want=3)
        self.assertIn("only the customer rates a ticket (PERMISSION_DENIED)", err)
        _, err = self.run_cli(["ticket", "rate", "TKT-000009", "--score", "5"], s, want=2)
        self.assertIn('ticket "TKT-000009": not found', err)


    def test_reply_draft_with_attach_then_edit_draft_replaces_or_clears_its_files(self):
        s = self.start_server(args=["--unsafe-nosync"])
        self.seed(s)  # TKT-000002 came by email; TKT-000001 by API
        d = tempfile.mkdtemp(prefix="hd-cli-files-")
        self.addCleanup(shutil.rmtree, d, True)
        files = {"form.csv": b"order;amount\n77;19,99\n", "receipt.txt": b"Refund sent.\n"}
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        form, receipt = (os.path.join(d, n) for n in files)

        def draft_files(n=0):
            t = json.loads(self.run_cli(["ticket", "show", "2", "--json"], s)[0])
            return t["drafts"][n]["body"], [(a["filename"], a["contentType"], int(a["size"]),
                                              a["sha256"]) for a in t["drafts"][n].get(
                                                  "attachments", [])]

        def want(name, ctype):
            return (name, ctype, len(files[name]), hashlib.sha256(files[name]).hexdigest())

        out, _ = self.run_cli(["ticket", "reply", "TKT-000002", "--draft", "--body",
                               "Refund form attached.", "--attach", form, "-q"], s)
        did = out.strip()
        self.assertRegex(did, r"^\d+$")
        self.assertEqual(draft_files(), ("Refund form attached.", [want("form.csv", "text/csv")]))
        out, _ = self.run_cli(["ticket", "show", "2"], s)
        self.assertIn("-- draft %s (unsent)" % did, out)
        self.assertIn("[attachment: form.csv, text/csv, %d bytes, sha256 %s]"
                      % want("form.csv", "")[2:], out)
        # --attach replaces the files and keeps the text when no new text is given.
        out, _ = self.run_cli(["ticket", "edit-draft", "TKT-000002", did, "--attach", receipt], s)
        self.assertEqual(out, "draft %s saved on TKT-000002 (1 attachment)\n" % did)
        self.assertEqual(draft_files(), ("Refund form attached.",
                                         [want("receipt.txt", "text/plain")]))
        # New text alone keeps the files.
        self.run_cli(["ticket", "edit-draft", "2", did, "--body", "Refund sent, receipt attached."],
                     s)
        self.assertEqual(draft_files(), ("Refund sent, receipt attached.",
                                         [want("receipt.txt", "text/plain")]))
        _, err = self.run_cli(["ticket", "edit-draft", "2", did, "--attach", form,
                               "--clear-attachments"], s, want=1)
        self.assertIn("--attach or --clear-attachments, not both", err)
        out, _ = self.run_cli(["ticket", "edit-draft", "2", did, "--clear-attachments"], s)
        self.assertEqual(out, "draft %s saved on TKT-000002 (0 attachments)\n" % did)
        self.assertEqual(draft_files()[1], [])
        self.run_cli(["ticket", "edit-draft", "2", did, "--attach", form, "--attach", receipt], s)
        self.assertEqual(draft_files()[1], [want("form.csv", "text/csv"),
                                            want("receipt.txt", "text/plain")])
        _, err = self.run_cli(["ticket", "edit-draft", "2", did], s, want=1)
        self.assertIn("nothing to change", err)
        _, err = self.run_cli(["ticket", "edit-draft", "2", "999", "--status", "open"], s, want=2)
        self.assertIn("draft 999: not found on ticket 2", err)
        # Files go out by email: an API ticket's draft cannot carry them.
        _, err = self.run_cli(["ticket", "reply", "1", "--draft", "--body", "x", "--attach", form],
                              s, want=4)
        self.assertIn("attachments: only on tickets of the EMAIL channel", err)
        # Sent, the message lists the draft's files and the draft is gone.
        self.run_cli(["ticket", "send-draft", "2", did], s)
        t = json.loads(self.run_cli(["ticket", "show", "2", "--json"], s)[0])
        self.assertNotIn("drafts", t)
        self.assertEqual([a["filename"] for a in t["messages"][-1]["attachments"]],
                         ["form.csv", "receipt.txt"])
        self.assertEqual(t["messages"][-1]["body"], "Refund sent, receipt attached.")


class ConfigAndLogin(CliCase):
    def test_flags_beat_env_beat_config_file(self):
        s = self.start_server(args=["--unsafe-nosync"])
        cfgdir = os.path.join(self.home, ".config", "helpdesk")
        os.makedirs(cfgdir)
        with open(os.path.join(cfgdir, "config"), "w") as f:
            f.write("[default]\nserver = %s\ntoken = %s\n" % (s.address, s.token))
        os.chmod(os.path.join(cfgdir, "config"), 0o600)
        self.run_cli(["ticket", "list"], env=self.env())  # config only: works
        self.run_cli(["ticket", "list"], env=self.env(HELPDESK_TOKEN="hd_bad"), want=3)
        self.run_cli(["ticket", "list", "--token", s.token],
                     env=self.env(HELPDESK_TOKEN="hd_bad"), want=0)
        self.run_cli(["--server", "127.0.0.1:1", "ticket", "list"], env=self.env(), want=5)
        with open(os.path.join(cfgdir, "config"), "w") as f:
            f.write("[default]\nthis line is wrong\n")
        _, err = self.run_cli(["ticket", "list"], env=self.env(), want=4)
        self.assertIn("line 2", err)

    def test_login_saves_a_private_token_whoami_names_the_member_logout_forgets_it(self):
        s = self.start_server(args=["--unsafe-nosync"])
        self.run_cli(["staff", "create", "--email", "ada@example.com", "--name", "Ada",
                      "--role", "agent", "--password-stdin"], s,
                     stdin="correct horse battery staple\n")
        env = self.env(HELPDESK_SERVER=s.address)
        _, err = self.run_cli(["login", "--email", "ada@example.com", "--password-stdin"],
                              env=env, stdin="wrong password here\n", want=3)
        out, _ = self.run_cli(["login", "--email", "ada@example.com", "--password-stdin"],
                              env=env, stdin="correct horse battery staple\n")
        self.assertIn("logged in as ada@example.com", out)
        path = os.path.join(self.home, ".config", "helpdesk", "config")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        out, _ = self.run_cli(["whoami"], env=env)
        self.assertRegex(out, r"^Ada <ada@example.com>, staff \d+, agent, on ")
        self.assertIn("\nscopes: tickets.read tickets.write staff.read customers.read "
                      "customers.write\n", out)
        # The bootstrap admin token (staff id 0, no staff record) answers too, every scope.
        out, _ = self.run_cli(["whoami", "--json"], s)
        who = json.loads(out)
        self.assertEqual((who["principalKind"], who["role"], who["name"]),
                         ("PRINCIPAL_KIND_STAFF", "ROLE_ADMIN", "bootstrap admin"))
        self.assertIn("tickets.import", who["scopes"])
        out, _ = self.run_cli(["whoami"], s)
        self.assertRegex(out, r"^bootstrap admin, staff 0, admin, on .*\nscopes: .*admin")
        self.run_cli(["ticket", "list", "--assignee", "me"], env=env)
        self.run_cli(["logout"], env=env)
        with open(path) as f:
            self.assertNotIn("token =", f.read())
        self.run_cli(["whoami"], env=env, want=3)


class Interactive(CliCase):
    """Real terminals: tmux sessions with send-keys / capture-pane."""

    def setUp(self):
        super().setUp()
        if not shutil.which("tmux"):
            self.fail("tmux is not installed (it is in tools/lib/deps.sh HD_PKGS_TEST)")
        self.session = "hdcli%d" % os.getpid()
        self.sock = os.path.join(self.home, "tmux.sock")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.sock] + list(args), capture_output=True,
                              text=True, timeout=30)

    def start_tmux(self, command, env):
        envfile = os.path.join(self.home, "env.sh")
        with open(envfile, "w") as f:
            for k, v in env.items():
                if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k):
                    f.write("export %s='%s'\n" % (k, v.replace("'", "'\\''")))
        r = self.tmux("new-session", "-d", "-s", self.session, "-x", "160", "-y", "50",
                      "bash --norc --noprofile")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.addCleanup(self.tmux, "kill-server")
        self.tmux("send-keys", "-t", self.session, ". %s; %s; echo EXIT=$?" %
                  (envfile, command), "Enter")

    def foreground(self):
        """The command running in the pane's foreground."""
        return self.tmux("display-message", "-p", "-t", self.session,
                         "#{pane_current_command}").stdout.strip()

    def pane(self):
        return self.tmux("capture-pane", "-p", "-t", self.session).stdout

    def test_dashboard_watch_redraws_in_place_with_new_figures(self):
        s = self.start_server(args=["--unsafe-nosync"])
        env = self.env(s, s.token)
        self.start_tmux("%s dashboard --watch --interval 1" % cli_binary(), env)
        wait_for(lambda: "refresh 1," in self.pane(), 30, "the first dashboard frame")
        self.assertIn("open 0 ", self.pane())
        self.run_cli(["ticket", "create", "--customer", "ada@example.com", "--subject", "s",
                      "--body", "b"], s)
        wait_for(lambda: "open 1 " in self.pane(), 30, "a redraw showing the new ticket")
        text = self.pane()
        self.assertEqual(text.count("Helpdesk dashboard"), 1, text)  # in place, not appended
        self.assertNotIn("refresh 1,", text)
        self.tmux("send-keys", "-t", self.session, "C-c")
        wait_for(lambda: self.foreground() == "bash", 30, "the dashboard to stop on Ctrl-C")

    def test_reply_without_a_body_opens_the_editor_and_sends_what_was_written(self):
        s = self.start_server(args=["--unsafe-nosync"])
        self.run_cli(["ticket", "create", "--customer", "ada@example.com", "--subject", "s",
                      "--body", "b"], s)
        editor = os.path.join(self.home, "editor.sh")
        with open(editor, "w") as f:
            # Writes above the marker line the CLI put in the file, as a person would.
            f.write('#!/bin/sh\n{ echo "Written in the editor."; cat "$1"; } > "$1.new" && '
                    'mv "$1.new" "$1"\necho "$1" > %s/edited\n' % self.home)
        os.chmod(editor, 0o755)
        env = self.env(s, s.token, EDITOR=editor)
        self.start_tmux("%s ticket reply TKT-000001" % cli_binary(), env)
        wait_for(lambda: re.search(r"EXIT=\d", self.pane()), 30, "the reply command to finish")
        self.assertIn("EXIT=0", self.pane())
        self.assertIn("replied on TKT-000001", self.pane())
        self.assertTrue(os.path.exists(os.path.join(self.home, "edited")), "editor not run")
        out, _ = self.run_cli(["ticket", "show", "1", "--json"], s)
        bodies = [m["body"] for m in json.loads(out)["messages"]]
        self.assertEqual(bodies, ["b", "Written in the editor."])


class Demo(CliCase):
    @slow
    def test_demo_seed_is_reproducible_and_lively(self):
        summaries = []
        for _ in range(2):
            s = self.start_server(args=["--unsafe-nosync"])
            out, _ = self.run_cli(["demo", "seed", "--tickets", "200", "--days", "30",
                                   "--seed", "5", "--json"], s, timeout=300)
            summaries.append(json.loads(out))
            listing, _ = self.run_cli(["ticket", "list", "--all", "--json"], s)
            tickets = json.loads(listing)["tickets"]
            self.assertEqual(len(tickets), 200)
            statuses = {t["status"] for t in tickets}
            self.assertTrue({"TICKET_STATUS_SOLVED", "TICKET_STATUS_CLOSED",
                             "TICKET_STATUS_PENDING"} <= statuses, statuses)
            summaries[-1]["subjects"] = sorted((t["number"], t["subject"]) for t in tickets)
            s.stop()
        # Thread interleaving may only change which lifecycle steps were refused.
        for k in ("tickets", "customers", "staff", "subjects"):
            self.assertEqual(summaries[0][k], summaries[1][k], k)
        self.assertGreater(summaries[0]["replies"], 100)
        self.assertGreater(summaries[0]["rated"], 10)


class TlsAndWatch(CliCase):
    def test_tls_with_the_right_ca_works_and_a_plaintext_client_is_refused(self):
        from test_tls import self_signed
        crt, key = self_signed(self.home, "server")
        s = self.start_server(args=["--unsafe-nosync", "--tls-cert", crt, "--tls-key", key])
        out, _ = self.run_cli(["--tls", "--ca", crt, "ticket", "list", "-q"], s)
        self.assertEqual(out, "")
        self.run_cli(["ticket", "list"], s, want=5)  # plaintext to a TLS port
        with open(os.path.join(self.home, ".config-ca"), "w") as f:
            f.write("[default]\nserver = %s\ntoken = %s\ntls = true\nca = %s\n" %
                    (s.address, s.token, crt))
        self.run_cli(["ticket", "list"], env=self.env(HELPDESK_CONFIG=os.path.join(
            self.home, ".config-ca")))

    def start_watch(self, s, *args):
        """Starts `ticket watch --json ARGS` and returns (process, lines read so far) once
        an event arrived: the stream is open and the signal handlers are in place."""
        p = subprocess.Popen([cli_binary(), "ticket", "watch", "--json"] + list(args),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=self.env(s, s.token))
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        lines = []
        reader = threading.Thread(target=lambda: [lines.append(l) for l in p.stdout],
                                  daemon=True)
        reader.start()
        # The stream is open once a change made now reaches it: create until one arrives.
        created = 0

        def arrived():
            nonlocal created
            if not lines:
                created += 1
                self.run_cli(["ticket", "create", "--customer", "w@example.com", "--subject",
                              "w%d" % created, "--body", "b"], s)
            return lines
        wait_for(arrived, 30, "a watched event", interval_s=0.2)
        return p, lines

    def assert_watch_ended_by(self, p, s, sig, want):
        """Sends sig to the watch p: exit want, nothing on stderr (no error line, no
        sanitizer report), and the server saw the call cancelled."""
        p.send_signal(sig)
        self.assertEqual(p.wait(timeout=30), want)
        err = p.stderr.read()
        self.assertIsNone(sanitizer_report(err), err)
        self.assertEqual(err, "")
        wait_for(lambda: re.search(r"WatchTickets\S* status=CANCELLED", s.stderr()), 30,
                 "the server logging the cancelled watch")

    def test_watch_streams_each_committed_change_until_interrupted(self):
        s = self.start_server(args=["--unsafe-nosync"])
        p, lines = self.start_watch(s)
        self.run_cli(["ticket", "reply", "1", "--body", "on it"], s)
        wait_for(lambda: any('"TICKET_EVENT_KIND_MESSAGE_ADDED"' in l for l in lines), 30,
                 "the reply's event")
        for line in lines:
            ev = json.loads(line)  # one compact JSON document per line
            self.assertIn("ticket", ev)
        self.assert_watch_ended_by(p, s, signal.SIGINT, 130)  # Ctrl-C

    def test_watch_ends_cleanly_on_sigterm(self):
        s = self.start_server(args=["--unsafe-nosync"])
        p, _ = self.start_watch(s)
        self.assert_watch_ended_by(p, s, signal.SIGTERM, 143)

    def test_ctrl_c_ends_a_watch_still_waiting_for_the_server(self):
        # A listener that accepts but never speaks HTTP/2: the watch waits to connect.
        with socket.socket() as mute:
            mute.bind(("127.0.0.1", 0))
            mute.listen(8)
            addr = "127.0.0.1:%d" % mute.getsockname()[1]
            p = subprocess.Popen([cli_binary(), "--server", addr, "ticket", "watch"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=self.env())
            self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
            # Its handlers are in place once the kernel shows SIGINT and SIGTERM caught.
            wait_for(lambda: catches(p.pid, (signal.SIGINT, signal.SIGTERM)), 30,
                     "the watch catching SIGINT and SIGTERM")
            p.send_signal(signal.SIGINT)
            self.assertEqual(p.wait(timeout=30), 130)
            out, err = p.communicate(timeout=30)
            self.assertIsNone(sanitizer_report(err), err)
            self.assertEqual((out, err), ("", ""))


def catches(pid, sigs):
    """True when process pid has a handler for each signal in sigs (/proc SigCgt)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            mask = next(int(l.split()[1], 16) for l in f if l.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return False
    return all(mask & (1 << (int(sig) - 1)) for sig in sigs)
