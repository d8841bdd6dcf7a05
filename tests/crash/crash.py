"""Shared pieces of the kill -9 suites: a write load that records what was acknowledged,
the offline invariant check (helpdeskd --check) and exactly-once verification."""

import os
import random
import subprocess
import threading

import grpc

from harness import (CREATE, GET, HELPDESKD, LIST, create_ticket_request, sanitizer_env,
                     tickets_pb2, unary)

REPLY = "/helpdesk.v1.TicketService/ReplyToTicket"
# Small initial map: the store grows (remaps) many times during the load, so kills also
# land during map growth.
SERVER_ARGS = ["--map-start", "128K"]


def check_store(testcase, data_dir):
    """Runs helpdeskd --check on a stopped server's data dir; fails the test with its
    report unless every invariant holds."""
    p = subprocess.run([HELPDESKD, "--data", data_dir, "--check", "--log-level", "warn"],
                       capture_output=True, text=True, timeout=120,
                       env=sanitizer_env(dict(os.environ)), stdin=subprocess.DEVNULL)
    testcase.assertEqual(p.returncode, 0, "helpdeskd --check:\n%s\n%s" % (p.stdout, p.stderr))
    testcase.assertIn(" 0 problems", p.stdout)
    return p.stdout


class Ledger:
    """What the clients were told: acknowledged creates (request id -> ticket id) and
    replies (body, also their request id -> ticket id), and the writes whose outcome is
    unknown."""

    def __init__(self):
        self.lock = threading.Lock()
        self.created = {}
        self.unacked_creates = set()
        self.replies = {}
        self.unacked_replies = {}
        self.acks = 0


class WriteLoad:
    """Threads writing until stop() or until the server goes away. 70% CreateTicket with a
    unique request id, 30% ReplyToTicket with a unique body, used as its request id too, on an
    acknowledged ticket."""

    def __init__(self, channel, token, ledger, tag, threads=4, seed=0):
        self.ch, self.token, self.ledger, self.tag = channel, token, ledger, tag
        self.stop_ev = threading.Event()
        self.rng = random.Random(seed)
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(30)

    def _run(self, i):
        n = 0
        led = self.ledger
        while not self.stop_ev.is_set() and n < 100000:
            n += 1
            key = "%s-%d-%d" % (self.tag, i, n)
            with led.lock:
                targets = list(led.created.values())[-50:]
            if targets and self.rng.random() < 0.3:
                tid = self.rng.choice(targets)
                body = "reply " + key
                try:
                    reply(self.ch, self.token, tid, body, timeout=5)
                except grpc.RpcError:
                    with led.lock:
                        led.unacked_replies[body] = tid
                    return
                with led.lock:
                    led.replies[body] = tid
                    led.acks += 1
            else:
                try:
                    t = unary(self.ch, CREATE, create_ticket_request(
                        request_id=key, subject="crash " + key), tickets_pb2.Ticket,
                        token=self.token, timeout=5)
                except grpc.RpcError:
                    with led.lock:
                        led.unacked_creates.add(key)
                    return
                with led.lock:
                    led.created[key] = t.id
                    led.acks += 1


def reply(ch, token, tid, body, timeout=20):
    """ReplyToTicket with request id = body; returns the posted (or first) message's id."""
    return unary(ch, REPLY, tickets_pb2.ReplyToTicketRequest(ticket_id=tid, body=body,
                                                             request_id=body),
                 tickets_pb2.ReplyToTicketResponse, token=token, timeout=timeout).message.id


def retry_create(ch, token, key):
    return unary(ch, CREATE, create_ticket_request(request_id=key, subject="crash " + key),
                 tickets_pb2.Ticket, token=token, timeout=20).id


def all_subjects(ch, token):
    """Every ticket's subject (paged ListTickets), as a list (duplicates kept)."""
    out, page = [], ""
    for _ in range(100000):
        r = unary(ch, LIST, tickets_pb2.ListTicketsRequest(page_size=1000, page_token=page),
                  tickets_pb2.ListTicketsResponse, token=token)
        out.extend(t.subject for t in r.tickets)
        page = r.next_page_token
        if not page:
            return out
    raise AssertionError("ListTickets did not end")


def message_bodies(ch, token, tid):
    r = unary(ch, GET, tickets_pb2.GetTicketRequest(id=tid), tickets_pb2.GetTicketResponse,
              token=token)
    return [m.body for m in r.messages]
