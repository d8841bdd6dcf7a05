"""Real mail peers for tests, on 127.0.0.1 and ephemeral ports: a Dovecot IMAP server with
one test user (Maildir under a temp dir) and an aiosmtpd SMTP sink that records every
message it accepts. Run with Debian's /usr/bin/python3 (needs dovecot-imapd and
python3-aiosmtpd).

    with Dovecot() as imap:            # imap.port, imap.user, imap.password
        imap.deliver(raw_bytes)        # appears as unseen in INBOX (Maildir/new)
    with Dovecot(tls=(crt, key)) as imap:  # STARTTLS on imap.url(), implicit TLS on
        ...                                # imap.imaps_url()
    crt, key = self_signed(directory, "name")  # openssl req -x509 for 127.0.0.1
    with SmtpSink() as smtp:           # smtp.port
        smtp.wait_for(1, timeout_s=10) # -> list of (mail_from, rcpt_tos, data bytes)
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

DOVECOT = "/usr/sbin/dovecot"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _wait_port(port, timeout_s, proc=None, what="port"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited early with %s" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("%s on port %d did not open in %ss" % (what, port, timeout_s))


def self_signed(directory, name, san="IP:127.0.0.1,DNS:localhost"):
    """Writes <name>.crt/<name>.key, a self-signed P-256 certificate for san (default
    127.0.0.1 and localhost) made by `openssl req -x509`; returns (cert path, key path)."""
    crt = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", key, "-out", crt,
         "-addext", "subjectAltName=" + san],
        check=True, capture_output=True, timeout=60)
    return crt, key


class Dovecot:
    """Dovecot 2.3 with its own config, passwd-file users. Without tls: plaintext only (no
    STARTTLS offered, no imaps). With tls=(cert path, key path): STARTTLS offered on port and
    implicit TLS on imaps_port; plaintext login stays allowed so a client that does not ask
    for TLS still gets in (the client, not the server, must insist on TLS)."""

    # Dovecot 2.3.19's post-login capabilities without IDLE (for Dovecot(idle=False)).
    NO_IDLE_CAPS = ("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT SORT=DISPLAY "
                    "THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL "
                    "CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 "
                    "CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS "
                    "BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ "
                    "NOTIFY")

    def __init__(self, user="support", password="s3cret", tls=None, idle=True):
        self.user = user
        self.password = password
        self.tls = tls
        self.idle = idle
        self.dir = tempfile.mkdtemp(prefix="hd-dovecot-")
        os.chmod(self.dir, 0o755)
        self.home = os.path.join(self.dir, "home", user)
        self.port = free_port()
        self.imaps_port = free_port() if tls else 0
        self.proc = None
        self._seq = 0

    @property
    def maildir(self):
        return os.path.join(self.home, "Maildir")

    def url(self):
        return "imap://127.0.0.1:%d" % self.port

    def imaps_url(self):
        return "imaps://127.0.0.1:%d" % self.imaps_port

    def start(self):
        nobody = pwd.getpwnam("nobody")
        # Dovecot never runs mail processes as root: the test user's mail belongs to nobody.
        uid, gid = (nobody.pw_uid, nobody.pw_gid) if os.getuid() == 0 else (os.getuid(),
                                                                          os.getgid())
        self._owner = (uid, gid)
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub), exist_ok=True)
        for root, dirs, _ in os.walk(os.path.join(self.dir, "home")):
            os.chown(root, uid, gid)
        for d in ("base", "state"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        with open(os.path.join(self.dir, "users"), "w") as f:
            f.write("%s:{PLAIN}%s:%d:%d::%s\n" % (self.user, self.password, uid, gid, self.home))
        conf = os.path.join(self.dir, "dovecot.conf")
        if self.tls:
            ssl = "ssl = yes\nssl_cert = <%s\nssl_key = <%s\nssl_min_protocol = TLSv1.2" % (
                self.tls[0], self.tls[1])
            imaps = "address = 127.0.0.1\n    port = %d" % self.imaps_port
        else:
            ssl, imaps = "ssl = no", "port = 0"
        with open(conf, "w") as f:
            f.write("""
protocols = imap
listen = 127.0.0.1
base_dir = {d}/base
state_dir = {d}/state
log_path = {d}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = nobody
default_login_user = nobody
default_internal_group = {grp}
mail_location = maildir:~/Maildir
first_valid_uid = 1
first_valid_gid = 1
mail_privileged_group =
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/users
}}
userdb {{
  driver = passwd-file
  args = {d}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    {imaps}
  }}
}}
service anvil {{
  chroot =
}}
protocol imap {{
  mail_max_userip_connections = 200
  {caps}
}}
service stats {{
  unix_listener stats-reader {{
    user = nobody
  }}
  unix_listener stats-writer {{
    user = nobody
  }}
}}
""".format(d=self.dir, port=self.port, grp=_group_name(nobody.pw_gid), ssl=ssl, imaps=imaps,
           caps="" if self.idle else "imap_capability = " + self.NO_IDLE_CAPS))
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", conf], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        _wait_port(self.port, 20, self.proc, "dovecot")
        if self.imaps_port:
            _wait_port(self.imaps_port, 20, self.proc, "dovecot imaps")
        return self

    def deliver(self, raw):
        """Places one message (bytes) in INBOX as new and unseen; returns its file path."""
        self._seq += 1
        name = "%d.M%dP%d.hdtest" % (int(time.time()), self._seq, os.getpid())
        tmp = os.path.join(self.maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(raw)
        os.chown(tmp, *self._owner)
        dst = os.path.join(self.maildir, "new", name)
        os.rename(tmp, dst)
        return dst

    def log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


def _group_name(gid):
    import grp
    return grp.getgrgid(gid).gr_name


class SmtpSink:
    """aiosmtpd on 127.0.0.1 that keeps every accepted message; `fail_next` makes the next
    N transactions answer 451 (temporary) so retry paths can be tested."""

    def __init__(self):
        self.port = free_port()
        self.messages = []
        self.fail_next = 0
        self.fail_code = "451 4.3.0 try again later"
        self._cv = threading.Condition()
        self._controller = None

    def start(self):
        from aiosmtpd.controller import Controller
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with sink._cv:
                    if sink.fail_next > 0:
                        sink.fail_next -= 1
                        return sink.fail_code
                    sink.messages.append(
                        (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
                    sink._cv.notify_all()
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def wait_for(self, n, timeout_s=10):
        """Waits until at least n messages arrived; returns a copy of the list."""
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("SMTP sink: %d of %d messages after %ss" %
                                       (len(self.messages), n, timeout_s))
                self._cv.wait(left)
            return list(self.messages)

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
