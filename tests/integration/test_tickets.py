"""TicketService through a real client: create, read back, idempotency, and a load of
10,000 calls on 64 concurrent streams."""

import concurrent.futures
import random
import threading
import time

import grpc

from harness import (CREATE, GET, LIST, ServerTestCase, common_pb2, create_ticket_request,
                     slow, tickets_pb2, unary, unary_future)


class Tickets(ServerTestCase):
    def setUp(self):
        self.s = self.start_server()
        self.ch = self.s.channel()

    def tearDown(self):
        self.s.stop()

    def create(self, **kw):
        return unary(self.ch, CREATE, create_ticket_request(**kw), tickets_pb2.Ticket,
                     token=self.s.token)

    def get(self, **kw):
        return unary(self.ch, GET, tickets_pb2.GetTicketRequest(**kw),
                     tickets_pb2.GetTicketResponse, token=self.s.token)

    def test_create_then_get_returns_the_same_ticket_and_first_message(self):
        t = self.create(subject="Cannot log in", body="Password reset mail never arrives.")
        self.assertGreater(t.id, 0)
        self.assertTrue(t.number.startswith("TKT-"), t.number)
        self.assertEqual(t.subject, "Cannot log in")
        self.assertEqual(t.status, common_pb2.TICKET_STATUS_NEW)
        self.assertEqual(t.priority, common_pb2.PRIORITY_NORMAL)
        self.assertEqual(t.channel, common_pb2.CHANNEL_API)
        self.assertGreater(t.customer_id, 0)
        self.assertGreater(t.create_time.seconds, 1700000000)
        r = self.get(id=t.id)
        self.assertEqual(r.ticket, t)
        self.assertEqual(len(r.messages), 1)
        self.assertEqual(r.messages[0].body, "Password reset mail never arrives.")
        self.assertEqual(r.messages[0].ticket_id, t.id)
        self.assertEqual(self.get(number=t.number).ticket.id, t.id)

    def test_get_of_a_missing_ticket_is_not_found(self):
        with self.assertRaises(grpc.RpcError) as cm:
            self.get(id=987654321)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_create_with_the_same_request_id_twice_returns_the_first_ticket(self):
        a = self.create(request_id="req-42", subject="Refund")
        b = self.create(request_id="req-42", subject="Refund")
        c = self.create(request_id="req-43", subject="Refund")
        self.assertEqual(a.id, b.id)
        self.assertEqual(a.number, b.number)
        self.assertNotEqual(a.id, c.id)

    def test_create_request_id_reused_for_another_subject_is_invalid_argument(self):
        first = self.create(request_id="req-77", subject="Refund", body="Order 77, twice.")
        again = self.create(request_id="req-77", subject="Refund", body="Order 77, twice.")
        self.assertEqual(again, first)
        with self.assertRaises(grpc.RpcError) as cm:
            self.create(request_id="req-77", subject="Invoice address", body="Order 77, twice.")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn('request_id "req-77": already used for another ticket; a new ticket '
                      'needs a new id', cm.exception.details())
        # Nothing was created for the refused call; the true retry still gets the first.
        listed = unary(self.ch, LIST, tickets_pb2.ListTicketsRequest(page_size=10),
                       tickets_pb2.ListTicketsResponse, token=self.s.token)
        self.assertEqual([t.id for t in listed.tickets], [first.id])
        self.assertEqual(self.create(request_id="req-77", subject="Refund",
                                     body="Order 77, twice.").id, first.id)

    def test_add_note_retried_after_a_lost_response_adds_one_note(self):
        t = self.create(subject="Printer jam")
        note = "/helpdesk.v1.TicketService/AddNote"
        req = tickets_pb2.AddNoteRequest(ticket_id=t.id, body="Checked the spooler",
                                         request_id="note-7f1c")
        # The first attempt's response is lost: the client gives up on it once it is sent,
        # whether or not the server has added the note yet.
        lost = unary_future(self.ch, note, req, tickets_pb2.Note, token=self.s.token)
        lost.cancel()
        first = unary(self.ch, note, req, tickets_pb2.Note, token=self.s.token)
        again = unary(self.ch, note, req, tickets_pb2.Note, token=self.s.token)
        self.assertEqual(again, first)
        self.assertEqual(first.body, "Checked the spooler")
        notes = self.get(id=t.id).notes
        self.assertEqual([n.id for n in notes], [first.id])
        # The same id for a different note is refused, naming the field.
        with self.assertRaises(grpc.RpcError) as cm:
            unary(self.ch, note, tickets_pb2.AddNoteRequest(
                ticket_id=t.id, body="Something else", request_id="note-7f1c"),
                tickets_pb2.Note, token=self.s.token)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn('request_id "note-7f1c": already used for another note',
                      cm.exception.details())
        self.assertEqual(len(self.get(id=t.id).notes), 1)

    def test_reply_request_id_reused_for_another_body_is_invalid_argument(self):
        t = self.create(subject="Printer jam")
        reply = "/helpdesk.v1.TicketService/ReplyToTicket"

        def send(body):
            return unary(self.ch, reply, tickets_pb2.ReplyToTicketRequest(
                ticket_id=t.id, body=body, request_id="reply-9"),
                tickets_pb2.ReplyToTicketResponse, token=self.s.token)
        first = send("On it")
        self.assertEqual(send("On it").message, first.message)
        with self.assertRaises(grpc.RpcError) as cm:
            send("Something else")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn('request_id "reply-9": already used for another reply',
                      cm.exception.details())
        self.assertEqual(len(self.get(id=t.id).messages), 2)

    def test_create_without_subject_is_invalid_argument(self):
        with self.assertRaises(grpc.RpcError) as cm:
            self.create(subject="")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_list_shows_created_tickets_newest_first(self):
        ids = [self.create(subject="s%d" % i).id for i in range(3)]
        r = unary(self.ch, LIST, tickets_pb2.ListTicketsRequest(page_size=10),
                  tickets_pb2.ListTicketsResponse, token=self.s.token)
        self.assertEqual([t.id for t in r.tickets], list(reversed(ids)))

    @slow
    def test_ten_thousand_calls_on_64_concurrent_streams_all_succeed(self):
        total, streams = 10000, 64
        seed = [self.create(request_id="seed-%d" % i, subject="seed %d" % i)
                for i in range(streams)]
        known = [t.id for t in seed]
        lock = threading.Lock()
        counter = iter(range(total))
        errors = []
        created = []

        def worker(w):
            rng = random.Random(w)
            done = 0
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return done
                try:
                    if i % 4 == 0:
                        t = self.create(request_id="load-%d" % i, subject="load %d" % i)
                        with lock:
                            created.append(t.id)
                    else:
                        want = rng.choice(known)
                        got = self.get(id=want).ticket.id
                        if got != want:
                            raise AssertionError("GetTicket(%d) returned %d" % (want, got))
                except Exception as e:  # noqa: BLE001 - every failure is collected
                    with lock:
                        errors.append("call %d: %r" % (i, e))
                done += 1

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=streams) as pool:
            done = sum(pool.map(worker, range(streams)))
        secs = time.monotonic() - t0
        print("\n  load: %d calls, %d streams, %.2fs, %.0f calls/s " %
              (done, streams, secs, done / secs), end="")
        self.assertEqual(errors[:5], [])
        self.assertEqual(done, total)
        self.assertEqual(len(set(created)), total // 4, "CreateTicket ids not unique")
