/* The outgoing mail queue (table OUTBOX, records OutboxMessage from mail.proto): enqueue
 * inside a ticket mutation's transaction (a sent staff reply on an email ticket arrives
 * through the ticket domain's outbox hook), and a delivery worker that composes and sends each
 * entry with retry and exponential backoff, dead-letters it after N failures (or a permanent 5xx),
 * and lets an admin list and retry. Attachments given by SHA-256 are read from the content
 * store (blob.h) when composed; recipients marked undeliverable since the enqueue are left
 * out (an entry with none left is dead-lettered). At least once: the Message-ID is fixed at
 * enqueue, so a resend after a crash carries the same one and is recognisable. */
#ifndef HD_MAIL_OUTBOX_H
#define HD_MAIL_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/mail.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/mail/smtp.h"
#include "server/mail/thread.h"
#include "server/store/store.h"

#define HD_OUTBOX_BACKOFF_BASE_MS  30000
#define HD_OUTBOX_BACKOFF_MAX_MS   3600000
#define HD_OUTBOX_MAX_ATTEMPTS     8
#define HD_OUTBOX_PAGE_DEFAULT     100
#define HD_OUTBOX_PAGE_MAX         1000
#define HD_OUTBOX_ATTACH_COUNT_MAX 10          /* attachments of one staff reply */
#define HD_OUTBOX_ATTACH_TOTAL_MAX (25u << 20) /* their bytes in all (common relay limits) */

/* Sends one composed entry. Returns 0 when accepted, or an hd_ error with *permanent set
 * when retrying cannot help. Runs on the worker thread. */
typedef int (*hd_outbox_send_fn)(void *ud, const Helpdesk__V1__OutboxMessage *m, bool *permanent,
                                 hd_err *err);

typedef struct hd_outbox_opts {
    hd_store *store;               /* borrowed for the worker's lifetime */
    const unsigned char *mail_key; /* mailbox password key (mailbox.h), borrowed */
    const hd_thread_conf *thread;  /* our Message-IDs and reply tokens, borrowed */
    int64_t backoff_base_ms;       /* 0 = default; delay = base * 2^(attempts-1), capped */
    int64_t backoff_max_ms;        /* 0 = default */
    unsigned max_attempts;         /* 0 = default; then DEAD */
    hd_outbox_send_fn send;        /* NULL = compose + SMTP with the entry's mailbox */
    void *send_ud;
    const char *smtp_ca_file; /* CA bundle for SMTP TLS; NULL = system CAs; borrowed */
} hd_outbox_opts;

typedef struct hd_outbox hd_outbox;

/* Enqueues m (id, rfc_message_id, in_reply_to/references of the ticket's thread, state,
 * times filled here) in txn, a write transaction, and indexes its Message-ID for threading.
 * m's strings are borrowed until txn ends. Returns 0, HD_EINVAL (an address fails
 * validation, no recipient) or store errors. Replayable. */
int hd_outbox_enqueue(hd_txn *txn, hd_arena *a, const hd_thread_conf *tc,
                      Helpdesk__V1__OutboxMessage *m, int64_t now_ms, hd_err *err);

/* The ticket domain's outbox hook (install with hd_tickets_outbox_set(hd_outbox_reply_hook,
 * tc); signature of hd_tickets_outbox_fn): a sent staff reply msg on EMAIL ticket t is
 * enqueued to the requester, with the ticket's other participants in Cc, threaded on the
 * ticket's Message-IDs, from the mailbox the ticket's latest customer mail came through
 * (else the first enabled one), carrying msg's attachments by reference (each must be in the
 * content store, blob.h; their sizes are written into msg->attachments[i]->size). Addresses
 * marked undeliverable (undeliverable.h) are left out; with no recipient left nothing is
 * queued (the ticket shows the marks). ud is the hd_thread_conf. Returns 0, HD_EINVAL
 * ("attachments[1].sha256: no uploaded content with this hash", count or total size over
 * HD_OUTBOX_ATTACH_*_MAX) or store errors. Replayable. */
int hd_outbox_reply_hook(void *ud, hd_txn *txn, hd_arena *a, const Helpdesk__V1__Ticket *t,
                         const Helpdesk__V1__Message *msg, int64_t now_ms, hd_err *err);

/* The ticket domain's attachment checker (install with
 * hd_tickets_attach_check_set(hd_outbox_check_attachments, NULL); signature of
 * hd_tickets_attach_check_fn; ud unused): each of v[0..n) must be in the content store
 * (blob.h); its size is written into v[i]->size. Used for drafts when saved and by
 * hd_outbox_reply_hook when a reply is sent. Returns 0, HD_EINVAL
 * ("attachments[1].sha256: no uploaded content with this hash", count or total size over
 * HD_OUTBOX_ATTACH_*_MAX) or store errors. */
int hd_outbox_check_attachments(void *ud, hd_txn *txn, Helpdesk__V1__Attachment **v, size_t n,
                                hd_err *err);

/* Starts the worker thread. Returns 0 with *out owned (hd_outbox_stop), HD_ENOMEM. */
int hd_outbox_start(hd_outbox **out, const hd_outbox_opts *opts, hd_err *err);

/* Wakes the worker (e.g. after an enqueue commits). NULL is allowed. */
void hd_outbox_kick(hd_outbox *o);

/* Stops and joins the worker, frees o. NULL is allowed. */
void hd_outbox_stop(hd_outbox *o);

/* One delivery pass without the thread (tests, or a worker tick): attempts every PENDING
 * entry due at now_ms. *attempted and *sent (may be NULL) count them. Returns 0 or store
 * errors. */
int hd_outbox_run_once(const hd_outbox_opts *opts, int64_t now_ms, unsigned *attempted,
                       unsigned *sent, hd_err *err);

/* One entry made ready for SMTP by hd_outbox_build; everything borrowed from its arena. */
typedef struct hd_outbox_mail {
    char *raw; /* the composed message, CRLF line ends, NUL-terminated */
    size_t len;
    const char *from;  /* envelope sender: the mailbox's from_address */
    const char **rcpt; /* envelope recipients: To then Cc, marked addresses left out */
    size_t n_rcpt;
    hd_smtp_conf smtp; /* the mailbox's SMTP settings (password in clear) */
} hd_outbox_mail;

/* Composes entry m as the default sender does: the mailbox's settings (m->mailbox_id; 0, or
 * a mailbox removed since, = the first enabled one with SMTP), recipients still deliverable,
 * attachments by SHA-256 read from the content store, our Message-ID, thread headers and reply
 * token address. Returns 0 with *out in a, or an error with *permanent set when retrying cannot
 * help (every recipient marked undeliverable, a missing attachment, composition refused). */
int hd_outbox_build(const hd_outbox_opts *o, hd_arena *a, const Helpdesk__V1__OutboxMessage *m,
                    hd_outbox_mail *out, bool *permanent, hd_err *err);

/* Lists entries in state (UNSPECIFIED = PENDING and DEAD), oldest first, one page. *out and
 * *next (""= no more) borrowed until a resets. Returns 0, HD_EINVAL (page), store errors. */
int hd_outbox_list(hd_store *s, hd_arena *a, Helpdesk__V1__OutboxState state, int32_t page_size,
                   const char *page_token, Helpdesk__V1__OutboxMessage ***out, size_t *n,
                   const char **next, hd_err *err);

/* Makes entry id PENDING and due at now_ms (attempts kept, for the record). Returns 0 with
 * *out (arena) the entry, HD_ENOTFOUND, HD_ESTATE (already SENT). */
int hd_outbox_retry(hd_store *s, hd_arena *a, uint64_t id, int64_t now_ms,
                    Helpdesk__V1__OutboxMessage **out, hd_err *err);

#endif
