/* Key layouts of the mail room's records: sub-tables of MAILSTATE (mailboxes, fetch state,
 * per-message ingest records, ticket participants, a ticket's Message-IDs, undeliverable
 * addresses), IDX_MSGID and OUTBOX. One place, so every module writes the same bytes. */
#ifndef HD_MAIL_KEYS_H
#define HD_MAIL_KEYS_H

#include <stdint.h>

#include "server/store/key.h"

/* First byte of every MAILSTATE key. */
enum {
    HD_MAILKEY_MAILBOX = 1,         /* u64 mailbox id -> StoredMailbox */
    HD_MAILKEY_STATE = 2,           /* u64 mailbox id -> MailboxState */
    HD_MAILKEY_INGEST = 3,          /* u64 mailbox + u32 UIDVALIDITY + u32 UID -> IngestRecord */
    HD_MAILKEY_PARTICIPANT = 4,     /* u64 ticket + str address -> empty */
    HD_MAILKEY_THREAD = 5,          /* u64 ticket + u64 seq -> Message-ID bytes */
    HD_MAILKEY_UNDELIVERABLE = 6,   /* str address -> reason bytes */
    HD_MAILKEY_ORIGINAL = 7,        /* u64 ticket + u64 message -> full text (with history) */
    HD_MAILKEY_BLOB = 8,            /* str hex SHA-256 -> attachment content */
    HD_MAILKEY_ATTACHMENT = 9,      /* u64 ticket + u64 message + u32 index -> MailAttachment */
    HD_MAILKEY_TICKET_MAILBOX = 10, /* u64 ticket -> 8-byte big-endian id of the mailbox its
                                       latest customer mail came through (replies go out
                                       from it) */
};

/* Sequence names (hd_store_seq_next). */
#define HD_MAILKEY_SEQ_MAILBOX "mailbox"
#define HD_MAILKEY_SEQ_OUTBOX  "outbox"
#define HD_MAILKEY_SEQ_THREAD  "mail.thread"

/* Each initialises k, appends the fields and returns k. */
hd_key *hd_mailkey_mailbox(hd_key *k, uint64_t mailbox_id);
hd_key *hd_mailkey_state(hd_key *k, uint64_t mailbox_id);
hd_key *hd_mailkey_ingest(hd_key *k, uint64_t mailbox_id, uint32_t uid_validity, uint32_t uid);
hd_key *hd_mailkey_participant(hd_key *k, uint64_t ticket_id, const char *addr);
hd_key *hd_mailkey_thread(hd_key *k, uint64_t ticket_id, uint64_t seq);

/* Reads a participant key (as built by hd_mailkey_participant) back: *ticket_id and *addr,
 * the address copied into a (borrowed like hd_arena_alloc). Returns 0, or -1 when the key
 * is not one. */
int hd_mailkey_participant_read(const void *key, size_t klen, hd_arena *a, uint64_t *ticket_id,
                                char **addr);
hd_key *hd_mailkey_undeliverable(hd_key *k, const char *addr);
hd_key *hd_mailkey_original(hd_key *k, uint64_t ticket_id, uint64_t message_id);
hd_key *hd_mailkey_blob(hd_key *k, const char *sha256_hex);
hd_key *hd_mailkey_attachment(hd_key *k, uint64_t ticket_id, uint64_t message_id, uint32_t i);
hd_key *hd_mailkey_ticket_mailbox(hd_key *k, uint64_t ticket_id);
/* IDX_MSGID: str Message-ID (no brackets) -> 8-byte big-endian ticket id. */
hd_key *hd_mailkey_msgid(hd_key *k, const char *message_id);
/* OUTBOX: u64 outbox id -> OutboxMessage. */
hd_key *hd_mailkey_outbox(hd_key *k, uint64_t id);

#endif
