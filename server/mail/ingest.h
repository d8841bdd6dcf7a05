/* Turning one fetched message into ticket changes, exactly once. The mutation stores the
 * per-message record (mailbox, UIDVALIDITY, UID, Message-ID, outcome) and the Message-ID
 * index in the same LMDB transaction as the ticket or message it creates, so a re-fetch,
 * a restart or a crash between commit and the IMAP flag change finds the record and writes
 * nothing twice. Threading (thread.h), loops (loop.h) and bounces are decided here; ticket
 * changes go through the ticket domain (tickets.h create, change.h edits). */
#ifndef HD_MAIL_INGEST_H
#define HD_MAIL_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/mail.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/mail/loop.h"
#include "server/mail/mime.h"
#include "server/mail/thread.h"
#include "server/store/store.h"
#include "server/tickets/tickets.h"

/* Long-lived settings shared by every ingest; borrowed by the args. */
typedef struct hd_ingest_conf {
    const hd_thread_conf *thread; /* our Message-IDs, reply tokens */
    hd_loop_limiter *limiter;     /* automatic replies per sender; NULL = unlimited */
    hd_mime_limits mime;          /* parsing limits */
    hd_tickets_limits tickets;    /* body limit */
} hd_ingest_conf;

typedef struct hd_ingest_args {
    /* Input, set by hd_ingest_prepare / hd_ingest_prepare_rejected. */
    const hd_ingest_conf *conf;
    const Helpdesk__V1__Mailbox *mb; /* borrowed until done */
    uint32_t uid_validity;
    uint32_t uid;
    const hd_mime_msg *m;      /* NULL when rejected */
    const char *reject_reason; /* non-NULL: record as REJECTED only */
    hd_loop_verdict verdict;
    bool ack_wanted; /* mailbox acknowledges, human mail, within the rate limit */
    int64_t now_ms;
    hd_arena *arena;
    Helpdesk__V1__CreateTicketRequest req;
    hd_tickets_create_args create; /* prepared for the new-ticket case */
    bool create_ready;             /* create prepared (else a new ticket is rejected) */
    const char *create_error;      /* why create could not be prepared */

    /* Result, valid once the mutation succeeded. */
    Helpdesk__V1__IngestOutcome outcome;
    uint64_t ticket_id;
    hd_thread_via via;
    bool replayed;                  /* the record existed: this UID was committed before */
    bool acked;                     /* an acknowledgement was queued */
    bool follow_up;                 /* a reply to a closed ticket opened this new linked ticket */
    bool reopened;                  /* a reply to a ticket closed within the mailbox's reopen grace
                                       reopened it (outcome APPENDED) */
    hd_tickets_committed committed; /* ticket events to publish (bus.h) once durable */
} hd_ingest_args;

/* Parses raw (len bytes, borrowed until the mutation is acknowledged), classifies it and
 * prepares the new-ticket request with the mailbox's defaults. a must stay valid until done.
 * Returns 0, or HD_ENOMEM. An unparseable message is prepared as REJECTED, not an error. */
int hd_ingest_prepare(hd_ingest_args *args, hd_arena *a, const hd_ingest_conf *conf,
                      const Helpdesk__V1__Mailbox *mb, uint32_t uid_validity, uint32_t uid,
                      const void *raw, size_t len, int64_t now_ms, hd_err *err);

/* Prepares a REJECTED record (e.g. "too large: 31457280 > 26214400 bytes") for a message
 * that was not downloaded. reason is copied. */
void hd_ingest_prepare_rejected(hd_ingest_args *args, hd_arena *a, const hd_ingest_conf *conf,
                                const Helpdesk__V1__Mailbox *mb, uint32_t uid_validity,
                                uint32_t uid, const char *reason, int64_t now_ms);

/* The mutation (hd_store_apply_fn; arg is hd_ingest_args *). Replayable. */
int hd_ingest_apply(hd_txn *txn, void *arg, hd_err *err);

/* Returns 1 when (mailbox, uid_validity, uid) was already committed, 0 when not, or a
 * negative store error. For the poller, to skip downloading known messages. */
int hd_ingest_seen(hd_txn *txn, uint64_t mailbox_id, uint32_t uid_validity, uint32_t uid,
                   hd_err *err);

/* Records that every UID up to last_uid under uid_validity is committed (poll round done),
 * with the poll error (NULL or "" = success). Waits for durability. Returns 0 or store errors. */
int hd_ingest_state_commit(hd_store *s, uint64_t mailbox_id, uint32_t uid_validity,
                           uint32_t last_uid, const char *error, int64_t now_ms, hd_err *err);

/* Returns the static name of an outcome ("new_ticket", "appended", ...). */
const char *hd_ingest_outcome_name(Helpdesk__V1__IngestOutcome o);

#endif
