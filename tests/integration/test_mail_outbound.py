"""Outbound mail against real peers on 127.0.0.1 (tests/integration/mailpeers.py): the
aiosmtpd sink receives what helpdeskd sends, Dovecot delivers what customers' mail servers
send back.

- a staff reply with an uploaded attachment arrives with the file (name, type, bytes);
  an unknown hash is refused naming the field; a draft keeps its files through UpdateDraft
  (kept or replaced) and SendDraft mails them;
- a permanent bounce (DSN via Dovecot) marks the address: the ticket shows it, WatchTickets
  sees the event, replies stop going there, an admin clears it and mail flows again;
- SMTP with STARTTLS and AUTH (aiosmtpd with a self-signed certificate): delivered when the
  password is right, dead-lettered with the server's answer when it is wrong.
"""

import email
import email.policy
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import tickets_pb2, unary, wait_for  # noqa: E402
from mailpeers import SmtpSink  # noqa: E402
from test_cli import cli_binary  # noqa: E402
from test_mail import MailCase, corpus  # noqa: E402
from test_tls import self_signed  # noqa: E402

import grpc  # noqa: E402

mail_pb2 = harness._PB["mail"]
common_pb2 = harness.common_pb2
M = "/helpdesk.v1.MailService/"
T = "/helpdesk.v1.TicketService/"


def cli(srv, *args):
    """Runs the helpdesk CLI against srv with its admin token; returns stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(HELPDESK_SERVER=srv.address, HELPDESK_TOKEN=srv.token, NO_COLOR="1")
    r = subprocess.run([cli_binary()] + list(args), env=env, capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise AssertionError("helpdesk %s: exit %d: %s" % (args, r.returncode, r.stderr))
    return r.stdout


class TestOutboundAttachments(MailCase):
    def test_reply_with_uploaded_attachment_reaches_the_customer_with_the_file(self):
        srv = self.start_server()
        self.imap.deliver(corpus("01_new_plain.eml"))
        self.add_mailbox(srv, acknowledge=False)
        ticket = wait_for(lambda: self.tickets(srv), 20, "a ticket from the mail")[0]
        pdf = b"%PDF-1.4\n" + bytes(range(256)) * 4000 + b"\n%%EOF\n"  # ~1 MiB, binary
        up = self.call(srv, M + "UploadAttachment", mail_pb2.UploadAttachmentRequest(data=pdf),
                       mail_pb2.UploadAttachmentResponse)
        self.assertEqual(up.size, len(pdf))
        self.assertEqual(len(up.sha256), 64)
        again = self.call(srv, M + "UploadAttachment", mail_pb2.UploadAttachmentRequest(data=pdf),
                          mail_pb2.UploadAttachmentResponse)
        self.assertEqual(again.sha256, up.sha256)  # content-addressed
        name = "Rechnung März 2026.pdf"
        r = self.call(srv, T + "ReplyToTicket", tickets_pb2.ReplyToTicketRequest(
            ticket_id=ticket.id, body="The invoice is attached.",
            attachments=[tickets_pb2.Attachment(sha256=up.sha256, filename=name,
                                                content_type="application/pdf")]),
            tickets_pb2.ReplyToTicketResponse)
        self.assertEqual(r.message.attachments[0].size, len(pdf))
        got = self.smtp.wait_for(1, 20)
        raw = got[0][2]
        self.assertIn(b"filename*=", raw)  # RFC 2231, not an encoded-word
        self.assertIn(b"Content-Transfer-Encoding: base64", raw)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        atts = list(msg.iter_attachments())
        self.assertEqual(len(atts), 1)
        self.assertEqual(atts[0].get_filename(), name)
        self.assertEqual(atts[0].get_content_type(), "application/pdf")
        self.assertEqual(atts[0].get_content(), pdf)
        self.assertIn("The invoice is attached.", msg.get_body(("plain",)).get_content())
        th = self.get(srv, ticket.id)
        self.assertEqual(th.messages[-1].attachments[0].sha256, up.sha256)
        self.assertEqual(th.messages[-1].attachments[0].filename, name)
        # The CLI uploads and attaches a file in one command.
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "printer-log.csv")
            with open(path, "w") as f:
                f.write("time;error\n10:00;fire\n")
            cli(srv, "ticket", "reply", ticket.number, "--body", "Log attached.",
                "--attach", path)
        msg = email.message_from_bytes(self.smtp.wait_for(2, 20)[1][2],
                                       policy=email.policy.default)
        atts = list(msg.iter_attachments())
        self.assertEqual([(a.get_filename(), a.get_content_type()) for a in atts],
                         [("printer-log.csv", "text/csv")])
        self.assertEqual(atts[0].get_payload(decode=True), b"time;error\n10:00;fire\n")
        srv.stop()

    def test_draft_with_attachment_updated_then_sent_reaches_the_customer_with_the_files(self):
        srv = self.start_server()
        self.imap.deliver(corpus("01_new_plain.eml"))
        self.add_mailbox(srv, acknowledge=False)
        ticket = wait_for(lambda: self.tickets(srv), 20, "a ticket from the mail")[0]
        pdf = b"%PDF-1.4\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
        csv = "Posten;Betrag\nDrucker;0,00\n".encode()
        up = [self.call(srv, M + "UploadAttachment", mail_pb2.UploadAttachmentRequest(data=d),
                        mail_pb2.UploadAttachmentResponse) for d in (pdf, csv)]

        def att(i, name, ctype):
            return tickets_pb2.Attachment(sha256=up[i].sha256, filename=name, content_type=ctype)

        # An unknown hash is refused when the draft is saved, not when it is sent.
        with self.assertRaises(grpc.RpcError) as cm:
            self.call(srv, T + "ReplyToTicket", tickets_pb2.ReplyToTicketRequest(
                ticket_id=ticket.id, body="Draft.", mode=tickets_pb2.REPLY_MODE_DRAFT,
                attachments=[att(0, "a.pdf", ""),
                             tickets_pb2.Attachment(sha256="cd" * 32, filename="x.pdf")]),
                tickets_pb2.ReplyToTicketResponse)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("attachments[1].sha256", cm.exception.details())
        self.assertEqual(len(self.get(srv, ticket.id).drafts), 0)

        r = self.call(srv, T + "ReplyToTicket", tickets_pb2.ReplyToTicketRequest(
            ticket_id=ticket.id, body="First try.", mode=tickets_pb2.REPLY_MODE_DRAFT,
            attachments=[att(0, "Gutschrift.pdf", "application/pdf")]),
            tickets_pb2.ReplyToTicketResponse)
        draft = r.draft
        self.assertEqual([(a.filename, a.size) for a in draft.attachments],
                         [("Gutschrift.pdf", len(pdf))])
        self.assertEqual([a.sha256 for a in self.get(srv, ticket.id).drafts[0].attachments],
                         [up[0].sha256])
        # A reviewer fixes the text (files kept), then adds the statement (files replaced).
        r = self.call(srv, T + "UpdateDraft", tickets_pb2.UpdateDraftRequest(
            ticket_id=ticket.id, draft_id=draft.id, body="Your credit note and statement."),
            tickets_pb2.ReplyToTicketResponse)
        self.assertEqual([a.filename for a in r.draft.attachments], ["Gutschrift.pdf"])
        r = self.call(srv, T + "UpdateDraft", tickets_pb2.UpdateDraftRequest(
            ticket_id=ticket.id, draft_id=draft.id, body="Your credit note and statement.",
            replace_attachments=True,
            attachments=[att(0, "Gutschrift.pdf", "application/pdf"),
                         att(1, "Kontoauszug März.csv", "text/csv")]),
            tickets_pb2.ReplyToTicketResponse)
        self.assertEqual([(a.filename, a.size) for a in r.draft.attachments],
                         [("Gutschrift.pdf", len(pdf)), ("Kontoauszug März.csv", len(csv))])
        self.assertEqual(self.smtp.messages, [])  # a draft sends nothing

        r = self.call(srv, T + "SendDraft", tickets_pb2.SendDraftRequest(
            ticket_id=ticket.id, draft_id=draft.id), tickets_pb2.ReplyToTicketResponse)
        self.assertEqual([(a.filename, a.size) for a in r.message.attachments],
                         [("Gutschrift.pdf", len(pdf)), ("Kontoauszug März.csv", len(csv))])
        got = self.smtp.wait_for(1, 20)
        self.assertEqual(len(got), 1)
        msg = email.message_from_bytes(got[0][2], policy=email.policy.default)
        self.assertEqual([(a.get_filename(), a.get_content_type(), a.get_payload(decode=True))
                          for a in msg.iter_attachments()],
                         [("Gutschrift.pdf", "application/pdf", pdf),
                          ("Kontoauszug März.csv", "text/csv", csv)])
        self.assertIn("Your credit note and statement.",
                      msg.get_body(("plain",)).get_content())
        th = self.get(srv, ticket.id)
        self.assertEqual(len(th.drafts), 0)
        self.assertEqual([a.sha256 for a in th.messages[-1].attachments],
                         [up[0].sha256, up[1].sha256])
        srv.stop()

    def test_customer_attachment_is_listed_readable_and_can_be_sent_on(self):
        srv = self.start_server()
        self.imap.deliver(corpus("17_rfc2047_subject_2231_filename.eml"))
        self.add_mailbox(srv, acknowledge=False)
        ticket = wait_for(lambda: self.tickets(srv), 20, "a ticket from the mail")[0]
        first = self.get(srv, ticket.id).messages[0]
        self.assertEqual([(a.filename, a.content_type) for a in first.attachments],
                         [("Rechnung über 100€.pdf", "application/pdf")])
        want = email.message_from_bytes(corpus("17_rfc2047_subject_2231_filename.eml"),
                                        policy=email.policy.default)
        pdf = next(want.iter_attachments()).get_content()
        got = self.call(srv, M + "GetAttachment",
                        mail_pb2.GetAttachmentRequest(sha256=first.attachments[0].sha256),
                        mail_pb2.GetAttachmentResponse)
        self.assertEqual(got.data, pdf)
        self.assertEqual(first.attachments[0].size, len(pdf))
        self.assertIn("[attachment: Rechnung über 100€.pdf, application/pdf, %d bytes, sha256 %s]"
                      % (len(pdf), first.attachments[0].sha256),
                      cli(srv, "ticket", "show", ticket.number))
        with self.assertRaises(grpc.RpcError) as cm:
            self.call(srv, M + "GetAttachment", mail_pb2.GetAttachmentRequest(sha256="00" * 32),
                      mail_pb2.GetAttachmentResponse)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        # Sent on to the customer (e.g. annotated back) by its hash, without a new upload.
        self.call(srv, T + "ReplyToTicket", tickets_pb2.ReplyToTicketRequest(
            ticket_id=ticket.id, body="Your invoice, stamped.",
            attachments=[tickets_pb2.Attachment(sha256=first.attachments[0].sha256,
                                                filename="invoice.pdf",
                                                content_type="application/pdf")]),
            tickets_pb2.ReplyToTicketResponse)
        sent = email.message_from_bytes(self.smtp.wait_for(1, 20)[0][2],
                                        policy=email.policy.default)
        self.assertEqual([a.get_content() for a in sent.iter_attachments()], [pdf])
        srv.stop()

    def test_unknown_hash_and_bad_uploads_are_refused_naming_the_field(self):
        srv = self.start_server()
        self.imap.deliver(corpus("01_new_plain.eml"))
        self.add_mailbox(srv, acknowledge=False)
        ticket = wait_for(lambda: self.tickets(srv), 20, "a ticket from the mail")[0]
        with self.assertRaises(grpc.RpcError) as cm:
            self.call(srv, T + "ReplyToTicket", tickets_pb2.ReplyToTicketRequest(
                ticket_id=ticket.id, body="See attached.",
                attachments=[tickets_pb2.Attachment(sha256="ab" * 32, filename="x.pdf")]),
                tickets_pb2.ReplyToTicketResponse)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("attachments[0].sha256", cm.exception.details())
        self.assertEqual(len(self.get(srv, ticket.id).messages), 1)  # nothing posted
        with self.assertRaises(grpc.RpcError) as cm:
            self.call(srv, M + "UploadAttachment",
                      mail_pb2.UploadAttachmentRequest(data=b"x" * (10 * 1024 * 1024 + 1)),
                      mail_pb2.UploadAttachmentResponse)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("data:", cm.exception.details())
        with self.assertRaises(grpc.RpcError) as cm:
            self.call(srv, M + "UploadAttachment", mail_pb2.UploadAttachmentRequest(),
                      mail_pb2.UploadAttachmentResponse)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        srv.stop()


class TestBounces(MailCase):
    def watch(self, srv):
        fn = srv.channel().unary_stream(
            T + "WatchTickets", request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=tickets_pb2.WatchTicketsResponse.FromString)
        call = fn(tickets_pb2.WatchTicketsRequest(),
                  metadata=[("authorization", "Bearer " + srv.token)], timeout=120)
        call.initial_metadata()  # sent once the watcher is subscribed: no later event missed
        q = queue.Queue()

        def pump():
            try:
                for r in call:
                    q.put(r)
            except grpc.RpcError as e:
                q.put(e)

        threading.Thread(target=pump, daemon=True).start()
        self.addCleanup(call.cancel)
        return q

    def outbox(self, srv):
        return list(self.call(srv, M + "ListOutbox", mail_pb2.ListOutboxRequest(),
                              mail_pb2.ListOutboxResponse).messages)

    def reply(self, srv, tid, body):
        return self.call(srv, T + "ReplyToTicket",
                         tickets_pb2.ReplyToTicketRequest(ticket_id=tid, body=body),
                         tickets_pb2.ReplyToTicketResponse)

    def test_permanent_bounce_shows_on_the_ticket_stops_mail_until_an_admin_clears_it(self):
        srv = self.start_server()
        self.imap.deliver(corpus("01_new_plain.eml"))
        self.add_mailbox(srv, acknowledge=False)
        ticket = wait_for(lambda: self.tickets(srv), 20, "a ticket from the mail")[0]
        self.reply(srv, ticket.id, "Please unplug it.")
        sent = email.message_from_bytes(self.smtp.wait_for(1, 20)[0][2],
                                        policy=email.policy.default)
        q = self.watch(srv)
        # The customer's server answers with a DSN that encloses our reply.
        self.imap.deliver(corpus("13_dsn_bounce.eml", TICKET=ticket.number,
                                 OWNID=sent["Message-ID"].strip("<> ")))

        def marked():
            t = self.get(srv, ticket.id).ticket
            return list(t.undeliverable) or None

        u = wait_for(marked, 20, "the undeliverable mark on the ticket")
        self.assertEqual(len(u), 1)
        self.assertEqual(u[0].address, "ann@customer.example")
        self.assertEqual(u[0].status, "5.1.1")
        self.assertEqual(u[0].reason, "550 5.1.1 user unknown")
        self.assertEqual(u[0].ticket_id, ticket.id)
        # Lists show the mark too, so a queue view can flag the ticket.
        listed = {t.id: [a.address for a in t.undeliverable] for t in self.tickets(srv)}
        self.assertEqual(listed[ticket.id], ["ann@customer.example"])
        # WatchTickets saw it as an event on the ticket.
        deadline = time.monotonic() + 20
        seen = None
        while seen is None and time.monotonic() < deadline:
            r = q.get(timeout=20)
            if isinstance(r, Exception):
                raise r
            for c in r.event.changes:
                if c.field == "undeliverable" and r.event.ticket_id == ticket.id:
                    seen = c
        self.assertIsNotNone(seen, "no undeliverable event on WatchTickets")
        self.assertEqual(seen.after, "ann@customer.example (5.1.1)")
        shown = cli(srv, "ticket", "show", ticket.number)
        self.assertIn("ann@customer.example (5.1.1 550 5.1.1 user unknown), no mail goes there",
                      shown)
        # A reply now is recorded but not mailed to the dead address.
        r = self.reply(srv, ticket.id, "Are you there?")
        self.assertEqual([a.address for a in r.ticket.undeliverable], ["ann@customer.example"])
        # Not queued; and not sent: the reply after the clear below is the next message
        # the sink gets (the outbox sends in order, so a queued "Are you there?" would
        # arrive first), and nothing else arrives before the server stops.
        self.assertEqual(self.outbox(srv), [])
        listed = self.call(srv, M + "ListUndeliverable", mail_pb2.ListUndeliverableRequest(),
                           mail_pb2.ListUndeliverableResponse)
        self.assertEqual([a.address for a in listed.addresses], ["ann@customer.example"])
        # An admin clears it: the ticket notes who did, and mail goes out again.
        cleared = self.call(srv, M + "ClearUndeliverable",
                            mail_pb2.ClearUndeliverableRequest(address="ann@customer.example"),
                            tickets_pb2.UndeliverableAddress)
        self.assertEqual(cleared.status, "5.1.1")
        th = self.get(srv, ticket.id)
        self.assertEqual(list(th.ticket.undeliverable), [])
        notes = [(c.before, c.after) for e in th.events for c in e.changes
                 if c.field == "undeliverable"]
        self.assertEqual(notes[-1], ("ann@customer.example (5.1.1)",
                                     "cleared: cleared by an admin"))
        with self.assertRaises(grpc.RpcError) as cm:
            self.call(srv, M + "ClearUndeliverable",
                      mail_pb2.ClearUndeliverableRequest(address="ann@customer.example"),
                      tickets_pb2.UndeliverableAddress)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.reply(srv, ticket.id, "Mail works again.")
        again = email.message_from_bytes(self.smtp.wait_for(2, 20)[1][2],
                                         policy=email.policy.default)
        self.assertIn("Mail works again.", again.get_body(("plain",)).get_content())
        srv.stop()
        self.assertEqual(len(self.smtp.messages), 2)


class TlsAuthSink(SmtpSink):
    """The sink behind STARTTLS (required) with AUTH PLAIN/LOGIN for user/password."""

    def __init__(self, crt, key, user, password):
        super().__init__()
        self.crt, self.key, self.user, self.password = crt, key, user, password
        self.logins = []

    def start(self):
        import ssl
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword
        sink = self
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.crt, self.key)

        def authenticator(server, session, envelope, mechanism, data):
            ok = (isinstance(data, LoginPassword) and data.login.decode() == sink.user and
                  data.password.decode() == sink.password)
            sink.logins.append((mechanism, ok, session.ssl is not None))
            return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 itself

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with sink._cv:
                    sink.messages.append(
                        (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
                    sink._cv.notify_all()
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                      tls_context=ctx, require_starttls=True,
                                      authenticator=authenticator, auth_required=True,
                                      auth_require_tls=True)
        self._controller.start()
        return self


class TestSmtpTlsAuth(harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="hd-smtp-tls-")
        cls.crt, cls.key = self_signed(cls.dir.name, "smtp")

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def call(self, srv, path, req, resp_cls):
        return unary(srv.channel(), path, req, resp_cls, token=srv.token)

    def setup_ticket(self, srv, password):
        sink = TlsAuthSink(self.crt, self.key, "relay-user", "relay-pass").start()
        self.addCleanup(sink.stop)
        # IMAP is not part of this test: the URL names a closed port.
        mb = mail_pb2.Mailbox(name="out", imap_url="imap://127.0.0.1:1", imap_username="x",
                              smtp_url=sink.url(), smtp_username="relay-user",
                              smtp_password=password, from_address="support@helpdesk.test",
                              tls=True, enabled=True)
        self.call(srv, M + "AddMailbox", mail_pb2.AddMailboxRequest(mailbox=mb), mail_pb2.Mailbox)
        t = self.call(srv, T + "CreateTicket", tickets_pb2.CreateTicketRequest(
            customer_email="ann@customer.example", subject="TLS", body="Hello",
            channel=common_pb2.CHANNEL_EMAIL), tickets_pb2.Ticket)
        self.call(srv, T + "ReplyToTicket",
                  tickets_pb2.ReplyToTicketRequest(ticket_id=t.id, body="Over TLS."),
                  tickets_pb2.ReplyToTicketResponse)
        return sink

    def test_starttls_and_auth_deliver_with_the_right_password(self):
        srv = self.start_server(env={"HELPDESK_MAIL_CA_FILE": self.crt})
        sink = self.setup_ticket(srv, "relay-pass")
        got = sink.wait_for(1, 20)
        self.assertEqual(got[0][1], ["ann@customer.example"])
        self.assertIn(b"Over TLS.", got[0][2])
        self.assertTrue(any(ok and tls for _, ok, tls in sink.logins), sink.logins)
        srv.stop()

    def test_wrong_password_is_dead_lettered_with_the_servers_answer(self):
        srv = self.start_server(env={"HELPDESK_MAIL_CA_FILE": self.crt})
        sink = self.setup_ticket(srv, "wrong")

        def dead():
            r = self.call(srv, M + "ListOutbox",
                          mail_pb2.ListOutboxRequest(state=mail_pb2.OUTBOX_STATE_DEAD),
                          mail_pb2.ListOutboxResponse)
            return list(r.messages)

        d = wait_for(dead, 30, "the dead letter")[0]
        self.assertEqual(d.attempts, 1)  # a refused login is permanent: no retry storm
        self.assertIn("authentication refused", d.last_error)
        self.assertIn("535", d.last_error)
        self.assertEqual(sink.messages, [])
        self.assertTrue(sink.logins and not any(ok for _, ok, _ in sink.logins))
        srv.stop()

    def test_untrusted_certificate_is_never_sent_to(self):
        srv = self.start_server(env={"HELPDESK_MAIL_BACKOFF_MS": "100",
                                     "HELPDESK_MAIL_MAX_ATTEMPTS": "2"})  # system CAs only
        sink = self.setup_ticket(srv, "relay-pass")

        def dead():
            r = self.call(srv, M + "ListOutbox",
                          mail_pb2.ListOutboxRequest(state=mail_pb2.OUTBOX_STATE_DEAD),
                          mail_pb2.ListOutboxResponse)
            return list(r.messages)

        d = wait_for(dead, 30, "the dead letter")[0]
        self.assertEqual(d.attempts, 2)
        self.assertEqual(sink.messages, [])
        self.assertEqual(sink.logins, [])  # no password went over an untrusted channel
        srv.stop()


if __name__ == "__main__":
    unittest.main()
