"""AdminService: statistics, and a backup that opens as a data dir of its own."""

import os

import grpc

from harness import (BACKUP, CREATE, GET, STATS, ServerTestCase, admin_pb2,
                     create_ticket_request, tickets_pb2, unary)


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

    def test_backup_opens_as_a_data_dir_with_the_tickets(self):
        t = unary(self.ch, CREATE, create_ticket_request(subject="back me up"),
                  tickets_pb2.Ticket, token=self.s.token)
        dest = os.path.join(self.s.tmp, "backup-1")
        r = unary(self.ch, BACKUP, admin_pb2.BackupRequest(path=dest),
                  admin_pb2.BackupResponse, token=self.s.token)
        self.assertEqual(os.path.realpath(r.path), os.path.realpath(dest))
        self.assertGreater(r.size_bytes, 0)
        self.assertTrue(os.path.isdir(dest))
        # The copy serves on its own while the original keeps running.
        copy = self.start_server(data_dir=dest)
        got = unary(copy.channel(), GET, tickets_pb2.GetTicketRequest(id=t.id),
                    tickets_pb2.GetTicketResponse, token=self.s.token)
        self.assertEqual(got.ticket.subject, "back me up")
        copy.stop()

    def test_backup_into_an_existing_directory_is_refused(self):
        dest = os.path.join(self.s.tmp, "exists")
        os.mkdir(dest)
        with self.assertRaises(grpc.RpcError) as cm:
            unary(self.ch, BACKUP, admin_pb2.BackupRequest(path=dest), admin_pb2.BackupResponse,
                  token=self.s.token)
        self.assertIn(cm.exception.code(), (grpc.StatusCode.ALREADY_EXISTS,
                                            grpc.StatusCode.FAILED_PRECONDITION))
