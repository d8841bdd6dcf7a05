"""The mailbox's reopen grace end to end, through a real Dovecot and helpdeskd: mail ->
ticket -> closed -> the customer's reply within the grace reopens the same ticket (status
OPEN, the reply appended, close_time cleared); with grace 0 the same reply opens a new
ticket linked to the closed one (follow_up_of), which stays closed.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import common_pb2, tickets_pb2, wait_for  # noqa: E402
from test_mail import MailCase, T, plain  # noqa: E402

from google.protobuf import field_mask_pb2  # noqa: E402

FIRST = plain("ann@customer.example", "Printer on fire", "It is on fire.",
              "first-1@customer.example")
REPLY = plain("ann@customer.example", "Re: Printer on fire", "It is burning again.",
              "reply-1@customer.example", in_reply_to="first-1@customer.example")


class TestReopenGrace(MailCase):
    def close(self, srv, tid):
        t = self.call(srv, T + "UpdateTicket", tickets_pb2.UpdateTicketRequest(
            ticket=tickets_pb2.Ticket(id=tid, status=common_pb2.TICKET_STATUS_CLOSED),
            update_mask=field_mask_pb2.FieldMask(paths=["status"])), tickets_pb2.Ticket)
        self.assertEqual(t.status, common_pb2.TICKET_STATUS_CLOSED)
        self.assertTrue(t.HasField("close_time"))
        return t

    def first_ticket(self, srv, grace):
        self.imap.deliver(FIRST)
        self.add_mailbox(srv, acknowledge=False, reopen_grace_seconds=grace)
        t = wait_for(lambda: self.tickets(srv), 30, "the first mail's ticket")[0]
        self.assertEqual(t.channel, common_pb2.CHANNEL_EMAIL)
        self.close(srv, t.id)
        return t

    def test_reply_within_grace_reopens_the_closed_ticket(self):
        srv = self.start_server()
        t = self.first_ticket(srv, 3600)
        self.imap.deliver(REPLY)
        th = wait_for(lambda: (lambda g: g if len(g.messages) >= 2 else None)(
            self.get(srv, t.id)), 30, "the reply on the closed ticket")
        self.assertEqual(th.ticket.status, common_pb2.TICKET_STATUS_OPEN)
        self.assertFalse(th.ticket.HasField("close_time"))
        self.assertEqual(th.messages[-1].body, "It is burning again.")
        ev = th.events[-1]
        self.assertEqual(ev.kind, tickets_pb2.TICKET_EVENT_KIND_MESSAGE_ADDED)
        changes = {c.field: (c.before, c.after) for c in ev.changes}
        self.assertEqual(changes["status"], ("TICKET_STATUS_CLOSED", "TICKET_STATUS_OPEN"))
        self.assertRegex(changes["reopened"][1], r"^customer reply \d+ s after closing "
                         r"\(grace 3600 s\)$")
        self.assertEqual(len(self.tickets(srv)), 1)
        srv.stop()

    def test_with_grace_zero_the_reply_opens_a_linked_follow_up(self):
        srv = self.start_server()
        t = self.first_ticket(srv, 0)
        self.imap.deliver(REPLY)
        both = wait_for(lambda: (lambda l: l if len(l) == 2 else None)(self.tickets(srv)), 30,
                        "the follow-up ticket")
        new = [x for x in both if x.id != t.id][0]
        self.assertEqual(new.follow_up_of, t.id)
        self.assertEqual(new.subject, "Printer on fire")
        th = self.get(srv, new.id)
        self.assertEqual(th.messages[0].body, "It is burning again.")
        old = self.get(srv, t.id)
        self.assertEqual(old.ticket.status, common_pb2.TICKET_STATUS_CLOSED)
        self.assertTrue(old.ticket.HasField("close_time"))
        self.assertEqual(len(old.messages), 1)
        srv.stop()
