"""TLS: a server started with --tls-cert/--tls-key is reachable by a client that trusts
its certificate and refused by one that does not."""

import os
import subprocess
import tempfile

import grpc

from harness import (CREATE, HEALTH, ServerTestCase, create_ticket_request, health_pb2,
                     tickets_pb2, unary)


def self_signed(directory, name):
    """Writes <name>.crt/<name>.key, a self-signed P-256 certificate for localhost and
    127.0.0.1; returns (cert path, key path)."""
    crt = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", key, "-out", crt,
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60)
    return crt, key


class Tls(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="hd-tls-")
        cls.crt, cls.key = self_signed(cls.dir.name, "server")
        cls.other_crt, _ = self_signed(cls.dir.name, "other")

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def setUp(self):
        self.s = self.start_server(args=["--tls-cert", self.crt, "--tls-key", self.key])

    def tearDown(self):
        self.s.stop()

    def test_client_trusting_the_certificate_connects(self):
        with open(self.crt, "rb") as f:
            ch = self.s.secure_channel(f.read())
        r = unary(ch, HEALTH, health_pb2.HealthCheckRequest(), health_pb2.HealthCheckResponse)
        self.assertEqual(r.status, health_pb2.HealthCheckResponse.SERVING)
        t = unary(ch, CREATE, create_ticket_request(), tickets_pb2.Ticket, token=self.s.token)
        self.assertGreater(t.id, 0)

    def test_client_with_the_wrong_ca_is_refused(self):
        with open(self.other_crt, "rb") as f:
            ch = self.s.secure_channel(f.read())
        with self.assertRaises(grpc.RpcError) as cm:
            unary(ch, HEALTH, health_pb2.HealthCheckRequest(), health_pb2.HealthCheckResponse,
                  timeout=5)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_plaintext_client_is_refused(self):
        with self.assertRaises(grpc.RpcError) as cm:
            unary(self.s.channel(), HEALTH, health_pb2.HealthCheckRequest(),
                  health_pb2.HealthCheckResponse, timeout=5)
        self.assertIn(cm.exception.code(),
                      (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED))


class TlsConfig(ServerTestCase):
    def test_unreadable_certificate_fails_start_with_non_zero_exit(self):
        from harness import Server
        s = Server(args=["--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/k"])
        self.addCleanup(s.cleanup)
        with self.assertRaises(AssertionError) as cm:
            s.start()
        self.assertIn("exited early", str(cm.exception))
        self.assertNotEqual(s.proc.returncode, 0)
