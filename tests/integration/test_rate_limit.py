"""Per-caller rate limits (--rate-limit/--rate-burst) and token expiry against a live
helpdeskd: a caller past its burst gets RESOURCE_EXHAUSTED naming the limit and the wait,
other callers and open methods are unaffected, the bucket refills; an API token stops
working as soon as its expire_time passes."""

import time

import grpc
from google.protobuf import timestamp_pb2

from harness import HEALTH, LIST, ServerTestCase, _PB, health_pb2, tickets_pb2, unary

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
        # Calls in a row until the first refusal: the burst (3) plus whatever the bucket
        # refilled (2/s) between the first call's sending and the refusal's answer, so a
        # slow machine widens the count by exactly its own elapsed time.
        t0 = time.monotonic()
        admitted = 0
        for _ in range(100):  # bounded: at most 3 + 2/s of calls are admitted
            try:
                self.list(self.s.token)
                admitted += 1
            except grpc.RpcError as err:
                e = err
                break
        else:
            self.fail("100 calls in a row admitted at 2 calls/s, burst 3")
        refused_at = time.monotonic()
        self.assertEqual(e.code(), C.RESOURCE_EXHAUSTED)
        self.assertGreaterEqual(admitted, 3)
        self.assertLessEqual(admitted, 3 + int(2 * (refused_at - t0)),
                             "%d calls admitted in %.3f s" % (admitted, refused_at - t0))
        d = e.details()
        self.assertIn("rate limit exceeded: 2 calls/s, burst 3 per caller", d)
        self.assertRegex(d, r"retry after [0-9]+ ms")
        wait_ms = int(d.rsplit("retry after ", 1)[1].split()[0])
        self.assertTrue(0 < wait_ms <= 500, d)
        # Open methods carry no identity and are not limited.
        for _ in range(10):
            unary(self.ch, HEALTH, health_pb2.HealthCheckRequest(),
                  health_pb2.HealthCheckResponse)
        # The bucket refills at the configured rate: once the wait the refusal named has
        # passed (counted from its answer, which the server sent after deciding it), the
        # next call is admitted, however long anything took.
        time.sleep(max(0.0, refused_at + wait_ms / 1000 - time.monotonic()))
        self.list(self.s.token)

    def test_callers_are_limited_separately(self):
        other = unary(self.ch, AU + "CreateApiToken",
                      auth_pb2.CreateApiTokenRequest(name="other", scopes=["tickets.read"]),
                      auth_pb2.LoginResponse, token=self.s.token).token
        for _ in range(100):  # bounded: the burst is 3 and refills at 2/s
            if not self._ok(self.s.token):
                break
        else:
            self.fail("100 calls in a row admitted at 2 calls/s, burst 3")
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
        unary(ch, HEALTH, health_pb2.HealthCheckRequest(), health_pb2.HealthCheckResponse)
        expire = time.time() + 1.5
        ts = timestamp_pb2.Timestamp(seconds=int(expire), nanos=int((expire % 1) * 1e9))
        tok = unary(ch, AU + "CreateApiToken",
                    auth_pb2.CreateApiTokenRequest(name="short", scopes=["tickets.read"],
                                                   expire_time=ts),
                    auth_pb2.LoginResponse, token=s.token).token
        req = tickets_pb2.ListTicketsRequest(page_size=1)

        def attempt():
            """(sent, answered, None if admitted else the refusal's detail), in the wall
            clock the server compares expire_time with (same machine)."""
            sent = time.time()
            try:
                unary(ch, LIST, req, tickets_pb2.ListTicketsResponse, token=tok)
                return sent, time.time(), None
            except grpc.RpcError as e:
                self.assertEqual(e.code(), C.UNAUTHENTICATED, e.details())
                return sent, time.time(), e.details()

        # The server decides each call between its sending and its answer: a call answered
        # before expire_time must be admitted, one sent after it refused. Calls straddling
        # it may go either way; a slow machine only makes more of them straddle.
        tries = []
        for _ in range(1000):  # bounded: ~1.5 s of calls 20 ms apart, then the first refusal
            tries.append(attempt())
            if tries[-1][2] is not None and tries[-1][0] >= expire:
                break
            time.sleep(0.02)
        for sent, answered, refusal in tries:
            if answered < expire:
                self.assertIsNone(refusal, "refused %.3f s before expire_time" %
                                  (expire - answered))
            if sent >= expire:
                self.assertIsNotNone(refusal, "admitted %.3f s after expire_time" %
                                     (sent - expire))
        self.assertTrue(any(a < expire for _, a, _ in tries), "no call answered before "
                        "expire_time: the machine took over 1.5 s for two calls")
        self.assertIn("expired", tries[-1][2])
        for _ in range(3):
            self.assertIsNotNone(attempt()[2])
        s.stop()
