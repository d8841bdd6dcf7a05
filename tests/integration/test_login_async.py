"""Logins off the RPC workers, and login throttling, against a live helpdeskd with 2 workers:
8 concurrent logins (argon2id each) must not stall GetTicket or Health.Check; repeated
failures for one account are refused with RESOURCE_EXHAUSTED naming the wait (and still
refused after a restart); a flood of logins beyond the pool's queue is refused at once."""

import statistics
import time

import grpc

from harness import (CREATE, GET, HEALTH, ServerTestCase, _PB, create_ticket_request,
                     health_pb2, tickets_pb2, unary, unary_future)

auth_pb2 = _PB["auth"]
staff_pb2 = _PB["staff"]
LOGIN = "/helpdesk.v1.AuthService/Login"
C = grpc.StatusCode
PW = "correct horse battery"


class LoginAsync(ServerTestCase):
    def setUp(self):
        self.s = self.start_server(args=["--workers", "2", "--unsafe-nosync"])
        self.ch = self.s.channel()
        unary(self.ch, "/helpdesk.v1.StaffService/CreateStaff",
              staff_pb2.CreateStaffRequest(email="ann@example.com", name="Ann", role=3,
                                           password=PW),
              staff_pb2.Staff, token=self.s.token)

    def tearDown(self):
        self.s.stop()

    def login(self, pw=PW, email="ann@example.com"):
        return unary(self.ch, LOGIN, auth_pb2.LoginRequest(email=email, password=pw),
                     auth_pb2.LoginResponse)

    def test_concurrent_logins_do_not_block_get_ticket_or_health(self):
        t = unary(self.ch, CREATE, create_ticket_request(), tickets_pb2.Ticket,
                  token=self.s.token)
        get = tickets_pb2.GetTicketRequest(id=t.id)
        unary(self.ch, GET, get, tickets_pb2.GetTicketResponse, token=self.s.token)  # warm
        # Baseline: the time of 8 logins one after the other on this machine and build.
        t0 = time.monotonic()
        for _ in range(8):
            self.login()
        serial_s = time.monotonic() - t0
        logins = [unary_future(self.ch, LOGIN, auth_pb2.LoginRequest(
            email="ann@example.com", password=PW), auth_pb2.LoginResponse) for _ in range(8)]
        lat = []
        during = 0
        for _ in range(1000):  # bounded; stops once every login finished
            if all(f.done() for f in logins):
                break
            a = time.monotonic()
            unary(self.ch, GET, get, tickets_pb2.GetTicketResponse, token=self.s.token)
            unary(self.ch, HEALTH, health_pb2.HealthCheckRequest(),
                  health_pb2.HealthCheckResponse)
            lat.append((time.monotonic() - a) * 1000)
            during += 1
        for f in logins:
            self.assertTrue(f.result().token.startswith("hd_"))
        lat.sort()
        p50 = statistics.median(lat)
        worst = lat[-1]
        print("\n8 concurrent logins (serial %.0f ms): %d GetTicket+Health pairs meanwhile, "
              "p50 %.2f ms, max %.2f ms" % (serial_s * 1000, during, p50, worst))
        # Blocked workers would let almost nothing through and make each call wait for an
        # argon2id run (serial_s / 8 per login); served workers answer many times meanwhile.
        self.assertGreaterEqual(during, 5)
        self.assertLess(p50, serial_s * 1000 / 8 / 2)

    def test_repeated_failures_are_throttled_and_survive_a_restart(self):
        for _ in range(5):
            with self.assertRaises(grpc.RpcError) as e:
                self.login(pw="wrong password")
            self.assertEqual(e.exception.code(), C.UNAUTHENTICATED)
        with self.assertRaises(grpc.RpcError) as e:
            self.login()
        self.assertEqual(e.exception.code(), C.RESOURCE_EXHAUSTED)
        self.assertRegex(e.exception.details(), r"too many failed attempts.*retry in [0-9]+ s")
        # Other accounts are unaffected; the audit trail has the failures.
        with self.assertRaises(grpc.RpcError) as e:
            self.login(email="bob@example.com")
        self.assertEqual(e.exception.code(), C.UNAUTHENTICATED)
        self.s.stop()
        self.s = self.start_server(data_dir=self.s.data_dir, args=["--workers", "2"])
        self.ch = self.s.channel()
        # The restart may outlast the 1 s delay; either way the count survived: the next
        # failure that is let through is the 6th, after which the wait is 2 s (a fresh count
        # would allow 4 more failures).
        code = None
        for _ in range(100):  # bounded: the 1 s delay passes within a few polls
            try:
                self.login(pw="wrong password")
            except grpc.RpcError as e:
                code = e.code()
            if code == C.UNAUTHENTICATED:
                break
            time.sleep(0.1)
        self.assertEqual(code, C.UNAUTHENTICATED)
        with self.assertRaises(grpc.RpcError) as e:
            self.login()
        self.assertEqual(e.exception.code(), C.RESOURCE_EXHAUSTED)
        self.assertIn("retry in 2 s", e.exception.details())

    def test_a_login_flood_beyond_the_queue_is_refused_at_once(self):
        fs = [unary_future(self.ch, LOGIN, auth_pb2.LoginRequest(
            email="ann@example.com", password=PW), auth_pb2.LoginResponse) for _ in range(150)]
        codes = {}
        for f in fs:
            try:
                f.result()
                code = C.OK
            except grpc.RpcError as e:
                code = e.code()
                if code == C.RESOURCE_EXHAUSTED:
                    self.assertIn("server busy", e.details())
            codes[code] = codes.get(code, 0) + 1
        print("\n150 logins at once: %s" % {k.name: v for k, v in codes.items()})
        self.assertGreater(codes.get(C.OK, 0), 0)
        self.assertGreater(codes.get(C.RESOURCE_EXHAUSTED, 0), 0)
        self.assertEqual(set(codes), {C.OK, C.RESOURCE_EXHAUSTED})
