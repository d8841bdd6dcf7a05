"""Writes the seed corpus of requests_fuzz (corpus/<name>: method path, NUL, request
bytes). Re-run after adding request fields worth seeding:
    /usr/bin/python3 tests/fuzz/rpc/make_seeds.py"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))

from google.protobuf import field_mask_pb2  # noqa: E402

from harness import _PB, create_ticket_request, tickets_pb2  # noqa: E402

auth_pb2, admin_pb2 = _PB["auth"], _PB["admin"]
T = "/helpdesk.v1.TicketService/"
SEEDS = {
    "create": (T + "CreateTicket", create_ticket_request(request_id="r-1")),
    "create_tags": (T + "CreateTicket", tickets_pb2.CreateTicketRequest(
        request_id="r-2", customer_email="Bob@Example.com", subject="Ünïcode ✓",
        body="line1\nline2", tags=["billing", "vip"], priority=3)),
    "get": (T + "GetTicket", tickets_pb2.GetTicketRequest(number="TKT-000001")),
    "list": (T + "ListTickets", tickets_pb2.ListTicketsRequest(
        status=2, page_size=10, page_token="abc")),
    "update": (T + "UpdateTicket", tickets_pb2.UpdateTicketRequest(
        ticket=tickets_pb2.Ticket(id=1, subject="new", priority=4, tags=["a"]),
        update_mask=field_mask_pb2.FieldMask(paths=["subject", "priority", "tags"]))),
    "reply": (T + "ReplyToTicket", tickets_pb2.ReplyToTicketRequest(
        ticket_id=1, body="Thanks!", status_after=4)),
    "note": (T + "AddNote", tickets_pb2.AddNoteRequest(ticket_id=1, body="@ada look")),
    "rate": (T + "RateTicket", tickets_pb2.RateTicketRequest(ticket_id=1, comment="great")),
    "escalate": (T + "EscalateTicket", tickets_pb2.EscalateTicketRequest(
        ticket_id=1, reason=1, reason_text="angry", raise_priority=4)),
    "login": ("/helpdesk.v1.AuthService/Login", auth_pb2.LoginRequest(
        email="a@example.com", password="correct horse battery")),
    "api_token": ("/helpdesk.v1.AuthService/CreateApiToken", auth_pb2.CreateApiTokenRequest(
        name="billing", scopes=["tickets.read"])),
    "backup": ("/helpdesk.v1.AdminService/Backup", admin_pb2.BackupRequest(path="bk")),
}


def main():
    out = os.path.join(HERE, "corpus")
    os.makedirs(out, exist_ok=True)
    for name, (path, msg) in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(path.encode() + b"\0" + msg.SerializeToString())
    print("wrote %d seeds to %s" % (len(SEEDS), out))


if __name__ == "__main__":
    main()
