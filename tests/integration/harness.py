"""Integration harness: starts a real helpdeskd, talks to it over gRPC, stops it.

The binary comes from env HELPDESKD (default bazel-bin/server/helpdeskd). Each Server
gets its own temp data dir, listens on 127.0.0.1:0 and reports its address through
--ready-file. stop() sends SIGTERM and checks exit code 0 and a stderr free of
sanitizer reports. Protobuf modules are generated at import time with protoc (no
grpc_tools); calls go through grpcio's generic channel.unary_unary.
Run with Debian's /usr/bin/python3.
"""

import atexit
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import grpc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HELPDESKD = os.path.abspath(
    os.path.join(ROOT, os.environ.get("HELPDESKD", "bazel-bin/server/helpdeskd")))
BUF = os.path.join(ROOT, ".tools/node/node_modules/.bin/buf")
# Bazel's output dir of the configuration helpdeskd was built in (tools/test sets it; the
# bazel-bin symlink follows whichever build ran last, in any engineer's shell). Suites that
# run other binaries (the reporter, the CLI) take them from here.
BAZEL_BIN = os.environ.get("HD_BAZEL_BIN", os.path.join(ROOT, "bazel-bin"))

START_TIMEOUT_S = 60  # generous: ASan builds start slower on a loaded 2-core CI machine
STOP_TIMEOUT_S = 30
SANITIZER_MARKS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "SUMMARY: UndefinedBehaviorSanitizer",
    "WARNING: ThreadSanitizer",
)


def _generate_protos():
    """Generates *_pb2 modules for the Helpdesk API and gRPC health into a temp dir and
    returns (helpdesk modules dict, health module). The health proto is copied under
    grpc_health/ so its module does not shadow grpcio's `grpc` package."""
    gen = tempfile.mkdtemp(prefix="hd-pb2-")
    src = os.path.join(gen, "src")
    os.makedirs(os.path.join(src, "grpc_health", "v1"))
    shutil.copy("/usr/share/grpc-proto/grpc/health/v1/health.proto",
                os.path.join(src, "grpc_health", "v1", "health.proto"))
    out = os.path.join(gen, "py")
    os.makedirs(out)
    hd = sorted(os.path.relpath(p, os.path.join(ROOT, "proto"))
                for p in glob.glob(os.path.join(ROOT, "proto/helpdesk/v1/*.proto")))
    subprocess.run(
        ["protoc", "--python_out=" + out, "-I" + os.path.join(ROOT, "proto"), "-I" + src,
         "-I/usr/include"] + hd + ["grpc_health/v1/health.proto"],
        check=True)
    sys.path.insert(0, out)
    import importlib
    mods = {}
    for p in hd:
        name = p[:-len(".proto")].replace("/", ".") + "_pb2"
        mods[os.path.basename(p)[:-len(".proto")]] = importlib.import_module(name)
    health = importlib.import_module("grpc_health.v1.health_pb2")
    return mods, health


_PB, health_pb2 = _generate_protos()
common_pb2 = _PB["common"]
tickets_pb2 = _PB["tickets"]
admin_pb2 = _PB["admin"]


def unary(channel, path, request, response_cls, token=None, timeout=20, metadata=()):
    """Calls one unary method by its full path; returns the response message or raises
    grpc.RpcError."""
    fn = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                             response_deserializer=response_cls.FromString)
    md = list(metadata)
    if token is not None:
        md.append(("authorization", "Bearer " + token))
    return fn(request, metadata=md or None, timeout=timeout)


def unary_future(channel, path, request, response_cls, token=None, timeout=60):
    """Like unary() but returns a grpc.Future."""
    fn = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                             response_deserializer=response_cls.FromString)
    md = [("authorization", "Bearer " + token)] if token is not None else None
    return fn.future(request, metadata=md, timeout=timeout)


def raw_unary(channel, path, payload, token=None, timeout=20):
    """Sends payload bytes as they are (no protobuf encoding); returns the raw reply."""
    fn = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
    md = [("authorization", "Bearer " + token)] if token is not None else None
    return fn(payload, metadata=md, timeout=timeout)


def wait_for(predicate, timeout_s, what, interval_s=0.02):
    """Polls predicate until it returns a true value (returned) or timeout_s passes
    (AssertionError naming `what`)."""
    deadline = time.monotonic() + timeout_s
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout_s, what))
        time.sleep(interval_s)


def listening_address(stdout):
    """The HOST:PORT of the first `helpdeskd listening on HOST:PORT[ ...]` line, else None."""
    m = re.search(r"(?m)^helpdeskd listening on (\S+)", stdout)
    return m.group(1) if m else None


def sanitizer_report(text):
    """Returns the first sanitizer report line in text, else None."""
    for line in text.splitlines():
        if any(m in line for m in SANITIZER_MARKS):
            return line
    return None


def sanitizer_env(env):
    """Adds ASan/UBSan/LSan settings that make any report fatal and visible."""
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:"
                   "detect_stack_use_after_return=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


# Every helpdeskd this process started. A class whose setUpClass fails after starting its
# server never reaches tearDownClass; such a server is killed when the runner exits instead
# of outliving the suite.
_STARTED = []


@atexit.register
def _kill_leaked_servers():
    for proc in _STARTED:
        if proc.poll() is None:
            print("harness: killing helpdeskd pid %d left running by a failed set-up" %
                  proc.pid, file=sys.stderr, flush=True)
            proc.kill()
            proc.wait()


class Server:
    """One helpdeskd process. Use start()/stop(), or `with Server(...) as s:`.

    data_dir: reuse a directory (else a fresh temp dir, removed by cleanup()).
    args: extra command-line flags. env: extra environment. listen: --listen value, or
    None to pass no --listen flag (then HELPDESK_LISTEN/the default applies)."""

    def __init__(self, data_dir=None, args=(), env=None, listen="127.0.0.1:0",
                 pass_data_flag=True, ready_file=True):
        self.tmp = tempfile.mkdtemp(prefix="hd-it-")
        self.own_data = data_dir is None
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.args = list(args)
        self.extra_env = dict(env or {})
        self.listen = listen
        self.pass_data_flag = pass_data_flag
        self.ready_path = os.path.join(self.tmp, "ready") if ready_file else None
        self.proc = None
        self.address = None
        self.token = None
        self._channels = []

    # -- process ------------------------------------------------------------------------
    def command(self):
        cmd = [HELPDESKD]
        if self.listen is not None:
            cmd += ["--listen", self.listen]
        if self.pass_data_flag:
            cmd += ["--data", self.data_dir]
        if self.ready_path:
            cmd += ["--ready-file", self.ready_path]
        return cmd + self.args

    def start(self):
        env = sanitizer_env(dict(os.environ))
        env.pop("HELPDESK_LISTEN", None)
        env.pop("HELPDESK_DATA", None)
        env.update(self.extra_env)
        self.stdout_path = os.path.join(self.tmp, "stdout")
        self.stderr_path = os.path.join(self.tmp, "stderr")
        with open(self.stdout_path, "wb") as so, open(self.stderr_path, "wb") as se:
            self.proc = subprocess.Popen(self.command(), stdout=so, stderr=se,
                                         stdin=subprocess.DEVNULL, env=env, cwd=self.tmp)
        _STARTED[:] = [p for p in _STARTED if p.poll() is None] + [self.proc]
        if self.ready_path:
            self.address = wait_for(self._ready, START_TIMEOUT_S, "helpdeskd --ready-file")
        else:
            self.address = wait_for(self._listening_line, START_TIMEOUT_S,
                                    "'helpdeskd listening on' on stdout")
        token_file = os.path.join(self.data_path(), "admin.token")
        if os.path.exists(token_file):
            with open(token_file) as f:
                self.token = f.read().strip()
        return self

    def data_path(self):
        """The data dir the server uses, absolute (relative ones are from its cwd)."""
        return os.path.join(self.tmp, self.data_dir)

    def _check_alive(self):
        if self.proc.poll() is not None:
            raise AssertionError("helpdeskd exited early with %s; stderr:\n%s" %
                                 (self.proc.returncode, self.stderr()[-4000:]))

    def _ready(self):
        self._check_alive()
        try:
            with open(self.ready_path) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        # Written atomically: a complete file ends with a newline.
        return text.strip() if text.endswith("\n") else None

    def _listening_line(self):
        self._check_alive()
        return listening_address(self.stdout())

    def stdout(self):
        with open(self.stdout_path, errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    @property
    def port(self):
        return int(self.address.rsplit(":", 1)[1])

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=STOP_TIMEOUT_S):
        """Waits for exit (bounded); returns the exit code."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("helpdeskd did not exit within %ss; stderr:\n%s" %
                                 (timeout, self.stderr()[-4000:]))

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S):
        """Stops the server and asserts a clean exit: code 0, no sanitizer report."""
        self.close_channels()
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.wait(timeout)
        self.assert_clean(code)

    def assert_clean(self, code):
        err = self.stderr()
        rep = sanitizer_report(err)
        if rep:
            raise AssertionError("sanitizer report in helpdeskd stderr: %s\n%s" %
                                 (rep, err[-6000:]))
        if code != 0:
            raise AssertionError("helpdeskd exited with %s, want 0; stderr:\n%s" %
                                 (code, err[-4000:]))

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        """Kills a server still running (after a failed test) and removes temp files."""
        self.close_channels()
        self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                self.stop()
        finally:
            self.cleanup()

    # -- clients ------------------------------------------------------------------------
    def channel(self, **kw):
        """An insecure channel to the server; closed by stop()/cleanup()."""
        ch = grpc.insecure_channel(self.address, **kw)
        self._channels.append(ch)
        return ch

    def secure_channel(self, ca_pem, host_override=None):
        creds = grpc.ssl_channel_credentials(root_certificates=ca_pem)
        opts = [("grpc.ssl_target_name_override", host_override)] if host_override else []
        ch = grpc.secure_channel(self.address, creds, options=opts)
        self._channels.append(ch)
        return ch

    def close_channels(self):
        for ch in self._channels:
            ch.close()
        self._channels = []


class ServerTestCase(unittest.TestCase):
    """A test case with self.start_server(...) that stops (clean exit asserted) and
    cleans up every server it started."""

    def start_server(self, **kw):
        s = Server(**kw)
        self.addCleanup(s.cleanup)
        s.start()
        return s


def run_helpdeskd(args, timeout=60):
    """Runs helpdeskd to completion (for --version, --restore...); returns CompletedProcess
    with text stdout/stderr. Asserts no sanitizer report."""
    p = subprocess.run([HELPDESKD] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=sanitizer_env(dict(os.environ)),
                       stdin=subprocess.DEVNULL)
    rep = sanitizer_report(p.stderr)
    if rep:
        raise AssertionError("sanitizer report from helpdeskd %s: %s\n%s" %
                             (" ".join(args), rep, p.stderr[-6000:]))
    return p


def create_ticket_request(request_id="", subject="Printer on fire", body="It is on fire.",
                          email="ada@example.com"):
    return tickets_pb2.CreateTicketRequest(request_id=request_id, customer_email=email,
                                           customer_name="Ada", subject=subject, body=body)


CREATE = "/helpdesk.v1.TicketService/CreateTicket"
GET = "/helpdesk.v1.TicketService/GetTicket"
LIST = "/helpdesk.v1.TicketService/ListTickets"
STATS = "/helpdesk.v1.AdminService/GetStats"
BACKUP = "/helpdesk.v1.AdminService/Backup"
HEALTH = "/grpc.health.v1.Health/Check"


def slow(test):
    """Marks a slow test: skipped when HD_SKIP_SLOW=1 (tools/test always runs them)."""
    return unittest.skipIf(os.environ.get("HD_SKIP_SLOW") == "1", "slow (HD_SKIP_SLOW=1)")(test)
