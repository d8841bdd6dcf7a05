"""`helpdesk mailbox` against a real helpdeskd, a real Dovecot and an aiosmtpd sink
(tests/integration/mailpeers.py): add (password from stdin or a file, never argv), list and
show (the password never printed), test (OK with the right password, a clear failure and
exit 9 with a wrong one), update of only the fields given, remove, the outbox with a dead
letter and its retry, bad flags with exit 1 naming the flag, and shell completion.
"""

import json
import os
import re
import shutil
import subprocess

from harness import slow, wait_for
from mailpeers import Dovecot, SmtpSink
from test_cli import CliCase, cli_binary

PW = "s3cret"


class MailboxCase(CliCase):
    """Helpers; the tests are in the subclasses below."""

    def setUp(self):
        super().setUp()
        self.imap = Dovecot(password=PW)
        self.imap.start()
        self.addCleanup(self.imap.cleanup)
        self.outputs = []

    def mb(self, args, s, **kw):
        """Runs `helpdesk mailbox ARGS`, keeping every output to check for the password."""
        out, err = self.run_cli(["mailbox"] + args, s, **kw)
        self.outputs.append(out + err)
        return out, err

    def mb_json(self, args, s, **kw):
        out, _ = self.mb(args + ["--json"], s, **kw)
        return json.loads(out)

    def password_file(self, text):
        path = os.path.join(self.home, "pw-%d" % len(self.outputs))
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    def assert_password_never_shown(self):
        for text in self.outputs:
            self.assertNotIn(PW, text)
            self.assertNotIn("wrong-pass", text)

    def add(self, s, *extra):
        return self.mb_json(["add", "--name", "Support", "--imap-url", self.imap.url(),
                             "--user", self.imap.user, "--password-file", "-",
                             "--mail-tls", "off", "--poll-interval", "1",
                             "--reopen-grace", "2h", "--category", "email",
                             "--priority", "high"] + list(extra), s, stdin=PW + "\n")


class MailboxCli(MailboxCase):
    def test_add_list_show_test_update_remove(self):
        s = self.start_server(args=["--unsafe-nosync"])
        added = self.add(s)
        mid = added["id"]
        self.assertTrue(added["hasImapPassword"])
        self.assertNotIn("imapPassword", added)
        self.assertEqual(added["reopenGraceSeconds"], 7200)
        self.assertEqual(added["priority"], "PRIORITY_HIGH")
        self.assertEqual(added["folder"], "INBOX")
        self.assertTrue(added["enabled"])
        self.assertNotIn("tls", added)  # --mail-tls off
        # list: table, quiet ids, JSON with the fetch state in the same order.
        out, _ = self.mb(["list"], s)
        self.assertRegex(out, r"(?m)^ID +NAME +IMAP +USER +FOLDER +ENABLED")
        self.assertRegex(out, r"(?m)^%s +Support +%s +support +INBOX +yes" %
                         (mid, self.imap.url()))
        out, _ = self.mb(["list", "-q"], s)
        self.assertEqual(out, "%s\n" % mid)
        listed = self.mb_json(["list"], s)
        self.assertEqual([m["id"] for m in listed["mailboxes"]], [mid])
        self.assertEqual(listed["states"][0]["mailboxId"], mid)
        # show: every setting in words, never the password.
        out, _ = self.mb(["show", mid], s)
        self.assertRegex(out, r"has imap password +yes")
        self.assertRegex(out, r"reopen grace seconds +7200")
        self.assertRegex(out, r"category +email")
        shown = self.mb_json(["show", mid], s)
        self.assertEqual(shown["mailbox"]["imapUsername"], "support")
        self.assertEqual(shown["state"]["mailboxId"], mid)
        _, err = self.mb(["show", "999"], s, want=2)
        self.assertEqual(err, "error: not found: mailbox 999\n")
        # test: the stored settings log in; SMTP is not configured.
        out, _ = self.mb(["test", mid], s)
        self.assertRegex(out, r"(?m)^imap  ok  \(UIDVALIDITY \d+, 0 messages\)$")
        self.assertIn("smtp  not configured", out)
        # Unsaved settings from flags, password from a file.
        ok_file = self.password_file(PW + "\n")
        out, _ = self.mb(["test", "--imap-url", self.imap.url(), "--user", "support",
                          "--password-file", ok_file, "--mail-tls", "off"], s)
        self.assertIn("imap  ok", out)
        # A wrong password stored by update: the test fails clearly with exit 9.
        bad_file = self.password_file("wrong-pass\n")
        self.mb(["update", mid, "--password-file", bad_file], s)
        out, err = self.mb(["test", mid], s, want=9)
        self.assertRegex(out, r"(?m)^imap  FAILED  \S.*$")
        self.assertEqual(err, "error: mailbox test failed: IMAP did not work\n")
        res = self.mb_json(["test", mid], s, want=9)
        self.assertNotIn("imapOk", res)
        self.assertTrue(res["imapError"])
        # update changes only the fields given.
        self.mb(["update", mid, "--password-file", "-", "--poll-interval", "5m",
                 "--category", "billing", "--processed-folder", "Done"], s, stdin=PW + "\n")
        m = self.mb_json(["show", mid], s)["mailbox"]
        self.assertEqual(m["pollIntervalSeconds"], 300)
        self.assertEqual(m["category"], "billing")
        self.assertEqual(m["processedFolder"], "Done")
        self.assertEqual(m["afterFetch"], "AFTER_FETCH_MOVE")
        self.assertEqual(m["reopenGraceSeconds"], 7200)
        self.assertEqual(m["priority"], "PRIORITY_HIGH")
        self.assertEqual(m["imapUsername"], "support")
        self.assertTrue(m["hasImapPassword"])
        self.mb(["test", mid], s)  # the right password again
        tpl = os.path.join(self.home, "ack.txt")
        with open(tpl, "w") as f:
            f.write("We opened {{number}}.\nRegards\n")
        self.mb(["update", mid, "--reopen-grace", "0", "--enabled", "off", "--ack", "on",
                 "--ack-template-file", tpl, "--max-message-size", "10M"], s)
        m = self.mb_json(["show", mid], s)["mailbox"]
        self.assertNotIn("reopenGraceSeconds", m)
        self.assertNotIn("enabled", m)
        self.assertTrue(m["acknowledge"])
        self.assertEqual(m["ackTemplate"], "We opened {{number}}.\nRegards\n")
        self.assertEqual(m["maxMessageBytes"], str(10 * 1024 * 1024))
        self.assertEqual(m["pollIntervalSeconds"], 300)
        # remove, then it is gone.
        out, _ = self.mb(["remove", mid], s)
        self.assertEqual(out, "removed mailbox %s\n" % mid)
        out, _ = self.mb(["list", "-q"], s)
        self.assertEqual(out, "")
        self.mb(["remove", mid], s, want=2)
        self.assert_password_never_shown()
        # The password is not in argv of any command above, so not in the store either.
        with open(os.path.join(s.data_path(), "store", "data.mdb"), "rb") as f:
            self.assertNotIn(PW.encode(), f.read())
        s.stop()

    def test_bad_flags_exit_1_naming_the_flag_and_server_refusals_exit_4(self):
        s = self.start_server(args=["--unsafe-nosync"])
        url = self.imap.url()
        cases = [
            (["add", "--imap-url", url], "--name and --imap-url are required"),
            (["add", "--name", "x", "--imap-url", url, "--password", PW],
             "unknown flag --password"),
            (["add", "--name", "x", "--imap-url", url, "--poll-interval", "5x"], "--poll-interval"),
            (["add", "--name", "x", "--imap-url", url, "--poll-interval", "2d"], "--poll-interval"),
            (["add", "--name", "x", "--imap-url", url, "--reopen-grace", "-1"], "--reopen-grace"),
            (["add", "--name", "x", "--imap-url", url, "--max-message-size", "1T"],
             "--max-message-size"),
            (["add", "--name", "x", "--imap-url", url, "--mail-tls", "maybe"],
             "--mail-tls: want on or off"),
            (["add", "--name", "x", "--imap-url", url, "--priority", "asap"], "--priority"),
            (["add", "--name", "x", "--imap-url", url, "--after-fetch", "delete"],
             "--after-fetch"),
            (["add", "--name", "x", "--imap-url", url, "--password-file", "-",
              "--smtp-password-file", "-"], "only one of them may read stdin"),
            (["add", "--name", "x", "--imap-url", url, "--password-file", "-",
              "--ack-template-file", "-"], "only one of them may read stdin"),
            (["update", "1"], "nothing to change"),
            (["update", "abc", "--name", "y"], "MAILBOX_ID"),
            (["show"], "usage"),
            (["test"], "give MAILBOX_ID or --imap-url"),
            (["test", "1", "--user", "x"], "give MAILBOX_ID or settings flags, not both (--user)"),
            (["outbox", "--dead", "--pending"], "give --dead or --pending, not both"),
            (["outbox", "--limit", "0"], "--limit"),
            (["retry", "0"], "OUTBOX_ID"),
        ]
        for args, want in cases:
            _, err = self.mb(args, s, want=1, stdin="")
            self.assertIn(want, err, args)
            self.assertTrue(err.startswith("error: "), err)
        # --ask-password without a controlling terminal (a new session has none).
        p = subprocess.run(["setsid", "-w", cli_binary(), "mailbox", "add", "--name", "x",
                            "--imap-url", url, "--ask-password"], capture_output=True,
                           text=True, env=self.env(s, s.token), stdin=subprocess.DEVNULL,
                           timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("--ask-password: no terminal to ask on; use --password-file", p.stderr)
        _, err = self.mb(["add", "--name", "x", "--imap-url", url, "--password-file",
                          "/nonexistent/pw"], s, want=4)
        self.assertIn("--password-file /nonexistent/pw", err)
        _, err = self.mb(["add", "--name", "x", "--imap-url", url, "--password-file", "-"], s,
                         want=4, stdin="\n")
        self.assertIn("the password is empty", err)
        # The server validates the rest: a bad URL is INVALID_ARGUMENT naming the field.
        _, err = self.mb(["add", "--name", "x", "--imap-url", "http://127.0.0.1:1"], s, want=4)
        self.assertIn("imap_url", err)
        _, err = self.mb(["add", "--name", "x", "--imap-url", url, "--smtp-url",
                          "smtp://127.0.0.1:1"], s, want=4)
        self.assertIn("from_address", err)
        _, err = self.mb(["add", "--name", "x", "--imap-url", url, "--ca-file",
                          "relative/ca.pem"], s, want=4)
        self.assertIn("ca_file: must be an absolute path", err)
        self.mb(["update", "77", "--name", "y"], s, want=2)
        self.mb(["list"], s, token="hd_wrong", want=3)
        s.stop()

    def test_completion_knows_the_mailbox_group(self):
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
        self.assertIn("mailbox", complete("helpdesk ma"))
        self.assertEqual(sorted(complete("helpdesk mailbox ")),
                         sorted(["--server", "--token", "--tls", "--ca", "--timeout", "--json",
                                 "--quiet", "--no-color", "--help", "add", "list", "show",
                                 "update", "remove", "test", "outbox", "retry"]))
        self.assertEqual(complete("helpdesk mailbox add --reo"), ["--reopen-grace"])
        self.assertIn("--password-file", complete("helpdesk mailbox update 1 --pa"))
        self.assertEqual(complete("helpdesk mailbox outbox --de"), ["--dead"])


class MailboxPromptCli(MailboxCase):
    """The password prompt on a real terminal (tmux send-keys / capture-pane)."""

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.sock] + list(args), capture_output=True,
                              text=True, timeout=30)

    def pane(self):
        return self.tmux("capture-pane", "-p", "-t", self.session).stdout

    def test_add_with_a_user_prompts_for_the_password_without_echo(self):
        if not shutil.which("tmux"):
            self.fail("tmux is not installed (it is in tools/lib/deps.sh HD_PKGS_TEST)")
        self.session = "hdmb%d" % os.getpid()
        self.sock = os.path.join(self.home, "tmux.sock")
        s = self.start_server(args=["--unsafe-nosync"])
        envfile = os.path.join(self.home, "env.sh")
        with open(envfile, "w") as f:
            for k, v in self.env(s, s.token).items():
                if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k):
                    f.write("export %s='%s'\n" % (k, v.replace("'", "'\\''")))
        r = self.tmux("new-session", "-d", "-s", self.session, "-x", "160", "-y", "50",
                      "bash --norc --noprofile")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.addCleanup(self.tmux, "kill-server")
        self.tmux("send-keys", "-t", self.session,
                  ". %s; %s mailbox add --name Support --imap-url %s --user support "
                  "--mail-tls off -q; echo EXIT=$?" % (envfile, cli_binary(), self.imap.url()),
                  "Enter")
        wait_for(lambda: "IMAP password:" in self.pane(), 30, "the password prompt")
        self.tmux("send-keys", "-t", self.session, PW, "Enter")
        wait_for(lambda: re.search(r"EXIT=\d", self.pane()), 30, "add to finish")
        text = self.pane()
        self.assertIn("EXIT=0", text)
        self.assertNotIn(PW, text)  # not echoed
        mid = re.search(r"(?m)^(\d+)$", text).group(1)
        out, _ = self.mb(["test", mid], s)
        self.assertIn("imap  ok", out)
        s.stop()


class MailboxOutboxCli(MailboxCase):
    def setUp(self):
        super().setUp()
        self.smtp = SmtpSink()
        self.smtp.start()
        self.addCleanup(self.smtp.stop)

    @slow
    def test_outbox_lists_a_dead_letter_and_retry_sends_it(self):
        s = self.start_server(args=["--unsafe-nosync"],
                              env={"HELPDESK_MAIL_BACKOFF_MS": "100",
                                   "HELPDESK_MAIL_MAX_ATTEMPTS": "3"})
        self.smtp.fail_next = 1000
        self.imap.deliver(b"From: Ann <ann@customer.example>\r\nTo: support@helpdesk.test\r\n"
                          b"Subject: Printer on fire\r\nMessage-ID: <out-1@customer.example>\r\n"
                          b"Content-Type: text/plain\r\n\r\nHelp.\r\n")
        self.add(s, "--smtp-url", self.smtp.url(), "--from-address", "support@helpdesk.test",
                 "--ack", "off")
        tid = wait_for(lambda: self.run_cli(["ticket", "list", "-q"], s)[0].split(), 30,
                       "the mail's ticket")[0]
        self.run_cli(["ticket", "reply", tid, "--body", "Unplug it."], s)
        dead = wait_for(lambda: self.mb_json(["outbox", "--dead"], s).get("messages"), 30,
                        "a dead letter")
        self.assertEqual(len(dead), 1)
        d = dead[0]
        self.assertEqual(d["attempts"], 3)
        self.assertEqual(d["state"], "OUTBOX_STATE_DEAD")
        self.assertIn("451", d["lastError"])
        out, _ = self.mb(["outbox", "--dead"], s)
        self.assertRegex(out, r"(?m)^ID +KIND +STATE +TICKET NUMBER +TO +ATTEMPTS")
        self.assertRegex(out, r"(?m)^%s +reply +dead +TKT-\d+ +ann@customer\.example +3 " %
                         d["id"])
        out, _ = self.mb(["outbox", "-q"], s)  # pending and dead
        self.assertEqual(out, "%s\n" % d["id"])
        self.smtp.fail_next = 0
        out, _ = self.mb(["retry", d["id"]], s)
        self.assertRegex(out, r"state +(pending|sent)")
        got = self.smtp.wait_for(1, 30)
        self.assertIn(d["rfcMessageId"].encode(), got[0][2])
        # Sent mail leaves the queue.
        wait_for(lambda: self.mb(["outbox", "-q"], s)[0] == "", 30, "the outbox to empty")
        self.assertEqual(self.mb_json(["outbox"], s), {})
        self.mb(["retry", "999"], s, want=2)
        self.assert_password_never_shown()
        s.stop()
