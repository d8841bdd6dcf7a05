"""Email channel benchmark: messages in a real Dovecot mailbox -> tickets in helpdeskd.

    HELPDESKD=bazel-out/k8-opt/bin/server/helpdeskd /usr/bin/python3 \
        tests/bench/mail/mail_bench.py [--messages 10000] [--latency-seconds 10 --rate 200]

Phase 1 (throughput): N messages are placed in INBOX before the mailbox is added; the clock
runs from AddMailbox until N tickets exist. Phase 2 (latency): messages are delivered at a
steady rate while the mailbox polls every second; each carries its delivery time, and the
ticket's create_time gives delivery-to-ticket latency (p50/p99/max). Prints one JSON line.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))

import harness  # noqa: E402
from harness import tickets_pb2, unary, wait_for  # noqa: E402
from mailpeers import Dovecot  # noqa: E402

mail_pb2 = harness._PB["mail"]


def message(i, t_ns):
    return ("From: Customer %d <c%d@customer.example>\r\nTo: support@helpdesk.test\r\n"
            "Subject: bench %d t=%d\r\nMessage-ID: <bench-%d-%d@customer.example>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nHello, message %d.\r\n" %
            (i % 1000, i % 1000, i, t_ns, i, t_ns, i)).encode()


def count_tickets(srv):
    n = 0
    token = ""
    out = []
    while True:
        r = unary(srv.channel(), "/helpdesk.v1.TicketService/ListTickets",
                  tickets_pb2.ListTicketsRequest(page_size=1000, page_token=token),
                  tickets_pb2.ListTicketsResponse, token=srv.token, timeout=60)
        n += len(r.tickets)
        out.extend(r.tickets)
        token = r.next_page_token
        if not token:
            return n, out


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--latency-seconds", type=float, default=10)
    ap.add_argument("--rate", type=float, default=200)
    args = ap.parse_args()
    res = {"messages": args.messages}
    with Dovecot() as imap:
        t0 = time.time()
        for i in range(args.messages):
            imap.deliver(message(i, 0))
        res["deliver_s"] = round(time.time() - t0, 2)
        srv = harness.Server(args=["--log-level", "warn"])
        srv.start()
        try:
            mb = mail_pb2.Mailbox(name="bench", imap_url=imap.url(), imap_username=imap.user,
                                  imap_password=imap.password, poll_interval_seconds=1,
                                  enabled=True, from_address="support@helpdesk.test")
            t1 = time.monotonic()
            unary(srv.channel(), "/helpdesk.v1.MailService/AddMailbox",
                  mail_pb2.AddMailboxRequest(mailbox=mb), mail_pb2.Mailbox, token=srv.token)

            def done():
                r = unary(srv.channel(), "/helpdesk.v1.MailService/ListMailboxes",
                          mail_pb2.ListMailboxesRequest(), mail_pb2.ListMailboxesResponse,
                          token=srv.token)
                return r.states and r.states[0].messages_ingested >= args.messages

            wait_for(done, 600, "all messages ingested", interval_s=0.05)
            el = time.monotonic() - t1
            n, _ = count_tickets(srv)
            res.update(ingest_s=round(el, 2), msg_per_s=round(args.messages / el, 1), tickets=n)
            # Phase 2: steady delivery, latency from delivery to ticket.
            base = n
            total = int(args.latency_seconds * args.rate)
            start = time.time()
            for i in range(total):
                due = start + i / args.rate
                now = time.time()
                if due > now:
                    time.sleep(due - now)  # pacing the producer, not synchronisation
                imap.deliver(message(args.messages + i, time.time_ns()))
            wait_for(lambda: count_tickets(srv)[0] >= base + total, 120, "latency phase",
                     interval_s=0.2)
            _, ts = count_tickets(srv)
            lat = []
            for t in ts:
                parts = t.subject.split(" t=")
                if len(parts) == 2 and parts[1] != "0":
                    created = t.create_time.seconds + t.create_time.nanos / 1e9
                    lat.append(created - int(parts[1]) / 1e9)
            res.update(latency_messages=len(lat), poll_interval_s=1,
                       latency_p50_s=round(pct(lat, 50), 3), latency_p99_s=round(pct(lat, 99), 3),
                       latency_max_s=round(max(lat), 3))
            with open("/proc/%d/status" % srv.proc.pid) as f:
                for line in f:
                    if line.startswith("VmHWM"):
                        res["server_peak_rss_kb"] = int(line.split()[1])
            srv.stop()
        finally:
            srv.cleanup()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
