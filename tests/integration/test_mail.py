"""The email channel against real peers on 127.0.0.1: Dovecot IMAP and an aiosmtpd sink,
both started by the test (tests/integration/mailpeers.py), and a real helpdeskd.

- round trip: mail in -> ticket -> acknowledgement -> staff reply via RPC -> the sink gets
  a reply with the thread's headers -> the customer answers it -> same ticket;
- exactly once: helpdeskd SIGKILLs itself between commit and the IMAP flag change (test
  hook), restarts, re-polls: no duplicate ticket, and the flags are set afterwards;
- oversized mail is recorded as rejected, never downloaded into a ticket;
- mailboxes are polled side by side: one whose server hangs does not delay another's mail;
- failed delivery is retried, dead-lettered, listed and retried by an admin with the same
  Message-ID; passwords are never returned; header injection is refused;
- TLS against a Dovecot with ssl on and a certificate made by `openssl req -x509`: polling
  over STARTTLS and over imaps:// with the certificate trusted through ca_file; refused with
  a clear error when the certificate does not verify, and when TLS is required but the
  server offers no STARTTLS (no credentials sent in plaintext).
"""

import email
import email.policy
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import ServerTestCase, slow, tickets_pb2, unary, wait_for  # noqa: E402
from mailpeers import Dovecot, SmtpSink, self_signed  # noqa: E402

import grpc  # noqa: E402
from google.protobuf import field_mask_pb2  # noqa: E402

mail_pb2 = harness._PB["mail"]
CORPUS = os.path.join(harness.ROOT, "tests/data/mail")
M = "/helpdesk.v1.MailService/"
T = "/helpdesk.v1.TicketService/"


def corpus(name, **subst):
    with open(os.path.join(CORPUS, name), "rb") as f:
        raw = f.read()
    for k, v in subst.items():
        raw = raw.replace(("{{%s}}" % k).encode(), v.encode())
    return raw


def plain(frm, subject, body, msgid, in_reply_to=None, extra=""):
    hdr = "From: %s\r\nTo: support@helpdesk.test\r\nSubject: %s\r\nMessage-ID: <%s>\r\n" % (
        frm, subject, msgid)
    if in_reply_to:
        hdr += "In-Reply-To: <%s>\r\nReferences: <%s>\r\n" % (in_reply_to, in_reply_to)
    return (hdr + extra + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body +
            "\r\n").encode()


class MailCase(ServerTestCase):
    DOVECOT = {}  # Dovecot() arguments

    def setUp(self):
        self.imap = Dovecot(**self.DOVECOT)
        self.imap.start()
        self.addCleanup(self.imap.cleanup)
        self.smtp = SmtpSink()
        self.smtp.start()
        self.addCleanup(self.smtp.stop)

    def call(self, srv, path, req, resp_cls, **kw):
        return unary(srv.channel(), path, req, resp_cls, token=srv.token, **kw)

    def add_mailbox(self, srv, **over):
        mb = mail_pb2.Mailbox(name="support", imap_url=self.imap.url(),
                              imap_username=self.imap.user, imap_password=self.imap.password,
                              poll_interval_seconds=1, smtp_url=self.smtp.url(),
                              from_address="support@helpdesk.test", from_name="Support",
                              enabled=True, acknowledge=True)
        for k, v in over.items():
            setattr(mb, k, v)
        return self.call(srv, M + "AddMailbox", mail_pb2.AddMailboxRequest(mailbox=mb),
                         mail_pb2.Mailbox)

    def tickets(self, srv):
        r = self.call(srv, T + "ListTickets", tickets_pb2.ListTicketsRequest(page_size=1000),
                      tickets_pb2.ListTicketsResponse)
        return list(r.tickets)

    def get(self, srv, tid):
        return self.call(srv, T + "GetTicket", tickets_pb2.GetTicketRequest(id=tid),
                         tickets_pb2.GetTicketResponse)

    def seen_files(self):
        cur = os.path.join(self.imap.maildir, "cur")
        return [f for f in os.listdir(cur) if ":2," in f and "S" in f.split(":2,")[1]]


class TestMailRoundTrip(MailCase):
    def test_mail_to_ticket_reply_and_answer_stay_on_one_ticket(self):
        srv = self.start_server()
        self.imap.deliver(corpus("01_new_plain.eml"))
        mb = self.add_mailbox(srv)
        self.assertEqual(mb.imap_password, "")
        self.assertTrue(mb.has_imap_password)
        t = wait_for(lambda: self.tickets(srv), 20, "a ticket from the first mail")
        self.assertEqual(len(t), 1)
        ticket = t[0]
        self.assertEqual(ticket.channel, harness.common_pb2.CHANNEL_EMAIL)
        self.assertEqual(ticket.subject, "Printer on fire")
        # The acknowledgement arrives, marked as an automatic reply.
        msgs = self.smtp.wait_for(1, 20)
        ack = email.message_from_bytes(msgs[0][2], policy=email.policy.default)
        self.assertEqual(ack["Auto-Submitted"], "auto-replied")
        self.assertIn("[%s]" % ticket.number, ack["Subject"])
        self.assertEqual(msgs[0][1], ["ann@customer.example"])
        # The message was flagged \Seen only after its commit.
        wait_for(lambda: self.seen_files(), 10, "\\Seen flag on the fetched message")
        # Staff reply through the RPC goes out through the outbox.
        self.call(srv, T + "ReplyToTicket",
                  tickets_pb2.ReplyToTicketRequest(ticket_id=ticket.id, body="Please unplug it."),
                  tickets_pb2.ReplyToTicketResponse)
        msgs = self.smtp.wait_for(2, 20)
        reply = email.message_from_bytes(msgs[1][2], policy=email.policy.default)
        self.assertEqual(reply["In-Reply-To"].strip(), "<CAnew001@mail.gmail.com>")
        self.assertIn("<CAnew001@mail.gmail.com>", reply["References"])
        self.assertIn("[%s] Printer on fire" % ticket.number, reply["Subject"])
        self.assertIn("Please unplug it.", reply.get_body(("plain",)).get_content())
        self.assertTrue(reply["Message-ID"].strip("<> ").startswith("hd.t%d." % ticket.id))
        self.assertIn("+t%d." % ticket.id, reply["Reply-To"])
        self.assertEqual(reply["From"].addresses[0].addr_spec, "support@helpdesk.test")
        # The customer answers the reply (Gmail form): same ticket, only the new text.
        rid = reply["Message-ID"].strip("<> ")
        answer = corpus("02_gmail_reply.eml", TICKET=ticket.number, OWNID=rid)
        self.imap.deliver(answer)
        th = wait_for(lambda: (lambda g: g if len(g.messages) >= 3 else None)(
            self.get(srv, ticket.id)), 20, "the customer's answer on the ticket")
        self.assertEqual(th.messages[-1].body, "Thanks, it is out now.")
        self.assertEqual(len(self.tickets(srv)), 1)
        srv.stop()

    def test_oversized_message_is_rejected_with_a_reason_and_no_ticket(self):
        srv = self.start_server()
        self.imap.deliver(plain("big@customer.example", "big", "x" * 5000, "big-1@customer.example"))
        self.imap.deliver(plain("ok@customer.example", "small", "fine", "ok-1@customer.example"))
        self.add_mailbox(srv, max_message_bytes=3000, acknowledge=False)
        wait_for(lambda: self.tickets(srv), 20, "the small message's ticket")

        def rejected():
            r = self.call(srv, M + "ListMailboxes", mail_pb2.ListMailboxesRequest(),
                          mail_pb2.ListMailboxesResponse)
            return r.states[0].messages_rejected == 1 and r.states[0].last_uid == 2

        wait_for(rejected, 20, "the rejected count and last UID")
        self.assertEqual([t.subject for t in self.tickets(srv)], ["small"])
        self.assertIn("mail.rejected", srv.stderr())
        self.assertIn("too large", srv.stderr())
        srv.stop()

    def test_password_is_never_returned_and_injection_is_refused(self):
        srv = self.start_server()
        mb = self.add_mailbox(srv, smtp_password="smtp-secret")
        self.assertEqual(mb.smtp_password, "")
        self.assertTrue(mb.has_smtp_password)
        r = self.call(srv, M + "ListMailboxes", mail_pb2.ListMailboxesRequest(),
                      mail_pb2.ListMailboxesResponse)
        raw = r.SerializeToString()
        self.assertNotIn(b"s3cret", raw)
        self.assertNotIn(b"smtp-secret", raw)
        with open(os.path.join(srv.data_path(), "store", "data.mdb"), "rb") as f:
            self.assertNotIn(b"smtp-secret", f.read())
        with self.assertRaises(grpc.RpcError) as cm:
            self.add_mailbox(srv, from_address="support@helpdesk.test\r\nRCPT TO:<x@evil>")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        # Test connection: the stored mailbox works; a wrong password is reported.
        ok = self.call(srv, M + "TestMailbox", mail_pb2.TestMailboxRequest(id=mb.id),
                       mail_pb2.TestMailboxResponse)
        self.assertTrue(ok.imap_ok, ok.imap_error)
        self.assertTrue(ok.smtp_ok, ok.smtp_error)
        self.assertNotEqual(ok.uid_validity, 0)
        bad = mail_pb2.Mailbox(name="x", imap_url=self.imap.url(), imap_username="support",
                               imap_password="wrong")
        r = self.call(srv, M + "TestMailbox", mail_pb2.TestMailboxRequest(mailbox=bad),
                      mail_pb2.TestMailboxResponse)
        self.assertFalse(r.imap_ok)
        self.assertNotEqual(r.imap_error, "")
        srv.stop()

    def test_failed_delivery_dead_letters_and_admin_retry_sends_same_message_id(self):
        srv = self.start_server(env={"HELPDESK_MAIL_BACKOFF_MS": "100",
                                     "HELPDESK_MAIL_MAX_ATTEMPTS": "3"})
        self.smtp.fail_next = 1000
        self.imap.deliver(corpus("01_new_plain.eml"))
        self.add_mailbox(srv, acknowledge=False)
        ticket = wait_for(lambda: self.tickets(srv), 20, "ticket")[0]
        self.call(srv, T + "ReplyToTicket",
                  tickets_pb2.ReplyToTicketRequest(ticket_id=ticket.id, body="Reply."),
                  tickets_pb2.ReplyToTicketResponse)

        def dead():
            r = self.call(srv, M + "ListOutbox",
                          mail_pb2.ListOutboxRequest(state=mail_pb2.OUTBOX_STATE_DEAD),
                          mail_pb2.ListOutboxResponse)
            return list(r.messages)

        d = wait_for(dead, 30, "a dead letter")[0]
        self.assertEqual(d.attempts, 3)
        self.assertIn("451", d.last_error)
        self.smtp.fail_next = 0
        self.call(srv, M + "RetryOutbox", mail_pb2.RetryOutboxRequest(id=d.id),
                  mail_pb2.OutboxMessage)
        got = self.smtp.wait_for(1, 20)
        sent = email.message_from_bytes(got[0][2], policy=email.policy.default)
        self.assertEqual(sent["Message-ID"].strip("<> "), d.rfc_message_id)
        wait_for(lambda: not dead(), 10, "the outbox to empty")
        srv.stop()


class TestMailIdle(MailCase):
    """Dovecot offers IDLE: new mail is fetched when the server reports it, not at the next
    poll; a settings change ends the IDLE and the mailbox goes on with the new settings."""

    def test_new_mail_is_fetched_long_before_the_poll_interval(self):
        srv = self.start_server()
        self.imap.deliver(plain("a@customer.example", "first", "one", "idle-1@customer.example"))
        mb = self.add_mailbox(srv, poll_interval_seconds=300, acknowledge=False)
        wait_for(lambda: self.tickets(srv), 20, "the first round's ticket")
        # The first round is over once its message is flagged; from here on only IDLE can
        # bring the next message in before the 300 s interval.
        wait_for(lambda: self.seen_files(), 10, "the \\Seen flag of the first message")
        self.imap.deliver(plain("b@customer.example", "second", "two", "idle-2@customer.example"))
        wait_for(lambda: len(self.tickets(srv)) == 2, 20, "the second ticket, through IDLE")
        self.assertEqual(self.imap.log().count("imap-login: Info: Login:"), 1)  # one session
        # A settings change ends the IDLE; the new category applies to the next message.
        self.call(srv, M + "UpdateMailbox",
                  mail_pb2.UpdateMailboxRequest(
                      mailbox=mail_pb2.Mailbox(id=mb.id, category="billing"),
                      update_mask=field_mask_pb2.FieldMask(paths=["category"])),
                  mail_pb2.Mailbox)
        # The session with the old settings ends and a new one logs in.
        wait_for(lambda: self.imap.log().count("imap-login: Info: Login:") >= 2, 20,
                 "a new IMAP session after the settings change")
        self.imap.deliver(plain("c@customer.example", "third", "three", "idle-3@customer.example"))
        t = wait_for(lambda: (lambda ts: ts if len(ts) == 3 else None)(self.tickets(srv)), 20,
                     "the third ticket")
        self.assertEqual({x.subject: x.category for x in t},
                         {"first": "", "second": "", "third": "billing"})
        srv.stop()


class TestMailPollWithoutIdle(MailCase):
    """A server that does not offer IDLE is polled: one session per round, every interval."""

    DOVECOT = {"idle": False}

    def logins(self):
        return self.imap.log().count("imap-login: Info: Login:")

    def test_new_mail_comes_in_at_the_next_poll(self):
        srv = self.start_server()
        self.imap.deliver(plain("a@customer.example", "first", "one", "poll-1@customer.example"))
        self.add_mailbox(srv, poll_interval_seconds=1, acknowledge=False)
        wait_for(lambda: self.tickets(srv), 20, "the first round's ticket")
        n = self.logins()
        self.imap.deliver(plain("b@customer.example", "second", "two", "poll-2@customer.example"))
        wait_for(lambda: len(self.tickets(srv)) == 2, 20, "the second ticket at a later poll")
        # A new session per round, no IDLE. Dovecot's log process writes the login line
        # on its own schedule, possibly after the ticket is visible: wait for the line.
        wait_for(lambda: self.logins() > n, 20, "a further IMAP login in Dovecot's log")
        srv.stop()


class StalledImap:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word: an IMAP
    server that hangs before its greeting."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.accepted.set()

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


class TestMailboxesPolledConcurrently(MailCase):
    """Mailboxes are polled side by side: one whose IMAP server hangs (the session waits up
    to its 60 s timeout) does not hold up another's mail."""

    def test_a_hanging_mailbox_does_not_delay_another(self):
        stalled = StalledImap()
        self.addCleanup(stalled.close)
        srv = self.start_server()
        self.add_mailbox(srv, name="hanging", imap_url="imap://127.0.0.1:%d" % stalled.port,
                         tls=False, acknowledge=False)
        self.assertTrue(stalled.accepted.wait(20), "the hanging mailbox was never polled")
        self.imap.deliver(plain("c@customer.example", "meanwhile", "hello",
                                "conc-1@customer.example"))
        t0 = time.monotonic()
        self.add_mailbox(srv, name="working", acknowledge=False)
        t = wait_for(lambda: self.tickets(srv), 20, "the working mailbox's ticket")
        self.assertEqual([x.subject for x in t], ["meanwhile"])
        # Well inside the hanging session's 60 s: the two were not polled one after another.
        self.assertLess(time.monotonic() - t0, 20)
        self.assertTrue(stalled.conns, "the hanging session is still open")
        stalled.close()  # let the hanging session end before the server stops
        srv.stop()


class TestMailTls(ServerTestCase):
    """Dovecot with ssl = yes (STARTTLS on its imap port, implicit TLS on its imaps port)."""

    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="hd-mail-tls-")
        cls.crt, cls.key = self_signed(cls.certs, "dovecot")
        cls.other_crt, _ = self_signed(cls.certs, "other")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certs, ignore_errors=True)

    def setUp(self):
        self.imap = Dovecot(tls=(self.crt, self.key))
        self.imap.start()
        self.addCleanup(self.imap.cleanup)

    def call(self, srv, path, req, resp_cls, **kw):
        return unary(srv.channel(), path, req, resp_cls, token=srv.token, **kw)

    def mailbox(self, url, **over):
        mb = mail_pb2.Mailbox(name="tls", imap_url=url, imap_username=self.imap.user,
                              imap_password=self.imap.password, poll_interval_seconds=1,
                              enabled=True, tls=True)
        for k, v in over.items():
            setattr(mb, k, v)
        return mb

    def add(self, srv, mb):
        return self.call(srv, M + "AddMailbox", mail_pb2.AddMailboxRequest(mailbox=mb),
                         mail_pb2.Mailbox)

    def probe(self, srv, mb):
        return self.call(srv, M + "TestMailbox", mail_pb2.TestMailboxRequest(mailbox=mb),
                         mail_pb2.TestMailboxResponse)

    def state(self, srv):
        r = self.call(srv, M + "ListMailboxes", mail_pb2.ListMailboxesRequest(),
                      mail_pb2.ListMailboxesResponse)
        return r.states[0] if r.states and r.states[0].mailbox_id else None

    def tickets(self, srv):
        r = self.call(srv, T + "ListTickets", tickets_pb2.ListTicketsRequest(page_size=100),
                      tickets_pb2.ListTicketsResponse)
        return list(r.tickets)

    def logins(self):
        return [l for l in self.imap.log().splitlines() if "imap-login: Info: Login:" in l]

    def polls_over_tls(self, url):
        srv = self.start_server()
        self.imap.deliver(plain("tls@customer.example", "over tls", "secret body",
                                "tls-1@customer.example"))
        mb = self.mailbox(url, ca_file=self.crt)
        ok = self.probe(srv, mb)
        self.assertTrue(ok.imap_ok, ok.imap_error)
        self.assertEqual(ok.messages, 1)
        self.add(srv, mb)
        t = wait_for(lambda: self.tickets(srv), 20, "the ticket of the mail read over TLS")
        self.assertEqual([x.subject for x in t], ["over tls"])
        # Every login the server saw was inside TLS.
        logins = self.logins()
        self.assertTrue(logins)
        for line in logins:
            self.assertIn(", TLS,", line)
        srv.stop()

    def test_polls_over_starttls_with_a_private_ca(self):
        self.polls_over_tls(self.imap.url())

    def test_polls_over_implicit_tls_with_a_private_ca(self):
        self.polls_over_tls(self.imap.imaps_url())

    def test_certificate_that_does_not_verify_is_refused_with_a_clear_error(self):
        srv = self.start_server()
        self.imap.deliver(plain("x@customer.example", "never", "never read", "nv@customer.example"))
        # The system store does not hold the self-signed CA; another CA does not sign it.
        for mb in (self.mailbox(self.imap.imaps_url()),
                   self.mailbox(self.imap.url(), ca_file=self.other_crt)):
            r = self.probe(srv, mb)
            self.assertFalse(r.imap_ok)
            self.assertIn("certificate did not verify", r.imap_error)
        self.add(srv, self.mailbox(self.imap.url(), ca_file=self.other_crt))
        st = wait_for(lambda: (lambda s: s if s and s.last_error else None)(self.state(srv)), 20,
                      "the poll error in the mailbox state")
        self.assertIn("certificate did not verify", st.last_error)
        self.assertIn(self.other_crt, st.last_error)
        self.assertEqual(self.tickets(srv), [])
        self.assertEqual(self.logins(), [])
        srv.stop()

    def test_certificate_for_another_host_is_refused_even_from_a_trusted_ca(self):
        # Signed by the CA the mailbox trusts, but issued for another name: the host name
        # check still refuses it.
        crt, key = self_signed(self.certs, "elsewhere", san="DNS:imap.elsewhere.example")
        other = Dovecot(tls=(crt, key))
        other.start()
        self.addCleanup(other.cleanup)
        srv = self.start_server()
        for url in (other.url(), other.imaps_url()):
            r = self.probe(srv, self.mailbox(url, ca_file=crt))
            self.assertFalse(r.imap_ok)
            self.assertIn("certificate did not verify", r.imap_error)
            self.assertIn("127.0.0.1", r.imap_error)
        self.assertNotIn("Login:", other.log())
        srv.stop()

    def test_tls_required_but_no_starttls_offered_is_refused_without_plaintext_login(self):
        plain_imap = Dovecot()  # ssl = no: no STARTTLS in its capabilities
        plain_imap.start()
        self.addCleanup(plain_imap.cleanup)
        plain_imap.deliver(plain("x@customer.example", "never", "never read",
                                 "nt@customer.example"))
        srv = self.start_server()
        mb = self.mailbox(plain_imap.url(), ca_file=self.crt)
        r = self.probe(srv, mb)
        self.assertFalse(r.imap_ok)
        self.assertIn("TLS is required but the server offers no STARTTLS", r.imap_error)
        self.add(srv, mb)
        st = wait_for(lambda: (lambda s: s if s and s.last_error else None)(self.state(srv)), 20,
                      "the poll error in the mailbox state")
        self.assertIn("offers no STARTTLS", st.last_error)
        self.assertEqual(self.tickets(srv), [])
        self.assertNotIn("Login:", plain_imap.log())

    def test_ca_file_must_be_an_absolute_readable_path(self):
        srv = self.start_server()
        for bad, why in (("dovecot.crt", "absolute"), ("/nonexistent/ca.pem", "No such file")):
            with self.assertRaises(grpc.RpcError) as cm:
                self.add(srv, self.mailbox(self.imap.url(), ca_file=bad))
            self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn("ca_file", cm.exception.details())
            self.assertIn(why, cm.exception.details())
        srv.stop()


class TestMailExactlyOnce(MailCase):
    def processed(self):
        d = os.path.join(self.imap.maildir, ".Processed")
        return sorted(os.listdir(os.path.join(d, "cur")) + os.listdir(os.path.join(d, "new")))

    def inbox(self):
        return sorted(os.listdir(os.path.join(self.imap.maildir, "cur")) +
                      os.listdir(os.path.join(self.imap.maildir, "new")))

    @slow
    def test_kill_between_commit_and_move_never_duplicates(self):
        # AFTER_FETCH_MOVE makes the post-commit IMAP change visible: the messages leave
        # INBOX only after their commit.
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.imap.maildir, ".Processed", sub))
            os.chown(os.path.join(self.imap.maildir, ".Processed", sub), *self.imap._owner)
        os.chown(os.path.join(self.imap.maildir, ".Processed"), *self.imap._owner)
        srv = self.start_server(env={"HD_TEST_MAIL_KILL_BEFORE_FLAG": "1"})
        for i in range(5):
            self.imap.deliver(plain("c%d@customer.example" % i, "crash %d" % i, "body %d" % i,
                                    "crash-%d@customer.example" % i))
        self.add_mailbox(srv, acknowledge=False, after_fetch=mail_pb2.AFTER_FETCH_MOVE,
                         processed_folder="Processed")
        wait_for(lambda: srv.proc.poll() is not None, 30, "the kill before the move")
        self.assertEqual(srv.proc.returncode, -signal.SIGKILL)
        self.assertEqual(len(self.inbox()), 5)  # committed, but never moved
        self.assertEqual(self.processed(), [])
        again = harness.Server(data_dir=srv.data_dir)
        self.addCleanup(again.cleanup)
        again.start()
        wait_for(lambda: len(self.processed()) == 5 and not self.inbox(), 30,
                 "the move after the restart")
        subjects = sorted(t.subject for t in self.tickets(again))
        self.assertEqual(subjects, ["crash %d" % i for i in range(5)])
        r = self.call(again, M + "ListMailboxes", mail_pb2.ListMailboxesRequest(),
                      mail_pb2.ListMailboxesResponse)
        self.assertEqual(r.states[0].messages_ingested, 5)
        # A second copy of an ingested message (same Message-ID) is a duplicate, not a ticket.
        self.imap.deliver(plain("c0@customer.example", "crash 0", "body 0",
                                "crash-0@customer.example"))
        wait_for(lambda: len(self.processed()) == 6, 30, "the copy processed")
        self.assertEqual(len(self.tickets(again)), 5)
        again.stop()

if __name__ == "__main__":
    unittest.main()
