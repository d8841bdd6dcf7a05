"""helpdeskd as a process: command line and environment, the ready file, the bootstrap
admin token, persistence across restarts and graceful shutdown under load."""

import os
import signal
import stat
import threading
import time

import grpc

from harness import (CREATE, GET, HEALTH, Server, ServerTestCase, create_ticket_request,
                     health_pb2, listening_address, run_helpdeskd, tickets_pb2, unary)


def health(ch):
    return unary(ch, HEALTH, health_pb2.HealthCheckRequest(),
                 health_pb2.HealthCheckResponse).status


class CommandLine(ServerTestCase):
    def test_ready_file_holds_the_address_printed_on_stdout(self):
        s = self.start_server()
        with open(s.ready_path) as f:
            text = f.read()
        self.assertRegex(text, r"^127\.0\.0\.1:[1-9][0-9]*\n$")
        self.assertNotEqual(s.port, 0)
        self.assertEqual(health(s.channel()), health_pb2.HealthCheckResponse.SERVING)
        s.stop()
        self.assertEqual(listening_address(s.stdout()), text.strip())

    def test_first_start_prints_the_admin_token_once_and_stores_it_0600(self):
        s = self.start_server()
        path = os.path.join(s.data_path(), "admin.token")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        s.stop()
        lines = [l for l in s.stdout().splitlines() if l.startswith("admin token: ")]
        self.assertEqual(lines, ["admin token: " + s.token])

    def test_env_listen_and_data_apply_without_flags(self):
        s = Server(listen=None, pass_data_flag=False)
        s.extra_env = {"HELPDESK_LISTEN": "127.0.0.1:0", "HELPDESK_DATA": s.data_dir}
        self.addCleanup(s.cleanup)
        s.start()
        self.assertTrue(os.path.exists(os.path.join(s.data_dir, "admin.token")))
        self.assertTrue(s.address.startswith("127.0.0.1:"))
        self.assertEqual(health(s.channel()), health_pb2.HealthCheckResponse.SERVING)
        s.stop()

    def test_flags_take_precedence_over_env(self):
        s = Server()
        other = os.path.join(s.tmp, "env-data")
        # An address nobody can bind: if env won over --listen, start would fail.
        s.extra_env = {"HELPDESK_LISTEN": "192.0.2.1:1", "HELPDESK_DATA": other}
        self.addCleanup(s.cleanup)
        s.start()
        self.assertTrue(os.path.exists(os.path.join(s.data_dir, "admin.token")))
        self.assertFalse(os.path.exists(other), "HELPDESK_DATA used despite --data")
        self.assertEqual(health(s.channel()), health_pb2.HealthCheckResponse.SERVING)
        s.stop()

    def test_default_data_dir_is_var_in_the_working_directory(self):
        s = Server(pass_data_flag=False, data_dir="var")
        self.addCleanup(s.cleanup)
        s.start()
        self.assertTrue(os.path.exists(os.path.join(s.tmp, "var", "admin.token")))
        s.stop()

    def test_version_and_help_exit_zero(self):
        for flag in ("--version", "--help"):
            with self.subTest(flag=flag):
                p = run_helpdeskd([flag])
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertTrue(p.stdout.strip(), "%s printed nothing" % flag)
        p = run_helpdeskd(["--help"])
        for flag in ("--listen", "--data", "--ready-file", "--tls-cert", "--restore"):
            self.assertIn(flag, p.stdout)

    def test_unknown_flag_exits_non_zero(self):
        p = run_helpdeskd(["--no-such-flag"])
        self.assertNotEqual(p.returncode, 0)


class Persistence(ServerTestCase):
    def test_second_start_keeps_tickets_and_prints_no_new_token(self):
        first = self.start_server()
        t = unary(first.channel(), CREATE, create_ticket_request(subject="persist me"),
                  tickets_pb2.Ticket, token=first.token)
        first.stop()
        second = self.start_server(data_dir=first.data_dir)
        self.assertEqual(second.token, first.token)
        r = unary(second.channel(), GET, tickets_pb2.GetTicketRequest(id=t.id),
                  tickets_pb2.GetTicketResponse, token=first.token)
        self.assertEqual(r.ticket.subject, "persist me")
        second.stop()
        self.assertNotIn("admin token:", second.stdout())


class Shutdown(ServerTestCase):
    def test_sigterm_with_calls_in_flight_exits_zero_within_grace(self):
        grace_ms = 2000
        s = self.start_server(args=["--grace-ms", str(grace_ms)])
        ch = s.channel()
        stop = threading.Event()
        lock = threading.Lock()
        counts = {"ok": 0}
        bad = []
        allowed = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}

        def worker(w):
            i = 0
            while not stop.is_set() and i < 100000:
                i += 1
                try:
                    unary(ch, CREATE, create_ticket_request(subject="w%d-%d" % (w, i)),
                          tickets_pb2.Ticket, token=s.token, timeout=10)
                    with lock:
                        counts["ok"] += 1
                except grpc.RpcError as e:
                    if e.code() not in allowed:
                        with lock:
                            bad.append((e.code(), e.details()))
                    return

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(32)]
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + 30
            while counts["ok"] < 200 and time.monotonic() < deadline and not bad:
                time.sleep(0.01)
            self.assertGreaterEqual(counts["ok"], 200, bad[:3])
            t0 = time.monotonic()
            s.send_signal(signal.SIGTERM)
            code = s.wait(timeout=grace_ms / 1000 + 10)
            took = time.monotonic() - t0
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        s.assert_clean(code)
        self.assertLess(took, grace_ms / 1000 + 5)
        self.assertEqual(bad, [])
        self.assertFalse(any(t.is_alive() for t in threads))

    def test_sigint_stops_gracefully_too(self):
        s = self.start_server()
        s.stop(sig=signal.SIGINT)
