/* Polling every enabled mailbox concurrently, each on a thread of its own speaking IMAP over
 * libcurl's connection (imap_conn.h). A round: SELECT (UIDVALIDITY, UIDNEXT), one UID FETCH
 * of RFC822.SIZE for the new UIDs (oversized ones are recorded as rejected, not downloaded),
 * then batches of HD_POLL_FETCH_BATCH messages by BODY.PEEK[], each message submitted to
 * group commit (ingest.h) and each batch, once durable, \Seen or MOVE (pipelined behind the
 * next batch's FETCH); then the mailbox's last UID. Between rounds, a server that offers
 * IDLE (RFC 2177) keeps the session and reports new mail, which starts the next round at
 * once; every poll interval brings a round anyway, one interval after the last one started.
 * A crash anywhere re-polls from the last UID and the per-UID records keep it exactly once. */
#ifndef HD_MAIL_POLL_H
#define HD_MAIL_POLL_H

#include <stdint.h>

#include "server/common/err.h"
#include "server/mail/ingest.h"
#include "server/mail/outbox.h"
#include "server/store/store.h"
#include "server/tickets/bus.h"

#define HD_POLL_FETCH_BATCH 100 /* messages per UID FETCH BODY.PEEK[] */
#define HD_POLL_RELOAD_MS   2000
#define HD_POLL_UID_WINDOW  10000 /* UIDs per round; more rounds follow at once */

/* Test hook: when this environment variable is set, the process SIGKILLs itself after a
 * round's messages are committed and before their IMAP flags change. */
#define HD_POLL_KILL_BEFORE_FLAG_ENV "HD_TEST_MAIL_KILL_BEFORE_FLAG"

typedef struct hd_poll_opts {
    hd_store *store;               /* borrowed for the poller's lifetime */
    const unsigned char *mail_key; /* mailbox password key (mailbox.h) */
    const hd_ingest_conf *ingest;  /* borrowed */
    hd_outbox *outbox;             /* kicked when acknowledgements are queued; may be NULL */
    hd_tickets_bus *bus;           /* committed ticket events are published here; may be NULL */
    int64_t reload_ms;             /* how often the mailbox list is re-read; 0 = default */
} hd_poll_opts;

typedef struct hd_poll hd_poll;

/* Starts the polling thread. Returns 0 with *out owned (hd_poll_stop), HD_ENOMEM. */
int hd_poll_start(hd_poll **out, const hd_poll_opts *opts, hd_err *err);

/* Re-reads the mailbox list and polls every idle mailbox now (e.g. after AddMailbox).
 * NULL is allowed. */
void hd_poll_kick(hd_poll *p);

/* Stops the thread after in-flight commits are acknowledged, frees p. NULL is allowed. */
void hd_poll_stop(hd_poll *p);

#endif
