"""Server reflection as a stranger sees it: `buf curl` with no proto files on the client
lists the methods, then describes and calls them by reflection."""

import json
import os
import subprocess
import tempfile

from harness import BUF, GET, ServerTestCase, tickets_pb2, unary


class BufCurl(ServerTestCase):
    def setUp(self):
        self.assertTrue(os.access(BUF, os.X_OK), "buf not installed at %s" % BUF)
        self.s = self.start_server()
        # An empty working directory: no .proto files, no buf.yaml within reach.
        self.cwd = tempfile.TemporaryDirectory(prefix="hd-buf-")
        self.addCleanup(self.cwd.cleanup)

    def tearDown(self):
        self.s.stop()

    def buf(self, *args):
        env = dict(os.environ, BUF_CACHE_DIR=os.path.join(self.cwd.name, "cache"),
                   NO_COLOR="1")
        return subprocess.run(
            [BUF, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--timeout", "20s"]
            + list(args), capture_output=True, text=True, cwd=self.cwd.name, env=env,
            timeout=60)

    def url(self, method=""):
        return "http://%s/%s" % (self.s.address, method)

    def test_list_methods_by_reflection_v1_and_v1alpha(self):
        for proto in ("grpc-v1", "grpc-v1alpha"):
            with self.subTest(reflect_protocol=proto):
                p = self.buf("--reflect-protocol", proto, "--list-methods", self.url())
                self.assertEqual(p.returncode, 0, p.stderr)
                methods = set(p.stdout.split())
                for m in ("helpdesk.v1.TicketService/CreateTicket",
                          "helpdesk.v1.TicketService/GetTicket",
                          "helpdesk.v1.TicketService/ListTickets",
                          "helpdesk.v1.AdminService/GetStats",
                          "helpdesk.v1.AdminService/Backup",
                          "grpc.health.v1.Health/Check"):
                    self.assertIn(m, methods)

    def test_health_check_called_by_reflection(self):
        p = self.buf("-d", "{}", self.url("grpc.health.v1.Health/Check"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout), {"status": "SERVING"})

    def test_create_ticket_called_by_reflection_with_token_and_json(self):
        body = {"requestId": "buf-1", "customerEmail": "grace@example.com",
                "subject": "From buf curl", "body": "Hello", "priority": "PRIORITY_HIGH",
                "tags": ["cli"]}
        p = self.buf("-H", "authorization: Bearer " + self.s.token, "-d", json.dumps(body),
                     self.url("helpdesk.v1.TicketService/CreateTicket"))
        self.assertEqual(p.returncode, 0, p.stderr)
        t = json.loads(p.stdout)
        self.assertEqual(t["subject"], "From buf curl")
        self.assertEqual(t["priority"], "PRIORITY_HIGH")
        self.assertEqual(t["tags"], ["cli"])
        # Cross-check with the other client: the same ticket, seen through grpcio.
        r = unary(self.s.channel(), GET, tickets_pb2.GetTicketRequest(id=int(t["id"])),
                  tickets_pb2.GetTicketResponse, token=self.s.token)
        self.assertEqual(r.ticket.number, t["number"])

    def test_create_ticket_without_token_fails_unauthenticated(self):
        p = self.buf("-d", '{"subject": "x", "body": "y", "customerEmail": "a@b.c"}',
                     self.url("helpdesk.v1.TicketService/CreateTicket"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("unauthenticated", (p.stdout + p.stderr).lower())
