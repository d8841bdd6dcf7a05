"""AdminService: statistics, and a backup that opens as a data dir of its own."""

import os

import grpc

from harness import (BACKUP, CREATE, GET, STATS, ServerTestCase, admin_pb2,
                     create_ticket_request, run_helpdeskd, tickets_pb2, unary)


class Admin(ServerTestCase):
    def setUp(self):
        self.s = self.start_server()
        self.ch = self.s.channel()

    def tearDown(self):
        self.s.stop()

    def test_get_stats_describes_the_store(self):
        unary(self.ch, CREATE, create_ticket_request(), tickets_pb2.Ticket, token=self.s.token)
        st = unary(self.ch, STATS, admin_pb2.GetStatsRequest(), admin_pb2.Stats,
                   token=self.s.token)
        self.assertTrue(st.version)
        self.assertGreater(st.schema_version, 0)
        self.assertGreater(st.page_size, 0)
        self.assertGreater(st.map_size_bytes, 0)
        self.assertGreaterEqual(st.map_max_bytes, st.map_size_bytes)
        self.assertGreater(st.used_pages, 0)
        self.assertGreater(st.commits, 0)
        self.assertTrue(st.tables, "no tables listed")

    def test_get_stats_needs_a_token(self):
        with self.assertRaises(grpc.RpcError) as cm:
            unary(self.ch, STATS, admin_pb2.GetStatsRequest(), admin_pb2.Stats)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)

    def test_backup_restored_with_helpdeskd_restore_serves_the_tickets(self):
        t = unary(self.ch, CREATE, create_ticket_request(subject="back me up"),
                  tickets_pb2.Ticket, token=self.s.token)
        dest = os.path.join(self.s.tmp, "backup-1")
        r = unary(self.ch, BACKUP, admin_pb2.BackupRequest(path=dest),
                  admin_pb2.BackupResponse, token=self.s.token)
        self.assertEqual(os.path.realpath(r.path), os.path.realpath(dest))
        self.assertGreater(r.size_bytes, 0)
        self.assertTrue(os.path.isdir(dest))
        # Written after the backup: must not appear in the restored copy.
        later = unary(self.ch, CREATE, create_ticket_request(subject="after backup"),
                      tickets_pb2.Ticket, token=self.s.token)
        # OPERATIONS.md's restore: `helpdeskd --restore BACKUP --data DIR`, then serve DIR,
        # while the original keeps running.
        data = os.path.join(self.s.tmp, "restored")
        p = run_helpdeskd(["--restore", dest, "--data", data])
        self.assertEqual(p.returncode, 0, p.stderr)
        copy = self.start_server(data_dir=data)
        ch = copy.channel()
        got = unary(ch, GET, tickets_pb2.GetTicketRequest(id=t.id),
                    tickets_pb2.GetTicketResponse, token=self.s.token)
        self.assertEqual(got.ticket.subject, "back me up")
        with self.assertRaises(grpc.RpcError) as cm:
            unary(ch, GET, tickets_pb2.GetTicketRequest(id=later.id),
                  tickets_pb2.GetTicketResponse, token=self.s.token)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        copy.stop()

    def test_restore_over_a_used_data_dir_keeps_the_old_store_aside(self):
        t = unary(self.ch, CREATE, create_ticket_request(subject="in the backup"),
                  tickets_pb2.Ticket, token=self.s.token)
        dest = os.path.join(self.s.tmp, "backup-2")
        unary(self.ch, BACKUP, admin_pb2.BackupRequest(path=dest), admin_pb2.BackupResponse,
              token=self.s.token)
        other = self.start_server()
        old = unary(other.channel(), CREATE, create_ticket_request(subject="old store"),
                    tickets_pb2.Ticket, token=other.token)
        other.stop()
        p = run_helpdeskd(["--restore", dest, "--data", other.data_dir])
        self.assertEqual(p.returncode, 0, p.stderr)
        aside = [os.path.join(d, n) for d, dirs, _ in os.walk(other.tmp) for n in dirs
                 if ".pre-restore-" in n]
        self.assertEqual(len(aside), 1, "want one .pre-restore- dir: %s" % aside)
        again = self.start_server(data_dir=other.data_dir)
        got = unary(again.channel(), GET, tickets_pb2.GetTicketRequest(id=t.id),
                    tickets_pb2.GetTicketResponse, token=self.s.token)
        self.assertEqual(got.ticket.subject, "in the backup")
        self.assertNotEqual(old.subject, got.ticket.subject)
        again.stop()

    def test_restore_of_a_directory_that_is_not_a_backup_fails(self):
        bogus = os.path.join(self.s.tmp, "not-a-backup")
        os.mkdir(bogus)
        p = run_helpdeskd(["--restore", bogus, "--data", os.path.join(self.s.tmp, "d")])
        self.assertNotEqual(p.returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(self.s.tmp, "d", "store")))

    def test_backup_into_an_existing_directory_is_refused(self):
        dest = os.path.join(self.s.tmp, "exists")
        os.mkdir(dest)
        with self.assertRaises(grpc.RpcError) as cm:
            unary(self.ch, BACKUP, admin_pb2.BackupRequest(path=dest), admin_pb2.BackupResponse,
                  token=self.s.token)
        self.assertIn(cm.exception.code(), (grpc.StatusCode.ALREADY_EXISTS,
                                            grpc.StatusCode.FAILED_PRECONDITION))
