"""Crash safety of the email channel: helpdeskd killed with SIGKILL at random moments while
its poller ingests a mailbox from a real Dovecot (tests/integration/mailpeers.py), restarted
each time with no manual step. After every kill the store passes helpdeskd --check; at the
end every delivered message is on exactly one ticket: none lost, none duplicated."""

import collections
import os
import random
import shutil
import tempfile
import unittest

from crash import check_store
from harness import (LIST, Server, _PB, slow, tickets_pb2, unary, wait_for)
from mailpeers import Dovecot, SmtpSink

mail_pb2 = _PB["mail"]
# Enough mail that the pipelined poller (a batch of 100 can commit between two of the test's
# checks) cannot drain the mailbox before at least 3 kills: each kill comes at most
# MESSAGES // KILLS + 100 tickets after the previous one.
MESSAGES = int(os.environ.get("HD_CRASH_MAIL_MESSAGES", "1000"))
KILLS = int(os.environ.get("HD_CRASH_MAIL_KILLS", "8"))


def mail(i):
    return ("From: c%d@customer.example\r\nTo: support@helpdesk.test\r\n"
            "Subject: kill-mail %d\r\nMessage-ID: <km-%d@customer.example>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nMessage %d.\r\n" %
            (i, i, i, i)).encode()


class KillDuringMailPoll(unittest.TestCase):
    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="hd-crash-mail-")
        self.addCleanup(shutil.rmtree, self.data, True)
        self.imap = Dovecot()
        self.imap.start()
        self.addCleanup(self.imap.cleanup)
        self.smtp = SmtpSink()
        self.smtp.start()
        self.addCleanup(self.smtp.stop)

    def start(self):
        s = Server(data_dir=self.data, args=["--log-level", "warn"])
        self.addCleanup(s.cleanup)
        s.start()
        return s, s.channel()

    def subjects(self, ch, token):
        r = unary(ch, LIST, tickets_pb2.ListTicketsRequest(page_size=1000),
                  tickets_pb2.ListTicketsResponse, token=token)
        self.assertEqual(r.next_page_token, "")
        return [t.subject for t in r.tickets if t.subject.startswith("kill-mail ")]

    @slow
    def test_kill9_during_email_polls_loses_and_duplicates_no_message(self):
        rng = random.Random(int(os.environ.get("HD_CRASH_SEED", "10")))
        for i in range(MESSAGES):
            self.imap.deliver(mail(i))
        s, ch = self.start()
        mb = mail_pb2.Mailbox(name="support", imap_url=self.imap.url(),
                              imap_username=self.imap.user, imap_password=self.imap.password,
                              poll_interval_seconds=1, smtp_url=self.smtp.url(),
                              from_address="support@helpdesk.test", enabled=True,
                              acknowledge=False)
        unary(ch, "/helpdesk.v1.MailService/AddMailbox", mail_pb2.AddMailboxRequest(mailbox=mb),
              mail_pb2.Mailbox, token=s.token)
        kills = 0
        seen = 0
        for _ in range(KILLS):
            # A random moment of the poll: after a random number of further tickets.
            target = min(MESSAGES - 1, seen + rng.randint(1, max(1, MESSAGES // KILLS)))
            if seen >= MESSAGES - 1:
                break
            got = wait_for(lambda: (lambda n: n if n >= target else None)(
                len(self.subjects(ch, s.token))), 60, "%d mail tickets" % target,
                interval_s=0.005)
            s.kill()  # SIGKILL
            kills += 1
            s.close_channels()
            check_store(self, self.data)
            s, ch = self.start()
            seen = max(got, len(self.subjects(ch, s.token)))
        wait_for(lambda: len(self.subjects(ch, s.token)) >= MESSAGES, 120,
                 "every message as a ticket after the last restart")
        counts = collections.Counter(self.subjects(ch, s.token))
        want = collections.Counter("kill-mail %d" % i for i in range(MESSAGES))
        self.assertEqual(counts, want)
        s.stop()
        check_store(self, self.data)
        print("%d messages, %d kills during polls: each message on exactly one ticket" %
              (MESSAGES, kills), flush=True)
        self.assertGreaterEqual(kills, 3)


if __name__ == "__main__":
    unittest.main()
