"""Per-caller rate limits (--rate-limit/--rate-burst) and token expiry against a live
helpdeskd: a caller past its burst gets RESOURCE_EXHAUSTED naming the limit and the wait,
other callers and open methods are unaffected, the bucket refills; an API token stops
working as soon as its expire_time passes."""

import time

import grpc
from google.protobuf import timestamp_pb2

from harness import (HEALTH, LIST, ServerTestCase, _PB, health_pb2, tickets_pb2, unary,
                     wait_for)

auth_pb2 = _PB["auth"]
AU = "/helpdesk.v1.AuthService/"
C = grpc.StatusCode


class RateLimit(ServerTestCase):
    def setUp(self):
        # 2 calls/s, burst 3: the 4th call in a row is refused; one token per 500 ms.
        self.s = self.start_server(args=["--rate-limit", "2/s", "--rate-burst", "3"])
        self.ch = self.s.channel()

    def tearDown(self):
        self.s.stop()

    def list(self, token):
        return unary(self.ch, LIST, tickets_pb2.ListTicketsRequest(page_size=1),
                     tickets_pb2.ListTicketsResponse, token=token)

    def test_caller_past_its_burst_gets_resource_exhausted_with_limit_and_wait(self):
        for _ in range(3):
            self.list(self.s.token)
        with self.assertRaises(grpc.RpcError) as e:
            self.list(self.s.token)
        self.assertEqual(e.exception.code(), C.RESOURCE_EXHAUSTED)
        d = e.exception.details()
        self.assertIn("rate limit exceeded: 2 calls/s, burst 3 per caller", d)
        self.assertRegex(d, r"retry after [0-9]+ ms")
        wait_ms = int(d.rsplit("retry after ", 1)[1].split()[0])
        self.assertTrue(0 < wait_ms <= 500, d)
        # Open methods carry no identity and are not limited.
        for _ in range(10):
            unary(self.ch, HEALTH, health_pb2.HealthCheckRequest(),
                  health_pb2.HealthCheckResponse)
        # The bucket refills at the configured rate: a call succeeds again within ~500 ms.
        t0 = time.monotonic()
        wait_for(lambda: self._ok(self.s.token), 5, "a call admitted after the refill",
                 interval_s=0.05)
        self.assertLess(time.monotonic() - t0, 2.0)

    def test_callers_are_limited_separately(self):
        other = unary(self.ch, AU + "CreateApiToken",
                      auth_pb2.CreateApiTokenRequest(name="other", scopes=["tickets.read"]),
                      auth_pb2.LoginResponse, token=self.s.token).token
        while self._ok(self.s.token):
            pass  # bounded: the burst is 3 and refills at 2/s
        self.list(other)

    def _ok(self, token):
        try:
            self.list(token)
            return True
        except grpc.RpcError as e:
            if e.code() != C.RESOURCE_EXHAUSTED:
                raise
            return False


class TokenExpiry(ServerTestCase):
    def test_api_token_is_refused_as_soon_as_it_expires(self):
        s = self.start_server()
        ch = s.channel()
        expire = time.time() + 1.5
        ts = timestamp_pb2.Timestamp(seconds=int(expire), nanos=int((expire % 1) * 1e9))
        tok = unary(ch, AU + "CreateApiToken",
                    auth_pb2.CreateApiTokenRequest(name="short", scopes=["tickets.read"],
                                                   expire_time=ts),
                    auth_pb2.LoginResponse, token=s.token).token
        req = tickets_pb2.ListTicketsRequest(page_size=1)
        unary(ch, LIST, req, tickets_pb2.ListTicketsResponse, token=tok)

        def refused():
            try:
                unary(ch, LIST, req, tickets_pb2.ListTicketsResponse, token=tok)
                return False
            except grpc.RpcError as e:
                self.assertEqual(e.code(), C.UNAUTHENTICATED)
                return e.details()

        detail = wait_for(refused, 10, "the expired token refused", interval_s=0.05)
        self.assertLess(time.time() - expire, 0.5, "refused late")
        self.assertIn("expired", detail)
        for _ in range(3):
            self.assertTrue(refused())
        s.stop()
