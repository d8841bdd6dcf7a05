/* The email channel at run time: the server's mail key (data_dir/mail.key, sealing mailbox
 * passwords and keying our Message-ID and reply-token MACs), the mailbox poller, the outbox
 * worker, and the ticket domain's outbox hook. main.c starts it after the store opens and
 * stops it before the store closes. */
#ifndef HD_MAIL_MAIL_H
#define HD_MAIL_MAIL_H

#include <stddef.h>

#include "server/common/err.h"
#include "server/store/store.h"
#include "server/tickets/bus.h"

/* Environment variables read at start (tests and operations). */
#define HD_MAIL_DOMAIN_ENV     "HELPDESK_MAIL_DOMAIN"       /* our Message-ID domain */
#define HD_MAIL_BACKOFF_ENV    "HELPDESK_MAIL_BACKOFF_MS"   /* first retry delay */
#define HD_MAIL_ATTEMPTS_ENV   "HELPDESK_MAIL_MAX_ATTEMPTS" /* then dead letter */
#define HD_MAIL_CA_FILE_ENV    "HELPDESK_MAIL_CA_FILE"      /* CA bundle for SMTP TLS */
#define HD_MAIL_DOMAIN_DEFAULT "helpdesk.local"
#define HD_MAIL_ACK_PER_HOUR   3 /* automatic replies per sender per hour */

typedef struct hd_mail hd_mail;

typedef struct hd_mail_opts {
    hd_store *store;      /* borrowed until hd_mail_stop */
    const char *data_dir; /* the key file lives here */
    size_t body_max;      /* message body limit (0 = the ticket default) */
    hd_tickets_bus *bus;  /* where mail's ticket changes are published; may be NULL */
} hd_mail_opts;

/* Loads (or creates) the key, installs the outbox hook and the ticket read annotation
 * (undeliverable addresses) and starts the outbox worker and the
 * poller. Returns 0 with *out owned (hd_mail_stop), or HD_EIO/HD_ECORRUPT (key file),
 * HD_ENOMEM. */
int hd_mail_start(hd_mail **out, const hd_mail_opts *o, hd_err *err);

/* Stops the poller (in-flight commits finish) and the outbox worker, removes the hooks.
 * NULL is allowed. */
void hd_mail_stop(hd_mail *m);

/* The 32-byte key that seals mailbox passwords (mailbox.h), borrowed until stop. */
const unsigned char *hd_mail_key(const hd_mail *m);

/* Re-reads mailboxes and polls now; wakes the outbox worker. NULL is allowed. */
void hd_mail_kick(hd_mail *m);

#endif
