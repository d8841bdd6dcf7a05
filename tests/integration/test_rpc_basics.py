"""The serving layer seen from a real gRPC client: health, unknown methods, malformed
requests and authentication."""

import grpc

from harness import (CREATE, GET, HEALTH, STATS, ServerTestCase, admin_pb2,
                     create_ticket_request, health_pb2, raw_unary, tickets_pb2, unary)

# Field 1, length-delimited, claims 2^35 bytes that never come: no protobuf parser
# accepts it.
GARBAGE = b"\x0a\xff\xff\xff\xff\x7f\x01\x02"


class RpcBasics(ServerTestCase):
    def setUp(self):
        self.s = self.start_server()
        self.ch = self.s.channel()

    def tearDown(self):
        self.s.stop()

    def assertCode(self, code, fn, *args, **kw):
        with self.assertRaises(grpc.RpcError) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        return cm.exception

    def test_health_check_reports_serving_without_a_token(self):
        r = unary(self.ch, HEALTH, health_pb2.HealthCheckRequest(),
                  health_pb2.HealthCheckResponse)
        self.assertEqual(r.status, health_pb2.HealthCheckResponse.SERVING)

    def test_first_start_creates_an_admin_token(self):
        self.assertTrue(self.s.token, "no admin.token in the data dir")
        self.assertGreaterEqual(len(self.s.token), 16)

    def test_unknown_method_is_unimplemented(self):
        for path in ("/helpdesk.v1.TicketService/NoSuchMethod", "/no.such.Service/Call"):
            for token in (None, self.s.token):
                with self.subTest(path=path, token=bool(token)):
                    self.assertCode(grpc.StatusCode.UNIMPLEMENTED, raw_unary, self.ch, path,
                                    b"", token=token)

    def test_malformed_request_bytes_are_invalid_argument(self):
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, raw_unary, self.ch, CREATE,
                        GARBAGE, token=self.s.token)
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, raw_unary, self.ch, HEALTH, GARBAGE)

    def test_server_still_serves_after_malformed_requests(self):
        for _ in range(20):
            self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, raw_unary, self.ch, GET,
                            GARBAGE, token=self.s.token)
        t = unary(self.ch, CREATE, create_ticket_request(), tickets_pb2.Ticket,
                  token=self.s.token)
        self.assertGreater(t.id, 0)

    def test_call_without_token_is_unauthenticated(self):
        self.assertCode(grpc.StatusCode.UNAUTHENTICATED, unary, self.ch, CREATE,
                        create_ticket_request(), tickets_pb2.Ticket)
        self.assertCode(grpc.StatusCode.UNAUTHENTICATED, unary, self.ch, STATS,
                        admin_pb2.GetStatsRequest(), admin_pb2.Stats)

    def test_call_with_wrong_token_is_unauthenticated(self):
        wrong = "x" + self.s.token[1:] if not self.s.token.startswith("x") else "y" + self.s.token[1:]
        for token in (wrong, "", "not-a-token", self.s.token + "0"):
            with self.subTest(token=token):
                self.assertCode(grpc.StatusCode.UNAUTHENTICATED, unary, self.ch, CREATE,
                                create_ticket_request(), tickets_pb2.Ticket, token=token)

    def test_authorization_without_bearer_scheme_is_unauthenticated(self):
        self.assertCode(grpc.StatusCode.UNAUTHENTICATED, unary, self.ch, CREATE,
                        create_ticket_request(), tickets_pb2.Ticket,
                        metadata=[("authorization", "Basic " + self.s.token)])
