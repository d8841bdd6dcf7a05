"""Crash safety: helpdeskd killed with SIGKILL at random points of a write load (50
times), and during a backup. After each kill the store passes helpdeskd --check, and after
each restart every acknowledged write is present exactly once, and retrying an
unacknowledged CreateTicket or ReplyToTicket by its request id makes it exactly once."""

import collections
import os
import random
import shutil
import tempfile
import unittest

from crash import (SERVER_ARGS, Ledger, WriteLoad, all_subjects, check_store, message_bodies,
                   reply, retry_create)
from harness import (BACKUP, CREATE, Server, admin_pb2, create_ticket_request, run_helpdeskd,
                     slow, tickets_pb2, unary, wait_for)

KILLS = int(os.environ.get("HD_CRASH_KILLS", "50"))


class Kill9(unittest.TestCase):
    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="hd-crash-")
        self.addCleanup(shutil.rmtree, self.data, True)
        self.servers = []
        self.retried_replies = 0

    def start(self):
        s = Server(data_dir=self.data, args=SERVER_ARGS)
        self.addCleanup(s.cleanup)
        s.start()
        self.servers.append(s)
        return s, s.channel()

    def verify_cycle(self, ch, token, led, cycle_keys, cycle_replies):
        # Unacknowledged creates: a retry by request id yields one ticket, the same on
        # every retry (whether or not the first attempt had committed).
        for key in sorted(led.unacked_creates):
            first = retry_create(ch, token, key)
            self.assertEqual(retry_create(ch, token, key), first, key)
            led.created[key] = first
        led.unacked_creates.clear()
        # This cycle's acknowledged creates survived under the id the client was given.
        for key in cycle_keys:
            self.assertEqual(retry_create(ch, token, key), led.created[key], key)
        # Unacknowledged replies: retried twice by request id, one message, the same both
        # times; then they count as acknowledged.
        for body, tid in sorted(led.unacked_replies.items()):
            first = reply(ch, token, tid, body)
            self.assertEqual(reply(ch, token, tid, body), first, body)
            led.replies[body] = tid
            cycle_replies.append(body)
            self.retried_replies += 1
        led.unacked_replies.clear()
        # Acknowledged (and retried) replies are present exactly once.
        by_ticket = collections.defaultdict(list)
        for body in cycle_replies:
            by_ticket[led.replies[body]].append(body)
        for tid, bodies in by_ticket.items():
            counts = collections.Counter(message_bodies(ch, token, tid))
            for body in bodies:
                self.assertEqual(counts[body], 1, "ticket %d reply %r" % (tid, body))

    def verify_exactly_once(self, ch, token, led):
        subjects = collections.Counter(s for s in all_subjects(ch, token)
                                       if s.startswith("crash "))
        for key in led.created:
            self.assertEqual(subjects["crash " + key], 1, key)
        self.assertEqual(sum(subjects.values()), len(led.created))

    @slow
    def test_random_kill9s_under_write_load_lose_and_duplicate_nothing(self):
        rng = random.Random(int(os.environ.get("HD_CRASH_SEED", "10")))
        led = Ledger()
        for cycle in range(KILLS):
            s, ch = self.start()
            before = set(led.created)
            replies_before = set(led.replies)
            load = WriteLoad(ch, s.token, led, "k%d" % cycle, seed=cycle).start()
            target = led.acks + rng.randint(1, 40)
            wait_for(lambda: led.acks >= target or not any(t.is_alive() for t in load.threads),
                     30, "acknowledged writes before the kill", interval_s=0.002)
            s.kill()  # SIGKILL
            load.stop()
            s.close_channels()
            check_store(self, self.data)
            s, ch = self.start()
            with led.lock:
                new_keys = [k for k in led.created if k not in before]
                new_replies = [b for b in led.replies if b not in replies_before]
            self.verify_cycle(ch, s.token, led, new_keys, new_replies)
            if cycle % 10 == 9 or cycle == KILLS - 1:
                self.verify_exactly_once(ch, s.token, led)
            s.stop()
        # Every acknowledged reply, across all cycles, is still there exactly once.
        s, ch = self.start()
        for body, tid in led.replies.items():
            self.assertEqual(message_bodies(ch, s.token, tid).count(body), 1, body)
        s.stop()
        check_store(self, self.data)
        print("%d kills: %d creates, %d replies acknowledged or retried (%d by request id)" %
              (KILLS, len(led.created), len(led.replies), self.retried_replies), flush=True)
        self.assertGreater(len(led.created), KILLS)

    @slow
    def test_kill9_during_backup_recovers_without_manual_steps(self):
        s, ch = self.start()
        for i in range(300):
            unary(ch, CREATE, create_ticket_request(request_id="b%d" % i, subject="b%d" % i,
                                                    body="x" * 3000),
                  tickets_pb2.Ticket, token=s.token)
        dest = os.path.join(self.data, "bk1")
        fut = ch.unary_unary(BACKUP, request_serializer=lambda m: m.SerializeToString(),
                             response_deserializer=admin_pb2.BackupResponse.FromString).future(
            admin_pb2.BackupRequest(path=dest),
            metadata=[("authorization", "Bearer " + s.token)], timeout=60)
        wait_for(lambda: os.path.exists(dest) or fut.done(), 30, "the backup under way",
                 interval_s=0.0005)
        interrupted = not fut.done()
        s.kill()
        s.close_channels()
        print("backup interrupted by the kill: %s" % interrupted, flush=True)
        check_store(self, self.data)
        s, ch = self.start()
        r = unary(ch, BACKUP, admin_pb2.BackupRequest(path=os.path.join(self.data, "bk2")),
                  admin_pb2.BackupResponse, token=s.token)
        self.assertTrue(r.path)
        # A retry of an acknowledged create (same id, same content) returns that ticket.
        self.assertEqual(unary(ch, CREATE, create_ticket_request(request_id="b1", subject="b1",
                                                                 body="x" * 3000),
                               tickets_pb2.Ticket, token=s.token).subject, "b1")
        s.stop()
        # The good backup restores into a fresh data dir and passes the check there.
        fresh = tempfile.mkdtemp(prefix="hd-crash-restore-")
        self.addCleanup(shutil.rmtree, fresh, True)
        os.rmdir(fresh)
        p = run_helpdeskd(["--data", fresh, "--restore", os.path.join(self.data, "bk2")])
        self.assertEqual(p.returncode, 0, p.stderr)
        check_store(self, fresh)
